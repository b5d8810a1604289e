//! The state directory: `<root>/<id>/` holds `state.json` (written atomically
//! by write-then-rename) and `start.sock`, the socket on which a created
//! container's init waits for `start`. The directory is created with mkdir so
//! that two concurrent `create`s of one id cannot both win, and it is flock-ed
//! by the commands that change the container.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const STATE_FILE: &str = "state.json";
pub const START_SOCKET: &str = "start.sock";
/// The runtime-spec version hull implements (kept at the crate root, a leaf).
pub use crate::OCI_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("invalid container id {0:?}: {1}")]
    InvalidId(String, &'static str),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{path}: corrupt state: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io { op, path: path.to_path_buf(), source }
}

/// Container ids become directory names and cgroup names: keep them to a
/// portable alphabet so that no id can climb out of `--root`.
pub fn validate_id(id: &str) -> Result<(), StateError> {
    let bad = |why| Err(StateError::InvalidId(id.to_string(), why));
    if id.is_empty() {
        return bad("empty");
    }
    if id.len() > 255 {
        return bad("longer than 255 bytes (it names a directory and a cgroup)");
    }
    if id == "." || id == ".." {
        return bad("not a name");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b)) {
        return bad("only letters, digits and _ + - . are allowed");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What hull remembers about a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub oci_version: String,
    pub id: String,
    /// The status as last written; [`ContainerState::status`] is the live one.
    pub status: Status,
    pub pid: i32,
    /// `starttime` of the init from /proc/<pid>/stat: a recycled pid has a
    /// different one, so it is never mistaken for the container.
    #[serde(default)]
    pub init_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The container's cgroup directories.
    #[serde(default)]
    pub cgroup: Option<crate::cgroups::CgroupState>,
    /// Did the container get its own pid namespace? Without one, killing the
    /// init does not take the other processes down: `delete` signals the cgroup.
    #[serde(default)]
    pub own_pid_ns: bool,
    #[serde(default)]
    pub paused: bool,
    /// Poststart and poststop hooks from config.json, kept for `start` and `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststart_hooks: Option<Vec<oci_spec::runtime::Hook>>,
    /// Where a seccomp notification listener goes (SCMP_ACT_NOTIFY profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_listener: Option<crate::seccomp::Listener>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poststop_hooks: Option<Vec<oci_spec::runtime::Hook>>,
    /// A container without a mount namespace of its own mounts into its
    /// rootfs in the host's namespace: those mounts, for `delete` to undo
    /// (runc leaves them behind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_mounts: Vec<PathBuf>,
    /// linux.resources as applied: config.json's, with every `update` merged
    /// in (a later update of one value is computed against the others, as
    /// the memory + swap pair needs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
}

/// What the process looks like in /proc/<pid>/stat.
pub struct ProcStat {
    pub state: u8,
    pub start_time: u64,
}

/// Parsed by procfs-core (which also finds the fields after a command name
/// with spaces or parentheses in it).
pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    use procfs_core::FromRead;
    if pid <= 0 {
        return None;
    }
    let stat = procfs_core::process::Stat::from_read(File::open(format!("/proc/{pid}/stat")).ok()?).ok()?;
    Some(ProcStat { state: u8::try_from(stat.state).ok()?, start_time: stat.starttime })
}

impl ContainerState {
    /// Is the init still the process we started (not exited, not a zombie, not a recycled pid)?
    pub fn init_alive(&self) -> bool {
        match proc_stat(self.pid) {
            Some(s) => s.start_time == self.init_start_time && s.state != b'Z' && s.state != b'X',
            None => false,
        }
    }

    /// The live status: stored facts checked against the kernel.
    pub fn status(&self, dir: &Path) -> Status {
        if self.status == Status::Creating {
            return if self.pid > 0 && self.init_alive() { Status::Creating } else { Status::Stopped };
        }
        if !self.init_alive() {
            return Status::Stopped;
        }
        if dir.join(START_SOCKET).exists() {
            return Status::Created;
        }
        if self.paused {
            return Status::Paused;
        }
        Status::Running
    }

    /// The runtime-spec state, in runc's field order: `hull state` and
    /// `list --format json` print it, and scripts match that text.
    pub fn oci_state(&self, status: Status) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: if status == Status::Stopped { 0 } else { self.pid },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            annotations: &self.annotations,
            owner: std::borrow::Cow::Borrowed(&self.owner),
        }
    }

    /// The same as a JSON value (what hooks read on stdin).
    pub fn oci_json(&self, status: Status) -> serde_json::Value {
        serde_json::to_value(self.oci_state(status)).unwrap_or_default()
    }
}

fn no_annotations(a: &&HashMap<String, String>) -> bool {
    a.is_empty()
}

/// runc's `state` object: its Go struct's field order (ociVersion, id, pid,
/// status, bundle, rootfs, created, annotations when there are any, owner).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "no_annotations")]
    pub annotations: &'a HashMap<String, String>,
    pub owner: std::borrow::Cow<'a, str>,
}

/// `<root>/<id>`, after validating both.
pub fn container_dir(root: &Path, id: &str) -> Result<PathBuf, StateError> {
    validate_id(id)?;
    Ok(root.join(id))
}

/// Creates `--root` (0700) if needed and claims `<root>/<id>` for a new
/// container. mkdir is atomic: exactly one of several racing creates wins.
pub fn claim_dir(root: &Path, id: &str) -> Result<(PathBuf, File), StateError> {
    let dir = container_dir(root, id)?;
    let mut builder = fs::DirBuilder::new();
    builder.mode(0o700);
    match builder.create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(StateError::Exists(id.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            builder.recursive(true).create(root).map_err(io("create state root", root))?;
            builder.recursive(false);
            match builder.create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(StateError::Exists(id.to_string()))
                }
                Err(e) => return Err(io("create state dir", &dir)(e)),
            }
        }
        Err(e) => return Err(io("create state dir", &dir)(e)),
    }
    let lock = lock_dir(&dir)?;
    Ok((dir, lock))
}

/// Takes an exclusive flock on the container's directory (released when the
/// returned file is dropped or the process dies).
pub fn lock_dir(dir: &Path) -> Result<File, StateError> {
    let f =
        fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC).open(dir).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StateError::NotFound(dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            } else {
                io("open state dir", dir)(e)
            }
        })?;
    crate::sys::flock_exclusive(f.as_raw_fd()).map_err(|e| io("lock state dir", dir)(e.into()))?;
    Ok(f)
}

/// The container's state read under its lock, for commands that change the
/// container: what they act on cannot change between the read and the act.
pub fn load_locked(root: &Path, id: &str) -> Result<(PathBuf, File, ContainerState), StateError> {
    let dir = container_dir(root, id)?;
    let lock = lock_dir(&dir).map_err(|e| match e {
        StateError::NotFound(_) => StateError::NotFound(id.to_string()),
        e => e,
    })?;
    let (_, st) = load(root, id)?;
    Ok((dir, lock, st))
}

pub fn load(root: &Path, id: &str) -> Result<(PathBuf, ContainerState), StateError> {
    let dir = container_dir(root, id)?;
    let path = dir.join(STATE_FILE);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StateError::NotFound(id.to_string())),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let state = serde_json::from_slice(&text).map_err(|source| StateError::Corrupt { path, source })?;
    Ok((dir, state))
}

/// Writes state.json through a temporary file and rename(2), so a reader (or a
/// crash, or a full disk) never sees half a file.
pub fn save(dir: &Path, state: &ContainerState) -> Result<(), StateError> {
    let tmp = dir.join(".state.json.tmp");
    let text = serde_json::to_vec(state).map_err(|source| StateError::Corrupt { path: tmp.clone(), source })?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("write", &tmp))?;
    if let Err(e) = f.write_all(&text) {
        let _ = fs::remove_file(&tmp);
        return Err(io("write", &tmp)(e));
    }
    drop(f);
    let path = dir.join(STATE_FILE);
    fs::rename(&tmp, &path).map_err(io("rename", &path))
}

/// Lists the ids under `--root` (directories only, sorted).
pub fn list_ids(root: &Path) -> Result<Vec<String>, StateError> {
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("read", root)(e)),
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|id| validate_id(id).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// RFC 3339 UTC timestamp with nanoseconds, like runc's `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1_2.3+x").is_ok());
        for bad in ["", ".", "..", "a/b", "../x", "a\0b", "a b"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_id(&"x".repeat(256)).is_err());
        assert!(validate_id(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_700_000_000, 5), "2023-11-14T22:13:20.000000005Z");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn own_stat_is_readable() {
        let s = proc_stat(std::process::id() as i32).unwrap();
        assert!(s.state.is_ascii_uppercase());
        assert!(s.start_time > 0);
    }
}
