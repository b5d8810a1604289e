//! The OCI lifecycle: create, start, state, kill, delete, run — what each CLI
//! command calls. The parent side of `create` lives here; the child side is
//! process::init.

mod exec;
mod ops;

pub use exec::{exec, ExecOptions};
pub use ops::{events, features, pause, pids, resume, stats, update, Event};

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxNamespaceType, Spec};

use crate::cgroups::{self, CgroupError, CgroupManager};
use crate::hooks::{self, HookError};
use crate::namespaces::{self, NamespaceError};
use crate::netdev::{self, NetDevError};
use crate::process::init::{self, InitConfig};
use crate::process::sync::{Channel, Message, SyncError};
use crate::process::{ProcessError, ProcessPlan};
use crate::rootfs::{self, DeviceEntry, MountEntry, RootfsPlan};
use crate::seccomp::{self, SeccompError};
use crate::spec::{self, SpecError};
use crate::state::{self, ContainerState, StateError, Status};
use crate::sys::{self, Forked};
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

/// Flags of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub root: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `create`: the init waits on start.sock for `start`.
    Create,
    /// `run`: the init goes straight on to execve.
    Run,
}

/// A container that `create` (or `run`) just made.
pub struct Created {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub dir: PathBuf,
    pub state: ContainerState,
    /// The pty master, when `run` relays a terminal itself.
    pub console: Option<OwnedFd>,
}

/// runc's device policy: every device denied, then config.json's rules,
/// then the defaults every container gets. Without rules in config.json (or
/// without `resources` at all) a container still gets only the defaults,
/// not every device of the host: with CAP_MKNOD it could otherwise make a
/// node for the host's disk and read it.
pub(crate) fn device_policy(config: Option<&[LinuxDeviceCgroup]>) -> Vec<LinuxDeviceCgroup> {
    let mut deny_all = LinuxDeviceCgroup::default();
    deny_all.set_allow(false);
    deny_all.set_access(Some("rwm".into()));
    let mut rules = vec![deny_all];
    rules.extend(config.into_iter().flatten().cloned());
    rules.extend(default_device_rules());
    rules
}

/// The device rules runc grants every container on top of config.json's:
/// mknod of any node, the default /dev nodes, ptys, tun.
fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    let rule = |t: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(t));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_string()));
        r
    };
    use LinuxDeviceType::{B, C};
    vec![
        rule(C, None, None, "m"),
        rule(B, None, None, "m"),
        rule(C, Some(1), Some(3), "rwm"),
        rule(C, Some(1), Some(8), "rwm"),
        rule(C, Some(1), Some(7), "rwm"),
        rule(C, Some(5), Some(0), "rwm"),
        rule(C, Some(1), Some(5), "rwm"),
        rule(C, Some(1), Some(9), "rwm"),
        rule(C, Some(5), Some(1), "rwm"),
        rule(C, Some(136), None, "rwm"),
        rule(C, Some(5), Some(2), "rwm"),
        rule(C, Some(10), Some(200), "rwm"),
    ]
}

/// Undoes a half-made container when `create` fails.
struct Cleanup<'a> {
    dir: &'a Path,
    cgroup: Option<cgroups::CgroupState>,
    child: Option<(i32, BorrowedFd<'a>)>,
    /// Sharing the host's mount namespace: the rootfs as mountinfo shows it,
    /// and the ids of the mounts that were there before.
    host_mounts: Option<(PathBuf, Vec<u64>)>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some((pid, pidfd)) = self.child {
            let _ = sys::pidfd_send_signal(pidfd, libc::SIGKILL);
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        }
        if let Some((rootfs, before)) = &self.host_mounts {
            crate::rootfs::unmount_host_mounts(&crate::rootfs::host_mounts_since(rootfs, before));
        }
        if let Some(cg) = &self.cgroup {
            let _ = cgroups::from_state(cg).destroy();
        }
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

fn start_socket_path(dir_fd: &impl AsRawFd) -> PathBuf {
    // A path through the directory's descriptor stays short whatever --root
    // is (sun_path holds 108 bytes; containerd's state paths are longer).
    PathBuf::from(format!("/proc/self/fd/{}/{}", dir_fd.as_raw_fd(), state::START_SOCKET))
}

/// Everything `create` decides from config.json before cloning.
struct Plans {
    ns: namespaces::NamespacePlan,
    rootfs: Option<RootfsPlan>,
    process: ProcessPlan,
}

fn build_plans(
    spec: &Spec,
    mount_id_maps: &[Option<spec::MountIdMaps>],
    opts: &CreateOptions,
    rootfs_path: &Path,
    cg: Option<&dyn CgroupManager>,
) -> Result<Plans, ContainerError> {
    let ns = namespaces::plan(spec, cg.is_some_and(|c| !c.fully_placed_by_clone()))?;
    let process_spec =
        spec.process().as_ref().ok_or_else(|| ContainerError::Usage("config.json: process: missing".into()))?;
    let mut process = ProcessPlan::from_spec(process_spec)?;
    let linux = spec.linux().as_ref();
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        process.set_personality(p)?;
    }
    if let Some(p) = linux.and_then(|l| l.memory_policy().as_ref()) {
        process.set_memory_policy(p)?;
    }
    if let Some(s) = linux.and_then(|l| l.seccomp().as_ref()) {
        process.seccomp = Some(seccomp::compile(s)?);
    }
    let rootfs = {
        let mut mounts: Vec<MountEntry> =
            spec.mounts().iter().flatten().map(|m| MountEntry::parse(m, &opts.bundle)).collect();
        resolve_id_maps(&mut mounts, mount_id_maps, linux, ns.new_user)?;
        // /dev is set up unless the config binds the host's /dev wholesale.
        let dev_mount = mounts.iter().find(|m| m.destination == Path::new("/dev"));
        let setup_dev = dev_mount.is_none_or(|m| !m.bind);
        let devices = linux
            .and_then(|l| l.devices().as_ref())
            .map(|d| d.iter().map(DeviceEntry::from_spec).collect())
            .unwrap_or_default();
        let propagation = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
            None | Some("") => None,
            Some(p) => Some(rootfs::parse_propagation(p).ok_or_else(|| SpecError::Invalid {
                field: "linux.rootfsPropagation".into(),
                msg: format!("{p:?} is not a propagation mode"),
            })?),
        };
        let in_userns = ns.new_user || ns.joins.iter().any(|j| j.kind == LinuxNamespaceType::User);
        if ns.new_user {
            // devpts refuses (EINVAL) a uid=/gid= the user namespace does not
            // map: drop such options (tty group 5 in a one-id rootless map).
            let maps = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<(u32, u32)> {
                m.map(|v| v.iter().map(|x| (x.container_id(), x.size())).collect()).unwrap_or_default()
            };
            let uids = maps(linux.and_then(|l| l.uid_mappings().as_ref()));
            let gids = maps(linux.and_then(|l| l.gid_mappings().as_ref()));
            let mapped =
                |ranges: &[(u32, u32)], id: u32| ranges.iter().any(|(start, size)| id >= *start && id - start < *size);
            for m in mounts.iter_mut().filter(|m| m.fstype == "devpts") {
                m.data = m
                    .data
                    .split(',')
                    .filter(|o| match o.split_once('=') {
                        Some(("uid", v)) => v.parse().map(|id| mapped(&uids, id)).unwrap_or(true),
                        Some(("gid", v)) => v.parse().map(|id| mapped(&gids, id)).unwrap_or(true),
                        _ => true,
                    })
                    .collect::<Vec<_>>()
                    .join(",");
            }
        }
        // In a user namespace the container's root may not reach a bind's
        // source (a 0700 directory of the host's root on the way): a
        // privileged parent makes the trees itself, the init only attaches them.
        let root_propagation = rootfs::build_propagation(propagation);
        let idmapped = mounts.iter().any(|m| m.idmap.is_some());
        let bind_trees = if (in_userns || idmapped) && sys::is_root() {
            let mut userns = rootfs::idmap::UsernsCache::default();
            mounts
                .iter()
                .map(|m| {
                    (m.bind && (in_userns || m.idmap.is_some()))
                        .then(|| rootfs::mounts::parent_bind_tree(m, root_propagation, &mut userns))
                        .transpose()
                })
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Some(RootfsPlan {
            rootfs: rootfs_path.to_path_buf(),
            mounts,
            bind_trees,
            readonly: spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false),
            propagation,
            setup_dev,
            devices,
            bind_devices: in_userns,
            masked_paths: linux
                .and_then(|l| l.masked_paths().as_ref())
                .map(|v| v.iter().map(PathBuf::from).collect())
                .unwrap_or_default(),
            readonly_paths: linux
                .and_then(|l| l.readonly_paths().as_ref())
                .map(|v| v.iter().map(PathBuf::from).collect())
                .unwrap_or_default(),
            no_pivot: opts.no_pivot,
            // A joined mount namespace is set up like a new one (runc does the same).
            new_mount_ns: ns.new_mount || ns.join_mount,
            cgroup_mount: cg
                .map(|c| rootfs::cgroup_mount::MountView::new(&c.state(), ns.new_cgroup))
                .unwrap_or_default(),
        })
    };
    Ok(Plans { ns, rootfs, process })
}

/// Idmapped mounts: each gets the mount's own uid/gid mappings or, with
/// `idmap`/`ridmap` alone, the container's (runtime-spec 1.2). They are
/// made by a privileged parent, on bind mounts.
fn resolve_id_maps(
    mounts: &mut [MountEntry],
    own: &[Option<spec::MountIdMaps>],
    linux: Option<&oci_spec::runtime::Linux>,
    new_user: bool,
) -> Result<(), ContainerError> {
    for (i, m) in mounts.iter_mut().enumerate() {
        let own = own.get(i).cloned().flatten();
        if own.is_some() && m.idmap.is_none() {
            // Mappings without the option: idmapped, not recursively.
            m.idmap = Some(false);
        }
        if m.idmap.is_none() {
            continue;
        }
        let field = format!("mounts[{i}]");
        let refuse = |msg: &str| SpecError::Invalid { field: field.clone(), msg: msg.into() };
        if !m.bind {
            return Err(refuse("idmapped mounts are supported on bind mounts").into());
        }
        if !sys::is_root() {
            return Err(
                refuse("idmapped mounts need a privileged hull (CAP_SYS_ADMIN in the host's user namespace)").into()
            );
        }
        let container = || {
            let l = linux?;
            new_user.then(|| spec::MountIdMaps {
                uid: l.uid_mappings().clone().unwrap_or_default(),
                gid: l.gid_mappings().clone().unwrap_or_default(),
            })
        };
        let maps = own.or_else(container).filter(|m| !m.uid.is_empty() && !m.gid.is_empty());
        m.id_maps = Some(maps.ok_or_else(|| {
            refuse("idmap needs uidMappings and gidMappings on the mount, or a user namespace of the container's with both")
        })?);
    }
    Ok(())
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

pub fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

fn hook_state(st: &ContainerState, status: &str) -> serde_json::Value {
    let mut v = st.oci_json(Status::Creating);
    v["status"] = status.into();
    v
}

/// Before anything is made: a cgroup that is frozen already (or under a
/// frozen one) is refused, as runc does: the init would stop as soon as it
/// is placed there and create would wait for it forever. A cgroup that
/// already holds processes (another container's, given the same
/// cgroupsPath) is shared with a warning, as runc 1.1 does (1.2 refuses).
fn check_cgroup_unused(manager: &dyn CgroupManager) -> Result<(), ContainerError> {
    if let Some(path) = manager.frozen_on_path() {
        return Err(CgroupError::Frozen { path }.into());
    }
    let pids = manager.pids().unwrap_or_default();
    if !pids.is_empty() {
        crate::warn(&format!(
            "container's cgroup is not empty: {} process(es) found (sharing a cgroup between containers is deprecated; runc 1.2 refuses it)",
            pids.len()
        ));
    }
    Ok(())
}

/// `create` (Mode::Create) and the first half of `run` (Mode::Run).
pub fn create(opts: &CreateOptions, mode: Mode) -> Result<Created, ContainerError> {
    crate::process::note_caller_fds(opts.preserve_fds);
    cgroups::check_systemd_flag(opts.systemd_cgroup)?;
    // runc works in the bundle: the hooks `create` and `run` run (prestart,
    // createRuntime, poststart and poststop of a foreground run) start there.
    std::env::set_current_dir(&opts.bundle).map_err(|e| ContainerError::Sys {
        op: format!("chdir to the bundle {}", opts.bundle.display()),
        errno: io_errno(&e),
    })?;
    crate::trace::mark("create: start");
    let (dir, dir_lock) = state::claim_dir(&opts.root, &opts.id)?;
    let mut cleanup = Cleanup { dir: &dir, cgroup: None, child: None, host_mounts: None, armed: true };

    let spec::Config { spec, mount_id_maps } = spec::load_config(&opts.bundle)?;
    let mut spec = spec;
    if !sys::is_root() {
        spec::add_implicit_user_namespace(&mut spec);
    }
    spec::validate(&spec, &opts.bundle)?;
    let rootfs_path = spec::rootfs_path(&spec, &opts.bundle)?;
    let linux = spec.linux().as_ref();
    let process_spec = spec.process().as_ref();
    let terminal = process_spec.and_then(|p| p.terminal()).unwrap_or(false);
    if terminal && opts.console_socket.is_none() && mode == Mode::Create {
        return Err(ContainerError::Usage(
            "process.terminal is true but no --console-socket was given: a detached container needs one to hand the terminal to".into(),
        ));
    }

    crate::trace::mark("create: config loaded and validated");
    let layout = cgroups::detect()?;
    let rootless = !nix::unistd::geteuid().is_root();
    let cgroups_path = linux.and_then(|l| l.cgroups_path().as_deref());
    let manager = if opts.systemd_cgroup {
        cgroups::systemd::new_manager(&layout, cgroups_path, &opts.id, spec.annotations().as_ref())?
    } else {
        cgroups::new_manager(&layout, cgroups_path, &opts.id)?
    };
    check_cgroup_unused(manager.as_ref())?;
    let config_resources = linux.and_then(|l| l.resources().as_ref());
    let resources = if rootless {
        // Device access is the user namespace's business without privilege (as runc).
        config_resources.map(|res| {
            let mut res = res.clone();
            res.set_devices(None);
            res
        })
    } else {
        let mut res = config_resources.cloned().unwrap_or_default();
        res.set_devices(Some(device_policy(res.devices().as_deref())));
        Some(res)
    };
    // Rootless: use a cgroup only where one was delegated to the caller;
    // without one, run unlimited — unless config.json asks for limits.
    let cg: Option<Box<dyn CgroupManager>> = if rootless {
        match manager.create() {
            Ok(()) => Some(manager),
            Err(e) if e.is_permission_denied() => {
                if resources.as_ref().is_some_and(cgroups::asks_for_limits) {
                    return Err(ContainerError::Usage(format!(
                        "rootless: {e}: the limits in linux.resources need a cgroup delegated to uid {} (chown a cgroup v2 subtree to it and point linux.cgroupsPath there)",
                        nix::unistd::geteuid()
                    )));
                }
                crate::trace::mark("create: rootless, no delegated cgroup: running without one");
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        Some(manager)
    };
    cleanup.cgroup = cg.as_ref().map(|c| c.state());
    // `init`: the child, once cloned (systemd makes a scope around it).
    let setup_cgroup = |init: Option<i32>| -> Result<(), ContainerError> {
        if let Some(cg) = &cg {
            cg.setup(init, resources.as_ref())?;
        }
        Ok(())
    };
    let hooks_spec = spec.hooks().as_ref();
    let mut st = ContainerState {
        oci_version: state::OCI_VERSION.to_string(),
        id: opts.id.clone(),
        status: Status::Creating,
        pid: 0,
        init_start_time: 0,
        bundle: opts.bundle.clone(),
        rootfs: rootfs_path.clone(),
        created: state::now_rfc3339(),
        owner: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: cg.as_ref().map(|c| c.state()),
        own_pid_ns: false,
        paused: false,
        poststart_hooks: hooks_spec.and_then(|h| h.poststart().clone()),
        poststop_hooks: hooks_spec.and_then(|h| h.poststop().clone()),
        seccomp_listener: None,
        host_mounts: Vec::new(),
        resources: resources.clone(),
    };
    // Saved before any cgroup exists or anything runs: a create killed
    // half-way is still found (and cleaned up) by `delete --force`.
    state::save(&dir, &st)?;

    // On cgroup v2 the child is cloned straight into its cgroup, which must
    // exist first. On v1 the parent makes it while the child sets up its
    // mounts; the child then moves itself in (see join_self) before its
    // cgroup namespace and mount. A hybrid host's cgroup2 twin is entered
    // by clone3 already.
    let cgroup_first = cg.as_ref().is_some_and(|c| c.fully_placed_by_clone());
    if cgroup_first {
        setup_cgroup(None)?;
    } else if let Some(cg) = &cg {
        cg.open_for_clone(true)?;
    }
    crate::trace::mark("create: cgroup manager ready");
    let plans = build_plans(&spec, &mount_id_maps, opts, &rootfs_path, cg.as_deref())?;
    let net_devices = netdev::from_spec(&spec);
    if !net_devices.is_empty() {
        netdev::check_host(&net_devices, &plans.ns)?;
    }
    crate::trace::mark("create: plans built");
    if plans.rootfs.as_ref().is_some_and(|r| !r.new_mount_ns) {
        let rootfs = std::fs::canonicalize(&rootfs_path).unwrap_or_else(|_| rootfs_path.clone());
        let before = crate::rootfs::mounts_at_or_below(&rootfs).into_iter().map(|(id, _)| id).collect();
        cleanup.host_mounts = Some((rootfs, before));
    }
    let runtime_hooks = hooks_spec.is_some_and(|h| {
        h.prestart().as_ref().is_some_and(|v| !v.is_empty())
            || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
    });

    st.own_pid_ns = plans.ns.new_pid;
    st.seccomp_listener = plans.process.seccomp.as_ref().and_then(|f| f.listener.clone());

    // The socket `start` will connect to; the init inherits it.
    let listener = if mode == Mode::Create {
        let l = socket::socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
            .map_err(sys_err("create start.sock"))?;
        let addr = UnixAddr::new(&start_socket_path(&dir_lock)).map_err(sys_err("name start.sock"))?;
        socket::bind(l.as_raw_fd(), &addr).map_err(sys_err("bind start.sock"))?;
        socket::listen(&l, socket::Backlog::new(1).unwrap_or(socket::Backlog::MAXCONN))
            .map_err(sys_err("listen on start.sock"))?;
        Some(l)
    } else {
        None
    };
    let (console_child, console_parent) = terminal::console_sockets(terminal, opts.console_socket.as_deref())?;

    let sysctl: Vec<(String, String)> = linux
        .and_then(|l| l.sysctl().as_ref())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let hook_state_json = hook_state(&st, "creating");
    let (parent_chan, child_chan) = Channel::pair()?;
    let keyring = (!opts.no_new_keyring).then(|| sys::cstring(format!("_ses.{}", opts.id)));
    let own_time = plans.ns.enter_parent_side()?;
    if mode == Mode::Run {
        // A second fork (joined user namespace) would orphan the real init:
        // be its subreaper so that we can still wait for it.
        let _ = sys::set_child_subreaper();
    }
    crate::trace::mark("create: state saved, sockets ready");
    // CVE-2019-5736, created-state variant: until `start`, the init runs
    // hull's binary inside the container's namespaces. Non-dumpable from
    // birth (clone inherits the flag, so there is no window), no process of
    // the container, nor of a pod sharing its pid namespace, can open its
    // /proc/<pid>/exe or its descriptors. An unprivileged parent must write
    // the child's id maps through the child's /proc files, which a
    // non-dumpable child's would refuse: that child drops it itself once
    // the maps are written (see process::init).
    if sys::is_root() {
        sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).map_err(sys_err("make hull non-dumpable"))?;
    }
    // In a user namespace the init could not lower its own OOM score (that
    // takes CAP_SYS_RESOURCE in the host's): the parent writes it.
    let oom_by_parent = plans.process.oom_score_adj.is_some()
        && (plans.ns.new_user || plans.ns.joins.iter().any(|j| j.kind == LinuxNamespaceType::User));
    let forked = sys::clone3(plans.ns.clone_flags.bits() as u64, cg.as_deref().and_then(|c| c.clone_into()));
    let forked = forked.map_err(|errno| {
        if plans.ns.new_user && !sys::is_root() && matches!(errno, Errno::EPERM | Errno::ENOSPC | Errno::EUSERS) {
            ContainerError::Usage(format!(
                "clone3 the container init: {errno}: this kernel does not let unprivileged users make user namespaces \
                 (see /proc/sys/kernel/unprivileged_userns_clone and /proc/sys/user/max_user_namespaces)"
            ))
        } else {
            sys_err("clone3 the container init")(errno)
        }
    });
    let (mut pid, mut pidfd) = match forked? {
        Forked::Child => {
            // The flock belongs to the open file, which the init shares until
            // it closes its copy: keep it and `start` would wait forever.
            drop(dir_lock);
            drop(parent_chan);
            crate::trace::mark("init: cloned");
            if let Some(k) = &keyring {
                // Not fatal where the kernel has no keyrings (ENOSYS) or refuses (EACCES, EPERM).
                let _ = sys::join_session_keyring(k);
            }
            crate::trace::mark("init: keyring");
            let mut process = plans.process.clone();
            if oom_by_parent {
                process.oom_score_adj = None;
            }
            let cfg = InitConfig {
                namespaces: &plans.ns,
                rootfs: plans.rootfs.as_ref(),
                process,
                hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
                domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
                sysctl,
                runtime_hooks,
                create_container_hooks: hooks_spec.and_then(|h| h.create_container().clone()).unwrap_or_default(),
                start_container_hooks: hooks_spec.and_then(|h| h.start_container().clone()).unwrap_or_default(),
                hook_state: hook_state_json,
                start_listener: listener.as_ref(),
                preserve_fds: opts.preserve_fds,
                console_socket: console_child.as_ref(),
                cgroup_join: cg.as_deref().filter(|_| !cgroup_first && !plans.ns.new_user),
                request_net_devices: !net_devices.is_empty() && netdev::moved_on_request(&plans.ns),
            };
            init::run(cfg, child_chan);
        }
        Forked::Parent { pid, pidfd } => {
            // Only the parent goes back; the child stays in the new time namespace.
            namespaces::NamespacePlan::leave_parent_side(own_time);
            (pid, pidfd)
        }
    };
    crate::trace::mark("create: clone3 returned");
    drop(child_chan);
    drop(console_child);
    drop(listener);
    let mut chan = parent_chan;
    let pidfd_raw = pidfd.as_raw_fd();
    cleanup.child = Some((pid, sys::borrow(pidfd_raw)));

    if oom_by_parent {
        let proc = crate::procfs::ProcFs::open().map_err(crate::process::ProcessError::from)?;
        plans.process.set_oom_score_adj(&proc, &format!("{pid}/oom_score_adj"))?;
    }
    if plans.ns.user_by_unshare {
        // The child joins its namespaces first, then makes its user namespace.
        chan.expect("UserNs", &Message::UserNs).map_err(|e| match e {
            SyncError::Unexpected { got: Message::Error { message, errno }, .. } => {
                ContainerError::Init { message, errno }
            }
            e => e.into(),
        })?;
    }
    if plans.ns.new_user {
        let linux = linux.expect("a user namespace comes from linux.namespaces");
        namespaces::write_id_maps(
            pid,
            linux.uid_mappings().as_deref().unwrap_or(&[]),
            linux.gid_mappings().as_deref().unwrap_or(&[]),
        )?;
    }
    if !cgroup_first {
        setup_cgroup(Some(pid))?;
        if let Some(cg) = cg.as_ref().filter(|_| plans.ns.new_user) {
            // The child's root is not root on the host: it cannot write the
            // host's cgroup files, so the parent moves it.
            cg.add_process(pid)?;
        }
    }
    if !net_devices.is_empty() && !netdev::moved_on_request(&plans.ns) {
        // The init is in its network namespace (or will join the one named
        // by path): the devices are there before its sysctls and hooks.
        netdev::move_into_container(&net_devices, &plans.ns, pid)?;
        crate::trace::mark("create: network devices moved");
    }
    if let Err(e) = chan.send(&Message::Go) {
        // The init may have failed before it waited for Go: its error is
        // what to report, not our send into the closed channel.
        return Err(match chan.recv() {
            Ok(Message::Error { message, errno }) => ContainerError::Init { message, errno },
            _ => e.into(),
        });
    }
    crate::trace::mark("create: maps written, cgroup joined");
    st.pid = pid;
    loop {
        match chan.recv() {
            Ok(Message::RunHooks) => {
                let hs = hook_state(&st, "creating");
                if let Some(h) = hooks_spec {
                    hooks::run_all(h.prestart().as_ref(), &hs, "prestart")?;
                    hooks::run_all(h.create_runtime().as_ref(), &hs, "createRuntime")?;
                }
                chan.send(&Message::HooksDone)?;
            }
            Ok(Message::MoveNetDevices) => {
                // Sent before any second fork: `pid` is still the child that unshared the namespace.
                netdev::move_into_container(&net_devices, &plans.ns, pid)?;
                chan.send(&Message::NetDevicesMoved)?;
            }
            Ok(Message::Pid(p)) => {
                // The real init is a grandchild (second fork).
                pid = p;
                st.pid = p;
                let fd = sys::pidfd_open(p).map_err(sys_err("open the init's pidfd"))?;
                pidfd = fd;
                cleanup.child = None;
            }
            Ok(Message::SeccompListener) => {
                // A NOTIFY profile: the init loaded its filter before Ready,
                // so that the agent has the listener while the container is
                // created (as with runc), and the state it gets says so.
                let fd = chan.take_fd().ok_or_else(|| ContainerError::Init {
                    message: "seccomp listener message without a descriptor".into(),
                    errno: 0,
                })?;
                if let Some(l) = &st.seccomp_listener {
                    l.forward(&fd, st.pid, &hook_state(&st, "creating"))?;
                }
            }
            Ok(Message::Ready) => break,
            Ok(Message::Error { message, errno }) => return Err(ContainerError::Init { message, errno }),
            Ok(other) => return Err(SyncError::Unexpected { expected: "Ready", got: other }.into()),
            Err(SyncError::Closed) => {
                return Err(ContainerError::Init {
                    message: "the container init exited during setup".into(),
                    errno: 0,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    // The init sent the pty master before Ready. Relaying our own terminal,
    // give it our window size before the program starts.
    let console = match &console_parent {
        Some(cp) => {
            let master = terminal::recv_fd(cp.as_raw_fd())?;
            if let Ok((rows, cols)) = sys::get_winsize(0) {
                let _ = sys::set_winsize(master.as_raw_fd(), rows, cols);
            }
            Some(master)
        }
        None => None,
    };
    crate::trace::mark("create: init ready");
    // The init goes on only once the state names its pid: a create killed
    // before that leaves an init that exits when the channel closes, never
    // one that `delete` cannot find.
    st.init_start_time = state::proc_stat(pid).map(|s| s.start_time).unwrap_or(0);
    st.status = Status::Created;
    if let Some((rootfs, before)) = &cleanup.host_mounts {
        st.host_mounts = crate::rootfs::host_mounts_since(rootfs, before);
    }
    state::save(&dir, &st)?;
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid)?;
    }
    chan.send(match mode {
        Mode::Create => &Message::WaitForStart,
        Mode::Run => &Message::Start,
    })?;
    crate::trace::mark("create: state saved");
    if mode == Mode::Run {
        // Running is read off the process (no start.sock): no save needed.
        wait_for_exec(&mut chan, &st, st.pid, st.poststart_hooks.is_some())?;
        crate::trace::mark("create: program started");
    }
    cleanup.armed = false;
    drop(cleanup);
    drop(dir_lock);
    Ok(Created { pid, pidfd, dir, state: st, console })
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
            Ok(Message::SeccompListener) => {
                let fd = chan.take_fd().ok_or_else(|| ContainerError::Init {
                    message: "seccomp listener message without a descriptor".into(),
                    errno: 0,
                })?;
                if let Some(l) = &st.seccomp_listener {
                    l.forward(&fd, process_pid, &st.oci_json(Status::Running))?;
                }
            }
            Ok(Message::Error { message, errno }) => return Err(ContainerError::Init { message, errno }),
            Ok(other) => return Err(SyncError::Unexpected { expected: "exec", got: other }.into()),
            Err(e) => return Err(e.into()),
        }
    }
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
