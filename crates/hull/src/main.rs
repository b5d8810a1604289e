//! hull: an OCI container runtime. This file is only the command line: parse
//! flags the way runc does, call libcontainer, print, exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use hull::cli::{Cli, Command, CreateArgs, UpdateArgs};
use hull::log;
use libcontainer::container::{self, CreateOptions, Mode};
use libcontainer::spec;

/// println! for results. When stdout is a pipe whose reader has gone
/// (`hull list | head -1`), end as a C program would, by SIGPIPE and
/// quietly, instead of panicking: Rust's runtime ignores SIGPIPE.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            stdout_failed(e);
        }
    }};
}

fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        // SAFETY: SIG_DFL is a valid disposition; raise then ends the process.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            libc::raise(libc::SIGPIPE);
        }
    }
    log::error(&format!("write to stdout: {e}"));
    std::process::exit(1);
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    hull::checkpoint::normalize_go_flags(&mut args);
    let parsed = match hull::cli::parse_quick(&args) {
        Some(c) => Ok(c),
        None => Cli::try_parse_from(&args),
    };
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => return clap_failed(&e),
    };
    // Before hull opens anything (the log file, sockets): which descriptors
    // in the --preserve-fds range are the caller's.
    if let Some(n) = cli.command.as_ref().map(Command::preserve_fds).filter(|n| *n > 0) {
        libcontainer::process::note_caller_fds(n);
    }
    if cli.version {
        print_version();
        return ExitCode::SUCCESS;
    }
    let logger = match log::Logger::open(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hull: --log {}: {e}", cli.log.as_deref().unwrap_or(Path::new("")).display());
            return ExitCode::from(1);
        }
    };
    log::install(logger);
    let Some(command) = cli.command else {
        log::error("no command given; see hull --help");
        return ExitCode::from(1);
    };
    let root = cli.root.clone().unwrap_or_else(default_root);
    match dispatch(&root, cli.systemd_cgroup, command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(Failure(msg, code)) => {
            log::error(&msg);
            ExitCode::from(code)
        }
    }
}

/// Help, or a command line clap refused. An unknown command gets runc's
/// words and status (`No help topic for 'foo'`, 3), with or without `-h`.
fn clap_failed(e: &clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::InvalidSubcommand {
        if let Some(ContextValue::String(name)) = e.get(ContextKind::InvalidSubcommand) {
            eprintln!("hull: No help topic for '{name}'");
            return ExitCode::from(3);
        }
    }
    let _ = e.print();
    ExitCode::from(if e.use_stderr() { 1 } else { 0 })
}

/// runc's rule: an unprivileged user keeps state under $XDG_RUNTIME_DIR.
fn default_root() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !nix_is_root() && !dir.is_empty() => PathBuf::from(dir).join("hull"),
        _ => PathBuf::from("/run/hull"),
    }
}

fn nix_is_root() -> bool {
    libcontainer::sys::is_root()
}

fn print_version() {
    out!("hull version {}", env!("CARGO_PKG_VERSION"));
    out!("commit: {}", option_env!("HULL_COMMIT").unwrap_or("unknown"));
    out!("spec: {}", libcontainer::state::OCI_VERSION);
}

/// Relative paths are taken against the caller's working directory, which
/// the engines rely on for --pid-file and --bundle.
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

/// The exit status of `exec` when hull itself failed (as runc's).
const EXEC_FAILED: u8 = 255;

/// An error line and the exit status to leave with.
struct Failure(String, u8);

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s, 1)
    }
}

impl From<container::ContainerError> for Failure {
    fn from(e: container::ContainerError) -> Self {
        Failure(e.to_string(), 1)
    }
}

fn create_options(root: &Path, systemd: bool, a: &CreateArgs) -> Result<CreateOptions, String> {
    let bundle = match &a.bundle {
        Some(b) => absolute(b),
        None => std::env::current_dir().map_err(|e| format!("current directory: {e}"))?,
    };
    let bundle = bundle.canonicalize().map_err(|e| format!("bundle {}: {e}", bundle.display()))?;
    Ok(CreateOptions {
        id: a.id.clone(),
        bundle,
        root: absolute(root),
        pid_file: a.pid_file.as_deref().map(absolute),
        console_socket: a.console_socket.as_deref().map(absolute),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        systemd_cgroup: systemd,
    })
}

fn dispatch(root: &Path, systemd: bool, command: Command) -> Result<i32, Failure> {
    let e = Failure::from;
    match command {
        Command::Create(a) => {
            let opts = create_options(root, systemd, &a)?;
            container::create(&opts, Mode::Create).map_err(e)?;
            Ok(0)
        }
        Command::Start { id } => container::start(root, &id).map(|_| 0).map_err(e),
        Command::State { id } => {
            let (st, status) = container::state(root, &id).map_err(e)?;
            out!("{}", serde_json::to_string_pretty(&st.oci_state(status)).unwrap_or_default());
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            let sig = container::parse_signal(&signal).map_err(e)?;
            container::kill(root, &id, sig, all).map(|_| 0).map_err(e)
        }
        Command::Delete { force, ids } => {
            let mut failed = None;
            for id in ids {
                if let Err(err) = container::delete(root, &id, force) {
                    failed = Some(err.to_string());
                }
            }
            failed.map_or(Ok(0), |m| Err(Failure(m, 1)))
        }
        Command::Run { create, detach, keep } => {
            let opts = create_options(root, systemd, &create)?;
            container::run(&opts, detach, keep).map_err(e)
        }
        Command::Exec(a) => {
            let opts = container::ExecOptions {
                id: a.id,
                process_file: a.process.map(|p| absolute(&p)),
                args: a.command,
                tty: a.tty,
                console_socket: a.console_socket.map(|p| absolute(&p)),
                detach: a.detach,
                pid_file: a.pid_file.map(|p| absolute(&p)),
                cwd: a.cwd,
                env: a.env,
                user: a.user,
                additional_gids: a.additional_gids,
                caps: a.cap,
                no_new_privs: a.no_new_privs,
                apparmor: a.apparmor,
                process_label: a.process_label,
                preserve_fds: a.preserve_fds,
                ignore_paused: a.ignore_paused,
                sub_cgroups: a.cgroup,
            };
            // runc's rule: exec's own failures (a missing program included)
            // exit 255, so that they never pass for the process's status.
            // The wording of a missing program stays runc's (`exec: "x":
            // executable file not found in $PATH`): podman maps that text to 127.
            container::exec(root, &opts).map_err(|err| Failure(err.to_string(), EXEC_FAILED))
        }
        Command::Pause { id } => container::pause(root, &id).map(|_| 0).map_err(e),
        Command::Resume { id } => container::resume(root, &id).map(|_| 0).map_err(e),
        Command::Ps { format, id, ps_args } => ps(root, &id, &format, &ps_args),
        Command::Events { stats, interval, id } => {
            if stats {
                let s = container::stats(root, &id).map_err(e)?;
                let event = container::Event { kind: "stats", id: &id, data: Some(&s) };
                out!("{}", serde_json::to_string(&event).unwrap_or_default());
                return Ok(0);
            }
            let every =
                parse_duration(&interval).ok_or_else(|| format!("--interval {interval:?}: use e.g. 5s, 500ms"))?;
            let mut out = std::io::stdout().lock();
            container::events(root, &id, every, &mut |event| {
                use std::io::Write;
                let line = serde_json::to_string(event).unwrap_or_default();
                if let Err(err) = writeln!(out, "{line}").and_then(|_| out.flush()) {
                    stdout_failed(err);
                }
            })
            .map(|_| 0)
            .map_err(e)
        }
        Command::Update(a) => {
            let res = update_resources(&a)?;
            container::update(root, &a.id, &res).map(|_| 0).map_err(e)
        }
        Command::Completion { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hull", &mut script);
            use std::io::Write;
            if let Err(err) = std::io::stdout().write_all(&script).and_then(|_| std::io::stdout().flush()) {
                stdout_failed(err);
            }
            Ok(0)
        }
        Command::Checkpoint(a) => {
            let opts = a.options()?;
            container::checkpoint(root, &a.id, &opts).map(|_| 0).map_err(e)
        }
        Command::Restore(a) => {
            let opts = a.options(root, systemd)?;
            container::restore(&opts).map_err(e)
        }
        Command::Features => {
            out!("{}", serde_json::to_string_pretty(&container::features(root)).unwrap_or_default());
            Ok(0)
        }
        Command::Spec { bundle, rootless } => {
            let dir = bundle.map(|b| absolute(&b)).unwrap_or_else(|| absolute(Path::new(".")));
            let path = dir.join("config.json");
            if path.exists() {
                return Err(format!("{} exists; remove it first", path.display()).into());
            }
            let text = if rootless { spec::rootless_spec_json() } else { spec::default_spec_json() };
            std::fs::write(&path, text).map_err(|err| format!("write {}: {err}", path.display()))?;
            Ok(0)
        }
        Command::List { format, quiet } => list(root, &format, quiet),
    }
}

/// `5s`, `500ms`, `1m`, or plain seconds.
fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map(|i| s.split_at(i)).unwrap_or((s, "s"));
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs))
}

/// A size as runc reads one (docker/go-units' RAMInBytes): `-1` for
/// unlimited, else a number, an optional space, an optional k/m/g/t/p
/// (binary multiples, any case), an optional `i` and an optional `b`:
/// `64M`, `1.5g`, `50MiB`, `4096`.
fn parse_bytes(flag: &str, s: &str) -> Result<i64, String> {
    if s == "-1" {
        return Ok(-1);
    }
    let bad = || format!("invalid value for {flag}: {s:?} is not a size (e.g. 64M, or -1 for unlimited)");
    let t = s.to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix('i').unwrap_or(t);
    let (num, shift) = match t.as_bytes().last() {
        Some(b'k') => (&t[..t.len() - 1], 10),
        Some(b'm') => (&t[..t.len() - 1], 20),
        Some(b'g') => (&t[..t.len() - 1], 30),
        Some(b't') => (&t[..t.len() - 1], 40),
        Some(b'p') => (&t[..t.len() - 1], 50),
        _ => (t, 0),
    };
    let num = num.strip_suffix(' ').unwrap_or(num);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let bytes = n * (1u64 << shift) as f64;
    if !(0.0..9.2e18).contains(&bytes) {
        return Err(bad());
    }
    Ok(bytes as i64)
}

fn update_resources(a: &UpdateArgs) -> Result<oci_spec::runtime::LinuxResources, String> {
    use oci_spec::runtime::LinuxResources;
    // runc's words when the host has no RDT; hull has none anywhere.
    if a.l3_cache_schema.is_some() {
        return Err("--l3-cache-schema: Intel RDT/CAT: l3 cache schema is not enabled (hull has no Intel RDT)".into());
    }
    if a.mem_bw_schema.is_some() {
        return Err(
            "--mem-bw-schema: Intel RDT/MBA: memory bandwidth schema is not enabled (hull has no Intel RDT)".into()
        );
    }
    let mut v = match a.resources.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|err| format!("read stdin: {err}"))?;
            serde_json::from_str::<serde_json::Value>(&text).map_err(|err| format!("--resources -: {err}"))?
        }
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|err| format!("--resources {f}: {err}"))?;
            serde_json::from_str(&text).map_err(|err| format!("--resources {f}: {err}"))?
        }
        None => serde_json::json!({}),
    };
    let mut set = |path: &[&str], value: serde_json::Value| {
        let mut cur = &mut v;
        for k in &path[..path.len() - 1] {
            if !cur.get(*k).is_some_and(|x| x.is_object()) {
                cur[*k] = serde_json::json!({});
            }
            cur = &mut cur[*k];
        }
        cur[path[path.len() - 1]] = value;
    };
    for (flag, value, field) in [
        ("--memory", &a.memory, "limit"),
        ("--memory-swap", &a.memory_swap, "swap"),
        ("--memory-reservation", &a.memory_reservation, "reservation"),
        ("--kernel-memory", &a.kernel_memory, "kernel"),
        ("--kernel-memory-tcp", &a.kernel_memory_tcp, "kernelTCP"),
    ] {
        if let Some(m) = value {
            set(&["memory", field], parse_bytes(flag, m)?.into());
        }
    }
    if let Some(q) = a.cpu_quota {
        set(&["cpu", "quota"], q.into());
    }
    if let Some(p) = a.cpu_period {
        set(&["cpu", "period"], p.into());
    }
    if let Some(x) = a.cpu_shares {
        set(&["cpu", "shares"], x.into());
    }
    if let Some(x) = a.cpu_rt_period {
        set(&["cpu", "realtimePeriod"], x.into());
    }
    if let Some(x) = a.cpu_rt_runtime {
        set(&["cpu", "realtimeRuntime"], x.into());
    }
    if let Some(x) = &a.cpuset_cpus {
        set(&["cpu", "cpus"], x.clone().into());
    }
    if let Some(x) = &a.cpuset_mems {
        set(&["cpu", "mems"], x.clone().into());
    }
    if let Some(x) = a.pids_limit {
        set(&["pids", "limit"], x.into());
    }
    if let Some(x) = a.blkio_weight {
        set(&["blockIO", "weight"], x.into());
    }
    serde_json::from_value::<LinuxResources>(v).map_err(|err| format!("resources: {err}"))
}

/// `ps`: json is the pid list; table runs ps(1) and keeps the header and the
/// container's rows (like runc).
fn ps(root: &Path, id: &str, format: &str, args: &[String]) -> Result<i32, Failure> {
    let pids = container::pids(root, id)?;
    match format {
        "json" => {
            out!("{}", serde_json::Value::from(pids));
            Ok(0)
        }
        "table" => {
            let args: Vec<String> = if args.is_empty() { vec!["-ef".into()] } else { args.to_vec() };
            let out = std::process::Command::new("ps").args(&args).output().map_err(|err| format!("ps: {err}"))?;
            if !out.status.success() {
                return Err(format!("ps {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()).into());
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or("");
            let col = header
                .split_whitespace()
                .position(|h| h == "PID")
                .ok_or_else(|| format!("ps {}: no PID column", args.join(" ")))?;
            out!("{header}");
            for l in lines {
                if l.split_whitespace().nth(col).and_then(|p| p.parse::<i32>().ok()).is_some_and(|p| pids.contains(&p))
                {
                    out!("{l}");
                }
            }
            Ok(0)
        }
        other => Err(format!("--format {other:?}: use table or json").into()),
    }
}

/// Who owns a container, as runc's `list` says: the user owning its state
/// directory, by name from /etc/passwd (`passwd`, read once per listing),
/// else by number.
fn owner_of(dir: &Path, passwd: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else { return String::new() };
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

/// Writes a whole listing at once: one write(2) rather than one per line.
fn print_all(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        stdout_failed(e);
    }
}

fn list(root: &Path, format: &str, quiet: bool) -> Result<i32, Failure> {
    use std::fmt::Write;
    if quiet {
        // Only the ids of the containers whose state reads: no status (no
        // /proc, start.sock or freezer look-up per container).
        let mut text = String::new();
        let ids = libcontainer::state::list_ids(root).map_err(container::ContainerError::from)?;
        for id in ids.iter().filter(|id| libcontainer::state::load(root, id).is_ok()) {
            let _ = writeln!(text, "{id}");
        }
        print_all(&text);
        return Ok(0);
    }
    let entries = container::list(root)?;
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    match format {
        "json" => {
            let v: Vec<_> = entries
                .iter()
                .map(|c| {
                    let mut s = c.state.oci_state(c.status);
                    s.owner = owner_of(&root.join(&c.state.id), &passwd).into();
                    s
                })
                .collect();
            out!("{}", serde_json::to_string(&v).unwrap_or_default());
        }
        "table" => {
            let rows: Vec<[String; 6]> = entries
                .iter()
                .map(|c| {
                    let pid = if c.status == libcontainer::state::Status::Stopped { 0 } else { c.state.pid };
                    [
                        c.state.id.clone(),
                        pid.to_string(),
                        c.status.to_string(),
                        c.state.bundle.display().to_string(),
                        c.state.created.clone(),
                        owner_of(&root.join(&c.state.id), &passwd),
                    ]
                })
                .collect();
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
            let mut widths = header.clone().map(|h| h.len());
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r.iter()) {
                    *w = (*w).max(c.len());
                }
            }
            let mut text = String::new();
            for r in std::iter::once(&header).chain(rows.iter()) {
                let line: Vec<String> = r.iter().zip(widths.iter()).map(|(c, w)| format!("{c:<w$}")).collect();
                let _ = writeln!(text, "{}", line.join("   ").trim_end());
            }
            print_all(&text);
        }
        other => return Err(format!("--format {other:?}: use table or json").into()),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_runc_reads_them() {
        let ok = |s: &str| parse_bytes("--memory", s).unwrap();
        assert_eq!(ok("-1"), -1);
        assert_eq!(ok("4096"), 4096);
        assert_eq!(ok("50M"), 50 << 20);
        assert_eq!(ok("50m"), 50 << 20);
        assert_eq!(ok("50MB"), 50 << 20);
        assert_eq!(ok("50MiB"), 50 << 20);
        assert_eq!(ok("1.5g"), 3 << 29);
        assert_eq!(ok("2 k"), 2048);
        for bad in ["", "-2", "M", "10x", "1e3", "--1"] {
            assert!(parse_bytes("--memory", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn update_flags_take_minus_one_after_the_id_and_runcs_spelling() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "hull",
            "update",
            "ct",
            "--memory-swap",
            "-1",
            "--cpu-quota",
            "-1",
            "--pids-limit",
            "-1",
            "--cpu-share",
            "200",
            "--memory",
            "-1",
        ])
        .unwrap();
        let Some(Command::Update(a)) = cli.command else { panic!("not update") };
        assert_eq!(a.id, "ct");
        let r = update_resources(&a).unwrap();
        let m = r.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(-1), Some(-1)));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(-1));
        assert_eq!(r.cpu().as_ref().unwrap().shares(), Some(200));
        assert_eq!(r.pids().unwrap().limit(), -1);
        let old = Cli::try_parse_from(["hull", "update", "--cpu-shares", "3", "ct"]).unwrap();
        let Some(Command::Update(a)) = old.command else { panic!("not update") };
        assert_eq!(a.cpu_shares, Some(3), "hull's old spelling stays an alias");
        assert!(Cli::try_parse_from(["hull", "update", "--cpu-period", "-1", "ct"]).is_err(), "unsigned, as runc's");
    }
}
