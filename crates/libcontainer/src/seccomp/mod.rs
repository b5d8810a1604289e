//! `linux.seccomp` compiled to a classic BPF program, installed as the last
//! step before execve (a profile with NOTIFY rules: before the init reports
//! ready, so that its listener reaches the agent during create).
//!
//! The argument comparisons (all six operators and SCMP_CMP_MASKED_EQ on
//! 64-bit arguments split into two 32-bit halves) come from the seccompiler
//! crate: each OCI rule becomes one `SeccompRule`, whose BPF falls through on a
//! match and jumps over the next instruction otherwise. seccompiler itself
//! builds filters with one architecture, one action for every match and no
//! USER_NOTIF, which the OCI profile needs, so the program around the rules is
//! built here:
//!
//! ```text
//! load arch ── x86_64 ─▶ load nr ─ nr ≥ X32 bit ─▶ x32 chains … tail
//!          │                     └─▶ x86_64 chains … tail
//!          ├─ i386 ──▶ load nr ─▶ i386 chains … tail     (when listed)
//!          └─ other ─▶ KILL_PROCESS
//! (x86_64 always, as libseccomp always keeps the native architecture;
//! x32's chains only when listed, else KILL_PROCESS)
//! chain:  nr == N ? [rule₁ → RET action₁] [rule₂ → RET action₂] … RET default
//! tail:   nr > largest nr in the profile ? RET ERRNO(ENOSYS) : RET default
//! ```
//! The ENOSYS tail is what runc does too: a syscall newer than the profile
//! (clone3 under an old profile) fails the way an old kernel would, so libc
//! falls back instead of seeing EPERM.

mod syscalls;

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::errno::Errno;
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};
use seccompiler::{BpfProgram, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("linux.seccomp: {0}")]
    Invalid(String),
    #[error("install the seccomp filter: {0}")]
    Install(Errno),
}

/// A compiled filter, ready for seccomp(2).
#[derive(Debug, Clone)]
pub struct Filter {
    pub program: Vec<libc::sock_filter>,
    pub flags: u32,
    /// With SCMP_ACT_NOTIFY rules: where the listener descriptor goes.
    pub listener: Option<Listener>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

impl Listener {
    /// Hands the listener to the agent at `path`, with the container process
    /// state the runtime-spec defines (ContainerProcessState) as the message.
    pub fn forward(&self, fd: &OwnedFd, pid: i32, state: &serde_json::Value) -> Result<(), SeccompError> {
        use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
        let msg = serde_json::json!({
            "ociVersion": crate::OCI_VERSION,
            "fds": ["seccompFd"],
            "pid": pid,
            "metadata": self.metadata,
            "state": state,
        });
        // "failed to connect with seccomp agent" is runc's wording, which
        // engines and runc's tests look for.
        let no_agent = |e: Errno| {
            SeccompError::Invalid(format!(
                "listenerPath {}: failed to connect with seccomp agent specified in the seccomp profile: {e}",
                self.path.display()
            ))
        };
        let s =
            socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(no_agent)?;
        let addr = UnixAddr::new(&self.path).map_err(no_agent)?;
        socket::connect(std::os::fd::AsRawFd::as_raw_fd(&s), &addr).map_err(no_agent)?;
        let text = serde_json::to_vec(&msg).unwrap_or_default();
        crate::terminal::send_fd(std::os::fd::AsRawFd::as_raw_fd(&s), std::os::fd::AsRawFd::as_raw_fd(fd), &text)
            .map_err(|e| {
                SeccompError::Invalid(format!(
                    "listenerPath {}: send the listener to the agent: {e}",
                    self.path.display()
                ))
            })
    }
}

impl Filter {
    /// Installs the filter on the calling process; returns the notification
    /// listener when the profile has NOTIFY rules.
    pub fn install(&self) -> Result<Option<OwnedFd>, SeccompError> {
        crate::sys::seccomp_set_filter(&self.program, self.flags).map_err(SeccompError::Install)
    }
}

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The return value for an action.
fn action_value(action: LinuxSeccompAction, errno_ret: Option<u32>) -> u32 {
    let data = |default: u32| errno_ret.unwrap_or(default) & 0xffff;
    match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => RET_ERRNO | data(libc::EPERM as u32),
        LinuxSeccompAction::ScmpActNotify => RET_USER_NOTIF,
        LinuxSeccompAction::ScmpActTrace => RET_TRACE | data(libc::EPERM as u32),
        LinuxSeccompAction::ScmpActLog => RET_LOG,
        LinuxSeccompAction::ScmpActAllow => RET_ALLOW,
    }
}

fn lookup(table: &[(&str, u32)], name: &str) -> Option<u32> {
    table.binary_search_by(|(n, _)| n.cmp(&name)).ok().map(|i| table[i].1)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Abi {
    X86_64,
    X86,
    X32,
}

impl Abi {
    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X86 => syscalls::X86,
            Abi::X32 => syscalls::X32,
        }
    }
    fn nr_bits(self) -> u32 {
        if self == Abi::X32 {
            X32_SYSCALL_BIT
        } else {
            0
        }
    }
    fn arg_len(self) -> SeccompCmpArgLen {
        if self == Abi::X86 {
            SeccompCmpArgLen::Dword
        } else {
            SeccompCmpArgLen::Qword
        }
    }
}

/// One compiled OCI rule: conditions (possibly none) and what to return.
struct Rule {
    conditions: Option<Vec<libc::sock_filter>>,
    ret: u32,
}

/// syscall number → rules, in profile order.
type Chains = BTreeMap<u32, Vec<Rule>>;

fn operator(op: LinuxSeccompOperator, value: u64, value_two: u64) -> (SeccompCmpOp, u64) {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, value),
        LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, value),
        LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, value),
        LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, value),
        LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, value),
        LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, value),
        // libseccomp: (arg & value) == valueTwo
        LinuxSeccompOperator::ScmpCmpMaskedEq => (SeccompCmpOp::MaskedEq(value), value_two),
    }
}

fn chains_for(spec: &LinuxSeccomp, abi: Abi) -> Result<Chains, SeccompError> {
    let mut chains = Chains::new();
    for (i, sc) in spec.syscalls().iter().flatten().enumerate() {
        let ret = action_value(sc.action(), sc.errno_ret().or(None));
        let args = sc.args().as_deref().unwrap_or(&[]);
        // Several conditions on one argument index are alternatives (libseccomp
        // and runc treat them so); conditions on different indexes all apply.
        let same_index = args.len() > 1 && args.iter().all(|a| a.index() == args[0].index());
        let groups: Vec<Vec<&oci_spec::runtime::LinuxSeccompArg>> =
            if same_index { args.iter().map(|a| vec![a]).collect() } else { vec![args.iter().collect()] };
        let mut rules = Vec::new();
        for group in groups {
            if group.is_empty() {
                rules.push(Rule { conditions: None, ret });
                continue;
            }
            let mut conds = Vec::new();
            for a in group {
                if a.index() > 5 {
                    return Err(SeccompError::Invalid(format!("syscalls[{i}].args: index {} is above 5", a.index())));
                }
                let (op, value) = operator(a.op(), a.value(), a.value_two().unwrap_or(0));
                conds.push(
                    SeccompCondition::new(a.index() as u8, abi.arg_len(), op, value)
                        .map_err(|e| SeccompError::Invalid(format!("syscalls[{i}].args: {e}")))?,
                );
            }
            let rule = SeccompRule::new(conds).map_err(|e| SeccompError::Invalid(format!("syscalls[{i}]: {e}")))?;
            let prog: BpfProgram = rule.into();
            let prog =
                prog.into_iter().map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k }).collect();
            rules.push(Rule { conditions: Some(prog), ret });
        }
        for name in sc.names() {
            // Names this architecture (or this kernel generation) lacks are
            // skipped, as runc does: profiles list calls for every platform.
            let Some(nr) = lookup(abi.table(), name) else { continue };
            let nr = nr | abi.nr_bits();
            let list = chains.entry(nr).or_default();
            for r in &rules {
                list.push(Rule { conditions: r.conditions.clone(), ret: r.ret });
            }
        }
    }
    Ok(chains)
}

/// The code for one ABI, entered with the syscall number in A.
fn abi_code(chains: &Chains, default: u32, enosys_tail: bool) -> Vec<libc::sock_filter> {
    let mut out = Vec::new();
    for (nr, rules) in chains {
        let mut body = Vec::new();
        let mut unconditional = false;
        for r in rules {
            match &r.conditions {
                Some(prog) => {
                    body.extend_from_slice(prog);
                    body.push(stmt(RET_K, r.ret));
                }
                None => {
                    body.push(stmt(RET_K, r.ret));
                    unconditional = true;
                    break;
                }
            }
        }
        if !unconditional {
            body.push(stmt(RET_K, default));
        }
        out.push(jump(JMP_JEQ_K, *nr, 1, 0));
        out.push(stmt(JMP_JA, body.len() as u32));
        out.extend(body);
    }
    if enosys_tail {
        if let Some(max) = chains.keys().next_back() {
            out.push(jump(JMP_JGT_K, *max, 0, 1));
            out.push(stmt(RET_K, RET_ERRNO | libc::ENOSYS as u32));
        }
    }
    out.push(stmt(RET_K, default));
    out
}

/// SCMP_ACT_NOTIFY where the handover of the listener itself would wait for
/// the agent that has not got it yet: runc's two refusals (`write`, which
/// its init calls right after loading the filter, and a NOTIFY default,
/// which would cover it), in runc's words, and `sendmsg`, with which hull's
/// init sends the listener to the runtime that passes it on.
fn refuse_notify_where_it_deadlocks(spec: &LinuxSeccomp) -> Result<(), SeccompError> {
    if spec.default_action() == LinuxSeccompAction::ScmpActNotify {
        return Err(SeccompError::Invalid("defaultAction: SCMP_ACT_NOTIFY cannot be used as default action".into()));
    }
    for (i, sc) in spec.syscalls().iter().flatten().enumerate() {
        if sc.action() != LinuxSeccompAction::ScmpActNotify {
            continue;
        }
        for name in sc.names() {
            let why = match name.as_str() {
                "write" => "the runtime writes to its parent after loading the filter",
                "sendmsg" => "the runtime hands the listener over with it",
                _ => continue,
            };
            return Err(SeccompError::Invalid(format!(
                "syscalls[{i}]: SCMP_ACT_NOTIFY cannot be used for the {name} syscall ({why})"
            )));
        }
    }
    Ok(())
}

/// Compiles the profile.
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let default = action_value(spec.default_action(), spec.default_errno_ret());
    let enosys_tail =
        !matches!(spec.default_action(), LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog);
    refuse_notify_where_it_deadlocks(spec)?;
    if !cfg!(target_arch = "x86_64") {
        return Err(SeccompError::Invalid(format!(
            "architectures: hull filters x86_64, x86 and x32 system calls only; this host is {}",
            std::env::consts::ARCH
        )));
    }
    // libseccomp (so runc and crun) always keeps the native architecture in
    // a filter and adds the listed ones to it: a profile listing only x86
    // and x32 still filters x86_64 calls by its rules (and does not kill
    // every one of them as a foreign architecture). Architectures of other
    // machines are accepted as libseccomp accepts them: no call on this
    // kernel carries their audit token, and the filter kills any that
    // would, so their rules could never apply.
    let archs = spec.architectures().clone().unwrap_or_default();
    let listed = |a: Arch| archs.contains(&a);
    let bad_arch = stmt(RET_K, RET_KILL_PROCESS);

    let mut blocks: Vec<(u32, Vec<libc::sock_filter>)> = Vec::new();
    {
        // x86_64 and x32 share the audit token; x32 numbers carry a bit.
        let mut b = vec![stmt(LD_W_ABS, 0)];
        let x32 = if listed(Arch::ScmpArchX32) {
            abi_code(&chains_for(spec, Abi::X32)?, default, enosys_tail)
        } else {
            vec![bad_arch]
        };
        let native = abi_code(&chains_for(spec, Abi::X86_64)?, default, enosys_tail);
        b.push(jump(JMP_JGE_K, X32_SYSCALL_BIT, 0, 1));
        b.push(stmt(JMP_JA, native.len() as u32));
        b.extend(native);
        b.extend(x32);
        blocks.push((AUDIT_ARCH_X86_64, b));
    }
    if listed(Arch::ScmpArchX86) {
        let mut b = vec![stmt(LD_W_ABS, 0)];
        b.extend(abi_code(&chains_for(spec, Abi::X86)?, default, enosys_tail));
        blocks.push((AUDIT_ARCH_I386, b));
    }

    // Header: load arch, one (JEQ, JA) pair per block, then the bad-arch return.
    let mut program = vec![stmt(LD_W_ABS, 4)];
    let header_len = 1 + 2 * blocks.len() + 1;
    let mut offset = header_len;
    for (i, (audit, b)) in blocks.iter().enumerate() {
        let ja_pos = 1 + 2 * i + 1;
        program.push(jump(JMP_JEQ_K, *audit, 0, 1));
        program.push(stmt(JMP_JA, (offset - ja_pos - 1) as u32));
        offset += b.len();
    }
    program.push(bad_arch);
    for (_, b) in blocks {
        program.extend(b);
    }
    if program.len() > 4096 {
        return Err(SeccompError::Invalid(format!(
            "the profile compiles to {} instructions; the kernel takes 4096",
            program.len()
        )));
    }

    let mut flags = 0u32;
    for f in spec.flags().iter().flatten() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG as u32,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
            // hull's init is single-threaded: syncing threads changes nothing.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 0,
            #[allow(unreachable_patterns)]
            _ => 0,
        };
    }
    let has_notify = spec.default_action() == LinuxSeccompAction::ScmpActNotify
        || spec.syscalls().iter().flatten().any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    let listener = if has_notify {
        let path = spec
            .listener_path()
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| SeccompError::Invalid("SCMP_ACT_NOTIFY needs listenerPath".into()))?;
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        Some(Listener { path, metadata: spec.listener_metadata().clone().unwrap_or_default() })
    } else {
        None
    };
    Ok(Filter { program, flags, listener })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).unwrap()
    }

    /// A classic-BPF interpreter for the instructions we emit.
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = vec![nr, arch, 0, 0];
        for a in args {
            data.push(a as u32);
            data.push((a >> 32) as u32);
        }
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let i = p[pc];
            pc += 1;
            match i.code {
                0x20 => a = data[i.k as usize / 4],
                0x54 => a &= i.k,
                0x05 => pc += i.k as usize,
                0x06 => return i.k,
                c => {
                    let cond = match c {
                        0x15 => a == i.k,
                        0x25 => a > i.k,
                        0x35 => a >= i.k,
                        0x45 => a & i.k != 0,
                        _ => panic!("opcode {c:#x}"),
                    };
                    pc += if cond { i.jt } else { i.jf } as usize;
                }
            }
        }
    }

    const X64: u32 = AUDIT_ARCH_X86_64;

    #[test]
    fn default_errno_with_allow_list() {
        let f = compile(&profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read", "write", "openat", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]
        })))
        .unwrap();
        assert_eq!(run(&f.program, X64, 0, [0; 6]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, 1, [0; 6]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, 257, [0; 6]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, 2, [0; 6]), RET_ERRNO | 1, "open is refused with EPERM");
        assert_eq!(run(&f.program, X64, 435, [0; 6]), RET_ERRNO | 38, "clone3 is newer than the profile: ENOSYS");
        assert_eq!(run(&f.program, AUDIT_ARCH_I386, 3, [0; 6]), RET_ALLOW, "i386 read is 3");
        assert_eq!(run(&f.program, X64, X32_SYSCALL_BIT, [0; 6]), RET_ALLOW, "x32 read");
        assert_eq!(run(&f.program, 0xdead, 0, [0; 6]), RET_KILL_PROCESS);
    }

    #[test]
    fn the_native_architecture_is_always_filtered() {
        // runc's seccomp.bats lists only x86 and x32: the x86_64 rules still apply.
        let f = compile(&profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 100}]
        })))
        .unwrap();
        let nr = lookup(syscalls::X86_64, "mkdir").unwrap();
        assert_eq!(run(&f.program, X64, nr, [0; 6]), RET_ERRNO | 100);
        assert_eq!(run(&f.program, X64, 59, [0; 6]), RET_ALLOW, "execve is allowed, not killed");
        assert_eq!(run(&f.program, AUDIT_ARCH_I386, 39, [0; 6]), RET_ERRNO | 100, "i386 mkdir");
        assert_eq!(run(&f.program, X64, X32_SYSCALL_BIT | nr, [0; 6]), RET_ERRNO | 100, "x32 mkdir");
        // Another machine's architecture changes nothing here.
        let f = compile(&profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .unwrap();
        assert_eq!(run(&f.program, X64, nr, [0; 6]), RET_ERRNO | 1);
        assert_eq!(run(&f.program, AUDIT_ARCH_I386, 39, [0; 6]), RET_KILL_PROCESS);
    }

    #[test]
    fn notify_is_refused_where_the_handover_would_wait_for_itself() {
        let with = |names: serde_json::Value, default: &str| {
            compile(&profile(serde_json::json!({
                "defaultAction": default, "listenerPath": "/run/l.sock",
                "syscalls": [{"names": names, "action": "SCMP_ACT_NOTIFY"}]
            })))
        };
        let e = with(serde_json::json!(["mkdir", "write"]), "SCMP_ACT_ALLOW").unwrap_err().to_string();
        assert!(e.contains("SCMP_ACT_NOTIFY cannot be used for the write syscall"), "{e}");
        let e = with(serde_json::json!(["sendmsg"]), "SCMP_ACT_ALLOW").unwrap_err().to_string();
        assert!(e.contains("SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall"), "{e}");
        let e = with(serde_json::json!(["mkdir"]), "SCMP_ACT_NOTIFY").unwrap_err().to_string();
        assert!(e.contains("SCMP_ACT_NOTIFY cannot be used as default action"), "{e}");
        assert!(with(serde_json::json!(["read", "close", "execve", "openat"]), "SCMP_ACT_ALLOW").is_ok());
    }

    #[test]
    fn native_only_kills_other_abis() {
        let f = compile(&profile(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}))).unwrap();
        assert_eq!(run(&f.program, X64, 59, [0; 6]), RET_ALLOW);
        assert_eq!(run(&f.program, AUDIT_ARCH_I386, 11, [0; 6]), RET_KILL_PROCESS);
        assert_eq!(run(&f.program, X64, X32_SYSCALL_BIT | 59, [0; 6]), RET_KILL_PROCESS);
    }

    #[test]
    fn errno_ret_and_argument_rules() {
        let f = compile(&profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
                {"names": ["clone"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 0x7E020000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS",
                 "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_GT"}, {"index": 0, "value": 1u64 << 40, "op": "SCMP_CMP_GE"}]}
            ]
        })))
        .unwrap();
        let nr = |n| lookup(syscalls::X86_64, n).unwrap();
        assert_eq!(run(&f.program, X64, nr("personality"), [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, nr("personality"), [0xffff_ffff, 0, 0, 0, 0, 0]), RET_ERRNO | 22);
        assert_eq!(run(&f.program, X64, nr("clone"), [0x11, 0, 0, 0, 0, 0]), RET_ERRNO | 1, "no namespace flags");
        assert_eq!(run(&f.program, X64, nr("clone"), [0x2000_0000, 0, 0, 0, 0, 0]), RET_ALLOW, "CLONE_NEWUTS");
        assert_eq!(run(&f.program, X64, nr("mkdir"), [1 << 41, 0o1000, 0, 0, 0, 0]), RET_KILL_PROCESS);
        assert_eq!(run(&f.program, X64, nr("mkdir"), [1 << 41, 0o700, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, nr("mkdir"), [5, 0o1000, 0, 0, 0, 0]), RET_ALLOW);
    }

    #[test]
    fn same_index_conditions_are_alternatives() {
        let f = compile(&profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]
        })))
        .unwrap();
        let nr = lookup(syscalls::X86_64, "personality").unwrap();
        assert_eq!(run(&f.program, X64, nr, [0; 6]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, nr, [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(&f.program, X64, nr, [4, 0, 0, 0, 0, 0]), RET_ERRNO | 1);
    }

    #[test]
    fn notify_needs_a_listener_and_sets_the_flag() {
        let p = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
        assert!(compile(&profile(p.clone())).is_err());
        let mut p = p;
        p["listenerPath"] = "/run/l.sock".into();
        let f = compile(&profile(p)).unwrap();
        assert_ne!(f.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32, 0);
        assert_eq!(run(&f.program, X64, lookup(syscalls::X86_64, "mkdir").unwrap(), [0; 6]), RET_USER_NOTIF);
    }

    #[test]
    fn tables_are_sorted() {
        for t in [syscalls::X86_64, syscalls::X86, syscalls::X32] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }
}
