//! Device access on cgroup v2: there is no devices.allow file, so the OCI
//! device rules are compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program and
//! attached to the container's cgroup.
//!
//! Semantics follow cgroup v1's list: rules apply in order, a later rule
//! overrides an earlier one for the devices it names, and a rule for all
//! devices (`a *:* …`) resets the list and sets the default. The program checks
//! rules from last to first; the first that matches decides.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::CgroupError;

/// One eBPF instruction (struct bpf_insn).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, regs: (src << 4) | (dst & 0xf), off, imm }
}

// Opcodes used below (see include/uapi/linux/bpf.h).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU64_MOV_K: u8 = 0xb7;
const ALU64_MOV_X: u8 = 0xbf;
const JMP_JNE_K: u8 = 0x55;
const JMP_JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

/// A rule reduced to what the program compares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    kind: Option<i32>,
    major: Option<u32>,
    minor: Option<u32>,
    access: i32,
}

fn access_mask(s: &str) -> i32 {
    s.chars().fold(0, |m, c| {
        m | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// Reduces the OCI list to (default, rules that still matter).
fn reduce(rules: &[LinuxDeviceCgroup]) -> (bool, Vec<Rule>) {
    let mut default_allow = false;
    let mut out = Vec::new();
    for r in rules {
        let kind = match r.typ() {
            Some(LinuxDeviceType::B) => Some(DEV_BLOCK),
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Some(DEV_CHAR),
            Some(LinuxDeviceType::P) => continue, // fifos are not device-controlled
            Some(LinuxDeviceType::A) | None => None,
        };
        let major = r.major().filter(|m| *m >= 0).map(|m| m as u32);
        let minor = r.minor().filter(|m| *m >= 0).map(|m| m as u32);
        let access = access_mask(r.access().as_deref().unwrap_or("rwm"));
        let access = if access == 0 { ACC_READ | ACC_WRITE | ACC_MKNOD } else { access };
        if kind.is_none() && major.is_none() && minor.is_none() && access == ACC_READ | ACC_WRITE | ACC_MKNOD {
            default_allow = r.allow();
            out.clear();
            continue;
        }
        out.push(Rule { allow: r.allow(), kind, major, minor, access });
    }
    (default_allow, out)
}

/// Compiles the rules. Registers: r2 = device type, r3 = access, r4 = major,
/// r5 = minor (from struct bpf_cgroup_dev_ctx), r1 scratch.
pub fn compile(rules: &[LinuxDeviceCgroup]) -> Vec<Insn> {
    let (default_allow, rules) = reduce(rules);
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        // Build the block, then fix up the "skip to next rule" jumps.
        let mut block: Vec<Insn> = Vec::new();
        let mut skips: Vec<usize> = Vec::new();
        if let Some(k) = r.kind {
            skips.push(block.len());
            block.push(insn(JMP_JNE_K, 2, 0, 0, k));
        }
        if let Some(m) = r.major {
            skips.push(block.len());
            block.push(insn(JMP_JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = r.minor {
            skips.push(block.len());
            block.push(insn(JMP_JNE_K, 5, 0, 0, m as i32));
        }
        if r.access != ACC_READ | ACC_WRITE | ACC_MKNOD {
            block.push(insn(ALU64_MOV_X, 1, 3, 0, 0));
            if r.allow {
                // allow only when every requested bit is allowed
                block.push(insn(ALU32_AND_K, 1, 0, 0, !r.access));
                skips.push(block.len());
                block.push(insn(JMP_JNE_K, 1, 0, 0, 0));
            } else {
                // deny when any requested bit is denied
                block.push(insn(ALU32_AND_K, 1, 0, 0, r.access));
                skips.push(block.len());
                block.push(insn(JMP_JEQ_K, 1, 0, 0, 0));
            }
        }
        block.push(insn(ALU64_MOV_K, 0, 0, 0, r.allow as i32));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for i in skips {
            // jump target: the first instruction after this block
            block[i].off = (len - i - 1) as i16;
        }
        p.extend(block);
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, default_allow as i32));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

const BPF_PROG_LOAD: i32 = 5;
const BPF_PROG_ATTACH: i32 = 8;
const BPF_PROG_DETACH: i32 = 9;
const BPF_PROG_QUERY: i32 = 16;
const BPF_PROG_GET_FD_BY_ID: i32 = 13;
const BPF_OBJ_GET_INFO_BY_FD: i32 = 15;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    _pad: [u8; 64],
}

#[repr(C)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    _pad: [u8; 108],
}

#[repr(C)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: [u8; 100],
}

#[repr(C)]
struct GetFdById {
    id: u32,
    next_id: u32,
    open_flags: u32,
    _pad: [u8; 116],
}

#[repr(C)]
struct GetInfoByFd {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
    _pad: [u8; 112],
}

/// The head of `struct bpf_prog_info`, up to the program's name.
#[repr(C)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

/// The name every program hull loads carries: on `update` only these are
/// replaced, never a program an engine or an agent attached itself.
pub const PROG_NAME: &[u8] = b"hull_device";

fn bpf<T>(cmd: i32, attr: &mut T) -> Result<i64, std::io::Error> {
    // SAFETY: attr is a properly laid out, zero-padded bpf_attr variant that
    // lives through the call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Loads the program and attaches it to the cgroup directory `cgroup`,
/// replacing the programs hull attached before (on `update`) and leaving
/// any other attached program alone.
pub fn attach(cgroup: &OwnedFd, program: &[Insn]) -> Result<(), CgroupError> {
    attach_as(cgroup, program, PROG_NAME)
}

/// [`attach`] under another program name (at most 15 bytes): programs of
/// that name attached before are replaced, every other one stays.
pub fn attach_as(cgroup: &OwnedFd, program: &[Insn], prog_name: &[u8]) -> Result<(), CgroupError> {
    let license = c"Apache-2.0";
    let mut name = [0u8; 16];
    let len = prog_name.len().min(15);
    name[..len].copy_from_slice(&prog_name[..len]);
    let mut load = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: 0,
        _pad: [0; 64],
    };
    let fd = bpf(BPF_PROG_LOAD, &mut load)
        .map_err(|e| CgroupError::Bpf(format!("load the device-access BPF program: {e}")))?;
    // SAFETY: BPF_PROG_LOAD returned a new descriptor that we own.
    let prog = unsafe { OwnedFd::from_raw_fd(fd as i32) };

    let old: Vec<OwnedFd> =
        attached(cgroup).into_iter().filter(|(n, _)| n.as_bytes() == &name[..len]).map(|(_, fd)| fd).collect();
    let mut at = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
        _pad: [0; 108],
    };
    bpf(BPF_PROG_ATTACH, &mut at)
        .map_err(|e| CgroupError::Bpf(format!("attach the device-access BPF program: {e}")))?;
    // New rules are in force: drop the previous programs (update).
    for old_fd in old {
        let mut det = ProgAttach {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_bpf_fd: old_fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            attach_flags: 0,
            replace_bpf_fd: 0,
            _pad: [0; 108],
        };
        let _ = bpf(BPF_PROG_DETACH, &mut det);
    }
    Ok(())
}

fn prog_name(prog: &OwnedFd) -> String {
    // SAFETY: ProgInfo is plain data; all-zero is valid.
    let mut info: ProgInfo = unsafe { std::mem::zeroed() };
    let mut get = GetInfoByFd {
        bpf_fd: prog.as_raw_fd() as u32,
        info_len: std::mem::size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
        _pad: [0; 112],
    };
    if bpf(BPF_OBJ_GET_INFO_BY_FD, &mut get).is_err() {
        return String::new();
    }
    let end = info.name.iter().position(|&b| b == 0).unwrap_or(info.name.len());
    String::from_utf8_lossy(&info.name[..end]).into_owned()
}

/// The device programs attached to the cgroup itself, with their names.
fn attached(cgroup: &OwnedFd) -> Vec<(String, OwnedFd)> {
    let mut ids = [0u32; 64];
    let mut q = ProgQuery {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: [0; 100],
    };
    if bpf(BPF_PROG_QUERY, &mut q).is_err() {
        return Vec::new();
    }
    ids[..q.prog_cnt as usize]
        .iter()
        .filter_map(|id| {
            let mut g = GetFdById { id: *id, next_id: 0, open_flags: 0, _pad: [0; 116] };
            let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut g).ok()?;
            // SAFETY: a new descriptor owned by us.
            let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
            Some((prog_name(&fd), fd))
        })
        .collect()
}

/// Names of the device programs attached to the cgroup directory `cgroup`.
pub fn attached_names(cgroup: &OwnedFd) -> Vec<String> {
    attached(cgroup).into_iter().map(|(n, _)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn rule(
        allow: bool,
        typ: Option<LinuxDeviceType>,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(allow).access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    /// A tiny interpreter for the subset of eBPF we emit, to test the logic
    /// without loading it into a kernel.
    fn run(p: &[Insn], kind: i32, access: i32, major: u32, minor: u32) -> bool {
        let ctx = [((access as u32) << 16) | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => r[dst] = ctx[(i.off / 4) as usize] as u64,
                ALU32_AND_K => r[dst] = ((r[dst] as u32) & (i.imm as u32)) as u64,
                ALU32_RSH_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                ALU64_MOV_K => r[dst] = i.imm as i64 as u64,
                ALU64_MOV_X => r[dst] = r[src],
                JMP_JNE_K => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                JMP_JEQ_K => {
                    if r[dst] == i.imm as i64 as u64 {
                        pc += i.off as usize
                    }
                }
                EXIT => return r[0] == 1,
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn deny_all_then_allow_null() {
        let p = compile(&[
            rule(false, None, None, None, "rwm"),
            rule(true, Some(LinuxDeviceType::C), Some(1), Some(3), "rwm"),
            rule(true, Some(LinuxDeviceType::C), Some(136), None, "rw"),
        ]);
        assert!(run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3));
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 5), "zero not allowed");
        assert!(!run(&p, DEV_BLOCK, ACC_READ, 1, 3), "block 1:3 is another device");
        assert!(run(&p, DEV_CHAR, ACC_WRITE, 136, 4), "any pts");
        assert!(!run(&p, DEV_CHAR, ACC_MKNOD, 136, 4), "pts mknod not granted");
    }

    #[test]
    fn later_deny_overrides_earlier_allow() {
        let p = compile(&[
            rule(true, None, None, None, "rwm"),
            rule(false, Some(LinuxDeviceType::C), Some(1), Some(9), "w"),
        ]);
        assert!(run(&p, DEV_CHAR, ACC_READ, 1, 9));
        assert!(!run(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 9));
        assert!(run(&p, DEV_BLOCK, ACC_WRITE, 8, 0));
    }

    #[test]
    fn empty_list_denies() {
        let p = compile(&[]);
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 3));
    }
}
