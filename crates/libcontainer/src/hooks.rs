//! OCI hooks: each runs with the container's state JSON on stdin, its own
//! args and env, and an optional timeout. Output is captured in a memfd (no
//! pipe to fill up and deadlock) and quoted when the hook fails.

use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use oci_spec::runtime::Hook;

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{stage} hook {path}: {reason}")]
    Failed { stage: &'static str, path: String, reason: String },
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

/// Runs one hook to completion.
pub fn run(hook: &Hook, state: &serde_json::Value, stage: &'static str) -> Result<(), HookError> {
    let path = hook.path().display().to_string();
    let fail = |reason: String| HookError::Failed { stage, path: path.clone(), reason };
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
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(&input);
    }
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
                return Err(fail(format!("timed out after {}s", limit.as_secs())));
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
    let how = match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    };
    Err(fail(if text.is_empty() { how } else { format!("{how}: {text}") }))
}

/// Runs a list in order, stopping at the first failure.
pub fn run_all(hooks: Option<&Vec<Hook>>, state: &serde_json::Value, stage: &'static str) -> Result<(), HookError> {
    for h in hooks.into_iter().flatten() {
        run(h, state, stage)?;
    }
    Ok(())
}
