//! Idmapped mounts (`idmap`/`ridmap` options, mount-level uid/gid
//! mappings): MOUNT_ATTR_IDMAP needs a user namespace that carries the
//! mapping. hull makes one per distinct mapping with a child that only waits
//! in it while the maps are written and the namespace opened, then exits;
//! the descriptor keeps the namespace alive.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::RootfsError;
use crate::procfs::ProcFs;
use crate::spec::MountIdMaps;
use crate::sys::{self, Forked};

#[derive(Default)]
pub struct UsernsCache {
    made: Vec<(MountIdMaps, OwnedFd)>,
}

fn err(errno: Errno) -> RootfsError {
    RootfsError::Path { op: "make a user namespace for an idmapped mount", path: "/".into(), errno }
}

impl UsernsCache {
    /// A user namespace with these maps (made once per distinct mapping).
    pub fn get(&mut self, maps: &MountIdMaps) -> Result<&OwnedFd, RootfsError> {
        if let Some(i) = self.made.iter().position(|(m, _)| m == maps) {
            return Ok(&self.made[i].1);
        }
        let fd = userns_with_maps(maps)?;
        self.made.push((maps.clone(), fd));
        Ok(&self.made.last().expect("just pushed").1)
    }
}

fn format_map(maps: &[oci_spec::runtime::LinuxIdMapping]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect()
}

fn userns_with_maps(maps: &MountIdMaps) -> Result<OwnedFd, RootfsError> {
    let (wait_r, wait_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(err)?;
    let (pid, pidfd) = match sys::clone3(libc::CLONE_NEWUSER as u64, None).map_err(err)? {
        Forked::Child => {
            // Waits for the parent to close its end, then leaves. Nothing
            // here allocates.
            drop(wait_w);
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(wait_r.as_raw_fd(), &mut b);
            sys::exit_now(0);
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(wait_r);
    let result = (|| {
        let proc = ProcFs::open().map_err(|e| err(e.errno()))?;
        proc.write(&format!("{pid}/uid_map"), format_map(&maps.uid).as_bytes()).map_err(|e| err(e.errno()))?;
        proc.write(&format!("{pid}/setgroups"), b"deny").map_err(|e| err(e.errno()))?;
        proc.write(&format!("{pid}/gid_map"), format_map(&maps.gid).as_bytes()).map_err(|e| err(e.errno()))?;
        proc.open_link(&format!("{pid}/ns"), "user", libc::O_RDONLY).map_err(|e| err(e.errno()))
    })();
    drop(wait_w);
    let _ = nix::sys::wait::waitid(
        nix::sys::wait::Id::PIDFd(std::os::fd::AsFd::as_fd(&pidfd)),
        nix::sys::wait::WaitPidFlag::WEXITED,
    );
    result
}
