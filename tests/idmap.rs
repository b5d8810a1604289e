//! Idmapped mounts (runtime-spec 1.2: `idmap`/`ridmap`, mount-level
//! uid/gid mappings), as Kubernetes' user-namespaced pods use them for
//! volumes: files keep their owners on disk and appear to the container
//! through the mapping.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use hull_tests::*;
use serde_json::json;

const HOST: u32 = 340000;

fn userns_bundle(script: &str) -> Bundle {
    let mut b = Bundle::busybox(&["sh", "-c", script]);
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": HOST, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": HOST, "size": 65536}]);
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "cgroup");
    std::fs::create_dir(b.rootfs().join("vol")).unwrap(); // (the mapped root cannot make it)
    b
}

/// A host directory with a file of root's and one of uid/gid 1000.
fn volume(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("roots"), "r\n").unwrap();
    std::fs::write(dir.join("users"), "u\n").unwrap();
    std::os::unix::fs::chown(dir.join("users"), Some(1000), Some(1000)).unwrap();
}

#[test]
fn idmap_shows_the_hosts_owners_through_the_containers_mapping() {
    // Without idmap, root's file would be nobody's (65534) inside; a file
    // made inside belongs to the host's root on disk, not to uid HOST.
    let mut b = userns_bundle("stat -c '%u:%g' /vol/roots /vol/users; touch /vol/made-inside");
    let vol = b.dir.join("vol");
    volume(&vol);
    b.add_mount(json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "idmap"]}));
    let c = Container::new(b);
    let r = c.run().ok();
    assert_eq!(r.stdout, "0:0\n1000:1000\n", "{r:?}");
    let made = std::fs::metadata(vol.join("made-inside")).unwrap();
    assert_eq!((made.uid(), made.gid()), (0, 0));
    let before = std::fs::metadata(vol.join("users")).unwrap();
    assert_eq!((before.uid(), before.gid()), (1000, 1000), "owners on disk changed");
}

#[test]
fn a_mounts_own_mapping_is_used_and_ridmap_reaches_submounts() {
    // The mount maps disk id 0 to host id HOST+5: root's files show as 5
    // inside. With ridmap a tmpfs mounted in the source shows the same;
    // with idmap (not recursive) it stays unmapped.
    for (option, sub_owner) in [("ridmap", "5:5"), ("idmap", "65534:65534")] {
        let mut b = userns_bundle("stat -c '%u:%g' /vol/roots /vol/sub/file");
        let vol = b.dir.join("vol");
        volume(&vol);
        std::fs::create_dir_all(vol.join("sub")).unwrap();
        let sub = vol.join("sub");
        assert!(Command::new("mount").args(["-t", "tmpfs", "tmpfs"]).arg(&sub).status().unwrap().success());
        std::fs::write(sub.join("file"), "f\n").unwrap();
        let map = json!([{"containerID": 0, "hostID": HOST + 5, "size": 1}]);
        b.add_mount(json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", option],
            "uidMappings": map, "gidMappings": map}));
        let c = Container::new(b);
        let r = c.run();
        let _ = Command::new("umount").arg(&sub).status();
        let r = r.ok();
        assert_eq!(r.stdout, format!("5:5\n{sub_owner}\n"), "{option}: {r:?}");
    }
}

#[test]
fn a_tmpfs_is_idmapped_with_its_options() {
    // The parent makes the tmpfs (its root owned by disk id 0) and idmaps
    // it with the mount's mapping, disk 0 -> host HOST+5: the container
    // (0 -> HOST) sees its root owned by 5. A tmpfs the init mounts itself
    // belongs to the container's root (0:0).
    let mut b = userns_bundle("stat -c '%u:%g %a' /scratch; grep ' /scratch ' /proc/self/mountinfo");
    let map = json!([{"containerID": 0, "hostID": HOST + 5, "size": 1}]);
    b.add_mount(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
        "options": ["idmap", "nosuid", "size=1m", "mode=1777"], "uidMappings": map, "gidMappings": map}));
    std::fs::create_dir(b.rootfs().join("scratch")).unwrap();
    let c = Container::new(b);
    let r = c.run().ok();
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("5:5 1777"), "{r:?}");
    let mountinfo = lines.next().unwrap_or_default();
    for want in ["idmapped", "nosuid", "size=1024k", " - tmpfs "] {
        assert!(mountinfo.contains(want), "{want} missing: {mountinfo}");
    }
}
