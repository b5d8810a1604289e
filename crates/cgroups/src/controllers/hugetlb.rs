//! hugetlb: huge page limits per page size (`hugepageLimits`).

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::error::CgroupError;
use crate::fs::{max_or, write_file};
use crate::stats::{kv, num, Hugetlb};
use crate::v1::V1Manager;

use super::need_v2;

pub(crate) fn apply_v1(m: &V1Manager, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for h in limits {
        let d = m.need("hugetlb", "hugepageLimits")?;
        write_file(d, &format!("hugetlb.{}.limit_in_bytes", h.page_size()), &h.limit().to_string())?;
    }
    Ok(())
}

pub(crate) fn apply_v2(d: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for h in limits {
        let file = format!("hugetlb.{}.max", h.page_size());
        need_v2(d, &file, "hugepageLimits", "hugetlb")?;
        write_file(d, &file, &max_or(h.limit()))?;
    }
    Ok(())
}

/// Huge page sizes the kernel offers, in cgroup file notation (`2MB`, `1GB`).
pub fn hugepage_sizes() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/sys/kernel/mm/hugepages") else { return Vec::new() };
    let mut sizes: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name.strip_prefix("hugepages-")?.strip_suffix("kB")?.parse().ok()?;
            Some(if kb >= 1 << 20 {
                format!("{}GB", kb >> 20)
            } else if kb >= 1 << 10 {
                format!("{}MB", kb >> 10)
            } else {
                format!("{kb}KB")
            })
        })
        .collect();
    sizes.sort();
    sizes
}

pub(crate) fn stats_v1(d: &Path) -> BTreeMap<String, Hugetlb> {
    hugepage_sizes()
        .into_iter()
        .map(|size| {
            let h = Hugetlb {
                usage: num(d, &format!("hugetlb.{size}.usage_in_bytes")),
                max: num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
                failcnt: num(d, &format!("hugetlb.{size}.failcnt")),
            };
            (size, h)
        })
        .collect()
}

pub(crate) fn stats_v2(d: &Path) -> BTreeMap<String, Hugetlb> {
    hugepage_sizes()
        .into_iter()
        .map(|size| {
            let ev = kv(d, &format!("hugetlb.{size}.events"));
            let h = Hugetlb {
                usage: num(d, &format!("hugetlb.{size}.current")),
                max: 0,
                failcnt: ev.get("max").copied().unwrap_or(0),
            };
            (size, h)
        })
        .collect()
}
