//! The container's process: what `process` in config.json (or an exec's
//! process.json) asks for, prepared in the parent, and the last steps before
//! execve that both the init and `hull exec` take.

pub mod affinity;
pub mod caps;
pub mod exec;
pub mod init;
pub mod rlimits;
pub mod sync;

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, Process,
};

use crate::procfs::{ProcError, ProcFs};
use crate::sys;
pub use caps::CapSets;
pub use rlimits::Rlimit;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("exec: {0:?}: executable file not found in $PATH")]
    NotFound(String),
    /// The program cannot be executed (found before anything is announced).
    #[error("exec: {path}: {errno}")]
    Exec { path: String, errno: Errno },
    /// execve itself failed, after Exec was announced.
    #[error("exec: {path}: {errno}")]
    Execve { path: String, errno: Errno },
    #[error("{op}: {errno}")]
    Sys { op: String, errno: Errno },
    #[error("setrlimit {name} soft={soft} hard={hard}: {errno}{hint}")]
    Rlimit { name: String, soft: u64, hard: u64, errno: Errno, hint: String },
    #[error("process.apparmorProfile {0:?}: AppArmor is not enabled on this host")]
    NoAppArmor(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error("exec: {0:?} is the runtime's own binary: running it inside the container would let the container overwrite it on the host (CVE-2019-5736)")]
    RuntimeBinary(String),
}

/// Is `path` (or the interpreter its `#!` line names) hull's own binary?
/// Executing it inside the container would hand the container a process
/// whose /proc/<pid>/exe is the host's hull (the CVE-2019-5736 attack). Our
/// own binary is found through the private procfs: the container's /proc
/// could name any file as our `exe`.
fn is_runtime_binary(proc: &ProcFs, path: &Path) -> Result<bool, ProcessError> {
    use std::os::unix::fs::MetadataExt;
    let own = proc.open_own_link("", "exe", libc::O_PATH)?;
    let own = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&own)).map_err(sys_err("stat our own binary"))?;
    let same = |p: &Path| std::fs::metadata(p).map(|m| m.dev() == own.st_dev && m.ino() == own.st_ino).unwrap_or(false);
    if same(path) {
        return Ok(true);
    }
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    if n > 2 && &head[..2] == b"#!" {
        let line = head[2..n].split(|&b| b == b'\n').next().unwrap_or_default();
        let interp = String::from_utf8_lossy(line);
        if let Some(first) = interp.split_whitespace().next() {
            return Ok(same(Path::new(first)));
        }
    }
    Ok(false)
}

static CALLER_FDS: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();

/// Notes which of the descriptors 3..3+`n` the caller handed over. Call it
/// before hull opens anything of its own: with --preserve-fds only these
/// cross into the container. A number in that range that hull itself was
/// given (a socket of the sync protocol, a cgroup directory of the host)
/// must not — that would be CVE-2024-21626 again. Later calls do nothing.
pub fn note_caller_fds(n: u32) {
    let open = (3..3 + n as i32).filter(|&fd| nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_ok());
    let _ = CALLER_FDS.set(open.collect());
}

fn caller_fds(preserve_fds: u32) -> impl Iterator<Item = i32> {
    CALLER_FDS.get().map(Vec::as_slice).unwrap_or(&[]).iter().copied().filter(move |&fd| fd < 3 + preserve_fds as i32)
}

pub fn sys_err(op: impl Into<String>) -> impl FnOnce(Errno) -> ProcessError {
    let op = op.into();
    move |errno| ProcessError::Sys { op, errno }
}

/// The flags of personality(2), by their names in linux/personality.h.
pub const PERSONALITY_FLAGS: [(&str, libc::c_ulong); 11] = [
    ("UNAME26", 0x002_0000),
    ("ADDR_NO_RANDOMIZE", 0x004_0000),
    ("FDPIC_FUNCPTRS", 0x008_0000),
    ("MMAP_PAGE_ZERO", 0x010_0000),
    ("ADDR_COMPAT_LAYOUT", 0x020_0000),
    ("READ_IMPLIES_EXEC", 0x040_0000),
    ("ADDR_LIMIT_32BIT", 0x080_0000),
    ("SHORT_INODE", 0x100_0000),
    ("WHOLE_SECONDS", 0x200_0000),
    ("STICKY_TIMEOUTS", 0x400_0000),
    ("ADDR_LIMIT_3GB", 0x800_0000),
];

#[derive(Debug, Clone, Default)]
pub struct Scheduler {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// `process`, resolved into the values the syscalls take.
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<CString>,
    pub env: Vec<CString>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub caps: Option<CapSets>,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub io_priority: Option<(i32, i32)>,
    pub scheduler: Option<Scheduler>,
    pub personality: Option<libc::c_ulong>,
    /// linux.memoryPolicy: set_mempolicy's mode (with its flags) and node mask.
    pub memory_policy: Option<(i32, Vec<libc::c_ulong>)>,
    pub apparmor_profile: Option<String>,
    pub selinux_label: Option<String>,
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
    pub seccomp: Option<crate::seccomp::Filter>,
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").map(|s| s.trim() == "Y").unwrap_or(false)
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

impl ProcessPlan {
    pub fn from_spec(p: &Process) -> Result<ProcessPlan, ProcessError> {
        let args: Vec<CString> = p.args().iter().flatten().map(|a| sys::cstring(a.as_bytes())).collect();
        let env: Vec<CString> = p.env().iter().flatten().map(|e| sys::cstring(e.as_bytes())).collect();
        let scheduler = p.scheduler().as_ref().map(|s| {
            let policy = match s.policy() {
                LinuxSchedulerPolicy::SchedOther => 0,
                LinuxSchedulerPolicy::SchedFifo => 1,
                LinuxSchedulerPolicy::SchedRr => 2,
                LinuxSchedulerPolicy::SchedBatch => 3,
                LinuxSchedulerPolicy::SchedIso => 4,
                LinuxSchedulerPolicy::SchedIdle => 5,
                LinuxSchedulerPolicy::SchedDeadline => 6,
            };
            let flags = s.flags().iter().flatten().fold(0u64, |f, fl| {
                f | match fl {
                    LinuxSchedulerFlag::SchedResetOnFork => 0x01,
                    LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
                    LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
                    LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
                    LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
                    LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
                    LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
                }
            });
            Scheduler {
                policy,
                flags,
                nice: s.nice().unwrap_or(0),
                priority: s.priority().unwrap_or(0) as u32,
                runtime: s.runtime().unwrap_or(0),
                deadline: s.deadline().unwrap_or(0),
                period: s.period().unwrap_or(0),
            }
        });
        let apparmor_profile = p.apparmor_profile().clone().filter(|s| !s.is_empty());
        if let Some(profile) = &apparmor_profile {
            if !apparmor_enabled() {
                return Err(ProcessError::NoAppArmor(profile.clone()));
            }
        }
        Ok(ProcessPlan {
            args,
            env,
            cwd: p.cwd().clone(),
            uid: p.user().uid(),
            gid: p.user().gid(),
            additional_gids: p.user().additional_gids().clone().unwrap_or_default(),
            umask: p.user().umask(),
            caps: p.capabilities().as_ref().map(|c| CapSets::from_spec(c, &caps::known())),
            rlimits: rlimits::from_spec(p.rlimits().as_deref().unwrap_or(&[])),
            no_new_privileges: p.no_new_privileges().unwrap_or(false),
            oom_score_adj: p.oom_score_adj(),
            io_priority: p.io_priority().as_ref().map(|io| {
                let class = match io.class() {
                    IOPriorityClass::IoprioClassRt => 1,
                    IOPriorityClass::IoprioClassBe => 2,
                    IOPriorityClass::IoprioClassIdle => 3,
                };
                (class, io.priority() as i32)
            }),
            scheduler,
            personality: None,
            memory_policy: None,
            apparmor_profile,
            selinux_label: p.selinux_label().clone().filter(|s| !s.is_empty()),
            terminal: p.terminal().unwrap_or(false),
            console_size: p.console_size().as_ref().map(|b| (b.height() as u16, b.width() as u16)),
            seccomp: None,
        })
    }

    /// linux.memoryPolicy (runtime-spec 1.3): checked here, applied with
    /// the other attributes (inherited by children and kept across execve).
    pub fn set_memory_policy(&mut self, p: &oci_spec::runtime::LinuxMemoryPolicy) -> Result<(), ProcessError> {
        use oci_spec::runtime::{MemoryPolicyFlagType as F, MemoryPolicyModeType as M};
        let (mode, needs_nodes) = match p.mode() {
            M::MpolDefault => (0, Some(false)),
            M::MpolPreferred => (1, None),
            M::MpolBind => (2, Some(true)),
            M::MpolInterleave => (3, Some(true)),
            M::MpolLocal => (4, Some(false)),
            M::MpolPreferredMany => (5, Some(true)),
            M::MpolWeightedInterleave => (6, Some(true)),
        };
        let nodes = p.nodes().as_deref().unwrap_or("").trim();
        let bad = |msg: String| ProcessError::Invalid(format!("linux.memoryPolicy: {msg}"));
        match needs_nodes {
            Some(true) if nodes.is_empty() => return Err(bad(format!("{:?} needs nodes", p.mode()))),
            Some(false) if !nodes.is_empty() => return Err(bad(format!("{:?} takes no nodes", p.mode()))),
            _ => {}
        }
        let mut mask: Vec<libc::c_ulong> = Vec::new();
        for part in nodes.split(',').filter(|s| !s.is_empty()) {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let range =
                a.trim().parse::<usize>().ok().zip(b.trim().parse::<usize>().ok()).filter(|(a, b)| a <= b && *b < 1024);
            let Some((a, b)) = range else {
                return Err(bad(format!("nodes {nodes:?}: not a list of node numbers and ranges")));
            };
            for n in a..=b {
                let (word, bit) = (n / libc::c_ulong::BITS as usize, n % libc::c_ulong::BITS as usize);
                if mask.len() <= word {
                    mask.resize(word + 1, 0);
                }
                mask[word] |= 1 << bit;
            }
        }
        let flags = p.flags().iter().flatten().fold(0, |f, x| {
            f | match x {
                F::MpolFStaticNodes => 1 << 15,
                F::MpolFRelativeNodes => 1 << 14,
                F::MpolFNumaBalancing => 1 << 13,
            }
        });
        self.memory_policy = Some((mode | flags, mask));
        Ok(())
    }

    /// `linux.personality`: the domain, and the flags personality(2) takes
    /// by their kernel names (ADDR_NO_RANDOMIZE, …); any other flag is
    /// refused. For the init and every exec'd process alike.
    pub fn set_personality(&mut self, p: &LinuxPersonality) -> Result<(), ProcessError> {
        let mut persona = match p.domain() {
            LinuxPersonalityDomain::PerLinux => 0x0000,
            LinuxPersonalityDomain::PerLinux32 => 0x0008,
        };
        for (i, flag) in p.flags().iter().flatten().enumerate() {
            let bit = PERSONALITY_FLAGS.iter().find(|(name, _)| name == flag).map(|(_, bit)| bit).ok_or_else(|| {
                let known: Vec<&str> = PERSONALITY_FLAGS.iter().map(|(n, _)| *n).collect();
                ProcessError::Invalid(format!(
                    "linux.personality.flags[{i}]: {flag:?} is not a personality flag (hull knows {})",
                    known.join(", ")
                ))
            })?;
            persona |= bit;
        }
        self.personality = Some(persona);
        Ok(())
    }

    fn env_value(&self, key: &str) -> Option<&str> {
        self.env.iter().find_map(|e| {
            let s = e.to_str().ok()?;
            s.strip_prefix(key)?.strip_prefix('=')
        })
    }

    /// runc sets HOME from the container's /etc/passwd when the config does not.
    pub fn add_home(&mut self) {
        if self.env_value("HOME").is_some() {
            return;
        }
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|text| {
                text.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 6 && f[2].parse() == Ok(self.uid)).then(|| f[5].to_string())
                })
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "/".to_string());
        self.env.push(sys::cstring(format!("HOME={home}")));
    }

    /// Finds the program like execvp would, with the container's PATH, inside
    /// the container (call after pivot_root and chdir).
    pub fn resolve_executable(&self, proc: &ProcFs) -> Result<CString, ProcessError> {
        let exe = self.find_executable()?;
        let p = Path::new(std::ffi::OsStr::from_bytes(exe.as_bytes()));
        if is_runtime_binary(proc, p)? {
            return Err(ProcessError::RuntimeBinary(p.display().to_string()));
        }
        Ok(exe)
    }

    fn find_executable(&self) -> Result<CString, ProcessError> {
        let arg0 = self.args.first().map(|a| a.as_bytes()).unwrap_or_default();
        let name = String::from_utf8_lossy(arg0).into_owned();
        let is_exec = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
        };
        if arg0.contains(&b'/') {
            let p = Path::new(std::ffi::OsStr::from_bytes(arg0));
            return match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => Err(ProcessError::Exec { path: name, errno: Errno::EISDIR }),
                Ok(_) if is_exec(p) => Ok(sys::cstring(arg0)),
                Ok(_) => Err(ProcessError::Exec { path: name, errno: Errno::EACCES }),
                Err(e) => Err(ProcessError::Exec {
                    path: name,
                    errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)),
                }),
            };
        }
        let path = self.env_value("PATH").unwrap_or(DEFAULT_PATH);
        for dir in path.split(':') {
            let dir = if dir.is_empty() { "." } else { dir };
            let candidate = Path::new(dir).join(&name);
            if is_exec(&candidate) {
                return Ok(sys::cstring(candidate.as_os_str().as_bytes()));
            }
        }
        Err(ProcessError::NotFound(name))
    }

    /// chdir to process.cwd and make sure it is inside the container's root:
    /// a cwd like /proc/self/fd/N could otherwise reach a host directory
    /// through a descriptor hull holds (CVE-2024-21626). The kernel's getcwd
    /// marks a directory outside the root "(unreachable)".
    pub fn enter_cwd(&self) -> Result<(), ProcessError> {
        nix::unistd::chdir(&self.cwd).map_err(sys_err(format!("chdir to process.cwd {}", self.cwd.display())))?;
        // glibc turns the kernel's "(unreachable)/…" answer into ENOENT.
        match nix::unistd::getcwd() {
            Ok(p) if p.is_absolute() => Ok(()),
            Ok(_) | Err(Errno::ENOENT) => Err(ProcessError::Invalid(format!(
                "process.cwd {} leads outside the container: refused (CVE-2024-21626)",
                self.cwd.display()
            ))),
            Err(errno) => Err(ProcessError::Sys { op: format!("check process.cwd {}", self.cwd.display()), errno }),
        }
    }

    /// The steps inside the container before the wait for start: working
    /// directory, HOME, the program's path, rlimits and the like. Returns
    /// the program and whether setgroups(2) is denied in this user namespace.
    pub fn prepare_in_container(&mut self, proc: &ProcFs) -> Result<(CString, bool), ProcessError> {
        self.enter_cwd()?;
        self.add_home();
        let exe = self.resolve_executable(proc)?;
        self.apply_attributes(proc)?;
        let setgroups_denied = proc.read(&proc.own("setgroups")).map(|s| s.trim() == "deny").unwrap_or(false);
        Ok((exe, setgroups_denied))
    }

    /// For a profile with SCMP_ACT_NOTIFY rules: loads the filter now and
    /// sends the listener over `chan`, so that the runtime hands it to the
    /// agent while the container is created (agents wait for it there, as
    /// runc and youki give it then). Everything the init does afterwards —
    /// wait for start, ids, capabilities, startContainer hooks — runs under
    /// the filter, as with runc; seccomp::compile refuses NOTIFY on the
    /// calls the handover itself makes. Still privileged here, the filter
    /// needs no no_new_privs. Other profiles wait for `finalize`.
    pub fn load_notify_filter_now(&mut self, chan: &mut sync::Channel) -> Result<(), ProcessError> {
        let Some(filter) = self.seccomp.take_if(|f| f.listener.is_some()) else { return Ok(()) };
        if let Some(listener) = filter.install().map_err(|e| ProcessError::Invalid(e.to_string()))? {
            chan.send_with_fd(&sync::Message::SeccompListener, Some(&listener))
                .map_err(|e| ProcessError::Invalid(format!("send the seccomp listener: {e}")))?;
        }
        Ok(())
    }

    /// `finalize`, sending the seccomp listener (if any) over `chan`.
    pub fn finalize_reporting_to(
        &self,
        proc: &ProcFs,
        chan: &mut sync::Channel,
        preserve_fds: u32,
        setgroups_denied: bool,
    ) -> Result<(), ProcessError> {
        let mut sink = |fd: std::os::fd::OwnedFd| {
            chan.send_with_fd(&sync::Message::SeccompListener, Some(&fd))
                .map_err(|e| ProcessError::Invalid(format!("send the seccomp listener: {e}")))
        };
        self.finalize(proc, preserve_fds, setgroups_denied, &mut sink)
    }

    /// execve, with Exec announced over `chan` first.
    pub fn exec_reporting_to(&self, chan: &mut sync::Channel, exe: &CString) -> Result<Infallible, ProcessError> {
        self.exec_now(exe, &mut || {
            let _ = chan.send(&sync::Message::Exec);
        })
    }

    /// Writes oom_score_adj to `file` (ours, or a child's `<pid>/oom_score_adj`)
    /// and forgets it. Lowering the score takes CAP_SYS_RESOURCE in the
    /// host's user namespace: for a container in a user namespace of its own
    /// it is written before the process enters it (by the parent, or by
    /// `exec` before setns).
    pub fn set_oom_score_adj(&self, proc: &ProcFs, file: &str) -> Result<(), ProcessError> {
        if let Some(adj) = self.oom_score_adj {
            proc.write(file, adj.to_string().as_bytes())
                .map_err(|e| sys_err(format!("set oom_score_adj to {adj}"))(e.errno()))?;
        }
        Ok(())
    }

    /// Process attributes that need privileges we still have: rlimits, the
    /// OOM score, I/O priority, scheduler, personality.
    pub fn apply_attributes(&self, proc: &ProcFs) -> Result<(), ProcessError> {
        if let Err((l, errno)) = rlimits::apply(&self.rlimits) {
            let cur = rlimits::current_hard(l.resource);
            let hint = if errno == Errno::EPERM && l.hard > cur {
                format!(" (the current hard limit is {cur}; raising it needs CAP_SYS_RESOURCE)")
            } else {
                String::new()
            };
            return Err(ProcessError::Rlimit { name: rlimits::name(l.name), soft: l.soft, hard: l.hard, errno, hint });
        }
        self.set_oom_score_adj(proc, &proc.own("oom_score_adj"))?;
        if let Some((class, prio)) = self.io_priority {
            sys::ioprio_set(class, prio).map_err(sys_err("set the I/O priority"))?;
        }
        if let Some(s) = &self.scheduler {
            let mut attr = sys::SchedAttr {
                sched_policy: s.policy,
                sched_flags: s.flags,
                sched_nice: s.nice,
                sched_priority: s.priority,
                sched_runtime: s.runtime,
                sched_deadline: s.deadline,
                sched_period: s.period,
                ..Default::default()
            };
            sys::sched_setattr(&mut attr).map_err(sys_err("set the scheduler"))?;
        }
        if let Some(p) = self.personality {
            sys::personality(p).map_err(sys_err("set the personality"))?;
        }
        if let Some((mode, mask)) = &self.memory_policy {
            sys::set_mempolicy(*mode, mask).map_err(|errno| {
                ProcessError::Invalid(format!("linux.memoryPolicy: set_mempolicy: {errno} (are the nodes online?)"))
            })?;
        }
        Ok(())
    }

    /// The end of every container process but execve: labels, bounding
    /// set, user and groups, the stdio's owner, capabilities, no_new_privs,
    /// seccomp, descriptors. `listener_sink` receives the seccomp
    /// notification listener, if the profile has one (and it was not loaded
    /// already, `load_notify_filter_now`).
    pub fn finalize(
        &self,
        proc: &ProcFs,
        preserve_fds: u32,
        in_new_userns_without_setgroups: bool,
        listener_sink: &mut dyn FnMut(std::os::fd::OwnedFd) -> Result<(), ProcessError>,
    ) -> Result<(), ProcessError> {
        let mut install_seccomp = || -> Result<(), ProcessError> {
            if let Some(f) = &self.seccomp {
                if let Some(listener) = f.install().map_err(|e| ProcessError::Invalid(e.to_string()))? {
                    listener_sink(listener)?;
                }
            }
            Ok(())
        };
        // Labels go through the private procfs: written through the
        // container's /proc they could be redirected, leaving the program
        // unconfined or writing the profile name into another file
        // (CVE-2025-52881).
        if let Some(label) = &self.selinux_label {
            if selinux_enabled() {
                proc.write(&proc.own("attr/exec"), label.as_bytes())
                    .map_err(|e| sys_err("set the SELinux exec label")(e.errno()))?;
            }
        }
        if let Some(profile) = &self.apparmor_profile {
            let text = format!("exec {profile}");
            let r = match proc.write(&proc.own("attr/apparmor/exec"), text.as_bytes()) {
                Err(ProcError::Access { errno: Errno::ENOENT, .. }) => {
                    proc.write(&proc.own("attr/exec"), text.as_bytes())
                }
                r => r,
            };
            r.map_err(|e| sys_err(format!("set AppArmor profile {profile}"))(e.errno()))?;
        }
        // (Before any seccomp filter, which may not allow these calls.)
        // Nothing of hull's may leak into the container (CVE-2024-21626):
        // every descriptor closes on exec but those the caller handed over.
        sys::cloexec_from(3).map_err(sys_err("mark descriptors close-on-exec"))?;
        for fd in caller_fds(preserve_fds) {
            let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()));
        }
        sys::unblock_all_signals();
        if let Some(c) = &self.caps {
            caps::drop_bounding(&c.bounding).map_err(sys_err("drop capabilities from the bounding set"))?;
        }
        // A seccomp filter without no_new_privs needs CAP_SYS_ADMIN, which the
        // uid switch below may take away: install it first in that case.
        let seccomp_early = self.seccomp.is_some() && !self.no_new_privileges;
        if seccomp_early {
            install_seccomp()?;
        }
        // Keep the permitted set across the uid change; capset trims it after.
        sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0).map_err(sys_err("keep capabilities"))?;
        if !in_new_userns_without_setgroups {
            let groups: Vec<nix::unistd::Gid> =
                self.additional_gids.iter().map(|g| nix::unistd::Gid::from_raw(*g)).collect();
            nix::unistd::setgroups(&groups).map_err(id_err(
                format!("setgroups {:?}", self.additional_gids),
                "an additional gid",
                "gid",
            ))?;
        }
        chown_stdio(self.uid)?;
        let (gid, uid) = (nix::unistd::Gid::from_raw(self.gid), nix::unistd::Uid::from_raw(self.uid));
        nix::unistd::setresgid(gid, gid, gid).map_err(id_err(format!("setgid {}", self.gid), "this gid", "gid"))?;
        nix::unistd::setresuid(uid, uid, uid).map_err(id_err(format!("setuid {}", self.uid), "this uid", "uid"))?;
        // A change of ids sets "dumpable" from fs.suid_dumpable, which may be
        // 1: until execve we still run hull's binary (the init runs the
        // startContainer hooks yet), whose /proc/<pid>/exe must stay closed
        // to the container's processes of this uid (CVE-2019-5736).
        sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).map_err(sys_err("stay non-dumpable after the uid change"))?;
        sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0).map_err(sys_err("keep capabilities"))?;
        if let Some(c) = &self.caps {
            caps::apply(c).map_err(|errno| {
                // The usual cause: asking for a capability hull itself was not given.
                let missing = caps::not_held(c);
                if missing.is_empty() {
                    ProcessError::Sys { op: "apply capabilities".into(), errno }
                } else {
                    ProcessError::Invalid(format!(
                        "apply capabilities: {errno}: hull does not hold {} itself (the host withholds it), so it cannot grant it",
                        missing.join(", ")
                    ))
                }
            })?;
        }
        if self.no_new_privileges {
            sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map_err(sys_err("set no_new_privs"))?;
        }
        if let Some(mask) = self.umask {
            sys::umask(mask);
        } else {
            sys::umask(0o022);
        }
        if !seccomp_early {
            install_seccomp()?;
        }
        Ok(())
    }

    /// execve of the program (after `finalize`), announced first. Only
    /// returns on failure.
    pub fn exec_now(&self, exe: &CString, announce_exec: &mut dyn FnMut()) -> Result<Infallible, ProcessError> {
        let mut argv: Vec<*const libc::c_char> = self.args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = self.env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        announce_exec();
        let errno = sys::execve(exe, &argv, &envp);
        Err(ProcessError::Execve { path: exe.to_string_lossy().into_owned(), errno })
    }
}

/// runc's fixStdioPermissions: descriptors 0, 1 and 2 (the pty, or pipes
/// from the caller) get the process's uid as owner, the group kept, so that
/// a process that is not root can reopen them (`/dev/stdout`, `$(tty)`).
/// /dev/null and descriptors owned already are left alone; EINVAL (an owner
/// not mapped in the user namespace), EPERM and EROFS are not errors.
fn chown_stdio(uid: u32) -> Result<(), ProcessError> {
    for fd in 0..3 {
        let Ok(st) = nix::sys::stat::fstat(fd) else { continue };
        let is_null = st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == nix::sys::stat::makedev(1, 3);
        if st.st_uid == uid || is_null {
            continue;
        }
        match nix::unistd::fchown(fd, Some(nix::unistd::Uid::from_raw(uid)), None) {
            Ok(()) | Err(Errno::EINVAL | Errno::EPERM | Errno::EROFS) => {}
            Err(errno) => return Err(ProcessError::Sys { op: format!("chown descriptor {fd} to uid {uid}"), errno }),
        }
    }
    Ok(())
}

/// An id change that failed. EINVAL means the id has no mapping in the
/// container's user namespace: say so, and where the mapping comes from.
fn id_err(op: String, which: &'static str, kind: &'static str) -> impl FnOnce(Errno) -> ProcessError {
    move |errno| {
        if errno == Errno::EINVAL {
            ProcessError::Invalid(format!(
                "{op}: {errno}: {which} is not mapped in the container's user namespace (linux.{kind}Mappings)"
            ))
        } else {
            ProcessError::Sys { op, errno }
        }
    }
}
