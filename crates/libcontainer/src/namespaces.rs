//! Namespaces: which ones `clone3` creates, which ones are joined by path and
//! in what order, and the uid/gid maps of a new user namespace.
//!
//! The fast path is one `clone3` carrying every CLONE_NEW* flag. Joining needs
//! more care:
//! - pid: `setns` only changes the namespace of *children*, so the parent joins
//!   before cloning;
//! - time: offsets can only be written before any process enters the
//!   namespace, so the parent unshares it, writes the offsets, then clones;
//! - user: namespaces created after joining belong to the joined user
//!   namespace, so the child joins first and unshares the new ones itself (a
//!   new pid namespace then needs one more fork).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("linux.namespaces[{index}].path: {path}: {source}")]
    Open { index: usize, path: PathBuf, source: std::io::Error },
    #[error("linux.namespaces[{index}].path: {path} is not a namespace file")]
    NotNamespace { index: usize, path: PathBuf },
    #[error("linux.namespaces[{index}].path: {path} is a {actual} namespace, not {expected}")]
    WrongType { index: usize, path: PathBuf, actual: &'static str, expected: &'static str },
    #[error("write {path}: {source}")]
    WriteMap { path: String, source: std::io::Error },
    #[error(transparent)]
    Proc(#[from] crate::procfs::ProcError),
    #[error("{op}: {errno}")]
    Sys { op: String, errno: Errno },
}

pub fn flag_of(kind: LinuxNamespaceType) -> CloneFlags {
    match kind {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

pub fn name_of(kind: LinuxNamespaceType) -> &'static str {
    match kind {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

fn name_of_flag(flag: i32) -> &'static str {
    const ALL: [LinuxNamespaceType; 8] = [
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::User,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Time,
    ];
    ALL.iter().find(|k| flag_of(**k).bits() == flag).map(|k| name_of(*k)).unwrap_or("unknown")
}

/// The order in which the child joins namespaces: user first (so that what
/// follows is checked against the joined user namespace), mount last (after
/// it, host paths are gone).
fn join_rank(kind: LinuxNamespaceType) -> u8 {
    match kind {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Ipc => 1,
        LinuxNamespaceType::Uts => 2,
        LinuxNamespaceType::Network => 3,
        LinuxNamespaceType::Cgroup => 4,
        LinuxNamespaceType::Pid => 5,
        LinuxNamespaceType::Time => 6,
        LinuxNamespaceType::Mount => 7,
    }
}

pub struct Join {
    pub kind: LinuxNamespaceType,
    pub path: PathBuf,
    pub fd: OwnedFd,
}

/// Everything about namespaces decided before `clone3`.
pub struct NamespacePlan {
    /// Flags for clone3.
    pub clone_flags: CloneFlags,
    /// Namespaces the child creates itself with unshare(2) after joining.
    pub unshare_flags: CloneFlags,
    /// A new cgroup namespace created by the child once the parent has put
    /// it in its cgroup (the namespace's root is the cgroup at unshare time).
    pub deferred_cgroupns: bool,
    /// Joined by the child, already in order.
    pub joins: Vec<Join>,
    /// Joined by the parent before clone (pid, time affect children only).
    pub parent_joins: Vec<Join>,
    /// The new pid namespace is created by the child's unshare and needs a second fork.
    pub second_fork: bool,
    /// A new user namespace made by the child's unshare, after it joined the
    /// namespaces given by path: those belong to the host's user namespace,
    /// and from inside the new one setns into them is refused.
    pub user_by_unshare: bool,
    pub new_user: bool,
    pub new_pid: bool,
    pub new_mount: bool,
    pub join_mount: bool,
    pub new_cgroup: bool,
    pub new_net: bool,
    pub new_uts: bool,
    /// The parent unshares a time namespace and writes these offsets
    /// (`monotonic`/`boottime` → (secs, nanosecs)).
    pub time_offsets: Vec<(String, i64, u32)>,
}

/// NS_GET_NSTYPE ioctl: which kind of namespace an nsfs file is.
fn ns_type_of(fd: &File) -> Option<i32> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: ioctl with no argument on a descriptor we own.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    (r >= 0).then_some(r)
}

/// Opens and checks every `path`, decides clone flags. `cgroup_placement_first`:
/// the child will only be moved into its cgroup after clone (cgroup v1), so a
/// new cgroup namespace must be unshared by the child after that move, or its
/// root would be the parent's cgroup.
pub fn plan(spec: &Spec, cgroup_placement_first: bool) -> Result<NamespacePlan, NamespaceError> {
    let mut new = CloneFlags::empty();
    let mut joins = Vec::new();
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    for (index, ns) in namespaces.into_iter().flatten().enumerate() {
        let kind = ns.typ();
        match ns.path() {
            None => new |= flag_of(kind),
            Some(path) => {
                let file =
                    File::open(path).map_err(|source| NamespaceError::Open { index, path: path.clone(), source })?;
                match ns_type_of(&file) {
                    None => return Err(NamespaceError::NotNamespace { index, path: path.clone() }),
                    Some(t) if t != flag_of(kind).bits() => {
                        return Err(NamespaceError::WrongType {
                            index,
                            path: path.clone(),
                            actual: name_of_flag(t),
                            expected: name_of(kind),
                        })
                    }
                    Some(_) => {}
                }
                joins.push(Join { kind, path: path.clone(), fd: file.into() });
            }
        }
    }
    joins.sort_by_key(|j| join_rank(j.kind));

    let join_user = joins.iter().any(|j| j.kind == LinuxNamespaceType::User);
    let mut parent_joins = Vec::new();
    let mut i = 0;
    while i < joins.len() {
        // pid and time joins only affect children: the parent does them, unless
        // a user namespace is joined first (the child must do it, then fork).
        let k = joins[i].kind;
        if !join_user && (k == LinuxNamespaceType::Pid || k == LinuxNamespaceType::Time) {
            parent_joins.push(joins.remove(i));
        } else {
            i += 1;
        }
    }

    let time_offsets: Vec<(String, i64, u32)> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
        .map(|m| m.iter().map(|(clock, o)| (clock.clone(), o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0))).collect())
        .unwrap_or_default();

    let new_time_flag = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    let mut clone_flags = new;
    let mut unshare_flags = CloneFlags::empty();
    let mut second_fork = false;
    let user_by_unshare = new.contains(CloneFlags::CLONE_NEWUSER) && !joins.is_empty();
    if user_by_unshare {
        // Join first (still privileged over them), then make the user
        // namespace, then everything else new, so that it belongs to the new
        // user namespace (a mount or pid namespace made before it would not
        // let the container mount anything).
        clone_flags = CloneFlags::empty();
        unshare_flags = new - CloneFlags::CLONE_NEWUSER;
        second_fork = new.contains(CloneFlags::CLONE_NEWPID) || new.contains(new_time_flag);
    } else if join_user {
        // Everything new is created after joining the user namespace.
        clone_flags = CloneFlags::empty();
        unshare_flags = new;
        // setns(pid) and unshare(CLONE_NEWPID) both place only our children
        // in the namespace: the init must be a child of the process that
        // entered it.
        let join_pid = joins.iter().any(|j| j.kind == LinuxNamespaceType::Pid);
        if new.contains(CloneFlags::CLONE_NEWPID) || join_pid {
            second_fork = true;
        }
        // unshare(CLONE_NEWPID/NEWTIME) only affects children: the second fork covers pid;
        // time goes along with it.
        if new.contains(new_time_flag) && !second_fork {
            second_fork = true;
        }
    } else {
        if new.contains(new_time_flag) && !time_offsets.is_empty() {
            // Offsets must be written before anyone enters: parent unshares.
            clone_flags.remove(new_time_flag);
        }
        if cgroup_placement_first && new.contains(CloneFlags::CLONE_NEWCGROUP) {
            clone_flags.remove(CloneFlags::CLONE_NEWCGROUP);
        }
    }

    Ok(NamespacePlan {
        clone_flags,
        unshare_flags,
        deferred_cgroupns: !join_user
            && !user_by_unshare
            && cgroup_placement_first
            && new.contains(CloneFlags::CLONE_NEWCGROUP),
        joins,
        parent_joins,
        second_fork,
        user_by_unshare,
        new_user: new.contains(CloneFlags::CLONE_NEWUSER),
        new_pid: new.contains(CloneFlags::CLONE_NEWPID),
        new_mount: new.contains(CloneFlags::CLONE_NEWNS),
        join_mount: !new.contains(CloneFlags::CLONE_NEWNS)
            && namespaces.into_iter().flatten().any(|n| n.typ() == LinuxNamespaceType::Mount),
        new_cgroup: new.contains(CloneFlags::CLONE_NEWCGROUP),
        new_net: new.contains(CloneFlags::CLONE_NEWNET),
        new_uts: new.contains(CloneFlags::CLONE_NEWUTS),
        time_offsets: if new.contains(new_time_flag) { time_offsets } else { Vec::new() },
    })
}

impl NamespacePlan {
    /// Must the child wait for the parent (id maps, cgroup placement) before
    /// doing anything at all? Otherwise it sets up what it can meanwhile and
    /// waits only before the cgroup namespace, the cgroup mount, or Ready.
    pub fn child_waits_for_go_first(&self) -> bool {
        self.new_user || !self.unshare_flags.is_empty()
    }

    /// Parent side, before clone3: join pid/time, or unshare time and write offsets.
    /// Returns the descriptors needed to restore the parent afterwards.
    pub fn enter_parent_side(&self) -> Result<Option<OwnedFd>, NamespaceError> {
        for j in &self.parent_joins {
            nix::sched::setns(j.fd.as_fd(), flag_of(j.kind)).map_err(|errno| NamespaceError::Sys {
                op: format!("join {} namespace {}", name_of(j.kind), j.path.display()),
                errno,
            })?;
        }
        if self.time_offsets.is_empty() {
            return Ok(None);
        }
        let own = File::open("/proc/self/ns/time")
            .map_err(|e| NamespaceError::WriteMap { path: "/proc/self/ns/time".into(), source: e })?;
        nix::sched::unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
            .map_err(|errno| NamespaceError::Sys { op: "unshare time namespace".into(), errno })?;
        let mut text = String::new();
        for (clock, secs, nanos) in &self.time_offsets {
            text.push_str(&format!("{clock} {secs} {nanos}\n"));
        }
        let proc = crate::procfs::ProcFs::open()?;
        proc.write(&proc.own("timens_offsets"), text.as_bytes())?;
        Ok(Some(own.into()))
    }

    /// Parent side, after clone3: go back to our own time namespace for children.
    pub fn leave_parent_side(own_time: Option<OwnedFd>) {
        if let Some(fd) = own_time {
            let _ = nix::sched::setns(fd.as_fd(), CloneFlags::from_bits_retain(libc::CLONE_NEWTIME));
        }
    }
}

fn format_map(maps: &[LinuxIdMapping]) -> String {
    let mut s = String::new();
    for m in maps {
        s.push_str(&format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()));
    }
    s
}

/// Writes /proc/<pid>/{uid_map,gid_map} for a child that sits in a fresh user
/// namespace. Root writes them directly; an unprivileged caller with more than
/// its own id goes through the setuid helpers newuidmap/newgidmap.
pub fn write_id_maps(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<(), NamespaceError> {
    let privileged = nix::unistd::geteuid().is_root();
    // Without privilege the kernel lets one write only "<id> <own id> 1";
    // anything else is for the setuid helpers and /etc/subuid to allow.
    let own_only =
        |maps: &[LinuxIdMapping], own: u32| maps.len() <= 1 && maps.iter().all(|m| m.host_id() == own && m.size() == 1);
    let helper_needed = !privileged
        && (!own_only(uid, nix::unistd::geteuid().as_raw()) || !own_only(gid, nix::unistd::getegid().as_raw()));
    if helper_needed {
        run_map_helper("newuidmap", pid, uid)?;
        run_map_helper("newgidmap", pid, gid)?;
        return Ok(());
    }
    // Through a private procfs: a map written elsewhere would leave the
    // container's ids unmapped at best (CVE-2025-52881).
    let proc = crate::procfs::ProcFs::open()?;
    if !gid.is_empty() {
        if !privileged {
            // An unprivileged writer may only map its own gid after giving up setgroups(2).
            proc.write(&format!("{pid}/setgroups"), b"deny")?;
        }
        proc.write(&format!("{pid}/gid_map"), format_map(gid).as_bytes())?;
    }
    if !uid.is_empty() {
        proc.write(&format!("{pid}/uid_map"), format_map(uid).as_bytes())?;
    }
    Ok(())
}

fn run_map_helper(helper: &str, pid: i32, maps: &[LinuxIdMapping]) -> Result<(), NamespaceError> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.arg(m.container_id().to_string()).arg(m.host_id().to_string()).arg(m.size().to_string());
    }
    let out = cmd.output().map_err(|source| NamespaceError::WriteMap {
        path: format!("{helper} (install the uidmap package for multi-range mappings)"),
        source,
    })?;
    if !out.status.success() {
        let file = if helper == "newuidmap" { "/etc/subuid" } else { "/etc/subgid" };
        let who = nix::unistd::geteuid();
        return Err(NamespaceError::WriteMap {
            path: helper.to_string(),
            source: std::io::Error::other(format!(
                "{} (the ranges of uid {who} in {file} must cover the mapping)",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        });
    }
    Ok(())
}

/// Is `path` in the same namespace of `kind` as we are?
pub fn same_as_host(kind: &str, path: &Path) -> bool {
    let ours = std::fs::metadata(format!("/proc/self/ns/{kind}"));
    let theirs = std::fs::metadata(path);
    use std::os::unix::fs::MetadataExt;
    matches!((ours, theirs), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev())
}
