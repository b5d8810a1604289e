//! `restore`: a container made again from a CRIU checkpoint, as runc's
//! Restore does it. hull claims the id and makes the cgroup (as `create`
//! would), binds the rootfs where CRIU wants a root (a mount point whose
//! parent is not overmounted), makes the mount points the image's mounts
//! need, starts `criu swrk`, moves it into the container's cgroup, and asks
//! for the restore with the external mounts mapped to this host's paths
//! and the namespaces joined by path handed over. CRIU's notifications run
//! the prestart and createRuntime hooks (`setup-namespaces`), name the new
//! init (`post-restore`) and carry the new pty master (`orphan-pts-master`,
//! sent on over `--console-socket`). Afterwards the container is an
//! ordinary one: `state` says running, and exec, kill, pause and delete
//! work on it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Spec};

use super::checkpoint::{
    base_opts, bind_mounts, cgroup_v1_binds, criu_failure, destination_in_root, device_paths, ext_mount,
    external_ns_key, find_criu, has_ns, ns_path, open_dir, open_rootfs, usage, CriuOptions, DESCRIPTORS_FILE,
};
use super::create::{cgroup_for, Cleanup, CreateOptions};
use super::{hook_state, write_pid_file, ContainerError};
use crate::cgroups::{self, CgroupManager, CgroupState};
use crate::criu::{rpc, Criu, CriuError, CriuStdio};
use crate::rootfs::{Create, MountEntry};
use crate::spec;
use crate::state::{self, ContainerState, Status};
use crate::{hooks, sys, terminal};

/// Flags of `restore` beyond the checkpoint ones.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub root: PathBuf,
    pub criu: CriuOptions,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_subreaper: bool,
    /// Accepted as runc accepts it: CRIU restores the mount namespace itself.
    pub no_pivot: bool,
    pub systemd_cgroup: bool,
}

/// The rootfs bound where CRIU wants its root, unbound on drop. It lives
/// beside the state directory, never in it: a failed restore removes that
/// directory recursively, which must never reach into the rootfs.
struct CriuRoot {
    path: PathBuf,
    mounted: bool,
    /// Temporary binds of bind-mount sources (see `make_mount_points`).
    binds: Vec<PathBuf>,
}

impl CriuRoot {
    fn unbind_sources(&mut self) {
        for p in self.binds.drain(..).rev() {
            let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

impl Drop for CriuRoot {
    fn drop(&mut self) {
        self.unbind_sources();
        if self.mounted {
            let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

impl CriuRoot {
    /// Binds `rootfs` at `path` and makes the mount points there.
    fn bind(path: &Path, rootfs: &Path, mounts: &[MountEntry]) -> Result<CriuRoot, ContainerError> {
        let _ = std::fs::remove_dir(path);
        std::fs::create_dir(path).map_err(|e| usage(format!("mkdir {}: {e}", path.display())))?;
        let mut root = CriuRoot { path: path.to_path_buf(), mounted: false, binds: Vec::new() };
        nix::mount::mount(Some(rootfs), path, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .map_err(super::sys_err(format!("bind the rootfs {} for CRIU", rootfs.display())))?;
        root.mounted = true;
        make_mount_points(&mut root, mounts)?;
        Ok(root)
    }
}

fn is_on_tmpfs(dest: &Path, mounts: &[MountEntry]) -> bool {
    mounts.iter().any(|m| m.fstype == "tmpfs" && dest != m.destination && dest.starts_with(&m.destination))
}

/// Makes the mount points config.json's mounts need in the rootfs, as
/// create would (runc does the same, read-only rootfs or not): CRIU
/// restores mounts onto existing points. Bind sources are bound there for
/// the time being, so that the points of mounts nested in them are made in
/// the source. Points on a tmpfs come back with the tmpfs's content;
/// cgroup mounts come with /sys.
fn make_mount_points(root: &mut CriuRoot, mounts: &[MountEntry]) -> Result<(), ContainerError> {
    let rootfd = open_rootfs(&root.path)?;
    for m in mounts {
        if m.fstype == "cgroup" || m.fstype == "cgroup2" || is_on_tmpfs(&m.destination, mounts) {
            continue;
        }
        let file = m.bind && m.source.as_ref().is_some_and(|s| s.metadata().is_ok_and(|md| !md.is_dir()));
        let create = if file { Create::File } else { Create::Dir };
        crate::rootfs::resolve_in_root(&rootfd, &m.destination, create)?;
        if let (true, Some(src)) = (m.bind, &m.source) {
            let at = root.path.join(destination_in_root(&rootfd, &root.path, &m.destination).trim_start_matches('/'));
            nix::mount::mount(Some(src.as_path()), &at, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
                .map_err(super::sys_err(format!("bind {} for CRIU's mount points", src.display())))?;
            root.binds.push(at);
        }
    }
    root.unbind_sources();
    Ok(())
}

/// Which namespace CRIU joins by path (`join_ns`), by its name in CRIU.
fn join_name(kind: LinuxNamespaceType) -> Option<&'static str> {
    Some(match kind {
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Time => "time",
        _ => return None,
    })
}

/// The options of the namespaces config.json names by path: network and
/// pid are CRIU's external namespaces (their files handed over as
/// descriptors), the others joined; mount and cgroup cannot be.
fn namespaces_by_path(spec: &Spec, o: &mut rpc::Criu_opts, inherit: &mut Vec<OwnedFd>) -> Result<(), ContainerError> {
    let list = spec.linux().as_ref().and_then(|l| l.namespaces().clone()).unwrap_or_default();
    for ns in list {
        let Some(path) = ns.path().as_ref().filter(|p| !p.as_os_str().is_empty()) else { continue };
        let kind = ns.typ();
        match kind {
            LinuxNamespaceType::Network | LinuxNamespaceType::Pid => {
                let f = std::fs::File::open(path)
                    .map_err(|e| usage(format!("namespace {} ({kind}) to restore into: {e}", path.display())))?;
                let mut m = rpc::Inherit_fd::new();
                m.set_key(external_ns_key(kind).into());
                // criu's descriptor: 3 is the socket, the inherited ones follow.
                m.set_fd(4 + inherit.len() as i32);
                o.inherit_fd.push(m);
                inherit.push(f.into());
            }
            _ => match join_name(kind) {
                Some(name) => {
                    let mut j = rpc::Join_namespace::new();
                    j.set_ns(name.into());
                    j.set_ns_file(path.display().to_string());
                    o.join_ns.push(j);
                }
                None => {
                    return Err(usage(format!(
                        "linux.namespaces: CRIU cannot restore into a {kind} namespace given by path ({})",
                        path.display()
                    )))
                }
            },
        }
    }
    Ok(())
}

/// `cg_root`s telling CRIU that the checkpoint's cgroup is now the one criu
/// itself was just moved into (the new container's), per controller as
/// /proc/<criu>/cgroup names them (runc's way); on cgroup v2 one root for all.
fn cgroup_roots(criu_pid: i32) -> Vec<rpc::Cgroup_root> {
    let text = std::fs::read_to_string(format!("/proc/{criu_pid}/cgroup")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        if ctrls.is_empty() {
            let mut r = rpc::Cgroup_root::new();
            r.set_path(path.into());
            out.push(r);
            continue;
        }
        for c in ctrls.split(',') {
            let mut r = rpc::Cgroup_root::new();
            r.set_ctrl(c.into());
            r.set_path(path.into());
            out.push(r);
        }
    }
    // A hybrid host's cgroup2 line comes last: the global root must not
    // shadow the v1 controllers' (CRIU takes one without a name for all).
    if out.iter().any(|r| r.has_ctrl()) {
        out.retain(|r| r.has_ctrl());
    }
    out
}

/// What the notifications brought.
#[derive(Default)]
struct Restored {
    pid: Option<i32>,
    console: Option<OwnedFd>,
}

/// What restore reads before it makes anything.
struct Prepared {
    spec: Spec,
    rootfs: PathBuf,
    criu: Criu,
    images: std::fs::File,
    descriptors: Vec<String>,
    work: Option<std::fs::File>,
    log: PathBuf,
    console_sock: Option<OwnedFd>,
}

const LOG: &str = "restore.log";

/// config.json, runc's console-socket rules, criu, the images.
fn prepare(opts: &RestoreOptions, what: &str) -> Result<Prepared, ContainerError> {
    let spec::Config { spec, .. } = spec::load_config(&opts.bundle)?;
    spec::validate(&spec, &opts.bundle)?;
    let rootfs = spec::rootfs_path(&spec, &opts.bundle)?;
    let rootfs = std::fs::canonicalize(&rootfs).unwrap_or(rootfs);
    let terminal = spec.process().as_ref().and_then(|p| p.terminal()).unwrap_or(false);
    if opts.detach && terminal && opts.console_socket.is_none() {
        return Err(usage(format!(
            "{what}: process.terminal is true but no --console-socket was given: a detached container needs one to hand the terminal to"
        )));
    }
    if (!opts.detach || !terminal) && opts.console_socket.is_some() {
        return Err(usage(format!("{what}: --console-socket is for a detached container with process.terminal")));
    }
    let (console_sock, _) =
        terminal::console_sockets(terminal && opts.console_socket.is_some(), opts.console_socket.as_deref())?;
    let (criu, version) = find_criu(what)?;
    for (flag, value) in
        [("--lsm-profile", &opts.criu.lsm_profile), ("--lsm-mount-context", &opts.criu.lsm_mount_context)]
    {
        if value.is_some() && version.0 < 31600 {
            return Err(usage(format!("{what}: {flag} needs CRIU 3.16 or later (this is {version})")));
        }
    }
    let (images, _) = open_dir(&opts.criu.image_path, "--image-path", false)?;
    if !opts.criu.image_path.join("inventory.img").exists() {
        return Err(usage(format!(
            "{what}: {} holds no checkpoint (no inventory.img)",
            opts.criu.image_path.display()
        )));
    }
    let path = opts.criu.image_path.join(DESCRIPTORS_FILE);
    let descriptors: Vec<String> = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_slice(&t).map_err(|e| e.to_string()))
        .map_err(|e| usage(format!("{what}: {}: {e}", path.display())))?;
    let work = match &opts.criu.work_path {
        Some(w) => Some(open_dir(w, "--work-path", true)?.0),
        None => None,
    };
    let log = opts.criu.work_path.as_ref().unwrap_or(&opts.criu.image_path).join(LOG);
    Ok(Prepared { spec, rootfs, criu, images, descriptors, work, log, console_sock })
}

/// The RESTORE request's options: the root, the external mounts mapped to
/// this host's sources, namespaces by path, the checkpointed init's pipes.
/// Returns the descriptors criu must get (namespace files).
fn restore_opts(
    opts: &RestoreOptions,
    p: &Prepared,
    criu_root: &Path,
    cg: Option<&CgroupState>,
) -> Result<(rpc::Criu_opts, Vec<OwnedFd>), ContainerError> {
    let mut o = base_opts(&opts.criu, &p.spec, &p.images, p.work.as_ref(), LOG)?;
    o.set_evasive_devices(true);
    o.set_rst_sibling(true);
    o.set_root(criu_root.display().to_string());
    if let Some(v) = &opts.criu.lsm_profile {
        o.set_lsm_profile(v.clone());
    }
    if let Some(v) = &opts.criu.lsm_mount_context {
        o.set_lsm_mount_context(v.clone());
    }
    let mut inherit: Vec<OwnedFd> = Vec::new();
    namespaces_by_path(&p.spec, &mut o, &mut inherit)?;
    let rootfd = open_rootfs(&p.rootfs)?;
    for m in bind_mounts(&p.spec, &opts.bundle) {
        let Some(src) = &m.source else { continue };
        o.ext_mnt.push(ext_mount(destination_in_root(&rootfd, &p.rootfs, &m.destination), src.display().to_string()));
    }
    for (dest, dir) in cgroup_v1_binds(&p.spec, cg) {
        o.ext_mnt.push(ext_mount(dest, dir.display().to_string()));
    }
    if p.spec.linux().as_ref().and_then(|l| l.masked_paths().as_ref()).is_some_and(|m| !m.is_empty()) {
        o.ext_mnt.push(ext_mount("/dev/null", "/dev/null"));
    }
    for d in device_paths(&p.spec) {
        let d = d.display().to_string();
        o.ext_mnt.push(ext_mount(d.clone(), d));
    }
    // The checkpointed init's pipes (stdin, stdout, stderr) become ours:
    // criu's descriptors 0-2 are hull's (runc hands its stdio on the same way).
    for (i, d) in p.descriptors.iter().enumerate().take(3) {
        if d.starts_with("pipe:") {
            let mut m = rpc::Inherit_fd::new();
            m.set_key(d.clone());
            m.set_fd(i as i32);
            o.inherit_fd.push(m);
        }
    }
    Ok((o, inherit))
}

/// Starts criu, makes the container's cgroup around it (a systemd scope is
/// born with its first process: criu's), names that cgroup the
/// checkpoint's, and asks for the restore; the notifications run the hooks,
/// name the new init and carry its pty master.
fn run_criu(
    p: &Prepared,
    mut o: rpc::Criu_opts,
    inherit: &[OwnedFd],
    cg: Option<&dyn CgroupManager>,
    resources: &Option<LinuxResources>,
    st: &ContainerState,
) -> Result<(Restored, rpc::Criu_resp), CriuError> {
    let borrowed: Vec<BorrowedFd<'_>> = inherit.iter().map(|f| f.as_fd()).collect();
    let mut session = p.criu.start(&borrowed, CriuStdio::Inherit)?;
    if let Some(cg) = cg {
        let placed = cg.setup(Some(session.pid()), resources.as_ref()).and_then(|_| cg.add_process(session.pid()));
        placed.map_err(|e| CriuError::Notify(format!("the container's cgroup: {e}")))?;
        o.cg_root = cgroup_roots(session.pid());
    }
    let mut req = rpc::Criu_req::new();
    req.set_type(rpc::Criu_req_type::RESTORE);
    req.opts = protobuf::MessageField::some(o);
    let hooks = p.spec.hooks().clone();
    let mut got = Restored::default();
    let answer = session.request(&req, &mut |n, fd| {
        match n.script() {
            "setup-namespaces" => {
                // runc runs these here, with the new init's pid.
                let mut s = st.clone();
                s.pid = n.pid();
                let hs = hook_state(&s, "creating");
                if let Some(h) = &hooks {
                    hooks::run_all(h.prestart().as_ref(), &hs, "prestart").map_err(|e| e.to_string())?;
                    hooks::run_all(h.create_runtime().as_ref(), &hs, "createRuntime").map_err(|e| e.to_string())?;
                }
            }
            "post-restore" => got.pid = Some(n.pid()),
            "orphan-pts-master" => {
                let master = fd.ok_or("orphan-pts-master: no descriptor came with it")?;
                match &p.console_sock {
                    Some(sock) => terminal::send_fd(sock.as_raw_fd(), master.as_raw_fd(), b"/dev/ptmx")
                        .map_err(|e| format!("send the restored terminal to --console-socket: {e}"))?,
                    None => got.console = Some(master),
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    let _ = session.finish();
    Ok((got, answer))
}

/// `restore`: the container `opts.id` from the images in `--image-path`.
/// Returns 0 (detached) or, in the foreground, the container's exit code.
pub fn restore(opts: &RestoreOptions) -> Result<i32, ContainerError> {
    cgroups::check_systemd_flag(opts.systemd_cgroup)?;
    let what = format!("restore {}", opts.id);
    if !sys::is_root() {
        return Err(usage(format!("{what}: CRIU restores containers as root only")));
    }
    // runc works in the bundle: the hooks start there.
    std::env::set_current_dir(&opts.bundle).map_err(|e| ContainerError::Sys {
        op: format!("chdir to the bundle {}", opts.bundle.display()),
        errno: sys::io_errno(&e),
    })?;
    let (dir, dir_lock) = state::claim_dir(&opts.root, &opts.id)?;
    // Declared before the cleanup, dropped after it: the cleanup signals
    // the restored init through it.
    let pidfd: OwnedFd;
    let mut cleanup = Cleanup { dir: &dir, cgroup: None, child: None, host_mounts: None, armed: true };
    let p = prepare(opts, &what)?;
    let as_create =
        CreateOptions { id: opts.id.clone(), systemd_cgroup: opts.systemd_cgroup, ..CreateOptions::default() };
    let (cg, resources) = cgroup_for(&p.spec, &as_create)?;
    cleanup.cgroup = cg.as_ref().map(|c| c.state());
    let mut st = super::create::initial_state(&opts.id, &opts.bundle, &p.rootfs, &p.spec, cg.as_deref(), &resources);
    st.own_pid_ns = has_ns(&p.spec, LinuxNamespaceType::Pid) && ns_path(&p.spec, LinuxNamespaceType::Pid).is_none();
    // As create: a restore killed half-way is found by `delete --force`.
    state::save(&dir, &st)?;

    let mounts: Vec<MountEntry> =
        p.spec.mounts().iter().flatten().map(|m| MountEntry::parse(m, &opts.bundle)).collect();
    let criu_root = CriuRoot::bind(&opts.root.join(format!("criu-root@{}", opts.id)), &p.rootfs, &mounts)?;
    let (o, inherit) = restore_opts(opts, &p, &criu_root.path, st.cgroup.as_ref())?;
    if !opts.no_subreaper {
        let _ = sys::set_child_subreaper();
    }
    let forwarded = if opts.detach { nix::sys::signal::SigSet::empty() } else { super::block_forwarded_signals()? };
    let (got, answer) = run_criu(&p, o, &inherit, cg.as_deref(), &resources, &st)
        .map_err(|e| criu_failure(&p.criu, &what, e, &p.log))?;
    let pid = got.pid.unwrap_or_else(|| answer.restore.pid());
    pidfd = sys::pidfd_open(pid).map_err(super::sys_err(format!("open the restored init {pid}")))?;
    cleanup.child = Some((pid, sys::borrow(pidfd.as_raw_fd())));
    drop(criu_root);

    st.pid = pid;
    st.init_start_time = state::proc_stat(pid).map(|s| s.start_time).unwrap_or(0);
    st.status = Status::Running;
    st.cgroup = cg.as_ref().map(|c| c.state());
    state::save(&dir, &st)?;
    if let Some(f) = &opts.pid_file {
        write_pid_file(f, pid)?;
    }
    cleanup.armed = false;
    drop(cleanup);
    drop(dir_lock);
    if opts.detach {
        return Ok(0);
    }
    // In the foreground, as `run`: wait, pass signals on, relay the
    // terminal, and delete the container once it exits (runc does).
    let code = super::foreground(&pidfd, got.console.as_ref(), &forwarded)?;
    super::delete(&opts.root, &opts.id, true)?;
    Ok(code)
}
