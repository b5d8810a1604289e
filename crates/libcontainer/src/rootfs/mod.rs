//! The container's root filesystem: mounts, /dev, pivot_root, masked and
//! read-only paths.
//!
//! Every path that comes from config.json is resolved *inside* the rootfs with
//! openat2(RESOLVE_IN_ROOT): a symlink planted in an image (`/proc -> /`,
//! `../../etc`) is followed as if the rootfs were `/`, so a mount can never land
//! outside it (the CVE-2021-30465 family). Mounts then target the resolved
//! descriptor, not the path, so swapping a directory for a symlink after the
//! check changes nothing.

pub mod cgroup_mount;
pub mod copy;
pub mod devices;
pub mod idmap;
pub mod mounts;
pub mod paths;
pub mod pivot;

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use crate::cgroups::mountinfo;
use crate::sys;
pub use devices::DeviceEntry;
pub use mounts::MountEntry;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("{op} {what} on {}: {errno}", destination.display())]
    Mount { op: &'static str, what: String, destination: PathBuf, errno: Errno },
    #[error("{op} {}: {errno}", path.display())]
    Path { op: &'static str, path: PathBuf, errno: Errno },
    #[error("pivot_root into {}: {errno}", path.display())]
    Pivot { path: PathBuf, errno: Errno },
    #[error(
        "bind device {}: ENOENT: in a user namespace devices cannot be created, only bind-mounted from the host, which has no {0}",
        path.display()
    )]
    NoHostDevice { path: PathBuf },
    #[error("mount {fstype} on {}: filesystem {fstype:?} must be mounted on ordinary directory (it is a {what})", destination.display())]
    NotOrdinaryDirectory { fstype: String, destination: PathBuf, what: &'static str },
    #[error("maskedPaths: the host's /dev/null is not the null device (character device 1:3): refusing to mask files with it")]
    NotNullDevice,
    #[error("/dev/null in the container is not the null device (character device 1:3): refusing to give it to stdio")]
    ContainerNullDevice,
}

fn path_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> RootfsError + 'a {
    move |errno| RootfsError::Path { op, path: path.to_path_buf(), errno }
}

/// What to create when a path inside the rootfs does not exist.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Nothing,
    Dir,
    File,
}

/// The path relative to the rootfs: leading `/` dropped, `.` and `..` kept for
/// the kernel to resolve (RESOLVE_IN_ROOT clamps `..` at the root).
fn relative(path: &Path) -> CString {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        return c".".to_owned();
    }
    sys::cstring(rel.as_os_str().as_bytes())
}

const RESOLVE: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

/// Opens `path` (as seen from inside the container) under `root` as an O_PATH
/// descriptor, creating missing directories — and the final file when asked —
/// on the way.
pub fn resolve_in_root(root: &OwnedFd, path: &Path, create: Create) -> Result<OwnedFd, RootfsError> {
    let rel = relative(path);
    match sys::openat2(root.as_raw_fd(), &rel, libc::O_PATH, 0, RESOLVE) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) if create != Create::Nothing => {}
        Err(errno) => return Err(RootfsError::Path { op: "resolve", path: path.to_path_buf(), errno }),
    }
    // Walk down one component at a time, creating what is missing. Each
    // component is looked up beneath its parent only; one that is a symlink
    // leaving the parent (EXDEV) is resolved from the rootfs root instead, so
    // either way nothing can lead outside. O_PATH descriptors serve as the
    // directory for mkdirat/openat.
    let comps = path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n),
        _ => None,
    });
    let comps: Vec<&std::ffi::OsStr> = comps.collect();
    let mut prefix = PathBuf::from("/");
    let mut parent =
        sys::openat2(root.as_raw_fd(), c".", libc::O_PATH, 0, RESOLVE).map_err(path_err("resolve", path))?;
    let step = |parent: &OwnedFd, name: &CString, prefix: &Path| -> Result<OwnedFd, Errno> {
        match sys::openat2(
            parent.as_raw_fd(),
            name,
            libc::O_PATH,
            0,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
        ) {
            Err(Errno::EXDEV) => sys::openat2(root.as_raw_fd(), &relative(prefix), libc::O_PATH, 0, RESOLVE),
            other => other,
        }
    };
    for (i, name) in comps.iter().enumerate() {
        prefix.push(name);
        let last = i + 1 == comps.len();
        let cname = sys::cstring(name.as_bytes());
        match step(&parent, &cname, &prefix) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(errno) => return Err(RootfsError::Path { op: "resolve", path: prefix, errno }),
        }
        if last && create == Create::File {
            match nix::fcntl::openat(
                Some(parent.as_raw_fd()),
                cname.as_c_str(),
                OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                Mode::from_bits_truncate(0o644),
            ) {
                Ok(fd) => {
                    let _ = nix::unistd::close(fd);
                }
                Err(Errno::EEXIST) => {}
                Err(errno) => return Err(RootfsError::Path { op: "create", path: prefix, errno }),
            }
        } else {
            match nix::sys::stat::mkdirat(Some(parent.as_raw_fd()), cname.as_c_str(), Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(errno) => return Err(RootfsError::Path { op: "mkdir", path: prefix, errno }),
            }
        }
        parent = step(&parent, &cname, &prefix).map_err(path_err("resolve", &prefix))?;
    }
    Ok(parent)
}

/// A file to bind something over at `path` inside the rootfs: the entry
/// itself, never what a symlink there points to (a symlink is replaced by an
/// empty file), and never a directory. With a /dev shared with another
/// container, following a link here would put a host device over any file
/// the link names.
pub fn file_target(root: &OwnedFd, path: &Path) -> Result<OwnedFd, RootfsError> {
    use nix::fcntl::OFlag;
    let parent = resolve_in_root(root, path.parent().unwrap_or(Path::new("/")), Create::Dir)?;
    let name = sys::cstring(path.file_name().unwrap_or_default().as_bytes());
    for _ in 0..16 {
        match sys::openat2(parent.as_raw_fd(), &name, libc::O_PATH | libc::O_NOFOLLOW, 0, libc::RESOLVE_BENEATH) {
            Ok(fd) => {
                let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(path_err("stat", path))?;
                match st.st_mode & libc::S_IFMT {
                    libc::S_IFDIR => {
                        return Err(RootfsError::Path {
                            op: "bind a file over",
                            path: path.into(),
                            errno: Errno::EISDIR,
                        })
                    }
                    libc::S_IFLNK => {
                        match nix::unistd::unlinkat(
                            Some(parent.as_raw_fd()),
                            name.as_c_str(),
                            nix::unistd::UnlinkatFlags::NoRemoveDir,
                        ) {
                            Ok(()) | Err(Errno::ENOENT) => continue,
                            Err(errno) => {
                                return Err(RootfsError::Path { op: "replace a symlink at", path: path.into(), errno })
                            }
                        }
                    }
                    _ => return Ok(fd),
                }
            }
            Err(Errno::ENOENT) => {}
            Err(errno) => return Err(RootfsError::Path { op: "resolve", path: path.into(), errno }),
        }
        let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
        match nix::fcntl::openat(Some(parent.as_raw_fd()), name.as_c_str(), flags, Mode::from_bits_truncate(0o644)) {
            // SAFETY: openat returned a new descriptor that we now own.
            Ok(fd) => return Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }),
            Err(Errno::EEXIST) => continue,
            Err(errno) => return Err(RootfsError::Path { op: "create", path: path.into(), errno }),
        }
    }
    Err(RootfsError::Path { op: "create (it keeps changing)", path: path.into(), errno: Errno::EAGAIN })
}

/// Everything the child needs to build the root filesystem, decided by the parent.
#[derive(Debug)]
pub struct RootfsPlan {
    pub rootfs: PathBuf,
    pub mounts: Vec<MountEntry>,
    pub readonly: bool,
    /// rootfsPropagation applied to `/` after pivot_root (None: rslave, the default).
    pub propagation: Option<MsFlags>,
    /// Populate /dev with the default devices and symlinks (a /dev mount that
    /// is not a bind of the host's /dev is present, or no /dev mount at all).
    pub setup_dev: bool,
    pub devices: Vec<DeviceEntry>,
    /// Inside a user namespace mknod is not allowed: bind the host's nodes.
    pub bind_devices: bool,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub no_pivot: bool,
    /// The container has its own mount namespace (otherwise: chroot, and the
    /// mounts are visible on the host, as with runc).
    pub new_mount_ns: bool,
    pub cgroup_mount: cgroup_mount::MountView,
    /// For a container in a user namespace, the bind mounts' trees made by
    /// the privileged parent (index as `mounts`; see mounts::bind_tree).
    pub bind_trees: Vec<Option<OwnedFd>>,
}

impl RootfsPlan {
    /// The propagation of the container's mount tree while it is built:
    /// rootfsPropagation, or rslave. (`unbindable` waits for pivot_root:
    /// an unbindable `/` could not have the rootfs bound onto itself.)
    pub fn root_propagation(&self) -> MsFlags {
        build_propagation(self.propagation)
    }
}

/// See [`RootfsPlan::root_propagation`].
pub fn build_propagation(rootfs_propagation: Option<MsFlags>) -> MsFlags {
    rootfs_propagation.filter(|p| !p.contains(MsFlags::MS_UNBINDABLE)).unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC)
}

/// Makes the mount that holds `rootfs` private (in our mount namespace) if
/// it is shared, as runc does.
fn make_parent_mount_private(rootfs: &Path) -> Result<(), RootfsError> {
    let rootfs = std::fs::canonicalize(rootfs).unwrap_or_else(|_| rootfs.to_path_buf());
    let text = mountinfo::read_self().map_err(|e| RootfsError::Path {
        op: "read",
        path: "/proc/self/mountinfo".into(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    let parent = mountinfo::parse(&text)
        .filter(|m| rootfs.starts_with(m.mount_point()))
        .max_by_key(|m| m.mount_point().as_os_str().len());
    if let Some(m) = parent.filter(|m| m.optional.split(' ').any(|o| o.starts_with("shared:"))) {
        let point = m.mount_point();
        nix::mount::mount(None::<&str>, &point, None::<&str>, MsFlags::MS_PRIVATE, None::<&str>)
            .map_err(path_err("make private", &point))?;
    }
    Ok(())
}

/// Mounts at or below `dir` in the caller's mount namespace, in mountinfo
/// order (a mount before those on top of it): (mount id, mount point).
pub fn mounts_at_or_below(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(text) = mountinfo::read_self() else { return Vec::new() };
    mountinfo::parse(&text).map(|m| (m.id, m.mount_point())).filter(|(_, point)| point.starts_with(dir)).collect()
}

/// What a container without a mount namespace of its own leaves mounted on
/// the host: the mounts at or below its rootfs that were not there before
/// its create (`before`: their ids), last mounted first.
pub fn host_mounts_since(dir: &Path, before: &[u64]) -> Vec<PathBuf> {
    let mut made: Vec<PathBuf> =
        mounts_at_or_below(dir).into_iter().filter(|(id, _)| !before.contains(id)).map(|(_, p)| p).collect();
    made.reverse();
    made
}

/// Unmounts them, in the order given (lazily: a process of the container
/// may still hold one open).
pub fn unmount_host_mounts(points: &[PathBuf]) {
    for p in points {
        let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
    }
}

pub fn parse_propagation(s: &str) -> Option<MsFlags> {
    Some(match s {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// What `prepare` hands to `finish`.
pub struct Prepared {
    /// The rootfs mount.
    pub root: OwnedFd,
    /// What masks files, taken from the host before pivot_root.
    null: Option<paths::NullSource>,
    /// /dev was asked read-only: mounted read-write to be filled (nodes,
    /// pts, shm, symlinks), made read-only at the end, as runc does.
    readonly_dev: bool,
}

/// First half, before the createContainer hooks: make the rootfs a mount of
/// its own, mount everything from config.json, populate /dev. Returns the
/// descriptor of the rootfs mount. `before_cgroup_mount` runs once before
/// the first cgroup mount (the container must be in its cgroup by then).
pub fn prepare<E: From<RootfsError>>(
    plan: &RootfsPlan,
    before_cgroup_mount: &mut dyn FnMut() -> Result<(), E>,
) -> Result<Prepared, E> {
    let crootfs = sys::cstring(plan.rootfs.as_os_str().as_bytes());
    if plan.new_mount_ns {
        // The container's view of the host's mounts, first of all: rslave by
        // default (nothing we mount propagates back, the host's new mounts
        // still arrive), or what rootfsPropagation asks — with "rshared" the
        // mounts stay peers of the host's, so that a mount made inside a
        // Bidirectional volume appears on the host (Kubernetes, CSI).
        let root_propagation = plan.root_propagation();
        nix::mount::mount(None::<&str>, "/", None::<&str>, root_propagation, None::<&str>)
            .map_err(path_err("set the propagation of", Path::new("/")))?;
        if root_propagation.contains(MsFlags::MS_SHARED) {
            // The rootfs bind below must not reach the host, and pivot_root
            // refuses a new root whose parent mount is shared.
            make_parent_mount_private(&plan.rootfs)?;
        }
        // pivot_root needs the new root to be a mount point.
        nix::mount::mount(
            Some(crootfs.as_c_str()),
            crootfs.as_c_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(path_err("bind rootfs", &plan.rootfs))?;
    }
    let mut root = sys::openat2(libc::AT_FDCWD, &crootfs, libc::O_PATH | libc::O_DIRECTORY, 0, 0)
        .map_err(path_err("open rootfs", &plan.rootfs))?;

    let mut readonly_dev = false;
    for (i, m) in plan.mounts.iter().enumerate() {
        let writable_dev;
        let m = if m.destination == Path::new("/dev") && m.flags.contains(MsFlags::MS_RDONLY) {
            readonly_dev = true;
            writable_dev = MountEntry { flags: m.flags - MsFlags::MS_RDONLY, ..m.clone() };
            &writable_dev
        } else {
            m
        };
        if m.fstype == "cgroup" || m.fstype == "cgroup2" {
            before_cgroup_mount()?;
            cgroup_mount::mount_into(&root, m, &plan.cgroup_mount)?;
            continue;
        }
        match mounts::mount_entry(&root, m, plan.bind_trees.get(i).and_then(Option::as_ref)) {
            // sysfs and mqueue cannot be mounted from a user namespace that does
            // not own the net/ipc namespace: fall back to the host's, read-only
            // where it was asked to be, as runc does.
            Err(RootfsError::Mount { errno: Errno::EPERM, .. })
                if plan.bind_devices && (m.fstype == "sysfs" || m.fstype == "mqueue") =>
            {
                let mut bind = m.clone();
                bind.bind = true;
                bind.recursive = true;
                bind.source = Some(PathBuf::from(if m.fstype == "sysfs" { "/sys" } else { "/dev/mqueue" }));
                mounts::mount_entry(&root, &bind, None)?;
            }
            other => other?,
        }
        if m.destination == Path::new("/") {
            // A mount on "/" itself (an image's overlay) covers the directory
            // `root` points to: the later mounts, and pivot_root, go on top.
            root = sys::openat2(libc::AT_FDCWD, &crootfs, libc::O_PATH | libc::O_DIRECTORY, 0, 0)
                .map_err(path_err("open rootfs", &plan.rootfs))?;
        }
    }
    if plan.setup_dev {
        devices::populate_dev(&root, plan)?;
    } else if !plan.devices.is_empty() {
        devices::create_devices(&root, &plan.devices, plan.bind_devices)?;
    }
    let null = if plan.new_mount_ns && !plan.masked_paths.is_empty() { Some(paths::open_null()?) } else { None };
    Ok(Prepared { root, null, readonly_dev })
}

/// Second half, after the createContainer hooks: switch root, then hide and
/// freeze what must not be touched.
pub fn finish(plan: &RootfsPlan, prepared: Prepared) -> Result<(), RootfsError> {
    let Prepared { root, null, readonly_dev } = prepared;
    if !plan.new_mount_ns {
        pivot::chroot_into(&root, &plan.rootfs)?;
        return Ok(());
    }
    if plan.no_pivot {
        pivot::move_root(&root, &plan.rootfs)?;
    } else {
        pivot::pivot_root(&root, &plan.rootfs)?;
    }
    drop(root);
    if plan.setup_dev {
        paths::reopen_dev_null()?;
    }
    if let Some(mut null) = null {
        paths::mask_paths(&plan.masked_paths, &mut null)?;
    }
    paths::readonly_paths(&plan.readonly_paths)?;
    if plan.readonly {
        sys::mount_setattr(libc::AT_FDCWD, c"/", 0, libc::MOUNT_ATTR_RDONLY, 0, 0)
            .map_err(path_err("make the root read-only", Path::new("/")))?;
    }
    if readonly_dev {
        sys::mount_setattr(libc::AT_FDCWD, c"/dev", libc::AT_SYMLINK_NOFOLLOW as u32, libc::MOUNT_ATTR_RDONLY, 0, 0)
            .map_err(path_err("make /dev read-only", Path::new("/dev")))?;
    }
    if let Some(p) = plan.propagation {
        nix::mount::mount(None::<&str>, "/", None::<&str>, p, None::<&str>)
            .map_err(path_err("set rootfsPropagation of", Path::new("/")))?;
    }
    Ok(())
}

pub(crate) fn cpath(p: &Path) -> CString {
    sys::cstring(p.as_os_str().as_bytes())
}
