//! unified: `linux.resources.unified`, cgroup v2 files written as given.

use std::collections::HashMap;
use std::path::Path;

use crate::error::CgroupError;
use crate::fs::write_file;

pub(crate) fn apply_v1(u: &HashMap<String, String>) -> Result<(), CgroupError> {
    if !u.is_empty() {
        return Err(CgroupError::Invalid {
            field: "unified",
            // runc's words: engines and scripts look for "invalid configuration".
            msg: "invalid configuration: cannot use unified on cgroup v1 (this host's controllers are v1)".into(),
        });
    }
    Ok(())
}

/// Only resource files of the container's own directory: no path, and none
/// of the `cgroup.*` interface files but freeze and type.
pub(crate) fn apply_v2(d: &Path, u: &HashMap<String, String>) -> Result<(), CgroupError> {
    for (k, v) in u {
        if k.contains('/') || k.starts_with("cgroup.") && k != "cgroup.freeze" && k != "cgroup.type" {
            return Err(CgroupError::Invalid { field: "unified", msg: format!("{k:?} is not a cgroup resource file") });
        }
        write_file(d, k, v)?;
    }
    Ok(())
}
