//! `--debug` step marks: each is a `tracing` debug event naming a step
//! ("create: config loaded and validated"); the CLI's subscriber writes it
//! as runc's debug line, with the time since the previous mark, to `--log`
//! or stderr. Without `--debug` a mark costs one atomic load (tracing's
//! global maximum level).
//!
//! In debug builds (the ones the integration tests drive) every mark is also
//! a fault-injection point: with `HULL_FAULT_AT=<step>` in the environment,
//! hull SIGKILLs itself there, so tests can check that a create killed at any
//! step leaves nothing `delete --force` cannot clean up. Release builds have
//! no such code.

/// Marks the end of `step`.
pub fn mark(step: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("HULL_FAULT_AT").is_some_and(|v| v == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        // A pid namespace's init ignores even SIGKILL from inside: just die.
        crate::sys::exit_now(137);
    }
    tracing::debug!("{step}");
}
