//! The command line: every flag runc takes (and what engines pass), with the
//! one-line help and examples `hull --help` shows. Shared by the `hull`
//! binary and `hull-man`, which writes the man pages and completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::log;

#[derive(Parser)]
#[command(
    name = "hull",
    about = "hull: an OCI container runtime (a drop-in replacement for runc)",
    disable_version_flag = true,
    after_help = "Examples:\n  hull spec                       write a default config.json\n  hull run demo                   run the bundle in the current directory\n  hull --root /tmp/h list         list containers under another state root"
)]
pub struct Cli {
    /// Directory for container state [default: /run/hull, or $XDG_RUNTIME_DIR/hull for a non-root user].
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Also write errors and warnings to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of --log lines: text or json (runc's {"level","msg","time"}).
    #[arg(long = "log-format", global = true, default_value = "text", value_name = "text|json")]
    pub log_format: log::Format,
    /// Print how long each step of create takes (to stderr).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd to manage cgroups (refused: hull manages cgroupfs directly).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Print the version, commit and runtime-spec version.
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Clone)]
pub struct CreateArgs {
    /// Bundle directory (holds config.json); default: the current directory.
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Write the container init's pid here.
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Switch root with MS_MOVE + chroot instead of pivot_root (ramfs roots).
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not give the container its own session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N descriptors after stdio (3 .. 3+N-1) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// Container id.
    pub id: String,
}

#[derive(Args, Clone)]
pub struct ExecArgs {
    /// OCI process JSON to run (instead of a command).
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Give the process a terminal.
    #[arg(short, long)]
    pub tty: bool,
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Return once the process runs.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE (repeatable).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// uid[:gid]
    #[arg(short, long)]
    pub user: Option<String>,
    #[arg(short = 'g', long = "additional-gids", value_delimiter = ',')]
    pub additional_gids: Vec<u32>,
    /// Add a capability (repeatable).
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    #[arg(long)]
    pub apparmor: Option<String>,
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Allow exec into a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Clone)]
pub struct UpdateArgs {
    /// LinuxResources JSON from a file, or - for stdin.
    #[arg(short, long, value_name = "FILE|-")]
    pub resources: Option<String>,
    #[arg(long)]
    pub memory: Option<String>,
    #[arg(long = "memory-swap")]
    pub memory_swap: Option<String>,
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    #[arg(long = "kernel-memory")]
    pub kernel_memory: Option<String>,
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    pub id: String,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// Run a process inside a running container.
    #[command(
        after_help = "Examples: hull exec web ps\n          hull exec -t web sh\n          hull exec --process p.json --detach --pid-file p.pid web"
    )]
    Exec(ExecArgs),
    /// Freeze every process of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Show the container's processes (table: ps output for its pids; json: the pids).
    #[command(
        after_help = "Examples: hull ps web\n          hull ps --format json web\n          hull ps web -- -o pid,comm"
    )]
    Ps {
        #[arg(short, long, default_value = "table", value_name = "table|json")]
        format: String,
        id: String,
        /// Arguments for ps(1) (default -ef).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Resource usage: one JSON object with --stats, or a stream every --interval (plus OOM events).
    Events {
        #[arg(long)]
        stats: bool,
        #[arg(long, default_value = "5s", value_name = "DURATION")]
        interval: String,
        id: String,
    },
    /// Change the resource limits of a live container.
    #[command(
        after_help = "Examples: hull update --memory 128M web\n          hull update --resources limits.json web\n          echo '{\"pids\":{\"limit\":50}}' | hull update -r - web"
    )]
    Update(UpdateArgs),
    /// Print what this runtime supports (runtime-spec features JSON).
    Features,
    /// Print a shell completion script.
    #[command(after_help = "Example: hull completion bash > /etc/bash_completion.d/hull")]
    Completion { shell: clap_complete::Shell },
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
