//! Capabilities: the five sets of `process.capabilities`, and the order in
//! which they are applied around the uid switch. Names, numbers and the
//! calls (capget/capset, the bounding and ambient prctls) are the `caps`
//! crate's.

use ::caps::errors::CapsError;
use ::caps::{CapSet, Capability, CapsHashSet};
use nix::errno::Errno;
use oci_spec::runtime::Capabilities;

use crate::sys;

/// The capabilities the running kernel knows (cap_last_cap; where /proc is
/// not readable, those its bounding set can be asked about).
pub fn known() -> CapsHashSet {
    ::caps::runtime::procfs_all_supported(None).unwrap_or_else(|_| ::caps::runtime::thread_all_supported())
}

/// Their names, in the kernel's order (what `hull features` lists).
pub fn known_names() -> Vec<String> {
    let mut known: Vec<Capability> = known().into_iter().collect();
    known.sort_by_key(Capability::index);
    known.iter().map(Capability::to_string).collect()
}

/// The five sets. Capabilities the running kernel does not know are dropped
/// from them (a config written for a newer kernel still runs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
}

/// oci-spec's name of a capability is the kernel's without `CAP_`.
fn to_caps(c: &oci_spec::runtime::Capability) -> Option<Capability> {
    use std::fmt::Write;
    // Room for the longest name: no reallocation while it is written.
    let mut name = String::with_capacity(32);
    write!(name, "CAP_{c}").ok()?;
    name.parse().ok()
}

fn set_of(spec: &Option<Capabilities>, known: &CapsHashSet) -> CapsHashSet {
    spec.iter().flatten().filter_map(to_caps).filter(|c| known.contains(c)).collect()
}

impl CapSets {
    pub fn from_spec(c: &oci_spec::runtime::LinuxCapabilities, known: &CapsHashSet) -> CapSets {
        CapSets {
            bounding: set_of(c.bounding(), known),
            effective: set_of(c.effective(), known),
            permitted: set_of(c.permitted(), known),
            inheritable: set_of(c.inheritable(), known),
            ambient: set_of(c.ambient(), known),
        }
    }
}

/// caps reports a failed call as text only ("capset failure: …"): the call's
/// errno, still the thread's (nothing but the message's allocation ran
/// since), is what hull's one-line errors name.
fn errno(_: CapsError) -> Errno {
    Errno::last()
}

/// Drops every capability outside `bounding` from the bounding set. Needs
/// CAP_SETPCAP, so it runs before the uid switch.
pub fn drop_bounding(bounding: &CapsHashSet) -> Result<(), Errno> {
    let all = ::caps::all();
    for cap in all.iter().filter(|c| !bounding.contains(c)) {
        match ::caps::drop(None, CapSet::Bounding, *cap).map_err(errno) {
            // EINVAL: a capability this kernel does not know.
            Ok(()) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    // A kernel newer than caps' table has capabilities it cannot name; they
    // must not stay in the container's bounding set either. Dropped by
    // number, up to the first one the kernel refuses as unknown.
    let first_unnamed = all.iter().map(|c| c.index() as u32 + 1).max().unwrap_or(0);
    for cap in first_unnamed..64 {
        match sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) {
            Ok(_) => {}
            Err(Errno::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sets inheritable, effective and permitted, then raises the ambient ones.
/// caps sets one set per capset(2): in this order each call passes the
/// kernel's checks exactly when a single capset of all three would (the new
/// inheritable set is checked against the permitted set still held, the new
/// effective against the old permitted, and the permitted shrinks last, once
/// the effective set fits in it). Ambient capabilities must also be
/// permitted and inheritable; like runc, a config that asks for one that is
/// not is not an error (the kernel simply refuses that one).
pub fn apply(sets: &CapSets) -> Result<(), Errno> {
    ::caps::set(None, CapSet::Inheritable, &sets.inheritable).map_err(errno)?;
    ::caps::set(None, CapSet::Effective, &sets.effective).map_err(errno)?;
    ::caps::set(None, CapSet::Permitted, &sets.permitted).map_err(errno)?;
    ::caps::clear(None, CapSet::Ambient).map_err(errno)?;
    for cap in &sets.ambient {
        let _ = ::caps::raise(None, CapSet::Ambient, *cap);
    }
    Ok(())
}

/// The capabilities of `sets` that this process does not hold itself (so
/// cannot grant), in the kernel's order: what a failed `apply` names.
pub fn not_held(sets: &CapSets) -> Vec<String> {
    let Ok(held) = ::caps::read(None, CapSet::Permitted) else { return Vec::new() };
    let mut missing: Vec<&Capability> = sets.permitted.union(&sets.effective).filter(|c| !held.contains(c)).collect();
    missing.sort_by_key(|c| c.index());
    missing.iter().map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Capability as Spec;
    use std::collections::HashSet;

    #[test]
    fn every_spec_capability_has_its_kernel_number() {
        // oci-spec reads each kernel name: its variant must come back as the same capability.
        for cap in ::caps::all() {
            let spec: Spec = serde_json::from_value(serde_json::Value::from(cap.to_string())).unwrap();
            assert_eq!(to_caps(&spec), Some(cap));
        }
        assert_eq!(to_caps(&Spec::NetBindService).map(|c| c.index()), Some(10));
    }

    #[test]
    fn sets() {
        let set: HashSet<Spec> = [Spec::Kill, Spec::NetBindService, Spec::AuditWrite].into_iter().collect();
        let c = oci_spec::runtime::LinuxCapabilitiesBuilder::default()
            .bounding(set.clone())
            .effective(set)
            .build()
            .unwrap();
        let s = CapSets::from_spec(&c, &::caps::all());
        let want: CapsHashSet =
            [Capability::CAP_KILL, Capability::CAP_NET_BIND_SERVICE, Capability::CAP_AUDIT_WRITE].into();
        assert_eq!(s.bounding, want);
        assert_eq!(s.effective, s.bounding);
    }

    #[test]
    fn caps_beyond_the_kernel_are_dropped() {
        let set: HashSet<Spec> = [Spec::CheckpointRestore, Spec::Chown].into_iter().collect();
        let c = oci_spec::runtime::LinuxCapabilitiesBuilder::default().bounding(set).build().unwrap();
        // A kernel that stops at CAP_AUDIT_READ (37).
        let known: CapsHashSet = ::caps::all().into_iter().filter(|c| c.index() <= 37).collect();
        assert_eq!(CapSets::from_spec(&c, &known).bounding, [Capability::CAP_CHOWN].into());
    }

    #[test]
    fn names_in_the_kernels_order() {
        let names = known_names();
        assert_eq!(names[0], "CAP_CHOWN");
        assert_eq!(names[24], "CAP_SYS_RESOURCE");
    }
}
