//! hull: an OCI container runtime. This file is only the command line: parse
//! flags the way runc does, call libcontainer, print, exit.

mod log;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use libcontainer::container::{self, CreateOptions, Mode};
use libcontainer::spec;

#[derive(Parser)]
#[command(
    name = "hull",
    about = "hull: an OCI container runtime (a drop-in replacement for runc)",
    disable_version_flag = true,
    after_help = "Examples:\n  hull spec                       write a default config.json\n  hull run demo                   run the bundle in the current directory\n  hull --root /tmp/h list         list containers under another state root"
)]
struct Cli {
    /// Directory for container state.
    #[arg(long, global = true, default_value = "/run/hull", value_name = "DIR")]
    root: PathBuf,
    /// Also write errors and warnings to this file.
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Format of --log lines: text or json (runc's {"level","msg","time"}).
    #[arg(long = "log-format", global = true, default_value = "text", value_name = "text|json")]
    log_format: log::Format,
    /// Verbose errors.
    #[arg(long, global = true)]
    debug: bool,
    /// Use systemd to manage cgroups (refused: hull manages cgroupfs directly).
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Print the version, commit and runtime-spec version.
    #[arg(short = 'v', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct CreateArgs {
    /// Bundle directory (holds config.json); default: the current directory.
    #[arg(short, long, value_name = "DIR")]
    bundle: Option<PathBuf>,
    /// Write the container init's pid here.
    #[arg(long = "pid-file", value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket", value_name = "PATH")]
    console_socket: Option<PathBuf>,
    /// Switch root with MS_MOVE + chroot instead of pivot_root (ramfs roots).
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Do not give the container its own session keyring.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N descriptors after stdio (3 .. 3+N-1) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    preserve_fds: u32,
    /// Container id.
    id: String,
}

#[derive(Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    #[command(after_help = "Example: hull create --bundle /srv/bb --pid-file /run/bb.pid bb")]
    Create(CreateArgs),
    /// Run the process of a created container.
    Start { id: String },
    /// Print the container's state as runtime-spec JSON.
    State { id: String },
    /// Send a signal (default TERM) to the container's init, or with --all to every process.
    #[command(after_help = "Examples: hull kill web\n          hull kill web KILL\n          hull kill --all web 9")]
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Delete containers: processes (with --force), cgroups and state.
    Delete {
        #[arg(short, long)]
        force: bool,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Create and start a container; in the foreground wait and exit with its status.
    #[command(after_help = "Example: hull run --bundle /srv/bb demo")]
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return once the container runs.
        #[arg(short, long)]
        detach: bool,
        /// Keep the container's state after it exits (foreground).
        #[arg(long)]
        keep: bool,
    },
    /// Write a default config.json (busybox-friendly, like `runc spec`).
    Spec {
        #[arg(short, long, value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// A config for an unprivileged user (own user namespace, no cgroups).
        #[arg(long)]
        rootless: bool,
    },
    /// List containers.
    #[command(alias = "ps-all")]
    List {
        #[arg(short, long, default_value = "table", value_name = "table|json")]
        format: String,
        /// Only ids.
        #[arg(short, long)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    if cli.version {
        print_version();
        return ExitCode::SUCCESS;
    }
    let logger = match log::Logger::open(cli.log.as_deref(), cli.log_format) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hull: --log {}: {e}", cli.log.as_deref().unwrap_or(Path::new("")).display());
            return ExitCode::from(1);
        }
    };
    log::install(logger);
    let Some(command) = cli.command else {
        eprintln!("hull: no command given; see hull --help");
        return ExitCode::from(1);
    };
    match dispatch(&cli.root, cli.systemd_cgroup, command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(msg) => {
            log::error(&msg);
            ExitCode::from(1)
        }
    }
}

fn print_version() {
    println!("hull version {}", env!("CARGO_PKG_VERSION"));
    println!("commit: {}", option_env!("HULL_COMMIT").unwrap_or("unknown"));
    println!("spec: {}", libcontainer::state::OCI_VERSION);
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

fn dispatch(root: &Path, systemd: bool, command: Command) -> Result<i32, String> {
    let e = |e: container::ContainerError| e.to_string();
    match command {
        Command::Create(a) => {
            let opts = create_options(root, systemd, &a)?;
            container::create(&opts, Mode::Create).map_err(e)?;
            Ok(0)
        }
        Command::Start { id } => container::start(root, &id).map(|_| 0).map_err(e),
        Command::State { id } => {
            let s = container::state(root, &id).map_err(e)?;
            println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
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
            failed.map_or(Ok(0), Err)
        }
        Command::Run { create, detach, keep } => {
            let opts = create_options(root, systemd, &create)?;
            container::run(&opts, detach, keep).map_err(e)
        }
        Command::Spec { bundle, rootless } => {
            let dir = bundle.map(|b| absolute(&b)).unwrap_or_else(|| absolute(Path::new(".")));
            let path = dir.join("config.json");
            if path.exists() {
                return Err(format!("{} exists; remove it first", path.display()));
            }
            let text = if rootless { spec::rootless_spec_json() } else { spec::DEFAULT_SPEC_JSON.to_string() };
            std::fs::write(&path, text).map_err(|err| format!("write {}: {err}", path.display()))?;
            Ok(0)
        }
        Command::List { format, quiet } => list(root, &format, quiet),
    }
}

fn list(root: &Path, format: &str, quiet: bool) -> Result<i32, String> {
    let entries = container::list(root).map_err(|e| e.to_string())?;
    if quiet {
        for c in &entries {
            println!("{}", c.state.id);
        }
        return Ok(0);
    }
    match format {
        "json" => {
            let v: Vec<serde_json::Value> = entries
                .iter()
                .map(|c| {
                    let mut j = c.state.oci_json(c.status);
                    if let Some(o) = j.as_object_mut() {
                        o.remove("annotations");
                    }
                    j
                })
                .collect();
            println!("{}", serde_json::Value::from(v));
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
                        if c.state.owner.is_empty() { "root".into() } else { c.state.owner.clone() },
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
            for r in std::iter::once(&header).chain(rows.iter()) {
                let line: Vec<String> = r.iter().zip(widths.iter()).map(|(c, w)| format!("{c:<w$}")).collect();
                println!("{}", line.join("   ").trim_end());
            }
        }
        other => return Err(format!("--format {other:?}: use table or json")),
    }
    Ok(0)
}
