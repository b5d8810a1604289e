//! Mount propagation as Kubernetes uses it: a Bidirectional volume (a bind
//! with `rshared` and rootfsPropagation `rshared`) shows the container's
//! mounts to the host; HostToContainer (`rslave`) shows the host's mounts to
//! the container after it started; and a plain bind shows nothing of the
//! container's to the host, user namespace or not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hull_tests::*;
use serde_json::json;

/// A host directory made a shared mount of its own (as kubelet makes
/// /var/lib/kubelet), unmounted with everything on it when dropped.
struct SharedDir(PathBuf);

impl SharedDir {
    fn new(dir: &Path) -> SharedDir {
        std::fs::create_dir_all(dir).unwrap();
        let ok =
            |args: &[&str]| assert!(Command::new("mount").args(args).status().unwrap().success(), "mount {args:?}");
        let d = dir.to_str().unwrap();
        ok(&["--bind", d, d]);
        ok(&["--make-shared", d]);
        SharedDir(dir.to_path_buf())
    }

    fn host_sees_mount_at(&self, sub: &str) -> bool {
        let point = self.0.join(sub);
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(point.to_str().unwrap()))
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-R", "-l"]).arg(&self.0).status();
    }
}

fn with_volume(b: &mut Bundle, vol: &Path, options: &[&str], root_propagation: &str) {
    b.add_mount(json!({"destination": "/vol", "type": "bind", "source": vol, "options": options}));
    b.config["linux"]["rootfsPropagation"] = json!(root_propagation);
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_SYS_ADMIN"));
    }
}

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..300 {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

const MOUNT_INSIDE: &str =
    "mkdir -p /vol/sub && mount -t tmpfs -o size=1m tmpfs /vol/sub && touch /vol/sub/made-inside; sleep 100";

#[test]
fn bidirectional_volume_shows_the_containers_mount_on_the_host() {
    // Before hull applied rootfsPropagation first, the bind got a peer
    // group of its own and the host never saw the tmpfs.
    let mut b = Bundle::busybox(&["sh", "-c", MOUNT_INSIDE]);
    let vol = SharedDir::new(&b.dir.join("vol"));
    with_volume(&mut b, &vol.0, &["rbind", "rshared"], "rshared");
    let c = Container::new(b);
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let seen = wait_until(|| vol.0.join("sub/made-inside").exists());
    assert!(seen && vol.host_sees_mount_at("sub"), "the host does not see the container's mount");
    c.hull(&["delete", "--force", "{id}"]).ok();
}

#[test]
fn host_to_container_volume_shows_the_hosts_later_mounts_inside() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    let vol = SharedDir::new(&b.dir.join("vol"));
    with_volume(&mut b, &vol.0, &["rbind", "rslave"], "rslave");
    let c = Container::new(b);
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    let sub = vol.0.join("later");
    std::fs::create_dir_all(&sub).unwrap();
    assert!(Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&sub).status().unwrap().success());
    std::fs::write(sub.join("from-host"), "hello\n").unwrap();
    let r = c.hull(&["exec", "{id}", "cat", "/vol/later/from-host"]);
    assert_eq!(r.stdout, "hello\n", "{r:?}");
    c.hull(&["delete", "--force", "{id}"]).ok();
}

#[test]
fn a_plain_bind_keeps_the_containers_mounts_in_the_container() {
    // Without rshared nothing made inside may reach the host — also in a
    // user namespace, where hull's parent makes the bind in the host's mount
    // namespace (as a peer of the host's mounts) and must make it a slave.
    for userns in [false, true] {
        let mut b = Bundle::busybox(&["sh", "-c", MOUNT_INSIDE]);
        let vol = SharedDir::new(&b.dir.join("vol"));
        b.add_mount(json!({"destination": "/vol", "type": "bind", "source": &vol.0, "options": ["rbind"]}));
        for set in ["bounding", "effective", "permitted"] {
            b.config["process"]["capabilities"][set].as_array_mut().unwrap().push(json!("CAP_SYS_ADMIN"));
        }
        if userns {
            b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
            b.config["linux"]["uidMappings"] = map.clone();
            b.config["linux"]["gidMappings"] = map;
            b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup");
        }
        let c = Container::new(b);
        c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
        let made = wait_until(|| c.hull(&["exec", "{id}", "test", "-e", "/vol/sub/made-inside"]).code == 0);
        assert!(made, "userns={userns}: the container could not mount");
        assert!(!vol.host_sees_mount_at("sub"), "userns={userns}: the container's mount reached the host");
        c.hull(&["delete", "--force", "{id}"]).ok();
    }
}
