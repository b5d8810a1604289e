//! A test tool for the cgroup v2 VM suite: lists the device programs
//! attached to a cgroup directory, or attaches an allow-everything one under
//! another name — as an engine or agent attaching its own program would —
//! to check that hull's `update` replaces only its own.
//!
//! Usage: device_programs list DIR | device_programs attach-foreign DIR NAME

use std::os::fd::OwnedFd;

use hull_cgroups::controllers::devices_bpf;
use oci_spec::runtime::LinuxDeviceCgroup;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let open = |dir: &str| -> OwnedFd { std::fs::File::open(dir).unwrap_or_else(|e| panic!("{dir}: {e}")).into() };
    match args.get(1).map(String::as_str) {
        Some("list") => {
            for name in devices_bpf::attached_names(&open(&args[2])) {
                println!("{name}");
            }
        }
        Some("attach-foreign") => {
            let mut allow_all = LinuxDeviceCgroup::default();
            allow_all.set_allow(true);
            let program = devices_bpf::compile(&[allow_all]);
            devices_bpf::attach_as(&open(&args[2]), &program, args[3].as_bytes()).expect("attach");
        }
        _ => {
            eprintln!("usage: device_programs list DIR | device_programs attach-foreign DIR NAME");
            std::process::exit(2);
        }
    }
}
