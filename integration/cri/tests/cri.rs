//! A kubelet's calls against containerd's CRI plugin, with the runtime under
//! test behind the runc v2 shim.
//!
//! Run through `integration/cri/run.sh [RUNTIME]`: it starts the private
//! containerd and imports the images, then runs this with the environment
//! below. Every check prints `PASS name` or `FAIL name: why`; the process
//! exits non-zero when any check failed.
//!
//! Three pods:
//! - "hostnet": host network and a pod-wide (shared) pid namespace, one
//!   container that must see the sandbox's pause process as its PID 1.
//! - "mounts": volumes below the kubelet's shared directory with each CRI
//!   mount propagation (Bidirectional, as CSI node plugins have it;
//!   HostToContainer; Private), their mounts seen or not seen across.
//! - "cni": its own network namespace from the CNI bridge, containers that
//!   join the sandbox's net/ipc/uts namespaces and keep their own pid
//!   namespace; exec, resources and their update, stats, exit codes, the OOM
//!   killer, seccomp, stop with a grace period, removal.
//!
//! Afterwards nothing of the test may be left: shims, mounts, cgroups,
//! network namespaces, veths, IP leases, runtime state.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use std::{env, fs};

use hull_cri_test::connect;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::security_profile::ProfileType;
use k8s_cri::v1::*;
use serde_json::Value;
use tonic::transport::Channel;

const MIB: i64 = 1024 * 1024;
/// A limit for every gRPC call (a hung runtime must not hang the test).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What run.sh tells the test.
struct Env {
    sock: String,
    runtime: String,
    runtime_root: String,
    handler: String,
    cgroup_parent: String,
    workdir: String,
    containerd_pid: u32,
    netns_dir: String,
    bridge: String,
    subnet_prefix: String,
    ipam_dir: String,
    cni_cache: String,
    pause_image: String,
    image: String,
    log_dir: String,
    /// The kubelet's /var/lib/kubelet: a shared mount in containerd's mount namespace.
    kubelet_dir: String,
}

impl Env {
    fn load() -> Result<Env, String> {
        fn var(name: &str) -> Result<String, String> {
            env::var(name).map_err(|_| format!("{name} is not set (run integration/cri/run.sh)"))
        }
        Ok(Env {
            sock: var("CRI_SOCK")?,
            runtime: var("CRI_RUNTIME")?,
            runtime_root: var("CRI_RUNTIME_ROOT")?,
            handler: var("CRI_HANDLER")?,
            cgroup_parent: var("CRI_CGROUP_PARENT")?,
            workdir: var("CRI_WORKDIR")?,
            containerd_pid: var("CRI_CONTAINERD_PID")?.parse().map_err(|e| format!("CRI_CONTAINERD_PID: {e}"))?,
            netns_dir: var("CRI_NETNS_DIR")?,
            bridge: var("CRI_BRIDGE")?,
            subnet_prefix: var("CRI_SUBNET_PREFIX")?,
            ipam_dir: var("CRI_IPAM_DIR")?,
            cni_cache: var("CRI_CNI_CACHE")?,
            pause_image: var("CRI_PAUSE_IMAGE")?,
            image: var("CRI_IMAGE")?,
            log_dir: var("CRI_LOG_DIR")?,
            kubelet_dir: var("CRI_KUBELET_DIR")?,
        })
    }
}

/// The tally of checks.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    fn pass(&mut self, name: &str, detail: impl Display) {
        let detail = detail.to_string();
        if detail.is_empty() {
            println!("PASS {name}");
        } else {
            println!("PASS {name} ({detail})");
        }
        self.passed += 1;
    }

    fn fail(&mut self, name: &str, why: impl Display) {
        println!("FAIL {name}: {why}");
        self.failed.push(name.to_string());
    }

    /// PASS with the Ok value as detail, FAIL with the error.
    fn check<T: Display>(&mut self, name: &str, r: Result<T, String>) -> bool {
        match r {
            Ok(detail) => {
                self.pass(name, detail);
                true
            }
            Err(why) => {
                self.fail(name, why);
                false
            }
        }
    }
}

/// One gRPC call with a time limit; errors become "Code: message".
async fn call<T>(fut: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Err(_) => Err(format!("no answer in {CALL_TIMEOUT:?}")),
        Ok(Err(s)) => Err(format!("{:?}: {}", s.code(), s.message())),
        Ok(Ok(r)) => Ok(r.into_inner()),
    }
}

struct Cri {
    rt: RuntimeServiceClient<Channel>,
    img: ImageServiceClient<Channel>,
}

/// A running pod sandbox and what the checks need to know about it.
struct Pod {
    name: String,
    id: String,
    config: PodSandboxConfig,
    pid: u32,
    netns_path: Option<String>,
    ip: String,
}

impl Cri {
    async fn run_pod(&mut self, env: &Env, config: PodSandboxConfig) -> Result<Pod, String> {
        let name = config.metadata.as_ref().map(|m| m.name.clone()).unwrap_or_default();
        let resp = call(self.rt.run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: env.handler.clone(),
        }))
        .await
        .map_err(|e| format!("RunPodSandbox: {e}"))?;
        let id = resp.pod_sandbox_id;
        let st =
            call(self.rt.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.clone(), verbose: true }))
                .await
                .map_err(|e| format!("PodSandboxStatus: {e}"))?;
        let status = st.status.ok_or("PodSandboxStatus without status")?;
        if status.state != PodSandboxState::SandboxReady as i32 {
            return Err(format!("sandbox {id} state {}, want SANDBOX_READY", status.state));
        }
        let info = verbose_info(&st.info)?;
        let pid = json_pid(&info)?;
        let netns_path = info
            .pointer("/runtimeSpec/linux/namespaces")
            .and_then(Value::as_array)
            .and_then(|nss| nss.iter().find(|n| n["type"] == "network"))
            .and_then(|n| n["path"].as_str())
            .map(str::to_string);
        let ip = status.network.map(|n| n.ip).unwrap_or_default();
        Ok(Pod { name, id, config, pid, netns_path, ip })
    }

    async fn create_start(&mut self, pod: &Pod, config: ContainerConfig) -> Result<(String, u32), String> {
        let id = call(self.rt.create_container(CreateContainerRequest {
            pod_sandbox_id: pod.id.clone(),
            config: Some(config),
            sandbox_config: Some(pod.config.clone()),
        }))
        .await
        .map_err(|e| format!("CreateContainer: {e}"))?
        .container_id;
        call(self.rt.start_container(StartContainerRequest { container_id: id.clone() }))
            .await
            .map_err(|e| format!("StartContainer {id}: {e}"))?;
        let (status, info) = self.status(&id).await?;
        // A short-lived container may already be gone; the caller decides.
        let pid = json_pid(&info).unwrap_or(0);
        if status.state == ContainerState::ContainerRunning as i32 && pid == 0 {
            return Err(format!("container {id} is running but has no pid in its status"));
        }
        Ok((id, pid))
    }

    async fn status(&mut self, id: &str) -> Result<(ContainerStatus, Value), String> {
        let r = call(self.rt.container_status(ContainerStatusRequest { container_id: id.to_string(), verbose: true }))
            .await
            .map_err(|e| format!("ContainerStatus {id}: {e}"))?;
        let info = verbose_info(&r.info).unwrap_or(Value::Null);
        Ok((r.status.ok_or("ContainerStatus without status")?, info))
    }

    /// Poll ContainerStatus until the container has exited.
    async fn wait_exited(&mut self, id: &str, within: Duration) -> Result<ContainerStatus, String> {
        let deadline = Instant::now() + within;
        loop {
            let (st, _) = self.status(id).await?;
            if st.state == ContainerState::ContainerExited as i32 {
                return Ok(st);
            }
            if Instant::now() > deadline {
                return Err(format!("state {} after {within:?}, want CONTAINER_EXITED", st.state));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn exec(&mut self, id: &str, cmd: &[&str]) -> Result<ExecSyncResponse, String> {
        call(self.rt.exec_sync(ExecSyncRequest {
            container_id: id.to_string(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 10,
        }))
        .await
        .map_err(|e| format!("ExecSync {cmd:?}: {e}"))
    }

    async fn stop(&mut self, id: &str, grace_s: i64) -> Result<Duration, String> {
        let t0 = Instant::now();
        call(self.rt.stop_container(StopContainerRequest { container_id: id.to_string(), timeout: grace_s }))
            .await
            .map_err(|e| format!("StopContainer {id}: {e}"))?;
        Ok(t0.elapsed())
    }

    async fn remove(&mut self, id: &str) -> Result<(), String> {
        call(self.rt.remove_container(RemoveContainerRequest { container_id: id.to_string() }))
            .await
            .map(drop)
            .map_err(|e| format!("RemoveContainer {id}: {e}"))
    }

    async fn containers_of(&mut self, pod_id: &str) -> Result<Vec<Container>, String> {
        Ok(call(self.rt.list_containers(ListContainersRequest {
            filter: Some(ContainerFilter { pod_sandbox_id: pod_id.to_string(), ..Default::default() }),
        }))
        .await
        .map_err(|e| format!("ListContainers: {e}"))?
        .containers)
    }

    async fn pods(&mut self) -> Result<Vec<PodSandbox>, String> {
        Ok(call(self.rt.list_pod_sandbox(ListPodSandboxRequest { filter: None }))
            .await
            .map_err(|e| format!("ListPodSandbox: {e}"))?
            .items)
    }
}

/// The JSON in the "info" key of a verbose status answer.
fn verbose_info(info: &HashMap<String, String>) -> Result<Value, String> {
    let raw = info.get("info").ok_or("verbose status has no \"info\"")?;
    serde_json::from_str(raw).map_err(|e| format!("verbose info is not JSON: {e}"))
}

fn json_pid(info: &Value) -> Result<u32, String> {
    info["pid"].as_u64().filter(|p| *p > 0).map(|p| p as u32).ok_or_else(|| "no pid in the verbose status".to_string())
}

// ------------------------------------------------------------ configs

fn pod_config(env: &Env, name: &str, network: NamespaceMode, pid: NamespaceMode) -> PodSandboxConfig {
    let log_directory = format!("{}/{name}", env.log_dir);
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.to_string(),
            uid: format!("cri-{name}-{}", std::process::id()),
            namespace: "cri-test".to_string(),
            attempt: 0,
        }),
        // Like the kubelet: a host-network pod keeps the node's hostname.
        hostname: if network == NamespaceMode::Node { String::new() } else { format!("cri-{name}") },
        log_directory,
        labels: HashMap::from([("cri-test".to_string(), name.to_string())]),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: format!("{}/{name}", env.cgroup_parent),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: network as i32,
                    pid: pid as i32,
                    ipc: NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_config(env: &Env, name: &str, pid: NamespaceMode, cmd: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.to_string(), attempt: 0 }),
        image: Some(ImageSpec { image: env.image.clone(), ..Default::default() }),
        command: vec!["sh".to_string(), "-c".to_string(), cmd.to_string()],
        log_path: format!("{name}.log"),
        linux: Some(LinuxContainerConfig {
            resources: None,
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: NamespaceMode::Pod as i32,
                    pid: pid as i32,
                    ipc: NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

fn with_resources(mut c: ContainerConfig, r: LinuxContainerResources) -> ContainerConfig {
    c.linux.as_mut().expect("linux config").resources = Some(r);
    c
}

fn resources(quota: i64, shares: i64, memory: i64) -> LinuxContainerResources {
    LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: quota,
        cpu_shares: shares,
        memory_limit_in_bytes: memory,
        // What the kubelet gives a burstable container.
        oom_score_adj: 999,
        ..Default::default()
    }
}

// ------------------------------------------------------------ host views

/// The namespace a process is in, as the kernel names it ("net:[4026532]").
fn ns_of(pid: u32, ns: &str) -> Result<String, String> {
    let p = if pid == 0 { format!("/proc/self/ns/{ns}") } else { format!("/proc/{pid}/ns/{ns}") };
    fs::read_link(&p).map(|l| l.to_string_lossy().into_owned()).map_err(|e| format!("readlink {p}: {e}"))
}

/// The cgroup limits of a process as the host's cgroup files show them.
#[derive(Debug, PartialEq)]
struct Limits {
    path: String,
    quota: i64,
    period: i64,
    /// cpu.shares (v1) or cpu.weight (v2)
    cpu_weight: i64,
    memory: i64,
}

/// (v1 controller name → path) and the v2 path, from /proc/PID/cgroup.
fn proc_cgroups(pid: u32) -> Result<(BTreeMap<String, String>, Option<String>), String> {
    let text =
        fs::read_to_string(format!("/proc/{pid}/cgroup")).map_err(|e| format!("read /proc/{pid}/cgroup: {e}"))?;
    let mut v1 = BTreeMap::new();
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if ctrls.is_empty() {
            v2 = Some(path.to_string());
        }
        for c in ctrls.split(',').filter(|c| !c.is_empty()) {
            v1.insert(c.to_string(), path.to_string());
        }
    }
    Ok((v1, v2))
}

fn read_trim(p: impl AsRef<Path>) -> Result<String, String> {
    let p = p.as_ref();
    fs::read_to_string(p).map(|s| s.trim().to_string()).map_err(|e| format!("read {}: {e}", p.display()))
}

fn read_i64(p: impl AsRef<Path>) -> Result<i64, String> {
    let s = read_trim(&p)?;
    if s == "max" {
        return Ok(-1);
    }
    s.parse().map_err(|e| format!("{}: {s:?}: {e}", p.as_ref().display()))
}

fn limits_of(pid: u32) -> Result<Limits, String> {
    let (v1, v2) = proc_cgroups(pid)?;
    if let (Some(cpu), Some(mem)) = (v1.get("cpu"), v1.get("memory")) {
        let cpu_dir = PathBuf::from(format!("/sys/fs/cgroup/cpu{cpu}"));
        let mem_dir = PathBuf::from(format!("/sys/fs/cgroup/memory{mem}"));
        if cpu != mem {
            return Err(format!("cpu cgroup {cpu} differs from memory cgroup {mem}"));
        }
        return Ok(Limits {
            path: cpu.clone(),
            quota: read_i64(cpu_dir.join("cpu.cfs_quota_us"))?,
            period: read_i64(cpu_dir.join("cpu.cfs_period_us"))?,
            cpu_weight: read_i64(cpu_dir.join("cpu.shares"))?,
            memory: read_i64(mem_dir.join("memory.limit_in_bytes"))?,
        });
    }
    let path = v2.ok_or("no cpu/memory cgroup in /proc/PID/cgroup")?;
    let dir = PathBuf::from(format!("/sys/fs/cgroup{path}"));
    let max = read_trim(dir.join("cpu.max"))?;
    let (q, p) = max.split_once(' ').ok_or(format!("cpu.max {max:?}"))?;
    Ok(Limits {
        path,
        quota: if q == "max" { -1 } else { q.parse().map_err(|_| format!("cpu.max {max:?}"))? },
        period: p.parse().map_err(|_| format!("cpu.max {max:?}"))?,
        cpu_weight: read_i64(dir.join("cpu.weight"))?,
        memory: read_i64(dir.join("memory.max"))?,
    })
}

/// What limits_of must show for resources r (v2 turns shares into a weight).
fn expected_limits(pid: u32, path: &str, r: &LinuxContainerResources) -> Result<Limits, String> {
    let (v1, _) = proc_cgroups(pid)?;
    let weight = if v1.contains_key("cpu") { r.cpu_shares } else { 1 + ((r.cpu_shares - 2) * 9999) / 262142 };
    Ok(Limits {
        path: path.to_string(),
        quota: r.cpu_quota,
        period: r.cpu_period,
        cpu_weight: weight,
        memory: r.memory_limit_in_bytes,
    })
}

fn check_limits(pid: u32, parent: &str, id: &str, r: &LinuxContainerResources) -> Result<String, String> {
    let got = limits_of(pid)?;
    let want_path = format!("{parent}/{id}");
    let want = expected_limits(pid, &want_path, r)?;
    if got != want {
        return Err(format!("host cgroup files show {got:?}, want {want:?}"));
    }
    Ok(format!(
        "{}: quota {} period {} shares {} memory {}",
        got.path, got.quota, got.period, got.cpu_weight, got.memory
    ))
}

/// Processes whose command line contains `needle` (not this test itself).
fn processes_mentioning(needle: &str, also: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else { return found };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let Ok(raw) = fs::read(e.path().join("cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(needle) && cmd.contains(also) {
            found.push(format!("{name}: {}", cmd.trim()));
        }
    }
    found
}

/// Everything of the test that should be gone once its pods are removed.
fn leftovers(env: &Env, ids: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    // Shims serving this containerd (their -address is our socket).
    for p in processes_mentioning("containerd-shim", &env.sock) {
        left.push(format!("shim process {p}"));
    }
    // Cgroups of the containers and sandboxes (the pod-level parents are the
    // kubelet's, here run.sh's, to remove) and processes still in any of them.
    let mut cgroup_dirs = Vec::new();
    if let Ok(hiers) = fs::read_dir("/sys/fs/cgroup") {
        for h in hiers.flatten() {
            let root = h.path().join(env.cgroup_parent.trim_start_matches('/'));
            collect_dirs(&root, &mut cgroup_dirs);
        }
    }
    for d in &cgroup_dirs {
        let s = d.to_string_lossy();
        if ids.iter().any(|id| s.contains(id.as_str())) {
            left.push(format!("cgroup {s}"));
        }
        if let Ok(procs) = fs::read_to_string(d.join("cgroup.procs")) {
            if !procs.trim().is_empty() {
                left.push(format!("processes {} in cgroup {s}", procs.trim().replace('\n', ",")));
            }
        }
    }
    // Mounts, in containerd's mount namespace and on the host; below the
    // kubelet's directory only the checks' volumes' mounts could be left.
    let below_kubelet = format!(" {}/", env.kubelet_dir);
    for mi in [format!("/proc/{}/mountinfo", env.containerd_pid), "/proc/self/mountinfo".to_string()] {
        if let Ok(text) = fs::read_to_string(&mi) {
            for line in text.lines() {
                if ids.iter().any(|id| line.contains(id.as_str()))
                    || line.contains(&env.netns_dir)
                    || line.contains(&below_kubelet)
                    || (mi.starts_with("/proc/self") && line.contains(&env.workdir))
                {
                    left.push(format!("mount ({mi}) {line}"));
                }
            }
        }
    }
    // Network namespaces, the veths on the bridge, IP leases.
    for (what, dir) in [("netns", env.netns_dir.as_str()), ("runtime state", env.runtime_root.as_str())] {
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.flatten() {
                left.push(format!("{what} {}", e.path().display()));
            }
        }
    }
    if let Ok(rd) = fs::read_dir(format!("/sys/class/net/{}/brif", env.bridge)) {
        for e in rd.flatten() {
            left.push(format!("veth {} on bridge {}", e.file_name().to_string_lossy(), env.bridge));
        }
    }
    if let Ok(rd) = fs::read_dir(&env.cni_cache) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if ids.iter().any(|id| n.contains(id.as_str())) {
                left.push(format!("CNI cache entry {}", e.path().display()));
            }
        }
    }
    if let Ok(rd) = fs::read_dir(&env.ipam_dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&env.subnet_prefix) {
                left.push(format!("IP lease {n}"));
            }
        }
    }
    left
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.join("cgroup.procs").exists() {
        return;
    }
    out.push(dir.to_path_buf());
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

fn runtime_state(env: &Env, id: &str) -> Result<String, String> {
    let out = std::process::Command::new(&env.runtime)
        .args(["--root", &env.runtime_root, "state", id])
        .output()
        .map_err(|e| format!("{}: {e}", env.runtime))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "`{} --root {} state {id}` exited {}: {e}; stderr {}",
            env.runtime,
            env.runtime_root,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    match v["status"].as_str() {
        Some("running") => Ok(format!("{} state: running, pid {}", env.runtime, v["pid"])),
        other => Err(format!("{} state says status {other:?}", env.runtime)),
    }
}

fn log_contains(env: &Env, pod: &Pod, name: &str, want: &str) -> Result<(), String> {
    let p = format!("{}/{}/{name}.log", env.log_dir, pod.name);
    let text = fs::read_to_string(&p).map_err(|e| format!("read {p}: {e}"))?;
    if text.contains(want) {
        Ok(())
    } else {
        Err(format!("{p} lacks {want:?}: {:?}", text.trim()))
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ------------------------------------------------------ mount propagation

/// One line of /proc/PID/mountinfo.
struct MountEntry {
    /// As the process sees it (relative to its root).
    point: String,
    /// The optional fields ("shared:N", "master:N"); empty for a private mount.
    propagation: String,
    fstype: String,
    source: String,
}

impl Display for MountEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let propagation = if self.propagation.is_empty() { "private" } else { &self.propagation };
        write!(f, "{} {} on {} ({propagation})", self.fstype, self.source, self.point)
    }
}

fn mountinfo(pid: u32) -> Result<Vec<MountEntry>, String> {
    let p = format!("/proc/{pid}/mountinfo");
    let text = fs::read_to_string(&p).map_err(|e| format!("read {p}: {e}"))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (mount, fs) = line.split_once(" - ")?;
            let fields: Vec<&str> = mount.split(' ').collect();
            let mut fs = fs.split(' ');
            Some(MountEntry {
                point: fields.get(4)?.to_string(),
                propagation: fields.get(6..).map(|o| o.join(" ")).unwrap_or_default(),
                fstype: fs.next()?.to_string(),
                source: fs.next()?.to_string(),
            })
        })
        .collect())
}

/// The topmost mount on `point` in the mount namespace of `pid`.
fn mount_at(pid: u32, point: &str) -> Result<Option<MountEntry>, String> {
    Ok(mountinfo(pid)?.into_iter().rfind(|m| m.point == point))
}

fn describe(m: Option<MountEntry>, point: &str) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| format!("no mount on {point}"))
}

/// Waits (10 s) until the container `pid` has done what `mount_inside`
/// says: the tmpfs named `source` on /vol/sub, the marker file on it.
async fn wait_for_mount_inside(pid: u32, source: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let marker = format!("/proc/{pid}/root/vol/sub/marker");
    loop {
        let m = mount_at(pid, "/vol/sub")?;
        let mounted = m.as_ref().is_some_and(|m| m.fstype == "tmpfs" && m.source == source);
        if mounted && Path::new(&marker).exists() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let file = if mounted { ", no marker file on it" } else { "" };
            return Err(format!("after 10 s the container has {}{file}, want tmpfs {source}", describe(m, "/vol/sub")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A command in containerd's mount namespace, the pods' node (where the
/// kubelet and CSI drivers mount).
fn on_node(env: &Env, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("nsenter")
        .args(["-t", &env.containerd_pid.to_string(), "-m", "--"])
        .args(args)
        .output()
        .map_err(|e| format!("nsenter: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{}` in containerd's mount namespace: {}, {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// A path of the node as containerd's mount namespace resolves it.
fn node_path(env: &Env, path: &str) -> String {
    format!("/proc/{}/root{path}", env.containerd_pid)
}

fn log_tail(env: &Env, pod: &Pod, name: &str) -> String {
    let p = format!("{}/{}/{name}.log", env.log_dir, pod.name);
    match fs::read_to_string(&p) {
        Ok(t) => format!("log: {:?}", t.lines().rev().take(3).collect::<Vec<_>>()),
        Err(e) => format!("read {p}: {e}"),
    }
}

/// A container with the volume `host_path` on /vol, mounted with `propagation`.
fn volume_container(
    env: &Env,
    name: &str,
    host_path: &str,
    propagation: MountPropagation,
    cmd: &str,
) -> ContainerConfig {
    let mut c = container_config(env, name, NamespaceMode::Container, cmd);
    c.mounts = vec![Mount {
        container_path: "/vol".to_string(),
        host_path: host_path.to_string(),
        propagation: propagation as i32,
        ..Default::default()
    }];
    c
}

fn security(c: &mut ContainerConfig) -> &mut LinuxContainerSecurityContext {
    c.linux.as_mut().and_then(|l| l.security_context.as_mut()).expect("security context")
}

/// The container mounts a tmpfs named `source` on /vol/sub and puts a file
/// there (renamed into place: whoever sees it sees it whole).
fn mount_inside(source: &str) -> String {
    format!(
        "mount -t tmpfs -o size=1m {source} /vol/sub && echo made-inside >/vol/sub/.m && mv /vol/sub/.m /vol/sub/marker \
         && exec sleep 600"
    )
}

/// Volumes below the kubelet's shared directory with each CRI mount
/// propagation, as a pod spec's `mountPropagation` asks for them. The node
/// here is containerd's mount namespace, where run.sh made the directory a
/// shared mount as the kubelet does at its start.
async fn mount_propagation(cri: &mut Cri, env: &Env, rep: &mut Report, ids: &mut Vec<String>) {
    let node = env.containerd_pid;
    let kdir = env.kubelet_dir.as_str();
    let r = match mount_at(node, kdir) {
        Ok(Some(m)) if m.propagation.contains("shared:") => Ok(m.to_string()),
        Ok(m) => Err(format!("containerd's mount namespace has {}, want a shared mount", describe(m, kdir))),
        Err(e) => Err(e),
    };
    rep.check("kubelet-dir-shared", r);

    let mut cfg = pod_config(env, "mounts", NamespaceMode::Node, NamespaceMode::Container);
    // containerd allows privileged containers only in a privileged sandbox.
    if let Some(sc) = cfg.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.privileged = true;
    }
    let checks =
        ["propagation-bidirectional", "propagation-host-to-container", "propagation-private", "remove-pod-mounts"];
    let pod = match cri.run_pod(env, cfg).await {
        Ok(p) => {
            rep.pass("run-pod-mounts", format!("{}, privileged, pause pid {}", &p.id[..12], p.pid));
            ids.push(p.id.clone());
            p
        }
        Err(e) => {
            rep.fail("run-pod-mounts", e);
            for n in checks {
                rep.fail(n, "no mounts pod");
            }
            return;
        }
    };
    let volume = |name: &str| -> Result<(String, String), String> {
        let v = format!("{kdir}/volumes/{name}");
        let sub = format!("{v}/sub");
        fs::create_dir_all(&sub).map_err(|e| format!("mkdir {sub}: {e}"))?;
        Ok((v, sub))
    };

    // Bidirectional, as a CSI node plugin has its kubelet directory: the
    // plugin's mounts (here a tmpfs) must reach the node.
    let r = async {
        let (v, sub) = volume("bidirectional")?;
        let mut c = volume_container(
            env,
            "bidirectional",
            &v,
            MountPropagation::PropagationBidirectional,
            &mount_inside("cri-bidirectional"),
        );
        security(&mut c).privileged = true;
        let (id, pid) = cri.create_start(&pod, c).await?;
        ids.push(id);
        wait_for_mount_inside(pid, "cri-bidirectional")
            .await
            .map_err(|e| format!("{e}; {}", log_tail(env, &pod, "bidirectional")))?;
        match mount_at(node, &sub)? {
            Some(m) if m.source == "cri-bidirectional" => {}
            m => {
                return Err(format!(
                    "the container's tmpfs on /vol/sub did not reach the node: containerd's mount namespace \
                     has {}; the container's /vol is {}, the node's {kdir} {}",
                    describe(m, &sub),
                    describe(mount_at(pid, "/vol")?, "/vol"),
                    describe(mount_at(node, kdir)?, kdir)
                ))
            }
        }
        let marker = read_trim(node_path(env, &format!("{sub}/marker")))?;
        if marker != "made-inside" {
            return Err(format!("{sub}/marker on the node holds {marker:?}, want \"made-inside\""));
        }
        Ok(format!("the container's tmpfs on /vol/sub is on {sub} in containerd's mount namespace"))
    }
    .await;
    rep.check("propagation-bidirectional", r);

    // HostToContainer: a mount the node makes after the start shows inside.
    let mut node_mount = None;
    let r = async {
        let (v, sub) = volume("host-to-container")?;
        let c = volume_container(
            env,
            "host-to-container",
            &v,
            MountPropagation::PropagationHostToContainer,
            "exec sleep 600",
        );
        let (id, pid) = cri.create_start(&pod, c).await?;
        ids.push(id.clone());
        if pid == 0 {
            return Err(format!("not running; {}", log_tail(env, &pod, "host-to-container")));
        }
        on_node(env, &["mount", "-t", "tmpfs", "-o", "size=1m", "cri-host-to-container", &sub])?;
        node_mount = Some(sub.clone());
        let marker = node_path(env, &format!("{sub}/marker"));
        fs::write(&marker, "made-on-the-node\n").map_err(|e| format!("write {marker}: {e}"))?;
        let x = cri.exec(&id, &["cat", "/vol/sub/marker"]).await?;
        if x.exit_code != 0 || text(&x.stdout) != "made-on-the-node\n" {
            return Err(format!(
                "cat /vol/sub/marker: exit {}, stdout {:?}, stderr {:?}; the container has {}, its /vol is {}",
                x.exit_code,
                text(&x.stdout),
                text(&x.stderr).trim(),
                describe(mount_at(pid, "/vol/sub")?, "/vol/sub"),
                describe(mount_at(pid, "/vol")?, "/vol")
            ));
        }
        Ok(format!("the node's tmpfs on {sub}, mounted after the start, is on /vol/sub inside"))
    }
    .await;
    rep.check("propagation-host-to-container", r);

    // Private (the default): a mount made inside stays inside.
    let r = async {
        let (v, sub) = volume("private")?;
        let mut c =
            volume_container(env, "private", &v, MountPropagation::PropagationPrivate, &mount_inside("cri-private"));
        security(&mut c).capabilities =
            Some(Capability { add_capabilities: vec!["SYS_ADMIN".to_string()], ..Default::default() });
        let (id, pid) = cri.create_start(&pod, c).await?;
        ids.push(id);
        wait_for_mount_inside(pid, "cri-private")
            .await
            .map_err(|e| format!("{e}; {}", log_tail(env, &pod, "private")))?;
        if let Some(m) = mount_at(node, &sub)? {
            return Err(format!("containerd's mount namespace has {m}: the private volume propagated"));
        }
        let marker = node_path(env, &format!("{sub}/marker"));
        if Path::new(&marker).exists() {
            return Err(format!("{marker} exists on the node"));
        }
        Ok(format!("the container's tmpfs on /vol/sub (with CAP_SYS_ADMIN) is not on {sub} on the node"))
    }
    .await;
    rep.check("propagation-private", r);

    // Remove the pod; what the node mounted, and the Bidirectional volume's
    // tmpfs (the node's now, as a CSI driver's mounts), the node unmounts.
    let r = async {
        for c in cri.containers_of(&pod.id).await? {
            cri.stop(&c.id, 0).await?;
            cri.remove(&c.id).await?;
        }
        call(cri.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() }))
            .await
            .map_err(|e| format!("StopPodSandbox: {e}"))?;
        call(cri.rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod.id.clone() }))
            .await
            .map_err(|e| format!("RemovePodSandbox: {e}"))?;
        let bidirectional = format!("{kdir}/volumes/bidirectional/sub");
        for point in node_mount.iter().chain([&bidirectional]) {
            if mount_at(node, point)?.is_some() {
                on_node(env, &["umount", point])?;
            }
        }
        let below = format!("{kdir}/");
        let left: Vec<String> =
            mountinfo(node)?.into_iter().filter(|m| m.point.starts_with(&below)).map(|m| m.to_string()).collect();
        if !left.is_empty() {
            return Err(format!("left on the node: {}", left.join("; ")));
        }
        Ok(format!("pod removed, no mount left below {kdir}"))
    }
    .await;
    rep.check("remove-pod-mounts", r);
}

// ------------------------------------------------------------------ checks

async fn run() -> Result<Report, String> {
    let env = Env::load()?;
    let mut rep = Report::default();
    let channel = connect(&env.sock).await?;
    let mut cri = Cri { rt: RuntimeServiceClient::new(channel.clone()), img: ImageServiceClient::new(channel) };
    let t_all = Instant::now();

    // -------------------------------------------------- the runtime itself
    let r = call(cri.rt.version(VersionRequest { version: "v1".into() })).await.and_then(|v| {
        if v.runtime_name == "containerd" && v.runtime_api_version.starts_with("v1") {
            Ok(format!("{} {}, CRI {}", v.runtime_name, v.runtime_version, v.runtime_api_version))
        } else {
            Err(format!("unexpected answer {v:?}"))
        }
    });
    rep.check("version", r);

    // The CNI config is loaded asynchronously: give NetworkReady a moment.
    let mut conds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match call(cri.rt.status(StatusRequest { verbose: false })).await {
            Ok(s) => conds = s.status.map(|s| s.conditions).unwrap_or_default(),
            Err(e) => {
                conds.clear();
                rep.fail("status", e);
                break;
            }
        }
        if conds.iter().all(|c| c.status) && conds.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for want in ["RuntimeReady", "NetworkReady"] {
        let r = match conds.iter().find(|c| c.r#type == want) {
            Some(c) if c.status => Ok("true".to_string()),
            Some(c) => Err(format!("false: {} {}", c.reason, c.message)),
            None => Err(format!("no {want} condition in {conds:?}")),
        };
        rep.check(&format!("status-{}", want.to_lowercase()), r);
    }

    let mut r = Ok(String::new());
    for image in [&env.pause_image, &env.image] {
        let st = call(cri.img.image_status(ImageStatusRequest {
            image: Some(ImageSpec { image: image.clone(), ..Default::default() }),
            verbose: false,
        }))
        .await;
        r = match st {
            Ok(s) if s.image.is_some() => r.map(|d| format!("{d}{}{image}", if d.is_empty() { "" } else { ", " })),
            Ok(_) => Err(format!("{image} is not known to the CRI plugin")),
            Err(e) => Err(format!("ImageStatus {image}: {e}")),
        };
    }
    rep.check("image-status", r);

    let host_net = ns_of(0, "net")?;
    let host_uts = ns_of(0, "uts")?;
    let mut ids: Vec<String> = Vec::new();

    // ---------------------------------- pod 1: host network, shared pids
    let cfg = pod_config(&env, "hostnet", NamespaceMode::Node, NamespaceMode::Pod);
    let t0 = Instant::now();
    let hostnet = cri.run_pod(&env, cfg).await;
    let hostnet = match hostnet {
        Ok(p) => {
            rep.pass(
                "run-pod-hostnet",
                format!("{}, pause pid {}, {:.2}s", &p.id[..12], p.pid, t0.elapsed().as_secs_f64()),
            );
            ids.push(p.id.clone());
            Some(p)
        }
        Err(e) => {
            rep.fail("run-pod-hostnet", e);
            None
        }
    };
    let mut shared = None;
    if let Some(pod) = &hostnet {
        let r = (|| {
            let (net, uts) = (ns_of(pod.pid, "net")?, ns_of(pod.pid, "uts")?);
            if net != host_net || uts != host_uts {
                return Err(format!("pause is in {net} {uts}, the host in {host_net} {host_uts}"));
            }
            Ok(format!("pause shares the host's {net} and {uts}"))
        })();
        rep.check("pod-hostnet-namespaces", r);
        rep.check("runtime-state", runtime_state(&env, &pod.id));

        let c = container_config(&env, "app", NamespaceMode::Pod, "exec sleep 600");
        match cri.create_start(pod, c).await {
            Ok((id, pid)) => {
                ids.push(id.clone());
                rep.pass("create-start-shared-pid", format!("{}, pid {pid}", &id[..12]));
                shared = Some((id, pid));
            }
            Err(e) => rep.fail("create-start-shared-pid", e),
        }
        match &shared {
            Some((id, pid)) => {
                let r = async {
                    let (cpid, ppid) = (ns_of(*pid, "pid")?, ns_of(pod.pid, "pid")?);
                    if cpid != ppid {
                        return Err(format!("container in {cpid}, pause in {ppid}"));
                    }
                    let cnet = ns_of(*pid, "net")?;
                    if cnet != host_net {
                        return Err(format!("container in {cnet}, want the host's {host_net}"));
                    }
                    // Its PID 1 is the pause process.
                    let x = cri.exec(id, &["cat", "/proc/1/cmdline"]).await?;
                    let one = text(&x.stdout).replace('\0', " ");
                    if x.exit_code != 0 || !one.contains("2147483647") {
                        return Err(format!(
                            "PID 1 in the container is {one:?} (exit {}), want the pause process",
                            x.exit_code
                        ));
                    }
                    Ok(format!("{cpid} with the pause process as PID 1, host {cnet}"))
                }
                .await;
                rep.check("shared-pid-namespace", r);
            }
            None => rep.fail("shared-pid-namespace", "no container"),
        }
    } else {
        for n in ["pod-hostnet-namespaces", "runtime-state", "create-start-shared-pid", "shared-pid-namespace"] {
            rep.fail(n, "no hostnet pod");
        }
    }

    // ---------------------------- pod 2: volumes with mount propagation
    mount_propagation(&mut cri, &env, &mut rep, &mut ids).await;

    // ------------------------------------------ pod 3: the CNI bridge
    let cfg = pod_config(&env, "cni", NamespaceMode::Pod, NamespaceMode::Container);
    let t0 = Instant::now();
    let cni = match cri.run_pod(&env, cfg).await {
        Ok(p) if p.ip.starts_with(&env.subnet_prefix) => {
            rep.pass("run-pod-cni", format!("{}, IP {}, {:.2}s", &p.id[..12], p.ip, t0.elapsed().as_secs_f64()));
            ids.push(p.id.clone());
            Some(p)
        }
        Ok(p) => {
            rep.fail("run-pod-cni", format!("pod IP {:?} is not in {}*", p.ip, env.subnet_prefix));
            ids.push(p.id.clone());
            Some(p)
        }
        Err(e) => {
            rep.fail("run-pod-cni", e);
            None
        }
    };
    let Some(pod) = cni else {
        rep.fail("pod-cni", "no CNI pod: the remaining checks cannot run");
        return Ok(finish(&mut cri, &env, rep, hostnet, shared, None, &ids, t_all).await);
    };
    let r = (|| {
        let net = ns_of(pod.pid, "net")?;
        if net == host_net {
            return Err(format!("pause is in the host's {net}"));
        }
        let path = pod.netns_path.as_deref().ok_or("the sandbox spec has no network namespace path")?;
        if !path.starts_with(&env.netns_dir) {
            return Err(format!("netns {path} is not under {}", env.netns_dir));
        }
        Ok(format!("pause in {net} = {path}"))
    })();
    rep.check("pod-cni-netns", r);

    // The main container: resources, namespaces, exec, stats, update, stop.
    let res = resources(50_000, 512, 64 * MIB);
    let c = with_resources(
        container_config(
            &env,
            "main",
            NamespaceMode::Container,
            "trap 'exit 0' TERM; echo main up; while :; do sleep 0.2; done",
        ),
        res.clone(),
    );
    let t0 = Instant::now();
    let main = match cri.create_start(&pod, c).await {
        Ok((id, pid)) if pid > 0 => {
            rep.pass("create-start", format!("{}, pid {pid}, {:.2}s", &id[..12], t0.elapsed().as_secs_f64()));
            ids.push(id.clone());
            Some((id, pid))
        }
        Ok((id, _)) => {
            rep.fail("create-start", "the container is not running");
            ids.push(id);
            None
        }
        Err(e) => {
            rep.fail("create-start", e);
            None
        }
    };
    let main_checks = [
        "container-status-running",
        "runtime-state-container",
        "namespaces-joined",
        "pod-ip",
        "exec-sync",
        "exec-sync-fail",
        "exec-sync-missing-binary",
        "resources-cgroup",
        "resources-oom-score-adj",
        "update-resources",
        "container-stats",
        "list-container-stats",
    ];
    if let Some((id, pid)) = &main {
        let (id, pid) = (id.as_str(), *pid);
        let r = cri.status(id).await.and_then(|(st, _)| {
            if st.state == ContainerState::ContainerRunning as i32 && st.started_at > 0 {
                Ok("CONTAINER_RUNNING".to_string())
            } else {
                Err(format!("state {} started_at {}", st.state, st.started_at))
            }
        });
        rep.check("container-status-running", r);
        rep.check("runtime-state-container", runtime_state(&env, id));

        let r = (|| {
            let mut same = Vec::new();
            for ns in ["net", "ipc", "uts"] {
                let (c, p) = (ns_of(pid, ns)?, ns_of(pod.pid, ns)?);
                if c != p {
                    return Err(format!("container {c}, sandbox {p}"));
                }
                same.push(c);
            }
            for ns in ["pid", "mnt"] {
                let (c, p) = (ns_of(pid, ns)?, ns_of(pod.pid, ns)?);
                if c == p {
                    return Err(format!("container shares the sandbox's {c}, want its own"));
                }
            }
            Ok(format!("shares {}; own pid and mnt", same.join(" ")))
        })();
        rep.check("namespaces-joined", r);

        let r = cri.exec(id, &["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).await.and_then(|x| {
            let out = text(&x.stdout);
            if x.exit_code == 0 && out.contains(&format!("inet {}/", pod.ip)) {
                Ok(format!("eth0 has {}", pod.ip))
            } else {
                Err(format!("exit {}, stdout {out:?}, stderr {:?}, want {}", x.exit_code, text(&x.stderr), pod.ip))
            }
        });
        rep.check("pod-ip", r);

        let r = cri.exec(id, &["sh", "-c", "echo hello from exec; exit 0"]).await.and_then(|x| {
            if x.exit_code == 0 && text(&x.stdout) == "hello from exec\n" {
                Ok("stdout and exit 0".to_string())
            } else {
                Err(format!("exit {}, stdout {:?}, stderr {:?}", x.exit_code, text(&x.stdout), text(&x.stderr)))
            }
        });
        rep.check("exec-sync", r);

        let r = cri.exec(id, &["sh", "-c", "echo oops >&2; exit 3"]).await.and_then(|x| {
            if x.exit_code == 3 && text(&x.stderr) == "oops\n" {
                Ok("stderr and exit 3".to_string())
            } else {
                Err(format!("exit {}, stdout {:?}, stderr {:?}", x.exit_code, text(&x.stdout), text(&x.stderr)))
            }
        });
        rep.check("exec-sync-fail", r);

        // A missing program: an error from the call or a failing exit code,
        // either way the kubelet sees a failed probe, and the container lives.
        let r = match cri.exec(id, &["/no/such/binary"]).await {
            Ok(x) if x.exit_code != 0 => Ok(format!("exit {}", x.exit_code)),
            Ok(x) => Err(format!("exit 0, stdout {:?}", text(&x.stdout))),
            Err(e) => Ok(format!("error: {}", e.chars().take(160).collect::<String>())),
        }
        .and_then(|d| match fs::metadata(format!("/proc/{pid}")) {
            Ok(_) => Ok(d),
            Err(_) => Err(format!("{d}, and the container died")),
        });
        rep.check("exec-sync-missing-binary", r);

        let pod_parent = pod.config.linux.as_ref().map(|l| l.cgroup_parent.clone()).unwrap_or_default();
        rep.check("resources-cgroup", check_limits(pid, &pod_parent, id, &res));
        let r = read_trim(format!("/proc/{pid}/oom_score_adj")).and_then(|v| {
            if v == res.oom_score_adj.to_string() {
                Ok(format!("oom_score_adj {v}"))
            } else {
                Err(format!("oom_score_adj {v}, want {}", res.oom_score_adj))
            }
        });
        rep.check("resources-oom-score-adj", r);

        let new = resources(30_000, 256, 96 * MIB);
        let r = call(cri.rt.update_container_resources(UpdateContainerResourcesRequest {
            container_id: id.to_string(),
            linux: Some(new.clone()),
            ..Default::default()
        }))
        .await
        .map_err(|e| format!("UpdateContainerResources: {e}"))
        .and_then(|_| check_limits(pid, &pod_parent, id, &new));
        rep.check("update-resources", r);

        // Some CPU time, so that the numbers are not zero.
        let _ = cri.exec(id, &["sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done"]).await;
        let mem_limit = 96 * MIB as u64;
        let stats_ok = |s: &ContainerStats| -> Result<String, String> {
            let cpu = s.cpu.as_ref().and_then(|c| c.usage_core_nano_seconds.as_ref()).map(|v| v.value).unwrap_or(0);
            let ws = s.memory.as_ref().and_then(|m| m.working_set_bytes.as_ref()).map(|v| v.value).unwrap_or(0);
            if cpu == 0 || ws == 0 {
                return Err(format!("cpu {cpu} ns, working set {ws} bytes: {s:?}"));
            }
            // The container's own cgroup, not the shim's or the root's.
            if ws > mem_limit {
                return Err(format!("working set {ws} is above the container's limit {mem_limit}: not its cgroup"));
            }
            Ok(format!("cpu {:.1} ms, working set {} KiB", cpu as f64 / 1e6, ws / 1024))
        };
        let r = call(cri.rt.container_stats(ContainerStatsRequest { container_id: id.to_string() }))
            .await
            .map_err(|e| format!("ContainerStats: {e}"))
            .and_then(|r| r.stats.ok_or("no stats".to_string()))
            .and_then(|s| stats_ok(&s));
        rep.check("container-stats", r);
        let r = call(cri.rt.list_container_stats(ListContainerStatsRequest {
            filter: Some(ContainerStatsFilter { pod_sandbox_id: pod.id.clone(), ..Default::default() }),
        }))
        .await
        .map_err(|e| format!("ListContainerStats: {e}"))
        .and_then(|r| {
            let s = r
                .stats
                .iter()
                .find(|s| s.attributes.as_ref().map(|a| a.id.as_str()) == Some(id))
                .ok_or(format!("{id} not among {} entries", r.stats.len()))?;
            stats_ok(s).map(|d| format!("{} entries; main: {d}", r.stats.len()))
        });
        rep.check("list-container-stats", r);
    } else {
        for n in main_checks {
            rep.fail(n, "no main container");
        }
    }

    // Exit code and reason of a container that ends by itself, its log.
    let c = container_config(&env, "exit7", NamespaceMode::Container, "echo bye; exit 7");
    let r = async {
        let (id, _) = cri.create_start(&pod, c).await?;
        ids.push(id.clone());
        let st = cri.wait_exited(&id, Duration::from_secs(15)).await?;
        if st.exit_code != 7 || st.reason != "Error" || st.finished_at == 0 {
            return Err(format!("exit code {}, reason {:?}, finished_at {}", st.exit_code, st.reason, st.finished_at));
        }
        log_contains(&env, &pod, "exit7", "stdout F bye")?;
        Ok("CONTAINER_EXITED, exit code 7, reason Error, stdout in the CRI log".to_string())
    }
    .await;
    rep.check("container-status-exited", r);

    // The seccomp profile a kubelet asks for with seccompProfile RuntimeDefault.
    let mut c = container_config(&env, "seccomp", NamespaceMode::Container, "grep ^Seccomp: /proc/self/status");
    if let Some(sc) = c.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.seccomp = Some(SecurityProfile { profile_type: ProfileType::RuntimeDefault as i32, ..Default::default() });
    }
    let r = async {
        let (id, _) = cri.create_start(&pod, c).await?;
        ids.push(id.clone());
        let st = cri.wait_exited(&id, Duration::from_secs(15)).await?;
        if st.exit_code != 0 {
            return Err(format!("exit code {}, reason {:?}, message {:?}", st.exit_code, st.reason, st.message));
        }
        log_contains(&env, &pod, "seccomp", "Seccomp:\t2")?;
        Ok("the process runs under a seccomp filter (mode 2)".to_string())
    }
    .await;
    rep.check("seccomp-runtime-default", r);

    // The OOM killer: 32 MiB limit, a 64 MiB buffer. The pause lets the shim
    // register for the cgroup's OOM events first (it does so after start).
    let c = with_resources(
        container_config(
            &env,
            "oom",
            NamespaceMode::Container,
            "sleep 1; exec dd if=/dev/zero of=/dev/null bs=64M count=1",
        ),
        resources(0, 2, 32 * MIB),
    );
    let r = async {
        let (id, _) = cri.create_start(&pod, c).await?;
        ids.push(id.clone());
        let st = cri.wait_exited(&id, Duration::from_secs(20)).await?;
        if st.reason != "OOMKilled" || st.exit_code != 137 {
            return Err(format!("exit code {}, reason {:?}, want 137 OOMKilled", st.exit_code, st.reason));
        }
        Ok("exit code 137, reason OOMKilled".to_string())
    }
    .await;
    rep.check("oom-killed", r);

    // Stop: SIGTERM first (main exits at once on it) ...
    match &main {
        Some((id, _)) => {
            let r = async {
                let took = cri.stop(id, 10).await?;
                let st = cri.wait_exited(id, Duration::from_secs(5)).await?;
                if took > Duration::from_secs(5) || st.exit_code != 0 {
                    return Err(format!("took {took:?}, exit code {} (want < 5 s and 0)", st.exit_code));
                }
                Ok(format!("exited 0 on SIGTERM in {:.2}s", took.as_secs_f64()))
            }
            .await;
            rep.check("stop-sigterm", r);
        }
        None => rep.fail("stop-sigterm", "no main container"),
    }
    // ... and SIGKILL after the grace period for one that ignores SIGTERM.
    let c = container_config(
        &env,
        "stubborn",
        NamespaceMode::Container,
        "trap '' TERM; echo up; while :; do sleep 0.2; done",
    );
    let r = async {
        let (id, pid) = cri.create_start(&pod, c).await?;
        ids.push(id.clone());
        if pid == 0 {
            return Err("not running".to_string());
        }
        let grace = 2;
        let took = cri.stop(&id, grace).await?;
        let st = cri.wait_exited(&id, Duration::from_secs(5)).await?;
        if took < Duration::from_secs(grace as u64) || took > Duration::from_secs(grace as u64 + 8) {
            return Err(format!("StopContainer took {took:?} with a {grace} s grace period"));
        }
        if st.exit_code != 137 {
            return Err(format!("exit code {}, want 137 (SIGKILL)", st.exit_code));
        }
        Ok(format!("killed after the {grace} s grace period ({:.2}s), exit code 137", took.as_secs_f64()))
    }
    .await;
    rep.check("stop-grace-period", r);

    Ok(finish(&mut cri, &env, rep, hostnet, shared, Some(pod), &ids, t_all).await)
}

/// Remove containers and pods the way the kubelet does, then look for leftovers.
#[allow(clippy::too_many_arguments)]
async fn finish(
    cri: &mut Cri,
    env: &Env,
    mut rep: Report,
    hostnet: Option<Pod>,
    shared: Option<(String, u32)>,
    cni: Option<Pod>,
    ids: &[String],
    t_all: Instant,
) -> Report {
    if let Some(pod) = &cni {
        let r = async {
            let cs = cri.containers_of(&pod.id).await?;
            for c in &cs {
                // Exited ones need no stop; a kubelet stops them anyway.
                cri.stop(&c.id, 2).await?;
                cri.remove(&c.id).await?;
            }
            let left = cri.containers_of(&pod.id).await?;
            if !left.is_empty() {
                return Err(format!("{} containers still listed", left.len()));
            }
            for c in &cs {
                if cri.status(&c.id).await.is_ok() {
                    return Err(format!("ContainerStatus still answers for {}", c.id));
                }
            }
            Ok(format!("{} containers removed", cs.len()))
        }
        .await;
        rep.check("remove-container", r);

        let r = async {
            call(cri.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() }))
                .await
                .map_err(|e| format!("StopPodSandbox: {e}"))?;
            let st = call(
                cri.rt.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: pod.id.clone(), verbose: false }),
            )
            .await
            .map_err(|e| format!("PodSandboxStatus: {e}"))?;
            let state = st.status.map(|s| s.state).unwrap_or(-1);
            if state != PodSandboxState::SandboxNotready as i32 {
                return Err(format!("state {state}, want SANDBOX_NOTREADY"));
            }
            if let Some(p) = &pod.netns_path {
                if Path::new(p).exists() {
                    return Err(format!("the netns {p} is still there"));
                }
            }
            let lease = Path::new(&env.ipam_dir).join(&pod.ip);
            if lease.exists() {
                return Err(format!("the IP lease {} is still there", lease.display()));
            }
            Ok("SANDBOX_NOTREADY, netns and IP released".to_string())
        }
        .await;
        rep.check("stop-pod-sandbox", r);
    } else {
        rep.fail("remove-container", "no CNI pod");
        rep.fail("stop-pod-sandbox", "no CNI pod");
    }

    // The host-network pod: the kubelet's order, stop everything then remove.
    if let Some(pod) = &hostnet {
        let r = async {
            if let Some((id, _)) = &shared {
                // Not PID 1 in the shared pid namespace: SIGTERM ends sleep.
                let took = cri.stop(id, 10).await?;
                let st = cri.wait_exited(id, Duration::from_secs(5)).await?;
                if st.exit_code != 143 {
                    return Err(format!("exit code {} after {took:?}, want 143 (SIGTERM)", st.exit_code));
                }
            }
            call(cri.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.id.clone() }))
                .await
                .map_err(|e| format!("StopPodSandbox: {e}"))?;
            Ok("container exited 143 on SIGTERM, sandbox stopped".to_string())
        }
        .await;
        rep.check("stop-pod-hostnet", r);
    } else {
        rep.fail("stop-pod-hostnet", "no hostnet pod");
    }

    let mut pods: Vec<&Pod> = Vec::new();
    pods.extend(cni.as_ref());
    pods.extend(hostnet.as_ref());
    let r = async {
        if pods.is_empty() {
            return Err("no pods".to_string());
        }
        for pod in &pods {
            call(cri.rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod.id.clone() }))
                .await
                .map_err(|e| format!("RemovePodSandbox {}: {e}", pod.name))?;
        }
        let listed = cri.pods().await?;
        if let Some(p) = listed.iter().find(|p| pods.iter().any(|q| q.id == p.id)) {
            return Err(format!("pod {} still listed", p.id));
        }
        Ok(format!("{} pods removed", pods.len()))
    }
    .await;
    rep.check("remove-pod-sandbox", r);

    // PID 1 of this machine reaps slowly: give exited shims a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left = leftovers(env, ids);
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        left = leftovers(env, ids);
    }
    let r = if left.is_empty() {
        Ok(format!("{} containers and sandboxes checked", ids.len()))
    } else {
        let n = left.len();
        left.truncate(12);
        if n > left.len() {
            left.push(format!("... {} more", n - left.len()));
        }
        Err(left.join("; "))
    };
    rep.check("no-leftovers", r);
    println!("cri checks took {:.1}s", t_all.elapsed().as_secs_f64());
    rep
}

fn main() -> ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run()) {
        Ok(rep) => {
            println!("cri: {} passed, {} failed", rep.passed, rep.failed.len());
            if rep.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("FAIL setup: {e}");
            ExitCode::FAILURE
        }
    }
}
