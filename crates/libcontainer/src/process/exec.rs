//! `hull exec`, the child side: a process cloned by `hull exec` that joins
//! every namespace of a running container through the init's pidfd (one
//! setns call), takes on the exec process's attributes, and execs. No
//! re-exec of hull, nothing mounted: the container's mount table does not
//! grow with each exec.

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;

use super::init::InitError;
use super::sync::{Channel, Message};
use super::ProcessPlan;
use crate::sys;
use crate::terminal;

/// What the exec child needs, prepared by the parent.
pub struct ExecConfig<'a> {
    /// pidfd of the container's init: the namespaces to join.
    pub init: &'a OwnedFd,
    /// Namespaces that differ from hull's own (user, mnt, net, ipc, uts, cgroup).
    pub join: CloneFlags,
    /// Move ourselves into the container's cgroup first (cgroup v1).
    pub cgroup_join: Option<&'a dyn crate::cgroups::CgroupManager>,
    pub process: ProcessPlan,
    pub preserve_fds: u32,
    pub console_socket: Option<&'a OwnedFd>,
    /// `process.execCPUAffinity.final`: the CPUs once inside.
    pub final_cpu_affinity: Option<super::affinity::CpuMask>,
}

/// Runs in the child of `hull exec`; never returns.
pub fn run(cfg: ExecConfig<'_>, mut chan: Channel) -> ! {
    match exec(cfg, &mut chan) {
        Ok(never) => match never {},
        Err(e) => {
            let _ = chan.send(&Message::Error { errno: e.errno(), message: e.to_string() });
            if matches!(e, InitError::Process(super::ProcessError::Execve { .. })) {
                eprintln!("hull: {e}");
            }
            sys::exit_now(match e.errno() {
                libc::ENOENT => 127,
                libc::EACCES => 126,
                _ => 1,
            });
        }
    }
}

fn sys_err(op: &'static str) -> impl FnOnce(Errno) -> InitError {
    move |errno| InitError::Sys { op: op.to_string(), errno }
}

fn exec(mut cfg: ExecConfig<'_>, chan: &mut Channel) -> Result<Infallible, InitError> {
    // CVE-2019-5736: until execve replaces it, this process runs hull's binary
    // inside the container. Non-dumpable, no process of the container may
    // open its /proc/<pid>/exe (and write through it to the host's hull).
    sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).map_err(sys_err("make the exec process non-dumpable"))?;
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)
        .map_err(sys_err("set the parent-death signal"))?;
    crate::trace::mark("exec: cloned");
    if let Some(cg) = cfg.cgroup_join {
        // Before setns: the host's cgroup files are reachable only from here.
        cg.join_self()?;
        crate::trace::mark("exec: cgroup joined");
    }
    // Before setns too: still privileged in the host's mount namespace, we
    // can have a procfs of the container's pid namespace (which we are in
    // already) that the container cannot reach or redirect.
    let proc = crate::procfs::ProcFs::open()?;
    // Still outside the container's user namespace: a negative score is ours to set.
    cfg.process.set_oom_score_adj(&proc, &proc.own("oom_score_adj"))?;
    cfg.process.oom_score_adj = None;
    if !cfg.join.is_empty() {
        // One call joins them all, in the kernel's order (user first).
        nix::sched::setns(cfg.init.as_fd(), cfg.join).map_err(sys_err("join the container's namespaces"))?;
        crate::trace::mark("exec: namespaces joined");
    }
    sys::umask(0o022);
    if let Some(mask) = &cfg.final_cpu_affinity {
        // In the container's cgroup by now (born there, or joined above).
        super::affinity::pin("final", mask).map_err(|e| InitError::Process(super::ProcessError::Invalid(e)))?;
    }
    let console = match (cfg.process.terminal, cfg.console_socket) {
        (true, Some(sock)) => Some(terminal::setup_console(&proc, sock, cfg.process.console_size, None)?),
        _ => None,
    };
    terminal::new_session(console.as_ref())?;
    drop(console);
    let (exe, setgroups_denied) = cfg.process.prepare_in_container(&proc)?;
    sys::prctl(libc::PR_SET_PDEATHSIG, 0, 0).map_err(sys_err("clear the parent-death signal"))?;
    // The last mark: seccomp (in finalize) may forbid the write of another.
    crate::trace::mark("exec: in the container, about to finalize and execve");
    cfg.process.finalize_reporting_to(&proc, chan, cfg.preserve_fds, setgroups_denied)?;
    Ok(cfg.process.exec_reporting_to(chan, &exe)?)
}
