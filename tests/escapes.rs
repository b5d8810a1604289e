//! The container escapes of 2025 (and older ones of the same shape), run as
//! an attacker would: a second party — here a thread of the test, standing
//! for another container that shares a directory with this one — keeps
//! swapping files for symlinks while containers are created. Each test
//! says which part of hull it proves, and was checked once against the
//! build before the fix (where it fails).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hull_tests::*;
use serde_json::json;

/// A busybox bundle whose /dev is a bind mount of a host directory, as
/// two containers sharing a volume mounted on /dev would have it. The
/// directory holds what the container needs there.
fn shared_dev_bundle() -> (Bundle, PathBuf) {
    let mut b = Bundle::busybox(&["true"]);
    let dev = b.dir.join("shared-dev");
    for d in ["pts", "shm", "mqueue"] {
        std::fs::create_dir_all(dev.join(d)).unwrap();
    }
    mknod_null(&dev.join("null"));
    std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")).unwrap();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    for m in mounts.iter_mut() {
        if m["destination"] == "/dev" {
            *m = json!({"destination": "/dev", "type": "bind", "source": dev, "options": ["rbind", "rw"]});
        }
    }
    (b, dev)
}

fn mknod_null(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mknod with a NUL-terminated path.
    let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(r, 0, "mknod {}", path.display());
}

/// Runs `racer` in a loop on another thread while `body` runs.
fn while_racing<T>(racer: impl Fn() + Send + 'static, body: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let h = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                racer();
            }
        })
    };
    let out = body();
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    out
}

/// Runs the container `n` times; returns the stdout of the runs that
/// succeeded and the number that failed.
fn runs(c: &Container, n: usize) -> (Vec<String>, usize) {
    let (mut ok, mut failed) = (Vec::new(), 0);
    for _ in 0..n {
        let r = c.run();
        if r.code == 0 {
            ok.push(r.stdout);
        } else {
            failed += 1;
        }
        let _ = c.hull(&["delete", "--force", "{id}"]);
    }
    (ok, failed)
}

#[test]
fn masked_paths_never_expose_what_a_swapped_dev_null_points_to() {
    // CVE-2025-31133. Masking /proc/timer_list by bind-mounting the path
    // /dev/null follows a symlink the other party puts there, here to
    // /proc/sys/kernel/ostype: the masked file then shows "Linux" (with
    // core_pattern as the target, it would be a host escape). hull masks
    // with the host's null device, opened by descriptor and checked
    // (rootfs/paths.rs). Before the fix, about half the runs showed the
    // target.
    let (mut b, dev) = shared_dev_bundle();
    b.config["process"]["args"] = json!(["sh", "-c", "stat -c %t:%T /proc/timer_list; wc -c < /proc/timer_list"]);
    let c = Container::new(b);
    let (ok, failed) = while_racing(
        move || {
            let (null, real, tmp) = (dev.join("null"), dev.join("null.real"), dev.join("null.link"));
            let _ = std::fs::rename(&null, &real);
            let _ = std::os::unix::fs::symlink("/proc/sys/kernel/ostype", &tmp);
            let _ = std::fs::rename(&tmp, &null);
            for _ in 0..50 {
                std::thread::yield_now();
            }
            let _ = std::fs::rename(&real, &null);
        },
        || runs(&c, 150),
    );
    let wrong: Vec<&String> = ok.iter().filter(|o| o.as_str() != "1:3\n0\n").collect();
    assert!(wrong.is_empty(), "{} of {} runs masked with something else: {:?}", wrong.len(), ok.len(), wrong[0]);
    assert!(ok.len() > 50, "too few runs succeeded: {} ok, {failed} failed", ok.len());
}

#[test]
fn the_console_is_never_bound_over_what_a_swapped_dev_console_points_to() {
    // CVE-2025-52565. With a terminal, the pty is bound over /dev/console;
    // binding over the name follows a symlink the other party keeps putting
    // there, here to /proc/sys/kernel/ostype, which then becomes the pty. hull
    // removes the entry, creates a file of its own and binds onto that
    // descriptor (terminal.rs). Before the fix, most runs showed ostype as a
    // character device.
    let (mut b, dev) = shared_dev_bundle();
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["args"] = json!(["sh", "-c", "stat -c %F /proc/sys/kernel/ostype"]);
    let c = Container::new(b);
    let (ok, failed) = while_racing(
        move || {
            let console = dev.join("console");
            let _ = std::fs::remove_file(&console);
            let _ = std::os::unix::fs::symlink("/proc/sys/kernel/ostype", &console);
            std::thread::yield_now();
        },
        || runs(&c, 150),
    );
    let wrong: Vec<&String> = ok.iter().filter(|o| !o.contains("regular")).collect();
    assert!(wrong.is_empty(), "{} of {} runs bound the pty elsewhere: {:?}", wrong.len(), ok.len(), wrong[0]);
    assert!(!ok.is_empty(), "no run succeeded ({failed} failed)");
}

#[test]
fn writes_to_proc_never_follow_the_containers_proc() {
    // CVE-2025-52881. hull writes oom_score_adj (and LSM labels, sysctls)
    // into procfs. Here the container's /proc is a directory the other
    // party controls, whose self/oom_score_adj keeps turning into a symlink
    // to the real /proc2/sys/kernel/domainname: written through the
    // container's /proc, the score would become the domain name (with
    // core_pattern, a way out). hull writes through a procfs of its own
    // (procfs.rs). Before the fix, runs printed a domain name of "7".
    let mut b = Bundle::busybox(&["true"]);
    let fake = b.dir.join("shared-proc");
    std::fs::create_dir_all(fake.join("self")).unwrap();
    for m in b.config["mounts"].as_array_mut().unwrap().iter_mut() {
        if m["destination"] == "/proc" {
            *m = json!({"destination": "/proc", "type": "bind", "source": fake, "options": ["rbind"]});
        }
    }
    b.add_mount(json!({"destination": "/proc2", "type": "proc", "source": "proc"}));
    // (No masked or read-only paths: hull's old code reached those through
    // the container's /proc too, and failed there before the write.)
    b.config["linux"]["maskedPaths"] = json!([]);
    b.config["linux"]["readonlyPaths"] = json!([]);
    b.config["process"]["oomScoreAdj"] = json!(7);
    b.config["linux"]["sysctl"] = json!({"kernel.msgmax": "12345"});
    b.config["process"]["args"] =
        json!(["sh", "-c", "cat /proc2/sys/kernel/domainname /proc2/self/oom_score_adj /proc2/sys/kernel/msgmax"]);
    let c = Container::new(b);
    let (ok, failed) = while_racing(
        move || {
            let (file, tmp) = (fake.join("self/oom_score_adj"), fake.join("self/tmp"));
            let _ = std::os::unix::fs::symlink("/proc2/sys/kernel/domainname", &tmp);
            let _ = std::fs::rename(&tmp, &file);
            std::thread::yield_now();
            let _ = std::fs::write(&tmp, "0");
            let _ = std::fs::rename(&tmp, &file);
        },
        || runs(&c, 100),
    );
    let wrong: Vec<&String> = ok.iter().filter(|o| o.as_str() != "(none)\n7\n12345\n").collect();
    assert!(wrong.is_empty(), "{} of {} runs wrote elsewhere: {:?}", wrong.len(), ok.len(), wrong[0]);
    assert!(ok.len() > 50, "too few runs succeeded: {} ok, {failed} failed", ok.len());
}

#[test]
fn a_created_init_cannot_be_opened_from_its_namespaces() {
    // CVE-2019-5736, created-state variant: between create and start the
    // init runs hull's binary inside the container's namespaces, holding
    // descriptors of the host (cgroup directories, its procfs). A process
    // sharing its user and pid namespaces with every capability there (a
    // pod's privileged container in a user-namespaced pod) passes the
    // kernel's uid and capability checks on the init; only its being
    // non-dumpable keeps that process out of /proc/<init>/exe and
    // /proc/<init>/fd. (The map keeps the container's root the host's
    // root: with any other, the init's own switch to it already made it
    // non-dumpable, and a container without a user namespace needs every
    // capability of the init's, CAP_SYS_PTRACE among them, which overrides
    // dumpability.) Before the fix both were open to it.
    let userns = |b: &mut Bundle| {
        b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
        let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
        b.config["linux"]["uidMappings"] = map.clone();
        b.config["linux"]["gidMappings"] = map;
    };
    let mut a = Bundle::busybox(&["true"]);
    userns(&mut a);
    let a = Container::new(a);
    a.create().ok();
    let pid = a.pid();
    let mut b = Bundle::busybox(&[]);
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "pid" {
            ns["path"] = json!(format!("/proc/{pid}/ns/pid"));
        }
    }
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
    let all = libcontainer::process::caps::known_names();
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set] = json!(all);
    }
    let script = "cat /proc/1/exe > /dev/null && echo exe-readable; readlink /proc/1/fd/0 && echo fds-readable; \
                  head -1 /proc/1/status";
    let (r, _c) = run_script(b, script);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("hull"), "pid 1 should be the created init: {r:?}");
    assert!(!r.stdout.contains("readable"), "{r:?}");
    assert!(r.stderr.contains("Permission denied"), "{r:?}");
}

#[test]
fn only_the_callers_descriptors_cross_with_preserve_fds() {
    // --preserve-fds 100 with only fd 3 passed: hull's own descriptors
    // (sockets of its protocol, a cgroup directory of the host: the
    // CVE-2024-21626 class) must not take the free numbers of that range
    // into the container. Before the fix, fds 4 and up were hull's. The
    // container's process is looked at from the host.
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    let passed = c.bundle.dir.join("passed.txt");
    std::fs::write(&passed, "x").unwrap();
    let file = std::fs::File::open(&passed).unwrap();
    let mut cmd =
        c.hull_cmd(&["run", "-d", "--preserve-fds", "100", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    let raw = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: dup2, fcntl and close_range are async-signal-safe; hull gets
    // stdio and the file at fd 3, open across exec, and nothing else.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    run_to_files(cmd).ok();
    let fds: Vec<(String, String)> = std::fs::read_dir(format!("/proc/{}/fd", c.pid()))
        .unwrap()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).map(|p| p.display().to_string()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), target)
        })
        .collect();
    assert!(fds.iter().any(|(n, t)| n == "3" && t.ends_with("passed.txt")), "{fds:?}");
    let extra: Vec<_> = fds.iter().filter(|(n, _)| n.parse::<i32>().is_ok_and(|n| n > 3)).collect();
    assert!(extra.is_empty(), "hull's descriptors crossed into the container: {extra:?}");
}

#[test]
fn exec_cap_adds_to_bounding_effective_and_permitted_only() {
    // CVE-2022-29162: `exec --cap` must not put the capability in the
    // inheritable or ambient sets, from where it would pass on to any
    // program the process runs. Before the fix it was in all five.
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let r = c.hull(&["exec", "--cap", "CAP_NET_ADMIN", "{id}", "grep", "^Cap", "/proc/self/status"]).ok();
    let set = |name: &str| {
        let line = r.stdout.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    let net_admin = 1u64 << 12;
    for s in ["CapPrm:", "CapEff:", "CapBnd:"] {
        assert!(set(s) & net_admin != 0, "{s} lacks CAP_NET_ADMIN: {}", r.stdout);
    }
    for s in ["CapInh:", "CapAmb:"] {
        assert!(set(s) & net_admin == 0, "{s} has CAP_NET_ADMIN: {}", r.stdout);
    }
}

#[test]
fn kill_all_sends_real_time_signals() {
    // systemd inside a container stops on SIGRTMIN+3; `kill --all` sent
    // signal 0 for every real-time signal before the fix.
    let mut b = Bundle::busybox(&[]);
    b.config["root"]["readonly"] = json!(false);
    b.config["process"]["args"] =
        json!(["sh", "-c", "trap 'echo got > /tmp/got' 37; touch /tmp/ready; while :; do sleep 0.05; done"]);
    let c = Container::new(b);
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let ready = || c.hull(&["exec", "{id}", "test", "-e", "/tmp/ready"]).code == 0;
    for _ in 0..200 {
        if ready() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    c.hull(&["kill", "--all", "{id}", "RTMIN+3"]).ok();
    c.hull(&["kill", "--all", "{id}", "0"]).ok();
    let mut got = false;
    for _ in 0..200 {
        if c.hull(&["exec", "{id}", "cat", "/tmp/got"]).stdout == "got\n" {
            got = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(got, "the container never saw signal 37 (SIGRTMIN+3)");
}

#[test]
fn a_command_waiting_for_the_lock_acts_on_the_state_after_the_wait() {
    // update (like start, delete, pause) must read the state only once it
    // holds the container's lock: here the container is deleted while
    // update waits, and update must then say it does not exist rather than
    // write to what it read before. Before the fix it reported success.
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let dir = c.root.join(&c.id);
    let lock = std::fs::File::open(&dir).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) }, 0);
    let waiting = std::thread::spawn({
        let cmd = c.hull_cmd(&["update", "--pids-limit", "42", "{id}"]);
        move || run_to_files(cmd)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let saved = std::fs::read(dir.join("state.json")).unwrap();
    std::fs::remove_file(dir.join("state.json")).unwrap();
    drop(lock);
    let r = waiting.join().unwrap();
    std::fs::write(dir.join("state.json"), saved).unwrap();
    assert_ne!(r.code, 0, "update acted on a container deleted while it waited: {r:?}");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
}
