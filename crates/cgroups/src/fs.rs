//! Reading and writing cgroup files and directories.

use std::io::Read;
use std::path::Path;

use crate::error::{io_err, CgroupError};

/// Writes one value to one cgroup file.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|source| CgroupError::Write { path, value: value.to_string(), source })
}

pub(crate) fn read_file(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    let mut s = String::new();
    std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut s)).map_err(io_err("read", &path))?;
    Ok(s)
}

/// mkdir -p. The `hull` parent of the default path stays when its last
/// container goes, as the engines' parents (`/default`, `kubepods`) do under
/// runc: making and removing it in every hierarchy for each container would
/// add two dozen cgroup mkdir/rmdir calls to every lifecycle.
pub(crate) fn make_dir(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))
}

/// rmdir that waits a little while the kernel finishes tearing down exiting
/// tasks (EBUSY right after a SIGKILL is normal).
pub(crate) fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let mut delay = std::time::Duration::from_micros(200);
    for _ in 0..40 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(io_err("remove", dir)(e)),
        }
    }
    std::fs::remove_dir(dir).map_err(io_err("remove", dir))
}

/// Removes `dir` and every sub-cgroup below it (a container may make its
/// own, and move processes there), deepest first: a cgroup with children
/// cannot be removed.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    // Nearly always a leaf whose tasks are gone: one rmdir, no scan. The
    // kernel answers EBUSY for a cgroup with sub-cgroups (or tasks still
    // exiting), and only then is the tree read.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
        Err(e) => return Err(io_err("remove", dir)(e)),
    }
    let mut dirs = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < dirs.len() {
        let children = subdirs(&dirs[i]);
        dirs.extend(children);
        i += 1;
    }
    for d in dirs.iter().rev() {
        remove_dir(d)?;
    }
    Ok(())
}

/// The pids in `dir`'s cgroup and every sub-cgroup below it.
pub(crate) fn pids_in_tree(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        out.extend(read_pids(&d.join("cgroup.procs"))?);
        stack.extend(subdirs(&d));
    }
    Ok(out)
}

/// The pids listed in a `cgroup.procs` (none when the cgroup is gone).
pub(crate) fn read_pids(file: &Path) -> Result<Vec<i32>, CgroupError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("read", file)(e)),
    };
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Subdirectories of `dir` (a container may make sub-cgroups of its own).
pub(crate) fn subdirs(dir: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.path())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A v2 limit: negative means none (`max`).
pub(crate) fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}
