//! `process.execCPUAffinity` (runtime-spec 1.2): the CPUs an exec'd process
//! starts on (`initial`, before it enters the container's cgroup: the
//! parent pins itself around the clone, so the child is born pinned) and
//! runs on (`final`, set by the process once inside, before execve). The
//! spec leaves the container's init out; so do runc and hull.

use nix::errno::Errno;
use oci_spec::runtime::ExecCPUAffinity;

use crate::sys;

/// The highest CPU number a list may name (runc's limit too).
const MAX_CPU: u32 = 64 * 1024;

/// A CPU list ("0-3,7") as sched_setaffinity's mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuMask {
    pub list: String,
    pub words: Vec<u64>,
}

impl CpuMask {
    pub fn parse(list: &str) -> Result<CpuMask, String> {
        let mut words = Vec::new();
        let number = |s: &str| -> Result<u32, String> {
            let n: u32 = s.trim().parse().map_err(|_| format!("{s:?} is not a CPU number"))?;
            if n > MAX_CPU {
                return Err(format!("CPU {n} is above {MAX_CPU}"));
            }
            Ok(n)
        };
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None => (number(part)?, number(part)?),
            };
            if first > last {
                return Err(format!("range {part:?} runs backwards"));
            }
            for cpu in first..=last {
                let (word, bit) = ((cpu / 64) as usize, cpu % 64);
                if words.len() <= word {
                    words.resize(word + 1, 0);
                }
                words[word] |= 1 << bit;
            }
        }
        if words.is_empty() {
            return Err("no CPU in the list".into());
        }
        Ok(CpuMask { list: list.to_string(), words })
    }
}

/// `initial` and `final`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecAffinity {
    pub initial: Option<CpuMask>,
    pub last: Option<CpuMask>,
}

impl ExecAffinity {
    pub fn from_spec(a: Option<&ExecCPUAffinity>) -> Result<ExecAffinity, String> {
        let parse = |field: &str, v: &Option<String>| -> Result<Option<CpuMask>, String> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(list) => {
                    CpuMask::parse(list).map(Some).map_err(|e| format!("process.execCPUAffinity.{field} {list:?}: {e}"))
                }
            }
        };
        let Some(a) = a else { return Ok(ExecAffinity::default()) };
        Ok(ExecAffinity { initial: parse("initial", a.initial())?, last: parse("final", a.cpu_affinity_final())? })
    }
}

/// Pins the calling thread to `mask`, saying which field asked for it.
pub fn pin(field: &str, mask: &CpuMask) -> Result<(), String> {
    sys::sched_setaffinity(&mask.words).map_err(|e: Errno| {
        let why = if e == Errno::EINVAL { " (none of these CPUs is online or allowed)" } else { "" };
        format!("process.execCPUAffinity.{field} {:?}: sched_setaffinity: {e}{why}", mask.list)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_become_masks() {
        assert_eq!(CpuMask::parse("0-3,7").unwrap().words, vec![0b1000_1111]);
        assert_eq!(CpuMask::parse("64").unwrap().words, vec![0, 1]);
        assert_eq!(CpuMask::parse(" 1 , 2-2 ,").unwrap().words, vec![0b110]);
        assert!(CpuMask::parse("3-1").is_err());
        assert!(CpuMask::parse("x").is_err());
        assert!(CpuMask::parse("").is_err());
        assert!(CpuMask::parse("70000").is_err());
    }
}
