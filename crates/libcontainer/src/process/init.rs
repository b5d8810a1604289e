//! The container's init: the child of `clone3`, from its first instruction to
//! execve of the user's program. It runs hull's code inside the new namespaces;
//! every failure is sent to the parent over the sync channel (which names the
//! step and the path) and the child exits without unwinding.

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::unistd::{ForkResult, Gid, Uid};
use oci_spec::runtime::Hook;

use super::sync::{Channel, Message, SyncError};
use super::{ProcessError, ProcessPlan};
use crate::hooks::{self, HookError};
use crate::namespaces::{flag_of, name_of, NamespacePlan};
use crate::procfs::ProcFs;
use crate::rootfs::{self, Create, RootfsError, RootfsPlan};
use crate::sys;
use crate::terminal;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Hook(#[from] HookError),
    #[error(transparent)]
    Terminal(#[from] terminal::TerminalError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Proc(#[from] crate::procfs::ProcError),
    #[error("{op}: {errno}")]
    Sys { op: String, errno: Errno },
}

impl InitError {
    pub fn errno(&self) -> i32 {
        match self {
            InitError::Rootfs(
                RootfsError::Mount { errno, .. } | RootfsError::Path { errno, .. } | RootfsError::Pivot { errno, .. },
            ) => *errno as i32,
            InitError::Process(
                ProcessError::Exec { errno, .. } | ProcessError::Execve { errno, .. } | ProcessError::Sys { errno, .. },
            ) => *errno as i32,
            InitError::Process(ProcessError::NotFound(_)) => libc::ENOENT,
            InitError::Sys { errno, .. } => *errno as i32,
            InitError::Proc(e) | InitError::Process(ProcessError::Proc(e)) => e.errno() as i32,
            _ => 0,
        }
    }
}

fn sys_err(op: impl Into<String>) -> impl FnOnce(Errno) -> InitError {
    let op = op.into();
    move |errno| InitError::Sys { op, errno }
}

/// Everything the init needs, prepared by the parent before clone3.
pub struct InitConfig<'a> {
    pub namespaces: &'a NamespacePlan,
    pub rootfs: Option<&'a RootfsPlan>,
    pub process: ProcessPlan,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    /// prestart/createRuntime hooks exist: stop before pivot_root so the parent runs them.
    pub runtime_hooks: bool,
    pub create_container_hooks: Vec<Hook>,
    pub start_container_hooks: Vec<Hook>,
    /// State JSON given to the in-container hooks (status filled in per hook).
    pub hook_state: serde_json::Value,
    /// The listening start.sock (create); None for run.
    pub start_listener: Option<&'a OwnedFd>,
    pub preserve_fds: u32,
    pub console_socket: Option<&'a OwnedFd>,
    /// The cgroup the init moves itself into once the parent made it (v1).
    pub cgroup_join: Option<&'a dyn crate::cgroups::CgroupManager>,
    /// linux.netDevices go into a network namespace the init unshares: ask
    /// the parent to move them once it exists.
    pub request_net_devices: bool,
}

/// Runs the init. Never returns: execve or exit.
pub fn run(cfg: InitConfig<'_>, mut chan: Channel) -> ! {
    match init(cfg, &mut chan) {
        Ok(never) => match never {},
        Err(InitFailure { error, report_to }) => {
            let msg = Message::Error { errno: error.errno(), message: error.to_string() };
            if matches!(error, InitError::Process(ProcessError::Execve { .. })) {
                // execve failed after Exec was announced: whoever waited may be
                // gone already, so say it where the container's output goes too.
                eprintln!("hull: {error}");
            }
            match report_to {
                Some(mut conn) => {
                    let _ = conn.send(&msg);
                }
                None => {
                    let _ = chan.send(&msg);
                }
            }
            sys::exit_now(match error.errno() {
                libc::ENOENT => 127,
                libc::EACCES => 126,
                _ => 1,
            });
        }
    }
}

struct InitFailure {
    error: InitError,
    /// After `start` connected, errors go to that connection instead.
    report_to: Option<Channel>,
}

impl<E: Into<InitError>> From<E> for InitFailure {
    fn from(e: E) -> Self {
        InitFailure { error: e.into(), report_to: None }
    }
}

/// A created container's init sits in accept(): a SIGTERM from the host must
/// still end it (as runc's does), although pid 1 ignores signals it has no
/// handler for. The handlers vanish at execve.
extern "C" fn exit_on_signal(sig: i32) {
    sys::exit_now(128 + sig);
}

fn init(mut cfg: InitConfig<'_>, chan: &mut Channel) -> Result<Infallible, InitFailure> {
    // Die with the parent while it is still setting us up.
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)
        .map_err(sys_err("set the parent-death signal"))?;
    // (Inside a new pid namespace getppid() is 0, so a parent that died
    // before this point is noticed on the sync channel instead.)
    let ns = cfg.namespaces;
    let mut gate = GoGate { passed: false, deferred_cgroupns: ns.deferred_cgroupns, cgroup: cfg.cgroup_join };
    enter_namespaces(&cfg, chan, &mut gate)?;
    // Now that the namespaces are final: a procfs of the container's pid
    // namespace that only we hold, for every write to /proc from here on.
    let proc = ProcFs::open()?;
    set_identity(&cfg)?;
    let root = build_root(&cfg, chan, &mut gate, &proc)?;
    gate.pass(chan)?;
    run_create_hooks(&mut cfg, chan, root.as_ref())?;
    let console = match (cfg.process.terminal, cfg.console_socket) {
        (true, Some(sock)) => {
            Some(terminal::setup_console(&proc, sock, cfg.process.console_size, root.as_ref().map(|p| &p.root))?)
        }
        _ => None,
    };
    if let (Some(plan), Some(root)) = (cfg.rootfs, root) {
        rootfs::finish(plan, root)?;
    }
    crate::trace::mark("init: pivot_root, masked and read-only paths");
    terminal::new_session(console.as_ref())?;
    drop(console);
    let (exe, setgroups_denied) = cfg.process.prepare_in_container(&proc)?;
    // A NOTIFY profile's listener goes to its agent during create.
    cfg.process.load_notify_filter_now(chan)?;
    let mut report_to = wait_to_be_started(&cfg, chan)?;
    let result = (|| -> Result<Infallible, InitError> {
        let sink: &mut Channel = match report_to.as_mut() {
            Some(c) => c,
            None => chan,
        };
        cfg.process.finalize_reporting_to(&proc, sink, cfg.preserve_fds, setgroups_denied)?;
        // As runc's: startContainer hooks run as the process will, with its
        // ids, capabilities and seccomp filter, in its working directory.
        if !cfg.start_container_hooks.is_empty() {
            cfg.hook_state["pid"] = nix::unistd::getpid().as_raw().into();
        }
        for (i, h) in cfg.start_container_hooks.iter().enumerate() {
            hooks::run(h, &cfg.hook_state, "startContainer", i)?;
        }
        Ok(cfg.process.exec_reporting_to(sink, &exe)?)
    })();
    match result {
        Ok(never) => match never {},
        Err(e) => Err(InitFailure { error: e, report_to }),
    }
}

/// Joins, makes and enters the container's namespaces in the order
/// namespaces::plan decided (docs/architecture.md has the table); after a
/// second fork the caller is the grandchild, the real init.
fn enter_namespaces(cfg: &InitConfig<'_>, chan: &mut Channel, gate: &mut GoGate<'_>) -> Result<(), InitError> {
    let ns = cfg.namespaces;
    if ns.user_by_unshare {
        // Namespaces given by path belong to the host's user namespace: join
        // them while we are privileged over them, then make ours, and let
        // the parent write its id maps.
        join_all(ns)?;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).map_err(sys_err("unshare the user namespace"))?;
        chan.send(&Message::UserNs)?;
    }
    if ns.child_waits_for_go_first() {
        gate.pass(chan)?;
    }
    // A privileged parent made us non-dumpable before cloning; an
    // unprivileged one could not (it had to write our id maps, just done):
    // from here on, no process of the container may open our /proc files.
    sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).map_err(sys_err("make the init non-dumpable"))?;
    if ns.new_user {
        become_root();
    }
    if !ns.user_by_unshare {
        join_all(ns)?;
    }
    if !ns.unshare_flags.is_empty() {
        nix::sched::unshare(ns.unshare_flags).map_err(sys_err(format!("unshare {:?}", ns.unshare_flags)))?;
    }
    if cfg.request_net_devices {
        chan.send(&Message::MoveNetDevices)?;
        chan.expect("NetDevicesMoved", &Message::NetDevicesMoved)?;
    }
    if ns.second_fork {
        // unshare(CLONE_NEWPID) only places our children in the new namespace.
        // SAFETY: hull is single-threaded, so fork is safe here.
        match unsafe { nix::unistd::fork() }.map_err(sys_err("fork into the new pid namespace"))? {
            ForkResult::Parent { child } => {
                let _ = chan.send(&Message::Pid(child.as_raw()));
                sys::exit_now(0);
            }
            // No parent-death signal here: our parent exits right after
            // the fork, and a signal armed just before that would kill us.
            // A create that dies is noticed on the sync channel instead.
            ForkResult::Child => {}
        }
    }
    Ok(())
}

/// umask for setup, hostname, domainname, a working loopback.
fn set_identity(cfg: &InitConfig<'_>) -> Result<(), InitError> {
    // Device nodes and mount points get exactly the modes config.json says.
    sys::umask(0);
    if let Some(h) = &cfg.hostname {
        nix::unistd::sethostname(h).map_err(sys_err(format!("set hostname {h:?}")))?;
    }
    if let Some(d) = &cfg.domainname {
        sys::setdomainname(d.as_bytes()).map_err(sys_err(format!("set domainname {d:?}")))?;
    }
    crate::trace::mark("init: hostname");
    if cfg.namespaces.new_net {
        loopback_up().map_err(sys_err("bring up the loopback interface"))?;
    }
    crate::trace::mark("init: namespaces, hostname, loopback");
    Ok(())
}

/// The mounts and /dev (`rootfs::prepare`), the sysctls, the working
/// directory; the Go gate is passed on the way where the cgroup mount needs it.
fn build_root(
    cfg: &InitConfig<'_>,
    chan: &mut Channel,
    gate: &mut GoGate<'_>,
    proc: &ProcFs,
) -> Result<Option<rootfs::Prepared>, InitError> {
    let root = match cfg.rootfs {
        Some(plan) => Some(rootfs::prepare(plan, &mut || gate.pass(chan))?),
        None => None,
    };
    crate::trace::mark("init: mounts and devices");
    // sysctl files act on the namespaces of the writer, which are already
    // the container's. Written through the private procfs: a sysctl value
    // redirected into kernel/core_pattern is a way out (CVE-2025-52881).
    for (key, value) in &cfg.sysctl {
        proc.write(&format!("sys/{}", key.replace('.', "/")), value.as_bytes())
            .map_err(|e| sys_err(format!("set sysctl {key}={value}"))(e.errno()))?;
    }
    if let Some(prepared) = root.as_ref() {
        // A missing working directory is created, as runc does.
        rootfs::resolve_in_root(&prepared.root, &cfg.process.cwd, Create::Dir)?;
    }
    Ok(root)
}

/// prestart/createRuntime hooks (run by the parent, on the host), then the
/// createContainer hooks here, in the container's namespaces and rootfs.
fn run_create_hooks(
    cfg: &mut InitConfig<'_>,
    chan: &mut Channel,
    root: Option<&rootfs::Prepared>,
) -> Result<(), InitError> {
    if cfg.runtime_hooks {
        chan.send(&Message::RunHooks)?;
        chan.expect("HooksDone", &Message::HooksDone)?;
    }
    if !cfg.create_container_hooks.is_empty() {
        // Hooks in the container see its pid as it does (runc's too).
        cfg.hook_state["pid"] = nix::unistd::getpid().as_raw().into();
        if let Some(prepared) = root {
            // runc runs them in the rootfs (`./lib` in a hook is the
            // container's /lib); pivot_root later works from there anyway.
            nix::unistd::fchdir(prepared.root.as_raw_fd())
                .map_err(sys_err("chdir to the rootfs for the createContainer hooks"))?;
        }
    }
    for (i, h) in cfg.create_container_hooks.iter().enumerate() {
        hooks::run(h, &cfg.hook_state, "createContainer", i)?;
    }
    Ok(())
}

/// Ready, then `Start` (run) or `WaitForStart` (create: block on
/// start.sock until `hull start` connects, whose connection then gets our
/// reports).
fn wait_to_be_started(cfg: &InitConfig<'_>, chan: &mut Channel) -> Result<Option<Channel>, InitError> {
    // From here the parent may go away at any time (create returns): stop
    // dying with it, and treat its silence as the end.
    sys::prctl(libc::PR_SET_PDEATHSIG, 0, 0).map_err(sys_err("clear the parent-death signal"))?;
    crate::trace::mark("init: process attributes");
    chan.send(&Message::Ready)?;
    match chan.recv() {
        Ok(Message::Start) => Ok(None),
        Ok(Message::WaitForStart) => {
            let listener =
                cfg.start_listener.ok_or(SyncError::Unexpected { expected: "Start", got: Message::WaitForStart })?;
            Ok(Some(wait_for_start(listener)?))
        }
        Ok(other) => Err(SyncError::Unexpected { expected: "Start or WaitForStart", got: other }.into()),
        Err(_) => sys::exit_now(1),
    }
}

/// setns into every namespace given by path, in `joins` order (user first);
/// in a joined user namespace we become its root.
fn join_all(ns: &NamespacePlan) -> Result<(), InitError> {
    for j in &ns.joins {
        nix::sched::setns(j.fd.as_fd(), flag_of(j.kind)).map_err(sys_err(format!(
            "join {} namespace {}",
            name_of(j.kind),
            j.path.display()
        )))?;
        if j.kind == oci_spec::runtime::LinuxNamespaceType::User {
            become_root();
        }
    }
    Ok(())
}

/// Become root of the user namespace (if the maps allow it) so that files
/// made during setup belong to the container's root: our host ids are not
/// mapped in it, and the kernel refuses to create files for an unmapped
/// owner (EOVERFLOW).
fn become_root() {
    let _ = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0));
    let _ = nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0));
}

/// The parent's Go (id maps written, cgroup joined), taken once, as late as
/// possible so that the child's setup overlaps the parent's cgroup work.
struct GoGate<'a> {
    passed: bool,
    deferred_cgroupns: bool,
    cgroup: Option<&'a dyn crate::cgroups::CgroupManager>,
}

impl GoGate<'_> {
    fn pass(&mut self, chan: &mut Channel) -> Result<(), InitError> {
        if self.passed {
            return Ok(());
        }
        chan.expect("Go", &Message::Go)?;
        crate::trace::mark("init: parent said Go");
        if let Some(cg) = self.cgroup {
            cg.join_self()?;
        }
        if self.deferred_cgroupns {
            // Now in the container's cgroup: it becomes the namespace's root.
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
                .map_err(sys_err("unshare the cgroup namespace"))?;
        }
        self.passed = true;
        Ok(())
    }
}

/// Blocks until `hull start` connects, then hands back the connection (it
/// closes at execve, which `start` reads as success).
fn wait_for_start(listener: &OwnedFd) -> Result<Channel, InitError> {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGALRM] {
        let _ = sys::set_signal_handler(sig, exit_on_signal);
    }
    let conn = loop {
        match sys::accept(listener.as_raw_fd()) {
            Ok(fd) => break fd,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(InitError::Sys { op: "wait for start".into(), errno: e }),
        }
    };
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGALRM] {
        sys::reset_signal_handler(sig);
    }
    Ok(Channel::from_fd(conn))
}

/// `ip link set lo up` with one ioctl pair.
fn loopback_up() -> Result<(), Errno> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    sys::interface_up(sock.as_raw_fd(), b"lo")
}
