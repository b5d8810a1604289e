//! `checkpoint`: a running container's processes written to an image
//! directory by CRIU (`criu.rs` drives it), as runc's
//! libcontainer/criu_linux.go does: external bind mounts, masked files and
//! device binds declared by their mount points, a network or pid namespace
//! joined by path declared external, the cgroup frozen by CRIU through its
//! freezer, the container's own pty let go as an orphan master. Without
//! `--leave-running` (or `--pre-dump`) the container is deleted afterwards,
//! as runc destroys it. The flags runc shares with `restore` are
//! [`CriuOptions`]; restore itself is `restore.rs`.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::{live_status, ContainerError};
use crate::cgroups::{self, CgroupState};
use crate::criu::{self, rpc, Criu, CriuError, CriuStdio};
use crate::rootfs::{cgroup_mount::MountView, DeviceEntry, MountEntry};
use crate::state::{self, ContainerState, Status};
use crate::sys;

/// runc's checkpoint/restore flags (`CriuOpts`), as the engines pass them.
#[derive(Debug, Clone, Default)]
pub struct CriuOptions {
    /// `--image-path`: where the images go (checkpoint) or come from (restore).
    pub image_path: PathBuf,
    /// `--work-path`: CRIU's logs (default: the image directory).
    pub work_path: Option<PathBuf>,
    /// `--parent-path`: a previous (pre-)dump, relative to the image directory.
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub tcp_established: bool,
    pub tcp_skip_in_flight: bool,
    pub link_remap: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub pre_dump: bool,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
    /// `--status-fd`: criu writes `\0` there once the lazy-pages server is up.
    pub status_fd: Option<RawFd>,
    /// `--page-server ADDRESS:PORT`.
    pub page_server: Option<(String, i32)>,
    /// `--manage-cgroups-mode soft|full|strict|ignore` (empty: CRIU's default).
    pub manage_cgroups_mode: Option<String>,
    /// `--empty-ns network`.
    pub empty_ns: Vec<String>,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
}

pub(super) fn usage(msg: impl Into<String>) -> ContainerError {
    ContainerError::Usage(msg.into())
}

pub(super) fn cg_mode(mode: Option<&str>) -> Result<rpc::Criu_cg_mode, ContainerError> {
    Ok(match mode.unwrap_or("") {
        "" => rpc::Criu_cg_mode::DEFAULT,
        "soft" => rpc::Criu_cg_mode::SOFT,
        "full" => rpc::Criu_cg_mode::FULL,
        "strict" => rpc::Criu_cg_mode::STRICT,
        "ignore" => rpc::Criu_cg_mode::IGNORE,
        other => return Err(usage(format!("--manage-cgroups-mode {other:?}: use soft, full, strict or ignore"))),
    })
}

/// CRIU's `empty_ns` mask. Network is always in it, as runc has it: hull
/// (like runc) leaves a container's interfaces to whoever made them, and
/// CRIU restores a new network namespace without them.
pub(super) fn empty_ns(names: &[String]) -> Result<u32, ContainerError> {
    let mut mask = libc::CLONE_NEWNET as u32;
    for n in names {
        match n.as_str() {
            "network" => mask |= libc::CLONE_NEWNET as u32,
            other => return Err(usage(format!("--empty-ns {other:?}: only network is supported"))),
        }
    }
    Ok(mask)
}

/// CRIU reads a configuration file given over RPC last, over the request's
/// options: the annotation `org.criu.config` names one ("" for none),
/// else hull's /etc/criu/hull.conf if it exists, else runc's.
pub(super) fn config_file(spec: &Spec) -> Option<String> {
    match spec.annotations().as_ref().and_then(|a| a.get("org.criu.config")) {
        Some(f) if f.is_empty() => None,
        Some(f) => Some(f.clone()),
        None if Path::new("/etc/criu/hull.conf").exists() => Some("/etc/criu/hull.conf".into()),
        None => Some("/etc/criu/runc.conf".into()),
    }
}

/// The key CRIU knows an external namespace by (runc's names).
pub(super) fn external_ns_key(kind: LinuxNamespaceType) -> &'static str {
    match kind {
        LinuxNamespaceType::Pid => "extRootPidNS",
        _ => "extRootNetNS",
    }
}

pub(super) fn ns_path(spec: &Spec, kind: LinuxNamespaceType) -> Option<PathBuf> {
    spec.linux()
        .as_ref()?
        .namespaces()
        .as_ref()?
        .iter()
        .find(|n| n.typ() == kind)
        .and_then(|n| n.path().clone())
        .filter(|p| !p.as_os_str().is_empty())
}

pub(super) fn has_ns(spec: &Spec, kind: LinuxNamespaceType) -> bool {
    spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()).is_some_and(|v| v.iter().any(|n| n.typ() == kind))
}

pub(super) fn ext_mount(key: impl Into<String>, val: impl Into<String>) -> rpc::Ext_mount_map {
    let mut m = rpc::Ext_mount_map::new();
    m.set_key(key.into());
    m.set_val(val.into());
    m
}

/// A mount destination as it resolves inside the rootfs (symlinks in the
/// image followed, never out of it): the name CRIU sees the mount under.
pub(super) fn destination_in_root(root: &OwnedFd, rootfs: &Path, dest: &Path) -> String {
    let resolved = crate::rootfs::resolve_in_root(root, dest, crate::rootfs::Create::Nothing)
        .ok()
        .and_then(|fd| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok())
        .and_then(|p| p.strip_prefix(rootfs).ok().map(|r| Path::new("/").join(r)));
    resolved.unwrap_or_else(|| dest.to_path_buf()).display().to_string()
}

pub(super) fn open_rootfs(rootfs: &Path) -> Result<OwnedFd, ContainerError> {
    let c = sys::cstring(rootfs.as_os_str().as_encoded_bytes());
    sys::openat2(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_DIRECTORY, 0, 0)
        .map_err(super::sys_err(format!("open the rootfs {}", rootfs.display())))
}

/// The bind mounts of config.json (`bind`/`rbind`), parsed as create parses them.
pub(super) fn bind_mounts(spec: &Spec, bundle: &Path) -> Vec<MountEntry> {
    spec.mounts().iter().flatten().map(|m| MountEntry::parse(m, bundle)).filter(|m| m.bind).collect()
}

/// The /dev nodes a container gets (bind-mounted from the host in a user
/// namespace): runc declares them all, mounts or not.
pub(super) fn device_paths(spec: &Spec) -> Vec<PathBuf> {
    let mut devs: Vec<PathBuf> = crate::rootfs::devices::default_devices().into_iter().map(|d| d.path).collect();
    let own = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    devs.extend(own.into_iter().flatten().map(|d| DeviceEntry::from_spec(d).path));
    devs
}

/// On cgroup v1 without a cgroup namespace the container's /sys/fs/cgroup
/// holds binds of its host directories: (mount point in the container,
/// host directory).
pub(super) fn cgroup_v1_binds(spec: &Spec, cg: Option<&CgroupState>) -> Vec<(String, PathBuf)> {
    let Some(cg @ CgroupState::V1 { .. }) = cg else { return Vec::new() };
    if has_ns(spec, LinuxNamespaceType::Cgroup) {
        return Vec::new();
    }
    let Some(m) = spec.mounts().iter().flatten().find(|m| m.typ().as_deref() == Some("cgroup")) else {
        return Vec::new();
    };
    MountView::new(cg, false)
        .v1
        .into_iter()
        .map(|(name, _, dir)| (m.destination().join(name).display().to_string(), dir))
        .collect()
}

/// The request options both directions share.
pub(super) fn base_opts(
    opts: &CriuOptions,
    spec: &Spec,
    images: &std::fs::File,
    work: Option<&std::fs::File>,
    log: &str,
) -> Result<rpc::Criu_opts, ContainerError> {
    let mut o = rpc::Criu_opts::new();
    // CRIU opens these through /proc/<our pid>/fd/<n>: no need to pass them.
    o.set_images_dir_fd(images.as_raw_fd());
    if let Some(w) = work {
        o.set_work_dir_fd(w.as_raw_fd());
    }
    o.set_log_level(4);
    o.set_log_file(log.into());
    o.set_manage_cgroups(true);
    o.set_manage_cgroups_mode(cg_mode(opts.manage_cgroups_mode.as_deref())?);
    o.set_notify_scripts(true);
    o.set_shell_job(opts.shell_job);
    o.set_tcp_established(opts.tcp_established);
    o.set_ext_unix_sk(opts.ext_unix_sk);
    o.set_file_locks(opts.file_locks);
    o.set_empty_ns(empty_ns(&opts.empty_ns)?);
    o.set_orphan_pts_master(true);
    o.set_auto_dedup(opts.auto_dedup);
    o.set_lazy_pages(opts.lazy_pages);
    if let Some(f) = config_file(spec) {
        o.set_config_file(f);
    }
    Ok(o)
}

/// Opens (making it when missing) a directory for CRIU.
pub(super) fn open_dir(path: &Path, what: &str, create: bool) -> Result<(std::fs::File, bool), ContainerError> {
    let made = create && !path.exists();
    if made {
        std::fs::create_dir_all(path).map_err(|e| usage(format!("{what} {}: {e}", path.display())))?;
    }
    let f = std::fs::File::open(path).map_err(|e| usage(format!("{what} {}: {e}", path.display())))?;
    if !f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(usage(format!("{what} {}: not a directory", path.display())));
    }
    Ok((f, made))
}

/// criu from PATH, 3.0 or later (the VERSION request runc relies on).
pub(super) fn find_criu(what: &str) -> Result<(Criu, criu::Version), ContainerError> {
    let criu = Criu::find().map_err(|e| usage(format!("{what}: {e}")))?;
    let version = criu.require(30000, "hull").map_err(|e| usage(format!("{what}: {e}")))?;
    Ok((criu, version))
}

/// One line for a failed CRIU request: CRIU's own first error (from its
/// log), where the log is, and — when criu cannot work here at all — that.
pub(super) fn criu_failure(criu: &Criu, what: &str, err: CriuError, log: &Path) -> ContainerError {
    if let CriuError::Notify(m) = err {
        return usage(format!("{what}: {m}"));
    }
    let errors = criu::log_errors(log);
    let detail = errors.first().cloned().unwrap_or_else(|| err.to_string());
    // Is it the kernel? CRIU says so while it learns the kernel's features
    // (kerndat), or says nothing at all; `criu check` tells (it is slow:
    // only then).
    let kernel_suspect = errors.is_empty() || errors.iter().any(|e| e.contains("kerndat"));
    if let Some(why) = kernel_suspect.then(|| criu.check().err()).flatten() {
        let kernel = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_else(|_| "?".into());
        // `criu check` does not always say why; the log does.
        let why = if why.starts_with("Error") || errors.is_empty() { why } else { detail };
        return usage(format!(
            "{what}: criu cannot work with this kernel ({kernel}): `{} check` fails: {why} (criu log: {})",
            criu.path.display(),
            log.display()
        ));
    }
    usage(format!("{what}: {detail} (criu log: {})", log.display()))
}

/// What was in the image directory before CRIU wrote there: after a
/// failure everything CRIU (or hull) wrote is taken away again, so that no
/// half-written checkpoint is ever taken for a good one. The log stays.
struct ImageGuard {
    dir: PathBuf,
    made: bool,
    before: HashSet<OsString>,
    since: SystemTime,
    log: PathBuf,
    armed: bool,
}

impl ImageGuard {
    fn new(dir: &Path, made: bool, log: &Path) -> ImageGuard {
        let before = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
        ImageGuard {
            dir: dir.to_path_buf(),
            made,
            before,
            since: SystemTime::now() - std::time::Duration::from_secs(1),
            log: log.to_path_buf(),
            armed: true,
        }
    }
}

impl Drop for ImageGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut removed = false;
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let path = e.path();
            if path == self.log || e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let touched = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= self.since);
            if !self.before.contains(&e.file_name()) || touched {
                removed |= std::fs::remove_file(&path).is_ok();
            }
        }
        if removed {
            // An older checkpoint that was partly overwritten is no checkpoint either.
            let _ = std::fs::remove_file(self.dir.join("inventory.img"));
        }
        if self.made {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// A terminal a process of the container holds that is not the container's
/// own pty: CRIU cannot find its mount (it is the caller's), so checkpoint
/// refuses it in one line unless `--shell-job` says the caller knows.
fn foreign_terminal(st: &ContainerState, pids: &[i32]) -> Option<String> {
    let own_devpts = std::fs::metadata(format!("/proc/{}/root/dev/pts", st.pid)).ok().map(|m| m.dev());
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(m) = std::fs::metadata(fd.path()) else { continue };
            let rdev = m.rdev();
            let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
            let is_char = m.mode() & libc::S_IFMT == libc::S_IFCHR;
            let pts = (136..=143).contains(&major);
            let foreign = is_char && ((pts && Some(m.dev()) != own_devpts) || major == 4 || (major, minor) == (5, 1));
            if foreign {
                let name = std::fs::read_link(fd.path()).map(|p| p.display().to_string()).unwrap_or_default();
                return Some(format!(
                    "process {pid} holds the terminal {name} (fd {})",
                    fd.file_name().to_string_lossy()
                ));
            }
        }
    }
    None
}

/// Where the init's stdin, stdout and stderr lead (`pipe:[…]`, a path):
/// restore hands a pipe back to whoever restores (descriptors.json, runc's).
fn external_descriptors(pid: i32) -> Vec<String> {
    (0..3)
        .map(|n| std::fs::read_link(format!("/proc/{pid}/fd/{n}")).map(|p| p.display().to_string()).unwrap_or_default())
        .collect()
}

pub const DESCRIPTORS_FILE: &str = "descriptors.json";

fn freezer_dir(cg: &CgroupState) -> Option<PathBuf> {
    match cg {
        CgroupState::V2 { dir, .. } => Some(dir.clone()),
        CgroupState::V1 { dirs, .. } => dirs.iter().find(|(h, _)| h.has("freezer")).map(|(_, d)| d.clone()),
    }
}

/// `checkpoint`: dump the container with CRIU; delete it afterwards unless
/// `--leave-running` or `--pre-dump`.
pub fn checkpoint(root: &Path, id: &str, opts: &CriuOptions) -> Result<(), ContainerError> {
    let what = format!("checkpoint {id}");
    let (dir, lock, st) = state::load_locked(root, id)?;
    let status = live_status(&dir, &st);
    if !matches!(status, Status::Running | Status::Paused) {
        return Err(ContainerError::WrongStatus {
            id: id.to_string(),
            status,
            what: "only a running or paused container can be checkpointed".into(),
        });
    }
    check_flags(opts)?;
    let spec = crate::spec::load(&st.bundle)?;
    if !opts.shell_job {
        refuse_foreign_terminal(&what, &st)?;
    }
    let (criu, _) = find_criu(&what)?;

    // Where the images go (runc: MkdirAll), the parent relative to it.
    let (images, made) = open_dir(&opts.image_path, "--image-path", true)?;
    if let Some(parent) = &opts.parent_path {
        let real = opts.image_path.join(parent);
        if !real.is_dir() {
            if made {
                let _ = std::fs::remove_dir(&opts.image_path);
            }
            return Err(usage(format!(
                "invalid --parent-path {}: {} is not a directory",
                parent.display(),
                real.display()
            )));
        }
    }
    let work = match &opts.work_path {
        Some(w) => Some(open_dir(w, "--work-path", true)?.0),
        None => None,
    };
    let log_name = "dump.log";
    let log = opts.work_path.as_ref().unwrap_or(&opts.image_path).join(log_name);
    let mut guard = ImageGuard::new(&opts.image_path, made, &log);

    let mut o = base_opts(opts, &spec, &images, work.as_ref(), log_name)?;
    dump_opts(&what, &criu, opts, &spec, &st, &mut o)?;
    if !opts.pre_dump {
        declare_mounts(&spec, &st, &mut o)?;
        let fds = serde_json::to_vec(&external_descriptors(st.pid)).unwrap_or_default();
        let path = opts.image_path.join(DESCRIPTORS_FILE);
        std::fs::write(&path, fds).map_err(|e| usage(format!("{what}: write {}: {e}", path.display())))?;
    }
    dump(&criu, opts, o).map_err(|e| criu_failure(&criu, &what, e, &log))?;
    guard.armed = false;
    if !opts.leave_running && !opts.pre_dump {
        // CRIU has killed the processes; the container goes as runc's does.
        drop(lock);
        super::delete(root, id, true)?;
    }
    Ok(())
}

/// The flags first: nothing is made for a command that cannot run.
fn check_flags(opts: &CriuOptions) -> Result<(), ContainerError> {
    cg_mode(opts.manage_cgroups_mode.as_deref())?;
    empty_ns(&opts.empty_ns)?;
    if opts.parent_path.as_ref().is_some_and(|p| p.is_absolute()) {
        return Err(usage("--parent-path must be relative (to --image-path)"));
    }
    if let Some(fd) = opts.status_fd.filter(|_| opts.lazy_pages) {
        let flags = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL)
            .map_err(|e| usage(format!("invalid --status-fd {fd}: {e}")))?;
        if flags & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(usage(format!("invalid --status-fd {fd}: not writable")));
        }
    }
    Ok(())
}

fn refuse_foreign_terminal(what: &str, st: &ContainerState) -> Result<(), ContainerError> {
    let cg = st.cgroup.as_ref().map(cgroups::from_state);
    let pids = cg.as_ref().and_then(|c| c.pids().ok()).unwrap_or_else(|| vec![st.pid]);
    match foreign_terminal(st, &pids) {
        None => Ok(()),
        Some(t) => Err(usage(format!(
            "{what}: {t} from outside the container: CRIU cannot checkpoint a terminal it cannot find \
             in the container's mounts; give the container its own (process.terminal with --console-socket), \
             or pass --shell-job if the caller restores with the same terminal"
        ))),
    }
}

/// The dump's own options: the process tree, the root, the freezer, the
/// parent images, namespaces joined by path, the features asked for.
fn dump_opts(
    what: &str,
    criu: &Criu,
    opts: &CriuOptions,
    spec: &Spec,
    st: &ContainerState,
    o: &mut rpc::Criu_opts,
) -> Result<(), ContainerError> {
    let rootfs = std::fs::canonicalize(&st.rootfs).unwrap_or_else(|_| st.rootfs.clone());
    o.set_root(rootfs.display().to_string());
    o.set_pid(st.pid);
    o.set_leave_running(opts.leave_running);
    o.set_tcp_skip_in_flight(opts.tcp_skip_in_flight);
    o.set_link_remap(opts.link_remap);
    // CRIU stops the tasks through the freezer instead of ptrace.
    if let Some(f) = st.cgroup.as_ref().and_then(freezer_dir) {
        o.set_freeze_cgroup(f.display().to_string());
    }
    if let Some((address, port)) = &opts.page_server {
        let mut ps = rpc::Criu_page_server_info::new();
        ps.set_address(address.clone());
        ps.set_port(*port);
        o.ps = protobuf::MessageField::some(ps);
    }
    if let Some(p) = &opts.parent_path {
        o.set_parent_img(p.display().to_string());
        o.set_track_mem(true);
    }
    // A namespace joined by path belongs to someone else (a pod, the CNI):
    // CRIU leaves it alone and restore puts the processes back into one.
    for kind in [LinuxNamespaceType::Network, LinuxNamespaceType::Pid] {
        if let Some(p) = ns_path(spec, kind) {
            let need = if kind == LinuxNamespaceType::Pid { 31500 } else { 31100 };
            criu.require(need, "a namespace joined by path").map_err(|e| usage(format!("{what}: {e}")))?;
            let ino =
                std::fs::metadata(&p).map_err(|e| usage(format!("{what}: namespace {}: {e}", p.display())))?.ino();
            let name = if kind == LinuxNamespaceType::Pid { "pid" } else { "net" };
            o.external.push(format!("{name}[{ino}]:{}", external_ns_key(kind)));
        }
    }
    if opts.pre_dump || opts.parent_path.is_some() || opts.lazy_pages {
        let mut want = rpc::Criu_features::new();
        if opts.pre_dump || opts.parent_path.is_some() {
            want.set_mem_track(true);
        }
        if opts.lazy_pages {
            want.set_lazy_pages(true);
        }
        let have = criu.features(want.clone())?;
        if want.mem_track() && !have.mem_track() {
            return Err(usage(format!(
                "{what}: criu and this kernel cannot track memory changes (needed by --pre-dump and --parent-path)"
            )));
        }
        if want.lazy_pages() && !have.lazy_pages() {
            return Err(usage(format!("{what}: criu and this kernel cannot serve lazy pages (--lazy-pages)")));
        }
        if opts.pre_dump {
            o.set_track_mem(true);
        }
    }
    Ok(())
}

/// Mounts CRIU must take as external: config.json's binds (by their mount
/// points), v1 cgroup binds, masked files (binds of the host's /dev/null,
/// which restore binds again), the /dev nodes.
fn declare_mounts(spec: &Spec, st: &ContainerState, o: &mut rpc::Criu_opts) -> Result<(), ContainerError> {
    let rootfs = std::fs::canonicalize(&st.rootfs).unwrap_or_else(|_| st.rootfs.clone());
    let rootfd = open_rootfs(&rootfs)?;
    for m in bind_mounts(spec, &st.bundle) {
        let dest = destination_in_root(&rootfd, &rootfs, &m.destination);
        o.ext_mnt.push(ext_mount(dest.clone(), dest));
    }
    for (dest, _) in cgroup_v1_binds(spec, st.cgroup.as_ref()) {
        o.ext_mnt.push(ext_mount(dest.clone(), dest));
    }
    let masked = spec.linux().as_ref().and_then(|l| l.masked_paths().clone()).unwrap_or_default();
    for p in masked {
        let seen = std::fs::metadata(format!("/proc/{}/root{p}", st.pid));
        if seen.is_ok_and(|m| !m.is_dir()) {
            o.ext_mnt.push(ext_mount(p, "/dev/null"));
        }
    }
    for d in device_paths(spec) {
        let d = d.display().to_string();
        o.ext_mnt.push(ext_mount(d.clone(), d));
    }
    Ok(())
}

/// The DUMP (or PRE_DUMP) request; `--status-fd` hears when lazy pages are served.
fn dump(criu: &Criu, opts: &CriuOptions, o: rpc::Criu_opts) -> Result<(), CriuError> {
    let mut req = rpc::Criu_req::new();
    req.set_type(if opts.pre_dump { rpc::Criu_req_type::PRE_DUMP } else { rpc::Criu_req_type::DUMP });
    req.opts = protobuf::MessageField::some(o);
    let mut session = criu.start(&[], CriuStdio::Captured)?;
    let mut status_fd = opts.status_fd.filter(|_| opts.lazy_pages);
    let result = session.request(&req, &mut |n, _fd| {
        if n.script() == "status-ready" {
            if let Some(fd) = status_fd.take() {
                // The lazy-pages server is up: tell whoever waits on --status-fd.
                let _ = nix::unistd::write(sys::borrow(fd), &[0]);
                let _ = nix::unistd::close(fd);
            }
        }
        Ok(())
    });
    // A pre-dump criu waits for the next request: closing our end ends it.
    let _ = session.finish();
    result.map(|_| ())
}
