//! `--debug` step timing: each mark prints the time since the previous one,
//! so a slow create shows where it spent its time. Off by default: a mark
//! then costs one atomic load.

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
    if !enabled() {
        return;
    }
    let now = Instant::now();
    let delta = LAST.lock().ok().and_then(|mut l| l.replace(now)).map(|t| now - t).unwrap_or_default();
    eprintln!("hull[{}] +{:.3}ms {step}", std::process::id(), delta.as_secs_f64() * 1000.0);
}
