//! `hull exec` and terminals.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use hull_tests::*;
use serde_json::json;

fn running(args: &[&str]) -> Container {
    let c = Container::new(Bundle::busybox(args));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    c
}

#[test]
fn exec_joins_every_namespace_and_the_cgroup() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.add_namespace("cgroup");
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["exec", "{id}", "sh", "-c", "echo $$; for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup; ps -o comm"]).ok();
    let init = c.pid();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_ne!(lines[0], "1", "not the init");
    for (i, n) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"].iter().enumerate() {
        let want = std::fs::read_link(format!("/proc/{init}/ns/{n}")).unwrap();
        assert_eq!(lines[1 + i], want.to_str().unwrap(), "{n}");
    }
    let cg_init = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    // Inside the cgroup namespace every path reads /, as the init's does from inside.
    assert!(r.stdout.contains("0::/\n") || cg_init.contains("0::"), "{r:?}");
    assert!(r.stdout.contains("sleep"), "the exec'd shell sees the container's processes: {r:?}");
}

/// runc's "exec (cgroup v1+hybrid joins correct cgroup)": with the default
/// spec (no cgroup namespace outside pure v2, as runc's) an exec'd process
/// reads the container's cgroup in /proc/self/cgroup, the same as the init's.
/// Before, `hull spec` always added a cgroup namespace and every path read `/`.
#[test]
fn exec_with_the_default_spec_names_the_containers_cgroup() {
    let c = running(&["sleep", "100"]);
    let r = c.hull(&["exec", "{id}", "cat", "/proc/self/cgroup"]).ok();
    let init = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid())).unwrap();
    let pure_v2 = init.lines().count() == 1;
    if pure_v2 {
        // runc's default there has a cgroup namespace: its root is the container's cgroup.
        assert_eq!(r.stdout, "0::/\n", "{r:?}");
        return;
    }
    for line in init.lines().filter(|l| !l.ends_with(":/")) {
        assert!(line.contains(&c.id), "the init is in the container's cgroup: {init}");
    }
    assert!(init.lines().any(|l| l.contains(&c.id)), "{init}");
    assert_eq!(r.stdout, init, "the exec'd process is in the init's cgroups and sees their host paths");
}

#[test]
fn exec_returns_the_exit_code() {
    let c = running(&["sleep", "100"]);
    assert_eq!(c.hull(&["exec", "{id}", "sh", "-c", "exit 7"]).code, 7);
}

#[test]
fn exec_of_a_missing_binary_fails_clearly_and_the_container_keeps_running() {
    let c = running(&["sleep", "100"]);
    let r = c.hull(&["exec", "{id}", "no-such-thing"]);
    // runc's status for exec's own failures; podman reads the wording (and makes it 127).
    assert_eq!(r.code, 255, "{r:?}");
    assert!(r.stderr.contains(r#"exec: "no-such-thing": executable file not found in $PATH"#), "{r:?}");
    assert_eq!(c.status(), "running");
}

#[test]
fn exec_flags_env_cwd_user() {
    let c = running(&["sleep", "100"]);
    let r = c
        .hull(&[
            "exec",
            "--env",
            "X=42",
            "--cwd",
            "/tmp",
            "--user",
            "1000:1000",
            "-g",
            "5",
            "{id}",
            "sh",
            "-c",
            "echo $X; pwd; id -u; id -G",
        ])
        .ok();
    assert_eq!(r.stdout, "42\n/tmp\n1000\n1000 5\n");
}

#[test]
fn exec_process_json_like_containerd() {
    let c = running(&["sleep", "100"]);
    let p = c.bundle.dir.join("process.json");
    std::fs::write(&p, json!({"args": ["sh", "-c", "echo from-json $A; id -u"], "env": ["A=b", "PATH=/bin"], "cwd": "/", "user": {"uid": 2, "gid": 2}}).to_string()).unwrap();
    let r = c.hull(&["exec", "--process", p.to_str().unwrap(), "{id}"]).ok();
    assert_eq!(r.stdout, "from-json b\n2\n");
}

/// runc takes a process JSON without `user` (or `cwd`) as Go's zero values:
/// root, in `/`. runc's tty.bats passes such a file.
#[test]
fn exec_process_json_without_user_runs_as_root() {
    let c = running(&["sleep", "100"]);
    let p = c.bundle.dir.join("process.json");
    std::fs::write(&p, json!({"args": ["sh", "-c", "id -u; id -g; pwd"], "env": ["PATH=/bin"]}).to_string()).unwrap();
    let r = c.hull(&["exec", "--process", p.to_str().unwrap(), "{id}"]).ok();
    assert_eq!(r.stdout, "0\n0\n/\n");
}

/// Sub-cgroups made for a test, removed (deepest first) before the container
/// is deleted, even when the test fails.
struct SubCgroups(Vec<std::path::PathBuf>);

impl Drop for SubCgroups {
    fn drop(&mut self) {
        for d in self.0.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// `exec --cgroup` (runc 1.1): the process joins an existing sub-cgroup of
/// the container's, in every hierarchy or per controller; `..`, a missing
/// sub-cgroup and an unknown controller are refused with runc's words.
#[test]
fn exec_cgroup_joins_a_sub_cgroup() {
    let c = running(&["sleep", "100"]);
    let dirs = cgroup_dirs_named(&c.id);
    assert!(!dirs.is_empty());
    let v1 = std::path::Path::new("/sys/fs/cgroup/memory").is_dir();
    let mut made = SubCgroups(Vec::new());
    for d in &dirs {
        made.0.push(d.join("sub"));
        if d.starts_with("/sys/fs/cgroup/memory") {
            made.0.push(d.join("m"));
        }
    }
    for d in &made.0 {
        std::fs::create_dir(d).unwrap();
    }
    // What the process sees of its cgroups (with or without a cgroup
    // namespace): the container's own, and with `sub` appended where asked.
    let cgroups = |args: &[&str]| -> Vec<String> {
        let mut cmd = vec!["exec"];
        cmd.extend_from_slice(args);
        cmd.extend_from_slice(&["{id}", "cat", "/proc/self/cgroup"]);
        c.hull(&cmd).ok().stdout.lines().map(str::to_string).collect()
    };
    let own = cgroups(&[]);
    let with = |line: &str, sub: &str| match line.rsplit_once(':') {
        Some((head, "/")) => format!("{head}:/{sub}"),
        Some((head, path)) => format!("{head}:{path}/{sub}"),
        None => line.to_string(),
    };
    assert_eq!(
        cgroups(&["--cgroup", "sub"]),
        own.iter().map(|l| with(l, "sub")).collect::<Vec<_>>(),
        "every hierarchy"
    );
    assert_eq!(cgroups(&["--cgroup", "/"]), own, "/ is the container's cgroup");
    if v1 {
        let want: Vec<String> = own
            .iter()
            .map(|l| {
                if l.contains(":memory:") {
                    with(l, "m")
                } else if l.contains(":pids:") {
                    with(l, "sub")
                } else {
                    l.clone()
                }
            })
            .collect();
        assert_eq!(cgroups(&["--cgroup", "memory:m", "--cgroup", "pids:sub"]), want, "per controller");
    }
    for (arg, words) in [
        ("..", ".. is not a sub cgroup path"),
        ("nonexistent", "/nonexistent/cgroup.procs: no such file"),
        ("whaaat:/", "unknown controller whaaat"),
    ] {
        let r = c.hull(&["exec", "--cgroup", arg, "{id}", "true"]);
        assert_eq!(r.code, 255, "{arg}: {r:?}");
        assert!(r.stderr.contains(words), "{arg}: {words:?} not in {r:?}");
    }
}

#[test]
fn exec_detached_writes_the_pid_file() {
    let c = running(&["sleep", "100"]);
    let pf = c.bundle.dir.join("exec.pid");
    c.hull(&["exec", "-d", "--pid-file", pf.to_str().unwrap(), "{id}", "sleep", "50"]).ok();
    let pid: i32 = std::fs::read_to_string(&pf).unwrap().trim().parse().unwrap();
    assert_eq!(std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap().trim(), "sleep");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap(),
        std::fs::read_link(format!("/proc/{}/ns/pid", c.pid())).unwrap()
    );
    let ps = c.hull(&["ps", "--format", "json", "{id}"]).ok();
    let pids: Vec<i32> = serde_json::from_str(&ps.stdout).unwrap();
    assert!(pids.contains(&pid), "ps lists the exec'd process: {pids:?}");
}

#[test]
fn exec_into_stopped_or_paused_container_fails_clearly() {
    let c = running(&["sleep", "100"]);
    c.hull(&["pause", "{id}"]).ok();
    let r = c.hull(&["exec", "{id}", "true"]);
    assert_eq!(r.code, 255, "runc's status for exec's own failures: {r:?}");
    assert!(r.stderr.contains("cannot exec in a paused container"), "runc's words: {r:?}");
    c.hull(&["exec", "--ignore-paused", "-d", "{id}", "true"]).ok();
    c.hull(&["resume", "{id}"]).ok();
    c.hull(&["kill", "{id}", "KILL"]).ok();
    c.wait_status("stopped");
    let r = c.hull(&["exec", "{id}", "true"]);
    assert_eq!(r.code, 255, "{r:?}");
    assert!(r.stderr.contains("cannot exec in a stopped container"), "{r:?}");
}

/// Every failure of exec itself exits 255, as runc's: a missing container, a
/// pid file that cannot be written, a missing --process file. The program's
/// own status still passes through.
#[test]
fn exec_failures_of_its_own_exit_255() {
    let c = running(&["sleep", "100"]);
    assert_eq!(c.hull(&["exec", "{id}", "false"]).code, 1);
    assert_eq!(c.hull(&["exec", "{id}", "sh", "-c", "exit 42"]).code, 42);
    let r = c.hull(&["exec", "--pid-file", "/non-existent/directory", "{id}", "true"]);
    assert_eq!(r.code, 255, "{r:?}");
    let r = c.hull(&["exec", "--process", "/non-existent/process.json", "{id}"]);
    assert_eq!(r.code, 255, "{r:?}");
    let r = c.hull(&["exec", "no-such-container-here", "true"]);
    assert_eq!(r.code, 255, "{r:?}");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
}

#[test]
fn sixteen_concurrent_execs_all_succeed_and_mounts_do_not_grow() {
    let c = running(&["sleep", "100"]);
    let before = c.hull(&["exec", "{id}", "sh", "-c", "wc -l < /proc/self/mountinfo"]).ok().stdout;
    let cr = &c;
    let results: Vec<Run> = std::thread::scope(|s| {
        let hs: Vec<_> =
            (0..16).map(|i| s.spawn(move || cr.hull(&["exec", "{id}", "sh", "-c", &format!("echo {i}")]))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(r.stdout, format!("{i}\n"));
    }
    let after = c.hull(&["exec", "{id}", "sh", "-c", "wc -l < /proc/self/mountinfo"]).ok().stdout;
    assert_eq!(before, after);
}

/// A console socket like containerd's: accepts one connection and returns the
/// pty master it carries.
fn console_socket(dir: &std::path::Path) -> (std::path::PathBuf, std::thread::JoinHandle<OwnedFd>) {
    let path = dir.join("console.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let h = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        libcontainer::terminal::recv_fd(conn.as_raw_fd()).unwrap()
    });
    (path, h)
}

fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    let mut got = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 4096];
    while !got.contains(needle) && std::time::Instant::now() < deadline {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    got
}

#[test]
fn terminal_goes_to_the_console_socket() {
    let mut b = Bundle::busybox(&["sh"]);
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["consoleSize"] = json!({"height": 33, "width": 101});
    let c = Container::new(b);
    let (sock, h) = console_socket(&c.bundle.dir);
    c.hull(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), "--console-socket", sock.to_str().unwrap(), "{id}"])
        .ok();
    let mut master = std::fs::File::from(h.join().unwrap());
    c.hull(&["start", "{id}"]).ok();
    master.write_all(b"tty; stty size; ls -l /dev/console | cut -c1; echo done-$((40+2))\n").unwrap();
    let out = read_until(&mut master, "done-42");
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("33 101"), "{out}");
    assert!(out.contains("\nc"), "/dev/console is the pty: {out}");
}

/// `--debug` lines of the init are hull's, not the container's: they go to
/// hull's stderr (or `--log`), never to the container's terminal, which
/// becomes the init's stderr half-way through its setup.
#[test]
fn debug_lines_never_reach_the_containers_terminal() {
    let mut b = Bundle::busybox(&["sh", "-c", "echo out-$((40+2)); sleep 100"]);
    b.config["process"]["terminal"] = json!(true);
    let c = Container::new(b);
    let (sock, h) = console_socket(&c.bundle.dir);
    let bundle = c.bundle.dir.to_str().unwrap();
    let created =
        c.hull(&["--debug", "create", "--bundle", bundle, "--console-socket", sock.to_str().unwrap(), "{id}"]).ok();
    let mut master = std::fs::File::from(h.join().unwrap());
    c.hull(&["--debug", "start", "{id}"]).ok();
    let out = read_until(&mut master, "out-42");
    assert!(out.contains("out-42") && !out.contains("init: "), "the container's terminal: {out:?}");
    // The init's last steps come after the pty took over its stdio.
    assert!(created.stderr.contains("level=debug msg=\"init: process attributes\""), "{created:?}");
}

#[test]
fn exec_tty_through_a_console_socket() {
    let c = running(&["sleep", "100"]);
    let (sock, h) = console_socket(&c.bundle.dir);
    let mut cmd = c.hull_cmd(&["exec", "-t", "-d", "--console-socket", sock.to_str().unwrap(), "{id}", "sh"]);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    assert!(cmd.status().unwrap().success());
    let mut master = std::fs::File::from(h.join().unwrap());
    master.write_all(b"tty; echo ok-$((1+1))\n").unwrap();
    let out = read_until(&mut master, "ok-2");
    assert!(out.contains("/dev/pts/"), "{out}");
}

#[test]
fn detached_terminal_without_a_console_socket_is_refused() {
    let mut b = Bundle::busybox(&["sh"]);
    b.config["process"]["terminal"] = json!(true);
    let c = Container::new(b);
    let r = c.create();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("console-socket"), "{r:?}");
    c.assert_gone();
}

#[test]
fn foreground_run_relays_the_callers_terminal() {
    // `script` gives hull a terminal on stdin/stdout, as a user at a shell would.
    let mut b = Bundle::busybox(&["sh", "-c", "tty; stty size; echo relayed-$((6*7))"]);
    b.config["process"]["terminal"] = json!(true);
    let c = Container::new(b);
    let cmd = format!(
        "stty rows 24 cols 80; {} --root {} run --bundle {} {}",
        hull_bin().display(),
        c.root.display(),
        c.bundle.dir.display(),
        c.id
    );
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/0"), "the container got its own pty: {text}");
    assert!(text.contains("relayed-42"), "{text}");
    assert!(text.contains("24 80"), "the window size followed: {text}");
}

#[test]
fn a_failed_exec_leaves_no_zombie_behind() {
    let c = running(&["sleep", "100"]);
    assert_eq!(c.hull(&["exec", "{id}", "no-such-thing"]).code, 255);
    // delete must not wait for anyone to reap the failed exec process.
    let t = std::time::Instant::now();
    c.hull(&["delete", "--force", "{id}"]).ok();
    assert!(t.elapsed() < std::time::Duration::from_millis(800), "delete took {:?}", t.elapsed());
}

/// The init and every exec'd process lead their own session and process
/// group (pgrp = sid = pid), as under runc: a signal to the caller's group
/// does not reach them.
#[test]
fn init_and_exec_lead_their_own_sessions() {
    let c = running(&["sleep", "100"]);
    let r =
        c.hull(&["exec", "{id}", "sh", "-c", "echo $$ $(cut -d' ' -f5,6 /proc/$$/stat); cut -d' ' -f5,6 /proc/1/stat"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<Vec<&str>> = r.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0][1..], [lines[0][0], lines[0][0]], "exec: {r:?}");
    assert_eq!(lines[1], ["1", "1"], "init: {r:?}");
}

#[test]
fn the_pty_belongs_to_the_process_user() {
    // runc's tty.bats: a process that is not root owns its terminal (the
    // group stays devpts' tty group 5), for the init and for an exec.
    let mut b = Bundle::busybox(&["sh"]);
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 100});
    let c = Container::new(b);
    let (sock, h) = console_socket(&c.bundle.dir);
    c.hull(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), "--console-socket", sock.to_str().unwrap(), "{id}"])
        .ok();
    let mut master = std::fs::File::from(h.join().unwrap());
    c.hull(&["start", "{id}"]).ok();
    master.write_all(b"echo owner=$(stat -c %u:%g $(tty))-end$((1+1))\n").unwrap();
    let out = read_until(&mut master, "-end2");
    assert!(out.contains("owner=1000:5-end2"), "init: {out}");

    std::fs::remove_file(&sock).unwrap();
    let (sock, h) = console_socket(&c.bundle.dir);
    let mut cmd = c.hull_cmd(&[
        "exec",
        "-t",
        "-d",
        "--user",
        "1000:100",
        "--console-socket",
        sock.to_str().unwrap(),
        "{id}",
        "sh",
    ]);
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    assert!(cmd.status().unwrap().success());
    let mut master = std::fs::File::from(h.join().unwrap());
    master.write_all(b"echo owner=$(stat -c %u:%g $(tty))-end$((1+1))\n").unwrap();
    let out = read_until(&mut master, "-end2");
    assert!(out.contains("owner=1000:5-end2"), "exec: {out}");
}

/// The CPUs the process may run on, as /proc/self/status lists them.
fn exec_cpus(c: &Container, extra: &[&str]) -> Run {
    let mut args = vec!["exec"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["{id}", "sh", "-c", "grep Cpus_allowed_list /proc/self/status | cut -f2"]);
    c.hull(&args)
}

#[test]
fn exec_cpu_affinity_initial_and_final() {
    if std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) < 2 {
        return; // one CPU: nothing to choose between
    }
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["process"]["execCPUAffinity"] = json!({"initial": "1", "final": "0"});
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    assert_eq!(exec_cpus(&c, &[]).ok().stdout, "0\n", "final from config.json");
    // The init is left alone (the spec leaves it out).
    let init = std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap();
    assert!(!init.contains("Cpus_allowed_list:\t0\n"), "{init}");

    // --process with only `initial`: the process stays where it was born.
    let mut p = c.bundle.config["process"].clone();
    p["args"] = json!(["sh", "-c", "grep Cpus_allowed_list /proc/self/status | cut -f2"]);
    p["execCPUAffinity"] = json!({"initial": "1"});
    let file = c.bundle.dir.join("process.json");
    std::fs::write(&file, p.to_string()).unwrap();
    let r = c.hull(&["exec", "--process", file.to_str().unwrap(), "{id}"]).ok();
    assert_eq!(r.stdout, "1\n", "{r:?}");
    // hull pins itself only around the clone: in the foreground it runs
    // where it ran before.
    p["args"] = json!(["sleep", "3"]);
    std::fs::write(&file, p.to_string()).unwrap();
    let mut cmd = c.hull_cmd(&["exec", "--process", file.to_str().unwrap(), "{id}"]);
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let hull = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let cpus = |s: &str| s.lines().find(|l| l.starts_with("Cpus_allowed_list")).unwrap().to_string();
    assert_eq!(cpus(&hull), cpus(&own), "hull exec stayed pinned");
    assert!(child.wait().unwrap().success());
}

#[test]
fn exec_cpu_affinity_on_no_usable_cpu_fails_naming_the_field() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["process"]["execCPUAffinity"] = json!({"final": "60000"});
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = exec_cpus(&c, &[]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("process.execCPUAffinity.final") && r.stderr.contains("60000"), "{r:?}");
    assert_eq!(c.status(), "running");
}
