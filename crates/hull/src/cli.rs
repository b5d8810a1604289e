//! The command line: every flag runc takes (and what engines pass), with the
//! one-line help and examples `hull --help` shows. Shared by the `hull`
//! binary and `hull-man`, which writes the man pages and completions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::log;

#[derive(Parser, Debug, PartialEq)]
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
    /// Also write errors and warnings (and, with --debug, the debug lines) to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of --log lines: text or json (runc's {"level","msg","time"}).
    #[arg(long = "log-format", global = true, default_value = "text", value_name = "text|json")]
    pub log_format: log::Format,
    /// Debug lines: each step of create, start and exec with its time (to --log, else stderr).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Let systemd manage the container's cgroup, a transient scope unit;
    /// linux.cgroupsPath is then slice:prefix:name (system.slice:hull:<id>).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Print the version, commit and runtime-spec version.
    #[arg(short = 'v', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Clone, Debug, PartialEq)]
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

#[derive(Args, Clone, Debug, PartialEq)]
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
    /// Run the process in an existing sub-cgroup of the container's: PATH in
    /// every hierarchy, or per controller (repeatable).
    #[arg(long = "cgroup", value_name = "[CONTROLLER[,CONTROLLER]:]PATH")]
    pub cgroup: Vec<String>,
    pub id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `update`'s flags, spelled as runc's. Every value may start with `-` (as
/// with Go's flag package): `-1` means "unlimited" wherever runc takes it
/// (the memory values, `--cpu-quota`, `--cpu-rt-runtime`, `--pids-limit`).
#[derive(Args, Clone, Debug, PartialEq)]
pub struct UpdateArgs {
    /// LinuxResources JSON from a file, or - for stdin.
    #[arg(short, long, value_name = "FILE|-", allow_hyphen_values = true)]
    pub resources: Option<String>,
    /// Specifies per cgroup weight, range is from 10 to 1000.
    #[arg(long = "blkio-weight", allow_hyphen_values = true)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period to be used for hardcapping (in usecs). 0 to use system default.
    #[arg(long = "cpu-period", allow_hyphen_values = true)]
    pub cpu_period: Option<u64>,
    /// CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period; -1 for none.
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight vs. other containers).
    #[arg(long = "cpu-share", visible_alias = "cpu-shares", allow_hyphen_values = true)]
    pub cpu_shares: Option<u64>,
    /// CPU realtime period to be used for hardcapping (in usecs). 0 to use system default.
    #[arg(long = "cpu-rt-period", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period.
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU(s) to use.
    #[arg(long = "cpuset-cpus", allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// Memory node(s) to use.
    #[arg(long = "cpuset-mems", allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// Memory limit (in bytes, or with a k/m/g/t/p suffix); -1 for none (swap too, unless given).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation or soft_limit (in bytes).
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Total memory usage (memory + swap); set '-1' to enable unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Kernel memory limit (ignored by kernels that no longer have it).
    #[arg(long = "kernel-memory", hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP buffer memory limit (ignored by kernels that no longer have it).
    #[arg(long = "kernel-memory-tcp", hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of pids allowed in the container; -1 for none.
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT/CAT L3 cache schema (refused: hull has no Intel RDT support).
    #[arg(long = "l3-cache-schema", allow_hyphen_values = true)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema (refused: hull has no Intel RDT support).
    #[arg(long = "mem-bw-schema", allow_hyphen_values = true)]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}

#[derive(Subcommand, Debug, PartialEq)]
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
    /// Checkpoint a running container with CRIU into an image directory.
    #[command(args_override_self = true, after_help = crate::checkpoint::CHECKPOINT_HELP)]
    Checkpoint(crate::checkpoint::CheckpointArgs),
    /// Restore a container from a CRIU checkpoint.
    #[command(args_override_self = true, after_help = crate::checkpoint::RESTORE_HELP)]
    Restore(crate::checkpoint::RestoreArgs),
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

impl Command {
    /// `--preserve-fds` of the commands that start a process in a container.
    pub fn preserve_fds(&self) -> u32 {
        match self {
            Command::Create(a) | Command::Run { create: a, .. } => a.preserve_fds,
            Command::Exec(a) => a.preserve_fds,
            _ => 0,
        }
    }
}

/// The commands an engine runs for every container — `create`, `start`,
/// `state`, `kill`, `delete`, `run` and `exec` in the shapes containerd,
/// conmon and the shims use — parsed without clap. Building clap's command
/// tree for 17 subcommands costs about 1.1 million instructions, a third of
/// a whole `hull start`. Anything this parser does not understand completely
/// (help, a typo, a repeated or bundled flag, `--`, a value that starts with
/// `-`, a flag it does not list) gives `None`, and clap parses the line: help
/// text and error messages are always clap's. The tests below check that
/// both parsers agree on every line this one accepts.
pub fn parse_quick(args: &[std::ffi::OsString]) -> Option<Cli> {
    let q = Quick::scan(args)?;
    let log_format = match q.get("log-format") {
        None | Some("text") => log::Format::Text,
        Some("json") => log::Format::Json,
        Some(_) => return None,
    };
    Some(Cli {
        root: q.path("root"),
        log: q.path("log"),
        log_format,
        debug: q.on("debug"),
        systemd_cgroup: q.on("systemd-cgroup"),
        version: false,
        command: Some(q.command()?),
    })
}

/// (long name, short name, takes a value)
type Flag = (&'static str, Option<char>, bool);

const GLOBAL: &[Flag] = &[
    ("root", None, true),
    ("log", None, true),
    ("log-format", None, true),
    ("debug", None, false),
    ("systemd-cgroup", None, false),
];
const CREATE: &[Flag] = &[
    ("bundle", Some('b'), true),
    ("pid-file", None, true),
    ("console-socket", None, true),
    ("no-pivot", None, false),
    ("no-new-keyring", None, false),
    ("preserve-fds", None, true),
];
const RUN: &[Flag] = &[("detach", Some('d'), false), ("keep", None, false)];
const KILL: &[Flag] = &[("all", Some('a'), false)];
const DELETE: &[Flag] = &[("force", Some('f'), false)];
const EXEC: &[Flag] = &[
    ("process", Some('p'), true),
    ("tty", Some('t'), false),
    ("console-socket", None, true),
    ("detach", Some('d'), false),
    ("pid-file", None, true),
    ("cwd", None, true),
    ("no-new-privs", None, false),
    ("preserve-fds", None, true),
    ("ignore-paused", None, false),
];
const NONE: &[Flag] = &[];

/// A command line as the quick parser read it: the subcommand, the flags
/// seen (by long name, with their value, "" for switches), the rest.
struct Quick<'a> {
    sub: &'a str,
    seen: Vec<(&'static str, &'a str)>,
    positional: Vec<&'a str>,
}

impl<'a> Quick<'a> {
    /// Splits the words; `None` for anything not understood completely.
    fn scan(args: &'a [std::ffi::OsString]) -> Option<Quick<'a>> {
        let mut sub: Option<&str> = None;
        let mut tables: [&[Flag]; 2] = [NONE, NONE];
        let mut seen: Vec<(&'static str, &str)> = Vec::with_capacity(8);
        let mut positional: Vec<&str> = Vec::with_capacity(2);
        let mut words = args.iter().skip(1);
        while let Some(word) = words.next() {
            let word = word.to_str()?;
            // exec's command: everything after its first word is taken as is.
            if sub == Some("exec") && positional.len() >= 2 {
                positional.push(word);
                continue;
            }
            let (flag, inline) = if let Some(long) = word.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                (GLOBAL.iter().chain(tables[0]).chain(tables[1]).find(|f| f.0 == name)?, inline)
            } else if let Some(short) = word.strip_prefix('-') {
                let mut chars = short.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else { return None };
                (tables[0].iter().chain(tables[1]).find(|f| f.1 == Some(c))?, None)
            } else {
                if sub.is_none() {
                    tables = flags_of(word)?;
                    sub = Some(word);
                } else {
                    positional.push(word);
                }
                continue;
            };
            if seen.iter().any(|s| s.0 == flag.0) {
                return None;
            }
            let value = match (flag.2, inline) {
                (true, Some(v)) => v,
                (true, None) => words.next()?.to_str()?,
                (false, None) => "",
                (false, Some(_)) => return None,
            };
            if flag.2 && (value.is_empty() || value.starts_with('-')) {
                return None;
            }
            seen.push((flag.0, value));
        }
        let sub = sub?;
        if positional.iter().any(|p| p.starts_with('-')) && sub != "exec" {
            return None;
        }
        Some(Quick { sub, seen, positional })
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.seen.iter().find(|s| s.0 == name).map(|s| s.1)
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }

    fn on(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn count(&self, name: &str) -> Option<u32> {
        match self.get(name) {
            None => Some(0),
            Some(v) if v.bytes().all(|b| b.is_ascii_digit()) => v.parse().ok(),
            Some(_) => None,
        }
    }

    fn one_id(&self) -> Option<String> {
        match self.positional[..] {
            [id] => Some(id.to_string()),
            _ => None,
        }
    }

    fn create(&self) -> Option<CreateArgs> {
        Some(CreateArgs {
            bundle: self.path("bundle"),
            pid_file: self.path("pid-file"),
            console_socket: self.path("console-socket"),
            no_pivot: self.on("no-pivot"),
            no_new_keyring: self.on("no-new-keyring"),
            preserve_fds: self.count("preserve-fds")?,
            id: self.one_id()?,
        })
    }

    fn command(&self) -> Option<Command> {
        Some(match self.sub {
            "create" => Command::Create(self.create()?),
            "run" => Command::Run { create: self.create()?, detach: self.on("detach"), keep: self.on("keep") },
            "start" => Command::Start { id: self.one_id()? },
            "state" => Command::State { id: self.one_id()? },
            "kill" => match self.positional[..] {
                [id] | [id, _] => Command::Kill {
                    all: self.on("all"),
                    id: id.to_string(),
                    signal: self.positional.get(1).unwrap_or(&"TERM").to_string(),
                },
                _ => return None,
            },
            "delete" if !self.positional.is_empty() => Command::Delete {
                force: self.on("force"),
                ids: self.positional.iter().map(|s| s.to_string()).collect(),
            },
            "exec" => Command::Exec(self.exec()?),
            _ => return None,
        })
    }

    fn exec(&self) -> Option<ExecArgs> {
        let (id, command) = self.positional.split_first()?;
        if id.starts_with('-') || command.first().is_some_and(|c| c.starts_with('-')) {
            return None;
        }
        Some(ExecArgs {
            process: self.path("process"),
            tty: self.on("tty"),
            console_socket: self.path("console-socket"),
            detach: self.on("detach"),
            pid_file: self.path("pid-file"),
            cwd: self.path("cwd"),
            env: Vec::new(),
            user: None,
            additional_gids: Vec::new(),
            cap: Vec::new(),
            no_new_privs: self.on("no-new-privs"),
            apparmor: None,
            process_label: None,
            preserve_fds: self.count("preserve-fds")?,
            ignore_paused: self.on("ignore-paused"),
            cgroup: Vec::new(),
            id: id.to_string(),
            command: command.iter().map(|s| s.to_string()).collect(),
        })
    }
}

/// The flag tables of a subcommand the quick parser knows.
fn flags_of(sub: &str) -> Option<[&'static [Flag]; 2]> {
    Some(match sub {
        "create" => [CREATE, NONE],
        "run" => [CREATE, RUN],
        "start" | "state" => [NONE, NONE],
        "kill" => [KILL, NONE],
        "delete" => [DELETE, NONE],
        "exec" => [EXEC, NONE],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::ffi::OsString;

    fn argv(line: &[&str]) -> Vec<OsString> {
        std::iter::once("hull").chain(line.iter().copied()).map(OsString::from).collect()
    }

    /// Wherever the quick parser answers, clap gives the same answer.
    fn agree(line: &[&str]) -> bool {
        let args = argv(line);
        match parse_quick(&args) {
            None => false,
            Some(quick) => match Cli::try_parse_from(&args) {
                Ok(full) => {
                    assert_eq!(quick, full, "parsers disagree on {line:?}");
                    true
                }
                Err(e) => panic!("quick parser accepted {line:?}, clap refused it: {e}"),
            },
        }
    }

    #[test]
    fn the_engines_command_lines_take_the_quick_path() {
        let lines: &[&[&str]] = &[
            // containerd's runc shim
            &[
                "--root",
                "/run/containerd/runc/default",
                "--log",
                "/run/containerd/t/log.json",
                "--log-format",
                "json",
                "create",
                "--bundle",
                "/run/containerd/t",
                "--pid-file",
                "/run/containerd/t/init.pid",
                "t1",
            ],
            &["--root", "/r", "--log", "l", "--log-format", "json", "start", "t1"],
            &["--root", "/r", "--log", "l", "--log-format", "json", "kill", "t1", "9"],
            &["--root", "/r", "--log", "l", "--log-format", "json", "kill", "--all", "t1", "9"],
            &["--root", "/r", "--log", "l", "--log-format", "json", "delete", "--force", "t1"],
            &["--root", "/r", "--log", "l", "--log-format", "json", "state", "t1"],
            &[
                "--root",
                "/r",
                "--log",
                "l",
                "--log-format",
                "json",
                "exec",
                "--process",
                "/tmp/p.json",
                "--detach",
                "--pid-file",
                "/r/e.pid",
                "t1",
            ],
            // conmon (podman)
            &[
                "--systemd-cgroup",
                "--root",
                "/run/runc",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/b/pidfile",
                "--no-new-keyring",
                "--console-socket",
                "/b/console.sock",
                "c1",
            ],
            &["--root=/r", "exec", "-t", "--console-socket=/s", "c1", "sh", "-c", "echo hi"],
            // people
            &["run", "-b", "/b", "demo"],
            &["run", "-d", "--bundle", "/b", "--keep", "--preserve-fds", "2", "demo"],
            &["delete", "a", "b", "c"],
            &["kill", "-a", "web"],
            &["--debug", "create", "--no-pivot", "x"],
            &["create", "x", "--root", "/r"],
        ];
        for line in lines {
            assert!(agree(line), "{line:?} should take the quick path");
        }
    }

    #[test]
    fn clap_keeps_help_errors_and_rare_spellings() {
        let lines: &[&[&str]] = &[
            &[],
            &["--help"],
            &["create", "--help"],
            &["-v"],
            &["list"],
            &["spec"],
            &["create"],
            &["create", "a", "b"],
            &["start"],
            &["delete"],
            &["kill", "a", "-9"],
            &["create", "--bogus", "x"],
            &["create", "--preserve-fds", "x", "id"],
            &["create", "--bundle"],
            &["create", "-bdir", "x"],
            &["delete", "-fa", "x"],
            &["--log-format", "yaml", "state", "x"],
            &["--root", "/a", "--root", "/b", "state", "x"],
            &["state", "--", "x"],
            &["exec", "--user", "1:1", "c", "id"],
            &["-b", "/b", "create", "x"],
        ];
        for line in lines {
            assert!(parse_quick(&argv(line)).is_none(), "{line:?} should go to clap");
        }
    }

    /// Random command lines from the words engines and people use.
    #[test]
    fn random_lines_agree() {
        const WORDS: &[&str] = &[
            "create",
            "run",
            "start",
            "state",
            "kill",
            "delete",
            "exec",
            "list",
            "--root",
            "/r",
            "--root=/r",
            "--log",
            "l.json",
            "--log-format",
            "json",
            "text",
            "--log-format=json",
            "--debug",
            "--systemd-cgroup",
            "-b",
            "--bundle",
            "/b",
            "--bundle=/b",
            "--pid-file",
            "p",
            "--console-socket",
            "s",
            "--no-pivot",
            "--no-new-keyring",
            "--preserve-fds",
            "3",
            "-d",
            "--detach",
            "--keep",
            "-a",
            "--all",
            "-f",
            "--force",
            "id1",
            "id2",
            "KILL",
            "9",
            "-t",
            "--tty",
            "-p",
            "--process",
            "--cwd",
            "ls",
            "-l",
            "--",
            "-",
            "-x",
            "--help",
            "-h",
            "-v",
            "--preserve-fds=2",
            "-e",
            "A=b",
            "--ignore-paused",
            "--no-new-privs",
            "--env",
            "--cwd=/",
            "--keep=1",
            "",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut quick = 0;
        for _ in 0..200_000 {
            let len = 1 + next(9);
            let mut line: Vec<&str> = (0..len).map(|_| WORDS[next(WORDS.len())]).collect();
            // Most lines name a hot command early, as real ones do.
            if next(4) != 0 {
                let at = next(line.len().min(3));
                line.insert(at, WORDS[next(7)]);
            }
            if agree(&line) {
                quick += 1;
            }
        }
        assert!(quick > 5_000, "only {quick} random lines took the quick path");
    }
}
