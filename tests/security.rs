//! Seccomp, hooks, and the attacks that broke runc, performed for real.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;

use hull_tests::*;
use serde_json::json;

/// A default-deny profile in the style of the engines' defaults: ERRNO by
/// default, an allow list big enough for busybox.
fn allow_list_profile() -> serde_json::Value {
    let allowed = [
        "access",
        "arch_prctl",
        "brk",
        "capget",
        "capset",
        "chdir",
        "clone",
        "clone3",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "execve",
        "exit",
        "exit_group",
        "fchdir",
        "fcntl",
        "fstat",
        "newfstatat",
        "statx",
        "getcwd",
        "getdents64",
        "getegid",
        "geteuid",
        "getgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getuid",
        "getgroups",
        "ioctl",
        "lseek",
        "lstat",
        "mmap",
        "mprotect",
        "munmap",
        "nanosleep",
        "clock_nanosleep",
        "open",
        "openat",
        "pipe",
        "pipe2",
        "poll",
        "prctl",
        "pread64",
        "prlimit64",
        "read",
        "readlink",
        "readlinkat",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "sendmsg",
        "set_robust_list",
        "set_tid_address",
        "setgid",
        "setgroups",
        "setresgid",
        "setresuid",
        "setuid",
        "stat",
        "uname",
        "wait4",
        "write",
        "writev",
        "getrandom",
        "rseq",
        "futex",
        "sigaltstack",
        "umask",
        "fork",
        "vfork",
        "kill",
        "getpgid",
        "setpgid",
        "gettid",
        "sysinfo",
        "personality",
    ];
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": allowed.to_vec(), "action": "SCMP_ACT_ALLOW"}]
    })
}

#[test]
fn seccomp_allow_list_refuses_the_rest_with_eperm() {
    let mut b = Bundle::busybox(&[]);
    // With CAP_SYS_ADMIN, only the filter stands between the shell and these calls.
    let caps = json!(["CAP_SYS_ADMIN", "CAP_KILL"]);
    b.config["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
    let script = "echo allowed; unshare -n true && echo unshared; mount -t tmpfs t /tmp && echo mounted; mkdir /dev/shm/x && echo made; true";
    let (r, _c) = run_script(b.clone_config(), script);
    assert_eq!(r.stdout, "allowed\nunshared\nmounted\nmade\n", "without a filter all work: {r:?}");
    b.config["linux"]["seccomp"] = allow_list_profile();
    let (r, _c) = run_script(b, script);
    assert_eq!(r.stdout, "allowed\n", "{r:?}");
    assert!(r.stderr.contains("unshare") && r.stderr.contains("Operation not permitted"), "{r:?}");
    assert!(r.stderr.contains("mount: permission denied"), "{r:?}");
    assert!(r.stderr.contains("mkdir") && r.stderr.matches("Operation not permitted").count() == 2, "{r:?}");
}

#[test]
fn seccomp_custom_errno_and_argument_rules() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
            // personality(0xffffffff) queries; PER_LINUX32 (8) is refused, PER_LINUX allowed
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
        ]
    });
    let (r, _c) = run_script(b, "mkdir /dev/shm/x; linux32 true; echo linux32=$?; linux64 true; echo linux64=$?");
    assert!(r.stderr.contains("No space left on device"), "errnoRet 28 = ENOSPC: {r:?}");
    assert!(r.stdout.contains("linux64=0"), "{r:?}");
    assert!(!r.stdout.contains("linux32=0"), "{r:?}");
}

#[test]
fn seccomp_kill_process_action() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]});
    let (r, _c) = run_script(b, "echo $PPID; cat /proc/self/status >/dev/null");
    // busybox sh reads getppid at start: the shell dies of SIGSYS.
    assert_eq!(r.code, 128 + 31, "{r:?}");
}

#[test]
fn seccomp_notify_sends_the_listener_to_the_agent() {
    let mut b = Bundle::busybox(&["true"]);
    let sock = b.dir.join("agent.sock");
    std::fs::create_dir_all(&b.dir).unwrap();
    let listener = UnixListener::bind(&sock).unwrap();
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock, "listenerMetadata": "meta-42",
        "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let (n, fd) = libcontainer::sys::recv_with_fd(conn.as_raw_fd(), &mut buf).unwrap();
        (String::from_utf8_lossy(&buf[..n]).into_owned(), fd.is_some())
    });
    let c = Container::new(b);
    c.run().ok();
    let (msg, got_fd) = agent.join().unwrap();
    assert!(got_fd, "the listener descriptor came with the message");
    let v: serde_json::Value = serde_json::from_str(&msg).unwrap();
    assert_eq!(v["fds"], json!(["seccompFd"]));
    assert_eq!(v["metadata"], "meta-42");
    assert_eq!(v["state"]["id"], c.id.as_str());
}

#[test]
fn hooks_run_in_order_with_state_on_stdin() {
    let mut b = Bundle::busybox(&["true"]);
    let log = b.dir.join("hooks.log");
    std::fs::create_dir_all(&b.dir).unwrap();
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $s\" >> {}", log.display())]});
    b.config["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
        "startContainer": [hook("startContainer")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")]
    });
    // createContainer/startContainer run inside the container: the paths
    // resolve there, so busybox's sh writes into the container's view of the log.
    let log_in_container = "/hooks.log";
    b.config["hooks"]["createContainer"] = json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"createContainer $s\" >> {}", log.display())]}]);
    b.config["hooks"]["startContainer"] = json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"startContainer $s\" >> {log_in_container}")]}]);
    b.config["root"]["readonly"] = json!(false);
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    c.wait_status("stopped");
    c.hull(&["delete", "{id}"]).ok();
    let text = std::fs::read_to_string(&log).unwrap();
    let stages: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(stages, ["prestart", "createRuntime", "createContainer", "poststart", "poststop"], "{text}");
    let status = |stage: &str| -> String {
        let line = text.lines().find(|l| l.starts_with(stage)).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.split_once(' ').unwrap().1).unwrap();
        assert_eq!(v["id"], c.id.as_str());
        v["status"].as_str().unwrap().to_string()
    };
    assert_eq!(status("createRuntime"), "creating");
    assert_eq!(status("poststart"), "running");
    assert_eq!(status("poststop"), "stopped");
    let inside = std::fs::read_to_string(c.bundle.rootfs().join("hooks.log")).unwrap();
    assert!(inside.starts_with("startContainer {"), "startContainer ran inside the container: {inside}");
    assert!(inside.contains("\"status\":\"created\""), "{inside}");
}

#[test]
fn failing_create_hook_fails_create_and_cleans_up() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo broken >&2; exit 3"]}]});
    let c = Container::new(b);
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("createRuntime") && r.stderr.contains("exit status 3") && r.stderr.contains("broken"),
        "{r:?}"
    );
    c.assert_gone();
}

#[test]
fn hook_timeout_is_enforced() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["hooks"] = json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    let c = Container::new(b);
    let t = std::time::Instant::now();
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("timed out"), "{r:?}");
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    c.assert_gone();
}

#[test]
fn failing_poststart_and_poststop_hooks_only_warn() {
    let mut b = Bundle::busybox(&["true"]);
    let fail = json!([{"path": "/bin/false", "args": ["false"]}]);
    b.config["hooks"] = json!({"poststart": fail, "poststop": fail});
    let c = Container::new(b);
    c.create().ok();
    let r = c.hull(&["start", "{id}"]).ok();
    assert!(r.stderr.contains("warning") && r.stderr.contains("poststart"), "{r:?}");
    c.wait_status("stopped");
    let r = c.hull(&["delete", "{id}"]).ok();
    assert!(r.stderr.contains("poststop"), "{r:?}");
    c.assert_gone();
}

#[test]
fn exec_cannot_overwrite_the_hull_binary_through_proc_exe() {
    // CVE-2019-5736: while `hull exec` joins the container, a process inside
    // tries to open the joining process's /proc/<pid>/exe for writing. The
    // exec process is non-dumpable until execve, so even root inside cannot.
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let before = std::fs::read(hull_bin()).unwrap();
    // The attacker loops over every pid, trying /proc/N/exe for as long as the test runs.
    c.hull(&["exec", "-d", "{id}", "sh", "-c", "while :; do for p in /proc/[0-9]*; do cat $p/exe > /dev/null 2>&1 && echo opened $p >> /dev/shm/log; echo x 2>/dev/null > $p/exe && echo WROTE; done; done"]).ok();
    for _ in 0..20 {
        c.hull(&["exec", "{id}", "true"]).ok();
    }
    let after = std::fs::read(hull_bin()).unwrap();
    assert!(before == after, "the hull binary changed");
    let log = c.hull(&["exec", "{id}", "cat", "/dev/shm/log"]);
    // The only executables it may open are busybox's, never hull's.
    for line in log.stdout.lines() {
        let pid = line.rsplit('/').next().unwrap();
        let comm = c.hull(&["exec", "{id}", "cat", &format!("/proc/{pid}/comm")]).stdout;
        assert!(!comm.contains("hull"), "opened a hull process's exe: {line}");
    }
}

#[test]
fn the_runtime_binary_is_never_executed_inside_the_container() {
    // CVE-2019-5736's entry point: /proc/self/exe of hull's init is hull.
    let c = Container::new(Bundle::busybox(&["/proc/self/exe", "--version"]));
    let r = c.run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("CVE-2019-5736") && !r.stdout.contains("hull version"), "{r:?}");
    c.assert_gone();
    // Nor as a script's interpreter.
    let b = Bundle::busybox(&["/evil.sh"]);
    std::fs::write(b.rootfs().join("evil.sh"), "#!/proc/self/exe\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.rootfs().join("evil.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = Container::new(b);
    let r = c.run();
    assert!(r.stderr.contains("CVE-2019-5736"), "{r:?}");
    // And not through exec either.
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["exec", "{id}", "/proc/self/exe", "--version"]);
    assert!(r.code != 0 && r.stderr.contains("CVE-2019-5736"), "{r:?}");
}

#[test]
fn cwd_through_proc_self_fd_cannot_reach_the_host() {
    // CVE-2024-21626: whatever descriptor number hull may hold while it sets
    // up the process, a cwd of /proc/self/fd/N never lands outside the rootfs.
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    for n in 3..12 {
        let cwd = format!("/proc/self/fd/{n}");
        let r = c.hull(&["exec", "--cwd", &cwd, "{id}", "sh", "-c", "ls -a"]);
        // A host directory would show up here (hull holds cgroup directories open).
        assert!(
            r.code != 0 || !(r.stdout.contains("cgroup.procs") || r.stdout.contains("state.json")),
            "exec with cwd {cwd} escaped: {r:?}"
        );
        if r.code != 0 {
            assert!(
                r.stderr.contains("CVE-2024-21626") || r.stderr.contains("process.cwd") || r.stderr.contains("chdir"),
                "{r:?}"
            );
        }
    }
    // And for the init itself.
    for n in 3..8 {
        let mut b = Bundle::busybox(&["ls", "-a"]);
        b.config["process"]["cwd"] = serde_json::json!(format!("/proc/self/fd/{n}"));
        let c = Container::new(b);
        let r = c.run();
        assert!(
            r.code != 0 || !(r.stdout.contains("cgroup.procs") || r.stdout.contains("state.json")),
            "init cwd fd {n} escaped: {r:?}"
        );
    }
}

#[test]
fn apparmor_profile_on_a_host_without_apparmor_fails_clearly() {
    if std::path::Path::new("/sys/module/apparmor/parameters/enabled").exists() {
        return; // this host has AppArmor: the profile would be applied instead
    }
    let mut b = Bundle::busybox(&["true"]);
    b.config["process"]["apparmorProfile"] = serde_json::json!("docker-default");
    let c = Container::new(b);
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("AppArmor") && r.stderr.contains("docker-default"), "{r:?}");
    c.assert_gone();
}

#[test]
fn no_new_privileges_stops_a_setuid_binary() {
    // A static setuid-root program that prints its effective uid.
    let b = Bundle::busybox(&[]);
    let src = b.dir.join("euid.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <unistd.h>\nint main(void){printf(\"%d\\n\",(int)geteuid());return 0;}\n",
    )
    .unwrap();
    let bin = b.rootfs().join("bin/euid");
    let cc = std::process::Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc (gcc) is needed");
    assert!(cc.success());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let run_as_user = |nnp: bool| {
        let mut b2 = b.clone_config();
        std::fs::copy(&bin, b2.rootfs().join("bin/euid")).unwrap();
        std::fs::set_permissions(b2.rootfs().join("bin/euid"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        b2.config["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
        b2.config["process"]["noNewPrivileges"] = serde_json::json!(nnp);
        // setuid needs the capability in the bounding set to be granted at all.
        let caps = serde_json::json!(["CAP_SETUID", "CAP_KILL"]);
        b2.config["process"]["capabilities"] =
            serde_json::json!({"bounding": caps, "permitted": caps, "effective": caps});
        b2.config["process"]["args"] = serde_json::json!(["/bin/euid"]);
        let c = Container::new(b2);
        c.run().ok().stdout
    };
    assert_eq!(run_as_user(false), "0\n", "without no_new_privs the setuid bit works (the test can fail)");
    assert_eq!(run_as_user(true), "1000\n", "with no_new_privs it does not");
}

#[test]
fn a_symlink_swapped_in_during_create_never_leads_a_mount_outside() {
    // CVE-2021-30465: while containers are created, another process keeps
    // swapping the mount destination's parent between a real directory and
    // a symlink to a host directory. Nothing may ever appear in the host's.
    let mut b = Bundle::busybox(&["true"]);
    let host_dir = b.dir.join("host-side");
    std::fs::create_dir_all(&host_dir).unwrap();
    let rootfs = b.rootfs();
    std::fs::create_dir_all(rootfs.join("race")).unwrap();
    b.add_mount(json!({"destination": "/race/target", "type": "tmpfs", "source": "tmpfs"}));
    b.config["root"]["readonly"] = json!(false);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, rootfs, host_dir) = (stop.clone(), rootfs.clone(), host_dir.clone());
        std::thread::spawn(move || {
            let (real, link, tmp) = (rootfs.join("race"), rootfs.join("race-link"), rootfs.join("race-real"));
            let _ = std::os::unix::fs::symlink(&host_dir, &link);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // swap: race (dir) -> race-real, race-link -> race, and back
                let _ = std::fs::rename(&real, &tmp);
                let _ = std::fs::rename(&link, &real);
                std::thread::yield_now();
                let _ = std::fs::rename(&real, &link);
                let _ = std::fs::rename(&tmp, &real);
            }
        })
    };
    let c = Container::new(b);
    let mut outcomes = (0, 0);
    for _ in 0..40 {
        let r = c.run();
        if r.code == 0 {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
        }
        let _ = c.hull(&["delete", "--force", "{id}"]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    let leaked: Vec<_> = std::fs::read_dir(&host_dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(leaked.is_empty(), "created on the host side: {leaked:?} (runs ok/failed: {outcomes:?})");
    assert!(outcomes.0 > 0, "some runs must have succeeded: {outcomes:?}");
}

#[test]
fn seccomp_filters_native_calls_when_only_x86_and_x32_are_listed() {
    // libseccomp, so runc, always adds the native architecture: these rules
    // apply to x86_64 calls, which must neither escape them nor all die of
    // SIGSYS as calls of an unlisted architecture.
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 100}]
    });
    let (r, _c) = run_script(b, "mkdir /dev/shm/foo; echo rc=$?");
    assert_eq!(r.code, 0, "the shell was not killed: {r:?}");
    assert!(r.stderr.contains("Network is down") && r.stdout.contains("rc=1"), "errno 100 = ENETDOWN: {r:?}");
}

#[test]
fn seccomp_notify_is_refused_where_the_listener_handover_needs_the_call() {
    for (call, default, phrase) in [
        ("write", "SCMP_ACT_ALLOW", "SCMP_ACT_NOTIFY cannot be used for the write syscall"),
        ("sendmsg", "SCMP_ACT_ALLOW", "SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall"),
        ("mkdir", "SCMP_ACT_NOTIFY", "SCMP_ACT_NOTIFY cannot be used as default action"),
    ] {
        let mut b = Bundle::busybox(&["true"]);
        b.config["linux"]["seccomp"] = json!({
            "defaultAction": default, "listenerPath": "/run/nobody-listens.sock",
            "syscalls": [{"names": [call], "action": "SCMP_ACT_NOTIFY"}]
        });
        let c = Container::new(b);
        let r = c.run();
        assert_eq!(r.code, 1, "{call}: {r:?}");
        assert!(r.stderr.contains(phrase) && r.stderr.contains("linux.seccomp"), "{call}: {r:?}");
        c.assert_gone();
    }
}

#[test]
fn seccomp_notify_without_an_agent_fails_in_runcs_words() {
    let mut b = Bundle::busybox(&["true"]);
    let sock = b.dir.join("no-agent.sock");
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("failed to connect with seccomp agent"), "{r:?}");
    assert!(r.stderr.contains(sock.to_str().unwrap()), "{r:?}");
    c.assert_gone();
}

/// An agent that takes one listener and answers every notification with
/// "go on" (SECCOMP_USER_NOTIF_FLAG_CONTINUE); returns the message it got.
fn continuing_agent(listener: UnixListener) -> std::thread::JoinHandle<serde_json::Value> {
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let (n, fd) = libcontainer::sys::recv_with_fd(conn.as_raw_fd(), &mut buf).unwrap();
        let msg: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        let fd = fd.expect("the listener came with the message");
        let answering = msg.clone();
        std::thread::spawn(move || {
            let _ = answering;
            // struct seccomp_notif is 80 bytes, seccomp_notif_resp 24.
            const RECV: libc::c_ulong = 0xc0502100;
            const SEND: libc::c_ulong = 0xc0182101;
            loop {
                let mut req = [0u8; 80];
                // SAFETY: the buffer is the kernel's struct seccomp_notif, zeroed.
                if unsafe { libc::ioctl(fd.as_raw_fd(), RECV, req.as_mut_ptr()) } != 0 {
                    return;
                }
                let mut resp = [0u8; 24];
                resp[..8].copy_from_slice(&req[..8]); // id
                resp[20..24].copy_from_slice(&1u32.to_ne_bytes()); // flags: CONTINUE
                                                                   // SAFETY: the buffer is the kernel's struct seccomp_notif_resp.
                unsafe { libc::ioctl(fd.as_raw_fd(), SEND, resp.as_ptr()) };
            }
        });
        msg
    })
}

/// The thread's result, if it ends within `secs` seconds.
fn join_within<T>(h: std::thread::JoinHandle<T>, secs: u64) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !h.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.is_finished().then(|| h.join().unwrap())
}

#[test]
fn seccomp_listener_reaches_the_agent_during_create() {
    // Agents wait for the listener while the container is created, as runc
    // and youki hand it over then, with the state saying "creating".
    let mut b = Bundle::busybox(&["mkdir", "/made"]);
    b.config["root"]["readonly"] = json!(false);
    let sock = b.dir.join("agent.sock");
    std::fs::create_dir_all(&b.dir).unwrap();
    let agent = continuing_agent(UnixListener::bind(&sock).unwrap());
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock, "listenerMetadata": "m",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let c = Container::new(b);
    c.create().ok();
    // Before `start`: the agent has it already.
    let msg = join_within(agent, 2).expect("the listener reached the agent during create");
    assert_eq!(msg["state"]["status"], "creating", "{msg}");
    assert_eq!(msg["pid"], c.pid(), "{msg}");
    assert_eq!(msg["state"]["pid"], c.pid(), "{msg}");
    c.hull(&["start", "{id}"]).ok();
    c.wait_status("stopped");
    assert!(c.bundle.rootfs().join("made").is_dir(), "the agent let mkdir go on");
}

#[test]
fn seccomp_agent_of_an_exec_gets_the_container_and_the_process() {
    // runc's message for an exec: the container's state (the init's pid,
    // "running") and the exec'd process's own pid.
    let mut b = Bundle::busybox(&["sleep", "100"]);
    let sock = b.dir.join("agent.sock");
    std::fs::create_dir_all(&b.dir).unwrap();
    let l = UnixListener::bind(&sock).unwrap();
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let first = continuing_agent(l.try_clone().unwrap());
    let c = Container::new(b);
    c.create().ok();
    join_within(first, 2).expect("the init's listener reached the agent during create");
    c.hull(&["start", "{id}"]).ok();
    let agent = continuing_agent(l);
    let r = c.hull(&["exec", "{id}", "sh", "-c", "echo $$; mkdir /dev/shm/x && echo made"]).ok();
    let msg = join_within(agent, 2).expect("the exec's listener reached the agent");
    assert_eq!(msg["state"]["status"], "running", "{msg}");
    assert_eq!(msg["state"]["pid"], c.pid(), "{msg}");
    assert_ne!(msg["pid"], c.pid(), "{msg}");
    assert!(r.stdout.contains("made"), "{r:?}");
}

#[test]
fn start_container_hooks_run_as_the_process_under_its_filter() {
    // As runc's: after the ids, capabilities and seccomp filter are in
    // place, in the process's cwd, with the hook's own env and no
    // descriptor beyond stdio.
    let mut b = Bundle::busybox(&["cat", "/dev/shm/hook.out"]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config["process"]["cwd"] = json!("/home/user");
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    });
    let script = "{ grep -E '^(Uid|Seccomp|CapEff):' /proc/self/status; echo cwd=$(pwd); echo env=$(env | grep -v -e ^PWD= -e ^SHLVL= -e ^PATH= | sort | tr '\\n' ' ' | sed 's/ $//'); echo fds=$(ls /proc/self/fd | wc -l); } > /dev/shm/hook.out";
    b.config["hooks"] =
        json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["HOOK_VAR=given"]}]});
    let c = Container::new(b);
    // The caller's own descriptors (7 here) must not reach the hook either.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(format!(
        "exec 7</dev/null; exec {} --root {} run --bundle {} {}",
        hull_bin().display(),
        c.root.display(),
        c.bundle.dir.display(),
        c.id
    ));
    let r = run_to_files(cmd).ok();
    assert!(r.stdout.contains("Uid:\t1000\t1000\t1000\t1000"), "{r:?}");
    assert!(r.stdout.contains("Seccomp:\t2"), "{r:?}");
    assert!(r.stdout.contains("CapEff:\t0000000000000000"), "{r:?}");
    assert!(r.stdout.contains("cwd=/home/user"), "{r:?}");
    // (busybox sh itself adds PWD, SHLVL and a PATH)
    assert!(r.stdout.contains("env=HOOK_VAR=given\n"), "{r:?}");
    // 0, 1, 2 and the directory ls reads
    assert!(r.stdout.contains("fds=4"), "{r:?}");
}

#[test]
fn a_hook_killed_by_the_filter_fails_in_runcs_words() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]
    });
    b.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "mkdir /dev/shm/foo"]}]});
    let c = Container::new(b);
    let r = c.run();
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("error running hook #0"), "{r:?}");
    assert!(r.stderr.contains("startContainer") && r.stderr.contains("signal: bad system call"), "{r:?}");
}

#[test]
fn hooks_get_only_stdio_and_the_working_directory_runc_gives_them() {
    let mut b = Bundle::busybox(&["true"]);
    let log = b.dir.join("hooks.log");
    std::fs::create_dir_all(&b.dir).unwrap();
    let hook = |name: &str| {
        let line = format!("echo {name} $(pwd) $(ls /proc/self/fd | wc -l) >> {}", log.display());
        json!([{"path": "/bin/sh", "args": ["sh", "-c", line]}])
    };
    b.config["hooks"] = json!({
        "prestart": hook("prestart"), "createRuntime": hook("createRuntime"),
        "poststart": hook("poststart"), "poststop": hook("poststop"),
        // In the container (before pivot_root, so the log's host path works).
        "createContainer": hook("createContainer"),
    });
    let c = Container::new(b);
    // From another directory, holding descriptor 7, as bats does.
    let mut cmd = std::process::Command::new("sh");
    cmd.current_dir("/").arg("-c").arg(format!(
        "exec 7</dev/null; exec {} --root {} run --bundle {} {}",
        hull_bin().display(),
        c.root.display(),
        c.bundle.dir.display(),
        c.id
    ));
    run_to_files(cmd).ok();
    let text = std::fs::read_to_string(&log).unwrap();
    let bundle = c.bundle.dir.canonicalize().unwrap();
    let rootfs = bundle.join("rootfs");
    for (stage, dir) in [
        ("prestart", &bundle),
        ("createRuntime", &bundle),
        ("createContainer", &rootfs),
        ("poststart", &bundle),
        ("poststop", &bundle),
    ] {
        let line = text.lines().find(|l| l.starts_with(stage)).unwrap_or_else(|| panic!("{stage}: {text}"));
        assert_eq!(line, format!("{stage} {} 4", dir.display()), "{text}");
    }
}
