//! Bad input: one clear line naming the culprit, exit status 1, nothing left behind.

use hull_tests::*;
use serde_json::json;

/// Creates a container from `b` and expects failure mentioning every `needles`.
#[track_caller]
fn create_fails(b: Bundle, needles: &[&str]) {
    Container::new(b).create_fails(needles);
}

#[test]
fn malformed_config_reports_line_and_column() {
    let b = Bundle::busybox(&["true"]);
    let c = Container::new(b);
    std::fs::write(c.bundle.dir.join("config.json"), "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}").unwrap();
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("config.json") && r.stderr.contains("line 3"), "{r:?}");
    c.assert_gone();
}

#[test]
fn wrong_type_names_the_field() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["process"]["user"]["uid"] = json!("root");
    create_fails(b, &["process.user.uid"]);
}

#[test]
fn missing_config_json() {
    let b = Bundle::busybox(&["true"]);
    let c = Container::new(b);
    std::fs::remove_file(c.bundle.dir.join("config.json")).unwrap();
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("config.json") && r.stderr.contains("No such file"), "{r:?}");
    c.assert_gone();
}

#[test]
fn missing_or_non_directory_root_path() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["root"]["path"] = json!("nope");
    create_fails(b, &["root.path", "nope"]);
    let mut b = Bundle::busybox(&["true"]);
    std::fs::write(b.dir.join("afile"), "").unwrap();
    b.config["root"]["path"] = json!("afile");
    create_fails(b, &["root.path", "not a directory"]);
}

#[test]
fn relative_bundle_path_is_resolved_and_a_missing_one_named() {
    let c = Container::new(Bundle::busybox(&["true"]));
    let r = c.hull(&["create", "--bundle", "relative/does-not-exist", "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("relative/does-not-exist"), "{r:?}");
}

#[test]
fn empty_args() {
    create_fails(Bundle::busybox(&[]), &["process.args"]);
}

#[test]
fn executable_not_found_names_it() {
    let c = Container::new(Bundle::busybox(&["frobnicate"]));
    let r = c.create();
    assert!(r.code != 0 && r.stderr.contains("frobnicate"), "{r:?}");
    c.assert_gone();
}

/// cgroup v2 settings on a v1 host: refused in runc's words.
#[test]
fn unified_resources_on_cgroup_v1_are_an_invalid_configuration() {
    if !std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        return; // a pure cgroup v2 host takes them
    }
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["resources"]["unified"] = json!({"memory.max": "10000000"});
    create_fails(b, &["linux.resources.unified", "invalid configuration: cannot use unified on cgroup v1"]);
}

#[test]
fn unknown_namespace_type() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["namespaces"][0]["type"] = json!("galaxy");
    create_fails(b, &["linux.namespaces[0].type", "galaxy"]);
}

#[test]
fn namespace_path_missing_or_of_the_wrong_type() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["namespaces"][1]["path"] = json!("/proc/self/ns/nope");
    create_fails(b, &["linux.namespaces[1].path", "/proc/self/ns/nope"]);
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["namespaces"][1]["path"] = json!("/proc/self/ns/uts");
    create_fails(b, &["is a uts namespace, not network"]);
}

#[test]
fn uid_mapping_without_a_user_namespace() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    create_fails(b, &["user namespace"]);
}

#[test]
fn unknown_capability_and_rlimit() {
    let mut b = Bundle::busybox(&["true"]);
    b.config["process"]["capabilities"]["bounding"][0] = json!("CAP_TELEPORT");
    create_fails(b, &["process.capabilities.bounding", "TELEPORT"]);
    let mut b = Bundle::busybox(&["true"]);
    b.config["process"]["rlimits"][0]["type"] = json!("RLIMIT_WISHES");
    create_fails(b, &["process.rlimits[0].type", "RLIMIT_WISHES"]);
}

#[test]
fn bad_signal_name() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    let r = c.hull(&["kill", "{id}", "SIGNOPE"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("SIGNOPE"), "{r:?}");
    assert_eq!(c.status(), "created");
}

#[test]
fn invalid_container_ids() {
    let c = Container::new(Bundle::busybox(&["true"]));
    let long = "x".repeat(300);
    for id in ["", "a/b", "..", "../x", long.as_str()] {
        let r = c.hull(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), id]);
        assert_eq!(r.code, 1, "{id:?}: {r:?}");
        assert!(r.stderr.contains("invalid container id"), "{id:?}: {r:?}");
    }
    let mut cmd = c.hull_cmd(&["state"]);
    cmd.arg(std::ffi::OsStr::new("a\u{1}b"));
    let r = run_to_files(cmd);
    assert!(r.stderr.contains("invalid container id"), "{r:?}");
    assert!(!c.root.exists() || std::fs::read_dir(&c.root).unwrap().next().is_none());
}

#[test]
fn duplicate_id() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already exists"), "{r:?}");
    assert_eq!(c.status(), "created", "the first one is untouched");
}

#[test]
fn any_command_on_an_unknown_id() {
    let c = Container::new(Bundle::busybox(&["true"]));
    for cmd in [
        &["start", "{id}"][..],
        &["state", "{id}"],
        &["kill", "{id}"],
        &["delete", "{id}"],
        &["pause", "{id}"],
        &["exec", "{id}", "true"],
        &["ps", "{id}"],
    ] {
        let r = c.hull(cmd);
        // exec's own failures exit 255, as runc's; the others 1.
        assert_eq!(r.code, if cmd[0] == "exec" { 255 } else { 1 }, "{cmd:?}");
        assert!(r.stderr.contains("does not exist"), "{cmd:?}: {r:?}");
    }
}

#[test]
fn unwritable_root() {
    let c = Container::new(Bundle::busybox(&["true"]));
    let r = run_to_files({
        let mut cmd = std::process::Command::new(hull_bin());
        cmd.args(["--root", "/proc/hull-root", "create", "--bundle"]).arg(&c.bundle.dir).arg(&c.id);
        cmd
    });
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/proc/hull-root"), "{r:?}");
}

#[test]
fn log_to_a_missing_directory() {
    let c = Container::new(Bundle::busybox(&["true"]));
    let r = c.hull(&["--log", "/nonexistent-dir/hull.log", "list"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/nonexistent-dir/hull.log"), "{r:?}");
}

#[test]
fn errors_go_to_the_log_in_json() {
    let c = Container::new(Bundle::busybox(&["true"]));
    let log = c.bundle.dir.join("log.json");
    let r = c.hull(&["--log", log.to_str().unwrap(), "--log-format", "json", "state", "{id}"]);
    assert_eq!(r.code, 1);
    let line = std::fs::read_to_string(&log).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap().contains("does not exist"));
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn fields_hull_does_not_implement_are_refused_by_name() {
    // Never ignored silently: each is refused in one line naming it.
    let mut b = Bundle::busybox(&["true"]);
    b.add_mount(json!({"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]}));
    create_fails(b, &["mounts[", "idmap needs uidMappings"]);
    let mut b = Bundle::busybox(&["true"]);
    b.add_mount(json!({"destination": "/data", "type": "mqueue", "source": "mqueue", "options": ["idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}));
    create_fails(b, &["mounts[", "bind and tmpfs mounts"]);
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["intelRdt"] = json!({"closID": "x"});
    create_fails(b, &["linux.intelRdt"]);
}

#[test]
fn a_program_that_cannot_be_executed_is_reported_once() {
    // The init finds the program missing before it says Ready: the parent
    // reports it; the init must not print it as well (it prints only when
    // execve itself fails, after `start` may have gone).
    create_fails(Bundle::busybox(&["/nonexistent"]), &["exec: /nonexistent: ENOENT"]);
    let r = Container::new(Bundle::busybox(&["/nonexistent"])).run();
    assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
}
