//! The OCI lifecycle: create, start, state, kill, delete, run — what each CLI
//! command calls. The parent side of `create` lives here; the child side is
//! process::init.

mod checkpoint;
mod create;
mod exec;
mod ops;
mod restore;

pub use checkpoint::{checkpoint, CriuOptions};
pub(crate) use create::device_policy;
use create::start_socket_path;
pub use create::{create, CreateOptions, Created, Mode};
pub use exec::{exec, ExecOptions};
pub use ops::{events, features, pause, pids, resume, stats, update, Event};
pub use restore::{restore, RestoreOptions};

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};

use crate::cgroups::{self, CgroupError};
use crate::hooks::{self, HookError};
use crate::namespaces::NamespaceError;
use crate::netdev::NetDevError;
use crate::process::sync::{Channel, Message, SyncError};
use crate::process::ProcessError;
use crate::seccomp::SeccompError;
use crate::spec::SpecError;
use crate::state::{self, ContainerState, StateError, Status};
use crate::sys;
use crate::terminal::{self, TerminalError};

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    #[error(transparent)]
    NetDev(#[from] NetDevError),
    #[error(transparent)]
    Criu(#[from] crate::criu::CriuError),
    /// A step inside the container failed; the text names it.
    #[error("{message}")]
    Init { message: String, errno: i32 },
    #[error("{op}: {errno}")]
    Sys { op: String, errno: Errno },
    /// `what` carries runc's own phrase ("container not running", "cannot
    /// exec in a paused container", …): engines and scripts match on it.
    #[error("container {id} is {status}: {what}")]
    WrongStatus { id: String, status: Status, what: String },
    #[error("{0}")]
    Usage(String),
}

pub(crate) fn sys_err(op: impl Into<String>) -> impl FnOnce(Errno) -> ContainerError {
    let op = op.into();
    move |errno| ContainerError::Sys { op, errno }
}

/// Writes the pid file atomically (runc's engines read it as soon as create returns).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), ContainerError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp =
        dir.join(format!(".{}.tmp", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
    std::fs::write(&tmp, pid.to_string())
        .map_err(|e| ContainerError::Sys { op: format!("write pid file {}", tmp.display()), errno: io_errno(&e) })?;
    std::fs::rename(&tmp, path)
        .map_err(|e| ContainerError::Sys { op: format!("write pid file {}", path.display()), errno: io_errno(&e) })
}

pub use crate::sys::io_errno;

fn hook_state(st: &ContainerState, status: &str) -> serde_json::Value {
    let mut v = st.oci_json(Status::Creating);
    v["status"] = status.into();
    v
}

/// Waits until the process is about to exec (`Exec`), or — with
/// `until_exec_done`, when poststart hooks must see the program running —
/// until execve succeeded (the channel is close-on-exec: EOF). On the way, a
/// seccomp notification listener may arrive and is passed on to its agent.
pub(crate) fn wait_for_exec(
    chan: &mut Channel,
    st: &ContainerState,
    process_pid: i32,
    until_exec_done: bool,
) -> Result<(), ContainerError> {
    loop {
        match chan.recv() {
            Err(SyncError::Closed) => return Ok(()),
            Ok(Message::Exec) if !until_exec_done => return Ok(()),
            Ok(Message::Exec) => {}
            Ok(Message::SeccompListener) => forward_listener(chan, st, process_pid, &st.oci_json(Status::Running))?,
            Ok(Message::Error { message, errno }) => return Err(ContainerError::Init { message, errno }),
            Ok(other) => return Err(SyncError::Unexpected { expected: "exec", got: other }.into()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// The seccomp notification listener that came with the last message goes
/// to the profile's agent, with the container's state.
pub(crate) fn forward_listener(
    chan: &mut Channel,
    st: &ContainerState,
    pid: i32,
    state: &serde_json::Value,
) -> Result<(), ContainerError> {
    let fd = chan.take_fd().ok_or_else(|| ContainerError::Init {
        message: "seccomp listener message without a descriptor".into(),
        errno: 0,
    })?;
    if let Some(l) = &st.seccomp_listener {
        l.forward(&fd, pid, state)?;
    }
    Ok(())
}

fn run_poststart(st: &ContainerState) {
    if let Some(list) = &st.poststart_hooks {
        let hs = hook_state(st, "running");
        for (i, h) in list.iter().enumerate() {
            if let Err(e) = hooks::run(h, &hs, "poststart", i) {
                crate::warn(&format!("{e}"));
            }
        }
    }
}

/// `start`: wake a created container's init and wait until its program runs.
pub fn start(root: &Path, id: &str) -> Result<(), ContainerError> {
    let (dir, lock, st) = state::load_locked(root, id)?;
    let status = st.status(&dir);
    let refused = match status {
        Status::Created => None,
        Status::Running => Some("cannot start an already running container"),
        Status::Stopped => Some("cannot start a container that has stopped"),
        Status::Paused => Some("cannot start a container in the paused state"),
        Status::Creating => Some("cannot start a container that is still being created"),
    };
    if let Some(what) = refused {
        return Err(ContainerError::WrongStatus { id: id.to_string(), status, what: what.into() });
    }
    let sock = socket::socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
        .map_err(sys_err("create a socket"))?;
    let addr = UnixAddr::new(&start_socket_path(&lock)).map_err(sys_err("name start.sock"))?;
    match socket::connect(sock.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(Errno::ECONNREFUSED) | Err(Errno::ENOENT) => {
            return Err(ContainerError::WrongStatus {
                id: id.to_string(),
                status: Status::Stopped,
                what: "cannot start a container that has stopped".into(),
            })
        }
        Err(e) => return Err(sys_err("connect to start.sock")(e)),
    }
    let mut conn = Channel::from_fd(sock);
    let result = wait_for_exec(&mut conn, &st, st.pid, st.poststart_hooks.is_some());
    // Without start.sock the live status reads "running": nothing to save.
    let _ = std::fs::remove_file(dir.join(state::START_SOCKET));
    result?;
    drop(lock);
    run_poststart(&st);
    Ok(())
}

/// `state`: what is stored, and the live status (print `oci_state` of them).
pub fn state(root: &Path, id: &str) -> Result<(ContainerState, Status), ContainerError> {
    let (dir, st) = state::load(root, id)?;
    let status = live_status(&dir, &st);
    Ok((st, status))
}

/// The status, with pause read from the freezer rather than remembered.
pub fn live_status(dir: &Path, st: &ContainerState) -> Status {
    let s = st.status(dir);
    if s == Status::Running || s == Status::Paused {
        if let Some(cg) = &st.cgroup {
            if cgroups::from_state(cg).is_frozen().unwrap_or(false) {
                return Status::Paused;
            }
        }
        return Status::Running;
    }
    s
}

/// Signal by name (`TERM`, `SIGTERM`) or number.
pub fn parse_signal(s: &str) -> Result<i32, ContainerError> {
    if let Ok(n) = s.parse::<i32>() {
        // 0 checks that the process exists, as kill(2) does (runc accepts it).
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        return Err(ContainerError::Usage(format!("invalid signal {s:?}: numbers go from 0 to 64")));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    if let Some(rt) = name.strip_prefix("SIGRTMIN") {
        let base = libc::SIGRTMIN();
        let off: i32 = if rt.is_empty() {
            0
        } else {
            rt.trim_start_matches('+').parse().map_err(|_| ContainerError::Usage(format!("invalid signal {s:?}")))?
        };
        return Ok(base + off);
    }
    if let Some(rt) = name.strip_prefix("SIGRTMAX") {
        let base = libc::SIGRTMAX();
        let off: i32 = if rt.is_empty() {
            0
        } else {
            rt.parse().map_err(|_| ContainerError::Usage(format!("invalid signal {s:?}")))?
        };
        return Ok(base + off);
    }
    name.parse::<Signal>().map(|s| s as i32).map_err(|_| ContainerError::Usage(format!("invalid signal {s:?}")))
}

pub(crate) fn open_init(st: &ContainerState) -> Option<OwnedFd> {
    let fd = sys::pidfd_open(st.pid).ok()?;
    // The pidfd pins the process: check after opening that it is still ours.
    st.init_alive().then_some(fd)
}

/// `kill`: signal the init (or, with `all`, every process of the container).
pub fn kill(root: &Path, id: &str, signal: i32, all: bool) -> Result<(), ContainerError> {
    let (dir, st) = state::load(root, id)?;
    if all {
        // containerd's shim sends `kill --all 9` after the init exited to
        // clean up what may be left in the cgroup: that must succeed.
        signal_all(&st, signal)?;
        return Ok(());
    }
    let status = live_status(&dir, &st);
    // "container not running" is the wording the engines' shims recognise.
    let not_running = || ContainerError::WrongStatus {
        id: id.to_string(),
        status: Status::Stopped,
        what: "container not running".into(),
    };
    if status == Status::Stopped {
        return Err(not_running());
    }
    let pidfd = open_init(&st).ok_or_else(not_running)?;
    sys::pidfd_send_signal(pidfd.as_fd(), signal).map_err(sys_err(format!("signal {signal} to pid {}", st.pid)))?;
    if status == Status::Paused && signal == libc::SIGKILL {
        if let Some(cg) = &st.cgroup {
            let _ = cgroups::from_state(cg).thaw();
        }
    }
    Ok(())
}

fn signal_all(st: &ContainerState, signal: i32) -> Result<(), ContainerError> {
    let Some(cgs) = &st.cgroup else { return Ok(()) };
    let cg = cgroups::from_state(cgs);
    let frozen = cg.is_frozen().unwrap_or(false);
    for pid in cg.pids()? {
        // By number: real-time signals (SIGRTMIN+3 stops systemd) have no
        // name in nix's Signal.
        let _ = sys::kill(pid, signal);
    }
    if frozen && signal == libc::SIGKILL {
        let _ = cg.thaw();
    }
    Ok(())
}

/// Waits for a pidfd to become readable (the process exited), up to `limit`.
pub fn wait_exit(pidfd: BorrowedFd<'_>, limit: Duration) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [PollFd::new(pidfd, PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// `delete`: kill what is left (with `force`, or a created container), remove
/// the cgroup and the state, run poststop hooks.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), ContainerError> {
    let dir = state::container_dir(root, id)?;
    let (_lock, st) = match state::load_locked(root, id) {
        Ok((_, lock, st)) => (lock, st),
        Err(StateError::NotFound(_)) if force => {
            // A create that died before writing any state leaves at most the
            // directory; --force means "make sure it is gone", as with runc.
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let status = live_status(&dir, &st);
    match status {
        Status::Running | Status::Paused if !force => {
            return Err(ContainerError::WrongStatus {
                id: id.to_string(),
                status,
                what: format!("cannot delete container {id} that is not stopped: {status} (use --force)"),
            });
        }
        Status::Creating if !force && st.pid > 0 => {
            return Err(ContainerError::WrongStatus {
                id: id.to_string(),
                status,
                what: "it is still being created; use --force".into(),
            });
        }
        _ => {}
    }
    if status != Status::Stopped {
        if let Some(pidfd) = open_init(&st) {
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            if status == Status::Paused {
                if let Some(cg) = &st.cgroup {
                    let _ = cgroups::from_state(cg).thaw();
                }
            }
            wait_exit(pidfd.as_fd(), Duration::from_secs(10));
        }
    }
    crate::rootfs::unmount_host_mounts(&st.host_mounts);
    if let Some(cgs) = &st.cgroup {
        let cg = cgroups::from_state(cgs);
        // Without its own pid namespace the container's other processes
        // outlive the init: take them down through the cgroup.
        if !st.own_pid_ns || status == Status::Creating {
            for _ in 0..100 {
                let pids = cg.pids().unwrap_or_default();
                if pids.is_empty() {
                    break;
                }
                let _ = cg.thaw();
                for p in pids {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), Signal::SIGKILL);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        // With a pid namespace of its own, everything of the container died
        // with its init: what is still in the cgroup belongs to another
        // container put in the same one (runc 1.1 allows that, with a
        // warning). The cgroup stays theirs; this container goes.
        let others =
            if st.own_pid_ns && status != Status::Creating { cg.pids().unwrap_or_default() } else { Vec::new() };
        if others.is_empty() {
            cg.destroy()?;
        } else {
            crate::warn(&format!(
                "delete {id}: its cgroup is not removed: {} process(es) of another container are still in it",
                others.len()
            ));
        }
    }
    if let Some(list) = &st.poststop_hooks {
        let hs = hook_state(&st, "stopped");
        for (i, h) in list.iter().enumerate() {
            if let Err(e) = hooks::run(h, &hs, "poststop", i) {
                crate::warn(&format!("{e}"));
            }
        }
    }
    std::fs::remove_dir_all(&dir).map_err(|e| StateError::Io { op: "remove", path: dir.clone(), source: e })?;
    Ok(())
}

/// One row of `list`.
pub struct ListEntry {
    pub state: ContainerState,
    pub status: Status,
}

pub fn list(root: &Path) -> Result<Vec<ListEntry>, ContainerError> {
    let mut out = Vec::new();
    for id in state::list_ids(root)? {
        if let Ok((dir, st)) = state::load(root, &id) {
            let status = live_status(&dir, &st);
            out.push(ListEntry { state: st, status });
        }
    }
    Ok(out)
}

/// The exit code a shell would report for a wait status.
pub fn exit_code(status: nix::sys::wait::WaitStatus) -> Option<i32> {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// `run`: create, start, and (unless detached) wait, forward signals, relay
/// the terminal, delete, and return the container's exit code.
pub fn run(opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32, ContainerError> {
    let forwarded = if detach { nix::sys::signal::SigSet::empty() } else { block_forwarded_signals()? };
    let created = create(opts, Mode::Run)?;
    run_poststart(&created.state);
    if detach {
        return Ok(0);
    }
    crate::trace::mark("run: started");
    let code = foreground(&created.pidfd, created.console.as_ref(), &forwarded)?;
    crate::trace::mark("run: container exited");
    if !keep {
        delete(&opts.root, &opts.id, true)?;
    }
    crate::trace::mark("run: deleted");
    Ok(code)
}

/// Signals meant for the container arrive through a signalfd: block them
/// before clone so none is lost (the child unblocks them before execve).
pub(crate) fn block_forwarded_signals() -> Result<nix::sys::signal::SigSet, ContainerError> {
    use nix::sys::signal::{SigSet, SigmaskHow};
    // Every signal a process can catch goes to the container, as runc's
    // foreground does (SIGRTMIN+3 stops systemd, SIGTSTP a shell's job…),
    // but those the kernel raises for a fault of our own (they would spin if
    // blocked) and glibc's two internal ones. SIGCHLD and SIGWINCH are
    // handled here.
    const OURS: [i32; 6] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP, libc::SIGSYS];
    // SAFETY: sigemptyset/sigaddset fill a sigset_t we own.
    let set = unsafe {
        let mut raw: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut raw);
        for sig in 1..=libc::SIGRTMAX() {
            let internal = sig > 31 && sig < libc::SIGRTMIN();
            if sig != libc::SIGKILL && sig != libc::SIGSTOP && !OURS.contains(&sig) && !internal {
                libc::sigaddset(&mut raw, sig);
            }
        }
        SigSet::from_sigset_t_unchecked(raw)
    };
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(sys_err("block signals"))?;
    Ok(set)
}

/// Waits for our child `pidfd` in the foreground: forwards signals, relays
/// the terminal (`console` is the pty master), returns the exit code.
pub(crate) fn foreground(
    pidfd: &OwnedFd,
    console: Option<&OwnedFd>,
    forwarded: &nix::sys::signal::SigSet,
) -> Result<i32, ContainerError> {
    struct C<'a> {
        pidfd: &'a OwnedFd,
        console: Option<&'a OwnedFd>,
    }
    let c = C { pidfd, console };
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let sfd =
        SignalFd::with_flags(forwarded, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(sys_err("signalfd"))?;
    let mut raw_mode = c.console.as_ref().map(|_| terminal::RawMode::enter());
    let mut stdin_open = c.console.is_some();
    let mut buf = [0u8; 16 * 1024];
    let code = loop {
        let mut fds =
            vec![PollFd::new(c.pidfd.as_fd(), PollFlags::POLLIN), PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = &c.console {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(sys::borrow(0), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(sys_err("poll")(e)),
        }
        let ev: Vec<PollFlags> = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect();
        drop(fds);
        if let Some(m) = &c.console {
            if ev[2].intersects(PollFlags::POLLIN) {
                if let Ok(n) = nix::unistd::read(m.as_raw_fd(), &mut buf) {
                    terminal::write_all(1, &buf[..n]);
                }
            }
            if stdin_open && ev[3].intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
                match nix::unistd::read(0, &mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => terminal::write_all(m.as_raw_fd(), &buf[..n]),
                }
            }
        }
        if ev[1].intersects(PollFlags::POLLIN) {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                match sig {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => {
                        if let (Some(m), Ok((rows, cols))) = (&c.console, sys::get_winsize(0)) {
                            let _ = sys::set_winsize(m.as_raw_fd(), rows, cols);
                        }
                    }
                    _ => {
                        let _ = sys::pidfd_send_signal(c.pidfd.as_fd(), sig);
                    }
                }
            }
        }
        if ev[0].intersects(PollFlags::POLLIN) {
            // Drain what the terminal still holds before reporting.
            if let Some(m) = &c.console {
                while let Ok(n) = nix::unistd::read(m.as_raw_fd(), &mut buf) {
                    if n == 0 {
                        break;
                    }
                    terminal::write_all(1, &buf[..n]);
                    if !wait_readable(m.as_fd(), 10) {
                        break;
                    }
                }
            }
            break reap(c.pidfd)?;
        }
    };
    raw_mode.take();
    Ok(code)
}

fn wait_readable(fd: BorrowedFd<'_>, ms: u16) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0)
        && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLIN))
}

fn reap(pidfd: &OwnedFd) -> Result<i32, ContainerError> {
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    let status = waitid(Id::PIDFd(pidfd.as_fd()), WaitPidFlag::WEXITED).map_err(sys_err("wait for the container"))?;
    Ok(exit_code(status).unwrap_or(255))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("hup").unwrap(), 1);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse_signal("NOPE").is_err());
        assert_eq!(parse_signal("0").unwrap(), 0);
        assert!(parse_signal("65").is_err());
    }
}
