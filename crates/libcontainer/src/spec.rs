//! Loading and validating `config.json`.
//!
//! Every problem is reported with the JSON path of the field at fault (and the
//! line/column where serde knows it), so that a typo in a 300-line config is
//! found in one look.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{file}: {field}{msg} (line {line}, column {column})")]
    Parse { file: String, field: String, msg: String, line: usize, column: usize },
    #[error("config.json: {field}: {msg}")]
    Invalid { field: String, msg: String },
}

fn invalid(field: impl Into<String>, msg: impl Into<String>) -> SpecError {
    SpecError::Invalid { field: field.into(), msg: msg.into() }
}

/// The configuration `hull spec` writes: the same container as `runc spec`
/// (busybox-friendly: `sh`, a read-only rootfs, the usual namespaces, masked
/// and read-only kernel paths), named for hull. On a pure cgroup v2 host a
/// cgroup namespace is added ([`default_spec_json`]).
pub const DEFAULT_SPEC_JSON: &str = r#"{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "hull",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}
"#;

/// The default configuration for this host, as `hull spec` writes it: as
/// runc's, it has a cgroup namespace only on a pure cgroup v2 host. On v1 and
/// hybrid hosts the container sees its cgroup paths from the host's root (an
/// exec'd process's /proc/self/cgroup names the container's cgroup, which
/// scripts and runc's own tests look for); a cgroup namespace there is the
/// config's choice.
pub fn default_spec_json() -> String {
    let pure_v2 = matches!(crate::cgroups::detect(), Ok(crate::cgroups::Layout::V2 { .. }));
    if pure_v2 {
        with_cgroup_namespace(DEFAULT_SPEC_JSON)
    } else {
        DEFAULT_SPEC_JSON.to_string()
    }
}

/// The default spec's text with a cgroup namespace after the mount one,
/// keeping runc's layout (tabs, field order) that a Value would lose.
fn with_cgroup_namespace(text: &str) -> String {
    const MOUNT_NS: &str = "\t\t\t{\n\t\t\t\t\"type\": \"mount\"\n\t\t\t}\n";
    const CGROUP_NS: &str = "\t\t\t{\n\t\t\t\t\"type\": \"cgroup\"\n\t\t\t}\n";
    text.replacen(MOUNT_NS, &format!("{},\n{CGROUP_NS}", MOUNT_NS.trim_end()), 1)
}

/// The default configuration as a value, for callers that adjust it (tests,
/// `spec --rootless`): [`default_spec_json`]'s, for this host.
pub fn default_spec() -> serde_json::Value {
    serde_json::from_str(&default_spec_json()).expect("the built-in default spec is valid JSON")
}

/// `hull spec --rootless`: the default container for an unprivileged user —
/// its own user namespace mapping the caller to root, no network namespace,
/// the host's /sys bound read-only (a fresh sysfs needs a network namespace
/// the user owns), no cgroup mount or resources (nothing is delegated).
pub fn rootless_spec_json() -> String {
    let mut v = default_spec();
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let linux = &mut v["linux"];
    if let Some(ns) = linux["namespaces"].as_array_mut() {
        ns.retain(|n| n["type"] != "network");
        ns.push(serde_json::json!({"type": "user"}));
    }
    linux["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    if let Some(o) = linux.as_object_mut() {
        o.remove("resources");
    }
    if let Some(mounts) = v["mounts"].as_array_mut() {
        mounts.retain(|m| m["type"] != "cgroup");
        for m in mounts.iter_mut() {
            if m["type"] == "sysfs" {
                *m = serde_json::json!({
                    "destination": "/sys", "type": "none", "source": "/sys",
                    "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]
                });
            }
            if m["type"] == "devpts" {
                if let Some(opts) = m["options"].as_array_mut() {
                    opts.retain(|o| o != "gid=5");
                }
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.push('\n');
    text
}

/// An unprivileged caller cannot create namespaces outside a user namespace:
/// when config.json has none, give the container one that maps the caller to
/// root (what `spec --rootless` would have written), as crun does.
pub fn add_implicit_user_namespace(spec: &mut Spec) {
    use oci_spec::runtime::LinuxNamespace;
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    if namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User) {
        return;
    }
    let mut userns = LinuxNamespace::default();
    userns.set_typ(LinuxNamespaceType::User);
    namespaces.push(userns);
    linux.set_namespaces(Some(namespaces));
    let map = |host: u32| -> Vec<LinuxIdMapping> {
        serde_json::from_value(serde_json::json!([{"containerID": 0, "hostID": host, "size": 1}])).unwrap_or_default()
    };
    if linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
        linux.set_uid_mappings(Some(map(nix::unistd::geteuid().as_raw())));
    }
    if linux.gid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
        linux.set_gid_mappings(Some(map(nix::unistd::getegid().as_raw())));
    }
    spec.set_linux(Some(linux));
}

/// Parses config.json text. `file` names the source in error messages.
pub fn parse(text: &[u8], file: &str) -> Result<Spec, SpecError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let spec: Spec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        // serde lists every variant after "expected one of"; for enums with
        // forty capability names that drowns the one word that matters.
        let mut msg = inner.to_string();
        if let Some(i) = msg.find(", expected one of") {
            msg.truncate(i);
        }
        if let Some(i) = msg.find(" at line ") {
            msg.truncate(i);
        }
        // oci-spec words an unknown capability as "no variant for X (converted to …)".
        if let Some(rest) = msg.strip_prefix("no variant for ") {
            let name = rest.split(" (").next().unwrap_or(rest);
            msg = format!("unknown capability {name:?}");
        }
        let field = if field == "." || field.is_empty() { String::new() } else { format!("{field}: ") };
        SpecError::Parse { file: file.to_string(), field, msg, line: inner.line(), column: inner.column() }
    })?;
    Ok(spec)
}

/// Mount-level `uidMappings`/`gidMappings` (idmapped mounts, runtime-spec
/// 1.2), by index of `mounts`. oci-spec's Mount type has no field for them,
/// so serde would drop them without a word: they are read from the text
/// (only when the word is there at all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MountIdMaps {
    pub uid: Vec<LinuxIdMapping>,
    pub gid: Vec<LinuxIdMapping>,
}

pub fn mount_id_maps(text: &[u8]) -> Result<Vec<Option<MountIdMaps>>, SpecError> {
    if !text.windows(8).any(|w| w == b"Mappings") {
        return Ok(Vec::new());
    }
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default)]
        mounts: Vec<MountMaps>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct MountMaps {
        uid_mappings: Option<Vec<LinuxIdMapping>>,
        gid_mappings: Option<Vec<LinuxIdMapping>>,
    }
    let config: Config = serde_json::from_slice(text)
        .map_err(|e| SpecError::Invalid { field: "mounts".into(), msg: format!("uidMappings/gidMappings: {e}") })?;
    Ok(config
        .mounts
        .into_iter()
        .map(|m| {
            (m.uid_mappings.is_some() || m.gid_mappings.is_some()).then(|| MountIdMaps {
                uid: m.uid_mappings.unwrap_or_default(),
                gid: m.gid_mappings.unwrap_or_default(),
            })
        })
        .collect())
}

/// config.json with what oci-spec's types cannot hold.
pub struct Config {
    pub spec: Spec,
    pub mount_id_maps: Vec<Option<MountIdMaps>>,
}

/// Reads and parses `<bundle>/config.json`, mount id maps included.
pub fn load_config(bundle: &Path) -> Result<Config, SpecError> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|source| SpecError::Read { path: path.clone(), source })?;
    Ok(Config { spec: parse(&text, "config.json")?, mount_id_maps: mount_id_maps(&text)? })
}

/// Fields hull does not implement: refused in one line each, never ignored.
fn refuse_unsupported(spec: &Spec) -> Result<(), SpecError> {
    let Some(l) = spec.linux() else { return Ok(()) };
    if l.intel_rdt().is_some() {
        return Err(invalid("linux.intelRdt", "Intel RDT (resctrl) is not supported by hull"));
    }
    Ok(())
}

/// `linux.netDevices`: the devices go into the container's own network
/// namespace, under names the kernel accepts, no two under one name.
fn validate_net_devices(spec: &Spec, has_netns: bool) -> Result<(), SpecError> {
    let devs = crate::netdev::from_spec(spec);
    if devs.is_empty() {
        return Ok(());
    }
    if !has_netns {
        return Err(invalid(
            "linux.netDevices",
            "moving network devices needs a network namespace in linux.namespaces: they would stay on the host",
        ));
    }
    let mut names = HashSet::new();
    for d in &devs {
        let field = format!("linux.netDevices.{}", d.host);
        crate::netdev::check_name(&d.host, false).map_err(|why| invalid(&field, format!("{:?} {why}", d.host)))?;
        crate::netdev::check_name(&d.name, true)
            .map_err(|why| invalid(format!("{field}.name"), format!("{:?} {why}", d.name)))?;
        if !names.insert(d.name.as_str()) {
            return Err(invalid(
                format!("{field}.name"),
                format!("{:?} is also the name of another device of linux.netDevices", d.name),
            ));
        }
    }
    Ok(())
}

/// Reads and parses `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    Ok(load_config(bundle)?.spec)
}

/// Resolves `root.path` against the bundle directory.
pub fn rootfs_path(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let root = spec.root().as_ref().ok_or_else(|| invalid("root", "missing: the container needs a root filesystem"))?;
    let p = root.path();
    if p.as_os_str().is_empty() {
        return Err(invalid("root.path", "empty"));
    }
    Ok(if p.is_absolute() { p.clone() } else { bundle.join(p) })
}

/// sysctls that only make sense inside a namespace of the given kind, and so are
/// refused when the container shares that namespace with the host.
fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: [&str; 6] =
        ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax"];
    if IPC.contains(&key) || key == "kernel.shmmni" || key == "kernel.shm_rmid_forced" || key.starts_with("fs.mqueue.")
    {
        return Some(LinuxNamespaceType::Ipc);
    }
    if key.starts_with("net.") {
        return Some(LinuxNamespaceType::Network);
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        return Some(LinuxNamespaceType::Uts);
    }
    None
}

/// Checks what serde cannot: cross-field rules of the runtime spec and the
/// things that would otherwise fail half-way through `create`.
pub fn validate(spec: &Spec, bundle: &Path) -> Result<(), SpecError> {
    refuse_unsupported(spec)?;
    let rootfs = rootfs_path(spec, bundle)?;
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(invalid("root.path", format!("{} is not a directory", rootfs.display()))),
        Err(e) => return Err(invalid("root.path", format!("{}: {e}", rootfs.display()))),
    }

    let process = spec.process().as_ref().ok_or_else(|| invalid("process", "missing: nothing to run"))?;
    match process.args() {
        Some(a) if !a.is_empty() && !a[0].is_empty() => {}
        _ => return Err(invalid("process.args", "empty: name the program to run")),
    }
    if !process.cwd().is_absolute() {
        return Err(invalid("process.cwd", format!("{:?} is not an absolute path", process.cwd())));
    }
    for (i, e) in process.env().iter().flatten().enumerate() {
        if e.contains('\0') {
            return Err(invalid(format!("process.env[{i}]"), "contains a NUL byte"));
        }
    }
    for (i, a) in process.args().iter().flatten().enumerate() {
        if a.contains('\0') {
            return Err(invalid(format!("process.args[{i}]"), "contains a NUL byte"));
        }
    }
    let mut seen_rlimits = Vec::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        if seen_rlimits.contains(&r.typ()) {
            return Err(invalid(format!("process.rlimits[{i}]"), format!("{:?} is listed twice", r.typ())));
        }
        seen_rlimits.push(r.typ());
        if r.soft() > r.hard() {
            return Err(invalid(format!("process.rlimits[{i}]"), "soft limit is above the hard limit"));
        }
    }

    let linux = spec.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_ref());
    let mut kinds = HashSet::new();
    for (i, ns) in namespaces.into_iter().flatten().enumerate() {
        if !kinds.insert(ns.typ()) {
            return Err(invalid(format!("linux.namespaces[{i}]"), format!("namespace {:?} is listed twice", ns.typ())));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(invalid(format!("linux.namespaces[{i}].path"), format!("{} is not absolute", p.display())));
            }
        }
    }
    let has = |t: LinuxNamespaceType| kinds.contains(&t);
    if let Some(l) = linux {
        let maps = l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || l.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if maps && !has(LinuxNamespaceType::User) {
            return Err(invalid("linux.uidMappings", "uid/gid mappings need a user namespace in linux.namespaces"));
        }
        if l.time_offsets().as_ref().is_some_and(|t| !t.is_empty()) && !has(LinuxNamespaceType::Time) {
            return Err(invalid("linux.timeOffsets", "time offsets need a time namespace in linux.namespaces"));
        }
        for key in l.sysctl().iter().flat_map(|s| s.keys()) {
            if let Some(kind) = sysctl_namespace(key) {
                if !has(kind) {
                    return Err(invalid(
                        format!("linux.sysctl.{key}"),
                        format!("needs a new {kind:?} namespace: it would change the host"),
                    ));
                }
            }
            if key.contains('/') || key.contains("..") {
                return Err(invalid(format!("linux.sysctl.{key}"), "not a sysctl name"));
            }
        }
        validate_net_devices(spec, has(LinuxNamespaceType::Network))?;
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid("hostname", "setting a hostname needs a new uts namespace"));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid("domainname", "setting a domainname needs a new uts namespace"));
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(invalid(format!("mounts[{i}].destination"), "empty"));
        }
    }
    if let Some(hooks) = spec.hooks() {
        let lists = [
            ("prestart", hooks.prestart()),
            ("createRuntime", hooks.create_runtime()),
            ("createContainer", hooks.create_container()),
            ("startContainer", hooks.start_container()),
            ("poststart", hooks.poststart()),
            ("poststop", hooks.poststop()),
        ];
        for (name, list) in lists {
            for (i, h) in list.iter().flatten().enumerate() {
                if !h.path().is_absolute() {
                    return Err(invalid(
                        format!("hooks.{name}[{i}].path"),
                        format!("{} is not absolute", h.path().display()),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut v = default_spec();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn default_spec_parses() {
        let spec = parse(DEFAULT_SPEC_JSON.as_bytes(), "config.json").unwrap();
        assert_eq!(spec.hostname().as_deref(), Some("hull"));
    }

    fn namespace_types(text: &str) -> Vec<String> {
        let spec = parse(text.as_bytes(), "config.json").unwrap();
        let namespaces = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        namespaces.iter().map(|n| format!("{:?}", n.typ()).to_lowercase()).collect()
    }

    #[test]
    fn cgroup_namespace_only_in_the_pure_v2_spec() {
        assert_eq!(namespace_types(DEFAULT_SPEC_JSON), ["pid", "network", "ipc", "uts", "mount"]);
        let v2 = with_cgroup_namespace(DEFAULT_SPEC_JSON);
        assert_eq!(namespace_types(&v2), ["pid", "network", "ipc", "uts", "mount", "cgroup"]);
        assert!(v2.contains("\t\t\t{\n\t\t\t\t\"type\": \"cgroup\"\n\t\t\t}\n\t\t],"), "{v2}");
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = parse(b"{\n  \"ociVersion\": \"1.0\",\n  oops\n}", "config.json").unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("column"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = with(|v| v["process"]["user"]["uid"] = "root".into());
        let err = parse(&text, "config.json").unwrap_err().to_string();
        assert!(err.contains("process.user.uid"), "{err}");
    }

    #[test]
    fn unknown_capability_is_short_and_named() {
        let text = with(|v| v["process"]["capabilities"]["bounding"][0] = "CAP_FLY".into());
        let err = parse(&text, "config.json").unwrap_err().to_string();
        assert!(err.contains("process.capabilities.bounding"), "{err}");
        assert!(err.contains("FLY"), "{err}");
        assert!(!err.contains("expected one of"), "{err}");
    }

    #[test]
    fn unknown_namespace_type_is_named() {
        let text = with(|v| v["linux"]["namespaces"][0]["type"] = "galaxy".into());
        let err = parse(&text, "config.json").unwrap_err().to_string();
        assert!(err.contains("linux.namespaces[0].type"), "{err}");
        assert!(err.contains("galaxy"), "{err}");
    }

    /// Validates against a bundle directory of its own (tests run in
    /// parallel), removed afterwards.
    fn validate_text(text: &[u8]) -> Result<(), SpecError> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hull-spec-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        let spec = parse(text, "config.json").unwrap();
        let result = validate(&spec, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    #[test]
    fn empty_args_are_refused() {
        let err = validate_text(&with(|v| v["process"]["args"] = serde_json::json!([]))).unwrap_err();
        assert!(err.to_string().contains("process.args"), "{err}");
    }

    #[test]
    fn uid_mapping_without_user_namespace_is_refused() {
        let text = with(|v| v["linux"]["uidMappings"] = serde_json::json!([{"containerID":0,"hostID":1000,"size":1}]));
        let err = validate_text(&text).unwrap_err();
        assert!(err.to_string().contains("user namespace"), "{err}");
    }

    #[test]
    fn net_sysctl_without_net_namespace_is_refused() {
        let text = with(|v| {
            v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
            v["linux"]["namespaces"] = serde_json::json!([{"type":"pid"},{"type":"mount"},{"type":"uts"}]);
        });
        let err = validate_text(&text).unwrap_err();
        assert!(err.to_string().contains("net.ipv4.ip_forward"), "{err}");
    }

    #[test]
    fn net_devices_need_a_network_namespace_and_valid_distinct_names() {
        let text = with(|v| {
            v["linux"]["netDevices"] = serde_json::json!({"dummy0": {}});
            v["linux"]["namespaces"] = serde_json::json!([{"type":"pid"},{"type":"mount"}]);
        });
        let err = validate_text(&text).unwrap_err().to_string();
        assert!(err.contains("linux.netDevices") && err.contains("network namespace"), "{err}");
        let text = with(|v| v["linux"]["netDevices"] = serde_json::json!({"dummy0": {"name": "a/b"}}));
        let err = validate_text(&text).unwrap_err().to_string();
        assert!(err.contains("linux.netDevices.dummy0.name"), "{err}");
        let text = with(|v| v["linux"]["netDevices"] = serde_json::json!({"no way": {}}));
        assert!(validate_text(&text).unwrap_err().to_string().contains("linux.netDevices.no way"));
        let text = with(|v| v["linux"]["netDevices"] = serde_json::json!({"a0": {"name": "x0"}, "b0": {"name": "x0"}}));
        let err = validate_text(&text).unwrap_err().to_string();
        assert!(err.contains("linux.netDevices.b0.name") && err.contains("another device"), "{err}");
        let text = with(|v| v["linux"]["netDevices"] = serde_json::json!({"a0": {}, "b0": {"name": "eth%d"}}));
        assert!(validate_text(&text).is_ok());
    }

    #[test]
    fn duplicate_namespace_is_refused() {
        let text = with(|v| v["linux"]["namespaces"] = serde_json::json!([{"type":"pid"},{"type":"pid"}]));
        let err = validate_text(&text).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }
}
