//! Commands on a running container's cgroup: pause, resume, ps, events,
//! update — and `features`, what this build supports.

use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;
use serde::Serialize;

use super::{live_status, ContainerError};
use crate::cgroups::{self, CgroupManager, Stats};
use crate::state::{self, ContainerState, Status};

fn manager(st: &ContainerState) -> Result<Box<dyn CgroupManager>, ContainerError> {
    st.cgroup
        .as_ref()
        .map(cgroups::from_state)
        .ok_or_else(|| ContainerError::Usage(format!("container {} has no cgroup", st.id)))
}

/// `pause`: freeze every process of the container.
pub fn pause(root: &Path, id: &str) -> Result<(), ContainerError> {
    set_frozen(root, id, true)
}

/// `resume`: thaw a paused container.
pub fn resume(root: &Path, id: &str) -> Result<(), ContainerError> {
    set_frozen(root, id, false)
}

fn set_frozen(root: &Path, id: &str, frozen: bool) -> Result<(), ContainerError> {
    let (dir, _lock, mut st) = state::load_locked(root, id)?;
    let status = live_status(&dir, &st);
    let (from, what) =
        if frozen { (Status::Running, "container not running") } else { (Status::Paused, "container not paused") };
    if status != from {
        return Err(ContainerError::WrongStatus { id: id.into(), status, what: what.into() });
    }
    let cg = manager(&st)?;
    if frozen {
        cg.freeze()?;
    } else {
        cg.thaw()?;
    }
    st.paused = frozen;
    state::save(&dir, &st)?;
    Ok(())
}

/// `ps`: the host pids of the container's processes.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>, ContainerError> {
    let (_, st) = state::load(root, id)?;
    let mut p = manager(&st)?.pids()?;
    p.sort_unstable();
    Ok(p)
}

/// `events` of a stopped container: runc's words, which engines' metrics
/// collectors match.
fn refuse_stopped(dir: &Path, st: &ContainerState) -> Result<(), ContainerError> {
    let status = live_status(dir, st);
    if status == Status::Stopped {
        return Err(ContainerError::WrongStatus {
            id: st.id.clone(),
            status,
            what: format!("container with id {} is not running", st.id),
        });
    }
    Ok(())
}

/// One line of `events`, in the field order of runc's `types.Event`
/// (`{"type":"stats","id":…,"data":{…}}`, `{"type":"oom","id":…}`):
/// scripts match its beginning textually.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a Stats>,
}

/// `events --stats`: the usage once.
pub fn stats(root: &Path, id: &str) -> Result<Stats, ContainerError> {
    let (dir, st) = state::load(root, id)?;
    refuse_stopped(&dir, &st)?;
    Ok(manager(&st)?.stats()?)
}

/// `events`: calls `emit` with a stats event every `interval` and an `oom`
/// event as soon as the kernel counts an OOM kill, until the container stops.
pub fn events(
    root: &Path,
    id: &str,
    interval: Duration,
    emit: &mut dyn FnMut(&Event<'_>),
) -> Result<(), ContainerError> {
    let (dir, st) = state::load(root, id)?;
    refuse_stopped(&dir, &st)?;
    let cg = manager(&st)?;
    let tick = Duration::from_millis(100).min(interval);
    let mut next_stats = Instant::now();
    let mut ooms = cg.stats().ok().and_then(|s| s.memory.oom_kill).unwrap_or(0);
    loop {
        let stats = cg.stats()?;
        if let Some(n) = stats.memory.oom_kill {
            if n > ooms {
                emit(&Event { kind: "oom", id, data: None });
            }
            ooms = n;
        }
        if Instant::now() >= next_stats {
            emit(&Event { kind: "stats", id, data: Some(&stats) });
            next_stats += interval;
        }
        if live_status(&dir, &st) == Status::Stopped {
            return Ok(());
        }
        std::thread::sleep(tick);
    }
}

/// `update`: writes new limits to a live container's cgroup.
pub fn update(root: &Path, id: &str, resources: &LinuxResources) -> Result<(), ContainerError> {
    let (dir, _lock, mut st) = state::load_locked(root, id)?;
    let status = live_status(&dir, &st);
    if status == Status::Stopped {
        return Err(ContainerError::WrongStatus { id: id.into(), status, what: "container not running".into() });
    }
    let mut resources = resources.clone();
    if let Some(devs) = resources.devices().clone() {
        // New device rules replace the old ones under the same policy as at
        // create: deny-all first, the defaults after. (runc 1.1's update
        // leaves device rules alone; hull applies them, without a window.)
        let rules = if nix::unistd::geteuid().is_root() { Some(super::device_policy(Some(&devs))) } else { None };
        resources.set_devices(rules);
    }
    if let Some(m) = resources.memory().filter(|m| m.limit() == Some(-1) && m.swap().is_none()) {
        // As runc: no memory limit and no word about swap means no swap
        // limit either. The old memory+swap limit would otherwise stay
        // below an unlimited memory limit, which v1 refuses (EINVAL) and v2
        // cannot express.
        let mut m = m;
        m.set_swap(Some(-1));
        resources.set_memory(Some(m));
    }
    let (to_apply, merged) = merge_update(st.resources.as_ref(), &resources);
    manager(&st)?.apply(&to_apply)?;
    st.resources = Some(merged);
    state::save(&dir, &st)?;
    Ok(())
}

/// What an update writes, and the resources remembered afterwards. The
/// memory limit and the swap limit are one pair (cgroup v2 keeps swap apart
/// from memory, v1 bounds memory + swap): updating one is computed against
/// the other's current value.
fn merge_update(stored: Option<&LinuxResources>, new: &LinuxResources) -> (LinuxResources, LinuxResources) {
    let mut merged: serde_json::Value =
        stored.and_then(|s| serde_json::to_value(s).ok()).unwrap_or_else(|| serde_json::json!({}));
    let update = serde_json::to_value(new).unwrap_or_default();
    merge_json(&mut merged, &update);
    let merged: LinuxResources = serde_json::from_value(merged).unwrap_or_else(|_| new.clone());
    let mut apply = new.clone();
    if let (Some(m), Some(all)) = (new.memory(), merged.memory()) {
        if m.limit().is_some() || m.swap().is_some() {
            let mut m = *m;
            m.set_limit(m.limit().or(all.limit()));
            m.set_swap(m.swap().or(all.swap()));
            apply.set_memory(Some(m));
        }
    }
    (apply, merged)
}

/// Values of `new` replace those of `base`, object by object.
fn merge_json(base: &mut serde_json::Value, new: &serde_json::Value) {
    match (base, new) {
        (serde_json::Value::Object(b), serde_json::Value::Object(n)) => {
            for (k, v) in n {
                if v.is_null() {
                    continue;
                }
                merge_json(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, n) => *b = n.clone(),
    }
}

/// Where `features` keeps whether `criu check` passed (not a container id:
/// `~` is not allowed in one).
pub const CRIU_CHECK_CACHE: &str = "criu-check~";

/// `features`: what this runtime supports, in the runtime-spec's features
/// document shape (what engines query before using optional things).
/// `root` (--root) keeps the cached answer of `criu check`.
pub fn features(root: &Path) -> serde_json::Value {
    let checkpoint = crate::criu::checkpoint_enabled(&root.join(CRIU_CHECK_CACHE));
    let caps = crate::process::caps::known_names();
    let mount_options: Vec<&str> = [
        "async",
        "atime",
        "bind",
        "defaults",
        "dev",
        "diratime",
        "dirsync",
        "exec",
        "idmap",
        "iversion",
        "lazytime",
        "loud",
        "mand",
        "noatime",
        "nodev",
        "nodiratime",
        "noexec",
        "noiversion",
        "nolazytime",
        "nomand",
        "norelatime",
        "nostrictatime",
        "nosuid",
        "nosymfollow",
        "private",
        "rbind",
        "rdev",
        "rdiratime",
        "relatime",
        "remount",
        "rexec",
        "ridmap",
        "rnoatime",
        "rnodev",
        "rnodiratime",
        "rnoexec",
        "rnorelatime",
        "rnostrictatime",
        "rnosuid",
        "rnosymfollow",
        "ro",
        "rprivate",
        "rrelatime",
        "rro",
        "rrw",
        "rshared",
        "rslave",
        "rstrictatime",
        "rsuid",
        "rsymfollow",
        "runbindable",
        "rw",
        "shared",
        "silent",
        "slave",
        "strictatime",
        "suid",
        "symfollow",
        "sync",
        "tmpcopyup",
        "unbindable",
    ]
    .to_vec();
    let personality_flags: Vec<&str> = crate::process::PERSONALITY_FLAGS.iter().map(|(name, _)| *name).collect();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": state::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": { "v1": true, "v2": true, "systemd": true, "systemdUser": true, "rdma": true },
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
            },
            "apparmor": { "enabled": std::path::Path::new("/sys/module/apparmor").exists() },
            "selinux": { "enabled": std::path::Path::new("/sys/fs/selinux/enforce").exists() },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": crate::sys::is_root() } },
            "netDevices": { "enabled": true },
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                          "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            }
        },
        // The features schema has no place for these: hull's own keys say
        // what linux.personality and process.execCPUAffinity may hold.
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": checkpoint.to_string(),
            "hull.linux.personality.domains": "LINUX,LINUX32",
            "hull.linux.personality.flags": personality_flags.join(","),
            "hull.process.execCPUAffinity": "initial,final"
        }
    })
}
