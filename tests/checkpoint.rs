//! checkpoint and restore where CRIU cannot work: one clear line, the
//! container running on, nothing half-made left behind. (The working paths
//! run in the systemd VM's `criu` section, whose kernel CRIU handles; this
//! host's kernel it cannot: `criu check` fails here.)

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hull_tests::*;
use serde_json::{json, Value};

/// A sleeping container, running detached with /dev/null as its stdio.
fn running() -> Container {
    let c = Container::new(Bundle::busybox(&["sleep", "1000"]));
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    c.wait_status("running");
    c
}

/// A directory of its own for the test's images, logs and fake binaries.
fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(unique("hull-criu"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[track_caller]
fn one_line_failure(r: &Run, needles: &[&str]) {
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
    assert!(r.stderr.starts_with("hull: "), "{r:?}");
    for n in needles {
        assert!(r.stderr.contains(n), "{n:?} not in {r:?}");
    }
}

/// Is CRIU installed here (scripts/deps.sh criu)?
fn criu_installed() -> bool {
    Command::new("criu").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn checkpoint_without_criu_fails_in_one_line_and_the_container_runs_on() {
    let c = running();
    let pid = c.pid();
    let dir = scratch();
    let images = dir.join("img");
    let r = run_to_files({
        let mut cmd = c.hull_cmd(&["checkpoint", "--image-path", images.to_str().unwrap(), "{id}"]);
        cmd.env("PATH", &dir);
        cmd
    });
    one_line_failure(&r, &["checkpoint", "criu is not in PATH"]);
    assert_eq!(c.status(), "running");
    assert_eq!(c.pid(), pid);
    assert!(!images.exists(), "no image directory made for nothing");
    // features says no, too.
    let mut cmd = c.hull_cmd(&["features"]);
    cmd.env("PATH", &dir);
    let f: Value = serde_json::from_str(&run_to_files(cmd).ok().stdout).unwrap();
    assert_eq!(f["annotations"]["org.opencontainers.runc.checkpoint.enabled"], "false");
    let _ = std::fs::remove_dir_all(&dir);
}

/// This host's kernel is one CRIU 3.17 cannot handle (`criu check` fails:
/// "vdso: Unexpected rt vDSO area bounds"): the dump fails, hull says why in
/// one line, and the container runs on with no checkpoint left behind.
#[test]
fn checkpoint_on_a_kernel_criu_cannot_handle_fails_in_one_line() {
    assert!(criu_installed(), "this test needs criu: scripts/deps.sh criu");
    let check = Command::new("criu").args(["check", "--no-default-config"]).output().unwrap();
    if check.status.success() {
        eprintln!("criu check passes on this kernel: nothing to test here (the VM suite checkpoints)");
        return;
    }
    let c = running();
    let pid = c.pid();
    let dir = scratch();
    let images = dir.join("img");
    let work = dir.join("work");
    let r = c.hull(&[
        "checkpoint",
        "--image-path",
        images.to_str().unwrap(),
        "--work-path",
        work.to_str().unwrap(),
        "{id}",
    ]);
    one_line_failure(&r, &["checkpoint", "criu cannot work with this kernel", "criu check", "dump.log"]);
    assert_eq!(c.status(), "running");
    assert_eq!(c.pid(), pid);
    let left: Vec<_> =
        std::fs::read_dir(&images).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "a failed dump leaves no images: {left:?}");
    assert!(work.join("dump.log").exists(), "the log stays for whoever looks into it");
    // --leave-running fails the same way, and runs on the same way.
    let r = c.hull(&["checkpoint", "--leave-running", "--image-path", images.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["criu cannot work with this kernel"]);
    assert_eq!(c.status(), "running");
    assert!(!images.join("inventory.img").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A container whose stdio is a terminal of the caller's (not one of its
/// own): CRIU cannot find that terminal's mount, so hull refuses before
/// anything is frozen — unless --shell-job says the caller knows.
#[test]
fn checkpoint_of_a_container_on_the_callers_terminal_needs_shell_job() {
    let c = Container::new(Bundle::busybox(&["sleep", "1000"]));
    let (master, slave) = openpty();
    let mut cmd = c.hull_cmd(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    cmd.stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave);
    assert!(cmd.status().unwrap().success());
    c.wait_status("running");
    let dir = scratch();
    let images = dir.join("img");
    let r = c.hull(&["checkpoint", "--image-path", images.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["holds the terminal /dev/pts/", "from outside the container", "--shell-job"]);
    assert_eq!(c.status(), "running");
    assert!(!images.exists(), "refused before anything was made");
    drop(master);
    let _ = std::fs::remove_dir_all(&dir);
}

fn openpty() -> (std::fs::File, std::fs::File) {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty fills the two descriptors; the name and settings are optional.
    let rc = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty");
    use std::os::fd::FromRawFd;
    // SAFETY: fresh descriptors we own.
    unsafe { (std::fs::File::from_raw_fd(m), std::fs::File::from_raw_fd(s)) }
}

#[test]
fn checkpoint_refuses_a_created_container_and_bad_flags() {
    let c = Container::new(Bundle::busybox(&["sleep", "1000"]));
    c.create().ok();
    let dir = scratch();
    let img = dir.join("img");
    let r = c.hull(&["checkpoint", "--image-path", img.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["created", "only a running or paused container can be checkpointed"]);
    let r = c.hull(&["checkpoint", "--image-path", img.to_str().unwrap(), "--manage-cgroups-mode", "soft", "nope"]);
    one_line_failure(&r, &["nope", "does not exist"]);
    c.hull(&["delete", "-f", "{id}"]).ok();
    let c = running();
    let r = c.hull(&["checkpoint", "--parent-path", "/abs", "--image-path", img.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["--parent-path must be relative"]);
    let r = c.hull(&["checkpoint", "--parent-path", "../none", "--image-path", img.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["invalid --parent-path"]);
    let r =
        c.hull(&["checkpoint", "--manage-cgroups-mode", "sometimes", "--image-path", img.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["--manage-cgroups-mode \"sometimes\""]);
    let r = c.hull(&["checkpoint", "--empty-ns", "pid", "--image-path", img.to_str().unwrap(), "{id}"]);
    one_line_failure(&r, &["--empty-ns \"pid\""]);
    assert!(!img.exists(), "nothing made for a refused command");
    assert_eq!(c.status(), "running");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A restore whose CRIU fails (no checkpoint; here, also a kernel CRIU
/// cannot handle): the id is free again, no cgroup, no mount, no CRIU root
/// left.
#[test]
fn failed_restores_leave_nothing_behind() {
    let b = Bundle::busybox(&["sleep", "1000"]);
    let c = Container::new(b);
    let dir = scratch();
    let bundle = c.bundle.dir.to_str().unwrap().to_string();
    // No checkpoint in the directory.
    let r = c.hull(&["restore", "-d", "--image-path", dir.to_str().unwrap(), "--bundle", &bundle, "{id}"]);
    if criu_installed() {
        one_line_failure(&r, &["restore", "holds no checkpoint (no inventory.img)"]);
    } else {
        one_line_failure(&r, &["restore", "criu is not in PATH"]);
    }
    c.assert_gone();
    // What looks like a checkpoint to hull, not to CRIU.
    std::fs::write(dir.join("inventory.img"), b"not an image").unwrap();
    std::fs::write(dir.join("descriptors.json"), json!(["/dev/null", "/dev/null", "/dev/null"]).to_string()).unwrap();
    let r = c.hull(&["restore", "-d", "--image-path", dir.to_str().unwrap(), "--bundle", &bundle, "{id}"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
    c.assert_gone();
    assert!(!c.root.join(format!("criu-root@{}", c.id)).exists(), "CRIU's root left behind");
    let rootfs = c.bundle.rootfs().canonicalize().unwrap();
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(rootfs.to_str().unwrap()), "a bind of the rootfs left behind");
    assert!(c.bundle.rootfs().join("bin/sh").exists(), "the rootfs is untouched");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn restore_refuses_an_id_in_use_and_a_detached_terminal_without_console_socket() {
    let c = running();
    let dir = scratch();
    let bundle = c.bundle.dir.to_str().unwrap().to_string();
    let r = c.hull(&["restore", "-d", "--image-path", dir.to_str().unwrap(), "--bundle", &bundle, "{id}"]);
    one_line_failure(&r, &["already exists"]);
    assert_eq!(c.status(), "running");
    let mut b = Bundle::busybox(&["sh"]);
    b.config["process"]["terminal"] = json!(true);
    let t = Container::new(b);
    let r = t.hull(&[
        "restore",
        "-d",
        "--image-path",
        dir.to_str().unwrap(),
        "--bundle",
        t.bundle.dir.to_str().unwrap(),
        "{id}",
    ]);
    one_line_failure(&r, &["process.terminal", "--console-socket"]);
    t.assert_gone();
    let _ = std::fs::remove_dir_all(&dir);
}

/// features runs `criu check` once per criu binary and boot, not at every
/// call (it takes seconds on a slow machine): a fake criu counts its runs.
#[test]
fn features_says_checkpoint_when_criu_check_passes_and_remembers_it() {
    let dir = scratch();
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let fake = |answer: i32| {
        let script = format!(
            "#!/bin/sh\necho \"$@\" >> {}/criu.calls\n[ \"$1\" = check ] && echo 'Looks good.' && exit {answer}\nexit 1\n",
            dir.display()
        );
        let path = dir.join("criu");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let features = || -> String {
        let out = Command::new(hull_bin()).arg("--root").arg(&root).arg("features").env("PATH", &dir).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["annotations"]["org.opencontainers.runc.checkpoint.enabled"].as_str().unwrap().to_string()
    };
    let calls = || std::fs::read_to_string(dir.join("criu.calls")).unwrap_or_default().lines().count();
    fake(0);
    assert_eq!(features(), "true");
    assert_eq!(features(), "true");
    assert_eq!(calls(), 1, "criu check ran once");
    // Another criu binary (an upgrade): asked again.
    std::thread::sleep(std::time::Duration::from_millis(20));
    fake(1);
    assert_eq!(features(), "false");
    assert_eq!(calls(), 2);
    assert!(!Path::new(&root).join("criu-check~").is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A caller's `</dev/null` becomes the container's own /dev/null (runc's
/// reOpenDevNull): a descriptor on the host's /dev mount is one CRIU cannot
/// checkpoint ("Can't lookup mount"), and podman's conmon and `run -d`
/// callers hand /dev/null over all the time.
#[test]
fn stdio_on_the_hosts_dev_null_becomes_the_containers_own() {
    let script = r#"id=$(sed -n 's/^mnt_id:[[:space:]]*//p' /proc/$$/fdinfo/0); grep -q "^$id " /proc/$$/mountinfo && echo inside || echo "outside $id""#;
    let c = Container::new(Bundle::busybox(&["sh", "-c", script]));
    let r = c.run().ok();
    assert_eq!(r.stdout.trim(), "inside", "fd 0's mount is not the container's: {r:?}");
}
