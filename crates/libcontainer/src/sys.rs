//! The syscall edge: thin, typed wrappers around the raw system calls that
//! neither `nix` nor `libc` wrap (clone3, pidfds, openat2, the new mount API).
//! Every `unsafe` block of the library that talks to the kernel lives here so
//! that the rest of the code can stay safe (the capability calls are the
//! `caps` crate's).

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

pub type SysResult<T> = Result<T, Errno>;

fn check(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// CLONE_INTO_CGROUP (libc's constant has the wrong width on some targets).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Takes an exclusive flock on `fd` (blocking).
pub fn flock_exclusive(fd: RawFd) -> SysResult<()> {
    loop {
        // SAFETY: flock on a descriptor the caller owns.
        match check(unsafe { libc::flock(fd, libc::LOCK_EX) } as libc::c_long) {
            Err(Errno::EINTR) => continue,
            r => return r.map(|_| ()),
        }
    }
}

/// What `clone3` gives back: in the parent the child's pid and its pidfd.
pub enum Forked {
    Parent { pid: i32, pidfd: OwnedFd },
    Child,
}

/// fork-like `clone3`: no new stack, the child continues from here with a copy
/// of the address space. `flags` carries the CLONE_NEW* namespace flags;
/// `cgroup` places the child directly into a cgroup v2 directory
/// (CLONE_INTO_CGROUP), which saves a write to `cgroup.procs`.
///
/// Only safe to call while the process is single-threaded (hull always is).
pub fn clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> SysResult<Forked> {
    let mut pidfd: libc::c_int = -1;
    let mut args: libc::clone_args = unsafe {
        // SAFETY: clone_args is a plain C struct; all-zero is its documented default.
        std::mem::zeroed()
    };
    args.flags = flags | libc::CLONE_PIDFD as u64;
    args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: args is fully initialised and outlives the call; with a zero stack
    // the kernel duplicates the caller's stack like fork(2). hull has no other
    // threads, so no lock can be held by a thread that does not exist in the child.
    let ret = unsafe {
        libc::syscall(libc::SYS_clone3, &mut args as *mut libc::clone_args, std::mem::size_of::<libc::clone_args>())
    };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: the kernel wrote a fresh, owned pidfd on success.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

pub fn pidfd_open(pid: i32) -> SysResult<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel returned a new file descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> SysResult<()> {
    // SAFETY: plain syscall; a null siginfo means "as kill(2) would".
    check(unsafe {
        libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, std::ptr::null::<libc::siginfo_t>(), 0)
    })?;
    Ok(())
}

/// `openat2` with the given RESOLVE_* flags.
pub fn openat2(dirfd: RawFd, path: &CStr, flags: i32, mode: u32, resolve: u64) -> SysResult<OwnedFd> {
    let mut how: libc::open_how = unsafe {
        // SAFETY: open_how is a plain C struct, zero is valid.
        std::mem::zeroed()
    };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode as u64;
    how.resolve = resolve;
    // With RESOLVE_IN_ROOT/BENEATH the kernel answers EAGAIN when a rename or
    // mount anywhere raced with a ".." in the walk: try again.
    let mut tries = 0;
    let fd = loop {
        // SAFETY: `path` is NUL-terminated and `how` lives through the call.
        let r = check(unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        });
        match r {
            Err(Errno::EAGAIN) if tries < 64 => tries += 1,
            other => break other?,
        }
    };
    // SAFETY: new descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn open_tree(dirfd: RawFd, path: &CStr, flags: u32) -> SysResult<OwnedFd> {
    // SAFETY: NUL-terminated path, integer flags.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags | libc::O_CLOEXEC as u32) })?;
    // SAFETY: new descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn move_mount(from: RawFd, from_path: &CStr, to: RawFd, to_path: &CStr, flags: u32) -> SysResult<()> {
    // SAFETY: both paths are NUL-terminated.
    check(unsafe { libc::syscall(libc::SYS_move_mount, from, from_path.as_ptr(), to, to_path.as_ptr(), flags) })?;
    Ok(())
}

/// `mount_setattr(2)`: change mount attributes (ro, nosuid, …, propagation),
/// recursively when `flags` has AT_RECURSIVE.
pub fn mount_setattr(dirfd: RawFd, path: &CStr, flags: u32, set: u64, clear: u64, propagation: u64) -> SysResult<()> {
    let mut attr: libc::mount_attr = unsafe {
        // SAFETY: plain C struct, zero is valid.
        std::mem::zeroed()
    };
    attr.attr_set = set;
    attr.attr_clr = clear;
    attr.propagation = propagation;
    // SAFETY: attr lives through the call; path is NUL-terminated.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            &mut attr as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })?;
    Ok(())
}

/// Makes the detached mount tree `tree` an idmapped mount through the user
/// namespace `userns` (MOUNT_ATTR_IDMAP), recursively or not.
pub fn mount_setattr_idmap(tree: RawFd, userns: RawFd, recursive: bool) -> SysResult<()> {
    let mut attr: libc::mount_attr = unsafe {
        // SAFETY: plain C struct, zero is valid.
        std::mem::zeroed()
    };
    attr.attr_set = libc::MOUNT_ATTR_IDMAP;
    attr.userns_fd = userns as u64;
    let flags = libc::AT_EMPTY_PATH as u32 | if recursive { libc::AT_RECURSIVE as u32 } else { 0 };
    // SAFETY: attr lives through the call; the path is an empty C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree,
            c"".as_ptr(),
            flags,
            &mut attr as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })?;
    Ok(())
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> SysResult<()> {
    // SAFETY: both paths are NUL-terminated.
    check(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })?;
    Ok(())
}

/// Marks every descriptor from `first` up as close-on-exec.
pub fn cloexec_from(first: u32) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) })?;
    Ok(())
}

pub fn setdomainname(name: &[u8]) -> SysResult<()> {
    // SAFETY: pointer and length describe `name`.
    check(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } as libc::c_long)?;
    Ok(())
}

pub fn prctl(option: i32, arg2: libc::c_ulong, arg3: libc::c_ulong) -> SysResult<i32> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> SysResult<()> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: lim is a valid rlimit; prlimit on ourselves (pid 0).
    let r = unsafe { libc::prlimit(0, resource as _, &lim, std::ptr::null_mut()) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// (soft, hard) of one of our own limits.
pub fn getrlimit(resource: u32) -> (u64, u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: lim is a valid out-pointer; prlimit on ourselves (pid 0).
    unsafe { libc::prlimit(0, resource as _, std::ptr::null(), &mut lim) };
    (lim.rlim_cur, lim.rlim_max)
}

pub fn ioprio_set(class: i32, prio: i32) -> SysResult<()> {
    const IOPRIO_WHO_PROCESS: i32 = 1;
    let value = (class << 13) | prio;
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) })?;
    Ok(())
}

#[repr(C)]
#[derive(Default)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
}

pub fn sched_setattr(attr: &mut SchedAttr) -> SysResult<()> {
    attr.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: attr has the kernel's sched_attr (v1) layout and outlives the call.
    check(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *mut SchedAttr, 0) })?;
    Ok(())
}

/// sched_setaffinity(2) of the calling thread, with a mask of any length
/// (one bit a CPU, 64 to a word).
pub fn sched_setaffinity(mask: &[u64]) -> SysResult<()> {
    // SAFETY: the pointer and byte length describe `mask`.
    check(unsafe { libc::syscall(libc::SYS_sched_setaffinity, 0, std::mem::size_of_val(mask), mask.as_ptr()) })?;
    Ok(())
}

/// The calling thread's CPU affinity mask.
pub fn sched_getaffinity() -> SysResult<Vec<u64>> {
    let mut mask = vec![0u64; 1024];
    // SAFETY: the pointer and byte length describe `mask`; the kernel
    // writes at most that many bytes and returns how many it wrote.
    let n = check(unsafe {
        libc::syscall(libc::SYS_sched_getaffinity, 0, std::mem::size_of_val(mask.as_slice()), mask.as_mut_ptr())
    })?;
    mask.truncate((n as usize).div_ceil(8));
    Ok(mask)
}

pub fn personality(persona: libc::c_ulong) -> SysResult<()> {
    // SAFETY: plain libc call with an integer.
    let r = unsafe { libc::personality(persona) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// set_mempolicy(2) for the calling thread; `mask` is the node bitmap.
pub fn set_mempolicy(mode: i32, mask: &[libc::c_ulong]) -> SysResult<()> {
    let (ptr, maxnode) = if mask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (mask.as_ptr(), mask.len() * libc::c_ulong::BITS as usize + 1)
    };
    // SAFETY: `mask` holds maxnode - 1 bits and outlives the call.
    check(unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) })?;
    Ok(())
}

pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// `execve(2)`; only returns on failure.
pub fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    // SAFETY: argv and envp are NULL-terminated arrays of pointers into CStrings
    // that the caller keeps alive.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// Leave now, without running destructors or atexit handlers: used by the
/// child between clone and execve, where the parent's buffered state must not
/// be flushed twice.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is always safe to call.
    unsafe { libc::_exit(code) }
}

/// Installs `handler` for `sig` (plain handler, no SA_RESTART).
pub fn set_signal_handler(sig: i32, handler: extern "C" fn(i32)) -> SysResult<()> {
    // SAFETY: sigaction struct zero-initialised then filled; the handler is a
    // plain extern "C" function that only calls async-signal-safe code.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(sig, &sa, std::ptr::null_mut()) < 0 {
            return Err(Errno::last());
        }
    }
    Ok(())
}

pub fn reset_signal_handler(sig: i32) {
    // SAFETY: setting SIG_DFL is always valid for catchable signals.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// Unblocks every signal of the calling thread.
/// Before execve: no signal blocked and every signal at its default action.
/// An ignored signal stays ignored across execve: Rust's runtime ignores
/// SIGPIPE (the container's `yes | head -1` would then see EPIPE instead of
/// ending quietly), and whatever started hull may ignore others. The raw
/// syscall, because glibc refuses to touch the two signals it keeps for
/// itself (32 and 33), which a caller may have left ignored too.
pub fn unblock_all_signals() {
    // SAFETY: an emptied sigset is valid input for sigprocmask; a zeroed
    // kernel sigaction is SIG_DFL with no flags; the size is the kernel's
    // sigset size (8 bytes on x86_64).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        let dfl = [0u64; 4]; // handler, flags, restorer, mask
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), 8usize);
            }
        }
    }
}

/// Borrow a raw descriptor number that the caller knows to be open.
pub fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: callers only pass descriptors that stay open for the program's
    // lifetime (stdio, or fds owned by a value that outlives the borrow).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

pub fn cstring(bytes: impl Into<Vec<u8>>) -> CString {
    // Interior NULs are rejected by spec validation before we get here; map any
    // leftover to an empty string rather than panic in the init process.
    CString::new(bytes).unwrap_or_default()
}

/// Unlocks a pty master so its slave can be opened (what unlockpt(3) does).
pub fn unlockpt(master: RawFd) -> SysResult<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int that lives through the call.
    check(unsafe { libc::ioctl(master, libc::TIOCSPTLCK, &unlock) } as libc::c_long)?;
    Ok(())
}

/// Opens the slave of a pty master directly (TIOCGPTPEER, no path lookup).
pub fn open_pty_peer(master: RawFd) -> SysResult<OwnedFd> {
    // SAFETY: TIOCGPTPEER takes open flags and returns a new descriptor.
    let fd = check(unsafe { libc::ioctl(master, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) }
        as libc::c_long)?;
    // SAFETY: new descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn set_winsize(fd: RawFd, rows: u16, cols: u16) -> SysResult<()> {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads a winsize that lives through the call.
    check(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } as libc::c_long)?;
    Ok(())
}

pub fn get_winsize(fd: RawFd) -> SysResult<(u16, u16)> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a winsize into our variable.
    check(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } as libc::c_long)?;
    Ok((ws.ws_row, ws.ws_col))
}

pub fn set_controlling_tty(fd: RawFd) -> SysResult<()> {
    // SAFETY: TIOCSCTTY with argument 0 (do not steal).
    check(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) } as libc::c_long)?;
    Ok(())
}

/// Sets IFF_UP on the interface `name` (e.g. b"lo"), using socket `sock`.
pub fn interface_up(sock: RawFd, name: &[u8]) -> SysResult<()> {
    // SAFETY: ifreq is a plain C struct/union; zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.iter()) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        check(libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) as libc::c_long)?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) as libc::c_long)?;
    }
    Ok(())
}

/// An anonymous, close-on-exec memory file.
pub fn memfd(name: &CStr) -> SysResult<OwnedFd> {
    // SAFETY: NUL-terminated name, integer flags.
    let fd = check(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) } as libc::c_long)?;
    // SAFETY: new descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Joins a new session keyring named after the container (what runc does
/// unless --no-new-keyring), so containers do not share the caller's keys.
pub fn join_session_keyring(name: &CStr) -> SysResult<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    const KEYCTL_SETPERM: libc::c_long = 5;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    // SAFETY: keyctl with a NUL-terminated name.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) })?;
    // Possessor and user may do everything with it (view, read, write, search, link, setattr).
    // SAFETY: keyctl with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, KEY_SPEC_SESSION_KEYRING, 0x3f3f_0000u32) })?;
    Ok(())
}

/// kill(2) with a signal number (real-time ones included; 0 probes).
pub fn kill(pid: i32, sig: i32) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::kill(pid, sig) } as libc::c_long)?;
    Ok(())
}

pub fn set_child_subreaper() -> SysResult<()> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0).map(|_| ())
}

/// seccomp(SECCOMP_SET_MODE_FILTER); returns the listener fd when `flags`
/// has SECCOMP_FILTER_FLAG_NEW_LISTENER.
pub fn seccomp_set_filter(program: &[libc::sock_filter], flags: u32) -> SysResult<Option<OwnedFd>> {
    let prog = libc::sock_fprog { len: program.len() as u16, filter: program.as_ptr() as *mut libc::sock_filter };
    // SAFETY: prog points at `program`, which outlives the call.
    let r = check(unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &prog as *const libc::sock_fprog)
    })?;
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 != 0 {
        // SAFETY: with NEW_LISTENER the kernel returns a new descriptor we own.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) }));
    }
    Ok(None)
}

/// accept4(2), close-on-exec.
pub fn accept(listener: RawFd) -> SysResult<OwnedFd> {
    // SAFETY: null address pointers are allowed; the result is a new descriptor.
    let fd = check(unsafe { libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) }
        as libc::c_long)?;
    // SAFETY: new descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// recvmsg(2) of one datagram into `buf`, with at most one descriptor
/// (SCM_RIGHTS, made close-on-exec). Returns the byte count and the descriptor.
pub fn recv_with_fd(sock: RawFd, buf: &mut [u8]) -> SysResult<(usize, Option<OwnedFd>)> {
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        sock,
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut fd = None;
    for c in msg.cmsgs()? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            for f in fds {
                // SAFETY: the kernel installed this descriptor in our table for us.
                fd = Some(unsafe { OwnedFd::from_raw_fd(f) });
            }
        }
    }
    Ok((msg.bytes, fd))
}

/// The errno of an I/O error (EIO when it carries none).
pub fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Is the effective uid 0?
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

const FSOPEN_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const FSMOUNT_CLOEXEC: u32 = 1;

/// A new, detached instance of filesystem `fstype` (fsopen + fsconfig +
/// fsmount): a mount that exists only as the returned descriptor, so nothing
/// anyone else mounts can cover or replace it. `options` are string
/// parameters (an empty value: a flag, as `noswap`); `attrs` are
/// MOUNT_ATTR_* flags of the mount.
pub fn fsmount_new(fstype: &CStr, options: &[(&CStr, &CStr)], attrs: u64) -> SysResult<OwnedFd> {
    // SAFETY: NUL-terminated name, integer flags.
    let fs = check(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: new descriptor owned by us.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    for (key, value) in options {
        let (cmd, value) = if value.is_empty() {
            (FSCONFIG_SET_FLAG, std::ptr::null())
        } else {
            (FSCONFIG_SET_STRING, value.as_ptr())
        };
        // SAFETY: key (and value, when given) are NUL-terminated and outlive the call.
        check(unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, key.as_ptr(), value, 0) })?;
    }
    // SAFETY: integer arguments, null key and value as the command requires.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: integer arguments.
    let mnt = check(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })?;
    // SAFETY: new descriptor owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(mnt as RawFd) })
}

/// The filesystem magic number of the file behind `fd` (statfs f_type).
pub fn fs_magic(fd: RawFd) -> SysResult<i64> {
    // SAFETY: statfs is a plain C struct, zero is valid; fstatfs fills it.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` lives through the call.
    check(unsafe { libc::fstatfs(fd, &mut st) } as libc::c_long)?;
    Ok(st.f_type as i64)
}

/// Attaches the detached mount `tree` (open_tree, fsmount) onto the file
/// or directory behind `target`: both by descriptor.
pub fn attach_tree(tree: RawFd, target: RawFd) -> SysResult<()> {
    move_mount(tree, c"", target, c"", libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH)
}

/// Bind-mounts the file or directory behind `source` (any descriptor, O_PATH
/// included) onto the one behind `target`: nothing is looked up by name, so
/// neither end can be swapped for something else between check and use.
pub fn bind_fd_onto_fd(source: RawFd, target: RawFd, recursive: bool) -> SysResult<()> {
    let mut flags = libc::OPEN_TREE_CLONE | libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    let tree = open_tree(source, c"", flags)?;
    attach_tree(tree.as_raw_fd(), target)
}
