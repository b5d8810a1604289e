//! network: `net_cls.classid` and `net_prio.ifpriomap` (cgroup v1 only).

use oci_spec::runtime::LinuxNetwork;

use crate::error::CgroupError;
use crate::fs::write_file;
use crate::v1::V1Manager;

pub(crate) fn apply_v1(m: &V1Manager, n: &LinuxNetwork) -> Result<(), CgroupError> {
    if let Some(c) = n.class_id() {
        write_file(m.need("net_cls", "network.classID")?, "net_cls.classid", &c.to_string())?;
    }
    for p in n.priorities().iter().flatten() {
        write_file(
            m.need("net_prio", "network.priorities")?,
            "net_prio.ifpriomap",
            &format!("{} {}", p.name(), p.priority()),
        )?;
    }
    Ok(())
}

pub(crate) fn apply_v2(n: &LinuxNetwork) -> Result<(), CgroupError> {
    if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(CgroupError::Invalid {
            field: "network",
            msg: "net_cls/net_prio do not exist on cgroup v2".into(),
        });
    }
    Ok(())
}
