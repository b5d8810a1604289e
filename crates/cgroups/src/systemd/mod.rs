//! The systemd cgroup driver (`--systemd-cgroup`), as engines use it on
//! systemd hosts: the container's cgroup is a transient scope unit that
//! systemd makes, places the init in, and owns.
//!
//! `linux.cgroupsPath` is `slice:prefix:name`; the unit is
//! `<prefix>-<name>.scope` in `slice` (default `system.slice`, `user.slice`
//! for an unprivileged caller, who talks to its own user manager). The
//! scope is started over D-Bus with `Delegate=yes`, `PIDs=[init]`, and the
//! limits systemd knows as unit properties (each controller's file says
//! which: `MemoryMax` is in `controllers/memory.rs`); then everything is also
//! written to the scope's cgroup directory by the v2 manager, which does
//! what systemd has no property for (devices, hugetlb, io.max, rdma, ...).
//! Setting the properties is what keeps the limits when systemd re-applies
//! its units' settings (`daemon-reload`). `update` does both again
//! (`SetUnitProperties`), `delete` stops the unit.
//!
//! cgroup v2 only. Where things are: `dbus.rs`, the D-Bus client;
//! `gvariant.rs`, `org.systemd.property.*` annotations.

pub mod dbus;
mod gvariant;

use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::controllers::{blkio, cpu, cpuset, memory, pids, unified};
use crate::error::CgroupError;
use crate::layout::{cgroups_of, join_under, path_in, Layout};
use crate::stats::Stats;
use crate::v2::V2Manager;
use crate::{CgroupManager, CgroupState};
use dbus::{Connection, DbusError, Message, Value};

/// A unit property: its name and its value.
pub type Property = (String, Value);

/// The system bus, where systemd (PID 1) listens.
pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";
/// The prefix of the scope's name when config.json has no cgroupsPath
/// (`hull-<id>.scope`; runc's is `runc`).
pub const DEFAULT_PREFIX: &str = "hull";

const SYSTEMD: &str = "org.freedesktop.systemd1";
const SYSTEMD_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const JOB_REMOVED: &str = "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved',path='/org/freedesktop/systemd1'";
/// systemd's own limit for jobs is longer; runc gives up after 30 s too.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);
const CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// The unit that owns a container's cgroup, as saved in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemdUnit {
    /// `<prefix>-<name>.scope`.
    pub unit: String,
    /// Made through the caller's user manager (unprivileged), not PID 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
}

/// The bus of the systemd instance that manages the caller's cgroups: the
/// system bus for root, the user's session bus otherwise (both as sd-bus
/// finds them: the address variables first).
pub fn bus_socket(user: bool) -> PathBuf {
    let from_env = |var: &str| std::env::var(var).ok().and_then(|a| dbus::parse_address(&a));
    if !user {
        return from_env("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|| PathBuf::from(SYSTEM_BUS));
    }
    from_env("DBUS_SESSION_BUS_ADDRESS").unwrap_or_else(|| runtime_dir().join("bus"))
}

/// `$XDG_RUNTIME_DIR`, or where systemd makes it (`/run/user/<uid>`).
fn runtime_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        // SAFETY: geteuid cannot fail.
        .unwrap_or_else(|| PathBuf::from(format!("/run/user/{}", unsafe { libc::geteuid() })))
}

/// How to reach systemd: through the bus, or straight through systemd's own
/// socket, as systemctl does where there is no bus (a stopped dbus, a user
/// manager without dbus-user-session).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Bus(PathBuf),
    Direct(PathBuf),
}

impl Endpoint {
    fn socket(&self) -> &Path {
        match self {
            Endpoint::Bus(s) | Endpoint::Direct(s) => s,
        }
    }

    fn connect(&self) -> Result<Connection, DbusError> {
        match self {
            Endpoint::Bus(socket) => Connection::open(socket, &[JOB_REMOVED], CALL_TIMEOUT),
            Endpoint::Direct(socket) => Connection::open_direct(socket, CALL_TIMEOUT),
        }
    }
}

/// Where to try, in order: the bus (only it, when its address was given),
/// then systemd's own socket.
fn endpoints(user: bool) -> Vec<Endpoint> {
    let bus = Endpoint::Bus(bus_socket(user));
    if std::env::var_os(if user { "DBUS_SESSION_BUS_ADDRESS" } else { "DBUS_SYSTEM_BUS_ADDRESS" }).is_some() {
        return vec![bus];
    }
    let private = if user { runtime_dir().join("systemd/private") } else { PathBuf::from("/run/systemd/private") };
    vec![bus, Endpoint::Direct(private)]
}

/// Why a socket could not be reached, shortly (no "(os error 2)").
fn socket_why(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such socket".into(),
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Fails, before anything is made, when `--systemd-cgroup` cannot be
/// honoured: no bus socket to reach systemd through.
pub fn check_reachable() -> Result<(), CgroupError> {
    let all = endpoints(!is_root());
    let mut first_err = None;
    for e in &all {
        match std::fs::metadata(e.socket()) {
            Ok(_) => return Ok(()),
            Err(err) => {
                first_err.get_or_insert(socket_why(&err));
            }
        }
    }
    Err(CgroupError::SystemdUnreachable { socket: all[0].socket().to_path_buf(), why: first_err.unwrap_or_default() })
}

/// `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`: the cgroup of a slice
/// follows from its name (`-.slice` is the root).
pub fn expand_slice(slice: &str) -> Result<PathBuf, String> {
    let stem = slice
        .strip_suffix(".slice")
        .filter(|s| !s.is_empty() && !slice.contains('/'))
        .ok_or_else(|| format!("{slice:?} is not a slice name (NAME.slice, without '/')"))?;
    let mut path = PathBuf::from("/");
    if stem == "-" {
        return Ok(path);
    }
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(format!("{slice:?} is not a slice name (empty part between dashes)"));
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
        prefix.push('-');
    }
    Ok(path)
}

/// Where a new container's scope goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub slice: String,
    /// The slice's cgroup (`/kubepods.slice/kubepods-besteffort.slice`).
    pub slice_dir: PathBuf,
    pub unit: String,
}

/// The characters systemd accepts in a unit name (besides `@`, which
/// means a template instance).
fn unit_name_ok(name: &str) -> bool {
    name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:\\".contains(&b))
}

/// Reads `linux.cgroupsPath` as `slice:prefix:name` (runc's rules: an empty
/// slice is the default one; no path at all is `:hull:<id>`).
pub fn placement(cgroups_path: Option<&str>, id: &str, user: bool) -> Result<Placement, CgroupError> {
    let default_slice = if user { "user.slice" } else { "system.slice" };
    let (slice, prefix, name) = match cgroups_path.filter(|p| !p.is_empty()) {
        None => (default_slice, DEFAULT_PREFIX, id),
        Some(p) => {
            let parts: Vec<&str> = p.split(':').collect();
            let bad = |msg: &str| CgroupError::CgroupsPath { path: p.to_string(), msg: msg.to_string() };
            let [slice, prefix, name] = parts[..] else {
                return Err(bad(
                    "--systemd-cgroup needs the form slice:prefix:name (for example system.slice:hull:<id>)",
                ));
            };
            if name.is_empty() {
                return Err(bad("the name (the part after the second ':') is empty"));
            }
            if name.ends_with(".slice") {
                return Err(bad("the container's unit must be a scope: a name ending in .slice is not supported"));
            }
            (if slice.is_empty() { default_slice } else { slice }, prefix, name)
        }
    };
    let shown = cgroups_path.unwrap_or_default().to_string();
    let slice_dir = expand_slice(slice).map_err(|msg| CgroupError::CgroupsPath { path: shown.clone(), msg })?;
    let unit = format!("{prefix}-{name}.scope");
    if !unit_name_ok(&unit) {
        return Err(CgroupError::CgroupsPath {
            path: shown,
            msg: format!("{unit:?} is not a valid unit name (letters, digits and -_.:\\ only, at most 255)"),
        });
    }
    Ok(Placement { slice: slice.to_string(), slice_dir, unit })
}

/// A manager for a new container's scope. `annotations` may hold
/// `org.systemd.property.<Name>` entries, extra unit properties.
pub fn new_manager(
    layout: &Layout,
    cgroups_path: Option<&Path>,
    id: &str,
    annotations: Option<&HashMap<String, String>>,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    let Layout::V2 { root } = layout else { return Err(CgroupError::SystemdNeedsV2) };
    let user = !is_root();
    let path = cgroups_path.map(|p| p.to_string_lossy().into_owned());
    let place = placement(path.as_deref(), id, user)?;
    // The scope's cgroup follows from the slice's name, under the cgroup of
    // the systemd instance: the root for PID 1.
    let dir_under = |base: &Path| join_under(&join_under(root, base), &place.slice_dir).join(&place.unit);
    let mut m = SystemdManager {
        unit: SystemdUnit { unit: place.unit.clone(), user },
        slice: Some(place.slice.clone()),
        description: format!("hull container {id}"),
        extra: gvariant::unit_properties(annotations)?,
        endpoints: endpoints(user),
        fs: V2Manager::new(dir_under(Path::new("/")), root.clone()),
        existing: false,
        bus: RefCell::new(None),
    };
    if user {
        // A user manager's tree starts at its own cgroup, which only it can
        // say: ask now (unprivileged, the bus is connected before clone3).
        let base = m.manager_cgroup()?;
        m.fs = V2Manager::new(dir_under(Path::new(&base)), root.clone());
    }
    Ok(Box::new(m))
}

/// A manager for an existing container's scope, from its saved state.
pub(crate) fn from_state(dir: &Path, root: &Path, unit: &SystemdUnit) -> SystemdManager {
    SystemdManager {
        unit: unit.clone(),
        slice: None,
        description: String::new(),
        extra: Vec::new(),
        endpoints: endpoints(unit.user),
        fs: V2Manager::new(dir.to_path_buf(), root.to_path_buf()),
        existing: true,
        bus: RefCell::new(None),
    }
}

/// A limit as systemd takes it: negative is none (`infinity`, u64::MAX).
pub(crate) fn limit(v: i64) -> Value {
    Value::U64(if v < 0 { u64::MAX } else { v as u64 })
}

/// A cgroup file's value as a limit property: `max` or a number.
pub(crate) fn file_limit(v: &str) -> Option<Value> {
    match v.trim() {
        "max" => Some(Value::U64(u64::MAX)),
        n => n.parse().ok().map(Value::U64),
    }
}

/// The limits of `r` that systemd holds as unit properties, by controller.
pub fn resource_properties(r: &LinuxResources, dir: &Path) -> Result<Vec<Property>, CgroupError> {
    let mut props = Vec::new();
    if let Some(m) = r.memory() {
        props.extend(memory::unit_properties(m)?);
    }
    if let Some(c) = r.cpu() {
        props.extend(cpu::unit_properties(c, dir));
        props.extend(cpuset::unit_properties(c)?);
    }
    if let Some(p) = r.pids() {
        props.extend(pids::unit_properties(p));
    }
    if let Some(b) = r.block_io() {
        props.extend(blkio::unit_properties(b));
    }
    if let Some(u) = r.unified() {
        props.extend(unified::unit_properties(u)?);
    }
    Ok(props)
}

/// A transient scope unit and its cgroup directory (worked on as on v2).
pub struct SystemdManager {
    unit: SystemdUnit,
    /// The slice to start the scope in (a new container only).
    slice: Option<String>,
    description: String,
    /// Properties from `org.systemd.property.*` annotations.
    extra: Vec<Property>,
    /// Where systemd may be reached, in order (the bus first).
    endpoints: Vec<Endpoint>,
    fs: V2Manager,
    /// The scope exists (a container made before): processes can be cloned
    /// straight into its cgroup.
    existing: bool,
    /// Connected on first use, after clone3 when creating: hull stays
    /// single-threaded and the child never holds the socket.
    bus: RefCell<Option<Connection>>,
}

/// The D-Bus error systemd returns for a property it does not know (an
/// older systemd): `Cannot set property X, or unknown property.`
fn unknown_property(e: &DbusError) -> Option<String> {
    let DbusError::Remote { name, message } = e else { return None };
    if name != "org.freedesktop.DBus.Error.PropertyReadOnly" {
        return None;
    }
    let rest = message.strip_prefix("Cannot set property ")?;
    Some(rest.split(',').next()?.trim().to_string())
}

fn remote_name(e: &DbusError) -> Option<&str> {
    match e {
        DbusError::Remote { name, .. } => Some(name),
        _ => None,
    }
}

fn property_list(props: &[Property]) -> Value {
    Value::Array(
        "(sv)".into(),
        props
            .iter()
            .map(|(k, v)| Value::Struct(vec![Value::str(k.clone()), Value::Variant(Box::new(v.clone()))]))
            .collect(),
    )
}

impl SystemdManager {
    /// A D-Bus failure as the crate's error: no bus, or no systemd on it,
    /// is "not reachable"; anything else names the call and the unit.
    fn err(&self, op: &'static str) -> impl FnOnce(DbusError) -> CgroupError + '_ {
        let socket = self.endpoints[0].socket().to_path_buf();
        move |e| match e {
            DbusError::Io { source, .. } if source.kind() != std::io::ErrorKind::UnexpectedEof => {
                CgroupError::SystemdUnreachable { socket, why: socket_why(&source) }
            }
            DbusError::Auth(_) => CgroupError::SystemdUnreachable { socket, why: e.to_string() },
            DbusError::Remote { ref name, .. } if name == "org.freedesktop.DBus.Error.ServiceUnknown" => {
                CgroupError::SystemdUnreachable { socket, why: format!("no {SYSTEMD} on that bus") }
            }
            e => CgroupError::SystemdCall { op, unit: self.unit.unit.clone(), why: e.to_string() },
        }
    }

    /// The connection to systemd, made on first use (on a bus, with the
    /// JobRemoved match).
    fn bus(&self) -> Result<RefMut<'_, Connection>, DbusError> {
        let mut slot = self.bus.borrow_mut();
        if slot.is_none() {
            // The bus's error is the one told when nothing answers.
            let mut first_err = None;
            for e in &self.endpoints {
                match e.connect() {
                    Ok(c) => {
                        *slot = Some(c);
                        break;
                    }
                    Err(err) => {
                        first_err.get_or_insert(err);
                    }
                }
            }
            if slot.is_none() {
                return Err(first_err.unwrap_or(DbusError::Malformed("no endpoint")));
            }
        }
        Ok(RefMut::map(slot, |s| s.as_mut().expect("connected just above")))
    }

    fn manager_call(&self, member: &str, body: Vec<Value>) -> Result<Vec<Value>, DbusError> {
        self.bus()?.call(Message::method_call(SYSTEMD, SYSTEMD_PATH, MANAGER, member, body), CALL_TIMEOUT)
    }

    /// The user manager's own cgroup (`/user.slice/user-1000.slice/user@1000.service`).
    fn manager_cgroup(&self) -> Result<String, CgroupError> {
        let op = "read the user manager's ControlGroup for";
        let get = Message::method_call(
            SYSTEMD,
            SYSTEMD_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
            vec![Value::str(MANAGER), Value::str("ControlGroup")],
        );
        let body = self.bus().and_then(|mut b| b.call(get, CALL_TIMEOUT)).map_err(self.err(op))?;
        match body.first() {
            Some(Value::Variant(v)) => v.as_str().map(str::to_string),
            _ => None,
        }
        .ok_or_else(|| CgroupError::SystemdCall {
            op,
            unit: self.unit.unit.clone(),
            why: "not a string".into(),
        })
    }

    /// Waits for the job a call returned to finish; its result must be `done`.
    fn wait_job(&self, body: &[Value], op: &'static str) -> Result<(), CgroupError> {
        let Some(job) = body.first().and_then(Value::as_str).map(str::to_string) else {
            return Err(CgroupError::SystemdCall {
                op,
                unit: self.unit.unit.clone(),
                why: "no job in the reply".into(),
            });
        };
        let is_ours = |m: &Message| {
            m.member.as_deref() == Some("JobRemoved") && m.body.get(1).and_then(Value::as_str) == Some(job.as_str())
        };
        let signal = self.bus().and_then(|mut b| b.wait_signal(JOB_TIMEOUT, is_ours)).map_err(self.err(op))?;
        match signal.body.get(3).and_then(Value::as_str) {
            Some("done") => Ok(()),
            result => Err(CgroupError::SystemdCall {
                op,
                unit: self.unit.unit.clone(),
                why: format!(
                    "the job ended with result {:?} (see: journalctl -u {})",
                    result.unwrap_or("?"),
                    self.unit.unit
                ),
            }),
        }
    }

    /// `StartTransientUnit` of the scope around `pid`, then waits for the
    /// job. Properties an older systemd does not know are dropped (their
    /// values are still written to the cgroup) and the call repeated.
    fn start(&self, pid: i32, resources: Vec<Property>) -> Result<(), CgroupError> {
        let slice = self.slice.clone().unwrap_or_else(|| "system.slice".into());
        let base: Vec<Property> = vec![
            ("Description".into(), Value::str(self.description.clone())),
            ("Slice".into(), Value::str(slice)),
            ("Delegate".into(), Value::Bool(true)),
            ("PIDs".into(), Value::Array("u".into(), vec![Value::U32(pid as u32)])),
            // Accounting on for every controller, as runc: stats are there
            // whatever the limits, and systemd enables the controllers.
            ("MemoryAccounting".into(), Value::Bool(true)),
            ("CPUAccounting".into(), Value::Bool(true)),
            ("IOAccounting".into(), Value::Bool(true)),
            ("TasksAccounting".into(), Value::Bool(true)),
            // No ordering against shutdown.target & co.: the container's
            // unit must not wait for, or hold up, anything else.
            ("DefaultDependencies".into(), Value::Bool(false)),
        ];
        let mut resources = resources;
        let mut reset_once = false;
        loop {
            let mut props = base.clone();
            props.extend(resources.iter().cloned());
            props.extend(self.extra.iter().cloned());
            let body = vec![
                Value::str(self.unit.unit.clone()),
                Value::str("replace"),
                property_list(&props),
                Value::Array("(sa(sv))".into(), Vec::new()),
            ];
            match self.manager_call("StartTransientUnit", body) {
                Ok(reply) => {
                    let r = self.wait_job(&reply, "start unit");
                    if r.is_err() {
                        self.reset_failed();
                    }
                    return r;
                }
                Err(e) => {
                    if let Some(name) = unknown_property(&e) {
                        let before = resources.len();
                        resources.retain(|(k, _)| *k != name);
                        if resources.len() < before {
                            continue;
                        }
                    }
                    // A failed scope of the same name, left by an earlier
                    // container, stays loaded until reset.
                    if remote_name(&e) == Some("org.freedesktop.systemd1.UnitExists") && !reset_once {
                        reset_once = true;
                        self.reset_failed();
                        continue;
                    }
                    return Err(self.err("start unit")(e));
                }
            }
        }
    }

    fn reset_failed(&self) {
        let _ = self.manager_call("ResetFailedUnit", vec![Value::str(self.unit.unit.clone())]);
    }

    /// `SetUnitProperties` (runtime, not persisted), dropping the ones an
    /// older systemd does not know.
    fn set_properties(&self, mut props: Vec<Property>) -> Result<(), CgroupError> {
        while !props.is_empty() {
            let body = vec![Value::str(self.unit.unit.clone()), Value::Bool(true), property_list(&props)];
            match self.manager_call("SetUnitProperties", body) {
                Ok(_) => return Ok(()),
                Err(e) => match unknown_property(&e) {
                    Some(name) if props.iter().any(|(k, _)| *k == name) => props.retain(|(k, _)| *k != name),
                    _ => return Err(self.err("set the properties of unit")(e)),
                },
            }
        }
        Ok(())
    }

    /// Is `pid` (0: ourselves) in the scope's cgroup already?
    fn holds(&self, pid: i32) -> bool {
        let Some(cg) = path_in(&cgroups_of(pid), "") else { return false };
        self.fs.dir() == join_under(self.fs.root(), &cg)
    }
}

impl CgroupManager for SystemdManager {
    /// Nothing to make before the init exists: a scope is born with its
    /// first process (see `setup`).
    fn create(&self) -> Result<(), CgroupError> {
        Ok(())
    }

    fn setup(&self, init: Option<i32>, resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let Some(pid) = init else {
            return Err(CgroupError::SystemdCall {
                op: "start unit",
                unit: self.unit.unit.clone(),
                why: "a scope needs the container's init, which does not exist yet".into(),
            });
        };
        let props = match resources {
            Some(r) => resource_properties(r, self.fs.dir())?,
            None => Vec::new(),
        };
        self.start(pid, props)?;
        // What systemd has no property for goes to the scope's cgroup; the
        // controllers it does not manage (hugetlb, rdma, misc) are enabled
        // down to it.
        self.fs.create()?;
        if let Some(r) = resources {
            self.fs.apply(r)?;
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        self.set_properties(resource_properties(r, self.fs.dir())?)?;
        self.fs.apply(r)
    }

    fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        self.fs.clone_into()
    }

    fn fully_placed_by_clone(&self) -> bool {
        self.existing
    }

    fn open_for_clone(&self, _create: bool) -> Result<(), CgroupError> {
        if self.existing {
            self.fs.open_for_clone(false)
        } else {
            Ok(())
        }
    }

    fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        // systemd moved the init in (PIDs=): moving it again would only
        // take the kernel's threadgroup lock for nothing.
        if self.holds(pid) {
            return Ok(());
        }
        self.fs.add_process(pid)
    }

    fn join_self(&self) -> Result<(), CgroupError> {
        if self.holds(0) {
            return Ok(());
        }
        self.fs.join_self()
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        self.fs.pids()
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        self.fs.freeze()
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        self.fs.thaw()
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.fs.is_frozen()
    }

    /// A frozen slice would freeze the init as systemd moves it in.
    fn frozen_on_path(&self) -> Option<PathBuf> {
        self.fs.frozen_on_path()
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        self.fs.stats()
    }

    /// Stops the unit (a scope whose processes are gone has usually
    /// stopped by itself: systemd says NoSuchUnit), resets it if it failed,
    /// and removes what cgroups the container made below it.
    fn destroy(&self) -> Result<(), CgroupError> {
        match self.manager_call("StopUnit", vec![Value::str(self.unit.unit.clone()), Value::str("replace")]) {
            Ok(reply) => {
                let r = self.wait_job(&reply, "stop unit");
                self.reset_failed();
                r?;
            }
            Err(e) if remote_name(&e) == Some("org.freedesktop.systemd1.NoSuchUnit") => {}
            Err(e) => return Err(self.err("stop unit")(e)),
        }
        if self.fs.dir().exists() {
            self.fs.destroy()?;
        }
        Ok(())
    }

    fn state(&self) -> CgroupState {
        CgroupState::V2 { dir: self.fs.dir().to_path_buf(), systemd: Some(self.unit.clone()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_by_dashes() {
        assert_eq!(expand_slice("system.slice").unwrap(), Path::new("/system.slice"));
        assert_eq!(
            expand_slice("kubepods-besteffort-pod12.slice").unwrap(),
            Path::new("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice")
        );
        assert_eq!(expand_slice("-.slice").unwrap(), Path::new("/"));
        for bad in ["system", ".slice", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice"] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroups_path_is_slice_prefix_name() {
        let p = placement(Some("system.slice:docker:abc"), "id", false).unwrap();
        assert_eq!(p.slice, "system.slice");
        assert_eq!(p.unit, "docker-abc.scope");
        let p = placement(Some(":cri-containerd:abc"), "id", false).unwrap();
        assert_eq!(p.slice, "system.slice");
        let p = placement(Some(":libpod:abc"), "id", true).unwrap();
        assert_eq!(p.slice, "user.slice");
        let p = placement(None, "c1", false).unwrap();
        assert_eq!((p.slice.as_str(), p.unit.as_str()), ("system.slice", "hull-c1.scope"));
        let p = placement(Some("kubepods-besteffort-pod1.slice:cri-containerd:c1"), "x", false).unwrap();
        assert_eq!(p.slice_dir, Path::new("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice"));
        assert_eq!(p.unit, "cri-containerd-c1.scope");
        assert_eq!(placement(Some(""), "c1", false).unwrap().unit, "hull-c1.scope");
    }

    #[test]
    fn other_cgroups_paths_are_refused_clearly() {
        for bad in [
            "/default/abc",
            "a:b",
            "a:b:c:d",
            "system.slice:x:",
            "foo:x:y",
            "system.slice:x:pod.slice",
            "system.slice:x:a/b",
        ] {
            let e = placement(Some(bad), "id", false).unwrap_err().to_string();
            assert!(e.starts_with(&format!("linux.cgroupsPath {bad:?}: ")), "{e}");
        }
        let e = placement(Some("/default/abc"), "id", false).unwrap_err().to_string();
        assert!(e.contains("slice:prefix:name"), "{e}");
    }

    #[test]
    fn unknown_property_names_come_from_systemds_message() {
        let e = DbusError::Remote {
            name: "org.freedesktop.DBus.Error.PropertyReadOnly".into(),
            message: "Cannot set property CPUQuotaPeriodUSec, or unknown property.".into(),
        };
        assert_eq!(unknown_property(&e).as_deref(), Some("CPUQuotaPeriodUSec"));
        let other = DbusError::Remote { name: "org.freedesktop.DBus.Error.InvalidArgs".into(), message: "x".into() };
        assert_eq!(unknown_property(&other), None);
    }
}
