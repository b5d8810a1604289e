//! Faults: hull killed at every step of create, an init killed from outside,
//! a recycled pid, racing creates, a full state filesystem.

use hull_tests::*;

/// Every fault point of create (the parent's steps, then the init's).
const STEPS: [&str; 14] = [
    "create: start",
    "create: config loaded and validated",
    "create: cgroup manager ready",
    "create: plans built",
    "create: state saved, sockets ready",
    "create: clone3 returned",
    "create: maps written, cgroup joined",
    "create: init ready",
    "create: state saved",
    "init: cloned",
    "init: hostname",
    "init: mounts and devices",
    "init: pivot_root, masked and read-only paths",
    "init: process attributes",
];

#[test]
fn create_killed_at_any_step_is_cleaned_up_by_delete_force() {
    for step in STEPS {
        let c = Container::new(Bundle::busybox(&["sleep", "100"]));
        let mut cmd = c.hull_cmd(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
        cmd.env("HULL_FAULT_AT", step);
        let r = run_to_files(cmd);
        assert_ne!(r.code, 0, "{step}: the fault point did not fire (is this a debug build of hull?): {r:?}");
        c.hull(&["delete", "--force", "{id}"]).ok();
        c.assert_gone();
        // The id is free again and works.
        c.create().ok();
        c.hull(&["start", "{id}"]).ok();
        assert_eq!(c.status(), "running", "{step}");
        c.hull(&["delete", "--force", "{id}"]).ok();
        c.assert_gone();
    }
}

#[test]
fn a_recycled_pid_is_never_taken_for_the_container() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let pid = c.pid();
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    c.wait_status("stopped");
    // Pretend the kernel gave the init's pid to another process: point the
    // state at a live process (this test) that has a different start time.
    let state_file = c.root.join(&c.id).join("state.json");
    let text = std::fs::read_to_string(&state_file).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["pid"] = std::process::id().into();
    std::fs::write(&state_file, v.to_string()).unwrap();
    assert_eq!(c.status(), "stopped", "a live process with another start time is not the init");
    let r = c.hull(&["kill", "{id}", "KILL"]);
    assert_ne!(r.code, 0, "kill must not signal the impostor");
    c.hull(&["delete", "{id}"]).ok();
}

#[test]
fn concurrent_creates_of_one_id_one_wins() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    let cr = &c;
    let results: Vec<Run> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8).map(|_| s.spawn(move || cr.create())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.code == 0).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter(|r| r.code != 0) {
        assert!(r.stderr.contains("already exists"), "{r:?}");
    }
    assert_eq!(c.status(), "created");
    c.hull(&["delete", "{id}"]).ok();
    c.assert_gone();
}

#[test]
fn a_full_state_filesystem_fails_clearly_without_half_written_state() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    // In a private mount namespace: a 4 KiB tmpfs as --root, filled first.
    let root = c.bundle.dir.join("tiny-root");
    std::fs::create_dir_all(&root).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=4k tmpfs {root} && head -c 4096 /dev/zero > {root}/fill; \
         {hull} --root {root} create --bundle {bundle} {id}; echo create=$?; rm {root}/fill; ls -A {root}",
        root = root.display(),
        hull = hull_bin().display(),
        bundle = c.bundle.dir.display(),
        id = c.id
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script]);
    let r = run_to_files(cmd);
    assert!(r.stderr.contains("No space left on device"), "{r:?}");
    assert!(r.stdout.contains("create=1"), "{r:?}");
    assert!(!r.stdout.contains("state.json") && !r.stdout.contains(&c.id), "nothing left in --root: {r:?}");
    assert!(cgroup_dirs_named(&c.id).is_empty());
}
