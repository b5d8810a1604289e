//! The sync channel between `hull create` (the parent) and the container's
//! init (the child): a SOCK_SEQPACKET socketpair, so every message is one
//! datagram and needs no framing. Messages are a tag byte and a small payload.
//!
//! ```text
//! parent                                  child (init)
//!   clone3 ───────────────────────────────▶ (waits for Go if it needs maps/cgroup)
//!                      ◀───────────────── UserNs     (only when it joined namespaces by
//!                                                     path before making its user namespace)
//!   write uid/gid maps, join cgroups
//!   Go ───────────────────────────────────▶ join namespaces, mounts …
//!                      ◀───────────────── MoveNetDevices (netDevices, network namespace unshared by the child)
//!   move them, NetDevicesMoved ───────────▶
//!                      ◀───────────────── RunHooks   (only with createRuntime/prestart hooks)
//!   run hooks, HooksDone ─────────────────▶ createContainer hooks, pivot_root …
//!                      ◀───────────────── Ready      (or Error{errno, message} at any step)
//!   save state.json
//!   WaitForStart (create) / Start (run) ──▶ accept on start.sock, or go straight to execve
//! ```

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType};

pub const MAX_MESSAGE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// parent → child: id maps written, cgroups joined; go on.
    Go,
    /// child → parent: run the createRuntime (and prestart) hooks now.
    RunHooks,
    /// parent → child: the hooks ran.
    HooksDone,
    /// child → parent: everything is set up; waiting to be started.
    Ready,
    /// parent → child: the state is saved; wait on start.sock for `hull start`.
    WaitForStart,
    /// parent → child: run the process now (`hull run`, `hull exec`).
    Start,
    /// child → parent: the pid of the process that really is the container
    /// (when a second fork was needed, e.g. joining a user namespace plus a new pid namespace).
    Pid(i32),
    /// child → parent (or `start`): the seccomp notification listener travels
    /// with this message as SCM_RIGHTS, for the parent to pass to listenerPath.
    SeccompListener,
    /// child → parent (or `start`): everything is done, execve comes next.
    Exec,
    /// child → parent: the child made its user namespace (after joining the
    /// namespaces it was given by path): write the id maps now.
    UserNs,
    /// either way: a step failed; `errno` 0 means "no errno", the text says what.
    Error { errno: i32, message: String },
    /// child → parent: my network namespace exists now (unshared after
    /// joining a user namespace): move linux.netDevices into it.
    MoveNetDevices,
    /// parent → child: the devices are in.
    NetDevicesMoved,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty message")]
    Empty,
    #[error("unknown message tag {0}")]
    UnknownTag(u8),
    #[error("message tag {0} has a bad payload length {1}")]
    BadLength(u8, usize),
    #[error("error text is not UTF-8")]
    NotUtf8,
}

const GO: u8 = 1;
const RUN_HOOKS: u8 = 2;
const HOOKS_DONE: u8 = 3;
const READY: u8 = 4;
const WAIT_FOR_START: u8 = 5;
const START: u8 = 6;
const PID: u8 = 7;
const ERROR: u8 = 8;
const SECCOMP_LISTENER: u8 = 9;
const EXEC: u8 = 10;
const USER_NS: u8 = 11;
const MOVE_NET_DEVICES: u8 = 12;
const NET_DEVICES_MOVED: u8 = 13;

impl Message {
    /// Appends the wire form to `out` (the caller reuses one buffer).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Message::Go => out.push(GO),
            Message::RunHooks => out.push(RUN_HOOKS),
            Message::HooksDone => out.push(HOOKS_DONE),
            Message::Ready => out.push(READY),
            Message::WaitForStart => out.push(WAIT_FOR_START),
            Message::Start => out.push(START),
            Message::SeccompListener => out.push(SECCOMP_LISTENER),
            Message::Exec => out.push(EXEC),
            Message::UserNs => out.push(USER_NS),
            Message::MoveNetDevices => out.push(MOVE_NET_DEVICES),
            Message::NetDevicesMoved => out.push(NET_DEVICES_MOVED),
            Message::Pid(pid) => {
                out.push(PID);
                out.extend_from_slice(&pid.to_le_bytes());
            }
            Message::Error { errno, message } => {
                out.push(ERROR);
                out.extend_from_slice(&errno.to_le_bytes());
                let text = message.as_bytes();
                let room = MAX_MESSAGE - 5;
                // Cut on a char boundary so the text stays valid UTF-8.
                let mut end = text.len().min(room);
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                out.extend_from_slice(&text[..end]);
            }
        }
    }

    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let (&tag, rest) = buf.split_first().ok_or(DecodeError::Empty)?;
        let simple = |m: Message| if rest.is_empty() { Ok(m) } else { Err(DecodeError::BadLength(tag, rest.len())) };
        match tag {
            GO => simple(Message::Go),
            RUN_HOOKS => simple(Message::RunHooks),
            HOOKS_DONE => simple(Message::HooksDone),
            READY => simple(Message::Ready),
            WAIT_FOR_START => simple(Message::WaitForStart),
            START => simple(Message::Start),
            SECCOMP_LISTENER => simple(Message::SeccompListener),
            EXEC => simple(Message::Exec),
            USER_NS => simple(Message::UserNs),
            MOVE_NET_DEVICES => simple(Message::MoveNetDevices),
            NET_DEVICES_MOVED => simple(Message::NetDevicesMoved),
            PID => {
                let b: [u8; 4] = rest.try_into().map_err(|_| DecodeError::BadLength(tag, rest.len()))?;
                Ok(Message::Pid(i32::from_le_bytes(b)))
            }
            ERROR => {
                if rest.len() < 4 {
                    return Err(DecodeError::BadLength(tag, rest.len()));
                }
                let errno = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let message = std::str::from_utf8(&rest[4..]).map_err(|_| DecodeError::NotUtf8)?.to_string();
                Ok(Message::Error { errno, message })
            }
            other => Err(DecodeError::UnknownTag(other)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("sync channel: {0}")]
    Io(Errno),
    #[error("sync channel: the other side hung up")]
    Closed,
    #[error("sync channel: {0}")]
    Decode(#[from] DecodeError),
    #[error("sync channel: expected {expected}, got {got:?}")]
    Unexpected { expected: &'static str, got: Message },
}

/// One end of the channel.
pub struct Channel {
    fd: OwnedFd,
    buf: Vec<u8>,
    /// A descriptor that came with the last message.
    received: Option<OwnedFd>,
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl Channel {
    /// A connected pair (parent end, child end), both close-on-exec.
    pub fn pair() -> Result<(Channel, Channel), SyncError> {
        let (a, b) = socket::socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(SyncError::Io)?;
        Ok((Channel::from_fd(a), Channel::from_fd(b)))
    }

    pub fn from_fd(fd: OwnedFd) -> Channel {
        Channel { fd, buf: Vec::with_capacity(MAX_MESSAGE), received: None }
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    pub fn send(&mut self, msg: &Message) -> Result<(), SyncError> {
        self.send_with_fd(msg, None)
    }

    /// Sends a message with a descriptor attached (SCM_RIGHTS).
    pub fn send_with_fd(&mut self, msg: &Message, fd: Option<&OwnedFd>) -> Result<(), SyncError> {
        msg.encode(&mut self.buf);
        let fds = fd.map(|f| [f.as_raw_fd()]);
        let cmsg: Vec<socket::ControlMessage<'_>> =
            fds.as_ref().map(|f| vec![socket::ControlMessage::ScmRights(f)]).unwrap_or_default();
        loop {
            match socket::sendmsg::<()>(
                self.fd.as_raw_fd(),
                &[IoSlice::new(&self.buf)],
                &cmsg,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(Errno::EPIPE) | Err(Errno::ECONNRESET) => return Err(SyncError::Closed),
                Err(e) => return Err(SyncError::Io(e)),
            }
        }
    }

    /// The descriptor that came with the last message, if any.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.received.take()
    }

    pub fn recv(&mut self) -> Result<Message, SyncError> {
        self.buf.resize(MAX_MESSAGE, 0);
        let mut reset = false;
        let n = loop {
            match crate::sys::recv_with_fd(self.fd.as_raw_fd(), &mut self.buf) {
                Ok((n, fd)) => {
                    if fd.is_some() {
                        self.received = fd;
                    }
                    break n;
                }
                Err(Errno::EINTR) => continue,
                // A peer that exits with a message of ours unread resets the
                // connection, and the kernel reports that before what the
                // peer sent last (its Error, typically): the report clears
                // the condition, so read once more for that message.
                Err(Errno::ECONNRESET) if !reset => reset = true,
                Err(Errno::ECONNRESET) => return Err(SyncError::Closed),
                Err(e) => return Err(SyncError::Io(e)),
            }
        };
        if n == 0 {
            return Err(SyncError::Closed);
        }
        Ok(Message::decode(&self.buf[..n])?)
    }

    /// Receives and insists on one particular message; an `Error` from the
    /// other side is handed back as is.
    pub fn expect(&mut self, expected: &'static str, want: &Message) -> Result<(), SyncError> {
        let got = self.recv()?;
        if &got == want {
            Ok(())
        } else {
            Err(SyncError::Unexpected { expected, got })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let msgs = [
            Message::Go,
            Message::RunHooks,
            Message::HooksDone,
            Message::Ready,
            Message::WaitForStart,
            Message::Start,
            Message::SeccompListener,
            Message::Exec,
            Message::UserNs,
            Message::MoveNetDevices,
            Message::NetDevicesMoved,
            Message::Pid(4242),
            Message::Error { errno: 2, message: "exec \"nope\": no such file".into() },
        ];
        let mut buf = Vec::new();
        for m in msgs {
            m.encode(&mut buf);
            assert_eq!(Message::decode(&buf).unwrap(), m);
        }
    }

    #[test]
    fn long_error_is_cut_on_a_char_boundary() {
        let m = Message::Error { errno: 1, message: "é".repeat(MAX_MESSAGE) };
        let mut buf = Vec::new();
        m.encode(&mut buf);
        assert!(buf.len() <= MAX_MESSAGE);
        assert!(matches!(Message::decode(&buf), Ok(Message::Error { errno: 1, .. })));
    }

    #[test]
    fn garbage_is_rejected_not_panicking() {
        assert_eq!(Message::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(Message::decode(&[99]), Err(DecodeError::UnknownTag(99)));
        assert_eq!(Message::decode(&[GO, 1]), Err(DecodeError::BadLength(GO, 1)));
        assert_eq!(Message::decode(&[PID, 1, 2]), Err(DecodeError::BadLength(PID, 2)));
        assert_eq!(Message::decode(&[ERROR, 0, 0, 0, 0, 0xff]), Err(DecodeError::NotUtf8));
    }

    #[test]
    fn channel_pair_carries_messages() {
        let (mut a, mut b) = Channel::pair().unwrap();
        a.send(&Message::Pid(7)).unwrap();
        assert_eq!(b.recv().unwrap(), Message::Pid(7));
        drop(a);
        assert!(matches!(b.recv(), Err(SyncError::Closed)));
    }
}
