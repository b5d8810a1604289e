//! `linux.netDevices` (runtime-spec 1.2): host network interfaces moved into
//! the container's network namespace, renamed if config.json says so.
//!
//! The parent does it over rtnetlink, once the container's network namespace
//! exists and before the init's `Go` (so the init's sysctls and every hook
//! see the devices):
//! 1. each device is looked up on the host, and its new name in the
//!    container's namespace: a missing device or a name already taken fails
//!    before anything moves (the spec: "MUST check if moving … is possible");
//! 2. its permanent addresses of global scope are read: a device changing
//!    namespaces loses every address, and the spec says these are kept;
//! 3. one RTM_NEWLINK carrying IFLA_NET_NS_FD and IFLA_IFNAME moves it, and
//!    the kernel renames it in the new namespace (a `%d` template there gets a
//!    free number). MAC, MTU and the other link attributes go with it;
//! 4. through a netlink socket made inside the container's namespace, the
//!    addresses are added back and the device is set up (the spec requires
//!    it up, whatever its state on the host).
//!
//! Nothing is moved back at `delete`: the spec says the runtime MUST NOT
//! (the namespace's owner manages the device; when the namespace goes, the
//! kernel returns physical devices to the host and destroys virtual ones,
//! a veth together with its peer). runc and crun do the same.
//!
//! The messages are encoded here by hand: four requests do not need a
//! netlink crate, and the binary pays nothing it does not use.

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::socket::{self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::namespaces::NamespacePlan;

#[derive(Debug, thiserror::Error)]
pub enum NetDevError {
    #[error("linux.netDevices.{device}: no such network device on the host")]
    Missing { device: String },
    #[error("linux.netDevices.{device}: a device named {name:?} already exists in the container's network namespace")]
    NameTaken { device: String, name: String },
    #[error("linux.netDevices: {0}")]
    Refused(String),
    #[error("linux.netDevices.{device}: {step}: {errno}")]
    Netlink { device: String, step: String, errno: Errno },
    #[error("linux.netDevices: {step}: {errno}")]
    Sys { step: String, errno: Errno },
}

/// One entry of `linux.netDevices`: the device's name on the host and in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDevice {
    pub host: String,
    pub name: String,
}

/// `linux.netDevices`, in a stable order (the JSON object is a map).
pub fn from_spec(spec: &Spec) -> Vec<NetDevice> {
    let map = spec.linux().as_ref().and_then(|l| l.net_devices().as_ref());
    let mut devs: Vec<NetDevice> = map
        .into_iter()
        .flatten()
        .map(|(host, d)| NetDevice {
            host: host.clone(),
            name: d.name().clone().filter(|n| !n.is_empty()).unwrap_or_else(|| host.clone()),
        })
        .collect();
    devs.sort_by(|a, b| a.host.cmp(&b.host));
    devs
}

/// The kernel's rule for an interface name (`dev_valid_name`); a new name may
/// also be a template with one `%d`, which the kernel fills in.
pub fn check_name(name: &str, template_ok: bool) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() >= uapi::IFNAMSIZ {
        return Err("is longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Err("is not a device name");
    }
    if name.bytes().any(|b| b == 0 || b == b'/' || b == b':' || b" \t\n\x0b\x0c\r".contains(&b)) {
        return Err("contains '/', ':', a NUL or white space");
    }
    if let Some(i) = name.find('%') {
        if !template_ok {
            return Err("is a name template, not a device on the host");
        }
        if !name[i + 1..].starts_with('d') || name[i + 2..].contains('%') {
            return Err("is not a name template: it may hold one %d and no other %");
        }
    }
    Ok(())
}

fn is_template(name: &str) -> bool {
    name.contains('%')
}

/// Checks made before anything runs: root (a rootless container has no say
/// over the host's devices), a network namespace that is not the host's, and
/// every device present on the host.
pub fn check_host(devs: &[NetDevice], ns: &NamespacePlan) -> Result<(), NetDevError> {
    if !crate::sys::is_root() {
        return Err(NetDevError::Refused("moving host network devices needs root: rootless containers cannot".into()));
    }
    if let Some(j) = ns.joins.iter().find(|j| j.kind == LinuxNamespaceType::Network) {
        if crate::namespaces::same_as_host("net", &j.path) {
            return Err(NetDevError::Refused(format!(
                "the network namespace {} is the host's: the devices would not move",
                j.path.display()
            )));
        }
    }
    let mut host = Netlink::open().map_err(sys("open a netlink socket"))?;
    for d in devs {
        host.index_of(&d.host)
            .map_err(|errno| netlink(d, "look it up on the host", errno))?
            .ok_or_else(|| NetDevError::Missing { device: d.host.clone() })?;
    }
    Ok(())
}

/// Does the init's network namespace exist only once the init has made it
/// (after joining a user namespace)? Then the init asks for the move.
pub fn moved_on_request(ns: &NamespacePlan) -> bool {
    ns.unshare_flags.contains(CloneFlags::CLONE_NEWNET)
}

/// Moves every device into the network namespace of the container whose
/// clone3 child is `pid`: the namespace config.json names by path, or the one
/// the child was made (or unshared) in.
pub fn move_into_container(devs: &[NetDevice], ns: &NamespacePlan, pid: i32) -> Result<(), NetDevError> {
    match ns.joins.iter().find(|j| j.kind == LinuxNamespaceType::Network) {
        Some(j) => move_all(devs, j.fd.as_fd()),
        None => {
            let path = format!("/proc/{pid}/ns/net");
            let netns = File::open(&path).map_err(|e| NetDevError::Sys {
                step: format!("open {path}"),
                errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
            })?;
            move_all(devs, netns.as_fd())
        }
    }
}

fn move_all(devs: &[NetDevice], netns: BorrowedFd<'_>) -> Result<(), NetDevError> {
    let mut host = Netlink::open().map_err(sys("open a netlink socket"))?;
    let mut inside = Netlink::open_in(netns)?;
    let present = inside.links().map_err(sys("list the devices of the container's network namespace"))?;
    let mut indexes = Vec::with_capacity(devs.len());
    for d in devs {
        let index = host
            .index_of(&d.host)
            .map_err(|errno| netlink(d, "look it up on the host", errno))?
            .ok_or_else(|| NetDevError::Missing { device: d.host.clone() })?;
        if !is_template(&d.name) && present.iter().any(|(_, n)| *n == d.name) {
            return Err(NetDevError::NameTaken { device: d.host.clone(), name: d.name.clone() });
        }
        indexes.push(index);
    }
    for (d, index) in devs.iter().zip(indexes) {
        move_one(d, index, &mut host, &mut inside, netns)?;
    }
    Ok(())
}

fn move_one(
    d: &NetDevice,
    index: i32,
    host: &mut Netlink,
    inside: &mut Netlink,
    netns: BorrowedFd<'_>,
) -> Result<(), NetDevError> {
    let err = |step: &str| {
        let step = step.to_string();
        move |errno| netlink(d, &step, errno)
    };
    let addresses: Vec<Address> =
        host.addresses(index).map_err(err("read its addresses"))?.into_iter().filter(Address::kept).collect();
    let before =
        if is_template(&d.name) { inside.links().map_err(err("list the container's devices"))? } else { vec![] };
    host.move_link(index, netns, &d.name).map_err(err("move it into the container's network namespace"))?;
    let (new_index, new_name) = if is_template(&d.name) {
        // The kernel picked the number: the device is the one that was not there before.
        let after = inside.links().map_err(err("list the container's devices"))?;
        after
            .into_iter()
            .find(|(i, n)| !before.iter().any(|(b, _)| b == i) && matches_template(n, &d.name))
            .ok_or_else(|| netlink(d, "find it in the container's network namespace", Errno::ENODEV))?
    } else {
        let i = inside
            .index_of(&d.name)
            .map_err(err("find it in the container's network namespace"))?
            .ok_or_else(|| netlink(d, "find it in the container's network namespace", Errno::ENODEV))?;
        (i, d.name.clone())
    };
    for a in &addresses {
        inside
            .add_address(new_index, a, &d.host, &new_name)
            .map_err(|errno| netlink(d, &format!("restore its address {}", a.text()), errno))?;
    }
    inside.set_up(new_index).map_err(err("set it up"))?;
    Ok(())
}

fn matches_template(name: &str, template: &str) -> bool {
    let Some((prefix, suffix)) = template.split_once("%d") else { return false };
    name.len() > prefix.len() + suffix.len()
        && name.starts_with(prefix)
        && name.ends_with(suffix)
        && name[prefix.len()..name.len() - suffix.len()].bytes().all(|b| b.is_ascii_digit())
}

fn netlink(d: &NetDevice, step: &str, errno: Errno) -> NetDevError {
    NetDevError::Netlink { device: d.host.clone(), step: step.to_string(), errno }
}

fn sys(step: &'static str) -> impl FnOnce(Errno) -> NetDevError {
    move |errno| NetDevError::Sys { step: step.to_string(), errno }
}

/// Values from linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, if.h.
mod uapi {
    pub const NLMSG_HDRLEN: usize = 16;
    pub const NLMSG_ERROR: u16 = 2;
    pub const NLMSG_DONE: u16 = 3;
    pub const NLM_F_REQUEST: u16 = 0x1;
    pub const NLM_F_MULTI: u16 = 0x2;
    pub const NLM_F_ACK: u16 = 0x4;
    pub const NLM_F_REPLACE: u16 = 0x100;
    pub const NLM_F_CREATE: u16 = 0x400;
    pub const NLM_F_DUMP: u16 = 0x300;
    pub const RTM_NEWLINK: u16 = 16;
    pub const RTM_GETLINK: u16 = 18;
    pub const RTM_NEWADDR: u16 = 20;
    pub const RTM_GETADDR: u16 = 22;
    pub const IFLA_IFNAME: u16 = 3;
    pub const IFLA_NET_NS_FD: u16 = 28;
    pub const IFA_ADDRESS: u16 = 1;
    pub const IFA_LOCAL: u16 = 2;
    pub const IFA_LABEL: u16 = 3;
    pub const IFA_BROADCAST: u16 = 4;
    pub const IFA_ANYCAST: u16 = 5;
    pub const IFA_FLAGS: u16 = 8;
    pub const IFA_RT_PRIORITY: u16 = 9;
    pub const IFA_PROTO: u16 = 11;
    pub const IFA_F_PERMANENT: u32 = 0x80;
    /// NODAD, OPTIMISTIC, HOMEADDRESS, MANAGETEMPADDR, NOPREFIXROUTE,
    /// MCAUTOJOIN: the flags a new address may ask for (secondary,
    /// permanent, tentative… are the kernel's to set).
    pub const IFA_F_SETTABLE: u32 = 0x02 | 0x04 | 0x10 | 0x100 | 0x200 | 0x400;
    pub const RT_SCOPE_UNIVERSE: u8 = 0;
    pub const IFF_UP: u32 = 0x1;
    pub const AF_INET: u8 = 2;
    pub const AF_INET6: u8 = 10;
    pub const IFNAMSIZ: usize = 16;
    /// The type bits of an attribute (the top two say nested / byte order).
    pub const NLA_TYPE_MASK: u16 = 0x3fff;
}

use uapi::*;

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn ne_u16(b: &[u8]) -> u16 {
    u16::from_ne_bytes([b[0], b[1]])
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

fn c_string(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// One request being encoded: nlmsghdr, the family's header, attributes.
struct Request(Vec<u8>);

impl Request {
    fn new(kind: u16, flags: u16, header: &[u8]) -> Request {
        let mut b = Vec::with_capacity(128);
        b.extend_from_slice(&0u32.to_ne_bytes()); // length: `finish`
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes()); // sequence number: `finish`
        b.extend_from_slice(&0u32.to_ne_bytes()); // port id: 0 is the kernel
        b.extend_from_slice(header);
        Request(b)
    }

    fn attr(mut self, kind: u16, data: &[u8]) -> Request {
        self.0.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align(self.0.len()), 0);
        self
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[0..4].copy_from_slice(&len.to_ne_bytes());
        self.0[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.0
    }
}

/// struct ifinfomsg: family (AF_UNSPEC), pad, type, index, flags, change mask.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

/// struct ifaddrmsg: family, prefix length, flags (low byte), scope, index.
fn ifaddrmsg(family: u8, prefix_len: u8, flags: u8, scope: u8, index: u32) -> [u8; 8] {
    let mut h = [family, prefix_len, flags, scope, 0, 0, 0, 0];
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h
}

/// One message from the kernel.
struct Reply<'a> {
    kind: u16,
    flags: u16,
    seq: u32,
    payload: &'a [u8],
}

/// Splits a datagram into its messages; a length that does not fit is EBADMSG.
fn split(mut buf: &[u8]) -> Result<Vec<Reply<'_>>, Errno> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = ne_u32(&buf[0..4]) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(Errno::EBADMSG);
        }
        out.push(Reply {
            kind: ne_u16(&buf[4..6]),
            flags: ne_u16(&buf[6..8]),
            seq: ne_u32(&buf[8..12]),
            payload: &buf[NLMSG_HDRLEN..len],
        });
        buf = &buf[align(len).min(buf.len())..];
    }
    Ok(out)
}

/// The attributes after a family header: (type, data).
fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = ne_u16(&buf[0..2]) as usize;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((ne_u16(&buf[2..4]) & NLA_TYPE_MASK, &buf[4..len]));
        buf = &buf[align(len).min(buf.len())..];
    }
    out
}

fn attr_string(data: &[u8]) -> String {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// An address as RTM_GETADDR reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    family: u8,
    prefix_len: u8,
    scope: u8,
    /// IFA_FLAGS when present (32 bits), else the header's 8.
    flags: u32,
    attrs: Vec<(u16, Vec<u8>)>,
}

impl Address {
    /// (the device's index, the address) from an RTM_NEWADDR payload.
    fn parse(payload: &[u8]) -> Option<(u32, Address)> {
        if payload.len() < 8 {
            return None;
        }
        let attrs: Vec<(u16, Vec<u8>)> = attrs(&payload[8..]).into_iter().map(|(k, v)| (k, v.to_vec())).collect();
        let flags = attrs
            .iter()
            .find(|(k, v)| *k == IFA_FLAGS && v.len() >= 4)
            .map(|(_, v)| ne_u32(v))
            .unwrap_or(payload[2] as u32);
        let a = Address { family: payload[0], prefix_len: payload[1], scope: payload[3], flags, attrs };
        Some((ne_u32(&payload[4..8]), a))
    }

    /// The spec keeps permanent addresses of global scope (RFC 3549 2.3.3.2):
    /// the ones configured for the device, not link-local or autoconfigured ones.
    fn kept(&self) -> bool {
        self.flags & IFA_F_PERMANENT != 0 && self.scope == RT_SCOPE_UNIVERSE
    }

    fn attr(&self, kind: u16) -> Option<&[u8]> {
        self.attrs.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.as_slice())
    }

    /// `10.1.2.3/24`, `2001:db8::1/64`, for messages.
    fn text(&self) -> String {
        let ip = self.attr(IFA_LOCAL).or(self.attr(IFA_ADDRESS)).unwrap_or(&[]);
        let ip = match (self.family, ip.len()) {
            (AF_INET, 4) => Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
            (AF_INET6, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(ip);
                Ipv6Addr::from(b).to_string()
            }
            _ => format!("(family {})", self.family),
        };
        format!("{ip}/{}", self.prefix_len)
    }

    /// The RTM_NEWADDR that adds this address to device `index`, now named
    /// `name` (it was `host`): what the kernel reports about the address,
    /// less what only it may set (lifetimes, secondary, permanent).
    fn add_request(&self, index: i32, host: &str, name: &str) -> Request {
        let flags = self.flags & IFA_F_SETTABLE;
        let header = ifaddrmsg(self.family, self.prefix_len, flags as u8, self.scope, index as u32);
        let mut req = Request::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, &header);
        for (kind, data) in &self.attrs {
            match *kind {
                IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST | IFA_ANYCAST | IFA_RT_PRIORITY | IFA_PROTO => {
                    req = req.attr(*kind, data);
                }
                IFA_LABEL => {
                    if let Some(label) = relabel(&attr_string(data), host, name) {
                        req = req.attr(IFA_LABEL, &c_string(&label));
                    }
                }
                _ => {}
            }
        }
        req.attr(IFA_FLAGS, &flags.to_ne_bytes())
    }
}

/// An IPv4 label follows the device's name (`eth0`, `eth0:web`): after a
/// rename it follows the new one. None: let the kernel use the device's name.
fn relabel(label: &str, host: &str, name: &str) -> Option<String> {
    if label == host {
        return None;
    }
    match label.strip_prefix(host).and_then(|rest| rest.strip_prefix(':')) {
        Some(alias) => Some(format!("{name}:{alias}")).filter(|l| l.len() < IFNAMSIZ),
        None => Some(label.to_string()),
    }
}

/// A NETLINK_ROUTE socket of one network namespace.
struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    fn open() -> Result<Netlink, Errno> {
        let fd =
            socket::socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkRoute)?;
        socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        // Dumps come in datagrams of up to 32 KiB.
        Ok(Netlink { fd, seq: 0, buf: vec![0; 64 * 1024] })
    }

    /// A socket of the network namespace `netns`. A socket belongs to the
    /// namespace it was made in, so hull steps in, makes one and steps
    /// back (hull is single-threaded: nothing else runs meanwhile).
    fn open_in(netns: BorrowedFd<'_>) -> Result<Netlink, NetDevError> {
        let own = File::open("/proc/thread-self/ns/net").map_err(|e| NetDevError::Sys {
            step: "open /proc/thread-self/ns/net".into(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
        let id = |fd: BorrowedFd<'_>| nix::sys::stat::fstat(fd.as_raw_fd()).map(|st| (st.st_dev, st.st_ino));
        if id(own.as_fd()).map_err(sys("stat hull's network namespace"))?
            == id(netns).map_err(sys("stat the container's network namespace"))?
        {
            // Moving into our own namespace would only rename a host device.
            return Err(NetDevError::Refused("the container's network namespace is the host's".into()));
        }
        nix::sched::setns(netns, CloneFlags::CLONE_NEWNET).map_err(sys("enter the container's network namespace"))?;
        let sock = Netlink::open();
        // Back at once: the hooks and everything after run on the host.
        nix::sched::setns(own.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(sys("return to hull's own network namespace"))?;
        sock.map_err(sys("open a netlink socket in the container's network namespace"))
    }

    fn send(&mut self, req: Request) -> Result<u32, Errno> {
        self.seq = self.seq.wrapping_add(1);
        let msg = req.finish(self.seq);
        loop {
            match socket::send(self.fd.as_raw_fd(), &msg, MsgFlags::empty()) {
                Err(Errno::EINTR) => continue,
                r => return r.map(|_| self.seq),
            }
        }
    }

    /// Reads the answer to request `seq`, giving each data message to `each`,
    /// up to the acknowledgement, the end of a dump, or a single reply; an
    /// error from the kernel comes back as its errno.
    fn answer(&mut self, seq: u32, mut each: impl FnMut(u16, &[u8])) -> Result<(), Errno> {
        loop {
            let n = loop {
                match socket::recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()) {
                    Err(Errno::EINTR) => continue,
                    r => break r?,
                }
            };
            for m in split(&self.buf[..n])? {
                if m.seq != seq {
                    continue;
                }
                match m.kind {
                    NLMSG_ERROR | NLMSG_DONE => {
                        // struct nlmsgerr (or a dump's final status): a negative errno, or 0.
                        let code = if m.payload.len() >= 4 { ne_u32(m.payload) as i32 } else { 0 };
                        return if code < 0 { Err(Errno::from_raw(-code)) } else { Ok(()) };
                    }
                    kind => {
                        each(kind, m.payload);
                        if m.flags & NLM_F_MULTI == 0 {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// The index of the device called `name`; None if there is none.
    fn index_of(&mut self, name: &str) -> Result<Option<i32>, Errno> {
        let req = Request::new(RTM_GETLINK, 0, &ifinfomsg(0, 0, 0)).attr(IFLA_IFNAME, &c_string(name));
        let seq = self.send(req)?;
        let mut index = None;
        let r = self.answer(seq, |kind, p| {
            if kind == RTM_NEWLINK && p.len() >= 16 {
                index = Some(ne_u32(&p[4..8]) as i32);
            }
        });
        match r {
            Ok(()) => Ok(index),
            Err(Errno::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every device of the namespace: (index, name).
    fn links(&mut self) -> Result<Vec<(i32, String)>, Errno> {
        let seq = self.send(Request::new(RTM_GETLINK, NLM_F_DUMP, &ifinfomsg(0, 0, 0)))?;
        let mut out = Vec::new();
        self.answer(seq, |kind, p| {
            if kind == RTM_NEWLINK && p.len() >= 16 {
                let name = attrs(&p[16..]).into_iter().find(|(k, _)| *k == IFLA_IFNAME).map(|(_, v)| attr_string(v));
                out.push((ne_u32(&p[4..8]) as i32, name.unwrap_or_default()));
            }
        })?;
        Ok(out)
    }

    /// The addresses of device `index`, every family.
    fn addresses(&mut self, index: i32) -> Result<Vec<Address>, Errno> {
        // The kernel may ignore the index in a dump request: filtered here too.
        let seq = self.send(Request::new(RTM_GETADDR, NLM_F_DUMP, &ifaddrmsg(0, 0, 0, 0, index as u32)))?;
        let mut out = Vec::new();
        self.answer(seq, |kind, p| {
            if kind == RTM_NEWADDR {
                if let Some((i, a)) = Address::parse(p) {
                    if i == index as u32 {
                        out.push(a);
                    }
                }
            }
        })?;
        Ok(out)
    }

    /// Moves device `index` into `netns`, where it is called `name`.
    fn move_link(&mut self, index: i32, netns: BorrowedFd<'_>, name: &str) -> Result<(), Errno> {
        let req = Request::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index, 0, 0))
            .attr(IFLA_NET_NS_FD, &(netns.as_raw_fd() as u32).to_ne_bytes())
            .attr(IFLA_IFNAME, &c_string(name));
        let seq = self.send(req)?;
        self.answer(seq, |_, _| {})
    }

    fn add_address(&mut self, index: i32, a: &Address, host: &str, name: &str) -> Result<(), Errno> {
        let seq = self.send(a.add_request(index, host, name))?;
        self.answer(seq, |_, _| {})
    }

    fn set_up(&mut self, index: i32) -> Result<(), Errno> {
        let seq = self.send(Request::new(RTM_NEWLINK, NLM_F_ACK, &ifinfomsg(index, IFF_UP, IFF_UP)))?;
        self.answer(seq, |_, _| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernels_rule() {
        assert!(check_name("eth0", false).is_ok());
        assert!(check_name("a-b_c.d", false).is_ok());
        assert!(check_name("123456789012345", false).is_ok());
        assert!(check_name("1234567890123456", false).is_err());
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\0b"] {
            assert!(check_name(bad, true).is_err(), "{bad:?}");
        }
        assert!(check_name("eth%d", false).is_err(), "a host device is never a template");
        assert!(check_name("eth%d", true).is_ok());
        assert!(check_name("e%dx", true).is_ok());
        assert!(check_name("eth%s", true).is_err());
        assert!(check_name("e%d%d", true).is_err());
        assert!(check_name("eth%", true).is_err());
    }

    #[test]
    fn templates_match_what_the_kernel_makes_of_them() {
        assert!(matches_template("eth3", "eth%d"));
        assert!(matches_template("net12x", "net%dx"));
        assert!(!matches_template("eth", "eth%d"));
        assert!(!matches_template("ethx", "eth%d"));
        assert!(!matches_template("lo", "eth%d"));
    }

    #[test]
    fn a_request_is_a_header_and_aligned_attributes() {
        let msg = Request::new(RTM_GETLINK, 0, &ifinfomsg(7, 0, 0)).attr(IFLA_IFNAME, &c_string("eth0")).finish(42);
        // 16 (nlmsghdr) + 16 (ifinfomsg) + 4 + 5 bytes of "eth0\0", padded to 8.
        assert_eq!(msg.len(), 16 + 16 + 12);
        assert_eq!(ne_u32(&msg[0..4]) as usize, msg.len());
        assert_eq!(ne_u16(&msg[4..6]), RTM_GETLINK);
        assert_eq!(ne_u16(&msg[6..8]), NLM_F_REQUEST);
        assert_eq!(ne_u32(&msg[8..12]), 42);
        assert_eq!(ne_u32(&msg[20..24]), 7);
        let a = attrs(&msg[32..]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, IFLA_IFNAME);
        assert_eq!(attr_string(a[0].1), "eth0");
    }

    /// An RTM_NEWADDR payload as the kernel sends it.
    fn addr_payload(family: u8, prefix: u8, scope: u8, flags: u32, index: u32, local: &[u8], label: &str) -> Vec<u8> {
        let req = Request::new(RTM_NEWADDR, 0, &ifaddrmsg(family, prefix, flags as u8, scope, index))
            .attr(IFA_ADDRESS, local)
            .attr(IFA_LOCAL, local)
            .attr(IFA_LABEL, &c_string(label))
            .attr(IFA_FLAGS, &flags.to_ne_bytes())
            .attr(6, &[0xff; 16]); // IFA_CACHEINFO: lifetimes, never copied
        req.finish(1)[NLMSG_HDRLEN..].to_vec()
    }

    #[test]
    fn addresses_kept_are_permanent_and_global() {
        let p = addr_payload(AF_INET, 24, 0, IFA_F_PERMANENT, 5, &[10, 1, 2, 3], "dummy0");
        let (index, a) = Address::parse(&p).unwrap();
        assert_eq!(index, 5);
        assert!(a.kept());
        assert_eq!(a.text(), "10.1.2.3/24");
        let link = addr_payload(
            AF_INET6,
            64,
            253,
            IFA_F_PERMANENT,
            5,
            &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            "",
        );
        assert!(!Address::parse(&link).unwrap().1.kept(), "link scope");
        let dynamic =
            addr_payload(AF_INET6, 64, 0, 0, 5, &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "");
        let (_, d) = Address::parse(&dynamic).unwrap();
        assert!(!d.kept(), "not permanent");
        assert_eq!(d.text(), "2001:db8::1/64");
    }

    #[test]
    fn an_address_is_added_back_under_the_new_name_without_the_kernels_flags() {
        let secondary_nodad = IFA_F_PERMANENT | 0x01 | 0x02;
        let p = addr_payload(AF_INET, 24, 0, secondary_nodad, 5, &[10, 1, 2, 3], "dummy0:web");
        let (_, a) = Address::parse(&p).unwrap();
        let msg = a.add_request(9, "dummy0", "ctr0").finish(3);
        assert_eq!(ne_u16(&msg[4..6]), RTM_NEWADDR);
        let body = &msg[NLMSG_HDRLEN..];
        assert_eq!(&body[0..4], &[AF_INET, 24, 0x02, 0]);
        assert_eq!(ne_u32(&body[4..8]), 9);
        let attrs = attrs(&body[8..]);
        let get = |k| attrs.iter().find(|(kind, _)| *kind == k).map(|(_, v)| *v);
        assert_eq!(get(IFA_LOCAL), Some(&[10u8, 1, 2, 3][..]));
        assert_eq!(get(IFA_LABEL).map(attr_string).as_deref(), Some("ctr0:web"));
        assert_eq!(get(IFA_FLAGS).map(ne_u32), Some(0x02));
        assert_eq!(get(6), None, "lifetimes are left to the kernel");
    }

    #[test]
    fn labels_follow_the_rename() {
        assert_eq!(relabel("dummy0", "dummy0", "ctr0"), None);
        assert_eq!(relabel("dummy0:1", "dummy0", "ctr0").as_deref(), Some("ctr0:1"));
        assert_eq!(relabel("dummy0:toolongalias", "dummy0", "ctr0"), None);
        assert_eq!(relabel("other", "dummy0", "ctr0").as_deref(), Some("other"));
    }

    #[test]
    fn malformed_replies_are_refused_not_panicking() {
        assert_eq!(split(&[0; 8]).map(|v| v.len()), Ok(0));
        let mut bad = vec![0u8; 16];
        bad[0..4].copy_from_slice(&64u32.to_ne_bytes());
        assert!(split(&bad).is_err());
        assert!(attrs(&[200, 0, 1, 0]).is_empty());
        assert!(Address::parse(&[1, 2]).is_none());
    }
}
