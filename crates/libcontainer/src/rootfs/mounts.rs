//! `mounts` from config.json: option parsing (once, in the parent) and the
//! mount calls (in the child, targets resolved inside the rootfs).
//!
//! Bind mounts use the new mount API (open_tree + mount_setattr + move_mount):
//! the attributes asked for are set on the detached copy before it appears in
//! the container, and only those attributes change — a `ro` bind of a `nosuid`
//! source stays `nosuid`, which also keeps working inside user namespaces where
//! the kernel locks such flags. Other filesystems are mounted with mount(2) onto
//! the resolved target through its /proc/self/fd path.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use super::{resolve_in_root, Create, RootfsError};
use crate::sys;

/// One entry of `mounts`, parsed.
#[derive(Debug, Clone)]
pub struct MountEntry {
    pub destination: PathBuf,
    pub source: Option<PathBuf>,
    pub fstype: String,
    /// mount(2) flags for a new filesystem (binds: folded into attributes).
    pub flags: MsFlags,
    /// Flags the options explicitly turn off (`rw`, `suid`, `dev`, `exec`, …).
    pub cleared: MsFlags,
    pub bind: bool,
    pub recursive: bool,
    /// MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, each maybe with MS_REC.
    pub propagation: Vec<MsFlags>,
    /// `rro`, `rnosuid`, …: mount_setattr(AT_RECURSIVE) set/clear masks.
    pub rec_set: u64,
    pub rec_clear: u64,
    /// Options the filesystem itself interprets (`mode=755`, `size=…`).
    pub data: String,
    /// `tmpcopyup`: a tmpfs starts with a copy of what the image has at its
    /// destination (podman's `--tmpfs` volumes use it).
    pub copy_up: bool,
    /// `idmap` / `ridmap` (true: recursive): an idmapped mount, through the
    /// mount's own uid/gid mappings or the container's.
    pub idmap: Option<bool>,
    /// The mappings of an idmapped mount (filled in by the parent's plan).
    pub id_maps: Option<crate::spec::MountIdMaps>,
}

/// Maps an option to (flag, clears-it).
fn flag_option(opt: &str) -> Option<(MsFlags, bool)> {
    Some(match opt {
        "async" => (MsFlags::MS_SYNCHRONOUS, true),
        "atime" => (MsFlags::MS_NOATIME, true),
        "defaults" => (MsFlags::empty(), false),
        "dev" => (MsFlags::MS_NODEV, true),
        "diratime" => (MsFlags::MS_NODIRATIME, true),
        "dirsync" => (MsFlags::MS_DIRSYNC, false),
        "exec" => (MsFlags::MS_NOEXEC, true),
        "iversion" => (MsFlags::MS_I_VERSION, false),
        "lazytime" => (MsFlags::MS_LAZYTIME, false),
        "loud" => (MsFlags::MS_SILENT, true),
        "mand" => (MsFlags::MS_MANDLOCK, false),
        "noatime" => (MsFlags::MS_NOATIME, false),
        "nodev" => (MsFlags::MS_NODEV, false),
        "nodiratime" => (MsFlags::MS_NODIRATIME, false),
        "noexec" => (MsFlags::MS_NOEXEC, false),
        "noiversion" => (MsFlags::MS_I_VERSION, true),
        "nolazytime" => (MsFlags::MS_LAZYTIME, true),
        "nomand" => (MsFlags::MS_MANDLOCK, true),
        "norelatime" => (MsFlags::MS_RELATIME, true),
        "nostrictatime" => (MsFlags::MS_STRICTATIME, true),
        "nosuid" => (MsFlags::MS_NOSUID, false),
        "nosymfollow" => (MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW), false),
        "relatime" => (MsFlags::MS_RELATIME, false),
        "remount" => (MsFlags::MS_REMOUNT, false),
        "ro" => (MsFlags::MS_RDONLY, false),
        "rw" => (MsFlags::MS_RDONLY, true),
        "silent" => (MsFlags::MS_SILENT, false),
        "strictatime" => (MsFlags::MS_STRICTATIME, false),
        "suid" => (MsFlags::MS_NOSUID, true),
        "sync" => (MsFlags::MS_SYNCHRONOUS, false),
        _ => return None,
    })
}

/// `rro`, `rnosuid`, … (mount_setattr attributes applied recursively): (set, clear).
fn recursive_option(opt: &str) -> Option<(u64, u64)> {
    use libc::*;
    let atime = MOUNT_ATTR__ATIME;
    Some(match opt {
        "rro" => (MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, MOUNT_ATTR_RDONLY),
        "rnosuid" => (MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, MOUNT_ATTR_NOSUID),
        "rnodev" => (MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, MOUNT_ATTR_NODEV),
        "rnoexec" => (MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (MOUNT_ATTR_RELATIME, atime),
        "rnorelatime" => (0, atime),
        "rnoatime" => (MOUNT_ATTR_NOATIME, atime),
        "ratime" => (0, atime),
        "rstrictatime" => (MOUNT_ATTR_STRICTATIME, atime),
        "rnostrictatime" => (0, atime),
        "rnosymfollow" => (MOUNT_ATTR_NOSYMFOLLOW, 0),
        "rsymfollow" => (0, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

impl MountEntry {
    /// Parses one config entry; `bundle` anchors relative bind sources.
    pub fn parse(m: &Mount, bundle: &Path) -> MountEntry {
        let mut e = MountEntry {
            destination: m.destination().clone(),
            source: m.source().clone(),
            fstype: m.typ().clone().unwrap_or_default(),
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            bind: false,
            recursive: false,
            propagation: Vec::new(),
            rec_set: 0,
            rec_clear: 0,
            data: String::new(),
            copy_up: false,
            idmap: None,
            id_maps: None,
        };
        for opt in m.options().iter().flatten() {
            let opt = opt.as_str();
            if opt == "bind" {
                e.bind = true;
            } else if opt == "rbind" {
                e.bind = true;
                e.recursive = true;
            } else if let Some((f, clear)) = flag_option(opt) {
                if clear {
                    e.flags.remove(f);
                    e.cleared |= f;
                } else {
                    e.flags |= f;
                    e.cleared.remove(f);
                }
            } else if let Some(p) = super::parse_propagation(opt) {
                e.propagation.push(p);
            } else if let Some((set, clear)) = recursive_option(opt) {
                e.rec_set = (e.rec_set & !clear) | set;
                e.rec_clear = (e.rec_clear & !set) | clear;
            } else if opt == "tmpcopyup" {
                e.copy_up = true;
            } else if opt == "idmap" || opt == "ridmap" {
                e.idmap = Some(opt == "ridmap");
            } else if opt.starts_with("x-") {
                // Userspace options (x-systemd.*, …): for mount helpers, not the kernel, as runc skips them.
            } else {
                if !e.data.is_empty() {
                    e.data.push(',');
                }
                e.data.push_str(opt);
            }
        }
        if e.fstype == "bind" {
            e.bind = true;
        }
        if e.bind {
            if let Some(src) = &e.source {
                if src.is_relative() {
                    e.source = Some(bundle.join(src));
                }
            }
        }
        e
    }
}

/// mount_setattr attribute masks for the per-mount flags of a bind mount.
fn bind_attrs(flags: MsFlags, cleared: MsFlags) -> (u64, u64) {
    let pairs = [
        (MsFlags::MS_RDONLY, libc::MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, libc::MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, libc::MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
        (MsFlags::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME),
        (MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW), libc::MOUNT_ATTR_NOSYMFOLLOW),
    ];
    let (mut set, mut clear) = (0, 0);
    for (f, a) in pairs {
        if flags.contains(f) {
            set |= a;
        }
        if cleared.contains(f) {
            clear |= a;
        }
    }
    // The atime mode is one field: setting any of them replaces it.
    for (f, a) in [
        (MsFlags::MS_NOATIME, libc::MOUNT_ATTR_NOATIME),
        (MsFlags::MS_STRICTATIME, libc::MOUNT_ATTR_STRICTATIME),
        (MsFlags::MS_RELATIME, libc::MOUNT_ATTR_RELATIME),
    ] {
        if flags.contains(f) {
            set |= a;
            clear |= libc::MOUNT_ATTR__ATIME;
        }
    }
    (set, clear)
}

/// mount_setattr on a detached bind tree. Inside a user namespace the
/// kernel locks the flags a mount had when the namespace's mount table was
/// copied from a more privileged one: nosuid, nodev, noexec and rdonly
/// cannot be cleared and the atime mode cannot change (EPERM). As runc and
/// crun do for rootless containers, keep those as the source has them and
/// apply the rest, rather than refuse a bind mount of, say, /etc that asks
/// for `strictatime`.
fn set_attributes(tree: &OwnedFd, recursive: libc::c_int, set: u64, clear: u64) -> Result<(), Errno> {
    if set == 0 && clear == 0 {
        return Ok(());
    }
    let flags = (libc::AT_EMPTY_PATH | recursive) as u32;
    match sys::mount_setattr(tree.as_raw_fd(), c"", flags, set, clear, 0) {
        Err(Errno::EPERM) => {
            let current = nix::sys::statvfs::fstatvfs(tree)?.flags();
            let (set2, clear2) = keep_locked(current, set, clear);
            if (set2, clear2) == (set, clear) {
                return Err(Errno::EPERM);
            }
            if set2 == 0 && clear2 == 0 {
                return Ok(());
            }
            sys::mount_setattr(tree.as_raw_fd(), c"", flags, set2, clear2, 0)
        }
        r => r,
    }
}

/// `set`/`clear` without the changes a user namespace may not make to a
/// mount whose current flags are `current`.
fn keep_locked(current: nix::sys::statvfs::FsFlags, mut set: u64, mut clear: u64) -> (u64, u64) {
    use nix::sys::statvfs::FsFlags;
    for (f, a) in [
        (FsFlags::ST_RDONLY, libc::MOUNT_ATTR_RDONLY),
        (FsFlags::ST_NOSUID, libc::MOUNT_ATTR_NOSUID),
        (FsFlags::ST_NODEV, libc::MOUNT_ATTR_NODEV),
        (FsFlags::ST_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
    ] {
        if current.contains(f) {
            clear &= !a;
        }
    }
    if clear & libc::MOUNT_ATTR__ATIME != 0 {
        clear &= !libc::MOUNT_ATTR__ATIME;
        set &= !(libc::MOUNT_ATTR_NOATIME | libc::MOUNT_ATTR_STRICTATIME | libc::MOUNT_ATTR_RELATIME);
    }
    (set, clear)
}

pub fn proc_fd_path(fd: &OwnedFd) -> CString {
    sys::cstring(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn err(op: &'static str, e: &MountEntry, errno: Errno) -> RootfsError {
    RootfsError::Mount {
        op,
        what: e.source.as_ref().map(|s| s.display().to_string()).unwrap_or_else(|| e.fstype.clone()),
        destination: e.destination.clone(),
        errno,
    }
}

/// proc and sysfs go only on a directory: over a symlink (`/proc -> /` in an
/// image, or a link swapped in by another container sharing the directory)
/// the mount would land wherever it points, which is how several escapes
/// began. As runc, refuse anything at the destination but a directory.
fn ensure_ordinary_directory(root: &OwnedFd, e: &MountEntry) -> Result<(), RootfsError> {
    use std::os::unix::ffi::OsStrExt;
    let parent = resolve_in_root(root, e.destination.parent().unwrap_or(Path::new("/")), Create::Dir)?;
    let name = sys::cstring(e.destination.file_name().unwrap_or_default().as_bytes());
    let st = match nix::sys::stat::fstatat(
        Some(parent.as_raw_fd()),
        name.as_c_str(),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(errno) => return Err(RootfsError::Path { op: "stat", path: e.destination.clone(), errno }),
    };
    let what = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => return Ok(()),
        libc::S_IFLNK => "symlink",
        libc::S_IFREG => "regular file",
        _ => "special file",
    };
    Err(RootfsError::NotOrdinaryDirectory { fstype: e.fstype.clone(), destination: e.destination.clone(), what })
}

/// The detached copy of a bind mount's source, its attributes set: made by
/// the init, or — for a container in a user namespace — beforehand by its
/// privileged parent, which can reach sources the container's root cannot
/// (a directory of the host's root with mode 0700 on the way), as runc's
/// parent opens them for its init.
pub fn bind_tree(e: &MountEntry) -> Result<OwnedFd, RootfsError> {
    let src = e.source.as_ref().ok_or_else(|| err("bind", e, Errno::EINVAL))?;
    let csrc = sys::cstring(src.as_os_str().as_encoded_bytes());
    let mut flags = libc::OPEN_TREE_CLONE;
    if e.recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    let tree = sys::open_tree(libc::AT_FDCWD, &csrc, flags).map_err(|errno| err("bind", e, errno))?;
    let (set, clear) = bind_attrs(e.flags, e.cleared);
    set_attributes(&tree, 0, set, clear).map_err(|errno| err("set attributes of", e, errno))?;
    set_attributes(&tree, libc::AT_RECURSIVE, e.rec_set, e.rec_clear)
        .map_err(|errno| err("set recursive attributes of", e, errno))?;
    Ok(tree)
}

/// A bind's tree ([`bind_tree`]) or an idmapped tmpfs ([`tmpfs_tree`]) made
/// by the parent, in the host's mount namespace, where the tree is a peer of
/// the host's mounts: it is given the propagation the container's own mounts
/// get (`root`, rootfsPropagation or rslave), as if the init had made it — a
/// user namespace must not end up with binds that propagate its mounts to
/// the host unless asked.
pub fn parent_tree(
    e: &MountEntry,
    root: MsFlags,
    userns: &mut super::idmap::UsernsCache,
) -> Result<OwnedFd, RootfsError> {
    let tree = if e.bind { bind_tree(e)? } else { tmpfs_tree(e)? };
    if let (Some(recursive), Some(maps)) = (e.idmap, &e.id_maps) {
        // Set on the detached copy, before anyone sees it: files owned on
        // disk by a mapping's containerID appear owned by its hostID.
        let ns = userns.get(maps)?;
        sys::mount_setattr_idmap(tree.as_raw_fd(), ns.as_raw_fd(), recursive).map_err(|errno| match errno {
            Errno::EINVAL if !e.bind => err("make an idmapped mount (tmpfs: Linux 6.3 or later) of", e, errno),
            _ => err("make an idmapped mount of", e, errno),
        })?;
    }
    if !root.contains(MsFlags::MS_SHARED) {
        let rec = if e.recursive { libc::AT_RECURSIVE } else { 0 };
        sys::mount_setattr(
            tree.as_raw_fd(),
            c"",
            (libc::AT_EMPTY_PATH | rec) as u32,
            0,
            0,
            (root - MsFlags::MS_REC).bits(),
        )
        .map_err(|errno| err("set propagation of", e, errno))?;
    }
    Ok(tree)
}

/// A new tmpfs that exists only as a descriptor (fsopen/fsmount), with the
/// entry's options (`size=1m`, `mode=1777`, `noswap`, …) and mount flags: a
/// detached mount, which is what the kernel idmaps (tmpfs allows it from
/// Linux 6.3).
fn tmpfs_tree(e: &MountEntry) -> Result<OwnedFd, RootfsError> {
    let options: Vec<(std::ffi::CString, std::ffi::CString)> = e
        .data
        .split(',')
        .filter(|o| !o.is_empty())
        .map(|o| {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            (sys::cstring(k), sys::cstring(v))
        })
        .collect();
    let refs: Vec<(&std::ffi::CStr, &std::ffi::CStr)> =
        options.iter().map(|(k, v)| (k.as_c_str(), v.as_c_str())).collect();
    let (attrs, _) = bind_attrs(e.flags, MsFlags::empty());
    sys::fsmount_new(c"tmpfs", &refs, attrs).map_err(|errno| err("mount", e, errno))
}

/// Puts a bind tree at the entry's destination, then sets its propagation.
fn attach_bind(root: &OwnedFd, e: &MountEntry, tree: &OwnedFd) -> Result<(), RootfsError> {
    let is_dir = nix::sys::stat::fstat(tree.as_raw_fd())
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .map_err(|errno| err("stat the source of", e, errno))?;
    let target = resolve_in_root(root, &e.destination, if is_dir { Create::Dir } else { Create::File })?;
    let empty = c"";
    sys::attach_tree(tree.as_raw_fd(), target.as_raw_fd()).map_err(|errno| err("bind", e, errno))?;
    for p in &e.propagation {
        let rec = if p.contains(MsFlags::MS_REC) { libc::AT_RECURSIVE } else { 0 };
        sys::mount_setattr(
            tree.as_raw_fd(),
            empty,
            (libc::AT_EMPTY_PATH | rec) as u32,
            0,
            0,
            (*p - MsFlags::MS_REC).bits(),
        )
        .map_err(|errno| err("set propagation of", e, errno))?;
    }
    Ok(())
}

/// Mounts one entry under the rootfs (`root` is an fd on the rootfs mount);
/// a bind from `prebuilt` when the parent made its tree.
pub fn mount_entry(root: &OwnedFd, e: &MountEntry, prebuilt: Option<&OwnedFd>) -> Result<(), RootfsError> {
    if e.fstype == "proc" || e.fstype == "sysfs" {
        ensure_ordinary_directory(root, e)?;
    }
    match prebuilt {
        Some(tree) => return attach_bind(root, e, tree),
        None if e.bind => return attach_bind(root, e, &bind_tree(e)?),
        None => {}
    }
    let target = resolve_in_root(root, &e.destination, Create::Dir)?;
    let empty = c"";

    let source = e
        .source
        .as_ref()
        .map(|s| s.as_os_str().as_encoded_bytes().to_vec())
        .unwrap_or_else(|| e.fstype.clone().into_bytes());
    let csource = sys::cstring(source);
    let ctype = sys::cstring(e.fstype.as_str());
    let cdata = sys::cstring(e.data.as_str());
    let path = proc_fd_path(&target);
    let flags = e.flags - MsFlags::MS_REMOUNT;
    // What the image has here, readable through the descriptor once covered.
    let below = if e.copy_up && e.fstype == "tmpfs" {
        Some(
            sys::openat2(target.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0, 0)
                .map_err(|errno| err("open for tmpcopyup", e, errno))?,
        )
    } else {
        None
    };
    nix::mount::mount(
        Some(csource.as_c_str()),
        path.as_c_str(),
        Some(ctype.as_c_str()),
        flags,
        (!e.data.is_empty()).then_some(cdata.as_c_str()),
    )
    .map_err(|errno| err("mount", e, errno))?;
    if let Some(below) = below {
        let top = resolve_in_root(root, &e.destination, Create::Nothing)?;
        let top = sys::openat2(top.as_raw_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0, 0)
            .map_err(|errno| err("open for tmpcopyup", e, errno))?;
        super::copy::copy_tree(&below, &top).map_err(|errno| err("tmpcopyup", e, errno))?;
    }
    if !e.propagation.is_empty() || e.rec_set != 0 || e.rec_clear != 0 {
        // The fd still points below the new mount: look the path up again to
        // reach the mount itself.
        let top = resolve_in_root(root, &e.destination, Create::Nothing)?;
        if e.rec_set != 0 || e.rec_clear != 0 {
            sys::mount_setattr(
                top.as_raw_fd(),
                empty,
                (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as u32,
                e.rec_set,
                e.rec_clear,
                0,
            )
            .map_err(|errno| err("set recursive attributes of", e, errno))?;
        }
        let top_path = proc_fd_path(&top);
        for p in &e.propagation {
            nix::mount::mount(None::<&str>, top_path.as_c_str(), None::<&str>, *p, None::<&str>)
                .map_err(|errno| err("set propagation of", e, errno))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::MountBuilder;

    fn entry(typ: &str, opts: &[&str]) -> MountEntry {
        let m = MountBuilder::default()
            .destination("/x")
            .typ(typ)
            .source("src")
            .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .build()
            .unwrap();
        MountEntry::parse(&m, Path::new("/bundle"))
    }

    #[test]
    fn locked_flags_are_kept_and_the_rest_applied() {
        use nix::sys::statvfs::FsFlags;
        let (set, clear) = bind_attrs(MsFlags::MS_STRICTATIME | MsFlags::MS_NOEXEC, MsFlags::MS_NOSUID);
        // The source is nosuid and relatime: nosuid stays, the atime mode stays, noexec is added.
        let (set2, clear2) = keep_locked(FsFlags::ST_NOSUID | FsFlags::ST_RELATIME, set, clear);
        assert_eq!((set2, clear2), (libc::MOUNT_ATTR_NOEXEC, 0));
        // Nothing locked in the way: unchanged but for the atime mode.
        let (set3, clear3) = keep_locked(FsFlags::empty(), libc::MOUNT_ATTR_RDONLY, libc::MOUNT_ATTR_NODEV);
        assert_eq!((set3, clear3), (libc::MOUNT_ATTR_RDONLY, libc::MOUNT_ATTR_NODEV));
    }

    #[test]
    fn tmpfs_options_split_into_flags_and_data() {
        let e = entry("tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(e.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(e.data, "mode=755,size=65536k");
        assert!(!e.bind);
    }

    #[test]
    fn rbind_is_recursive_and_relative_source_is_in_bundle() {
        let e = entry("none", &["rbind", "ro", "rprivate"]);
        assert!(e.bind && e.recursive);
        assert_eq!(e.source.as_deref(), Some(Path::new("/bundle/src")));
        assert_eq!(e.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        let (set, clear) = bind_attrs(e.flags, e.cleared);
        assert_eq!(set, libc::MOUNT_ATTR_RDONLY);
        assert_eq!(clear, 0);
    }

    #[test]
    fn later_option_wins() {
        let e = entry("bind", &["ro", "rw"]);
        assert!(!e.flags.contains(MsFlags::MS_RDONLY));
        assert!(e.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn recursive_attributes() {
        let e = entry("bind", &["rbind", "rro", "rnosuid", "rnoatime"]);
        assert_eq!(e.rec_set, libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NOATIME);
        assert_eq!(e.rec_clear, libc::MOUNT_ATTR__ATIME);
    }
}
