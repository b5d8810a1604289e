//! hull's D-Bus client against the reference implementation: a private
//! dbus-daemon (which validates every message it routes, and drops a
//! connection that sends a malformed one) and dbus-monitor (libdbus decoding
//! what hull marshalled). The messages are shaped like the driver's calls to
//! systemd: `StartTransientUnit`'s `ssa(sv)a(sa(sv))` with every property type
//! the driver sends.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hull_cgroups::systemd::dbus::{Connection, DbusError, Message, Value, SIGNAL};

const T: Duration = Duration::from_secs(10);

/// A dbus-daemon of our own, listening on a socket in a temporary directory.
struct Bus {
    dir: PathBuf,
    socket: PathBuf,
    daemon: Child,
}

impl Bus {
    fn start() -> Bus {
        // Only [-0-9A-Za-z_/.] may stand unescaped in a D-Bus address.
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hull-dbus-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("bus");
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--nofork")
            .arg("--nopidfile")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon) must be installed");
        // The socket file appears at bind, before listen: wait for a connection.
        let end = Instant::now() + T;
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < end, "dbus-daemon did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Bus { dir, socket, daemon }
    }

    fn connect(&self, matches: &[&str]) -> Connection {
        Connection::open(&self.socket, matches, T).expect("connect to the private bus")
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bus_call(member: &str, body: Vec<Value>) -> Message {
    Message::method_call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", member, body)
}

#[test]
fn hello_calls_and_error_replies() {
    let bus = Bus::start();
    let mut c = bus.connect(&[]);
    let id = c.call(bus_call("GetId", vec![]), T).unwrap();
    assert!(matches!(&id[..], [Value::Str(s)] if s.len() == 32), "{id:?}");
    let names = c.call(bus_call("ListNames", vec![]), T).unwrap();
    assert!(matches!(&names[..], [Value::Array(e, v)] if e == "s" && !v.is_empty()), "{names:?}");
    match c.call(bus_call("NoSuchMethod", vec![]), T) {
        Err(DbusError::Remote { name, .. }) => assert_eq!(name, "org.freedesktop.DBus.Error.UnknownMethod"),
        other => panic!("{other:?}"),
    }
    // What the driver sees on a bus without systemd.
    let start = Message::method_call(
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "StartTransientUnit",
        vec![],
    );
    match c.call(start, T) {
        Err(DbusError::Remote { name, .. }) => assert_eq!(name, "org.freedesktop.DBus.Error.ServiceUnknown"),
        other => panic!("{other:?}"),
    }
    // The connection is still good after errors.
    c.call(bus_call("GetId", vec![]), T).unwrap();
}

/// A `StartTransientUnit` body with every kind of property the driver sends.
fn start_transient_unit_body() -> Vec<Value> {
    let prop = |k: &str, v: Value| Value::Struct(vec![Value::str(k), Value::Variant(Box::new(v))]);
    vec![
        Value::str("hull-test.scope"),
        Value::str("replace"),
        Value::Array(
            "(sv)".into(),
            vec![
                prop("Description", Value::str("hull container test")),
                prop("Slice", Value::str("kubepods-besteffort-pod1.slice")),
                prop("Delegate", Value::Bool(true)),
                prop("PIDs", Value::Array("u".into(), vec![Value::U32(4242)])),
                prop("MemoryMax", Value::U64(67_108_864)),
                prop("TasksMax", Value::U64(u64::MAX)),
                prop("AllowedCPUs", Value::Array("y".into(), vec![Value::Byte(0x0f), Value::Byte(0x01)])),
                prop("Empty", Value::Array("s".into(), vec![])),
                prop("Count", Value::I32(-5)),
            ],
        ),
        Value::Array("(sa(sv))".into(), vec![]),
    ]
}

#[test]
fn driver_shaped_messages_pass_the_daemon_and_decode_the_same() {
    let bus = Bus::start();
    let rule = "type='signal',interface='org.hull.Test'";
    let mut listener = bus.connect(&[rule]);
    let mut monitor = Command::new("dbus-monitor")
        .arg("--address")
        .arg(format!("unix:path={}", bus.socket.display()))
        .arg(rule)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-monitor (Debian package dbus-bin) must be installed");
    let mut lines = BufReader::new(monitor.stdout.take().unwrap()).lines();
    // dbus-monitor announces itself (NameAcquired/NameLost) once it is listening.
    let end = Instant::now() + T;
    while !lines.next().unwrap().unwrap().contains("NameLost") {
        assert!(Instant::now() < end);
    }

    let mut sender = bus.connect(&[]);
    let body = start_transient_unit_body();
    let signal = Message {
        kind: SIGNAL,
        path: Some("/org/hull/Test".into()),
        interface: Some("org.hull.Test".into()),
        member: Some("Props".into()),
        body: body.clone(),
        ..Message::default()
    };
    sender.send(signal).unwrap();
    // The daemon would have dropped the sender for a malformed message.
    sender.call(bus_call("GetId", vec![]), T).unwrap();

    let got = listener.wait_signal(T, |m| m.member.as_deref() == Some("Props")).unwrap();
    assert_eq!(got.body, body);
    assert_eq!(got.interface.as_deref(), Some("org.hull.Test"));
    assert!(got.sender.as_deref().is_some_and(|s| s.starts_with(':')));

    // libdbus's reading of the same bytes: the monitor got the signal when
    // the listener did; give it a moment to print, then read all it said.
    std::thread::sleep(Duration::from_millis(300));
    let _ = monitor.kill();
    let _ = monitor.wait();
    let text: String = lines.map_while(Result::ok).collect::<Vec<_>>().join("\n");
    for want in [
        "string \"hull-test.scope\"",
        "string \"replace\"",
        "string \"Slice\"",
        "variant             string \"kubepods-besteffort-pod1.slice\"",
        "variant             boolean true",
        "uint32 4242",
        "variant             uint64 67108864",
        "variant             uint64 18446744073709551615",
        "0f 01",
        "variant             int32 -5",
    ] {
        let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&want), "dbus-monitor did not show {want:?}:\n{text}");
    }
}

#[test]
fn a_signal_sent_before_the_reply_is_kept_for_later() {
    // The driver adds its JobRemoved match before calling; a signal that
    // arrives while it waits for a reply must not be lost.
    let bus = Bus::start();
    let rule = "type='signal',interface='org.hull.Test'";
    let mut listener = bus.connect(&[rule]);
    let mut sender = bus.connect(&[]);
    let signal = |n: u32| Message {
        kind: SIGNAL,
        path: Some("/org/hull/Test".into()),
        interface: Some("org.hull.Test".into()),
        member: Some("JobRemoved".into()),
        body: vec![Value::U32(n), Value::ObjectPath(format!("/job/{n}")), Value::str("u.scope"), Value::str("done")],
        ..Message::default()
    };
    sender.send(signal(1)).unwrap();
    sender.send(signal(2)).unwrap();
    sender.call(bus_call("GetId", vec![]), T).unwrap();
    // A call made after both signals were routed: its reply comes after them.
    listener.call(bus_call("GetId", vec![]), T).unwrap();
    let two = listener.wait_signal(T, |m| m.body.get(1).and_then(Value::as_str) == Some("/job/2")).unwrap();
    assert_eq!(two.body[0], Value::U32(2));
    let one = listener.wait_signal(T, |m| m.body.get(1).and_then(Value::as_str) == Some("/job/1")).unwrap();
    assert_eq!(one.body[3], Value::str("done"));
    // (The bus's own NameAcquired is there too: signals are told apart by the caller.)
    match listener.wait_signal(Duration::from_millis(200), |m| m.interface.as_deref() == Some("org.hull.Test")) {
        Err(DbusError::Timeout(_)) => {}
        other => panic!("{other:?}"),
    }
}
