//! rdma: `rdma.max`, per device (HCA handles and objects).

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::LinuxRdma;

use crate::error::CgroupError;
use crate::fs::write_file;
use crate::v1::V1Manager;

use super::need_v2;

/// v1 writes only the limits given.
pub(crate) fn apply_v1(m: &V1Manager, rdma: &HashMap<String, LinuxRdma>) -> Result<(), CgroupError> {
    for (dev, l) in rdma {
        let mut v = dev.clone();
        if let Some(h) = l.hca_handles() {
            v.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            v.push_str(&format!(" hca_object={o}"));
        }
        write_file(m.need("rdma", "rdma")?, "rdma.max", &v)?;
    }
    Ok(())
}

/// v2 writes both, `max` for the one not given.
pub(crate) fn apply_v2(d: &Path, rdma: &HashMap<String, LinuxRdma>) -> Result<(), CgroupError> {
    for (dev, l) in rdma {
        let mut v = dev.clone();
        v.push_str(&format!(" hca_handle={}", l.hca_handles().map(|h| h.to_string()).unwrap_or_else(|| "max".into())));
        v.push_str(&format!(" hca_object={}", l.hca_objects().map(|h| h.to_string()).unwrap_or_else(|| "max".into())));
        need_v2(d, "rdma.max", "rdma", "rdma")?;
        write_file(d, "rdma.max", &v)?;
    }
    Ok(())
}
