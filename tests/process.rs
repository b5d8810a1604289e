//! `process`: capabilities, user, rlimits, env, no_new_privs, OOM score,
//! I/O priority, scheduler, personality, descriptors — read from inside.

use hull_tests::*;
use serde_json::json;

fn status_field(out: &str, key: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("{key} missing in {out}"))
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn default_capabilities_are_the_three_of_the_default_spec() {
    let r = sh("cat /proc/self/status").ok();
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    for k in ["CapBnd:", "CapEff:", "CapPrm:"] {
        assert_eq!(status_field(&r.stdout, k), "0000000020000420", "{k}");
    }
    assert_eq!(status_field(&r.stdout, "CapInh:"), "0000000000000000");
}

#[test]
fn capabilities_follow_the_five_sets() {
    let mut b = Bundle::busybox(&[]);
    let caps = json!(["CAP_SYS_ADMIN", "CAP_CHOWN"]);
    b.config["process"]["capabilities"] = json!({"bounding": caps, "effective": ["CAP_CHOWN"], "permitted": caps, "inheritable": ["CAP_SYS_ADMIN"], "ambient": []});
    // uid 1000: only ambient capabilities survive execve for a non-root user.
    let (r, _c) = run_script(b, "cat /proc/self/status");
    let r = r.ok();
    assert_eq!(status_field(&r.stdout, "CapBnd:"), "0000000000200001");
    // root: permitted = bounding after execve, effective = permitted
    assert_eq!(status_field(&r.stdout, "CapPrm:"), "0000000000200001");
    assert_eq!(status_field(&r.stdout, "CapInh:"), "0000000000200000");
}

#[test]
fn ambient_capabilities_reach_a_non_root_user() {
    let mut b = Bundle::busybox(&[]);
    let caps = json!(["CAP_NET_BIND_SERVICE", "CAP_KILL"]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": ["CAP_NET_BIND_SERVICE"]});
    let (r, _c) = run_script(b, "cat /proc/self/status");
    let r = r.ok();
    assert_eq!(status_field(&r.stdout, "CapAmb:"), "0000000000000400");
    assert_eq!(status_field(&r.stdout, "CapEff:"), "0000000000000400");
}

#[test]
fn user_groups_and_umask() {
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 63});
    let (r, _c) = run_script(b, "id -u; id -g; id -G; umask; echo $HOME");
    assert_eq!(r.ok().stdout, "1000\n1000\n1000 5 6\n0077\n/home/user\n");
}

#[test]
fn root_gets_no_supplementary_groups_from_the_caller() {
    let r = sh("id -G").ok();
    assert_eq!(r.stdout, "0\n");
}

#[test]
fn env_and_cwd() {
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["env"] = json!(["PATH=/bin", "GREETING=hi there", "HOME=/root"]);
    b.config["process"]["cwd"] = json!("/tmp");
    let (r, _c) = run_script(b, "echo \"$GREETING\"; pwd; echo $HOME");
    assert_eq!(r.ok().stdout, "hi there\n/tmp\n/root\n");
}

#[test]
fn rlimits_apply_and_nofile_is_1024_by_default() {
    let r = sh("ulimit -n").ok();
    assert_eq!(r.stdout, "1024\n");
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 800}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096}]);
    let (r, _c) = run_script(b, "ulimit -Sn; ulimit -Hn; ulimit -Hc");
    assert_eq!(r.ok().stdout, "512\n800\n8\n", "core is shown in 512-byte blocks");
}

#[test]
fn rlimit_above_the_hard_limit_fails_clearly() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 1_048_576, "hard": 1_048_576}]);
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("RLIMIT_NOFILE") && r.stderr.contains("CAP_SYS_RESOURCE"), "{r:?}");
    c.assert_gone();
}

#[test]
fn no_new_privileges_is_set_when_asked() {
    let r = sh("grep NoNewPrivs /proc/self/status").ok();
    assert!(r.stdout.contains("1"), "{r:?}");
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["noNewPrivileges"] = json!(false);
    let (r, _c) = run_script(b, "grep NoNewPrivs /proc/self/status");
    assert!(r.ok().stdout.contains("0"));
}

#[test]
fn oom_score_adj_is_set() {
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["oomScoreAdj"] = json!(500);
    let (r, _c) = run_script(b, "cat /proc/self/oom_score_adj");
    assert_eq!(r.ok().stdout, "500\n");
}

#[test]
fn io_priority_and_scheduler() {
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
    let (r, _c) = run_script(b, "ionice; grep -E '^policy' /proc/self/sched; cut -d' ' -f19 /proc/self/stat");
    let r = r.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "idle", "{r:?}");
    assert!(lines[1].ends_with(" 3"), "SCHED_BATCH is policy 3: {r:?}");
    assert_eq!(lines[2], "5", "nice: {r:?}");
}

#[test]
fn personality_linux32_changes_uname() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    let (r, _c) = run_script(b, "uname -m");
    assert_eq!(r.ok().stdout, "i686\n");
}

#[test]
fn missing_executable_fails_create_and_names_it() {
    let c = Container::new(Bundle::busybox(&["no-such-program", "arg"]));
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no-such-program") && r.stderr.contains("not found"), "{r:?}");
    c.assert_gone();
    let c = Container::new(Bundle::busybox(&["/bin/nope"]));
    let r = c.create();
    assert!(r.stderr.contains("/bin/nope"), "{r:?}");
}

#[test]
fn no_host_descriptor_leaks_into_the_container() {
    // CVE-2024-21626: only stdio (and the descriptor ls uses itself).
    let r = sh("ls /proc/self/fd").ok();
    assert_eq!(r.stdout.split_whitespace().collect::<Vec<_>>(), ["0", "1", "2", "3"], "{r:?}");
}

#[test]
fn preserve_fds_passes_descriptors_after_stdio() {
    let b = Bundle::busybox(&["sh", "-c", "cat <&3; cat <&4"]);
    let c = Container::new(b);
    let f3 = c.bundle.dir.join("three");
    let f4 = c.bundle.dir.join("four");
    std::fs::write(&f3, "fd three\n").unwrap();
    std::fs::write(&f4, "fd four\n").unwrap();
    // exec the hull command from a shell that opened 3 and 4 for it.
    let cmd = format!(
        "exec 3<{} 4<{}; exec {} --root {} run --preserve-fds 2 --bundle {} {}",
        f3.display(),
        f4.display(),
        hull_bin().display(),
        c.root.display(),
        c.bundle.dir.display(),
        c.id
    );
    let out = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fd three\nfd four\n", "{out:?}");
}

#[test]
fn a_capability_hull_does_not_hold_is_named() {
    // This host withholds CAP_SYS_RESOURCE from everyone, hull included.
    let held = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = u64::from_str_radix(
        held.lines().find(|l| l.starts_with("CapBnd:")).unwrap().split_whitespace().nth(1).unwrap(),
        16,
    )
    .unwrap();
    if bnd & (1 << 24) != 0 {
        return; // a host that grants it: nothing to check here
    }
    let mut b = Bundle::busybox(&["true"]);
    let caps = json!(["CAP_SYS_RESOURCE", "CAP_KILL"]);
    b.config["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps});
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("CAP_SYS_RESOURCE") && r.stderr.contains("does not hold"), "{r:?}");
}

/// The program starts with no signal blocked or ignored (hull's own runtime
/// ignores SIGPIPE; it must not leak into the container), so a pipeline
/// whose reader quits ends its writer quietly, as on any host.
#[test]
fn no_signal_is_ignored_or_blocked_in_the_container() {
    let b = Bundle::busybox(&["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]);
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", "{r:?}");
    let (r, _c) = run_script(Bundle::busybox(&[]), "yes | head -1; echo done");
    assert_eq!(r.ok().stdout, "y\ndone\n");
}

#[test]
fn memory_policy_binds_the_process_to_its_nodes() {
    // linux.memoryPolicy (runtime-spec 1.3): set_mempolicy before execve,
    // read back inside with get_mempolicy; a node the host lacks, or a mode
    // without its nodes, fails clearly.
    let mut b = Bundle::busybox(&["/probe", "mempolicy"]);
    b.with_probe();
    b.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]});
    let c = Container::new(b);
    // MPOL_BIND is 2; get_mempolicy returns the mode with its flags (static nodes: 1 << 15).
    assert_eq!(c.run().ok().stdout, format!("mode={} nodes=0x1\n", 2 | 1 << 15));
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_INTERLEAVE", "nodes": "63"});
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("linux.memoryPolicy"), "{r:?}");
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND"});
    let c = Container::new(b);
    let r = c.run();
    assert!(r.code == 1 && r.stderr.contains("needs nodes"), "{r:?}");
}

#[test]
fn stdio_belongs_to_the_process_user() {
    // runc's fixStdioPermissions: the caller's pipes (and files) become the
    // process's, so that a user who is not root can reopen /dev/stdout;
    // /dev/null is left alone.
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let (r, _c) = run_script(b, "stat -L -c %u /proc/self/fd/1 /proc/self/fd/0; echo reopened >> /dev/stdout");
    let r = r.ok();
    assert_eq!(r.stdout, "1000\n0\nreopened\n", "{r:?}");
}

#[test]
fn personality_applies_to_exec_too() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["exec", "{id}", "uname", "-m"]).ok();
    assert_eq!(r.stdout, "i686\n", "{r:?}");
}

#[test]
fn personality_flags_are_applied_and_unknown_ones_refused() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["personality"] = json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE", "UNAME26"]});
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    // PER_LINUX32 (8) | UNAME26 (0x20000) | ADDR_NO_RANDOMIZE (0x40000)
    let r = c.hull(&["exec", "{id}", "cat", "/proc/self/personality"]).ok();
    assert_eq!(r.stdout, "00060008\n", "{r:?}");
    let r = c.hull(&["exec", "{id}", "sh", "-c", "cat /proc/1/personality"]).ok();
    assert_eq!(r.stdout, "00060008\n", "the init: {r:?}");

    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["personality"] = json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE", "NO_SUCH_FLAG"]});
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("linux.personality.flags[1]") && r.stderr.contains("NO_SUCH_FLAG"), "{r:?}");
    c.assert_gone();
}

#[test]
fn features_name_the_personality_flags_and_exec_cpu_affinity() {
    let out = std::process::Command::new(hull_bin()).arg("features").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v["annotations"];
    assert_eq!(a["hull.linux.personality.domains"], "LINUX,LINUX32", "{v}");
    assert!(a["hull.linux.personality.flags"].as_str().unwrap().split(',').any(|f| f == "ADDR_NO_RANDOMIZE"), "{v}");
    assert_eq!(a["hull.process.execCPUAffinity"], "initial,final", "{v}");
}
