//! CRIU, driven the way runc drives it: `criu swrk 3` on the far end of a
//! SOCK_SEQPACKET socketpair, one protobuf message per datagram, and the
//! notifications CRIU sends on the way (`setup-namespaces`, `post-restore`,
//! `orphan-pts-master`, …), each acknowledged before it goes on.
//!
//! The messages are rust-criu's (generated from CRIU's rpc.proto: every
//! option runc passes is there). Its `Criu` driver is not used: it cannot
//! move criu into the container's cgroup between spawn and request, give
//! criu hull's stdio (a restored process's pipes are criu's descriptors
//! 0-2), hand a closure the notifications, or send PRE_DUMP and
//! FEATURE_CHECK requests. Only `checkpoint`, `restore` and `features`
//! reach this module: nothing of protobuf runs on the lifecycle's path.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType};
use protobuf::{Enum, Message};
use rpc::Criu_req_type as ReqType;
pub use rust_criu::rust_criu_protobuf::rpc;

use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum CriuError {
    #[error("criu is not in PATH ({path}): checkpoint and restore need CRIU (the criu package)")]
    NotFound { path: String },
    #[error("start {}: {source}", path.display())]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("criu: {op}: {errno}")]
    Sys { op: &'static str, errno: Errno },
    #[error("criu: {what}: {source}")]
    Protobuf { what: &'static str, source: protobuf::Error },
    /// CRIU answered the request with success = false.
    #[error("criu {request} failed (errno {errno}){}", msg.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Refused { request: &'static str, errno: i32, msg: Option<String> },
    /// criu went away without answering.
    #[error("criu exited during {request} ({status}){}", stderr.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Died { request: &'static str, status: String, stderr: Option<String> },
    #[error("criu answered {request} with a {got} message")]
    Unexpected { request: &'static str, got: String },
    /// A notification hull could not carry out (the text names it).
    #[error("{0}")]
    Notify(String),
    #[error("criu {found} is too old: {what} needs CRIU {}.{}.{} or later", need / 10000, need / 100 % 100, need % 100)]
    TooOld { found: Version, need: u32, what: &'static str },
}

fn sys_err(op: &'static str) -> impl FnOnce(Errno) -> CriuError {
    move |errno| CriuError::Sys { op, errno }
}

fn request_name(t: ReqType) -> &'static str {
    match t {
        ReqType::DUMP => "dump",
        ReqType::PRE_DUMP => "pre-dump",
        ReqType::RESTORE => "restore",
        ReqType::CHECK => "check",
        ReqType::VERSION => "version",
        ReqType::FEATURE_CHECK => "feature check",
        _ => "request",
    }
}

/// CRIU's version as runc compares it: major * 10000 + minor * 100 +
/// sublevel (a git build counts as the next minor release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0 / 10000, self.0 / 100 % 100, self.0 % 100)
    }
}

/// Where criu's own stdio goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CriuStdio {
    /// hull's: a restored process whose stdio were pipes gets criu's
    /// descriptors 0-2 (runc passes its stdio the same way).
    Inherit,
    /// stdin from /dev/null, stdout and stderr kept in a memory file whose
    /// text an error can quote (criu writes there before its log is open).
    Captured,
}

/// The criu binary hull runs: `criu` from PATH, as runc finds it.
#[derive(Debug, Clone)]
pub struct Criu {
    pub path: PathBuf,
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Criu {
    pub fn find() -> Result<Criu, CriuError> {
        let search = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
        search
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join("criu"))
            .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
            .map(|path| Criu { path })
            .ok_or(CriuError::NotFound { path: search })
    }

    /// Starts `criu swrk 3`. `inherit` are descriptors criu gets as 4, 5, …
    /// (what `inherit_fd` entries name), in order.
    pub fn start(&self, inherit: &[BorrowedFd<'_>], stdio: CriuStdio) -> Result<Session, CriuError> {
        let (ours, theirs) = socket::socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(sys_err("socketpair"))?;
        // Every descriptor criu gets is first copied above the numbers it
        // will have (3, 4, …), so that putting each in its place never
        // overwrites another; the copies are close-on-exec.
        let floor = 16 + inherit.len() as i32;
        let mut high: Vec<OwnedFd> = Vec::with_capacity(1 + inherit.len());
        for fd in std::iter::once(theirs.as_raw_fd()).chain(inherit.iter().map(|f| f.as_raw_fd())) {
            let copy = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(floor))
                .map_err(sys_err("copy a descriptor for criu"))?;
            // SAFETY: fcntl(F_DUPFD_CLOEXEC) returned a new descriptor that we own.
            high.push(unsafe { OwnedFd::from_raw_fd(copy) });
        }
        drop(theirs);
        let targets: Vec<RawFd> = high.iter().map(|f| f.as_raw_fd()).collect();
        let mut cmd = Command::new(&self.path);
        cmd.arg("swrk").arg("3");
        let captured = match stdio {
            CriuStdio::Inherit => None,
            CriuStdio::Captured => {
                let mem = File::from(sys::memfd(c"criu-output").map_err(sys_err("memfd for criu's output"))?);
                cmd.stdin(Stdio::null());
                cmd.stdout(mem.try_clone().map_err(|e| CriuError::Spawn { path: self.path.clone(), source: e })?);
                cmd.stderr(mem.try_clone().map_err(|e| CriuError::Spawn { path: self.path.clone(), source: e })?);
                Some(mem)
            }
        };
        // SAFETY: runs in the forked child before exec: only dup2 and
        // close_range, both async-signal-safe system calls, no allocation.
        unsafe {
            cmd.pre_exec(move || {
                for (i, fd) in targets.iter().enumerate() {
                    if libc::dup2(*fd, 3 + i as RawFd) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // Nothing else of hull's (or of whoever ran hull) reaches criu.
                sys::cloexec_from(3 + targets.len() as u32).map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| CriuError::Spawn { path: self.path.clone(), source })?;
        drop(high);
        Ok(Session { child: Some(child), sock: ours, output: captured })
    }

    /// The VERSION request (CRIU 3.0 and later answer it).
    pub fn version(&self) -> Result<Version, CriuError> {
        let mut s = self.start(&[], CriuStdio::Captured)?;
        let mut req = rpc::Criu_req::new();
        req.set_type(ReqType::VERSION);
        let resp = s.request(&req, &mut |_, _| Ok(()))?;
        let v = &resp.version;
        let mut n = (v.major_number() as u32) * 10000 + (v.minor_number() as u32) * 100 + v.sublevel() as u32;
        if v.has_gitid() {
            // A build from git is ahead of its last release (runc's rule).
            n = n - n % 100 + 100;
        }
        s.finish();
        Ok(Version(n))
    }

    pub fn require(&self, need: u32, what: &'static str) -> Result<Version, CriuError> {
        let found = self.version()?;
        if found.0 < need {
            return Err(CriuError::TooOld { found, need, what });
        }
        Ok(found)
    }

    /// The FEATURE_CHECK request: which of `want` this criu and kernel have.
    pub fn features(&self, want: rpc::Criu_features) -> Result<rpc::Criu_features, CriuError> {
        let mut s = self.start(&[], CriuStdio::Captured)?;
        let mut req = rpc::Criu_req::new();
        req.set_type(ReqType::FEATURE_CHECK);
        req.features = protobuf::MessageField::some(want);
        let resp = s.request(&req, &mut |_, _| Ok(()))?;
        s.finish();
        Ok(resp.features.clone().unwrap_or_default())
    }

    /// `criu check`: can criu work with this kernel at all? `Err` carries
    /// the first error line it printed. Without the default configuration
    /// files: a `log-file=` there would send that line into a file in our
    /// working directory.
    pub fn check(&self) -> Result<(), String> {
        let out = Command::new(&self.path)
            .args(["check", "--no-default-config"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("start {} check: {e}", self.path.display()))?;
        if out.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        Err(first_error(&text).unwrap_or_else(|| format!("criu check: {}", out.status)))
    }
}

/// One `criu swrk`: requests go over `sock`; the process is reaped by
/// [`Session::finish`] (or on drop).
pub struct Session {
    child: Option<Child>,
    sock: OwnedFd,
    output: Option<File>,
}

/// A notification from CRIU: the script name (`setup-namespaces`,
/// `post-restore`, …), its pid, and a descriptor it may carry
/// (`orphan-pts-master`: the pty master).
pub type NotifyFn<'a> = dyn FnMut(&rpc::Criu_notify, Option<OwnedFd>) -> Result<(), String> + 'a;

impl Session {
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// Sends `req` and serves notifications until CRIU answers it.
    pub fn request(&mut self, req: &rpc::Criu_req, notify: &mut NotifyFn<'_>) -> Result<rpc::Criu_resp, CriuError> {
        let kind = req.type_();
        let name = request_name(kind);
        self.send(req)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let (n, fd) = match sys::recv_with_fd(self.sock.as_raw_fd(), &mut buf) {
                Ok((0, _)) | Err(Errno::ECONNRESET) => return Err(self.died(name)),
                Ok(got) => got,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(CriuError::Sys { op: "receive from criu", errno }),
            };
            if n == buf.len() {
                return Err(CriuError::Sys { op: "receive from criu (message too long)", errno: Errno::EMSGSIZE });
            }
            let resp = rpc::Criu_resp::parse_from_bytes(&buf[..n])
                .map_err(|source| CriuError::Protobuf { what: "parse criu's answer", source })?;
            if !resp.success() {
                let msg = resp.cr_errmsg.clone().filter(|m| !m.is_empty());
                return Err(CriuError::Refused { request: name, errno: resp.cr_errno(), msg });
            }
            let got = resp.type_();
            if got == ReqType::NOTIFY {
                let outcome = notify(&resp.notify, fd);
                let mut ack = rpc::Criu_req::new();
                ack.set_type(ReqType::NOTIFY);
                ack.set_notify_success(outcome.is_ok());
                self.send(&ack)?;
                outcome.map_err(CriuError::Notify)?;
                continue;
            }
            if got != kind {
                return Err(CriuError::Unexpected { request: name, got: format!("{:?} ({})", got, got.value()) });
            }
            return Ok(resp);
        }
    }

    fn send(&self, req: &rpc::Criu_req) -> Result<(), CriuError> {
        let bytes =
            req.write_to_bytes().map_err(|source| CriuError::Protobuf { what: "encode a criu request", source })?;
        socket::send(self.sock.as_raw_fd(), &bytes, socket::MsgFlags::MSG_NOSIGNAL).map_err(sys_err("send to criu"))?;
        Ok(())
    }

    /// criu closed the socket: its exit status and, when captured, what it
    /// printed (the first error line).
    fn died(&mut self, request: &'static str) -> CriuError {
        let status = self.wait().map(|s| s.to_string()).unwrap_or_else(|| "no exit status".into());
        CriuError::Died { request, status, stderr: first_error(&self.output_text()) }
    }

    /// What criu wrote to its stdout and stderr (when captured).
    pub fn output_text(&self) -> String {
        let Some(f) = &self.output else { return String::new() };
        let mut buf = vec![0u8; 64 * 1024];
        let n = f.read_at(&mut buf, 0).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).replace('\0', "")
    }

    fn wait(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.wait().ok();
        self.child = None;
        status
    }

    /// Closes our end (a pre-dump criu waits for more requests until then)
    /// and reaps criu.
    pub fn finish(mut self) -> Option<std::process::ExitStatus> {
        let _ = socket::shutdown(self.sock.as_raw_fd(), socket::Shutdown::Both);
        self.wait()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = socket::shutdown(self.sock.as_raw_fd(), socket::Shutdown::Both);
            self.wait();
        }
    }
}

/// The first line CRIU marked as an error, without its timestamp: the
/// most specific one (later lines say "Dumping FAILED").
pub fn first_error(text: &str) -> Option<String> {
    text.lines().find(|l| l.contains("Error (") || l.starts_with("Error")).map(|l| {
        let l = l.trim();
        let l = if l.starts_with('(') { l.split_once(") ").map(|(_, rest)| rest).unwrap_or(l) } else { l };
        l.trim().to_string()
    })
}

/// The error lines of a CRIU log file, without their timestamps.
pub fn log_errors(log: &Path) -> Vec<String> {
    let mut text = String::new();
    if File::open(log).and_then(|mut f| f.read_to_string(&mut text)).is_err() {
        return Vec::new();
    }
    text.lines().filter_map(first_error).collect()
}

/// `org.opencontainers.runc.checkpoint.enabled`: criu is in PATH and `criu
/// check` passes. The answer is kept in `cache` (under hull's --root) for
/// as long as the same criu binary runs on the same boot of the kernel:
/// `criu check` takes seconds on a slow machine, `features` should not.
pub fn checkpoint_enabled(cache: &Path) -> bool {
    let Ok(criu) = Criu::find() else { return false };
    let Ok(meta) = criu.path.metadata() else { return false };
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let key = format!(
        "{} {} {} {} {}",
        criu.path.display(),
        meta.ino(),
        meta.size(),
        meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
        boot.trim()
    );
    if let Ok(text) = std::fs::read_to_string(cache) {
        if let Some((k, answer)) = text.rsplit_once('\n') {
            if k == key {
                return answer == "true";
            }
        }
    }
    let ok = criu.check().is_ok();
    // Best effort: a cache that cannot be written only costs time.
    if let Some(dir) = cache.parent() {
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        if std::fs::write(&tmp, format!("{key}\n{ok}")).is_ok() && std::fs::rename(&tmp, cache).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_error_line_without_its_timestamp() {
        let log = "(00.1) Lock network\n(00.48) Error (criu/files-reg.c:1710): Can't lookup mount=27 for fd=1 path=/x\n(00.94) Error (criu/cr-dump.c:2053): Dumping FAILED.\n";
        assert_eq!(first_error(log).unwrap(), "Error (criu/files-reg.c:1710): Can't lookup mount=27 for fd=1 path=/x");
        let stderr = "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\nError (criu/kerndat.c:1615): x\n";
        assert_eq!(first_error(stderr).unwrap(), "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds");
        assert_eq!(first_error("Looks good.\n"), None);
    }

    #[test]
    fn versions_read_as_runc_compares_them() {
        assert_eq!(Version(31701).to_string(), "3.17.1");
        assert!(Version(31701) > Version(31100));
    }

    #[test]
    fn requests_encode_as_criu_reads_them() {
        // VERSION is type 10 (field 1, varint): what criu swrk expects first.
        let mut req = rpc::Criu_req::new();
        req.set_type(ReqType::VERSION);
        assert_eq!(req.write_to_bytes().unwrap(), vec![0x08, 0x0a]);
        // criu 3.17.1's answer on this host: type 10, success, version {3, 17, 1}.
        let resp =
            rpc::Criu_resp::parse_from_bytes(&[0x08, 0x0a, 0x10, 0x01, 0x52, 0x06, 0x08, 0x03, 0x10, 0x11, 0x20, 0x01])
                .unwrap();
        assert!(resp.success());
        assert_eq!((resp.version.major_number(), resp.version.minor_number(), resp.version.sublevel()), (3, 17, 1));
    }
}
