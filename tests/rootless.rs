//! Rootless: an unprivileged user runs containers (its own uid mapped to
//! root inside, no cgroup unless one is delegated).

use hull_tests::*;
use serde_json::{json, Value};

/// `hull spec --rootless` as the user, with `args` and no terminal.
fn rootless_bundle(args: &[&str]) -> Bundle {
    rootless_user();
    let mut b = Bundle::busybox(args);
    let c = Container::new(Bundle::busybox(&["true"]));
    std::fs::create_dir_all(&c.root).unwrap();
    let r = c.hull_rootless(&["spec", "--rootless", "--bundle", c.root.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut spec: Value = serde_json::from_slice(&std::fs::read(c.root.join("config.json")).unwrap()).unwrap();
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(args);
    b.config = spec;
    b
}

#[test]
fn spec_rootless_maps_the_caller_to_root() {
    let b = rootless_bundle(&["true"]);
    let ns: Vec<&str> =
        b.config["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert!(ns.contains(&"user") && !ns.contains(&"network"), "{ns:?}");
    assert_eq!(b.config["linux"]["uidMappings"][0]["hostID"], ROOTLESS_UID);
    assert!(b.config["linux"].get("resources").is_none());
}

#[test]
fn rootless_run_is_root_inside_and_the_user_outside() {
    let b = rootless_bundle(&["sh", "-c", "id -u; cat /proc/self/uid_map; sleep 0.2"]);
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "0");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["0", "4711", "1"]);
}

#[test]
fn rootless_lifecycle_and_exec() {
    let b = rootless_bundle(&["sleep", "100"]);
    let c = Container::new(b);
    let r = c.hull_rootless(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 0, "{r:?}");
    let st: Value = serde_json::from_str(&c.hull_rootless(&["state", "{id}"]).stdout).unwrap();
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.lines().any(|l| l.starts_with("Uid:") && l.contains("4711")), "the host sees the user: {status}");
    let list: Value = serde_json::from_str(&c.hull_rootless(&["list", "--format", "json"]).stdout).unwrap();
    assert_eq!(list[0]["owner"], "hull-rootless", "{list}");
    assert_eq!(c.hull_rootless(&["start", "{id}"]).code, 0);
    let r = c.hull_rootless(&["exec", "{id}", "sh", "-c", "id -u; hostname"]);
    assert_eq!(r.stdout, "0\nhull\n", "{r:?}");
    assert_eq!(c.hull_rootless(&["kill", "{id}", "KILL"]).code, 0);
    for _ in 0..200 {
        let st: Value = serde_json::from_str(&c.hull_rootless(&["state", "{id}"]).stdout).unwrap_or_default();
        if st["status"] == "stopped" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = c.hull_rootless(&["delete", "{id}"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!c.root.join(&c.id).exists());
}

#[test]
fn files_written_to_a_bind_mount_belong_to_the_user() {
    let mut b = rootless_bundle(&["sh", "-c", "touch /share/from-inside"]);
    let share = b.dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::os::unix::fs::chown(&share, Some(ROOTLESS_UID), Some(ROOTLESS_UID)).unwrap();
    std::fs::create_dir_all(b.rootfs().join("share")).unwrap();
    b.add_mount(json!({"destination": "/share", "type": "bind", "source": share, "options": ["rbind", "rw"]}));
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 0, "{r:?}");
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(c.bundle.dir.join("share/from-inside")).unwrap();
    assert_eq!(m.uid(), ROOTLESS_UID);
}

#[test]
fn multi_range_mapping_goes_through_newuidmap() {
    let mut b = rootless_bundle(&["cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    let start = rootless_subuid_start();
    let maps = json!([{"containerID": 0, "hostID": ROOTLESS_UID, "size": 1}, {"containerID": 1, "hostID": start, "size": 1000}]);
    b.config["linux"]["uidMappings"] = maps.clone();
    b.config["linux"]["gidMappings"] = maps;
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 0, "{r:?}");
    let rows: Vec<Vec<&str>> = r.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    let want = ["1".to_string(), start.to_string(), "1000".to_string()];
    assert_eq!(rows[1], want, "{r:?}");
    assert_eq!(rows[3], want, "{r:?}");
}

#[test]
fn a_range_outside_subuid_fails_clearly() {
    let mut b = rootless_bundle(&["true"]);
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": ROOTLESS_UID, "size": 1}, {"containerID": 1, "hostID": 3_999_000_000u32, "size": 10}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": ROOTLESS_UID, "size": 1}]);
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/etc/subuid") && r.stderr.lines().count() == 1, "{r:?}");
}

#[test]
fn limits_without_a_delegated_cgroup_fail_clearly() {
    let mut b = rootless_bundle(&["true"]);
    b.config["linux"]["resources"] = json!({"pids": {"limit": 10}});
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("rootless") && r.stderr.contains("delegated"), "{r:?}");
    assert!(cgroup_dirs_named(&c.id).is_empty());
}

/// The host's mounts are locked in the user's mount namespace: their atime
/// mode cannot change and nosuid/nodev/noexec cannot be cleared. A bind
/// mount asking for `strictatime` (as runtime-tools' mounts test does) still
/// works, keeping the source's atime mode, and gets the flags it may set.
#[test]
fn bind_mount_keeps_the_locked_flags_of_its_source() {
    let mut b = rootless_bundle(&["sh", "-c", "grep ' /share ' /proc/self/mountinfo"]);
    let share = b.dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::create_dir_all(b.rootfs().join("share")).unwrap();
    b.add_mount(
        json!({"destination": "/share", "type": "bind", "source": share, "options": ["bind", "strictatime", "nosuid", "nodev"]}),
    );
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 0, "{r:?}");
    let opts = r.stdout.split_whitespace().nth(5).unwrap_or("").to_string();
    assert!(opts.split(',').any(|o| o == "nosuid") && opts.split(',').any(|o| o == "nodev"), "{r:?}");
}

#[test]
fn unmapped_user_and_missing_host_device_fail_clearly() {
    // Only root (the caller) is mapped: uid 1000 has no id inside.
    let mut b = rootless_bundle(&["true"]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 0});
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("setuid 1000") && r.stderr.contains("not mapped"), "{r:?}");
    assert!(r.stderr.lines().count() == 1, "{r:?}");

    // A device the host does not have cannot be bind-mounted in.
    let mut b = rootless_bundle(&["true"]);
    b.config["linux"]["devices"] = json!([{"path": "/dev/hull-no-such", "type": "c", "major": 1, "minor": 3}]);
    let c = Container::new(b);
    let r = c.hull_rootless(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/dev/hull-no-such") && r.stderr.contains("bind-mounted from the host"), "{r:?}");
    assert!(!c.root.join(&c.id).exists());
}
