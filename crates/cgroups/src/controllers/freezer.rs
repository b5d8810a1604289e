//! freezer: pause and resume. v1 writes `freezer.state`; v2 writes
//! `cgroup.freeze` and reads the result in `cgroup.events`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};

/// How long to wait for the last task to stop: 2000 tries, 100 µs apart at
/// first, then 1 ms (about 2 s in all).
const TRIES: u32 = 2000;

fn pause(try_no: u32) {
    std::thread::sleep(Duration::from_micros(if try_no < 10 { 100 } else { 1000 }));
}

fn did_not_freeze() -> CgroupError {
    CgroupError::Invalid { field: "freezer", msg: "the container did not freeze within 2 s".into() }
}

/// v1 (`d`: the container's freezer directory).
pub(crate) fn freeze_v1(d: &Path) -> Result<(), CgroupError> {
    // Writing FROZEN starts freezing; the state reads FREEZING until every
    // task stopped. Re-writing nudges tasks that were forking meanwhile.
    for i in 0..TRIES {
        write_file(d, "freezer.state", "FROZEN")?;
        if read_file(d, "freezer.state")?.trim() == "FROZEN" {
            return Ok(());
        }
        pause(i);
    }
    let _ = write_file(d, "freezer.state", "THAWED");
    Err(did_not_freeze())
}

pub(crate) fn thaw_v1(d: &Path) -> Result<(), CgroupError> {
    write_file(d, "freezer.state", "THAWED")
}

pub(crate) fn is_frozen_v1(d: &Path) -> bool {
    read_file(d, "freezer.state").map(|s| s.trim() == "FROZEN").unwrap_or(false)
}

/// v1: the first directory from `d` up to (not including) the hierarchy's
/// root `mount` that is frozen or freezing; directories not made yet are
/// skipped. The lowest existing one says it all: `freezer.parent_freezing`
/// is 1 below any frozen ancestor. Reading `freezer.state` instead would
/// cost the kernel a walk over every cgroup below the one read (it updates
/// their states first): reading hull's parent, with hundreds of containers
/// under it, made each create slower than the one before.
pub(crate) fn frozen_on_path_v1(mount: &Path, d: &Path) -> Option<PathBuf> {
    let lowest = d.ancestors().take_while(|a| a.starts_with(mount) && *a != mount).find(|a| a.is_dir())?;
    let freezing = |file| read_file(lowest, file).is_ok_and(|s| s.trim() == "1");
    (freezing("freezer.self_freezing") || freezing("freezer.parent_freezing")).then(|| lowest.to_path_buf())
}

/// v2: the directory from `d` up to (not including) the root `root` whose
/// `cgroup.freeze` is 1: a freeze holds every cgroup below it.
pub(crate) fn frozen_on_path_v2(root: &Path, d: &Path) -> Option<PathBuf> {
    d.ancestors()
        .take_while(|a| a.starts_with(root) && *a != root)
        .find(|a| read_file(a, "cgroup.freeze").is_ok_and(|s| s.trim() == "1"))
        .map(Path::to_path_buf)
}

/// v2 (`d`: the container's directory).
pub(crate) fn freeze_v2(d: &Path) -> Result<(), CgroupError> {
    write_file(d, "cgroup.freeze", "1")?;
    for i in 0..TRIES {
        if is_frozen_v2(d) {
            return Ok(());
        }
        pause(i);
    }
    let _ = write_file(d, "cgroup.freeze", "0");
    Err(did_not_freeze())
}

pub(crate) fn thaw_v2(d: &Path) -> Result<(), CgroupError> {
    write_file(d, "cgroup.freeze", "0")
}

pub(crate) fn is_frozen_v2(d: &Path) -> bool {
    read_file(d, "cgroup.events").map(|s| s.lines().any(|l| l == "frozen 1")).unwrap_or(false)
}
