//! OCI hooks: each runs with the container's state JSON on stdin, its own
//! args and env, and an optional timeout. Output is captured in a memfd (no
//! pipe to fill up and deadlock) and quoted when the hook fails.
//!
//! As runc's: a hook gets descriptors 0, 1 and 2 only (never the caller's or
//! hull's), exactly the `env` config.json gives it, and the working
//! directory of the step that runs it — the bundle for the hooks `create`
//! and `run` run on the host, the rootfs for createContainer, the process's
//! `cwd` for startContainer, the caller's for `start` and `delete`.

use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use oci_spec::runtime::Hook;

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// "error running hook" is runc's phrase, which runc's tests look for.
    #[error("error running hook #{index} ({stage} hook {path}): {reason}")]
    Failed { stage: &'static str, index: usize, path: String, reason: String },
}

/// The runtime-spec status a hook of each stage sees.
pub fn status_for(stage: &str) -> &'static str {
    match stage {
        // prestart predates the `creating` status: the validation suite (and
        // the hooks written for runc's old behaviour) expect `created`.
        "prestart" => "created",
        "createRuntime" | "createContainer" => "creating",
        "startContainer" => "created",
        "poststart" => "running",
        _ => "stopped",
    }
}

fn capture_file() -> Option<std::fs::File> {
    sys::memfd(c"hull-hook").ok().map(std::fs::File::from)
}

/// How a hook ended, in the words runc (Go's os/exec) uses: `exit status
/// 3`, `signal: bad system call`.
fn describe(status: std::process::ExitStatus) -> String {
    if let Some(c) = status.code() {
        return format!("exit status {c}");
    }
    let Some(sig) = status.signal() else { return "ended".to_string() };
    // SAFETY: strsignal returns a pointer to a static (or thread-local)
    // NUL-terminated string, read at once; hull is single-threaded.
    let text = unsafe {
        let p = libc::strsignal(sig);
        if p.is_null() {
            format!("signal {sig}")
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    let mut chars = text.chars();
    let lower = chars.next().map(|c| c.to_lowercase().chain(chars).collect::<String>()).unwrap_or_default();
    let core = if status.core_dumped() { " (core dumped)" } else { "" };
    format!("signal: {lower}{core}")
}

/// The state JSON as the hook's stdin: a memfd holding it all, so that
/// nothing has to be written to a hook that may never read (a pipe would
/// raise SIGPIPE in the container's init, whose signals are back to their
/// defaults when it runs startContainer hooks).
fn stdin_with(input: &[u8]) -> Result<Stdio, String> {
    let fd = sys::memfd(c"hull-hook-state").map_err(|e| format!("state for stdin: {e}"))?;
    let mut f = std::fs::File::from(fd);
    f.write_all(input).and_then(|_| f.rewind()).map_err(|e| format!("state for stdin: {e}"))?;
    Ok(Stdio::from(f))
}

/// Runs one hook (number `index` of its stage) to completion.
pub fn run(hook: &Hook, state: &serde_json::Value, stage: &'static str, index: usize) -> Result<(), HookError> {
    let path = hook.path().display().to_string();
    let fail = |reason: String| HookError::Failed { stage, index, path: path.clone(), reason };
    let mut state = state.clone();
    state["status"] = serde_json::Value::from(status_for(stage));
    let input = serde_json::to_vec(&state).unwrap_or_default();

    let mut cmd = Command::new(hook.path());
    let args = hook.args().as_deref().unwrap_or(&[]);
    if let Some(argv0) = args.first() {
        cmd.arg0(argv0);
        cmd.args(&args[1..]);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let out = capture_file();
    match &out {
        Some(f) => {
            let a = f.try_clone().map_err(|e| fail(e.to_string()))?;
            let b = f.try_clone().map_err(|e| fail(e.to_string()))?;
            cmd.stdout(Stdio::from(OwnedFd::from(a))).stderr(Stdio::from(OwnedFd::from(b)));
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    cmd.stdin(stdin_with(&input).map_err(fail)?);
    // Whatever the caller left open (bats, an engine's shim, the descriptors
    // --preserve-fds keeps for the container) stays out of the hook. Marked
    // close-on-exec rather than closed: the standard library reports a
    // failed execve over a descriptor of its own.
    // SAFETY: the closure only makes one raw syscall (no allocation, no lock).
    unsafe {
        cmd.pre_exec(|| sys::cloexec_from(3).map_err(std::io::Error::from));
    }
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    let timeout = hook.timeout().filter(|t| *t > 0).map(|t| Duration::from_secs(t as u64));
    let status = match timeout {
        None => child.wait().map_err(|e| fail(e.to_string()))?,
        Some(limit) => {
            let pidfd = sys::pidfd_open(child.id() as i32).map_err(|e| fail(e.to_string()))?;
            let mut fds = [nix::poll::PollFd::new(pidfd.as_fd(), nix::poll::PollFlags::POLLIN)];
            let ms = limit.as_millis().min(i32::MAX as u128) as i32;
            let ready =
                nix::poll::poll(&mut fds, nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX))
                    .unwrap_or(0);
            if ready == 0 {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("timed out after {}s (its timeout)", limit.as_secs())));
            }
            child.wait().map_err(|e| fail(e.to_string()))?
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    if let Some(mut f) = out {
        let _ = f.rewind();
        let _ = f.take(4096).read_to_string(&mut text);
    }
    let text = text.trim();
    let how = describe(status);
    Err(fail(if text.is_empty() { how } else { format!("{how}: {text}") }))
}

/// Runs a list in order, stopping at the first failure.
pub fn run_all(hooks: Option<&Vec<Hook>>, state: &serde_json::Value, stage: &'static str) -> Result<(), HookError> {
    for (i, h) in hooks.into_iter().flatten().enumerate() {
        run(h, state, stage, i)?;
    }
    Ok(())
}
