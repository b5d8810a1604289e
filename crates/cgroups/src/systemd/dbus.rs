//! A small blocking D-Bus client: just what talking to systemd needs.
//!
//! Why not a D-Bus crate: zbus (5.x, blocking API; 6.x has none) starts
//! three threads when it connects and adds about 1 MB to a static binary
//! (68 crates); hull's parent must stay single-threaded around `clone3`, and
//! the cgroupfs path should not carry that weight. The protocol subset used
//! here is small: SASL `EXTERNAL` authentication, `Hello`, method calls whose
//! arguments are built from [`Value`], and signals (systemd's `JobRemoved`)
//! received through a match rule. Messages are marshalled in the D-Bus wire
//! format (little-endian out; either endianness in).
//!
//! Everything is blocking with a deadline; nothing here spawns a thread.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A D-Bus value, as sent or received. Arrays carry their element
/// signature so that an empty one can still be marshalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Str(String),
    ObjectPath(String),
    Signature(String),
    Array(String, Vec<Value>),
    Struct(Vec<Value>),
    Variant(Box<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// The type signature of this value (`a(sv)`, `t`, ...).
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::I32(_) => "i".into(),
            Value::U32(_) => "u".into(),
            Value::I64(_) => "x".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::ObjectPath(_) => "o".into(),
            Value::Signature(_) => "g".into(),
            Value::Array(elem, _) => format!("a{elem}"),
            Value::Struct(fields) => format!("({})", fields.iter().map(Value::signature).collect::<String>()),
            Value::Variant(_) => "v".into(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::ObjectPath(s) | Value::Signature(s) => Some(s),
            _ => None,
        }
    }
}

/// What went wrong talking to the bus.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    #[error("{op}: {source}")]
    Io { op: &'static str, source: std::io::Error },
    #[error("authentication refused: {0}")]
    Auth(String),
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// An error reply: the D-Bus error name and its message.
    #[error("{name}: {message}")]
    Remote { name: String, message: String },
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> DbusError {
    move |source| DbusError::Io { op, source }
}

/// The alignment of a type on the wire, by its signature's first character.
fn alignment(sig: u8) -> usize {
    match sig {
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b'h' | b's' | b'o' | b'a' => 4,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        _ => 1,
    }
}

/// Marshals values (little-endian). Offsets are from the start of the
/// buffer, which is 8-aligned in the message (header and body both are).
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn signature(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(*b as u32),
            Value::I32(i) => self.u32(*i as u32),
            Value::U32(u) => self.u32(*u),
            Value::I64(i) => {
                self.pad(8);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
            Value::U64(u) => {
                self.pad(8);
                self.buf.extend_from_slice(&u.to_le_bytes());
            }
            Value::Str(s) | Value::ObjectPath(s) => self.string(s),
            Value::Signature(s) => self.signature(s),
            Value::Array(elem, items) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // The padding to the first element is not part of the length.
                self.pad(alignment(elem.as_bytes().first().copied().unwrap_or(b'y')));
                let start = self.buf.len();
                for item in items {
                    self.value(item);
                }
                let len = (self.buf.len() - start) as u32;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.value(f);
                }
            }
            Value::Variant(inner) => {
                self.signature(&inner.signature());
                self.value(inner);
            }
        }
    }
}

/// Splits the first complete type off a signature: `a(sv)s` → (`a(sv)`, `s`).
fn split_type(sig: &str) -> Result<(&str, &str), DbusError> {
    let bytes = sig.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b'a' {
        i += 1;
    }
    let end = match bytes.get(i) {
        None => return Err(DbusError::Malformed("truncated signature")),
        Some(b'(') | Some(b'{') => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match bytes.get(j) {
                    None => return Err(DbusError::Malformed("unbalanced signature")),
                    Some(b'(') | Some(b'{') => depth += 1,
                    Some(b')') | Some(b'}') => {
                        depth -= 1;
                        if depth == 0 {
                            break j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        Some(_) => i + 1,
    };
    Ok(sig.split_at(end))
}

/// Unmarshals values of a given signature.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big_endian: bool,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], big_endian: bool) -> Reader<'a> {
        Reader { buf, pos: 0, big_endian, depth: 0 }
    }

    fn align(&mut self, n: usize) -> Result<(), DbusError> {
        let next = self.pos.next_multiple_of(n);
        if next > self.buf.len() {
            return Err(DbusError::Malformed("truncated"));
        }
        self.pos = next;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DbusError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or(DbusError::Malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, DbusError> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| DbusError::Malformed("truncated"))?;
        Ok(if self.big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }

    fn u64(&mut self) -> Result<u64, DbusError> {
        self.align(8)?;
        let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| DbusError::Malformed("truncated"))?;
        Ok(if self.big_endian { u64::from_be_bytes(b) } else { u64::from_le_bytes(b) })
    }

    fn text(&mut self, len: usize) -> Result<String, DbusError> {
        let s = self.take(len)?;
        let nul = self.take(1)?;
        if nul != [0] {
            return Err(DbusError::Malformed("string without its terminating nul"));
        }
        String::from_utf8(s.to_vec()).map_err(|_| DbusError::Malformed("string is not UTF-8"))
    }

    fn signature(&mut self) -> Result<String, DbusError> {
        let len = self.take(1)?[0] as usize;
        self.text(len)
    }

    /// One value of the single complete type `sig`.
    fn value(&mut self, sig: &str) -> Result<Value, DbusError> {
        // The spec's limit is 64 nested containers; far less is ever used here.
        if self.depth > 32 {
            return Err(DbusError::Malformed("nested too deeply"));
        }
        let first = sig.as_bytes().first().copied().ok_or(DbusError::Malformed("empty signature"))?;
        Ok(match first {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.u32()? != 0),
            b'i' => Value::I32(self.u32()? as i32),
            b'u' | b'h' => Value::U32(self.u32()?),
            b'n' | b'q' => {
                self.align(2)?;
                let b = self.take(2)?;
                let v =
                    if self.big_endian { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) };
                if first == b'n' {
                    Value::I32(v as i16 as i32)
                } else {
                    Value::U32(v as u32)
                }
            }
            b'x' => Value::I64(self.u64()? as i64),
            b't' | b'd' => Value::U64(self.u64()?),
            b's' => {
                let len = self.u32()? as usize;
                Value::Str(self.text(len)?)
            }
            b'o' => {
                let len = self.u32()? as usize;
                Value::ObjectPath(self.text(len)?)
            }
            b'g' => Value::Signature(self.signature()?),
            b'v' => {
                let inner = self.signature()?;
                let (one, rest) = split_type(&inner)?;
                if !rest.is_empty() {
                    return Err(DbusError::Malformed("variant holds more than one type"));
                }
                self.depth += 1;
                let v = self.value(one)?;
                self.depth -= 1;
                Value::Variant(Box::new(v))
            }
            b'a' => {
                let len = self.u32()? as usize;
                let elem = &sig[1..];
                self.align(alignment(elem.as_bytes().first().copied().unwrap_or(b'y')))?;
                let end = self.pos.checked_add(len).filter(|e| *e <= self.buf.len());
                let end = end.ok_or(DbusError::Malformed("array longer than the message"))?;
                let mut items = Vec::new();
                self.depth += 1;
                while self.pos < end {
                    items.push(self.value(elem)?);
                }
                self.depth -= 1;
                if self.pos != end {
                    return Err(DbusError::Malformed("array length does not match its elements"));
                }
                Value::Array(elem.to_string(), items)
            }
            b'(' | b'{' => {
                self.align(8)?;
                let mut inner = &sig[1..sig.len() - 1];
                let mut fields = Vec::new();
                self.depth += 1;
                while !inner.is_empty() {
                    let (one, rest) = split_type(inner)?;
                    fields.push(self.value(one)?);
                    inner = rest;
                }
                self.depth -= 1;
                Value::Struct(fields)
            }
            _ => return Err(DbusError::Malformed("unknown type in signature")),
        })
    }

    /// Every value of a (possibly multi-type) signature.
    fn values(&mut self, mut sig: &str) -> Result<Vec<Value>, DbusError> {
        let mut out = Vec::new();
        while !sig.is_empty() {
            let (one, rest) = split_type(sig)?;
            out.push(self.value(one)?);
            sig = rest;
        }
        Ok(out)
    }
}

pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// Header field codes.
const PATH: u8 = 1;
const INTERFACE: u8 = 2;
const MEMBER: u8 = 3;
const ERROR_NAME: u8 = 4;
const REPLY_SERIAL: u8 = 5;
const DESTINATION: u8 = 6;
const SENDER: u8 = 7;
const SIGNATURE: u8 = 8;

/// No message we deal with comes near this (the spec allows 128 MiB).
const MAX_MESSAGE: usize = 16 << 20;

/// One D-Bus message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

impl Message {
    pub fn method_call(destination: &str, path: &str, interface: &str, member: &str, body: Vec<Value>) -> Message {
        Message {
            kind: METHOD_CALL,
            path: Some(path.into()),
            interface: Some(interface.into()),
            member: Some(member.into()),
            destination: Some(destination.into()),
            body,
            ..Message::default()
        }
    }

    /// The wire form (little-endian, protocol version 1).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Writer::default();
        for v in &self.body {
            body.value(v);
        }
        let signature: String = self.body.iter().map(Value::signature).collect();
        let mut fields = Vec::new();
        let mut field =
            |code: u8, v: Value| fields.push(Value::Struct(vec![Value::Byte(code), Value::Variant(Box::new(v))]));
        if let Some(p) = &self.path {
            field(PATH, Value::ObjectPath(p.clone()));
        }
        if let Some(i) = &self.interface {
            field(INTERFACE, Value::str(i.clone()));
        }
        if let Some(m) = &self.member {
            field(MEMBER, Value::str(m.clone()));
        }
        if let Some(e) = &self.error_name {
            field(ERROR_NAME, Value::str(e.clone()));
        }
        if let Some(r) = self.reply_serial {
            field(REPLY_SERIAL, Value::U32(r));
        }
        if let Some(d) = &self.destination {
            field(DESTINATION, Value::str(d.clone()));
        }
        if let Some(s) = &self.sender {
            field(SENDER, Value::str(s.clone()));
        }
        if !signature.is_empty() {
            field(SIGNATURE, Value::Signature(signature));
        }
        let mut w = Writer::default();
        w.buf.extend_from_slice(&[b'l', self.kind, 0, 1]);
        w.u32(body.buf.len() as u32);
        w.u32(self.serial);
        w.value(&Value::Array("(yv)".into(), fields));
        w.pad(8);
        w.buf.extend_from_slice(&body.buf);
        w.buf
    }

    /// The size of the message that starts with these 16 bytes.
    fn total_len(head: &[u8; 16]) -> Result<usize, DbusError> {
        let big = match head[0] {
            b'l' => false,
            b'B' => true,
            _ => return Err(DbusError::Malformed("bad endianness mark")),
        };
        let u = |b: &[u8]| {
            let a = [b[0], b[1], b[2], b[3]];
            (if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }) as usize
        };
        let (body, fields) = (u(&head[4..8]), u(&head[12..16]));
        let total = (16 + fields).next_multiple_of(8) + body;
        if total > MAX_MESSAGE {
            return Err(DbusError::Malformed("message too large"));
        }
        Ok(total)
    }

    /// Parses one complete message.
    pub fn decode(buf: &[u8]) -> Result<Message, DbusError> {
        let head: &[u8; 16] = buf.get(..16).and_then(|h| h.try_into().ok()).ok_or(DbusError::Malformed("truncated"))?;
        if Message::total_len(head)? != buf.len() {
            return Err(DbusError::Malformed("length does not match the header"));
        }
        let big = head[0] == b'B';
        let mut r = Reader::new(buf, big);
        r.pos = 4;
        let body_len = r.u32()? as usize;
        let mut m = Message { kind: head[1], serial: r.u32()?, ..Message::default() };
        let mut signature = String::new();
        let Value::Array(_, fields) = r.value("a(yv)")? else { return Err(DbusError::Malformed("header")) };
        for f in fields {
            let Value::Struct(pair) = f else { continue };
            let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (pair.first(), pair.get(1)) else { continue };
            let text = v.as_str().map(str::to_string);
            match *code {
                PATH => m.path = text,
                INTERFACE => m.interface = text,
                MEMBER => m.member = text,
                ERROR_NAME => m.error_name = text,
                REPLY_SERIAL => m.reply_serial = if let Value::U32(s) = **v { Some(s) } else { None },
                DESTINATION => m.destination = text,
                SENDER => m.sender = text,
                SIGNATURE => signature = text.unwrap_or_default(),
                _ => {}
            }
        }
        r.align(8)?;
        if buf.len() - r.pos != body_len {
            return Err(DbusError::Malformed("body length"));
        }
        let mut body = Reader::new(&buf[r.pos..], big);
        m.body = body.values(&signature)?;
        if body.pos != body_len {
            return Err(DbusError::Malformed("body longer than its signature"));
        }
        Ok(m)
    }

    /// An error reply as a [`DbusError`].
    fn into_error(self) -> DbusError {
        DbusError::Remote {
            name: self.error_name.unwrap_or_default(),
            message: self.body.first().and_then(Value::as_str).unwrap_or_default().to_string(),
        }
    }
}

/// Where a bus listens: `unix:path=/run/dbus/system_bus_socket` (the only
/// transport systemd's buses use).
pub fn parse_address(address: &str) -> Option<PathBuf> {
    // A list of addresses separated by ';': the first unix path one.
    address.split(';').find_map(|a| {
        let params = a.strip_prefix("unix:")?;
        params.split(',').find_map(|kv| kv.strip_prefix("path=")).map(|p| PathBuf::from(unescape(p)))
    })
}

/// D-Bus addresses escape bytes as `%xx`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A connection to a message bus.
pub struct Connection {
    sock: UnixStream,
    serial: u32,
    /// Bytes read but not yet parsed.
    pending: Vec<u8>,
    /// Signals that arrived while waiting for a reply.
    signals: VecDeque<Message>,
}

impl Connection {
    /// Connects to a message bus, authenticates as our uid and says
    /// `Hello`; `matches` are match rules added in the same round trip.
    pub fn open(socket: &Path, matches: &[&str], timeout: Duration) -> Result<Connection, DbusError> {
        Connection::handshake(socket, Some(matches), timeout)
    }

    /// Connects straight to a peer (systemd's own socket, as systemctl does
    /// where there is no bus): no `Hello`, no match rules; the peer sends
    /// its signals to every such connection.
    pub fn open_direct(socket: &Path, timeout: Duration) -> Result<Connection, DbusError> {
        Connection::handshake(socket, None, timeout)
    }

    fn handshake(socket: &Path, bus: Option<&[&str]>, timeout: Duration) -> Result<Connection, DbusError> {
        let sock = UnixStream::connect(socket).map_err(io("connect"))?;
        let mut c = Connection { sock, serial: 0, pending: Vec::new(), signals: VecDeque::new() };
        let deadline = Instant::now() + timeout;
        // The whole handshake in one write: the peer reads it in order.
        let uid = nix_uid();
        let hex: String = uid.to_string().bytes().map(|b| format!("{b:02x}")).collect();
        let mut out = format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").into_bytes();
        let mut serials = Vec::new();
        if let Some(matches) = bus {
            let daemon = |member: &str, body| {
                Message::method_call(
                    "org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus",
                    member,
                    body,
                )
            };
            let hello = c.next_message(daemon("Hello", vec![]));
            serials.push(hello.serial);
            out.extend(hello.encode());
            for rule in matches {
                let m = c.next_message(daemon("AddMatch", vec![Value::str(*rule)]));
                serials.push(m.serial);
                out.extend(m.encode());
            }
        }
        c.sock.write_all(&out).map_err(io("write to the bus"))?;
        let line = c.read_line(deadline)?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Auth(line));
        }
        for s in serials {
            c.reply_to(s, deadline)?;
        }
        Ok(c)
    }

    fn next_message(&mut self, mut m: Message) -> Message {
        self.serial = self.serial.wrapping_add(1).max(1);
        m.serial = self.serial;
        m
    }

    /// Reads more bytes into `pending`, waiting at most until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), DbusError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DbusError::Timeout(Duration::ZERO));
        }
        self.sock.set_read_timeout(Some(left)).map_err(io("set a read timeout"))?;
        let mut buf = [0u8; 4096];
        match self.sock.read(&mut buf) {
            Ok(0) => Err(DbusError::Io {
                op: "read from the bus",
                source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            }),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Err(DbusError::Timeout(left))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(io("read from the bus")(e)),
        }
    }

    /// One `\r\n`-terminated line of the authentication exchange.
    fn read_line(&mut self, deadline: Instant) -> Result<String, DbusError> {
        loop {
            if let Some(at) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.pending[..at]).into_owned();
                self.pending.drain(..at + 2);
                return Ok(line);
            }
            if self.pending.len() > 4096 {
                return Err(DbusError::Auth("overlong line".into()));
            }
            self.fill(deadline)?;
        }
    }

    /// The next message from the bus.
    fn read_message(&mut self, deadline: Instant) -> Result<Message, DbusError> {
        loop {
            if self.pending.len() >= 16 {
                let head: [u8; 16] = self.pending[..16].try_into().map_err(|_| DbusError::Malformed("header"))?;
                let total = Message::total_len(&head)?;
                if self.pending.len() >= total {
                    let m = Message::decode(&self.pending[..total]);
                    self.pending.drain(..total);
                    return m;
                }
            }
            self.fill(deadline)?;
        }
    }

    /// Waits for the reply to `serial`; signals meanwhile are kept.
    fn reply_to(&mut self, serial: u32, deadline: Instant) -> Result<Message, DbusError> {
        loop {
            let m = self.read_message(deadline)?;
            match m.kind {
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m),
                ERROR if m.reply_serial == Some(serial) => return Err(m.into_error()),
                SIGNAL => self.signals.push_back(m),
                _ => {}
            }
        }
    }

    /// Sends a message without waiting for anything (a signal); returns its serial.
    pub fn send(&mut self, m: Message) -> Result<u32, DbusError> {
        let m = self.next_message(m);
        self.sock.write_all(&m.encode()).map_err(io("write to the bus"))?;
        Ok(m.serial)
    }

    /// Calls a method and returns the reply's body.
    pub fn call(&mut self, m: Message, timeout: Duration) -> Result<Vec<Value>, DbusError> {
        let deadline = Instant::now() + timeout;
        let serial = self.send(m)?;
        Ok(self.reply_to(serial, deadline)?.body)
    }

    /// Waits for a signal that `wanted` accepts (signals seen earlier first).
    pub fn wait_signal(
        &mut self,
        timeout: Duration,
        mut wanted: impl FnMut(&Message) -> bool,
    ) -> Result<Message, DbusError> {
        if let Some(i) = self.signals.iter().position(&mut wanted) {
            return Ok(self.signals.remove(i).expect("position is in range"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.read_message(deadline)?;
            if m.kind == SIGNAL && wanted(&m) {
                return Ok(m);
            }
        }
    }
}

fn nix_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: Value) {
        let mut w = Writer::default();
        w.value(&v);
        let mut r = Reader::new(&w.buf, false);
        assert_eq!(r.value(&v.signature()).unwrap(), v);
        assert_eq!(r.pos, w.buf.len());
    }

    #[test]
    fn values_round_trip() {
        roundtrip(Value::U64(u64::MAX));
        roundtrip(Value::str("system.slice"));
        roundtrip(Value::Array("u".into(), vec![Value::U32(4242)]));
        roundtrip(Value::Array("y".into(), vec![Value::Byte(0b101), Value::Byte(1)]));
        roundtrip(Value::Array("(sv)".into(), vec![]));
        roundtrip(Value::Array(
            "(sa(sv))".into(),
            vec![Value::Struct(vec![
                Value::str("x.service"),
                Value::Array(
                    "(sv)".into(),
                    vec![Value::Struct(vec![Value::str("A"), Value::Variant(Box::new(Value::Bool(true)))])],
                ),
            ])],
        ));
    }

    #[test]
    fn array_padding_is_not_counted() {
        // at: u32 length 8, then 4 bytes of padding to the u64, then the u64.
        let mut w = Writer::default();
        w.value(&Value::Array("t".into(), vec![Value::U64(7)]));
        assert_eq!(w.buf.len(), 16);
        assert_eq!(&w.buf[..4], &8u32.to_le_bytes());
        assert_eq!(&w.buf[8..], &7u64.to_le_bytes());
    }

    /// A property list entry, byte by byte: the struct aligned to 8, the
    /// name's length, bytes and nul, the variant's signature, its 8-aligned u64.
    #[test]
    fn property_entry_bytes() {
        let mut w = Writer::default();
        w.value(&Value::Array(
            "(sv)".into(),
            vec![Value::Struct(vec![Value::str("TasksMax"), Value::Variant(Box::new(Value::U64(64)))])],
        ));
        let expect: Vec<u8> = [
            &24u32.to_le_bytes()[..], // array length, from the first struct
            &[0, 0, 0, 0],            // pad to 8
            &8u32.to_le_bytes(),
            b"TasksMax\0",
            &[1, b't', 0],        // variant signature, ends at 24: aligned
            &64u64.to_le_bytes(), // the u64
        ]
        .concat();
        assert_eq!(w.buf, expect);
    }

    #[test]
    fn messages_round_trip() {
        let mut m = Message::method_call(
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "StopUnit",
            vec![Value::str("hull-a.scope"), Value::str("replace")],
        );
        m.serial = 9;
        let bytes = m.encode();
        assert_eq!(&bytes[..4], &[b'l', METHOD_CALL, 0, 1]);
        assert_eq!(Message::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn big_endian_signal_decodes() {
        // JobRemoved(u 7, o "/j/7", s "a.scope", s "done") from a big-endian peer.
        let mut body = Vec::new();
        body.extend_from_slice(&7u32.to_be_bytes());
        body.extend_from_slice(&4u32.to_be_bytes());
        body.extend_from_slice(b"/j/7\0");
        body.extend_from_slice(&[0, 0, 0]);
        body.extend_from_slice(&7u32.to_be_bytes());
        body.extend_from_slice(b"a.scope\0");
        body.extend_from_slice(&4u32.to_be_bytes());
        body.extend_from_slice(b"done\0");
        let mut fields = Vec::new();
        // one field: SIGNATURE "uoss"
        fields.extend_from_slice(&[SIGNATURE, 1, b'g', 0, 4]);
        fields.extend_from_slice(b"uoss\0");
        let mut msg = vec![b'B', SIGNAL, 0, 1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes());
        msg.extend_from_slice(&3u32.to_be_bytes());
        msg.extend_from_slice(&(fields.len() as u32).to_be_bytes());
        msg.extend_from_slice(&fields);
        while msg.len() % 8 != 0 {
            msg.push(0);
        }
        msg.extend_from_slice(&body);
        let m = Message::decode(&msg).unwrap();
        assert_eq!(m.kind, SIGNAL);
        assert_eq!(
            m.body,
            vec![Value::U32(7), Value::ObjectPath("/j/7".into()), Value::str("a.scope"), Value::str("done")]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut m = Message::method_call("d", "/p", "i.f", "M", vec![Value::str("abc"), Value::U64(1)]);
        m.serial = 1;
        let good = m.encode();
        for cut in 0..good.len() {
            assert!(Message::decode(&good[..cut]).is_err());
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            let _ = Message::decode(&bad);
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("unix:path=/run/dbus/system_bus_socket"),
            Some(PathBuf::from("/run/dbus/system_bus_socket"))
        );
        assert_eq!(parse_address("tcp:host=x;unix:guid=1,path=/a%20b"), Some(PathBuf::from("/a b")));
        assert_eq!(parse_address("unix:abstract=/x"), None);
    }
}
