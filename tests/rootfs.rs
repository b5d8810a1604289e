//! The root filesystem: mounts and their flags, /dev, masked and read-only
//! paths, pivot_root, sysctl — each read back from inside the container.

use hull_tests::*;
use serde_json::json;

/// The mountinfo line inside the container for `dest`.
fn mountinfo_line(out: &str, dest: &str) -> String {
    out.lines()
        .find(|l| l.split(' ').nth(4) == Some(dest))
        .unwrap_or_else(|| panic!("no mount at {dest} in:\n{out}"))
        .to_string()
}

#[test]
fn config_mounts_appear_with_their_flags() {
    let mut b = Bundle::busybox(&[]);
    b.add_mount(json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "nodev", "size=1m", "mode=700"]}));
    let (r, _c) = run_script(b, "cat /proc/self/mountinfo; stat -c %a /data");
    let r = r.ok();
    let line = mountinfo_line(&r.stdout, "/data");
    let opts = line.split(' ').nth(5).unwrap();
    for f in ["nosuid", "nodev", "noexec"] {
        assert!(opts.split(',').any(|o| o == f), "{f} missing: {line}");
    }
    assert!(line.contains("size=1024k"), "{line}");
    assert!(r.stdout.ends_with("700\n"), "{r:?}");
}

#[test]
fn bind_mounts_file_and_directory_read_only() {
    let mut b = Bundle::busybox(&[]);
    let src = b.dir.join("hostdir");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("hello"), "from host\n").unwrap();
    std::fs::write(b.dir.join("one-file"), "single\n").unwrap();
    b.add_mount(json!({"destination": "/mnt/dir", "type": "bind", "source": src, "options": ["rbind", "ro"]}));
    b.add_mount(json!({"destination": "/etc/one", "type": "bind", "source": "one-file", "options": ["bind", "ro"]}));
    let (r, _c) = run_script(b, "cat /mnt/dir/hello /etc/one; touch /mnt/dir/x 2>&1; touch /etc/one 2>&1; true");
    let r = r.ok();
    assert!(r.stdout.starts_with("from host\nsingle\n"), "{r:?}");
    assert_eq!(r.stdout.matches("Read-only file system").count(), 2, "{r:?}");
}

#[test]
fn rro_makes_submounts_read_only_too() {
    let mut b = Bundle::busybox(&[]);
    let src = b.dir.join("tree");
    std::fs::create_dir_all(src.join("inner")).unwrap();
    b.add_mount(json!({"destination": "/tree", "type": "bind", "source": src, "options": ["rbind", "rw"]}));
    b.add_mount(json!({"destination": "/tree/inner", "type": "tmpfs", "source": "tmpfs", "options": []}));
    b.add_mount(json!({"destination": "/ro", "type": "bind", "source": src, "options": ["rbind", "rro"]}));
    // /ro is bound before anything was mounted at /tree/inner in the source
    // tree, so check the tmpfs made under /tree is writable and /ro is not.
    let (r, _c) = run_script(b, "touch /tree/inner/a && echo rw-ok; touch /ro/b 2>&1; true");
    let r = r.ok();
    assert!(r.stdout.contains("rw-ok"), "{r:?}");
    assert!(r.stdout.contains("Read-only file system"), "{r:?}");
}

#[test]
fn a_symlink_in_the_image_cannot_lead_a_mount_outside_the_rootfs() {
    // CVE-2021-30465-style: the image points /evil at the host's /tmp, then
    // asks for a mount under it.
    let mut b = Bundle::busybox(&[]);
    let marker = format!("hull-escape-{}", unique("x"));
    std::os::unix::fs::symlink("../../../../../../../../tmp", b.rootfs().join("evil")).unwrap();
    std::os::unix::fs::symlink("/tmp", b.rootfs().join("evil-abs")).unwrap();
    b.add_mount(json!({"destination": format!("/evil/{marker}"), "type": "tmpfs", "source": "tmpfs"}));
    b.add_mount(json!({"destination": format!("/evil-abs/{marker}-abs"), "type": "tmpfs", "source": "tmpfs"}));
    let (r, _c) = run_script(b, "true");
    r.ok();
    assert!(!std::path::Path::new("/tmp").join(&marker).exists(), "a directory was created on the host");
    assert!(
        !std::path::Path::new("/tmp").join(format!("{marker}-abs")).exists(),
        "a directory was created on the host"
    );
}

#[test]
fn default_devices_exist_with_the_right_numbers() {
    let r = sh("for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; for l in fd ptmx stdin; do readlink /dev/$l; done").ok();
    let want = "/dev/null character special file 1:3 666\n/dev/zero character special file 1:5 666\n/dev/full character special file 1:7 666\n/dev/random character special file 1:8 666\n/dev/urandom character special file 1:9 666\n/dev/tty character special file 5:0 666\n/proc/self/fd\npts/ptmx\n/proc/self/fd/0\n";
    assert_eq!(r.stdout, want);
}

#[test]
fn config_devices_are_created_with_mode_and_owner() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["devices"] = json!([{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1000}]);
    b.config["linux"]["resources"]["devices"]
        .as_array_mut()
        .unwrap()
        .push(json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}));
    b.config["linux"]["devices"]
        .as_array_mut()
        .unwrap()
        .push(json!({"path": "/dev/open-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}));
    let (r, _c) = run_script(b, "stat -c '%F %t:%T %a %u:%g' /dev/mynull; echo x > /dev/open-null && echo writable");
    assert_eq!(r.ok().stdout, "character special file 1:3 640 1000:1000\nwritable\n");
}

#[test]
fn masked_paths_are_unreadable() {
    // Files become /dev/null, directories an empty read-only tmpfs.
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["maskedPaths"].as_array_mut().unwrap().extend([json!("/etc/passwd"), json!("/home")]);
    let (r, _c) = run_script(
        b,
        "cat /proc/keys /proc/timer_list /etc/passwd | wc -c; for d in /proc/acpi /sys/firmware /home; do ls -A $d | wc -l; done; touch /home/x",
    );
    assert_eq!(r.stdout.split_whitespace().collect::<Vec<_>>(), ["0", "0", "0", "0"], "{r:?}");
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    assert!(std::fs::metadata("/proc/keys").is_ok(), "the host has the files that were masked");
}

#[test]
fn masked_paths_cannot_be_unmasked_with_default_capabilities() {
    let r = sh("mkdir /dev/shm/p; mount -t proc proc /dev/shm/p 2>&1; umount /proc/keys 2>&1; wc -c < /proc/keys").ok();
    assert!(r.stdout.contains("permission denied") || r.stdout.contains("Operation not permitted"), "{r:?}");
    assert!(r.stdout.ends_with("0\n"), "{r:?}");
}

#[test]
fn readonly_paths_are_read_only() {
    let r =
        sh("echo 1 > /proc/sys/kernel/ns_last_pid; grep -E ' /proc/(sys|irq|bus|fs) ' /proc/self/mountinfo; true").ok();
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{r:?}");
    for l in lines {
        assert!(l.split(' ').nth(5).unwrap().split(',').any(|o| o == "ro"), "not read-only: {l}");
    }
}

#[test]
fn readonly_root_refuses_writes_but_tmpfs_mounts_do_not() {
    let r = sh("touch /newfile 2>&1; touch /dev/shm/ok && echo shm-ok; true").ok();
    assert!(r.stdout.contains("Read-only file system"), "{r:?}");
    assert!(r.stdout.contains("shm-ok"), "{r:?}");
    let mut b = Bundle::busybox(&[]);
    b.config["root"]["readonly"] = json!(false);
    let (r, _c) = run_script(b, "touch /newfile && echo root-rw");
    assert_eq!(r.ok().stdout, "root-rw\n");
}

#[test]
fn pivot_root_hides_the_host() {
    let marker = std::env::temp_dir().join(unique("host-marker"));
    std::fs::write(&marker, "x").unwrap();
    let r = sh(&format!("ls {} 2>&1; ls /; true", marker.display())).ok();
    std::fs::remove_file(&marker).unwrap();
    assert!(r.stdout.contains("No such file"), "{r:?}");
    assert!(!r.stdout.contains("work"), "{r:?}");
}

#[test]
fn no_pivot_also_gives_the_container_its_root() {
    let b = Bundle::busybox(&["sh", "-c", "ls /; cat /proc/self/mountinfo | wc -l"]);
    let c = Container::new(b);
    let r = c.hull(&["run", "--no-pivot", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    assert!(r.stdout.contains("bin\n"), "{r:?}");
}

#[test]
fn sysctl_is_set_in_the_containers_namespace() {
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"});
    let (r, _c) = run_script(b, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax");
    assert_eq!(r.ok().stdout, "1\n4096\n");
    assert_ne!(std::fs::read_to_string("/proc/sys/kernel/msgmax").unwrap().trim(), "4096", "the host keeps its own");
}

#[test]
fn overlay_layers_write_to_the_upper_dir() {
    let mut b = Bundle::busybox(&[]);
    let (lower, upper, work) = (b.dir.join("lower"), b.dir.join("upper"), b.dir.join("work"));
    for d in [&lower, &upper, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(lower.join("base.txt"), "from lower\n").unwrap();
    b.add_mount(json!({"destination": "/layer", "type": "overlay", "source": "overlay",
        "options": [format!("lowerdir={}", lower.display()), format!("upperdir={}", upper.display()), format!("workdir={}", work.display())]}));
    let (r, _c) = run_script(b, "cat /layer/base.txt; echo new > /layer/new.txt");
    assert_eq!(r.ok().stdout, "from lower\n");
    assert_eq!(std::fs::read_to_string(upper.join("new.txt")).unwrap(), "new\n");
    assert!(!lower.join("new.txt").exists());
}

#[test]
fn cgroup_mount_shows_the_containers_own_cgroup() {
    let r = sh("ls /sys/fs/cgroup; cat /proc/self/mountinfo | grep -c ' /sys/fs/cgroup'").ok();
    assert!(r.stdout.contains("memory") || r.stdout.contains("cgroup.controllers"), "{r:?}");
}

#[test]
fn missing_cwd_is_created() {
    let mut b = Bundle::busybox(&["pwd"]);
    b.config["process"]["cwd"] = json!("/work/here");
    let c = Container::new(b);
    assert_eq!(c.run().ok().stdout, "/work/here\n");
}

#[test]
fn an_overlay_mounted_on_slash_becomes_the_root() {
    // The image's layers joined at "/" by config.json, the rootfs dir empty.
    let mut b = Bundle::busybox(&[]);
    let (lower, upper, work) = (b.dir.join("layer"), b.dir.join("upper"), b.dir.join("work"));
    std::fs::rename(b.rootfs(), &lower).unwrap();
    for d in [b.rootfs(), upper.clone(), work.clone()] {
        std::fs::create_dir_all(d).unwrap();
    }
    b.config["root"]["readonly"] = json!(false);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.insert(0, json!({"destination": "/", "type": "overlay", "source": "overlay",
        "options": [format!("lowerdir={}", lower.display()), format!("upperdir={}", upper.display()), format!("workdir={}", work.display())]}));
    let (r, _c) = run_script(b, "echo made > /new.txt; ls /proc/self >/dev/null && echo proc-ok");
    assert_eq!(r.ok().stdout, "proc-ok\n");
    assert_eq!(std::fs::read_to_string(upper.join("new.txt")).unwrap(), "made\n");
}

#[test]
fn proc_is_never_mounted_through_a_symlink() {
    // An image whose /proc is a symlink: mounting procfs through it would
    // land wherever it points (here a directory that does exist, which the
    // mount would have used before). Refused, as runc does.
    let b = Bundle::busybox(&["true"]);
    std::fs::create_dir_all(b.rootfs().join("elsewhere")).unwrap();
    std::fs::remove_dir(b.rootfs().join("proc")).unwrap();
    std::os::unix::fs::symlink("/elsewhere", b.rootfs().join("proc")).unwrap();
    let c = Container::new(b);
    let r = c.run();
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("must be mounted on ordinary directory"), "{r:?}");
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mi.contains(c.bundle.dir.to_str().unwrap()), "left a mount behind");
}

#[test]
fn a_read_only_dev_is_filled_first() {
    // A /dev tmpfs asked read-only still gets its nodes, pts, shm and
    // symlinks (they are made first; /dev turns read-only at the end).
    let mut b = Bundle::busybox(&[]);
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["destination"] == "/dev" {
            m["options"].as_array_mut().unwrap().push(json!("ro"));
        }
    }
    let (r, _c) = run_script(b, "ls /dev/null /dev/pts/ptmx /dev/shm >/dev/null && echo filled; touch /dev/x");
    assert!(r.stdout.contains("filled"), "{r:?}");
    assert!(r.stderr.contains("Read-only file system"), "{r:?}");
}

#[test]
fn no_pivot_does_not_leave_the_hosts_proc_to_mount_a_fresh_one() {
    // With --no-pivot the host's /proc and /sys stayed beneath the
    // container's root: a process that can make a user namespace could then
    // mount an unmasked procfs. hull takes them away before the move.
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["args"] =
        json!(["sh", "-c", "unshare -mrpf sh -c 'mount -t proc none /proc && echo mounted-a-fresh-proc'"]);
    // (Mapping root in the new user namespace needs CAP_SETFCAP.)
    for set in ["bounding", "permitted", "effective"] {
        b.config["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_SETFCAP"));
    }
    let c = Container::new(b);
    let r = c.hull(&["run", "--no-pivot", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert!(!r.stdout.contains("mounted-a-fresh-proc"), "{r:?}");
    assert!(r.stderr.to_lowercase().contains("permission denied"), "{r:?}");
}

#[test]
fn tmpcopyup_starts_the_tmpfs_with_the_images_content() {
    // podman's --tmpfs volumes: the tmpfs gets a copy of what the image has
    // at the destination (files, modes, owners, links), and writes stay in it.
    let mut b = Bundle::busybox(&[]);
    let data = b.rootfs().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("sub/file"), "from the image\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(data.join("sub/file"), std::fs::Permissions::from_mode(0o604)).unwrap();
    std::fs::write(data.join("rootfile"), "root's\n").unwrap();
    std::os::unix::fs::chown(data.join("sub/file"), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::symlink("sub/file", data.join("link")).unwrap();
    b.add_mount(
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid"]}),
    );
    let (r, c) = run_script(
        b,
        "grep ' /data ' /proc/self/mountinfo | cut -d' ' -f9; cat /data/link; stat -c '%a %u %g' /data/sub/file; \
         echo new > /data/rootfile && cat /data/rootfile",
    );
    assert_eq!(r.stdout, "tmpfs\nfrom the image\n604 1000 1000\nnew\n", "{r:?}");
    let image = std::fs::read_to_string(c.bundle.rootfs().join("data/rootfile")).unwrap();
    assert_eq!(image, "root's\n", "the image was written to");
}
