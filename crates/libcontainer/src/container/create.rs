//! `create`: the parent side of making a container, from config.json to an
//! init waiting for `start` (or, for `run`, on its way to execve). The child
//! side is process::init.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxNamespaceType, LinuxResources, Spec};

use super::{forward_listener, hook_state, io_errno, sys_err, wait_for_exec, write_pid_file, ContainerError};
use crate::cgroups::{self, CgroupError, CgroupManager};
use crate::hooks;
use crate::namespaces;
use crate::netdev;
use crate::process::init::{self, InitConfig};
use crate::process::sync::{Channel, Message, SyncError};
use crate::process::{ProcessError, ProcessPlan};
use crate::rootfs::{self, DeviceEntry, MountEntry, RootfsPlan};
use crate::seccomp;
use crate::spec::{self, SpecError};
use crate::state::{self, ContainerState, Status};
use crate::sys::{self, Forked};
use crate::terminal;

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

/// Undoes a half-made container when `create` (or `restore`) fails.
pub(super) struct Cleanup<'a> {
    pub(super) dir: &'a Path,
    pub(super) cgroup: Option<cgroups::CgroupState>,
    pub(super) child: Option<(i32, BorrowedFd<'a>)>,
    /// Sharing the host's mount namespace: the rootfs as mountinfo shows it,
    /// and the ids of the mounts that were there before.
    pub(super) host_mounts: Option<(PathBuf, Vec<u64>)>,
    pub(super) armed: bool,
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

pub(crate) fn start_socket_path(dir_fd: &impl AsRawFd) -> PathBuf {
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
                    (m.idmap.is_some() || (m.bind && in_userns))
                        .then(|| rootfs::mounts::parent_tree(m, root_propagation, &mut userns))
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
/// made by a privileged parent, on bind mounts and tmpfs.
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
        if !m.bind && m.fstype != "tmpfs" {
            return Err(refuse("idmapped mounts are supported on bind and tmpfs mounts").into());
        }
        if m.copy_up {
            return Err(refuse("tmpcopyup and idmap together are not supported").into());
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

/// `create` (Mode::Create) and the first half of `run` (Mode::Run), as named
/// steps: load and check config.json, claim the state directory, set up the
/// cgroup, plan everything, clone the init, let it go (maps, cgroup,
/// devices), serve it until it is ready, save the state.
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
    let config = load(opts, mode)?;
    crate::trace::mark("create: config loaded and validated");
    let (cg, resources) = cgroup_for(&config.spec, opts)?;
    cleanup.cgroup = cg.as_ref().map(|c| c.state());
    let mut st = initial_state(&opts.id, &opts.bundle, &config.rootfs_path, &config.spec, cg.as_deref(), &resources);
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
        setup_cgroup(cg.as_deref(), None, &resources)?;
    } else if let Some(cg) = &cg {
        cg.open_for_clone(true)?;
    }
    crate::trace::mark("create: cgroup manager ready");
    let plans = build_plans(&config.spec, &config.mount_id_maps, opts, &config.rootfs_path, cg.as_deref())?;
    let net_devices = netdev::from_spec(&config.spec);
    if !net_devices.is_empty() {
        netdev::check_host(&net_devices, &plans.ns)?;
    }
    crate::trace::mark("create: plans built");
    if plans.rootfs.as_ref().is_some_and(|r| !r.new_mount_ns) {
        let rootfs = std::fs::canonicalize(&config.rootfs_path).unwrap_or_else(|_| config.rootfs_path.clone());
        let before = crate::rootfs::mounts_at_or_below(&rootfs).into_iter().map(|(id, _)| id).collect();
        cleanup.host_mounts = Some((rootfs, before));
    }
    st.own_pid_ns = plans.ns.new_pid;
    st.seccomp_listener = plans.process.seccomp.as_ref().and_then(|f| f.listener.clone());

    let mut sockets = Sockets::open(mode, config.terminal, opts, &dir_lock)?;
    let child = Child {
        opts,
        config: &config,
        plans: &plans,
        cg: cg.as_deref(),
        cgroup_first,
        net_devices: &net_devices,
        hook_state: hook_state(&st, "creating"),
    };
    let (pid, pidfd) = child.clone_init(&mut sockets, &dir_lock, mode)?;
    crate::trace::mark("create: clone3 returned");
    let (mut chan, console_parent) = sockets.parent_side();
    cleanup.child = Some((pid, sys::borrow(pidfd.as_raw_fd())));
    child.let_go(&mut chan, pid, &resources)?;
    crate::trace::mark("create: maps written, cgroup joined");
    st.pid = pid;
    let (pid, pidfd) = match serve_until_ready(&mut chan, &mut st, &config, &net_devices, &plans, (pid, pidfd))? {
        Served::Same(pid, pidfd) => (pid, pidfd),
        Served::Grandchild(pid, pidfd) => {
            // The real init is a grandchild (second fork): the child we
            // cloned has exited on its own.
            cleanup.child = None;
            (pid, pidfd)
        }
    };
    let console = console_parent.as_ref().map(receive_console).transpose()?;
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

/// config.json, loaded and checked, with what `create` reads off it first.
struct Loaded {
    spec: Spec,
    mount_id_maps: Vec<Option<spec::MountIdMaps>>,
    rootfs_path: PathBuf,
    terminal: bool,
}

fn load(opts: &CreateOptions, mode: Mode) -> Result<Loaded, ContainerError> {
    let spec::Config { mut spec, mount_id_maps } = spec::load_config(&opts.bundle)?;
    if !sys::is_root() {
        spec::add_implicit_user_namespace(&mut spec);
    }
    spec::validate(&spec, &opts.bundle)?;
    let rootfs_path = spec::rootfs_path(&spec, &opts.bundle)?;
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if terminal && opts.console_socket.is_none() && mode == Mode::Create {
        return Err(ContainerError::Usage(
            "process.terminal is true but no --console-socket was given: a detached container needs one to hand the terminal to".into(),
        ));
    }
    Ok(Loaded { spec, mount_id_maps, rootfs_path, terminal })
}

/// The container's cgroup manager (none for a rootless container without a
/// delegated cgroup) and the resources to write: config.json's, with
/// runc's device policy.
pub(super) type CgroupAndResources = (Option<Box<dyn CgroupManager>>, Option<LinuxResources>);

pub(super) fn cgroup_for(spec: &Spec, opts: &CreateOptions) -> Result<CgroupAndResources, ContainerError> {
    let linux = spec.linux().as_ref();
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
    if !rootless {
        let mut res = config_resources.cloned().unwrap_or_default();
        res.set_devices(Some(device_policy(res.devices().as_deref())));
        return Ok((Some(manager), Some(res)));
    }
    // Device access is the user namespace's business without privilege (as runc).
    let resources = config_resources.map(|res| {
        let mut res = res.clone();
        res.set_devices(None);
        res
    });
    // Rootless: use a cgroup only where one was delegated to the caller;
    // without one, run unlimited — unless config.json asks for limits.
    match manager.create() {
        Ok(()) => Ok((Some(manager), resources)),
        Err(e) if e.is_permission_denied() => {
            if resources.as_ref().is_some_and(cgroups::asks_for_limits) {
                return Err(ContainerError::Usage(format!(
                    "rootless: {e}: the limits in linux.resources need a cgroup delegated to uid {} (chown a cgroup v2 subtree to it and point linux.cgroupsPath there)",
                    nix::unistd::geteuid()
                )));
            }
            crate::trace::mark("create: rootless, no delegated cgroup: running without one");
            Ok((None, resources))
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes the cgroup and writes the limits; `init`: the child, once cloned
/// (systemd makes a scope around it).
fn setup_cgroup(
    cg: Option<&dyn CgroupManager>,
    init: Option<i32>,
    resources: &Option<LinuxResources>,
) -> Result<(), ContainerError> {
    if let Some(cg) = cg {
        cg.setup(init, resources.as_ref())?;
    }
    Ok(())
}

/// The state as saved before anything runs (status `creating`); restore's
/// too, before CRIU runs.
pub(super) fn initial_state(
    id: &str,
    bundle: &Path,
    rootfs: &Path,
    spec: &Spec,
    cg: Option<&dyn CgroupManager>,
    resources: &Option<LinuxResources>,
) -> ContainerState {
    let hooks = spec.hooks().as_ref();
    ContainerState {
        oci_version: state::OCI_VERSION.to_string(),
        id: id.to_string(),
        status: Status::Creating,
        pid: 0,
        init_start_time: 0,
        bundle: bundle.to_path_buf(),
        rootfs: rootfs.to_path_buf(),
        created: state::now_rfc3339(),
        owner: String::new(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: cg.map(|c| c.state()),
        own_pid_ns: false,
        paused: false,
        poststart_hooks: hooks.and_then(|h| h.poststart().clone()),
        poststop_hooks: hooks.and_then(|h| h.poststop().clone()),
        seccomp_listener: None,
        host_mounts: Vec::new(),
        resources: resources.clone(),
    }
}

/// The descriptors between the parent, the init and the caller: start.sock
/// (create), the console socket or pair, the sync channel.
struct Sockets {
    listener: Option<OwnedFd>,
    console_child: Option<OwnedFd>,
    console_parent: Option<OwnedFd>,
    parent_chan: Channel,
    child_chan: Option<Channel>,
}

impl Sockets {
    fn open(
        mode: Mode,
        terminal: bool,
        opts: &CreateOptions,
        dir_lock: &std::fs::File,
    ) -> Result<Sockets, ContainerError> {
        // The socket `start` will connect to; the init inherits it.
        let listener = if mode == Mode::Create {
            let l = socket::socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
                .map_err(sys_err("create start.sock"))?;
            let addr = UnixAddr::new(&start_socket_path(dir_lock)).map_err(sys_err("name start.sock"))?;
            socket::bind(l.as_raw_fd(), &addr).map_err(sys_err("bind start.sock"))?;
            socket::listen(&l, socket::Backlog::new(1).unwrap_or(socket::Backlog::MAXCONN))
                .map_err(sys_err("listen on start.sock"))?;
            Some(l)
        } else {
            None
        };
        let (console_child, console_parent) = terminal::console_sockets(terminal, opts.console_socket.as_deref())?;
        let (parent_chan, child_chan) = Channel::pair()?;
        Ok(Sockets { listener, console_child, console_parent, parent_chan, child_chan: Some(child_chan) })
    }

    /// After the clone the parent closes the init's ends: the channel then
    /// reads EOF as soon as the init is gone.
    fn parent_side(self) -> (Channel, Option<OwnedFd>) {
        (self.parent_chan, self.console_parent)
    }
}

/// What the parent knows about the init it clones and lets go.
struct Child<'a> {
    opts: &'a CreateOptions,
    config: &'a Loaded,
    plans: &'a Plans,
    cg: Option<&'a dyn CgroupManager>,
    cgroup_first: bool,
    net_devices: &'a [netdev::NetDevice],
    hook_state: serde_json::Value,
}

impl Child<'_> {
    /// In a user namespace the init could not lower its own OOM score (that
    /// takes CAP_SYS_RESOURCE in the host's): the parent writes it.
    fn oom_by_parent(&self) -> bool {
        self.plans.process.oom_score_adj.is_some()
            && (self.plans.ns.new_user || self.plans.ns.joins.iter().any(|j| j.kind == LinuxNamespaceType::User))
    }

    /// clone3 with the planned namespaces (into the cgroup where it exists
    /// already); the child becomes the init and never comes back.
    fn clone_init(
        &self,
        sockets: &mut Sockets,
        dir_lock: &std::fs::File,
        mode: Mode,
    ) -> Result<(i32, OwnedFd), ContainerError> {
        let ns = &self.plans.ns;
        let own_time = ns.enter_parent_side()?;
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
        let forked = sys::clone3(ns.clone_flags.bits() as u64, self.cg.and_then(|c| c.clone_into()));
        let forked = forked.map_err(|errno| {
            if ns.new_user && !sys::is_root() && matches!(errno, Errno::EPERM | Errno::ENOSPC | Errno::EUSERS) {
                ContainerError::Usage(format!(
                    "clone3 the container init: {errno}: this kernel does not let unprivileged users make user namespaces \
                     (see /proc/sys/kernel/unprivileged_userns_clone and /proc/sys/user/max_user_namespaces)"
                ))
            } else {
                sys_err("clone3 the container init")(errno)
            }
        })?;
        match forked {
            Forked::Child => {
                // The flock belongs to the open file, which the init shares until
                // it closes its copy: keep it and `start` would wait forever.
                let _ = nix::unistd::close(dir_lock.as_raw_fd());
                let _ = nix::unistd::close(sockets.parent_chan.as_raw_fd());
                let chan = sockets.child_chan.take().expect("the child's end, taken once");
                self.become_init(sockets, chan)
            }
            Forked::Parent { pid, pidfd } => {
                // Only the parent goes back; the child stays in the new time namespace.
                namespaces::NamespacePlan::leave_parent_side(own_time);
                Ok((pid, pidfd))
            }
        }
    }

    fn become_init(&self, sockets: &Sockets, chan: Channel) -> ! {
        crate::trace::mark("init: cloned");
        if !self.opts.no_new_keyring {
            // Not fatal where the kernel has no keyrings (ENOSYS) or refuses (EACCES, EPERM).
            let _ = sys::join_session_keyring(&sys::cstring(format!("_ses.{}", self.opts.id)));
        }
        crate::trace::mark("init: keyring");
        let spec = &self.config.spec;
        let hooks = spec.hooks().as_ref();
        let mut process = self.plans.process.clone();
        if self.oom_by_parent() {
            process.oom_score_adj = None;
        }
        let runtime_hooks = hooks.is_some_and(|h| {
            h.prestart().as_ref().is_some_and(|v| !v.is_empty())
                || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty())
        });
        let cfg = InitConfig {
            namespaces: &self.plans.ns,
            rootfs: self.plans.rootfs.as_ref(),
            process,
            hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
            domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
            sysctl: spec
                .linux()
                .as_ref()
                .and_then(|l| l.sysctl().as_ref())
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            runtime_hooks,
            create_container_hooks: hooks.and_then(|h| h.create_container().clone()).unwrap_or_default(),
            start_container_hooks: hooks.and_then(|h| h.start_container().clone()).unwrap_or_default(),
            hook_state: self.hook_state.clone(),
            start_listener: sockets.listener.as_ref(),
            preserve_fds: self.opts.preserve_fds,
            console_socket: sockets.console_child.as_ref(),
            cgroup_join: self.cg.filter(|_| !self.cgroup_first && !self.plans.ns.new_user),
            request_net_devices: !self.net_devices.is_empty() && netdev::moved_on_request(&self.plans.ns),
        };
        init::run(cfg, chan)
    }

    /// What the init waits for before it goes on: its OOM score and id maps
    /// (user namespace), its cgroup, its network devices; then `Go`.
    fn let_go(&self, chan: &mut Channel, pid: i32, resources: &Option<LinuxResources>) -> Result<(), ContainerError> {
        let ns = &self.plans.ns;
        if self.oom_by_parent() {
            let proc = crate::procfs::ProcFs::open().map_err(ProcessError::from)?;
            self.plans.process.set_oom_score_adj(&proc, &format!("{pid}/oom_score_adj"))?;
        }
        if ns.user_by_unshare {
            // The child joins its namespaces first, then makes its user namespace.
            chan.expect("UserNs", &Message::UserNs).map_err(|e| match e {
                SyncError::Unexpected { got: Message::Error { message, errno }, .. } => {
                    ContainerError::Init { message, errno }
                }
                e => e.into(),
            })?;
        }
        if ns.new_user {
            let linux = self.config.spec.linux().as_ref().expect("a user namespace comes from linux.namespaces");
            namespaces::write_id_maps(
                pid,
                linux.uid_mappings().as_deref().unwrap_or(&[]),
                linux.gid_mappings().as_deref().unwrap_or(&[]),
            )?;
        }
        if !self.cgroup_first {
            setup_cgroup(self.cg, Some(pid), resources)?;
            if let Some(cg) = self.cg.filter(|_| ns.new_user) {
                // The child's root is not root on the host: it cannot write the
                // host's cgroup files, so the parent moves it.
                cg.add_process(pid)?;
            }
        }
        if !self.net_devices.is_empty() && !netdev::moved_on_request(ns) {
            // The init is in its network namespace (or will join the one named
            // by path): the devices are there before its sysctls and hooks.
            netdev::move_into_container(self.net_devices, ns, pid)?;
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
        Ok(())
    }
}

/// The init as `serve_until_ready` leaves it: the process cloned, or the
/// grandchild a second fork made.
enum Served {
    Same(i32, OwnedFd),
    Grandchild(i32, OwnedFd),
}

/// Answers the init's requests (hooks on the host, network devices, its
/// pid after a second fork, a seccomp listener for its agent) until Ready.
fn serve_until_ready(
    chan: &mut Channel,
    st: &mut ContainerState,
    config: &Loaded,
    net_devices: &[netdev::NetDevice],
    plans: &Plans,
    cloned: (i32, OwnedFd),
) -> Result<Served, ContainerError> {
    let hooks_spec = config.spec.hooks().as_ref();
    let mut served = Served::Same(cloned.0, cloned.1);
    loop {
        match chan.recv() {
            Ok(Message::RunHooks) => {
                let hs = hook_state(st, "creating");
                if let Some(h) = hooks_spec {
                    hooks::run_all(h.prestart().as_ref(), &hs, "prestart")?;
                    hooks::run_all(h.create_runtime().as_ref(), &hs, "createRuntime")?;
                }
                chan.send(&Message::HooksDone)?;
            }
            Ok(Message::MoveNetDevices) => {
                // Sent before any second fork: `pid` is still the child that unshared the namespace.
                netdev::move_into_container(net_devices, &plans.ns, st.pid)?;
                chan.send(&Message::NetDevicesMoved)?;
            }
            Ok(Message::Pid(p)) => {
                st.pid = p;
                let fd = sys::pidfd_open(p).map_err(sys_err("open the init's pidfd"))?;
                served = Served::Grandchild(p, fd);
            }
            // A NOTIFY profile: the init loaded its filter before Ready, so
            // that the agent has the listener while the container is created
            // (as with runc), and the state it gets says so.
            Ok(Message::SeccompListener) => forward_listener(chan, st, st.pid, &hook_state(st, "creating"))?,
            Ok(Message::Ready) => return Ok(served),
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
}

/// The init sent the pty master before Ready. Relaying our own terminal,
/// give it our window size before the program starts.
fn receive_console(console_parent: &OwnedFd) -> Result<OwnedFd, ContainerError> {
    let master = terminal::recv_fd(console_parent.as_raw_fd())?;
    if let Ok((rows, cols)) = sys::get_winsize(0) {
        let _ = sys::set_winsize(master.as_raw_fd(), rows, cols);
    }
    Ok(master)
}
