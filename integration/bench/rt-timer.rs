//! A stand-in for a runtime binary that records what each call of it costs.
//!
//! The benchmarks give engines `<dir>/<name>` (a copy of this program) as the
//! runtime; it runs `<dir>/real` (a symlink to hull, crun or runc) with the
//! same arguments, descriptors and environment, waits for it, appends one
//! line to `<dir>/calls.log` and leaves with the runtime's exit status:
//!
//!     <start, unix s> <wall ms> <user ms> <sys ms> <max RSS KiB> <status> <args...>
//!
//! Built by integration/bench with plain rustc (no crates), statically: it
//! adds one process start (~0.5 ms) to each call, which the log excludes.
//! The runtime's children that it does not wait for itself (a container's
//! init) are not in the CPU times; the wall time covers them up to the
//! runtime's exit.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[repr(C)]
#[derive(Default)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// struct rusage on x86_64 Linux: two timevals, then fourteen longs.
#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

fn ms(t: &Timeval) -> f64 {
    t.sec as f64 * 1000.0 + t.usec as f64 / 1000.0
}

fn main() -> ExitCode {
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_else(|_| PathBuf::from("."));
    let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let real = dir.join("real");
    let wall0 = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let t0 = Instant::now();
    // argv[0] stays the runtime's own name: runc and crun look at it.
    let child = match Command::new(&real).arg0(std::env::args().next().unwrap_or_default()).args(&args).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rt-timer: {}: {e}", real.display());
            return ExitCode::from(127);
        }
    };
    let mut status = 0i32;
    let mut ru = Rusage::default();
    loop {
        // SAFETY: status and ru are valid for writes; the pid is our child's.
        let r = unsafe { wait4(child.id() as i32, &mut status, 0, &mut ru) };
        if r >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc_eintr()) {
            break;
        }
    }
    let wall = t0.elapsed().as_secs_f64() * 1000.0;
    let code = if status & 0x7f == 0 { (status >> 8) & 0xff } else { 128 + (status & 0x7f) };
    let line = format!(
        "{}.{:09} {wall:.3} {:.3} {:.3} {} {code} {}\n",
        wall0.as_secs(),
        wall0.subsec_nanos(),
        ms(&ru.utime),
        ms(&ru.stime),
        ru.maxrss,
        args.join(" ")
    );
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(dir.join("calls.log")) {
        let _ = f.write_all(line.as_bytes());
    }
    ExitCode::from(code as u8)
}

fn libc_eintr() -> i32 {
    4
}
