//! cgroup v1's device list as a set, to write only what changes.
//!
//! The kernel keeps, per cgroup, a default (allow all or deny all) and a list
//! of exceptions (`c 1:3 rw`). OCI rules are applied to that model in order,
//! as the kernel would: a rule for all devices (`a`) resets the list and sets
//! the default; a rule with the default's verdict removes access from an
//! exception; one with the other verdict adds to it. What the kernel would
//! refuse or silently ignore is dealt with here:
//! - only `r`, `w` and `m` mean something in `access`; other letters are
//!   dropped (runc does the same: `rwa` is `rw`), where the kernel refused
//!   the whole write with EINVAL;
//! - a rule that would punch a hole in a wildcard exception (deny `c 1:3`
//!   while `c *:*` is allowed) is refused: the kernel only removes exact
//!   matches and would leave the device open without a word;
//! - fifos (`p`) are not device-controlled: refused with one line.
//!
//! [`DeviceList::transition`] then gives the writes that turn the cgroup's
//! current list (read from `devices.list`) into the wanted one: only the
//! differences, so that an update never passes through "deny everything"
//! while the container runs, and a deny after a deny-all is never written.
//! The switch of default (a fresh cgroup inherits "allow all") is the one
//! disruptive write, and comes first.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::CgroupError;

const READ: u8 = 1;
const WRITE: u8 = 2;
const MKNOD: u8 = 4;

/// The devices an exception names: block or char, a major and a minor
/// (`None`: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    major: Option<u32>,
    minor: Option<u32>,
    kind: char,
}

/// One write to `devices.allow` (`allow`) or `devices.deny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub allow: bool,
    pub line: String,
}

/// Exceptions in the order the rules first named them: the runtime-spec
/// wants entries applied in the listed order, and the kernel's devices.list
/// keeps that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Exceptions(Vec<(Node, u8)>);

impl Exceptions {
    fn get(&self, node: &Node) -> Option<u8> {
        self.0.iter().find(|(n, _)| n == node).map(|(_, b)| *b)
    }

    fn add(&mut self, node: Node, bits: u8) {
        match self.0.iter_mut().find(|(n, _)| *n == node) {
            Some((_, b)) => *b |= bits,
            None => self.0.push((node, bits)),
        }
    }

    /// Takes `bits` away from `node`'s entry, dropping it when nothing is left.
    fn take(&mut self, node: &Node, bits: u8) {
        if let Some((_, b)) = self.0.iter_mut().find(|(n, _)| n == node) {
            *b &= !bits;
        }
        self.0.retain(|(_, b)| *b != 0);
    }

    fn iter(&self) -> impl Iterator<Item = (&Node, u8)> {
        self.0.iter().map(|(n, b)| (n, *b))
    }
}

/// The default and the exceptions of a v1 devices cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    allow_all: bool,
    exceptions: Exceptions,
}

fn access_bits(access: &str) -> u8 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => 0,
        }
    })
}

fn access_text(bits: u8) -> String {
    [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')].iter().filter(|(b, _)| bits & b != 0).map(|(_, c)| *c).collect()
}

fn line(node: &Node, bits: u8) -> String {
    let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_else(|| "*".into());
    format!("{} {}:{} {}", node.kind, num(node.major), num(node.minor), access_text(bits))
}

fn invalid(index: usize, msg: String) -> CgroupError {
    CgroupError::Invalid { field: "devices", msg: format!("rule {index}: {msg}") }
}

impl DeviceList {
    /// A cgroup where every device is allowed (`allow_all`) or denied.
    fn all(allow_all: bool) -> DeviceList {
        DeviceList { allow_all, exceptions: Exceptions::default() }
    }

    /// The list the OCI rules make, applied in order to a cgroup that denies
    /// everything. A missing or empty `access` means `rwm`.
    pub fn from_rules(rules: &[LinuxDeviceCgroup]) -> Result<DeviceList, CgroupError> {
        let mut list = DeviceList::all(false);
        for (i, r) in rules.iter().enumerate() {
            let kind = match r.typ() {
                Some(LinuxDeviceType::A) | None => {
                    list = DeviceList::all(r.allow());
                    continue;
                }
                Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
                Some(LinuxDeviceType::B) => 'b',
                Some(LinuxDeviceType::P) => {
                    return Err(invalid(i, "type p: fifos are not controlled by the devices cgroup".into()))
                }
            };
            let number = |n: Option<i64>| n.filter(|n| *n >= 0).map(|n| n as u32);
            let node = Node { kind, major: number(r.major()), minor: number(r.minor()) };
            let access = r.access().as_deref().filter(|a| !a.is_empty()).unwrap_or("rwm");
            let bits = access_bits(access);
            if r.allow() == list.allow_all {
                list.remove(&node, bits).map_err(|msg| invalid(i, msg))?;
            } else {
                list.exceptions.add(node, bits);
            }
        }
        Ok(list)
    }

    /// Takes `bits` away from the exception for exactly `node`. A wildcard
    /// exception that covers `node` with some of those bits would stay in
    /// force (the kernel removes exact matches only): refused.
    fn remove(&mut self, node: &Node, bits: u8) -> Result<(), String> {
        let wider =
            [Node { major: None, ..*node }, Node { minor: None, ..*node }, Node { major: None, minor: None, ..*node }];
        for w in wider.iter().filter(|w| *w != node) {
            let overlap = self.exceptions.get(w).unwrap_or(0) & bits;
            if overlap != 0 {
                let verdict = if self.allow_all { "allowed" } else { "denied" };
                return Err(format!(
                    "{:?} cannot be {verdict}: the wider rule {:?} stays in force for it on cgroup v1 (order the rules so that it comes later, or narrow it)",
                    line(node, bits),
                    line(w, overlap),
                ));
            }
        }
        self.exceptions.take(node, bits);
        Ok(())
    }

    /// The kernel's `devices.list`: `a *:* rwm` alone when every device is
    /// allowed (its exceptions are then not shown), else the allowed ones.
    pub fn parse(text: &str) -> Result<DeviceList, CgroupError> {
        let mut list = DeviceList::all(false);
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            let bad = || CgroupError::Invalid { field: "devices", msg: format!("devices.list: cannot read {l:?}") };
            let mut f = l.split([' ', ':']);
            let (Some(kind), Some(major), Some(minor), Some(access), None) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                return Err(bad());
            };
            let number = |s: &str| if s == "*" { Ok(None) } else { s.parse().map(Some).map_err(|_| bad()) };
            let kind = match kind {
                "a" => return Ok(DeviceList::all(true)),
                "b" => 'b',
                "c" => 'c',
                _ => return Err(bad()),
            };
            let node = Node { kind, major: number(major)?, minor: number(minor)? };
            list.exceptions.add(node, access_bits(access));
        }
        Ok(list)
    }

    /// The writes that turn a cgroup holding `self` into `target`: a change
    /// of default (or a cgroup that allows everything, whose deny exceptions
    /// devices.list does not show) needs the one disruptive `a *:* rwm`;
    /// then only the access that goes, then the access that comes.
    pub fn transition(&self, target: &DeviceList) -> Vec<Write> {
        let mut writes = Vec::new();
        let empty = Exceptions::default();
        let old = if self.allow_all || self.allow_all != target.allow_all {
            writes.push(Write { allow: target.allow_all, line: "a *:* rwm".into() });
            &empty
        } else {
            &self.exceptions
        };
        for (node, bits) in old.iter() {
            let dropped = bits & !target.exceptions.get(node).unwrap_or(0);
            if dropped != 0 {
                writes.push(Write { allow: target.allow_all, line: line(node, dropped) });
            }
        }
        for (node, bits) in target.exceptions.iter() {
            let gained = bits & !old.get(node).unwrap_or(0);
            if gained != 0 {
                writes.push(Write { allow: !target.allow_all, line: line(node, gained) });
            }
        }
        writes
    }

    /// Does a cgroup whose devices.list reads as `self` hold `target`? For a
    /// cgroup that allows everything only the default can be compared.
    pub fn holds(&self, target: &DeviceList) -> bool {
        if target.allow_all {
            return self.allow_all;
        }
        // The same exceptions, in whatever order the kernel lists them.
        !self.allow_all
            && self.exceptions.0.len() == target.exceptions.0.len()
            && target.exceptions.iter().all(|(n, b)| self.exceptions.get(n) == Some(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn rule(allow: bool, typ: Option<LinuxDeviceType>, major: i64, minor: i64, access: &str) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(allow).access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if major >= 0 {
            b = b.major(major);
        }
        if minor >= 0 {
            b = b.minor(minor);
        }
        b.build().unwrap()
    }
    use LinuxDeviceType::{B, C, P};

    fn writes(from: &DeviceList, to: &DeviceList) -> Vec<String> {
        from.transition(to)
            .into_iter()
            .map(|w| format!("{} {}", if w.allow { "allow" } else { "deny" }, w.line))
            .collect()
    }

    #[test]
    fn unknown_access_letters_are_dropped_and_a_deny_after_deny_all_is_no_write() {
        // runc's "update devices [minimal transition rules]" config.
        let rules =
            [rule(false, None, -1, -1, "rwm"), rule(false, Some(C), 1, 11, "rwa"), rule(true, Some(C), 1, 3, "rwa")];
        let target = DeviceList::from_rules(&rules).unwrap();
        let fresh = DeviceList::parse("a *:* rwm\n").unwrap();
        assert_eq!(writes(&fresh, &target), ["deny a *:* rwm", "allow c 1:3 rw"]);
    }

    #[test]
    fn an_update_writes_only_the_differences() {
        let before =
            [rule(false, None, -1, -1, "rwm"), rule(true, Some(C), 1, 3, "rwm"), rule(true, Some(C), 1, 5, "rwm")];
        let after =
            [rule(false, None, -1, -1, "rwm"), rule(true, Some(C), 1, 3, "rw"), rule(true, Some(B), 8, -1, "r")];
        let now = DeviceList::parse("c 1:3 rwm\nc 1:5 rwm\n").unwrap();
        assert_eq!(now, DeviceList::from_rules(&before).unwrap());
        let target = DeviceList::from_rules(&after).unwrap();
        assert_eq!(writes(&now, &target), ["deny c 1:3 m", "deny c 1:5 rwm", "allow b 8:* r"]);
        assert!(writes(&target, &target).is_empty(), "the same rules again write nothing");
        assert!(DeviceList::parse("c 1:3 rw\nb 8:* r\n").unwrap().holds(&target));
    }

    #[test]
    fn later_rules_override_earlier_ones() {
        let rules = [
            rule(false, None, -1, -1, "rwm"),
            rule(true, Some(C), 1, 3, "rwm"),
            rule(false, Some(C), 1, 3, "w"),
            rule(true, None, -1, -1, "rwm"),
            rule(false, Some(C), 1, 9, "rw"),
        ];
        let target = DeviceList::from_rules(&rules).unwrap();
        let fresh = DeviceList::parse("a *:* rwm").unwrap();
        // allow-all with one deny exception: the list resets, then the deny.
        assert_eq!(writes(&fresh, &target), ["allow a *:* rwm", "deny c 1:9 rw"]);
    }

    #[test]
    fn a_hole_in_a_wildcard_exception_and_fifos_are_refused() {
        let rules =
            [rule(false, None, -1, -1, "rwm"), rule(true, Some(C), -1, -1, "m"), rule(false, Some(C), 1, 3, "m")];
        let err = DeviceList::from_rules(&rules).unwrap_err().to_string();
        assert!(err.contains("rule 2") && err.contains("c *:* m"), "{err}");
        // No overlap in access: fine.
        let rules =
            [rule(false, None, -1, -1, "rwm"), rule(true, Some(C), -1, -1, "m"), rule(false, Some(C), 1, 3, "rw")];
        assert!(DeviceList::from_rules(&rules).is_ok());
        let err = DeviceList::from_rules(&[rule(true, Some(P), 1, 1, "rwm")]).unwrap_err().to_string();
        assert!(err.contains("fifo"), "{err}");
    }

    #[test]
    fn devices_list_is_read_as_the_kernel_writes_it() {
        let l = DeviceList::parse("c *:* m\nb *:* m\nc 1:3 rwm\nc 136:* rwm\n").unwrap();
        assert!(!l.allow_all);
        assert_eq!(l.exceptions.0.len(), 4);
        assert!(DeviceList::parse("x 1:2 r").is_err());
        assert!(DeviceList::parse("").unwrap() == DeviceList::all(false));
    }
}
