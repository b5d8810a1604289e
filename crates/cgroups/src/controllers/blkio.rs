//! blkio (v1) and io (v2): weights, per-device weights and throttles
//! (`linux.resources.blockIO`); bytes and operations served, for stats.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::error::CgroupError;
use crate::fs::{read_file, write_file};
use crate::stats::{Blkio, BlkioEntry};
use crate::systemd::dbus::Value;
use crate::systemd::Property;
use crate::v1::V1Manager;

use super::need_v2;

/// blkio weight (10..1000) to io.weight (1..10000).
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (weight.clamp(10, 1000) as u64 - 10) * 9999 / 990
}

/// The four throttle lists, with the suffix v1's file names and v2's io.max
/// keys share (`read_bps` / `rbps`).
fn throttles(b: &LinuxBlockIo) -> [(&'static str, &'static str, &Option<Vec<LinuxThrottleDevice>>); 4] {
    [
        ("blkio.throttle.read_bps_device", "rbps", b.throttle_read_bps_device()),
        ("blkio.throttle.write_bps_device", "wbps", b.throttle_write_bps_device()),
        ("blkio.throttle.read_iops_device", "riops", b.throttle_read_iops_device()),
        ("blkio.throttle.write_iops_device", "wiops", b.throttle_write_iops_device()),
    ]
}

/// Does `b` set anything? Docker writes 0 weights for "not set".
fn wants_v1(b: &LinuxBlockIo) -> bool {
    b.weight().is_some_and(|w| w > 0)
        || b.leaf_weight().is_some_and(|w| w > 0)
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || throttles(b).iter().any(|(_, _, v)| v.as_ref().is_some_and(|v| !v.is_empty()))
}

pub(crate) fn apply_v1(m: &V1Manager, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    if !wants_v1(b) {
        return Ok(());
    }
    let d = m.need("blkio", "blockIO")?;
    // CFQ's blkio.weight is gone with CFQ; BFQ offers blkio.bfq.weight.
    let weight_file = if d.join("blkio.weight").exists() { "blkio.weight" } else { "blkio.bfq.weight" };
    let wants_weight =
        b.weight().is_some_and(|w| w > 0) || b.weight_device().iter().flatten().any(|w| w.weight().is_some());
    if wants_weight && !d.join(weight_file).exists() {
        return Err(CgroupError::Invalid {
            field: "blockIO.weight",
            msg: "this host has neither blkio.weight (CFQ) nor blkio.bfq.weight (the BFQ scheduler is not in use)"
                .into(),
        });
    }
    let wants_leaf =
        b.leaf_weight().is_some_and(|w| w > 0) || b.weight_device().iter().flatten().any(|w| w.leaf_weight().is_some());
    if wants_leaf && !d.join("blkio.leaf_weight").exists() {
        return Err(CgroupError::Invalid {
            field: "blockIO.leafWeight",
            msg: "leaf weights went away with the CFQ scheduler: this kernel has no blkio.leaf_weight".into(),
        });
    }
    if let Some(w) = b.weight().filter(|w| *w > 0) {
        write_file(d, weight_file, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w > 0) {
        write_file(d, "blkio.leaf_weight", &w.to_string())?;
    }
    for wd in b.weight_device().iter().flatten() {
        if let Some(w) = wd.weight() {
            let file = if weight_file == "blkio.weight" { "blkio.weight_device" } else { "blkio.bfq.weight_device" };
            write_file(d, file, &format!("{}:{} {w}", wd.major(), wd.minor()))?;
        }
        if let Some(w) = wd.leaf_weight() {
            write_file(d, "blkio.leaf_weight_device", &format!("{}:{} {w}", wd.major(), wd.minor()))?;
        }
    }
    for (file, _, list) in throttles(b) {
        for t in list.iter().flatten() {
            write_file(d, file, &format!("{}:{} {}", t.major(), t.minor(), t.rate()))?;
        }
    }
    Ok(())
}

pub(crate) fn apply_v2(d: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let bfq = d.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|w| *w > 0) {
        if bfq {
            write_file(d, "io.bfq.weight", &w.to_string())?;
        } else {
            need_v2(d, "io.weight", "blockIO.weight", "io")?;
            write_file(d, "io.weight", &blkio_weight_to_io(w).to_string())?;
        }
    }
    for wd in b.weight_device().iter().flatten() {
        if let Some(w) = wd.weight() {
            let (file, v) = if bfq { ("io.bfq.weight", w as u64) } else { ("io.weight", blkio_weight_to_io(w)) };
            write_file(d, file, &format!("{}:{} {v}", wd.major(), wd.minor()))?;
        }
    }
    for (_, key, list) in throttles(b) {
        for t in list.iter().flatten() {
            need_v2(d, "io.max", "blockIO.throttle", "io")?;
            let rate = if t.rate() == 0 { "max".to_string() } else { t.rate().to_string() };
            write_file(d, "io.max", &format!("{}:{} {key}={rate}", t.major(), t.minor()))?;
        }
    }
    Ok(())
}

/// The systemd driver's unit property: `IOWeight` (io.weight's scale). The
/// per-device weights and throttles are written to the cgroup only: systemd
/// names devices by path and leaves the others' lines alone.
pub(crate) fn unit_properties(b: &LinuxBlockIo) -> Vec<Property> {
    b.weight().filter(|w| *w > 0).map(|w| ("IOWeight".into(), Value::U64(blkio_weight_to_io(w)))).into_iter().collect()
}

fn blkio_entries(dir: &Path, file: &str) -> Vec<BlkioEntry> {
    read_file(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let dev = it.next()?;
            let op = it.next()?;
            let value = it.next()?.parse().ok()?;
            let (ma, mi) = dev.split_once(':')?;
            Some(BlkioEntry { major: ma.parse().ok()?, minor: mi.parse().ok()?, op: op.to_string(), value })
        })
        .collect()
}

pub(crate) fn stats_v1(d: &Path) -> Blkio {
    Blkio {
        io_service_bytes_recursive: blkio_entries(d, "blkio.throttle.io_service_bytes_recursive"),
        io_serviced_recursive: blkio_entries(d, "blkio.throttle.io_serviced_recursive"),
    }
}

/// `io.stat`: one line per device, `rbytes=… wbytes=… rios=… wios=…`.
pub(crate) fn stats_v2(d: &Path) -> Blkio {
    let mut s = Blkio::default();
    for line in read_file(d, "io.stat").unwrap_or_default().lines() {
        let mut it = line.split_whitespace();
        let Some((ma, mi)) = it.next().and_then(|dev| dev.split_once(':')) else { continue };
        let (Ok(major), Ok(minor)) = (ma.parse(), mi.parse()) else { continue };
        for kvp in it {
            let Some((k, v)) = kvp.split_once('=') else { continue };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut s.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.io_serviced_recursive, "Read"),
                "wios" => (&mut s.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry { major, minor, op: op.into(), value });
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_weight_conversion() {
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
        assert_eq!(blkio_weight_to_io(500), 4950);
    }
}
