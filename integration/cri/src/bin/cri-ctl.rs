//! A small crictl (which Debian 12 does not package): one kubelet call per
//! invocation against a CRI socket, for shell scripts that check the effect
//! themselves — the systemd VM suite (integration/systemd-vm/tests.sh) runs
//! it inside the guest.
//!
//! Usage: cri-ctl COMMAND ARGS...   (socket: $CRI_SOCK, default containerd's)
//!   version                               runtime name and version
//!   runp                                  RunPodSandbox; prints the pod id
//!   inspectp POD                          {"state": N, "info": {...}} (verbose)
//!   create POD NAME MEMORY QUOTA CMD...   CreateContainer (sh -c CMD); prints its id
//!   start ID | stop ID | rm ID | stopp POD | rmp POD
//!   inspect ID                            {"state": N, "info": {...}} (verbose)
//!   exec ID CMD...                        ExecSync; its stdout, its exit status
//!   update ID MEMORY QUOTA                UpdateContainerResources
//!   bench-pods N PARENT LOGDIR HANDLER... pod start timings (below)
//! The pod's config comes from the environment, as a kubelet would build it:
//! POD_NAME, POD_UID, POD_NAMESPACE, POD_CGROUP_PARENT (with the systemd
//! driver a slice like kubepods-besteffort-pod<uid>.slice); the handler from
//! CRI_HANDLER (default: the runtime's default) and the image from CRI_IMAGE.
//! MEMORY is in bytes, QUOTA the CPU quota per 100 ms period (0: none).
//! Every pod has the host's network (no CNI needed) and its own pid namespace.
//!
//! `bench-pods` (integration/bench/engines.sh) starts N pods per runtime
//! handler, the handlers taking turns (pod i of every handler, in an order
//! that rotates with i, so that a drifting machine load hits each alike).
//! One pod start is what a kubelet does for a one-container pod:
//! RunPodSandbox + CreateContainer + StartContainer (`sleep`), timed by this
//! client. The pod is then stopped and removed (timed apart) before the next
//! one, so that no start competes with pods left running. Prints one JSON
//! object per pod: handler, unix start time, and the milliseconds of each call.

use std::collections::HashMap;
use std::env;
use std::future::Future;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hull_cri_test::connect;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use serde_json::{json, Value};
use tonic::transport::Channel;

const CALL_TIMEOUT: Duration = Duration::from_secs(120);
const USAGE: &str = "usage: cri-ctl version|runp|inspectp POD|create POD NAME MEMORY QUOTA CMD...|start ID|\
                     inspect ID|exec ID CMD...|update ID MEMORY QUOTA|stop ID|rm ID|stopp POD|rmp POD|\
                     bench-pods N PARENT LOGDIR HANDLER...";

async fn call<T>(
    what: &str,
    fut: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Err(_) => Err(format!("{what}: no answer in {CALL_TIMEOUT:?}")),
        Ok(Err(s)) => Err(format!("{what}: {:?}: {}", s.code(), s.message())),
        Ok(Ok(r)) => Ok(r.into_inner()),
    }
}

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("{name} is not set"))
}

fn pod_config() -> Result<PodSandboxConfig, String> {
    let name = var("POD_NAME")?;
    Ok(PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.clone(),
            uid: var("POD_UID")?,
            namespace: var("POD_NAMESPACE")?,
            attempt: 0,
        }),
        log_directory: format!("/var/log/pods/{name}"),
        linux: Some(pod_linux(var("POD_CGROUP_PARENT")?)),
        ..Default::default()
    })
}

/// The pods' Linux part: the node's network, a pid namespace per
/// container, the pod's ipc namespace, under `cgroup_parent`.
fn pod_linux(cgroup_parent: String) -> LinuxPodSandboxConfig {
    LinuxPodSandboxConfig {
        cgroup_parent,
        security_context: Some(LinuxSandboxSecurityContext {
            namespace_options: Some(NamespaceOption {
                network: NamespaceMode::Node as i32,
                pid: NamespaceMode::Container as i32,
                ipc: NamespaceMode::Pod as i32,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn resources(memory: &str, quota: &str) -> Result<LinuxContainerResources, String> {
    let int = |s: &str| s.parse::<i64>().map_err(|e| format!("{s}: {e}"));
    Ok(LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: int(quota)?,
        memory_limit_in_bytes: int(memory)?,
        ..Default::default()
    })
}

/// The verbose status of a pod or container as one JSON object.
fn status_json(state: i32, info: &HashMap<String, String>) -> Value {
    let info = info.get("info").and_then(|s| serde_json::from_str::<Value>(s).ok()).unwrap_or(Value::Null);
    json!({ "state": state, "info": info })
}

async fn run(args: &[String]) -> Result<u8, String> {
    let sock = env::var("CRI_SOCK").unwrap_or_else(|_| "/run/containerd/containerd.sock".to_string());
    let mut rt = RuntimeServiceClient::new(connect(&sock).await?);
    let arg = |i: usize| args.get(i).cloned().ok_or_else(|| USAGE.to_string());
    match args.first().map(String::as_str) {
        Some("version") => {
            let v = call("Version", rt.version(VersionRequest { version: "v1".into() })).await?;
            println!("{} {} {}", v.runtime_name, v.runtime_version, v.runtime_api_version);
        }
        Some("runp") => {
            let r = call(
                "RunPodSandbox",
                rt.run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(pod_config()?),
                    runtime_handler: env::var("CRI_HANDLER").unwrap_or_default(),
                }),
            )
            .await?;
            println!("{}", r.pod_sandbox_id);
        }
        Some("inspectp") => {
            let r = call(
                "PodSandboxStatus",
                rt.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: arg(1)?, verbose: true }),
            )
            .await?;
            println!("{}", status_json(r.status.map_or(-1, |s| s.state), &r.info));
        }
        Some("create") => {
            let config = ContainerConfig {
                metadata: Some(ContainerMetadata { name: arg(2)?, attempt: 0 }),
                image: Some(ImageSpec { image: var("CRI_IMAGE")?, ..Default::default() }),
                command: vec!["sh".into(), "-c".into(), args.get(5..).unwrap_or_default().join(" ")],
                log_path: format!("{}.log", arg(2)?),
                linux: Some(LinuxContainerConfig {
                    resources: Some(resources(&arg(3)?, &arg(4)?)?),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let r = call(
                "CreateContainer",
                rt.create_container(CreateContainerRequest {
                    pod_sandbox_id: arg(1)?,
                    config: Some(config),
                    sandbox_config: Some(pod_config()?),
                }),
            )
            .await?;
            println!("{}", r.container_id);
        }
        Some("start") => {
            call("StartContainer", rt.start_container(StartContainerRequest { container_id: arg(1)? })).await?;
        }
        Some("inspect") => {
            let r = call(
                "ContainerStatus",
                rt.container_status(ContainerStatusRequest { container_id: arg(1)?, verbose: true }),
            )
            .await?;
            println!("{}", status_json(r.status.map_or(-1, |s| s.state), &r.info));
        }
        Some("exec") => {
            let r = call(
                "ExecSync",
                rt.exec_sync(ExecSyncRequest { container_id: arg(1)?, cmd: args[2..].to_vec(), timeout: 60 }),
            )
            .await?;
            std::io::stdout().write_all(&r.stdout).map_err(|e| e.to_string())?;
            std::io::stderr().write_all(&r.stderr).map_err(|e| e.to_string())?;
            return Ok(u8::try_from(r.exit_code).unwrap_or(255));
        }
        Some("update") => {
            call(
                "UpdateContainerResources",
                rt.update_container_resources(UpdateContainerResourcesRequest {
                    container_id: arg(1)?,
                    linux: Some(resources(&arg(2)?, &arg(3)?)?),
                    ..Default::default()
                }),
            )
            .await?;
        }
        Some("stop") => {
            call("StopContainer", rt.stop_container(StopContainerRequest { container_id: arg(1)?, timeout: 0 }))
                .await?;
        }
        Some("rm") => {
            call("RemoveContainer", rt.remove_container(RemoveContainerRequest { container_id: arg(1)? })).await?;
        }
        Some("stopp") => {
            call("StopPodSandbox", rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: arg(1)? })).await?;
        }
        Some("rmp") => {
            call("RemovePodSandbox", rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: arg(1)? }))
                .await?;
        }
        Some("bench-pods") => {
            let n: usize = arg(1)?.parse().map_err(|e| format!("N: {e}"))?;
            let handlers = args.get(4..).unwrap_or_default();
            if handlers.is_empty() {
                return Err(USAGE.to_string());
            }
            bench_pods(&mut rt, n, &arg(2)?, &arg(3)?, handlers).await?;
        }
        _ => return Err(USAGE.to_string()),
    }
    Ok(0)
}

fn millis(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

async fn bench_pods(
    rt: &mut RuntimeServiceClient<Channel>,
    n: usize,
    parent: &str,
    log_dir: &str,
    handlers: &[String],
) -> Result<(), String> {
    let image = var("CRI_IMAGE")?;
    let tag = std::process::id();
    for i in 0..n {
        for k in 0..handlers.len() {
            let handler = &handlers[(i + k) % handlers.len()];
            let name = format!("bench-{handler}-{i}");
            let config = PodSandboxConfig {
                metadata: Some(PodSandboxMetadata {
                    name: name.clone(),
                    uid: format!("{name}-{tag}"),
                    namespace: "bench".into(),
                    attempt: 0,
                }),
                log_directory: format!("{log_dir}/{name}"),
                linux: Some(pod_linux(parent.to_string())),
                ..Default::default()
            };
            let container = ContainerConfig {
                metadata: Some(ContainerMetadata { name: "sleep".into(), attempt: 0 }),
                image: Some(ImageSpec { image: image.clone(), ..Default::default() }),
                command: vec!["sleep".into(), "3600".into()],
                log_path: "sleep.log".into(),
                ..Default::default()
            };
            let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
            let t0 = Instant::now();
            let t = Instant::now();
            let pod = call(
                "RunPodSandbox",
                rt.run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(config.clone()),
                    runtime_handler: handler.clone(),
                }),
            )
            .await?
            .pod_sandbox_id;
            let run_ms = millis(t);
            let t = Instant::now();
            let id = call(
                "CreateContainer",
                rt.create_container(CreateContainerRequest {
                    pod_sandbox_id: pod.clone(),
                    config: Some(container),
                    sandbox_config: Some(config),
                }),
            )
            .await?
            .container_id;
            let create_ms = millis(t);
            let t = Instant::now();
            call("StartContainer", rt.start_container(StartContainerRequest { container_id: id.clone() })).await?;
            let start_ms = millis(t);
            let total_ms = millis(t0);
            let end = wall + total_ms / 1000.0;
            let t = Instant::now();
            call("StopPodSandbox", rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: pod.clone() })).await?;
            call("RemovePodSandbox", rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: pod })).await?;
            let teardown_ms = millis(t);
            println!(
                "{}",
                json!({
                    "handler": handler, "i": i, "start": wall, "end": end,
                    "run_pod_ms": run_ms, "create_ms": create_ms, "start_ms": start_ms,
                    "total_ms": total_ms, "teardown_ms": teardown_ms,
                })
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cri-ctl: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("cri-ctl: {e}");
            ExitCode::FAILURE
        }
    }
}
