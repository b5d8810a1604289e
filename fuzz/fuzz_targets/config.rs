//! config.json text → parse and validate: never panics, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = libcontainer::spec::parse(data, "config.json") {
        let _ = libcontainer::spec::validate(&spec, std::path::Path::new("/nonexistent-bundle"));
        // Whatever parsed must survive the planning that create does.
        if let Some(p) = spec.process() {
            let _ = libcontainer::process::ProcessPlan::from_spec(p);
        }
        for m in spec.mounts().iter().flatten() {
            let _ = libcontainer::rootfs::MountEntry::parse(m, std::path::Path::new("/b"));
        }
        if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            let _ = libcontainer::seccomp::compile(s);
        }
    }
});
