//! Helpers for hull's integration tests: a busybox bundle built from the
//! static busybox on the host and hull's own default spec, a container handle
//! that cleans up after itself (even when the test fails), and leak checks.
//!
//! Every test gets its own `--root` and a unique id, so tests run in parallel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The hull binary under test: `$HULL` or the one next to this test's target dir.
pub fn hull_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HULL") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<test>-hash -> target/<profile>/hull
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let candidate = profile_dir.join("hull");
    assert!(candidate.exists(), "{} not built: run `cargo build -p hull` (or set HULL=)", candidate.display());
    candidate
}

/// A static busybox (the rootfs has no libc).
fn busybox() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        let out = Command::new("file").arg("-L").arg(p).output();
        let is_static = match out {
            Ok(o) => String::from_utf8_lossy(&o.stdout).contains("statically linked"),
            Err(_) => Path::new(p).exists(),
        };
        if Path::new(p).exists() && is_static {
            return PathBuf::from(p);
        }
    }
    panic!("a static busybox is needed: apt-get install busybox-static");
}

/// A rootfs template, built once in the target directory (next to the hull
/// binary); bundles hard-link it.
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let final_dir = hull_bin().parent().unwrap().join("test-rootfs");
        if final_dir.join("bin/sh").exists() {
            return final_dir;
        }
        let dir = final_dir.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(busybox(), bin.join("busybox")).unwrap();
        let list = Command::new(bin.join("busybox")).arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
            }
        }
        for d in ["proc", "sys", "dev", "tmp", "etc", "root", "home/user"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(
            dir.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(dir.join("etc/group"), "root:x:0:\nuser:x:1000:\n").unwrap();
        // Another test binary may have won the race: either copy is complete.
        if std::fs::rename(&dir, &final_dir).is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        final_dir
    })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            copy_tree(&src, &dst);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A unique name for this test run: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A bundle directory: `config.json` + `rootfs/`.
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    /// busybox rootfs and hull's default spec, with no terminal and `args`.
    pub fn busybox(args: &[&str]) -> Bundle {
        let dir = std::env::temp_dir().join(unique("hull-bundle"));
        copy_tree(template(), &dir.join("rootfs"));
        let mut config = libcontainer::spec::default_spec();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        Bundle { dir, config }
    }

    /// A new bundle (own rootfs copy) with the same config.
    pub fn clone_config(&self) -> Bundle {
        let mut b = Bundle::busybox(&[]);
        b.config = self.config.clone();
        b
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn write(&self) {
        std::fs::write(self.dir.join("config.json"), serde_json::to_vec_pretty(&self.config).unwrap()).unwrap();
    }

    /// Makes `/probe` (tests/support/probe.rs) runnable inside: the binary
    /// and the host's C library, bound read-only.
    pub fn with_probe(&mut self) {
        // target/<profile>/deps/<test>-hash -> target/<profile>/hull-probe
        let exe = std::env::current_exe().expect("current_exe");
        let probe = exe.parent().and_then(Path::parent).expect("target dir").join("hull-probe");
        assert!(probe.exists(), "{} not built", probe.display());
        std::fs::write(self.rootfs().join("probe"), "").unwrap();
        self.add_mount(json!({"destination": "/probe", "type": "bind", "source": probe, "options": ["bind", "ro"]}));
        for lib in ["/lib64", "/lib/x86_64-linux-gnu"] {
            std::fs::create_dir_all(self.rootfs().join(lib.trim_start_matches('/'))).unwrap();
            self.add_mount(json!({"destination": lib, "type": "bind", "source": lib, "options": ["rbind", "ro"]}));
        }
    }

    /// Appends a mount to config.json's list.
    pub fn add_mount(&mut self, m: Value) {
        self.config["mounts"].as_array_mut().unwrap().push(m);
    }

    /// Adds a namespace to config.json's list (if it is not there already).
    pub fn add_namespace(&mut self, kind: &str) {
        let list = self.config["linux"]["namespaces"].as_array_mut().unwrap();
        if !list.iter().any(|n| n["type"] == kind) {
            list.push(json!({ "type": kind }));
        }
    }

    /// Sets the namespaces list from type names.
    pub fn namespaces(&mut self, kinds: &[&str]) {
        self.config["linux"]["namespaces"] = Value::Array(kinds.iter().map(|k| json!({ "type": k })).collect());
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Never follow into something still mounted: unmount whatever is at
        // or below the rootfs (a container without a mount namespace of its
        // own mounts there in the host's), last mounted first.
        let rootfs = self.rootfs().canonicalize().unwrap_or_else(|_| self.rootfs());
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let points: Vec<&str> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| Path::new(p).starts_with(&rootfs))
            .collect();
        for p in points.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(p).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a hull command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command with stdout/stderr in temporary files and waits for it
/// (not for whoever inherited its descriptors).
pub fn run_to_files(mut cmd: Command) -> Run {
    let base = std::env::temp_dir().join(unique("hull-out"));
    let (out, err) = (base.with_extension("out"), base.with_extension("err"));
    cmd.stdout(std::fs::File::create(&out).unwrap()).stderr(std::fs::File::create(&err).unwrap());
    let status = cmd.status().expect("spawn");
    let read = |p: &Path| {
        let s = std::fs::read_to_string(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        s
    };
    Run { code: status.code().unwrap_or(-1), stdout: read(&out), stderr: read(&err) }
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }
}

/// One container id under its own `--root`; deleted (forcefully) on drop.
pub struct Container {
    pub id: String,
    pub root: PathBuf,
    pub bundle: Bundle,
}

impl Container {
    pub fn new(bundle: Bundle) -> Container {
        let id = unique("hull-test");
        let root = std::env::temp_dir().join(format!("{id}-root"));
        bundle.write();
        Container { id, root, bundle }
    }

    /// `hull --root R <args…>` with the container id substituted for `{id}`.
    /// Output goes through files, not pipes: a created container keeps the
    /// caller's stdio open, so a pipe would only see EOF when it exits.
    pub fn hull(&self, args: &[&str]) -> Run {
        run_to_files(self.hull_cmd(args))
    }

    pub fn hull_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(hull_bin());
        c.arg("--root").arg(&self.root);
        for a in args {
            c.arg(if *a == "{id}" { self.id.as_str() } else { a });
        }
        c.stdin(Stdio::null());
        c
    }

    /// `hull run --bundle B ID` in the foreground.
    pub fn run(&self) -> Run {
        self.hull(&["run", "--bundle", self.bundle.dir.to_str().unwrap(), "{id}"])
    }

    pub fn create(&self) -> Run {
        self.hull(&["create", "--bundle", self.bundle.dir.to_str().unwrap(), "{id}"])
    }

    /// `create` fails with exit 1 and one line starting `hull: ` that holds
    /// every needle, and leaves nothing behind; returns the line.
    #[track_caller]
    pub fn create_fails(&self, needles: &[&str]) -> String {
        let r = self.create();
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
        assert!(r.stderr.starts_with("hull: "), "{r:?}");
        for n in needles {
            assert!(r.stderr.contains(n), "{n:?} not in {r:?}");
        }
        self.assert_gone();
        r.stderr
    }

    pub fn state(&self) -> Value {
        let r = self.hull(&["state", "{id}"]).ok();
        serde_json::from_str(&r.stdout).expect("state JSON")
    }

    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap_or("").to_string()
    }

    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap_or(0) as i32
    }

    /// Waits until the container reaches `status` (up to 5 s).
    #[track_caller]
    pub fn wait_status(&self, status: &str) {
        for _ in 0..500 {
            let r = self.hull(&["state", "{id}"]);
            if r.code == 0 && serde_json::from_str::<Value>(&r.stdout).map(|v| v["status"] == status).unwrap_or(false) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("container {} never became {status}: {:?}", self.id, self.hull(&["state", "{id}"]));
    }

    /// Asserts that nothing of the container is left on the host.
    #[track_caller]
    pub fn assert_gone(&self) {
        assert!(!self.root.join(&self.id).exists(), "state dir left behind");
        let cgs = cgroup_dirs_named(&self.id);
        assert!(cgs.is_empty(), "cgroup dirs left behind: {cgs:?}");
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let bundle = self.bundle.dir.to_string_lossy().into_owned();
        assert!(!mi.contains(&bundle), "mounts left behind under {bundle}");
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.hull_cmd(&["delete", "--force", "{id}"]).stderr(Stdio::null()).output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Every directory called `name` in any cgroup hierarchy (depth ≤ 4).
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, depth: usize, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                if e.file_name() == name {
                    out.push(e.path());
                }
                walk(&e.path(), name, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), name, 4, &mut out);
    out
}

/// Runs busybox `sh -c script` in a fresh container built from `bundle`
/// (already adjusted by the caller) and returns the result.
pub fn run_script(mut bundle: Bundle, script: &str) -> (Run, Container) {
    bundle.config["process"]["args"] = json!(["sh", "-c", script]);
    let c = Container::new(bundle);
    let r = c.run();
    (r, c)
}

/// `sh -c script` in a default busybox container.
pub fn sh(script: &str) -> Run {
    run_script(Bundle::busybox(&["true"]), script).0
}

/// Is the kernel namespace file `ns` of pid the same as ours?
pub fn same_ns(pid: i32, ns: &str) -> bool {
    let a = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
    let b = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
    a == b
}

/// Waits (up to 5 s) until `path` exists.
#[track_caller]
pub fn wait_for_file(path: &Path) {
    for _ in 0..500 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{} never appeared", path.display());
}

/// An unprivileged user for the rootless tests: created on first use (with
/// /etc/subuid and /etc/subgid ranges), uid and gid 4711.
pub const ROOTLESS_UID: u32 = 4711;

pub fn rootless_user() -> u32 {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let exists = Command::new("id")
            .arg("hull-rootless")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        if !exists {
            let ok = Command::new("useradd")
                .args(["-u", "4711", "-U", "-M", "-s", "/bin/sh", "hull-rootless"])
                .status()
                .unwrap()
                .success();
            assert!(ok, "useradd hull-rootless");
        }
        for f in ["/etc/subuid", "/etc/subgid"] {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            if !text.lines().any(|l| l.starts_with("hull-rootless:")) {
                let mut text = text;
                text.push_str("hull-rootless:4000000:65536\n");
                std::fs::write(f, text).unwrap();
            }
        }
    });
    ROOTLESS_UID
}

/// The first host id of the rootless user's range in /etc/subuid.
pub fn rootless_subuid_start() -> u32 {
    rootless_user();
    let text = std::fs::read_to_string("/etc/subuid").unwrap();
    let line = text.lines().find(|l| l.starts_with("hull-rootless:")).unwrap();
    line.split(':').nth(1).unwrap().parse().unwrap()
}

impl Container {
    /// `hull <args>` as the unprivileged user, with its own --root.
    pub fn hull_rootless(&self, args: &[&str]) -> Run {
        let uid = rootless_user().to_string();
        let _ = std::fs::create_dir_all(&self.root);
        std::os::unix::fs::chown(&self.root, Some(ROOTLESS_UID), Some(ROOTLESS_UID)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &uid, "--regid", &uid, "--clear-groups", "--"]);
        c.arg(hull_bin()).arg("--root").arg(&self.root);
        for a in args {
            c.arg(if *a == "{id}" { self.id.as_str() } else { a });
        }
        c.env("XDG_RUNTIME_DIR", &self.root);
        c.stdin(Stdio::null());
        run_to_files(c)
    }
}

/// A dbus-daemon of a test's own (no systemd on it), for `--systemd-cgroup`
/// on this systemd-less host: hull finds it through `DBUS_SYSTEM_BUS_ADDRESS`
/// ([`PrivateBus::address`]). Killed when dropped.
pub struct PrivateBus {
    dir: PathBuf,
    daemon: std::process::Child,
}

impl PrivateBus {
    pub fn start() -> PrivateBus {
        // Only [-0-9A-Za-z_/.] may stand unescaped in a D-Bus address.
        let dir = std::env::temp_dir().join(unique("hull-test-bus"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
                 <busconfig><type>system</type><listen>unix:path={}/bus</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow send_destination=\"*\"/><allow own=\"*\"/><allow user=\"*\"/></policy>\
                 </busconfig>\n",
                dir.display()
            ),
        )
        .unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--nopidfile"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon) must be installed");
        let bus = PrivateBus { dir, daemon };
        // The socket file appears at bind, before listen: wait for a connection.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(bus.socket()).is_err() {
            assert!(std::time::Instant::now() < until, "dbus-daemon did not start");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        bus
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("bus")
    }

    /// The value for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> String {
        format!("unix:path={}", self.socket().display())
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
