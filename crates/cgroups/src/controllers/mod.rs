//! One file per controller: what it writes on cgroup v1 and on v2, the
//! conversions between the two (shares → weight live in `cpu.rs`), the
//! systemd unit properties that hold the same limits (the systemd driver
//! sets both), and what it reports in stats. The managers (`v1.rs`, `v2.rs`,
//! `systemd/`) call them in order.
//!
//! | file | v1 files | v2 files | systemd properties |
//! |---|---|---|---|
//! | `cpu.rs` | `cpu.shares`, `cpu.cfs_*`, `cpu.rt_*`, `cpu.idle`; `cpuacct.*` (stats) | `cpu.weight`, `cpu.max`, `cpu.max.burst`, `cpu.idle` | `CPUWeight`, `CPUQuotaPerSecUSec`, `CPUQuotaPeriodUSec` |
//! | `cpuset.rs` | `cpuset.cpus`, `cpuset.mems` (copied down into a new cgroup) | `cpuset.cpus`, `cpuset.mems` | `AllowedCPUs`, `AllowedMemoryNodes` |
//! | `memory.rs` | `memory.limit_in_bytes`, `memory.memsw.*`, `memory.kmem.*`, … | `memory.max`, `memory.swap.max`, `memory.low` | `MemoryMax`, `MemorySwapMax`, `MemoryLow` |
//! | `pids.rs` | `pids.max` (checked after a migration) | `pids.max` | `TasksMax` |
//! | `blkio.rs` | `blkio.weight`/`blkio.bfq.weight`, `blkio.throttle.*` | `io.weight`/`io.bfq.weight`, `io.max` | `IOWeight` |
//! | `hugetlb.rs` | `hugetlb.<size>.limit_in_bytes` | `hugetlb.<size>.max` | (none) |
//! | `devices.rs` | `devices.allow`, `devices.deny` (only the changes, from `devices_list.rs`) | an eBPF program (`devices_bpf.rs`) | (none: hull's program is the gate) |
//! | `network.rs` | `net_cls.classid`, `net_prio.ifpriomap` | (none: refused) | |
//! | `rdma.rs` | `rdma.max` | `rdma.max` | (none) |
//! | `unified.rs` | (refused) | any file named in `linux.resources.unified` | those of `memory.*`, `pids.max`, `cpu.max`, `cpu.weight`, `cpuset.*` |
//! | `freezer.rs` | `freezer.state` | `cgroup.freeze`, `cgroup.events` | |

pub mod blkio;
pub mod cpu;
pub mod cpuset;
pub mod devices;
pub mod devices_bpf;
pub mod devices_list;
pub mod freezer;
pub mod hugetlb;
pub mod memory;
pub mod network;
pub mod pids;
pub mod rdma;
pub mod unified;

use std::path::Path;

use crate::error::CgroupError;

/// cgroup v2: a controller's file must be in the container's directory (the
/// controller is enabled there) for its limits to be set.
pub(crate) fn need_v2(
    dir: &Path,
    file: &str,
    field: &'static str,
    controller: &'static str,
) -> Result<(), CgroupError> {
    if dir.join(file).exists() {
        Ok(())
    } else {
        Err(CgroupError::NoController { field, controller })
    }
}
