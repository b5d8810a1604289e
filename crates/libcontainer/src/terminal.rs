//! `process.terminal`: a pseudo-terminal made inside the container (from its
//! own devpts instance), whose master goes to the caller over the console
//! socket with SCM_RIGHTS — the protocol of runc's recvtty, containerd's shim
//! and conmon — and whose slave becomes the process's controlling terminal.
//! In the foreground `hull run` relays between the caller's terminal and it.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{self, ControlMessage, MsgFlags};

use crate::procfs::ProcFs;
use crate::rootfs::{resolve_in_root, Create};
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("console: {op}: {errno}")]
    Sys { op: &'static str, errno: Errno },
    #[error("console socket: no terminal descriptor received")]
    NoFd,
    #[error("console: /dev/ptmx is not the pty multiplexer (character device 5:2): refusing to open it")]
    NotPtmx,
    #[error("connect to console socket {}: {errno}", path.display())]
    Connect { path: std::path::PathBuf, errno: Errno },
}

fn err(op: &'static str) -> impl FnOnce(Errno) -> TerminalError {
    move |errno| TerminalError::Sys { op, errno }
}

/// Opens a new pty pair from the devpts that /dev/ptmx leads to, sets its
/// size, binds the slave over /dev/console (inside `root` when given), sends
/// the master over `socket` and returns the slave.
pub fn setup_console(
    proc: &ProcFs,
    socket: &OwnedFd,
    size: Option<(u16, u16)>,
    root: Option<&OwnedFd>,
) -> Result<OwnedFd, TerminalError> {
    let ptmx = open_ptmx(proc, root)?;
    sys::unlockpt(ptmx.as_raw_fd()).map_err(err("unlock pty"))?;
    if let Some((rows, cols)) = size {
        sys::set_winsize(ptmx.as_raw_fd(), rows, cols).map_err(err("set terminal size"))?;
    }
    // TIOCGPTPEER opens the slave through the master, without a path lookup
    // that a container could redirect.
    let slave = sys::open_pty_peer(ptmx.as_raw_fd()).map_err(err("open the pty slave"))?;
    if let Some(r) = root {
        bind_console(r, &slave)?;
    }
    send_fd(socket.as_raw_fd(), ptmx.as_raw_fd(), b"/dev/ptmx").map_err(err("send the pty master"))?;
    Ok(slave)
}

fn is_ptmx(st: &nix::sys::stat::FileStat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == nix::sys::stat::makedev(5, 2)
}

/// The container's /dev/ptmx (normally a link to its own devpts's
/// pts/ptmx), checked to be the pty multiplexer (5:2) before it is opened:
/// with a /dev shared with another container, the name could lead to any
/// file, and opening a device can already do something.
fn open_ptmx(proc: &ProcFs, root: Option<&OwnedFd>) -> Result<OwnedFd, TerminalError> {
    let path = match root {
        Some(r) => resolve_in_root(r, Path::new("/dev/ptmx"), Create::Nothing)
            .map_err(|_| TerminalError::Sys { op: "find /dev/ptmx", errno: Errno::ENOENT })?,
        None => sys::openat2(libc::AT_FDCWD, c"/dev/ptmx", libc::O_PATH, 0, libc::RESOLVE_NO_MAGICLINKS)
            .map_err(err("find /dev/ptmx"))?,
    };
    let before = nix::sys::stat::fstat(path.as_raw_fd()).map_err(err("stat /dev/ptmx"))?;
    if !is_ptmx(&before) {
        return Err(TerminalError::NotPtmx);
    }
    let ptmx = proc
        .reopen(&path, libc::O_RDWR | libc::O_NOCTTY)
        .map_err(|e| TerminalError::Sys { op: "open /dev/ptmx", errno: e.errno() })?;
    let after = nix::sys::stat::fstat(ptmx.as_raw_fd()).map_err(err("stat /dev/ptmx"))?;
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) || !is_ptmx(&after) {
        return Err(TerminalError::NotPtmx);
    }
    Ok(ptmx)
}

/// Binds the pty slave over /dev/console: onto a file made just now under
/// the container's /dev, whatever was there before (a symlink to a /proc
/// file, say, from a /dev shared with another container) removed first —
/// never onto a name that could be swapped between check and use
/// (CVE-2025-52565).
fn bind_console(root: &OwnedFd, slave: &OwnedFd) -> Result<(), TerminalError> {
    use nix::fcntl::OFlag;
    use nix::unistd::UnlinkatFlags;
    let dev = resolve_in_root(root, Path::new("/dev"), Create::Dir)
        .map_err(|_| TerminalError::Sys { op: "find /dev", errno: Errno::ENOENT })?;
    let console = (0..16)
        .find_map(|_| {
            match nix::unistd::unlinkat(Some(dev.as_raw_fd()), c"console", UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(errno) => return Some(Err(TerminalError::Sys { op: "replace /dev/console", errno })),
            }
            let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
            match nix::fcntl::openat(
                Some(dev.as_raw_fd()),
                c"console",
                flags,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
            ) {
                // SAFETY: openat returned a new descriptor that we now own.
                Ok(fd) => Some(Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })),
                // Someone put a file back in between: again.
                Err(Errno::EEXIST) => None,
                Err(errno) => Some(Err(TerminalError::Sys { op: "create /dev/console", errno })),
            }
        })
        .unwrap_or(Err(TerminalError::Sys {
            op: "create /dev/console (it keeps reappearing)",
            errno: Errno::EEXIST,
        }))?;
    sys::bind_fd_onto_fd(slave.as_raw_fd(), console.as_raw_fd(), false).map_err(err("bind the pty over /dev/console"))
}

/// The socket the child sends the pty master on: the caller's
/// `--console-socket` (connected here), or — when hull relays the terminal
/// itself — one end of a pair whose other end it keeps. Returns (the child's
/// end, ours).
pub fn console_sockets(
    terminal: bool,
    path: Option<&Path>,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>), TerminalError> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr};
    match (terminal, path) {
        (false, _) => Ok((None, None)),
        (true, Some(path)) => {
            let s = socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
                .map_err(err("create the console socket"))?;
            let addr = UnixAddr::new(path).map_err(err("name the console socket"))?;
            socket::connect(s.as_raw_fd(), &addr)
                .map_err(|errno| TerminalError::Connect { path: path.to_path_buf(), errno })?;
            Ok((Some(s), None))
        }
        (true, None) => {
            let (a, b) = socket::socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
                .map_err(err("create the console socket pair"))?;
            Ok((Some(a), Some(b)))
        }
    }
}

/// The container's process leads a session and process group of its own,
/// as under runc: a signal to its caller's process group (Ctrl-C at the
/// terminal of a foreground `hull run`, a shim's kill of its group) does not
/// reach into the container, and `kill 0` inside stays inside. With a
/// terminal, the pty becomes the session's controlling terminal and stdio.
pub fn new_session(console: Option<&OwnedFd>) -> Result<(), TerminalError> {
    match console {
        Some(slave) => make_controlling(slave),
        None => nix::unistd::setsid().map(|_| ()).map_err(err("setsid")),
    }
}

/// New session, `slave` as its controlling terminal and as stdio.
fn make_controlling(slave: &OwnedFd) -> Result<(), TerminalError> {
    nix::unistd::setsid().map_err(err("setsid"))?;
    sys::set_controlling_tty(slave.as_raw_fd()).map_err(err("make the pty the controlling terminal"))?;
    for fd in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), fd).map_err(err("dup the pty to stdio"))?;
    }
    Ok(())
}

pub fn send_fd(socket: RawFd, fd: RawFd, name: &[u8]) -> Result<(), Errno> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    socket::sendmsg::<()>(socket, &[IoSlice::new(name)], &cmsg, MsgFlags::empty(), None)?;
    Ok(())
}

pub fn recv_fd(socket: RawFd) -> Result<OwnedFd, TerminalError> {
    let mut buf = [0u8; 4096];
    let (_, fd) = sys::recv_with_fd(socket, &mut buf).map_err(err("receive the pty master"))?;
    fd.ok_or(TerminalError::NoFd)
}

/// Our terminal in raw mode for as long as this lives (when stdin is a terminal).
pub struct RawMode {
    saved: Option<nix::sys::termios::Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        use nix::sys::termios;
        let stdin = sys::borrow(0);
        let saved = termios::tcgetattr(stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdin, termios::SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(sys::borrow(0), nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

/// Best-effort write of everything (the reader may be gone).
pub fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(sys::borrow(fd), data) {
            Ok(0) => return,
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
