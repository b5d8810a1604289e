//! `--debug` step timing: each mark prints the time since the previous one,
//! so a slow create shows where it spent its time. Off by default: a mark
//! then costs one atomic load.
//!
//! In debug builds (the ones the integration tests drive) every mark is also
//! a fault-injection point: with `HULL_FAULT_AT=<step>` in the environment,
//! hull SIGKILLs itself there, so tests can check that a create killed at any
//! step leaves nothing `delete --force` cannot clean up. Release builds have
//! no such code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);
static LAST: Mutex<Option<Instant>> = Mutex::new(None);

pub fn enable() {
    ON.store(true, Ordering::Relaxed);
    if let Ok(mut l) = LAST.lock() {
        *l = Some(Instant::now());
    }
}

pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Prints `hull[pid] +N.NNNms step` to stderr when --debug is on.
pub fn mark(step: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("HULL_FAULT_AT").is_some_and(|v| v == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        // A pid namespace's init ignores even SIGKILL from inside: just die.
        crate::sys::exit_now(137);
    }
    if !enabled() {
        return;
    }
    let now = Instant::now();
    let delta = LAST.lock().ok().and_then(|mut l| l.replace(now)).map(|t| now - t).unwrap_or_default();
    eprintln!("hull[{}] +{:.3}ms {step}", std::process::id(), delta.as_secs_f64() * 1000.0);
}
