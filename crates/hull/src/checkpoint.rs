//! `hull checkpoint` and `hull restore`: runc's flags, as podman, containerd's
//! shim (go-runc) and people pass them, turned into libcontainer's options.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Args;
use libcontainer::container::{CriuOptions, RestoreOptions};

/// The flags both commands share.
#[derive(Args, Clone, Debug, PartialEq, Default)]
pub struct CriuFlags {
    /// Directory of the CRIU images [default: ./checkpoint].
    #[arg(long = "image-path", value_name = "DIR")]
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's log (dump.log, restore.log) and work files [default: the image directory].
    #[arg(long = "work-path", value_name = "DIR")]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections (CRIU's --tcp-established).
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// Allow a terminal from the caller's session (a shell job).
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// Handle file locks.
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// What CRIU does with cgroups: soft, full, strict or ignore [default: CRIU's, soft].
    #[arg(long = "manage-cgroups-mode", value_name = "MODE")]
    pub manage_cgroups_mode: Option<String>,
    /// Make this namespace but do not restore its properties (network).
    #[arg(long = "empty-ns", value_name = "NS")]
    pub empty_ns: Vec<String>,
    /// Deduplicate memory images as they are written or read.
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// Lazy migration: memory pages come over userfaultfd when touched.
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
}

#[derive(Args, Clone, Debug, PartialEq)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub criu: CriuFlags,
    /// A previous --pre-dump's images, relative to --image-path (e.g. ../pre).
    #[arg(long = "parent-path", value_name = "DIR")]
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the dump.
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// Skip in-flight TCP connections.
    #[arg(long = "tcp-skip-in-flight")]
    pub tcp_skip_in_flight: bool,
    /// Link unlinked but open files back where possible.
    #[arg(long = "link-remap")]
    pub link_remap: bool,
    /// Dump memory only and leave the container running (the first of an iterative migration).
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// With --lazy-pages: CRIU writes \0 to this descriptor once the page server is ready.
    #[arg(long = "status-fd", value_name = "FD", allow_negative_numbers = true)]
    pub status_fd: Option<i32>,
    /// ADDRESS:PORT of a CRIU page server to send the memory pages to.
    #[arg(long = "page-server", value_name = "ADDRESS:PORT")]
    pub page_server: Option<String>,
    /// Container id.
    pub id: String,
}

#[derive(Args, Clone, Debug, PartialEq)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub criu: CriuFlags,
    /// Bundle directory (holds config.json); default: the current directory.
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Return once the container runs (else wait and exit with its status).
    #[arg(short, long)]
    pub detach: bool,
    /// Write the restored init's pid here.
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the restored terminal's pty master.
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Do not become a subreaper for the restored processes.
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Accepted for runc's callers: CRIU restores the mount namespace itself.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// LSM profile to restore into, TYPE:NAME (CRIU 3.16 or later).
    #[arg(long = "lsm-profile", value_name = "TYPE:NAME")]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restored mounts (CRIU 3.16 or later).
    #[arg(long = "lsm-mount-context", value_name = "CONTEXT")]
    pub lsm_mount_context: Option<String>,
    /// Container id (may differ from the checkpointed one).
    pub id: String,
}

pub const CHECKPOINT_HELP: &str = "Examples:
  hull checkpoint --image-path /var/lib/ckpt/web web
  hull checkpoint --leave-running --image-path /tmp/ck web
  hull checkpoint --pre-dump --image-path /tmp/pre web
  hull checkpoint --parent-path ../pre --image-path /tmp/final web
Without --leave-running (or --pre-dump) the container is deleted once its images are written.
Needs criu (3.0 or later) in PATH; see docs/checkpoint.md.";

pub const RESTORE_HELP: &str = "Examples:
  hull restore -d --image-path /var/lib/ckpt/web --bundle /srv/web web
  hull restore -d --image-path /tmp/ck --bundle /srv/web web2     (a new id)
The bundle's config.json describes the container as at create (mounts, namespaces, cgroup);
the images hold its processes. See docs/checkpoint.md.";

/// Relative paths are the caller's, as for every other command.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

fn page_server(s: &str) -> Result<(String, i32), String> {
    let bad = || format!("--page-server {s:?}: use ADDRESS:PORT");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: i32 = port.parse().map_err(|_| format!("--page-server {s:?}: invalid port number"))?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

impl CriuFlags {
    fn options(&self) -> CriuOptions {
        CriuOptions {
            image_path: absolute(self.image_path.as_deref().unwrap_or(Path::new("checkpoint"))),
            work_path: self.work_path.as_deref().map(absolute),
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            shell_job: self.shell_job,
            file_locks: self.file_locks,
            manage_cgroups_mode: self.manage_cgroups_mode.clone(),
            empty_ns: self.empty_ns.clone(),
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
            ..Default::default()
        }
    }
}

impl CheckpointArgs {
    pub fn options(&self) -> Result<CriuOptions, String> {
        Ok(CriuOptions {
            parent_path: self.parent_path.clone(),
            leave_running: self.leave_running,
            tcp_skip_in_flight: self.tcp_skip_in_flight,
            link_remap: self.link_remap,
            pre_dump: self.pre_dump,
            status_fd: self.status_fd.filter(|fd| *fd >= 0),
            page_server: self.page_server.as_deref().map(page_server).transpose()?,
            ..self.criu.options()
        })
    }
}

impl RestoreArgs {
    pub fn options(&self, root: &Path, systemd_cgroup: bool) -> Result<RestoreOptions, String> {
        let bundle = match &self.bundle {
            Some(b) => absolute(b),
            None => std::env::current_dir().map_err(|e| format!("current directory: {e}"))?,
        };
        let bundle = bundle.canonicalize().map_err(|e| format!("bundle {}: {e}", bundle.display()))?;
        Ok(RestoreOptions {
            id: self.id.clone(),
            bundle,
            root: absolute(root),
            criu: CriuOptions {
                lsm_profile: self.lsm_profile.clone(),
                lsm_mount_context: self.lsm_mount_context.clone(),
                ..self.criu.options()
            },
            detach: self.detach,
            pid_file: self.pid_file.as_deref().map(absolute),
            console_socket: self.console_socket.as_deref().map(absolute),
            no_subreaper: self.no_subreaper,
            no_pivot: self.no_pivot,
            systemd_cgroup,
        })
    }
}

/// containerd's shim (go-runc) writes `-no-subreaper` with one dash, which
/// runc's flag parser takes for `--no-subreaper`; so does hull, on restore.
pub fn normalize_go_flags(args: &mut [OsString]) {
    // The command is the first word that is neither a global flag nor the
    // value of one.
    let mut words = args.iter().enumerate().skip(1);
    let command = loop {
        match words.next() {
            None => return,
            Some((_, w)) if w == "--root" || w == "--log" || w == "--log-format" => {
                words.next();
            }
            Some((_, w)) if w.as_encoded_bytes().starts_with(b"-") => {}
            Some((i, w)) => break (i, w == "restore"),
        }
    };
    let (at, restore) = command;
    if !restore {
        return;
    }
    for a in args.iter_mut().skip(at + 1) {
        if a == "-no-subreaper" || a == "-no-pivot" {
            let mut long = OsString::from("-");
            long.push(&*a);
            *a = long;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(line: &[&str]) -> Command {
        let mut args: Vec<OsString> = std::iter::once("hull").chain(line.iter().copied()).map(OsString::from).collect();
        normalize_go_flags(&mut args);
        Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{line:?}: {e}")).command.unwrap()
    }

    #[test]
    fn podmans_checkpoint_with_a_repeated_flag() {
        let Command::Checkpoint(a) = parse(&[
            "checkpoint",
            "--image-path",
            "/u/checkpoint",
            "--work-path",
            "/u",
            "--leave-running",
            "--leave-running",
            "c1",
        ]) else {
            panic!()
        };
        assert!(a.leave_running);
        let o = a.options().unwrap();
        assert_eq!(o.image_path, Path::new("/u/checkpoint"));
        assert_eq!(o.work_path.as_deref(), Some(Path::new("/u")));
    }

    #[test]
    fn containerds_restore_with_one_dash() {
        let Command::Restore(a) = parse(&[
            "--root",
            "/run/containerd/runc/exp",
            "--log",
            "/l.json",
            "--log-format",
            "json",
            "restore",
            "--image-path",
            "/tmp/ck",
            "--work-path",
            "/w",
            "--detach",
            "--pid-file",
            "/b/init.pid",
            "-no-subreaper",
            "--bundle",
            "/",
            "c2",
        ]) else {
            panic!()
        };
        assert!(a.no_subreaper && a.detach);
        assert_eq!(a.bundle.as_deref(), Some(Path::new("/")));
    }

    #[test]
    fn checkpoint_flags_become_options() {
        let Command::Checkpoint(a) = parse(&[
            "checkpoint",
            "--pre-dump",
            "--parent-path",
            "../pre",
            "--page-server",
            "[::1]:27277",
            "--manage-cgroups-mode",
            "ignore",
            "--empty-ns",
            "network",
            "--status-fd",
            "3",
            "x",
        ]) else {
            panic!()
        };
        let o = a.options().unwrap();
        assert!(o.pre_dump);
        assert_eq!(o.parent_path.as_deref(), Some(Path::new("../pre")));
        assert_eq!(o.page_server, Some(("::1".to_string(), 27277)));
        assert_eq!(o.manage_cgroups_mode.as_deref(), Some("ignore"));
        assert_eq!(o.empty_ns, vec!["network".to_string()]);
        assert_eq!(o.status_fd, Some(3));
        assert!(o.image_path.ends_with("checkpoint"), "runc's default: ./checkpoint");
        assert!(page_server("nohost").is_err() && page_server(":1").is_err() && page_server("h:p").is_err());
    }

    #[test]
    fn only_restores_flags_are_rewritten() {
        let mut args: Vec<OsString> =
            ["hull", "--root", "restore", "exec", "c", "restore", "-no-subreaper"].iter().map(OsString::from).collect();
        let before = args.clone();
        normalize_go_flags(&mut args);
        assert_eq!(args, before, "exec's command line is the program's");
    }
}
