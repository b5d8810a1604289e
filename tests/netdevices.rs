//! `linux.netDevices`: host interfaces moved into the container's network
//! namespace (renamed, addresses, MTU and MAC kept, set up), seen from inside
//! with busybox's `ip` and from the host with iproute2's.
//!
//! Every device is one end of a veth pair made for the test (this kernel has
//! no dummy driver), with names unique to the test, deleted on drop.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hull_tests::*;
use serde_json::{json, Value};

static N: AtomicUsize = AtomicUsize::new(0);

/// `ip <args>` on the host: (success, stdout + stderr).
fn ip(args: &[&str]) -> (bool, String) {
    let o = Command::new("ip").args(args).output().expect("ip (iproute2)");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[track_caller]
fn ip_ok(args: &[&str]) -> String {
    let (ok, out) = ip(args);
    assert!(ok, "ip {args:?}: {out}");
    out
}

/// A veth pair on the host: `a` is the end given to the container, `b` its
/// peer. Deleting either end deletes both, wherever `a` went.
struct Veth {
    a: String,
    b: String,
    /// A /30 of its own: .1 for `b`, .2 for `a`.
    net: String,
}

impl Veth {
    fn new() -> Veth {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let base = format!("hn{}x{n}", std::process::id() % 100000);
        let v = Veth {
            a: format!("{base}a"),
            b: format!("{base}b"),
            net: format!("10.{}.{n}", 200 + std::process::id() % 50),
        };
        ip_ok(&["link", "add", &v.a, "type", "veth", "peer", "name", &v.b]);
        v
    }

    fn ipv4(&self, host: u8) -> String {
        format!("{}.{host}", self.net)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.a]);
        let _ = ip(&["link", "del", &self.b]);
    }
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new() -> NetNs {
        let ns = NetNs(unique("hull-netdev"));
        ip_ok(&["netns", "add", &ns.0]);
        ns
    }

    fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }

    fn ip(&self, args: &[&str]) -> (bool, String) {
        let mut full = vec!["netns", "exec", &self.0, "ip"];
        full.extend_from_slice(args);
        ip(&full)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.0]);
    }
}

fn join_netns(b: &mut Bundle, path: &str) {
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "network" {
            ns["path"] = json!(path);
        }
    }
}

/// The flags of `ip addr`/`ip link` output for one device: `<BROADCAST,UP,…>`.
fn flags(out: &str) -> Vec<String> {
    let start = out.find('<').expect("flags");
    let end = out[start..].find('>').expect("flags") + start;
    out[start + 1..end].split(',').map(String::from).collect()
}

/// Polls up to 5 s for `cond`.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn devices_move_in_renamed_or_not_with_addresses_mtu_and_mac_and_come_up() {
    let (one, two) = (Veth::new(), Veth::new());
    ip_ok(&["link", "set", &one.a, "mtu", "1789", "address", "02:11:22:33:44:55"]);
    ip_ok(&["addr", "add", &format!("{}/30", one.ipv4(2)), "dev", &one.a]);
    ip_ok(&["addr", "add", &format!("{}/30", one.ipv4(1)), "dev", &one.a, "label", &format!("{}:web", one.a)]);
    ip_ok(&["addr", "add", "2001:db8:4d::2/64", "dev", &one.a]);
    // Not of global scope: the spec keeps only global ones.
    ip_ok(&["addr", "add", "127.0.0.77/8", "scope", "host", "dev", &one.a]);
    ip_ok(&["addr", "add", &format!("{}/30", two.ipv4(2)), "dev", &two.a]);
    // Down on the host: the spec wants every moved device up.
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["netDevices"] = json!({ &one.a: {"name": "ctr0"}, &two.a: {} });
    let script = format!("ls /sys/class/net; echo ---; ip addr show dev ctr0; echo ---; ip addr show dev {}", two.a);
    let (r, _c) = run_script(b, &script);
    assert_eq!(r.code, 0, "{r:?}");
    let parts: Vec<&str> = r.stdout.split("---\n").collect();
    let devices: Vec<&str> = parts[0].lines().collect();
    assert!(devices.contains(&"ctr0") && devices.contains(&two.a.as_str()), "{r:?}");
    assert!(!devices.contains(&one.a.as_str()), "renamed: {r:?}");
    let ctr0 = parts[1];
    assert!(ctr0.contains("mtu 1789"), "{ctr0}");
    assert!(ctr0.contains("link/ether 02:11:22:33:44:55"), "{ctr0}");
    assert!(flags(ctr0).contains(&"UP".to_string()), "{ctr0}");
    assert!(ctr0.contains(&format!("inet {}/30 ", one.ipv4(2))), "{ctr0}");
    assert!(
        ctr0.contains(&format!("inet {}/30 scope global secondary ctr0:web", one.ipv4(1))),
        "label renamed: {ctr0}"
    );
    assert!(ctr0.contains("inet6 2001:db8:4d::2/64 scope global"), "{ctr0}");
    assert!(!ctr0.contains("127.0.0.77"), "a host-scope address stays behind: {ctr0}");
    let kept = parts[2];
    assert!(flags(kept).contains(&"UP".to_string()), "{kept}");
    assert!(kept.contains(&format!("inet {}/30 ", two.ipv4(2))), "{kept}");
}

#[test]
fn the_host_reaches_the_container_through_the_moved_veth_until_delete_destroys_it() {
    let v = Veth::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(1)), "dev", &v.b]);
    ip_ok(&["link", "set", &v.b, "up"]);
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "eth0"} });
    let c = Container::new(b);
    c.create().ok();
    // Moved before create returns: gone from the host, there inside.
    assert!(!ip(&["link", "show", &v.a]).0, "{} is still on the host", v.a);
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["exec", "{id}", "ip", "addr", "show", "dev", "eth0"]).ok();
    assert!(r.stdout.contains(&format!("inet {}/30", v.ipv4(2))), "{r:?}");
    let ping = Command::new("busybox").args(["ping", "-c", "1", "-W", "3", &v.ipv4(2)]).output().unwrap();
    assert!(ping.status.success(), "the host cannot reach the container: {ping:?}");
    // The spec forbids moving it out: the namespace dies with the
    // container, and a virtual device with it (the veth's host end too).
    c.hull(&["delete", "--force", "{id}"]).ok();
    assert!(eventually(|| !ip(&["link", "show", &v.b]).0), "the veth outlived the container's namespace");
    assert!(!ip(&["link", "show", &v.a]).0);
}

#[test]
fn in_a_namespace_joined_by_path_a_template_name_is_numbered_and_the_device_stays_after_delete() {
    let v = Veth::new();
    let ns = NetNs::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let mut b = Bundle::busybox(&["sleep", "100"]);
    join_netns(&mut b, &ns.path());
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "net%d"} });
    let c = Container::new(b);
    c.create().ok();
    let (ok, inside) = ns.ip(&["addr", "show", "dev", "net0"]);
    assert!(ok, "{inside}");
    assert!(inside.contains(&format!("inet {}/30", v.ipv4(2))), "{inside}");
    c.hull(&["delete", "--force", "{id}"]).ok();
    c.assert_gone();
    // The namespace's owner decides what becomes of it, not hull.
    let (ok, after) = ns.ip(&["addr", "show", "dev", "net0"]);
    assert!(ok && after.contains(&format!("inet {}/30", v.ipv4(2))), "{after}");
    assert!(!ip(&["link", "show", &v.a]).0);
}

#[test]
fn a_missing_device_fails_in_one_line_and_nothing_moves() {
    let v = Veth::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let missing = format!("{}zz", &v.a[..v.a.len() - 1]);
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["netDevices"] = json!({ &v.a: {}, &missing: {} });
    let c = Container::new(b);
    let err = c.create_fails(&["linux.netDevices", &missing]);
    assert!(err.contains("no such network device"), "{err}");
    let host = ip_ok(&["addr", "show", "dev", &v.a]);
    assert!(host.contains(&format!("inet {}/30", v.ipv4(2))), "the other device must stay as it was: {host}");
}

#[test]
fn a_name_taken_in_the_container_fails_before_anything_moves() {
    let v = Veth::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "lo"} });
    let c = Container::new(b);
    c.create_fails(&[&format!("linux.netDevices.{}", v.a), "\"lo\"", "already exists"]);
    let host = ip_ok(&["addr", "show", "dev", &v.a]);
    assert!(host.contains(&format!("inet {}/30", v.ipv4(2))), "{host}");
}

#[test]
fn net_devices_without_a_network_namespace_or_with_a_bad_name_are_refused() {
    let v = Veth::new();
    let mut b = Bundle::busybox(&["true"]);
    b.namespaces(&["pid", "mount", "uts", "ipc"]);
    b.config["linux"]["netDevices"] = json!({ &v.a: {} });
    Container::new(b).create_fails(&["linux.netDevices", "network namespace"]);
    let mut b = Bundle::busybox(&["true"]);
    join_netns(&mut b, &format!("/proc/{}/ns/net", std::process::id()));
    b.config["linux"]["netDevices"] = json!({ &v.a: {} });
    Container::new(b).create_fails(&["linux.netDevices", "host's"]);
    let mut b = Bundle::busybox(&["true"]);
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "a/b"} });
    Container::new(b).create_fails(&[&format!("linux.netDevices.{}.name", v.a)]);
    assert!(ip(&["link", "show", &v.a]).0, "still on the host");
}

#[test]
fn a_device_moves_into_a_network_namespace_owned_by_a_new_user_namespace() {
    let v = Veth::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let mut b = Bundle::busybox(&[]);
    new_user_namespace(&mut b);
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "ctr0"} });
    let (r, _c) = run_script(b, "readlink /proc/self/ns/user; ip addr show dev ctr0");
    assert_eq!(r.code, 0, "{r:?}");
    let host_userns = std::fs::read_link("/proc/self/ns/user").unwrap();
    assert!(!r.stdout.starts_with(host_userns.to_str().unwrap()), "no user namespace: {r:?}");
    assert!(r.stdout.contains(&format!("inet {}/30", v.ipv4(2))), "{r:?}");
    assert!(flags(&r.stdout).contains(&"UP".to_string()), "{r:?}");
}

#[test]
fn a_device_moves_into_a_network_namespace_made_after_joining_a_user_namespace() {
    // The init joins the sandbox's user namespace by path and only then
    // unshares its network namespace: it asks hull's parent for the move.
    let v = Veth::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let mut sandbox = Bundle::busybox(&["sleep", "100"]);
    new_user_namespace(&mut sandbox);
    let sandbox = Container::new(sandbox);
    sandbox.create().ok();
    let pid = sandbox.pid();
    let mut b = Bundle::busybox(&[]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "ctr0"} });
    let (r, _c) = run_script(b, "ls /sys/class/net; ip addr show dev ctr0");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("inet {}/30", v.ipv4(2))), "{r:?}");
    // The sandbox's own network namespace did not get it.
    let pid = pid.to_string();
    let in_sandbox = Command::new("nsenter").args(["-t", &pid, "-n", "ip", "-o", "link"]).output().unwrap();
    assert!(in_sandbox.status.success(), "{in_sandbox:?}");
    assert!(!String::from_utf8_lossy(&in_sandbox.stdout).contains("ctr0"), "{in_sandbox:?}");
}

/// A new user namespace mapping root to root: what matters is that the
/// network namespace belongs to it.
fn new_user_namespace(b: &mut Bundle) {
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
    b.config["linux"]["uidMappings"] = map.clone();
    b.config["linux"]["gidMappings"] = map;
}

#[test]
fn a_user_namespaced_sandbox_gets_its_device_in_the_network_namespace_given_by_path() {
    // A Kubernetes pod with hostUsers: false: a new user namespace, the
    // CNI's network namespace by path (joined before the user namespace is made).
    let v = Veth::new();
    let ns = NetNs::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let mut b = Bundle::busybox(&[]);
    new_user_namespace(&mut b);
    join_netns(&mut b, &ns.path());
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "eth1"} });
    let (r, _c) = run_script(b, "ip addr show dev eth1");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("inet {}/30", v.ipv4(2))), "{r:?}");
    let (ok, inside) = ns.ip(&["-o", "link", "show", "eth1"]);
    assert!(ok, "{inside}");
}

#[test]
fn a_network_namespace_made_after_a_user_namespace_made_after_joins_gets_the_device() {
    // IPC by path forces the init to join first and unshare the user
    // namespace, then the network namespace: it asks for the move.
    let v = Veth::new();
    ip_ok(&["addr", "add", &format!("{}/30", v.ipv4(2)), "dev", &v.a]);
    let mut b = Bundle::busybox(&[]);
    new_user_namespace(&mut b);
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "ipc" {
            ns["path"] = json!(format!("/proc/{}/ns/ipc", std::process::id()));
        }
    }
    // The host's IPC namespace has no mqueue at /dev/mqueue to bind.
    b.config["mounts"].as_array_mut().unwrap().retain(|m| m["type"] != "mqueue");
    b.config["linux"]["netDevices"] = json!({ &v.a: {"name": "ctr0"} });
    let (r, _c) = run_script(b, "ip addr show dev ctr0");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("inet {}/30", v.ipv4(2))), "{r:?}");
}

#[test]
fn features_say_net_devices_are_enabled() {
    let out = Command::new(hull_bin()).arg("features").output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["linux"]["netDevices"]["enabled"], json!(true), "{v}");
}

#[test]
fn a_rootless_container_may_not_take_host_devices() {
    let v = Veth::new();
    let mut b = Bundle::busybox(&["true"]);
    b.config = serde_json::from_str(&libcontainer::spec::rootless_spec_json()).unwrap();
    b.config["process"]["terminal"] = json!(false);
    b.config["linux"]["uidMappings"][0]["hostID"] = json!(rootless_user());
    b.config["linux"]["gidMappings"][0]["hostID"] = json!(ROOTLESS_UID);
    b.config["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "network"}));
    b.config["linux"]["netDevices"] = json!({ &v.a: {} });
    let c = Container::new(b);
    let r = c.hull_rootless(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("hull: linux.netDevices") && r.stderr.contains("root"), "{r:?}");
    assert!(ip(&["link", "show", &v.a]).0, "still on the host");
}
