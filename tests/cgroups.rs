//! Cgroup limits shown working from inside containers (this host: hybrid,
//! v1 controllers). The same checks run on pure cgroup v2 in the VM suite.

use std::time::{Duration, Instant};

use hull_tests::*;
use serde_json::json;

fn with_resources(args: &[&str], resources: serde_json::Value) -> Bundle {
    let mut b = Bundle::busybox(args);
    let res = b.config["linux"]["resources"].as_object_mut().unwrap();
    for (k, v) in resources.as_object().unwrap() {
        res.insert(k.clone(), v.clone());
    }
    b
}

/// Allocates until killed: doubles a shell string (busybox sh keeps it in memory).
const HOG: &str = "s=xxxxxxxxxxxxxxxx; while :; do s=$s$s; done";

#[test]
fn memory_limit_oom_kills() {
    let b = with_resources(&["sh", "-c", HOG], json!({"memory": {"limit": 64 << 20, "swap": 64 << 20}}));
    let c = Container::new(b);
    let r = c.run();
    assert_eq!(r.code, 137, "OOM-killed: {r:?}");
}

/// `events --stats` prints runc's `types.Event` textually: `type`, `id`,
/// then `data`, and no field of hull's own — an `oomKill` counter made
/// `grep oom` on the stream (how scripts wait for an OOM) match every line.
#[test]
fn stats_have_runcs_shape_and_show_the_peak() {
    let mut b = with_resources(
        &["sh", "-c", &format!("({HOG}); touch /tmp/oomed; sleep 100")],
        json!({"memory": {"limit": 64 << 20, "swap": 64 << 20}}),
    );
    b.config["root"]["readonly"] = json!(false);
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    wait_for_file(&c.bundle.rootfs().join("tmp/oomed"));
    let stats = c.hull(&["events", "--stats", "{id}"]).ok();
    let head = format!("{{\"type\":\"stats\",\"id\":\"{}\",\"data\":{{", c.id);
    assert!(stats.stdout.starts_with(&head), "{stats:?}");
    assert!(!stats.stdout.contains("oom"), "{stats:?}");
    let v: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 64 << 20);
    assert!(v["data"]["memory"]["usage"]["max"].as_u64().unwrap() > 60 << 20, "the peak reached the limit: {v}");
}

#[test]
fn events_stream_reports_an_oom() {
    let b = with_resources(
        &["sh", "-c", &format!("sleep 0.5; {HOG}")],
        json!({"memory": {"limit": 32 << 20, "swap": 32 << 20}}),
    );
    let c = Container::new(b);
    c.create().ok();
    let mut ev = c.hull_cmd(&["events", "--interval", "1s", "{id}"]);
    ev.stdout(std::process::Stdio::piped());
    let mut child = ev.spawn().unwrap();
    c.hull(&["start", "{id}"]).ok();
    let out = std::process::Command::new("timeout")
        .arg("10")
        .arg("cat")
        .stdin(child.stdout.take().unwrap())
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let oom = format!("{{\"type\":\"oom\",\"id\":\"{}\"}}", c.id);
    assert!(text.lines().any(|l| l == oom), "runc's line, exactly: {text}");
    assert!(text.lines().any(|l| l.contains("\"type\":\"stats\"")), "{text}");
}

/// CPU time of the container's cgroup in nanoseconds (cpuacct on v1).
fn cpu_usage_ns(c: &Container) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&c.hull(&["events", "--stats", "{id}"]).ok().stdout).unwrap();
    v["data"]["cpu"]["usage"]["total"].as_u64().unwrap()
}

#[test]
fn cpu_quota_holds_a_busy_loop_near_20_percent() {
    let b = with_resources(&["sh", "-c", "while :; do :; done"], json!({"cpu": {"quota": 20000, "period": 100000}}));
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    std::thread::sleep(Duration::from_millis(300));
    let (u0, t0) = (cpu_usage_ns(&c), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (u1, t1) = (cpu_usage_ns(&c), Instant::now());
    let share = (u1 - u0) as f64 / (t1 - t0).as_nanos() as f64;
    assert!((0.15..=0.25).contains(&share), "used {:.1}% of a CPU", share * 100.0);
}

#[test]
fn pids_limit_stops_the_eleventh_process() {
    let b = with_resources(&["sleep", "100"], json!({"pids": {"limit": 10}}));
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    // The init is one; nine more fit.
    let ok = (0..15).filter(|_| c.hull(&["exec", "-d", "{id}", "sleep", "100"]).code == 0).count();
    assert_eq!(ok, 9, "execs that got a pid under pids.max 10");
    let pids: Vec<i32> = serde_json::from_str(&c.hull(&["ps", "--format", "json", "{id}"]).ok().stdout).unwrap();
    assert_eq!(pids.len(), 10, "{pids:?}");
    let r = c.hull(&["exec", "{id}", "true"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("EAGAIN"), "the failure names the cause: {r:?}");
}

#[test]
fn update_raises_the_pids_limit_of_a_running_container() {
    let b = with_resources(&["sleep", "100"], json!({"pids": {"limit": 2}}));
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["exec", "{id}", "sh", "-c", "sleep 1 & wait"]);
    assert_ne!(r.code, 0, "the limit blocks the fork: {r:?}");
    c.hull(&["update", "--pids-limit", "20", "{id}"]).ok();
    c.hull(&["exec", "{id}", "sh", "-c", "sleep 0.1 & wait"]).ok();
}

/// runc's `update` spellings: `-1` lifts a limit (memory, and with it
/// memory+swap; the CFS quota; pids), `--cpu-share`, flags after the id.
#[test]
fn update_minus_one_lifts_limits_as_runcs_does() {
    let b = with_resources(
        &["sleep", "100"],
        json!({"memory": {"limit": 50 << 20, "swap": 92 << 20}, "cpu": {"quota": 50000, "period": 100000},
               "pids": {"limit": 20}}),
    );
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    c.hull(&["update", "{id}", "--memory", "-1"]).ok();
    c.hull(&["update", "{id}", "--cpu-quota", "-1", "--pids-limit", "-1", "--cpu-share", "200"]).ok();
    let v1 = std::path::Path::new("/sys/fs/cgroup/memory").is_dir();
    let files = if v1 {
        "memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us pids/pids.max cpu/cpu.shares"
    } else {
        "memory.max memory.swap.max cpu.max pids.max cpu.weight"
    };
    let r = c.hull(&["exec", "{id}", "sh", "-c", &format!("cd /sys/fs/cgroup && cat {files}")]).ok();
    let want =
        if v1 { "9223372036854771712\n9223372036854771712\n-1\nmax\n200\n" } else { "max\nmax\nmax 100000\nmax\n8\n" };
    assert_eq!(r.stdout, want, "{r:?}");
}

#[test]
fn cpuset_shows_in_cpus_allowed_list() {
    let b = with_resources(&[], json!({"cpu": {"cpus": "1"}}));
    let (r, _c) = run_script(b, "grep Cpus_allowed_list /proc/self/status");
    assert!(r.ok().stdout.trim().ends_with("\t1"), "pinned to cpu 1");
}

#[test]
fn devices_denied_by_the_cgroup_cannot_be_opened() {
    let mut b = Bundle::busybox(&[]);
    // The node exists (made by config.json) but the default deny-all cgroup rule stands.
    b.config["linux"]["devices"] =
        json!([{"path": "/dev/denied", "type": "c", "major": 1, "minor": 1, "fileMode": 0o666}]);
    let (r, _c) = run_script(b, "echo x > /dev/null && echo null-ok; ls /dev/denied; cat /dev/denied");
    assert!(r.stdout.contains("null-ok") && r.stdout.contains("/dev/denied"), "{r:?}");
    assert!(r.stderr.contains("Operation not permitted"), "{r:?}");
}

/// A block device of the host that this process can open (the root disk
/// where the host allows it; some sandboxes deny even root that).
fn host_block_device() -> (String, u32, u32) {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort_by_key(|n| (n.starts_with("loop") || n.starts_with("ram") || n.starts_with("zram"), n.clone()));
    for n in names {
        if std::fs::File::open(format!("/dev/{n}")).is_ok() {
            let dev = std::fs::read_to_string(format!("/sys/block/{n}/dev")).unwrap();
            let (a, b) = dev.trim().split_once(':').unwrap();
            return (n, a.parse().unwrap(), b.parse().unwrap());
        }
    }
    panic!("no block device of the host can be opened here");
}

#[test]
fn without_device_rules_a_container_still_gets_only_the_default_devices() {
    // runc's default policy holds when config.json has no
    // linux.resources.devices — or no resources at all: given CAP_MKNOD, the
    // container can make a node for a disk of the host, but not open it; nor
    // write to /dev/kmsg (c 1:11, which anyone may open for writing, so only
    // the cgroup can refuse it). Before the fix both opened.
    let (name, major, minor) = host_block_device();
    let mut b = Bundle::busybox(&[]);
    b.config["linux"].as_object_mut().unwrap().remove("resources");
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_MKNOD"));
    }
    let script = format!(
        "mknod /dev/hostdisk b {major} {minor} && mknod /dev/kmsg2 c 1 11 && echo made; \
         head -c 512 /dev/hostdisk > /dev/null && echo disk-opened; \
         echo hull-test > /dev/kmsg2 && echo kmsg-written; echo x > /dev/null && echo null-ok"
    );
    let (r, _c) = run_script(b, &script);
    assert!(r.stdout.contains("made") && r.stdout.contains("null-ok"), "{r:?}");
    assert!(!r.stdout.contains("disk-opened"), "opened the host's {name}: {r:?}");
    assert!(!r.stdout.contains("kmsg-written"), "{r:?}");
    assert!(r.stderr.contains("/dev/hostdisk: Operation not permitted"), "{r:?}");
}

#[test]
fn pause_stops_a_counter_and_resume_continues_it() {
    let mut b = Bundle::busybox(&["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; usleep 10000; done"]);
    b.config["root"]["readonly"] = json!(false);
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let count = c.bundle.rootfs().join("tmp/count");
    wait_for_file(&count);
    let read = || std::fs::read_to_string(&count).unwrap_or_default().trim().parse::<u64>().unwrap_or(0);
    c.hull(&["pause", "{id}"]).ok();
    assert_eq!(c.status(), "paused");
    let a = read();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read(), a, "counter advanced while paused");
    c.hull(&["resume", "{id}"]).ok();
    let t = Instant::now();
    while read() <= a && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(read() > a, "counter did not continue after resume");
    assert_eq!(c.status(), "running");
}

#[test]
fn delete_removes_every_cgroup_directory() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    let dirs = cgroup_dirs_named(&c.id);
    assert!(dirs.len() >= 2, "one directory per hierarchy: {dirs:?}");
    let pid = c.pid().to_string();
    for d in &dirs {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|l| l == pid), "init not in {}", d.display());
    }
    c.hull(&["delete", "--force", "{id}"]).ok();
    c.assert_gone();
}

/// runc's "delete --force in cgroupv1 with subcgroups": a container with
/// its own cgroup namespace and a writable cgroup mount makes sub-cgroups
/// (two levels) in its hierarchies and moves a process there; delete
/// --force removes them all, deepest first. Before, v1's destroy only tried
/// the container's own directory: EBUSY, and the state stayed.
#[test]
fn delete_force_removes_sub_cgroups_made_inside_the_container() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.add_namespace("cgroup");
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["type"] == "cgroup" {
            m["options"].as_array_mut().unwrap().retain(|o| o != "ro");
        }
    }
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    // v1: the memory, pids and freezer hierarchies; pure v2: the one tree.
    let script = "if [ -d /sys/fs/cgroup/memory ]; then set -- memory pids freezer; else set -- .; fi; \
                  for s; do mkdir -p /sys/fs/cgroup/$s/foo/bar && echo $$ > /sys/fs/cgroup/$s/foo/bar/cgroup.procs || exit 1; done; \
                  echo moved; exec sleep 100";
    let mut exec = c.hull_cmd(&["exec", "{id}", "sh", "-c", script]);
    exec.stdout(std::process::Stdio::piped());
    let mut child = exec.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line, "moved\n");
    let subs: Vec<_> = cgroup_dirs_named(&c.id).iter().map(|d| d.join("foo/bar")).filter(|d| d.exists()).collect();
    assert!(!subs.is_empty(), "sub-cgroups made inside the container");
    c.hull(&["delete", "--force", "{id}"]).ok();
    let _ = child.wait();
    for d in &subs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    c.assert_gone();
}

#[test]
fn absolute_and_relative_cgroups_paths() {
    let name = unique("hull-cgpath");
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{name}/inner"));
    let c = Container::new(b);
    c.create().ok();
    let dirs = cgroup_dirs_named("inner");
    assert!(dirs.iter().any(|d| d.ends_with(format!("{name}/inner"))), "{dirs:?}");
    c.hull(&["delete", "--force", "{id}"]).ok();
    for d in cgroup_dirs_named(&name) {
        let _ = std::fs::remove_dir(d);
    }
    let rel = unique("hull-rel");
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(rel);
    let c = Container::new(b);
    c.create().ok();
    assert!(!cgroup_dirs_named(&rel).is_empty(), "relative path under hull's own cgroup");
}

/// Freezes the cgroup `/<path>` (v1: the freezer hierarchy; v2: cgroup.freeze)
/// and returns the directory, or thaws it (`frozen` false).
fn set_frozen(path: &str, frozen: bool) -> std::path::PathBuf {
    let v1 = std::path::Path::new("/sys/fs/cgroup/freezer");
    let (dir, file, value) = if v1.is_dir() {
        (v1.join(path), "freezer.state", if frozen { "FROZEN" } else { "THAWED" })
    } else {
        (std::path::Path::new("/sys/fs/cgroup").join(path), "cgroup.freeze", if frozen { "1" } else { "0" })
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), value).unwrap();
    dir
}

/// runc's "run/create should refuse pre-existing frozen cgroup": create into
/// a frozen cgroup, or below one, fails at once with runc's words and leaves
/// nothing behind — not even the frozen cgroup's contents, which stay as
/// they were. Before, the init froze as it joined and create hung forever
/// (in D state).
#[test]
fn a_frozen_cgroup_is_refused_and_nothing_is_left() {
    struct Thaw(String);
    impl Drop for Thaw {
        fn drop(&mut self) {
            set_frozen(&self.0, false);
            // After a failure, what was frozen in there needs a moment to die.
            for _ in 0..50 {
                for d in cgroup_dirs_named(&self.0) {
                    let _ = std::fs::remove_dir(d.join("inner"));
                    let _ = std::fs::remove_dir(d);
                }
                if cgroup_dirs_named(&self.0).is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let name = unique("hull-frozen");
    let frozen = set_frozen(&name, true);
    let _thaw = Thaw(name.clone());
    for path in [format!("/{name}"), format!("/{name}/inner")] {
        let mut b = Bundle::busybox(&["sleep", "100"]);
        b.config["linux"]["cgroupsPath"] = json!(path);
        let c = Container::new(b);
        let mut cmd = std::process::Command::new("timeout");
        cmd.args(["-s", "KILL", "20"]).arg(hull_bin()).arg("--root").arg(&c.root);
        cmd.args(["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), &c.id]);
        let r = run_to_files(cmd);
        assert_eq!(r.code, 1, "{path}: {r:?}");
        assert!(r.stderr.contains("container's cgroup unexpectedly frozen"), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        c.assert_gone();
        assert!(!frozen.join("inner").exists(), "nothing made below the frozen cgroup");
    }
    assert!(frozen.is_dir(), "the frozen cgroup is not hull's to remove");
}

/// runc's "run/create should warn about a non-empty cgroup": a second
/// container given the first one's cgroupsPath runs, with runc's warning;
/// deleting it leaves the first one and the shared cgroup alone (before,
/// there was no warning, and the delete failed with EBUSY on the shared
/// cgroup after its retries, leaving the state).
#[test]
fn a_shared_cgroup_is_warned_about_and_stays_until_its_last_container_goes() {
    let name = unique("hull-shared");
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{name}"));
    let first = Container::new(b);
    let second = Container::new(first.bundle.clone_config());
    let r = first.hull(&["run", "-d", "--bundle", first.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    assert!(!r.stderr.contains("not empty"), "{r:?}");
    let r = second.hull(&["run", "-d", "--bundle", second.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    assert!(r.stderr.contains("container's cgroup is not empty: 1 process(es) found"), "{r:?}");
    let r = second.hull(&["delete", "--force", "{id}"]).ok();
    assert!(r.stderr.contains("still in it"), "{r:?}");
    assert!(!second.root.join(&second.id).exists(), "the second container's state is gone");
    assert_eq!(first.status(), "running");
    let dirs = cgroup_dirs_named(&name);
    assert!(!dirs.is_empty(), "the shared cgroup stays while the first container runs");
    first.hull(&["delete", "--force", "{id}"]).ok();
    assert_eq!(cgroup_dirs_named(&name), Vec::<std::path::PathBuf>::new());
}

/// runc's "update devices [minimal transition rules]" config: a deny rule
/// with an access letter the kernel does not know (`rwa`). runc drops the
/// letter, and a deny after deny-all changes nothing; before, hull wrote it
/// as given and create failed with EINVAL from devices.deny. An allow `wa`
/// is `w`. (Opening /dev/kmsg write-only needs no capability and writes
/// nothing; `true`, not `:`, as a failed redirection ends the shell on a
/// special builtin.)
#[test]
fn device_rules_with_unknown_access_letters_work_as_runc() {
    let kmsg_with = |rules: serde_json::Value| {
        let mut b = with_resources(&[], json!({ "devices": rules }));
        b.config["linux"]["devices"] = json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]);
        let script =
            "true > /dev/null && echo null; true > /dev/kmsg && echo kmsg-w; true < /dev/kmsg && echo kmsg-r; true";
        run_script(b, script).0.ok()
    };
    let deny_all = json!({"allow": false, "access": "rwm"});
    let r = kmsg_with(json!([deny_all, {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]));
    assert_eq!(r.stdout, "null\n", "{r:?}");
    let r = kmsg_with(json!([deny_all, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "wa"}]));
    assert_eq!(r.stdout, "null\nkmsg-w\n", "{r:?}");
}

/// Updating the device rules of a running container writes only what
/// changes: a process opening /dev/null in a loop is never refused while
/// /dev/kmsg is allowed and denied again twenty times. Before, each update
/// wrote its rules as given, deny-all first (and without the defaults: the
/// first update left /dev/null denied for good).
#[test]
fn device_rules_update_without_a_window_where_everything_is_denied() {
    let mut b = Bundle::busybox(&["sh", "-c", "while :; do true > /dev/null || echo DENIED >> /denied; done"]);
    b.config["root"]["readonly"] = json!(false);
    b.config["linux"]["devices"] = json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]);
    let c = Container::new(b);
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let rules = c.bundle.dir.join("rules.json");
    let kmsg = |c: &Container| c.hull(&["exec", "{id}", "sh", "-c", ": > /dev/kmsg"]).code;
    assert_ne!(kmsg(&c), 0, "/dev/kmsg is not in the default list");
    for _ in 0..20 {
        let allow = json!({"devices": [{"allow": false, "access": "rwm"},
                                       {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]});
        std::fs::write(&rules, allow.to_string()).unwrap();
        c.hull(&["update", "-r", rules.to_str().unwrap(), "{id}"]).ok();
        assert_eq!(kmsg(&c), 0, "allowed by the update");
        std::fs::write(&rules, json!({"devices": [{"allow": false, "access": "rwm"}]}).to_string()).unwrap();
        c.hull(&["update", "-r", rules.to_str().unwrap(), "{id}"]).ok();
        assert_ne!(kmsg(&c), 0, "denied again");
    }
    assert_eq!(c.status(), "running");
    let denied = std::fs::read_to_string(c.bundle.rootfs().join("denied")).unwrap_or_default();
    assert!(denied.is_empty(), "/dev/null was refused {} times during the updates", denied.lines().count());
}

/// runc's "update cgroup v1/v2 common limits": `update --memory -1` without
/// a word about swap lifts the memory+swap limit too, as runc does; before,
/// the old memory+swap limit stayed and v1 refused the unlimited memory
/// limit above it (EINVAL). A later memory limit keeps swap unlimited.
#[test]
fn update_memory_minus_one_lifts_the_swap_limit_too() {
    let b = with_resources(&["sleep", "100"], json!({"memory": {"limit": 32 << 20, "swap": 64 << 20}}));
    let c = Container::new(b);
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let dir = cgroup_dirs_named(&c.id).into_iter().find(|d| d.starts_with("/sys/fs/cgroup/memory")).unwrap();
    let read = |f: &str| -> u64 { std::fs::read_to_string(dir.join(f)).unwrap().trim().parse().unwrap() };
    let has_swap = dir.join("memory.memsw.limit_in_bytes").exists();
    if has_swap {
        assert_eq!(read("memory.memsw.limit_in_bytes"), 64 << 20);
    }
    let rules = c.bundle.dir.join("update.json");
    std::fs::write(&rules, r#"{"memory": {"limit": -1}}"#).unwrap();
    c.hull(&["update", "-r", rules.to_str().unwrap(), "{id}"]).ok();
    assert!(read("memory.limit_in_bytes") > 1 << 62, "memory unlimited");
    if has_swap {
        assert!(read("memory.memsw.limit_in_bytes") > 1 << 62, "memory+swap unlimited");
    }
    std::fs::write(&rules, r#"{"memory": {"limit": 33554432}}"#).unwrap();
    c.hull(&["update", "-r", rules.to_str().unwrap(), "{id}"]).ok();
    assert_eq!(read("memory.limit_in_bytes"), 32 << 20);
    if has_swap {
        assert!(read("memory.memsw.limit_in_bytes") > 1 << 62, "memory+swap stays unlimited");
    }
}

/// Removes the cgroup directories called `name` (a pod-like parent a test
/// made) when dropped, after the containers under them.
struct RemoveCgroups(String);

impl Drop for RemoveCgroups {
    fn drop(&mut self) {
        for d in cgroup_dirs_named(&self.0) {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// `--systemd-cgroup` on a host where it cannot work: one line, and nothing
/// left behind (state, cgroups, the init).
fn systemd_driver_refused(bus_address: &str, want: &[&str]) {
    let mut b = Bundle::busybox(&["true"]);
    let id_for_path = unique("sdpath");
    b.config["linux"]["cgroupsPath"] = json!(format!("system.slice:hull:{id_for_path}"));
    let c = Container::new(b);
    for cmd in ["create", "run"] {
        let mut hull = c.hull_cmd(&["--systemd-cgroup", cmd, "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
        hull.env("DBUS_SYSTEM_BUS_ADDRESS", bus_address);
        let r = Run::from(hull.output().unwrap());
        assert_eq!(r.code, 1, "{cmd}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{cmd}: {r:?}");
        for w in want {
            assert!(r.stderr.contains(w), "{cmd}: {w:?} not in {r:?}");
        }
        c.assert_gone();
        for name in [format!("hull-{}.scope", c.id), format!("hull-{id_for_path}.scope")] {
            assert!(cgroup_dirs_named(&name).is_empty(), "{name} left behind");
        }
    }
}

/// runc's "update cpu period in a pod cgroup with pod limit set": under a
/// parent held to 50 %, a container at 50 % (500 ms / 1 s) moves to 30 %
/// with a ten times shorter period. Period first, the old quota over the
/// new period would be 5000 %: EINVAL, which failed the update before; the
/// quota goes first then. A share above the parent's still fails. (v1: on
/// v2 cpu.max is one file, checked in the VM suite.)
#[test]
fn a_shorter_cpu_period_under_a_limited_parent_is_written_after_the_quota() {
    let pod = unique("hull-pod");
    let _cleanup = RemoveCgroups(pod.clone());
    let parent = std::path::Path::new("/sys/fs/cgroup/cpu").join(&pod);
    std::fs::create_dir_all(&parent).unwrap();
    std::fs::write(parent.join("cpu.cfs_quota_us"), "50000").unwrap();
    let quota_period = |dir: &std::path::Path| -> (String, String) {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap().trim().to_string();
        (read("cpu.cfs_quota_us"), read("cpu.cfs_period_us"))
    };
    let mut b = with_resources(&["sleep", "100"], json!({"cpu": {"quota": 500_000, "period": 1_000_000}}));
    b.config["linux"]["cgroupsPath"] = json!(format!("/{pod}/ct"));
    let c = Container::new(b);
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let dir = parent.join("ct");
    assert_eq!(quota_period(&dir), ("500000".into(), "1000000".into()));
    let r = c.hull(&["update", "--cpu-quota", "600000", "{id}"]);
    assert_eq!(r.code, 1, "60 % under a 50 % parent: {r:?}");
    c.hull(&["update", "--cpu-period", "10000", "--cpu-quota", "3000", "{id}"]).ok();
    assert_eq!(quota_period(&dir), ("3000".into(), "10000".into()));
    // And back: a longer period with a larger quota (period first works here).
    c.hull(&["update", "--cpu-period", "1000000", "--cpu-quota", "400000", "{id}"]).ok();
    assert_eq!(quota_period(&dir), ("400000".into(), "1000000".into()));
    c.hull(&["delete", "--force", "{id}"]).ok();
}

#[test]
fn systemd_cgroup_without_a_bus_says_systemd_is_not_reachable() {
    let missing = std::env::temp_dir().join(unique("no-bus")).join("system_bus_socket");
    let want = format!("systemd is not reachable at {} (no such socket): --systemd-cgroup needs it", missing.display());
    systemd_driver_refused(&format!("unix:path={}", missing.display()), &["hull: ", &want]);
}

#[test]
fn systemd_cgroup_with_a_bus_but_no_systemd_is_refused() {
    // A bus without systemd on it: on this hybrid host the layout is refused
    // first; on a pure v2 host, the call to systemd finds nobody.
    let bus = PrivateBus::start();
    let want = match libcontainer::cgroups::detect().unwrap() {
        libcontainer::cgroups::Layout::V1 { .. } => "--systemd-cgroup needs a pure cgroup v2 host".to_string(),
        libcontainer::cgroups::Layout::V2 { .. } => {
            format!("systemd is not reachable at {} (no org.freedesktop.systemd1 on that bus)", bus.socket().display())
        }
    };
    systemd_driver_refused(&bus.address(), &["hull: ", &want]);
}

#[test]
fn features_report_the_systemd_driver() {
    let out = std::process::Command::new(hull_bin()).arg("features").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["linux"]["cgroup"]["systemd"], true, "{v}");
    assert_eq!(v["linux"]["cgroup"]["systemdUser"], true, "{v}");
}

#[test]
fn systemd_cgroups_path_without_the_flag_is_a_plain_path_as_in_runc() {
    // runc's fs driver takes "slice:prefix:name" as a relative cgroup path.
    let name = format!("system.slice:hull:{}", unique("plain"));
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(name);
    let c = Container::new(b);
    c.create().ok();
    assert!(!cgroup_dirs_named(&name).is_empty(), "a cgroup named {name}");
    c.hull(&["delete", "--force", "{id}"]).ok();
    assert!(cgroup_dirs_named(&name).is_empty());
}

#[test]
fn zero_weights_mean_unset_as_docker_sends_them() {
    // Docker puts blockIO.weight 0 and cpu.shares 0 in every spec.
    let b = with_resources(&["true"], json!({"blockIO": {"weight": 0}, "cpu": {"shares": 0}}));
    let c = Container::new(b);
    c.run().ok();
}
