//! The OCI lifecycle through the real binary: create, start, state, kill,
//! delete, run, list, pid files, and that nothing is left afterwards.

use hull_tests::*;
use serde_json::json;

#[test]
fn create_start_kill_delete_leaves_nothing() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    let pid_file = c.bundle.dir.join("init.pid");
    c.hull(&["create", "--bundle", c.bundle.dir.to_str().unwrap(), "--pid-file", pid_file.to_str().unwrap(), "{id}"])
        .ok();
    let st = c.state();
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], c.id.as_str());
    let pid = st["pid"].as_i64().unwrap() as i32;
    assert!(pid > 0);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap().trim(), pid.to_string());
    assert_eq!(st["bundle"], c.bundle.dir.to_str().unwrap());

    c.hull(&["start", "{id}"]).ok();
    assert_eq!(c.status(), "running");
    // start returns as the init execs; the program is in place a moment later.
    let comm = || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    for _ in 0..100 {
        if comm().trim() == "sleep" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(comm().trim(), "sleep", "the init became the container's program");

    c.hull(&["kill", "{id}", "KILL"]).ok();
    c.wait_status("stopped");
    assert_eq!(c.state()["pid"], 0);
    c.hull(&["delete", "{id}"]).ok();
    c.assert_gone();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            // a zombie until our test harness's parent reaps it is fine; a live process is not
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z")).unwrap_or(true)
        }
    );
}

#[test]
fn run_returns_the_exit_code() {
    let (r, c) = run_script(Bundle::busybox(&[]), "echo hello; exit 42");
    assert_eq!(r.code, 42, "{r:?}");
    assert_eq!(r.stdout, "hello\n");
    c.assert_gone();
}

#[test]
fn run_reports_death_by_signal_as_128_plus_signal() {
    // Without a pid namespace the shell is not an init, so it can kill itself.
    let mut b = Bundle::busybox(&[]);
    b.namespaces(&["mount", "uts", "ipc", "network"]);
    let (r, _c) = run_script(b, "kill -KILL $$");
    assert_eq!(r.code, 137, "{r:?}");
}

/// A foreground `run` passes the signals it gets on to the container (which
/// leads its own session, so a terminal's Ctrl-C reaches it only this way),
/// and exits with the container's status.
#[test]
fn foreground_run_forwards_signals_to_the_container() {
    use std::io::{BufRead, BufReader};
    let b = Bundle::busybox(&[
        "sh",
        "-c",
        // Gives up after about 5 s, so that a lost signal fails the test instead of hanging it.
        "trap 'echo got TERM; exit 3' TERM; trap 'echo got INT' INT; echo ready; \
         i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; echo no signal",
    ]);
    let c = Container::new(b);
    let mut child = c
        .hull_cmd(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling the hull process this test started.
    unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(lines.next().unwrap().unwrap(), "got INT");
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(lines.next().unwrap().unwrap(), "got TERM");
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

#[test]
fn foreground_run_forwards_every_catchable_signal() {
    // Not only the usual seven: SIGALRM, SIGURG, SIGTSTP and a real-time
    // signal (SIGRTMIN+3, on which systemd stops) reach the container too.
    // Before, they were not forwarded (SIGTSTP stopped hull itself).
    use std::io::{BufRead, BufReader};
    let b = Bundle::busybox(&[
        "sh",
        "-c",
        "for s in ALRM URG TSTP 37; do trap \"echo got $s\" $s; done; echo ready; \
         i=0; while [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; echo no signal",
    ]);
    let c = Container::new(b);
    let mut child = c
        .hull_cmd(&["run", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pid = child.id() as libc::pid_t;
    for (sig, name) in
        [(libc::SIGALRM, "ALRM"), (libc::SIGURG, "URG"), (libc::SIGTSTP, "TSTP"), (libc::SIGRTMIN() + 3, "37")]
    {
        // SAFETY: signalling the hull process this test started.
        unsafe { libc::kill(pid, sig) };
        assert_eq!(lines.next().unwrap().unwrap(), format!("got {name}"));
    }
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = child.wait();
}

#[test]
fn start_of_a_running_container_fails_clearly() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["start", "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot start an already running container"), "runc's words: {r:?}");
}

/// A command on a container in the wrong state fails with status 1 and one
/// line holding runc's phrase for it: engines and scripts match on those.
#[test]
fn wrong_state_errors_use_runcs_words() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let id = c.id.clone();
    let events_stopped = format!("container with id {id} is not running");
    let fails = |args: &[&str], phrase: &str| {
        let r = c.hull(args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: one line: {r:?}");
        assert!(r.stderr.starts_with("hull: ") && r.stderr.contains(phrase), "{args:?}: {phrase:?} not in {r:?}");
    };
    fails(&["resume", "{id}"], "container not paused");
    c.hull(&["pause", "{id}"]).ok();
    fails(&["start", "{id}"], "cannot start a container in the paused state");
    fails(&["pause", "{id}"], "container not running");
    c.hull(&["resume", "{id}"]).ok();
    c.hull(&["kill", "{id}", "KILL"]).ok();
    c.wait_status("stopped");
    fails(&["start", "{id}"], "cannot start a container that has stopped");
    fails(&["pause", "{id}"], "container not running");
    fails(&["resume", "{id}"], "container not paused");
    fails(&["kill", "{id}"], "container not running");
    fails(&["update", "--pids-limit", "10", "{id}"], "container not running");
    fails(&["events", "--stats", "{id}"], &events_stopped);
    fails(&["events", "{id}"], &events_stopped);
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let r = c.hull(&["delete", "{id}"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("running") && r.stderr.contains("--force"), "{r:?}");
    assert_eq!(c.status(), "running", "a refused delete changes nothing");
    c.hull(&["delete", "--force", "{id}"]).ok();
    c.assert_gone();
}

#[test]
fn delete_of_a_created_container_kills_its_init() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    let pid = c.pid();
    c.hull(&["delete", "{id}"]).ok();
    c.assert_gone();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(stat.is_empty() || stat.contains(") Z"), "init still alive: {stat}");
}

#[test]
fn kill_takes_names_and_numbers() {
    // A pid 1 only dies of the signals it handles (or KILL): trap them all.
    let script = "trap 'exit 0' TERM INT HUP USR1; touch /tmp/ready; while :; do sleep 0.05; done";
    for sig in ["TERM", "SIGTERM", "15", "KILL", "9", "int", "SIGHUP", "10"] {
        let mut b = Bundle::busybox(&["sh", "-c", script]);
        b.config["root"]["readonly"] = json!(false);
        let c = Container::new(b);
        c.create().ok();
        c.hull(&["start", "{id}"]).ok();
        wait_for_file(&c.bundle.rootfs().join("tmp/ready"));
        c.hull(&["kill", "{id}", sig]).ok();
        c.wait_status("stopped");
    }
}

#[test]
fn kill_default_signal_is_term_and_reaches_a_handler() {
    // The shell traps TERM and writes a marker before exiting.
    let mut b = Bundle::busybox(&[]);
    b.config["process"]["args"] = json!([
        "sh",
        "-c",
        "trap 'echo got-term > /tmp/m; exit 0' TERM; touch /tmp/ready; while :; do sleep 0.05; done"
    ]);
    b.config["root"]["readonly"] = json!(false);
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    wait_for_file(&c.bundle.rootfs().join("tmp/ready"));
    c.hull(&["kill", "{id}"]).ok();
    c.wait_status("stopped");
    assert_eq!(std::fs::read_to_string(c.bundle.rootfs().join("tmp/m")).unwrap(), "got-term\n");
}

#[test]
fn kill_all_signals_every_process() {
    let mut b = Bundle::busybox(&["sh", "-c", "sleep 100 & sleep 100 & wait"]);
    b.namespaces(&["mount", "uts", "ipc", "network"]); // no pid namespace: --all matters
    b.config["hostname"] = json!(null);
    let c = Container::new(b);
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(200));
    c.hull(&["kill", "--all", "{id}", "KILL"]).ok();
    c.wait_status("stopped");
    c.hull(&["delete", "{id}"]).ok();
    c.assert_gone();
}

#[test]
fn kill_of_a_stopped_container_fails() {
    let c = Container::new(Bundle::busybox(&["true"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    c.wait_status("stopped");
    let r = c.hull(&["kill", "{id}", "KILL"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("container not running"), "the shims' wording: {r:?}");
    // containerd's shim cleans up with `kill --all` after the init exited: that succeeds.
    c.hull(&["kill", "--all", "{id}", "9"]).ok();
}

#[test]
fn list_shows_containers_in_table_and_json() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    let t = c.hull(&["list"]).ok();
    assert!(t.stdout.starts_with("ID"), "{t:?}");
    assert!(t.stdout.contains(&c.id) && t.stdout.contains("created"), "{t:?}");
    let j = c.hull(&["list", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v[0]["id"], c.id.as_str());
    assert_eq!(v[0]["status"], "created");
    assert_eq!(v[0]["owner"], "root", "the owner of the state directory, as runc says: {j:?}");
    assert!(t.stdout.lines().nth(1).is_some_and(|l| l.ends_with(" root")), "{t:?}");
    let q = c.hull(&["list", "-q"]).ok();
    assert_eq!(q.stdout.trim(), c.id);
}

/// Where each key starts in `text`, in the order given (panics if one is missing).
#[track_caller]
fn assert_key_order(text: &str, keys: &[&str]) {
    let at: Vec<usize> =
        keys.iter().map(|k| text.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} not in {text}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "keys not in runc's order {keys:?}: {text}");
}

/// `state` and `list --format json` print runc's struct field order (scripts
/// match list's line with a glob), annotations only when there are any.
#[test]
fn state_and_list_json_keep_runcs_key_order() {
    let mut b = Bundle::busybox(&["sleep", "100"]);
    b.config["annotations"] = json!({"org.example.key": "value"});
    let c = Container::new(b);
    c.create().ok();
    let order = ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"];
    let state = c.hull(&["state", "{id}"]).ok();
    assert_key_order(&state.stdout, &order);
    let list = c.hull(&["list", "--format", "json"]).ok();
    assert!(list.stdout.starts_with("[{\"ociVersion\":"), "{list:?}");
    assert_key_order(&list.stdout, &order);
    assert!(list.stdout.contains("\"owner\":\"root\"}]"), "{list:?}");

    let plain = Container::new(Bundle::busybox(&["sleep", "100"]));
    plain.create().ok();
    let state = plain.hull(&["state", "{id}"]).ok();
    assert!(!state.stdout.contains("annotations"), "runc leaves out empty annotations: {state:?}");
}

#[test]
fn relative_pid_file_is_resolved_against_the_callers_cwd() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    let mut cmd = c.hull_cmd(&["create", "--bundle", ".", "--pid-file", "rel.pid", "{id}"]);
    cmd.current_dir(&c.bundle.dir);
    assert!(cmd.status().unwrap().success());
    let pid: i32 = std::fs::read_to_string(c.bundle.dir.join("rel.pid")).unwrap().trim().parse().unwrap();
    assert_eq!(pid, c.pid());
}

#[test]
fn run_detached_then_state_is_running() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.hull(&["run", "-d", "--bundle", c.bundle.dir.to_str().unwrap(), "{id}"]).ok();
    assert_eq!(c.status(), "running");
}

#[test]
fn state_of_a_dead_init_is_stopped_and_delete_works() {
    let c = Container::new(Bundle::busybox(&["sleep", "100"]));
    c.create().ok();
    c.hull(&["start", "{id}"]).ok();
    let pid = c.pid();
    unsafe_kill(pid);
    c.wait_status("stopped");
    c.hull(&["delete", "{id}"]).ok();
    c.assert_gone();
}

fn unsafe_kill(pid: i32) {
    assert!(std::process::Command::new("kill").arg("-9").arg(pid.to_string()).status().unwrap().success());
}

#[test]
fn version_has_runcs_shape() {
    let out = std::process::Command::new(hull_bin()).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("hull version "), "{text}");
    assert!(lines[1].starts_with("commit: "), "{text}");
    assert!(lines[2].starts_with("spec: 1."), "{text}");
}

/// `hull list | head -1` and friends: a reader that went away ends hull
/// quietly by SIGPIPE, as it would a C program, not with a panic.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    for args in [&["--version"][..], &["features"], &["completion", "bash"]] {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both are fresh descriptors we own; the read end closes at once.
        let (read, write) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
        drop(read);
        let out = std::process::Command::new(hull_bin()).args(args).stdout(write).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{args:?}: {:?} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn spec_writes_a_config_that_runs() {
    let b = Bundle::busybox(&["true"]);
    std::fs::create_dir_all(&b.dir).unwrap();
    let out = std::process::Command::new(hull_bin()).arg("spec").arg("--bundle").arg(&b.dir).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(b.dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(v["process"]["args"], json!(["sh"]));
    // As runc's: a cgroup namespace only on a pure cgroup v2 host.
    let pure_v2 = matches!(libcontainer::cgroups::detect(), Ok(libcontainer::cgroups::Layout::V2 { .. }));
    let cgroupns = v["linux"]["namespaces"].as_array().unwrap().iter().any(|n| n["type"] == "cgroup");
    assert_eq!(cgroupns, pure_v2, "{}", v["linux"]["namespaces"]);
    let again = std::process::Command::new(hull_bin()).arg("spec").arg("--bundle").arg(&b.dir).output().unwrap();
    assert!(!again.status.success(), "spec must not overwrite config.json");
}

#[test]
fn help_describes_every_command_and_completions_cover_them() {
    let help = std::process::Command::new(hull_bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for cmd in [
        "create",
        "start",
        "state",
        "kill",
        "delete",
        "run",
        "exec",
        "pause",
        "resume",
        "ps",
        "events",
        "update",
        "features",
        "spec",
        "list",
        "completion",
        "checkpoint",
        "restore",
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{cmd} ")))
            .unwrap_or_else(|| panic!("{cmd} missing in --help:\n{help}"));
        assert!(line.split_whitespace().count() > 2, "{cmd} has no description: {line}");
    }
    let exec_help = std::process::Command::new(hull_bin()).args(["exec", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&exec_help.stdout).contains("Examples:"));
    for shell in ["bash", "zsh", "fish"] {
        let out = std::process::Command::new(hull_bin()).args(["completion", shell]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("checkpoint") && text.contains("exec") && text.contains("pause"),
            "{shell}"
        );
    }
}

/// An unknown command, with or without -h: runc's line and status.
#[test]
fn unknown_command_has_no_help_topic() {
    for args in [&["foo", "-h"][..], &["foo"]] {
        let out = std::process::Command::new(hull_bin()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert_eq!(err, "hull: No help topic for 'foo'\n", "{args:?}");
    }
}

/// `--debug`: runc's debug lines (`time="…" level=debug msg="…"`) on stderr;
/// with `--log`, only in the log, as text or as JSON objects — from hull,
/// from the container's init and from exec's child alike.
#[test]
fn debug_lines_go_where_runcs_go_in_runcs_formats() {
    let c = Container::new(Bundle::busybox(&["echo", "hello"]));
    let bundle = c.bundle.dir.to_str().unwrap().to_string();
    let r = c.hull(&["--debug", "run", "--bundle", &bundle, "{id}"]).ok();
    assert_eq!(r.stdout, "hello\n");
    assert!(r.stderr.lines().all(|l| l.starts_with("time=\"") && l.contains(" level=debug msg=\"")), "{r:?}");
    assert!(r.stderr.contains("msg=\"init: mounts and devices\""), "the init's lines too: {r:?}");

    let text = c.bundle.dir.join("log.txt");
    let r = c.hull(&["--debug", "--log", text.to_str().unwrap(), "run", "--bundle", &bundle, "{id}"]).ok();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("hello\n", ""), "{r:?}");
    let logged = std::fs::read_to_string(&text).unwrap();
    assert!(logged.contains("level=debug msg=\"create: start\""), "{logged}");
    assert!(logged.contains("level=debug msg=\"init: mounts and devices\""), "{logged}");

    let json = c.bundle.dir.join("log.json");
    let log = json.to_str().unwrap();
    c.hull(&["--debug", "--log", log, "--log-format", "json", "run", "--bundle", &bundle, "{id}"]).ok();
    let mut sleeper = c.bundle.config.clone();
    sleeper["process"]["args"] = serde_json::json!(["sleep", "100"]);
    std::fs::write(c.bundle.dir.join("config.json"), sleeper.to_string()).unwrap();
    c.hull(&["run", "-d", "--bundle", &bundle, "{id}"]).ok();
    let r = c.hull(&["--debug", "--log", log, "--log-format", "json", "exec", "{id}", "true"]).ok();
    assert_eq!(r.stderr, "", "{r:?}");
    let msgs: Vec<String> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            assert_eq!(v["level"], "debug", "{l}");
            assert!(v["time"].as_str().unwrap().ends_with('Z'), "{l}");
            v["msg"].as_str().unwrap().to_string()
        })
        .collect();
    for want in ["create: start", "init: mounts and devices", "exec: start", "exec: namespaces joined"] {
        assert!(msgs.iter().any(|m| m == want), "{want:?} not in {msgs:?}");
    }
}

/// An error with `--debug --log`: one `hull: …` line on stderr, and the
/// error among the debug lines of the log.
#[test]
fn errors_reach_stderr_and_the_log_with_debug_on() {
    let c = Container::new(Bundle::busybox(&["true"]));
    let log = c.bundle.dir.join("log.txt");
    let r = c.hull(&["--debug", "--log", log.to_str().unwrap(), "start", "{id}"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, format!("hull: container {} does not exist\n", c.id));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(&format!("level=error msg=\"container {} does not exist\"", c.id)), "{logged}");
}
