//! Namespaces observed from inside (and around) real containers.

use hull_tests::*;
use serde_json::json;

#[test]
fn the_shell_is_pid_1_and_sees_only_its_own_processes() {
    let r = sh("echo pid=$$; ps -o pid,comm; true").ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "pid=1");
    assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["1", "sh"], "{r:?}");
    // sh and ps, nothing of the host's.
    assert_eq!(lines.len(), 4, "{r:?}");
}

#[test]
fn every_configured_namespace_differs_from_the_hosts() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.add_namespace("cgroup");
    let c = Container::new(b);
    c.create().ok();
    let pid = c.pid();
    for ns in ["pid", "net", "ipc", "uts", "mnt", "cgroup"] {
        assert!(!same_ns(pid, ns), "{ns} namespace is the host's");
    }
    assert!(same_ns(pid, "user"), "no user namespace was asked for");
}

#[test]
fn namespaces_left_out_are_shared_with_the_host() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.namespaces(&["mount", "pid"]);
    b.config["hostname"] = json!(null);
    let c = Container::new(b);
    c.create().ok();
    let pid = c.pid();
    for ns in ["net", "ipc", "uts", "cgroup"] {
        assert!(same_ns(pid, ns), "{ns} should be the host's");
    }
    assert!(!same_ns(pid, "mnt"));
}

#[test]
fn hostname_and_domainname_are_the_containers() {
    let mut b = Bundle::busybox(&[]);
    b.config["hostname"] = json!("box1");
    b.config["domainname"] = json!("example.test");
    let (r, _c) = run_script(b, "hostname; cat /proc/sys/kernel/domainname");
    assert_eq!(r.ok().stdout, "box1\nexample.test\n");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box1");
}

#[test]
fn a_new_network_namespace_has_only_lo_and_it_is_up() {
    let r = sh("ls /sys/class/net; ip -o link show lo | grep -c UP").ok();
    assert_eq!(r.stdout, "lo\n1\n", "{r:?}");
}

#[test]
fn joining_another_containers_network_namespace_by_path() {
    let a = Container::new(Bundle::busybox(&["sleep", "100"]));
    a.create().ok();
    let pid_a = a.pid();
    let mut b = Bundle::busybox(&["sleep", "100"]);
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    for n in ns.iter_mut() {
        if n["type"] == "network" {
            n["path"] = json!(format!("/proc/{pid_a}/ns/net"));
        }
    }
    let c = Container::new(b);
    c.create().ok();
    let pid_b = c.pid();
    let la = std::fs::read_link(format!("/proc/{pid_a}/ns/net")).unwrap();
    let lb = std::fs::read_link(format!("/proc/{pid_b}/ns/net")).unwrap();
    assert_eq!(la, lb, "both containers share one network namespace");
    let ua = std::fs::read_link(format!("/proc/{pid_a}/ns/uts")).unwrap();
    let ub = std::fs::read_link(format!("/proc/{pid_b}/ns/uts")).unwrap();
    assert_ne!(ua, ub, "but not the others");
}

#[test]
fn joining_a_pid_namespace_by_path_puts_the_process_in_it() {
    let a = Container::new(Bundle::busybox(&["sleep", "100"]));
    a.create().ok();
    a.hull(&["start", "{id}"]).ok();
    let pid_a = a.pid();
    let mut b = Bundle::busybox(&[]);
    for n in b.config["linux"]["namespaces"].as_array_mut().unwrap().iter_mut() {
        if n["type"] == "pid" {
            n["path"] = json!(format!("/proc/{pid_a}/ns/pid"));
        }
    }
    // The first container's sleep is pid 1 of the namespace we join.
    let (r, _c) = run_script(b, "echo $$; ps -o comm | grep -c sleep");
    let r = r.ok();
    let mut lines = r.stdout.lines();
    assert_ne!(lines.next(), Some("1"), "{r:?}");
    assert_eq!(lines.next(), Some("1"), "{r:?}");
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_host_uid() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    // A user namespace cannot mount a fresh sysfs for a network namespace it
    // does not own on every kernel; the cgroup mount needs delegation: drop both.
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup");
    b.config["linux"].as_object_mut().unwrap().remove("resources");
    std::os::unix::fs::chown(b.rootfs().join("tmp"), Some(200000), Some(200000)).unwrap();
    b.config["root"]["readonly"] = json!(false);
    let c = Container::new(b);
    c.create().ok();
    let pid = c.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(uid_line.contains("200000"), "host sees the mapped uid: {uid_line}");
    assert!(!same_ns(pid, "user"));
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(map.split_whitespace().collect::<Vec<_>>(), ["0", "200000", "65536"]);
}

#[test]
fn user_namespace_root_inside_is_uid_0_and_files_belong_to_the_mapped_uid() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup");
    std::fs::create_dir(b.rootfs().join("share")).unwrap(); // the mapped root cannot create it
    let share = b.dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::os::unix::fs::chown(&share, Some(300000), Some(300000)).unwrap();
    b.add_mount(json!({"destination": "/share", "type": "bind", "source": share, "options": ["rbind", "rw"]}));
    let (r, _c) = run_script(b, "id -u; id -g; touch /share/made-inside");
    assert_eq!(r.ok().stdout, "0\n0\n");
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(share.join("made-inside")).unwrap();
    assert_eq!((m.uid(), m.gid()), (300000, 300000));
}

#[test]
fn time_namespace_offsets_shift_the_boottime_clock() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1_000_000, "nanosecs": 0}});
    let (r, _c) = run_script(b, "cut -d. -f1 /proc/uptime");
    let up: u64 = r.ok().stdout.trim().parse().unwrap();
    assert!(up >= 1_000_000, "uptime {up} does not include the offset");
}

#[test]
fn cgroup_namespace_root_is_the_containers_cgroup() {
    let mut b = Bundle::busybox(&[]);
    b.add_namespace("cgroup");
    let r = run_script(b, "cat /proc/self/cgroup").0.ok();
    for line in r.stdout.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap();
        assert_eq!(path, "/", "inside the cgroup namespace every path is /: {line}");
    }
}

/// Without a mount namespace the container's mounts (proc, /dev, sysfs...)
/// are made in the host's: `delete` and a foreground `run` take them away
/// again (runc leaves them mounted on the host).
#[test]
fn sharing_the_hosts_mount_namespace_leaves_no_mount_behind() {
    let host_mounts_under = |rootfs: &std::path::Path| -> Vec<String> {
        let rootfs = rootfs.canonicalize().unwrap().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(&rootfs)))
            .map(String::from)
            .collect()
    };
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.namespaces(&["pid", "ipc", "uts"]);
    let c = Container::new(b);
    c.create().ok();
    assert!(!host_mounts_under(&c.bundle.rootfs()).is_empty(), "the container's /proc is on the host while it runs");
    assert_eq!(c.hull(&["delete", "--force", "{id}"]).code, 0);
    assert_eq!(host_mounts_under(&c.bundle.rootfs()), Vec::<String>::new());

    let mut b = Bundle::busybox(&["sh", "-c", "test -e /proc/self/status"]);
    b.namespaces(&["pid", "ipc", "uts"]);
    let c = Container::new(b);
    assert_eq!(c.run().code, 0);
    assert_eq!(host_mounts_under(&c.bundle.rootfs()), Vec::<String>::new());
}

#[test]
fn user_namespace_binds_sources_its_root_cannot_reach() {
    // A bind source below a directory only the host's root may enter (mode
    // 0700): the container's root, an unprivileged uid on the host, could not
    // open it itself; hull's parent makes the bind for it, as runc's does.
    // Before, create failed with EACCES.
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 310000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 310000, "size": 65536}]);
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup");
    let locked = b.dir.join("locked");
    std::fs::create_dir_all(locked.join("dir")).unwrap();
    std::fs::write(locked.join("dir/file"), "reachable\n").unwrap();
    std::fs::write(locked.join("single"), "one file\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir(b.rootfs().join("mnt1")).unwrap();
    std::fs::write(b.rootfs().join("single"), "").unwrap(); // (the mapped root cannot create it)
    b.add_mount(
        json!({"destination": "/mnt1", "type": "bind", "source": locked.join("dir"), "options": ["rbind", "ro"]}),
    );
    b.add_mount(
        json!({"destination": "/single", "type": "bind", "source": locked.join("single"), "options": ["bind"]}),
    );
    let (r, _c) = run_script(b, "cat /mnt1/file /single; touch /mnt1/x");
    assert_eq!(r.stdout, "reachable\none file\n", "{r:?}");
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
}

/// A network namespace of the host's (as a CNI plugin makes for a pod), with
/// a veth pair in it (this kernel has no dummy driver); removed on drop.
struct HostNetns(String);

impl HostNetns {
    fn new() -> HostNetns {
        let name = unique("hull-ns");
        let ip = |args: &[&str]| {
            assert!(std::process::Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}")
        };
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "add", "pod0", "type", "veth", "peer", "name", "pod1"]);
        HostNetns(name)
    }
}

impl Drop for HostNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}

#[test]
fn a_new_user_namespace_can_join_a_network_namespace_of_the_host() {
    // A user-namespaced pod's sandbox: new user namespace, network namespace
    // given by path (made by the CNI side, owned by the host's user
    // namespace). Joined before the user namespace is made; the other new
    // namespaces belong to the new user namespace. Before, setns failed with
    // EPERM from inside the new user namespace.
    let netns = HostNetns::new();
    let mut b = Bundle::busybox(&[]);
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "network" {
            ns["path"] = json!(format!("/run/netns/{}", netns.0));
        }
    }
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 320000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 320000, "size": 65536}]);
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup" && m["type"] != "sysfs");
    b.config["process"]["oomScoreAdj"] = json!(300);
    let (r, _c) = run_script(
        b,
        "ip -o link show pod0 | cut -d: -f2; cat /proc/self/uid_map; cat /proc/self/oom_score_adj; echo $$",
    );
    let r = r.ok();
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    assert_eq!(lines[0], "pod0@pod1", "{r:?}");
    assert!(lines[1].split_whitespace().collect::<Vec<_>>() == ["0", "320000", "65536"], "{r:?}");
    assert_eq!(lines[2], "300", "{r:?}");
    assert_eq!(lines[3], "1", "a pid namespace of its own: {r:?}");
}

#[test]
fn a_pod_container_joins_its_user_namespaced_sandbox() {
    // KEP-127 (hostUsers: false): the sandbox has a new user namespace; a
    // container joins it by path with the sandbox's net, ipc and uts, and
    // gets a pid and mount namespace of its own (owned by that user
    // namespace, so it can mount its /proc). Before, the joined user
    // namespace plus new pid namespace lost the init to a parent-death
    // signal, and files could not be made for the unmapped host root.
    let mut s = Bundle::busybox(&["sleep", "100"]);
    s.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    s.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 330000, "size": 65536}]);
    s.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 330000, "size": 65536}]);
    s.config["hostname"] = json!("the-sandbox");
    s.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup" && m["type"] != "sysfs");
    let sandbox = Container::new(s);
    sandbox.hull(&["run", "-d", "--bundle", sandbox.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let pid = sandbox.pid();
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["namespaces"] = json!([
        {"type": "user", "path": format!("/proc/{pid}/ns/user")},
        {"type": "network", "path": format!("/proc/{pid}/ns/net")},
        {"type": "ipc", "path": format!("/proc/{pid}/ns/ipc")},
        {"type": "uts", "path": format!("/proc/{pid}/ns/uts")},
        {"type": "pid"},
        {"type": "mount"}
    ]);
    b.config.as_object_mut().unwrap().remove("hostname");
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup" && m["type"] != "sysfs");
    let (r, _c) = run_script(b, "cat /proc/self/uid_map; echo $$; hostname; ls /proc | grep -c '^[0-9]'");
    let r = r.ok();
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["0", "330000", "65536"], "{r:?}");
    assert_eq!(lines[1], "1", "{r:?}");
    assert_eq!(lines[2], "the-sandbox", "{r:?}");
    assert!(lines[3].parse::<u32>().unwrap() <= 3, "its own pid namespace: {r:?}");
}
