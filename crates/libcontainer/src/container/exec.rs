//! `hull exec`, the parent side: build the process (from `--process` or from
//! the container's config plus flags), clone straight into the container's
//! pid namespace and cgroup, and report the exit code (or, detached, the pid).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use oci_spec::runtime::{Capability, Process};

use super::{
    block_forwarded_signals, foreground, live_status, open_init, sys_err, wait_for_exec, write_pid_file, ContainerError,
};
use crate::cgroups::{self, CgroupManager};
use crate::process::affinity::{self, ExecAffinity};
use crate::process::exec::{self as exec_child, ExecConfig};
use crate::process::sync::Channel;
use crate::process::ProcessPlan;
use crate::state::{self, Status};
use crate::sys::{self, Forked};
use crate::{seccomp, spec, terminal};

/// Flags of `hull exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub id: String,
    /// `--process FILE`: an OCI process JSON (what containerd and conmon pass).
    pub process_file: Option<PathBuf>,
    /// The command (when there is no --process).
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    /// `uid[:gid]`
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    /// `--cgroup [controller[,controller]:]path`: run in an existing
    /// sub-cgroup of the container's (runc 1.1's flag).
    pub sub_cgroups: Vec<String>,
}

fn usage(msg: impl Into<String>) -> ContainerError {
    ContainerError::Usage(msg.into())
}

/// The process to run: `--process` as given, or the container's own process
/// with the command and flags applied (what runc does).
fn build_process(opts: &ExecOptions, config_process: Option<&Process>) -> Result<Process, ContainerError> {
    if let Some(f) = &opts.process_file {
        let text = std::fs::read(f).map_err(|e| usage(format!("--process {}: {e}", f.display())))?;
        return parse_process_json(&text).map_err(|e| usage(format!("--process {}: {e}", f.display())));
    }
    if opts.args.is_empty() {
        return Err(usage("exec needs a command (or --process FILE)"));
    }
    let mut p = config_process.cloned().unwrap_or_default();
    p.set_args(Some(opts.args.clone()));
    p.set_terminal(Some(opts.tty));
    p.set_console_size(None);
    if let Some(cwd) = &opts.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &opts.env {
        let key = kv.split('=').next().unwrap_or("");
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(u) = &opts.user {
        let (uid, gid) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u.as_str(), None),
        };
        let uid: u32 = uid.parse().map_err(|_| usage(format!("--user {u:?}: use a numeric uid[:gid]")))?;
        let gid: u32 = match gid {
            Some(g) => g.parse().map_err(|_| usage(format!("--user {u:?}: use a numeric uid[:gid]")))?,
            None => 0,
        };
        let mut user = p.user().clone();
        user.set_uid(uid);
        user.set_gid(gid);
        p.set_user(user);
    }
    if !opts.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(opts.additional_gids.clone()));
        p.set_user(user);
    }
    if !opts.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let mut added = Vec::new();
        for name in &opts.caps {
            let cap: Capability = serde_json::from_value(serde_json::Value::from(name.as_str()))
                .map_err(|_| usage(format!("--cap {name:?}: unknown capability")))?;
            added.push(cap);
        }
        let with = |set: &Option<oci_spec::runtime::Capabilities>| {
            let mut s = set.clone().unwrap_or_default();
            s.extend(added.iter().copied());
            Some(s)
        };
        // Bounding, effective and permitted only: an inheritable or ambient
        // capability would pass on to programs the process executes, which
        // is what CVE-2022-29162 was about.
        let (b, e, pe) = (with(caps.bounding()), with(caps.effective()), with(caps.permitted()));
        caps.set_bounding(b);
        caps.set_effective(e);
        caps.set_permitted(pe);
        p.set_capabilities(Some(caps));
    }
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &opts.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &opts.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    Ok(p)
}

/// An OCI process JSON, with runc's (Go's) zero values for what it leaves
/// out: no `user` is uid 0, gid 0; no `cwd` is `/` (where joining the mount
/// namespace leaves the process).
fn parse_process_json(text: &[u8]) -> Result<Process, String> {
    let mut v: serde_json::Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    if let Some(o) = v.as_object_mut() {
        o.entry("user").or_insert_with(|| serde_json::json!({}));
        o.entry("cwd").or_insert_with(|| "/".into());
    }
    serde_path_to_error::deserialize(v).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

/// `--cgroup` values as runc reads them: `path` alone (every hierarchy;
/// the only form on cgroup v2), or `controller[,controller]:path`, repeated.
/// The key "" stands for "every hierarchy".
fn parse_sub_cgroups(args: &[String]) -> Result<Vec<(String, String)>, ContainerError> {
    let mut out = Vec::new();
    for a in args {
        match a.split(':').collect::<Vec<_>>()[..] {
            [path] if args.len() == 1 => out.push((String::new(), path.to_string())),
            [_] => return Err(usage(format!("invalid --cgroup argument: {a} (missing <controller>: prefix)"))),
            [ctrls, path] => out.extend(ctrls.split(',').map(|c| (c.to_string(), path.to_string()))),
            _ => return Err(usage(format!("invalid --cgroup argument: {a}"))),
        }
    }
    Ok(out)
}

/// `base/sub`, refused when `sub` climbs out of `base` (`..`). An absolute
/// `sub` counts from `base`: `/` is the container's own cgroup.
fn join_sub(base: &Path, sub: &str) -> Result<PathBuf, ContainerError> {
    use std::path::Component;
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(sub).components() {
        match c {
            Component::Normal(n) => parts.push(n),
            Component::ParentDir if parts.pop().is_some() => {}
            Component::ParentDir => return Err(usage(format!("--cgroup: {sub} is not a sub cgroup path"))),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(parts.iter().fold(base.to_path_buf(), |p, n| p.join(n)))
}

/// The cgroup directories `exec --cgroup` puts the process in: the
/// container's, with the sub-cgroups named joined per hierarchy. They must
/// exist (the process is added to them, nothing is created).
fn sub_cgroup(of: &cgroups::CgroupState, args: &[String]) -> Result<cgroups::CgroupState, ContainerError> {
    use cgroups::CgroupState;
    let subs = parse_sub_cgroups(args)?;
    let everywhere = subs.iter().find(|(c, _)| c.is_empty()).map(|(_, p)| p.as_str());
    let mut state = of.clone();
    match &mut state {
        CgroupState::V2 { dir, .. } => match (everywhere, subs.first()) {
            (Some(p), _) => *dir = join_sub(dir, p)?,
            (None, Some((c, _))) => {
                return Err(usage(format!("--cgroup: unknown controller {c} (cgroup v2 has one hierarchy)")))
            }
            (None, None) => {}
        },
        CgroupState::V1 { dirs, unified } => {
            if let Some((c, _)) = subs.iter().find(|(c, _)| !c.is_empty() && !dirs.iter().any(|(h, _)| h.has(c))) {
                return Err(usage(format!("--cgroup: unknown controller {c}")));
            }
            for (h, d) in dirs.iter_mut() {
                let mut paths = subs.iter().filter(|(c, _)| c.is_empty() || h.has(c)).map(|(_, p)| p);
                if let Some(p) = paths.next() {
                    if paths.any(|q| q != p) {
                        let names = h.controllers.join(",");
                        return Err(usage(format!("--cgroup: two sub-cgroups given for the {names} hierarchy")));
                    }
                    *d = join_sub(d, p)?;
                }
            }
            if let (Some(p), Some(u)) = (everywhere, unified) {
                *u = join_sub(u, p)?;
            }
        }
    }
    for d in state_dirs(&state) {
        if !d.join("cgroup.procs").exists() {
            return Err(usage(format!(
                "--cgroup: adding pid to cgroups: {}/cgroup.procs: no such file or directory",
                d.display()
            )));
        }
    }
    Ok(state)
}

fn state_dirs(s: &cgroups::CgroupState) -> Vec<&Path> {
    match s {
        cgroups::CgroupState::V1 { dirs, unified } => {
            dirs.iter().map(|(_, d)| d.as_path()).chain(unified.as_deref()).collect()
        }
        cgroups::CgroupState::V2 { dir, .. } => vec![dir.as_path()],
    }
}

/// Namespaces of `pid` that differ from ours, as setns flags.
fn namespaces_to_join(pid: i32) -> CloneFlags {
    const KINDS: [(&str, CloneFlags); 8] = [
        ("user", CloneFlags::CLONE_NEWUSER),
        ("mnt", CloneFlags::CLONE_NEWNS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("cgroup", CloneFlags::CLONE_NEWCGROUP),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("time", CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
    ];
    let mut flags = CloneFlags::empty();
    for (name, flag) in KINDS {
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}"));
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{name}"));
        if let (Ok(a), Ok(b)) = (ours, theirs) {
            if a != b {
                flags |= flag;
            }
        }
    }
    flags
}

/// `exec`: returns the process's exit code (foreground) or 0 once it runs (detached).
pub fn exec(root: &Path, opts: &ExecOptions) -> Result<i32, ContainerError> {
    crate::process::note_caller_fds(opts.preserve_fds);
    crate::trace::mark("exec: start");
    let (dir, st) = state::load(root, &opts.id)?;
    let status = live_status(&dir, &st);
    check_status(opts, status)?;
    let (plan, affinity) = plan_process(opts, &st)?;
    crate::trace::mark("exec: state and config loaded, process planned");

    let init = open_init(&st).ok_or_else(|| ContainerError::WrongStatus {
        id: opts.id.clone(),
        status: Status::Stopped,
        what: "cannot exec in a stopped container".into(),
    })?;
    let all = namespaces_to_join(st.pid);
    let mut parent_side = all & (CloneFlags::CLONE_NEWPID | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME));
    if !crate::sys::is_root() && all.contains(CloneFlags::CLONE_NEWUSER) && !parent_side.is_empty() {
        // Without privilege, joining the pid namespace needs the container's
        // user namespace first (the kernel orders a multi-flag setns so).
        parent_side |= CloneFlags::CLONE_NEWUSER;
    }
    let cg_state = match (&st.cgroup, opts.sub_cgroups.is_empty()) {
        (Some(c), true) => Some(c.clone()),
        (Some(c), false) => Some(sub_cgroup(c, &opts.sub_cgroups)?),
        (None, true) => None,
        (None, false) => return Err(usage("--cgroup: the container has no cgroup")),
    };
    let cg = cg_state.as_ref().map(cgroups::from_state);
    if let Some(cg) = &cg {
        cg.open_for_clone(false)?;
    }
    // A paused container's cgroup would freeze the new process before it can
    // exec (and report back): join the cgroup only once it runs.
    let join_after_exec = status == Status::Paused;
    let (console_child, console_parent) = terminal::console_sockets(plan.terminal, opts.console_socket.as_deref())?;
    let forwarded = if opts.detach { nix::sys::signal::SigSet::empty() } else { block_forwarded_signals()? };
    if !parent_side.is_empty() {
        // pid (and time) namespaces are entered by children only: join them here.
        nix::sched::setns(init.as_fd(), parent_side).map_err(sys_err("join the container's pid namespace"))?;
    }
    let child = ExecChild {
        init: &init,
        join: all - parent_side,
        // On v1 the exec process moves itself into the cgroup (cheap, see join_self).
        cgroup: if join_after_exec { None } else { cg.as_deref() },
        affinity: &affinity,
        console: console_child.as_ref(),
        preserve_fds: opts.preserve_fds,
    };
    let (pid, pidfd, mut chan) = child.clone(plan)?;
    drop(console_child);
    crate::trace::mark("exec: clone3 returned");
    // Whatever goes wrong from here, the child is ours to kill and reap: left
    // as a zombie in the container's pid namespace it would hold up delete.
    let result = (|| -> Result<Option<OwnedFd>, ContainerError> {
        // Detached, the pid file must name the program, not hull: wait for
        // execve. A seccomp agent gets the container's state (the init's
        // pid) and this process's pid, as from runc.
        wait_for_exec(&mut chan, &st, pid, opts.detach)?;
        if let Some(cg) = cg.as_ref().filter(|_| join_after_exec) {
            cg.add_process(pid)?;
        }
        if let Some(p) = &opts.pid_file {
            write_pid_file(p, pid)?;
        }
        console_parent.as_ref().map(|cp| terminal::recv_fd(cp.as_raw_fd())).transpose().map_err(Into::into)
    })();
    let console = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ =
                nix::sys::wait::waitid(nix::sys::wait::Id::PIDFd(pidfd.as_fd()), nix::sys::wait::WaitPidFlag::WEXITED);
            return Err(e);
        }
    };
    crate::trace::mark("exec: program started");
    if opts.detach {
        return Ok(0);
    }
    let code = foreground(&pidfd, console.as_ref(), &forwarded)?;
    crate::trace::mark("exec: program exited");
    Ok(code)
}

/// runc's refusals: nothing runs in a stopped (or still creating)
/// container, nor in a paused one unless asked.
fn check_status(opts: &ExecOptions, status: Status) -> Result<(), ContainerError> {
    match status {
        Status::Stopped | Status::Creating => Err(ContainerError::WrongStatus {
            id: opts.id.clone(),
            status,
            what: format!("cannot exec in a {status} container"),
        }),
        Status::Paused if !opts.ignore_paused => Err(ContainerError::WrongStatus {
            id: opts.id.clone(),
            status,
            what: "cannot exec in a paused container (use --ignore-paused to override)".into(),
        }),
        _ => Ok(()),
    }
}

/// The process to run, from the flags or `--process` and the container's
/// config.json (personality, seccomp, memory policy, CPU affinity).
fn plan_process(opts: &ExecOptions, st: &state::ContainerState) -> Result<(ProcessPlan, ExecAffinity), ContainerError> {
    let config = spec::load(&st.bundle)?;
    let process = build_process(opts, config.process().as_ref())?;
    let mut plan = ProcessPlan::from_spec(&process)?;
    if process.terminal().unwrap_or(false) {
        plan.terminal = true;
    }
    let linux = config.linux().as_ref();
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        // The container's personality is every process's (as runc ≥ 1.2).
        plan.set_personality(p)?;
    }
    if let Some(s) = linux.and_then(|l| l.seccomp().as_ref()) {
        plan.seccomp = Some(seccomp::compile(s)?);
    }
    if let Some(p) = linux.and_then(|l| l.memory_policy().as_ref()) {
        plan.set_memory_policy(p)?;
    }
    // The exec's own execCPUAffinity, else the container's (as runc).
    let affinity = ExecAffinity::from_spec(
        process
            .exec_cpu_affinity()
            .as_ref()
            .or_else(|| config.process().as_ref().and_then(|p| p.exec_cpu_affinity().as_ref())),
    )
    .map_err(ContainerError::Usage)?;
    if plan.terminal && opts.detach && opts.console_socket.is_none() {
        return Err(usage("--tty with --detach needs --console-socket to hand the terminal to"));
    }
    Ok((plan, affinity))
}

/// The exec process to clone, into the container's pid namespace (joined
/// by us) and, where the cgroup is ready, its cgroup.
struct ExecChild<'a> {
    init: &'a OwnedFd,
    /// The namespaces the child joins itself.
    join: CloneFlags,
    cgroup: Option<&'a dyn CgroupManager>,
    affinity: &'a ExecAffinity,
    console: Option<&'a OwnedFd>,
    preserve_fds: u32,
}

impl ExecChild<'_> {
    fn clone(&self, plan: ProcessPlan) -> Result<(i32, OwnedFd, Channel), ContainerError> {
        let (parent_chan, child_chan) = Channel::pair()?;
        let clone_into = self.cgroup.and_then(|c| c.clone_into());
        // Non-dumpable before the clone, so that the child, which runs hull's
        // binary inside the container until execve, never is (CVE-2019-5736).
        sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).map_err(sys_err("make hull non-dumpable"))?;
        // `initial`: the child is born on these CPUs, before it enters the
        // container's cgroup (we pin ourselves around the clone).
        let own_affinity = match &self.affinity.initial {
            Some(mask) => {
                let own = sys::sched_getaffinity().ok();
                affinity::pin("initial", mask).map_err(ContainerError::Usage)?;
                own
            }
            None => None,
        };
        let forked = sys::clone3(0, clone_into);
        if !matches!(forked, Ok(Forked::Child)) {
            if let Some(own) = &own_affinity {
                let _ = sys::sched_setaffinity(own);
            }
        }
        match forked.map_err(sys_err("clone3 the exec process"))? {
            Forked::Child => {
                drop(parent_chan);
                let cfg = ExecConfig {
                    init: self.init,
                    join: self.join,
                    cgroup_join: self.cgroup.filter(|c| !c.fully_placed_by_clone()),
                    process: plan,
                    preserve_fds: self.preserve_fds,
                    console_socket: self.console,
                    final_cpu_affinity: self.affinity.last.clone(),
                };
                exec_child::run(cfg, child_chan);
            }
            Forked::Parent { pid, pidfd } => Ok((pid, pidfd, parent_chan)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_config_process() {
        let base: Process = serde_json::from_value(serde_json::json!({
            "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
            "env": ["PATH=/bin", "A=1"]
        }))
        .unwrap();
        let opts = ExecOptions {
            args: vec!["id".into()],
            env: vec!["A=2".into(), "B=3".into()],
            user: Some("1000:100".into()),
            cwd: Some("/tmp".into()),
            caps: vec!["CAP_NET_ADMIN".into()],
            ..Default::default()
        };
        let p = build_process(&opts, Some(&base)).unwrap();
        assert_eq!(p.args().as_deref(), Some(&["id".to_string()][..]));
        assert_eq!(p.env().as_deref().unwrap(), ["PATH=/bin", "A=2", "B=3"]);
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 100));
        assert_eq!(p.cwd(), Path::new("/tmp"));
        let caps = p.capabilities().as_ref().unwrap();
        for set in [caps.bounding(), caps.effective(), caps.permitted()] {
            assert!(set.as_ref().unwrap().contains(&Capability::NetAdmin));
        }
        for set in [caps.inheritable(), caps.ambient()] {
            assert!(!set.as_ref().is_some_and(|s| s.contains(&Capability::NetAdmin)));
        }
    }

    #[test]
    fn process_json_without_user_or_cwd_takes_runcs_zero_values() {
        let p = parse_process_json(br#"{"args": ["true"], "terminal": true}"#).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
        assert_eq!(p.cwd(), Path::new("/"));
        let p = parse_process_json(br#"{"args": ["true"], "user": {"uid": 7}, "cwd": "/tmp"}"#).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (7, 0));
        assert_eq!(p.cwd(), Path::new("/tmp"));
        let e = parse_process_json(br#"{"args": ["true"], "user": {"uid": "root"}}"#).unwrap_err();
        assert!(e.starts_with("user.uid: "), "{e}");
    }

    #[test]
    fn sub_cgroup_paths_as_runc_reads_them() {
        use cgroups::{CgroupState, Hierarchy};
        let base = std::env::temp_dir().join(format!("hull-unit-subcg-{}", std::process::id()));
        let h = |c: &[&str]| Hierarchy {
            controllers: c.iter().map(|s| s.to_string()).collect(),
            mount_point: base.join(c.join(",")),
        };
        let (cpu, mem) = (h(&["cpu", "cpuacct"]), h(&["memory"]));
        let ct = |h: &Hierarchy| h.mount_point.join("ct");
        for d in [
            ct(&cpu),
            ct(&mem),
            base.join("unified/ct"),
            ct(&cpu).join("sub"),
            ct(&mem).join("sub"),
            ct(&mem).join("m"),
            base.join("unified/ct/sub"),
        ] {
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("cgroup.procs"), "").unwrap();
        }
        let of = CgroupState::V1 {
            dirs: vec![(cpu.clone(), ct(&cpu)), (mem.clone(), ct(&mem))],
            unified: Some(base.join("unified/ct")),
        };
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let CgroupState::V1 { dirs, unified } = sub_cgroup(&of, &args(&["sub"])).unwrap() else { panic!() };
        assert_eq!(dirs[0].1, ct(&cpu).join("sub"));
        assert_eq!(dirs[1].1, ct(&mem).join("sub"));
        assert_eq!(unified.unwrap(), base.join("unified/ct/sub"));
        assert_eq!(sub_cgroup(&of, &args(&["/"])).unwrap(), of, "/ is the container's own cgroup");
        let CgroupState::V1 { dirs, unified } = sub_cgroup(&of, &args(&["memory:m", "cpu,cpuacct:sub"])).unwrap()
        else {
            panic!()
        };
        assert_eq!((&dirs[0].1, &dirs[1].1), (&ct(&cpu).join("sub"), &ct(&mem).join("m")));
        assert_eq!(unified.unwrap(), base.join("unified/ct"), "per controller leaves the unified twin");
        let err = |a: &[&str]| sub_cgroup(&of, &args(a)).unwrap_err().to_string();
        assert!(err(&[".."]).contains(".. is not a sub cgroup path"));
        assert!(err(&["sub/../../x"]).contains("is not a sub cgroup path"));
        assert!(err(&["whaaat:/"]).contains("unknown controller whaaat"));
        assert!(err(&["nonexistent"]).contains("/nonexistent/cgroup.procs: no such file or directory"));
        assert!(err(&["a", "b"]).contains("missing <controller>: prefix"));
        assert!(err(&["a:b:c"]).contains("invalid --cgroup argument"));
        assert!(err(&["cpu:sub", "cpuacct:m"]).contains("two sub-cgroups"));
        let v2 = CgroupState::V2 { dir: ct(&mem), systemd: None };
        assert_eq!(sub_cgroup(&v2, &args(&["m"])).unwrap(), CgroupState::V2 { dir: ct(&mem).join("m"), systemd: None });
        assert!(sub_cgroup(&v2, &args(&["memory:m"])).unwrap_err().to_string().contains("unknown controller memory"));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn bad_user_and_cap_are_refused() {
        let opts = ExecOptions { args: vec!["id".into()], user: Some("bob".into()), ..Default::default() };
        assert!(build_process(&opts, None).is_err());
        let opts = ExecOptions { args: vec!["id".into()], caps: vec!["CAP_FLY".into()], ..Default::default() };
        assert!(build_process(&opts, None).is_err());
    }
}
