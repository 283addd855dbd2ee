//! `executor: slurm` against a real single-node Slurm (see `slurm/cluster.rs`): a Hyperband
//! search served by two worker jobs gives what the local executor gives; so does one whose
//! worker job is cancelled mid-trial, and one whose coordinator is SIGKILLed and restarted
//! (without a duplicate worker job); Ctrl-C cancels the worker jobs; a job that cannot start
//! is reported with Slurm's reason. Each test starts and stops its own cluster, one at a time.

#[path = "slurm/cluster.rs"]
mod cluster;
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cluster::{Cluster, wait_for};
use common::{BIN, Sandbox, text};
use serde_json::Value;

/// One cluster at a time: they would compete for the same two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Hyperband on Branin, 2 trials at once; `sleep` seconds per epoch make trials last long
/// enough to be interrupted. `retries: 0`: a lost worker counted as a crash would fail a trial.
fn workflow(sleep: f64, executor: &str) -> String {
    format!(
        "name: hb-slurm
seed: 5
executor:
{executor}
stages:
  search:
    kind: search
    model: function
    function: branin
    space:
      x1: {{uniform: [-5.0, 10.0]}}
      x2: {{uniform: [0.0, 15.0]}}
    params:
      sleep: {sleep}
    strategy:
      kind: hyperband
      eta: 3
      min_epochs: 1
      max_epochs: 9
    metric: {{name: objective, goal: minimize}}
    workers: 2
    retries: 0
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
"
    )
}

const SLURM: &str = "  kind: slurm\n  cpus_per_worker: 1\n  time: 10m";

fn start() -> Option<(std::sync::MutexGuard<'static, ()>, Cluster)> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    match Cluster::start() {
        Ok(c) => Some((guard, c)),
        Err(reason) => {
            common::missing(&format!(
                "Slurm cannot run here (scripts/setup installs slurm-wlm and munge): {reason}"
            ));
            None
        }
    }
}

fn hpflow(c: &Cluster, sb: &Sandbox, runs: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    c.env(&mut cmd)
        .current_dir(sb.path())
        .env_remove("HPFLOW_RUNS_DIR")
        .arg("--runs-dir")
        .arg(sb.path().join(runs))
        .args(args);
    cmd
}

/// Run to the end; the jobs' outputs without timings, and the seconds it took.
fn run_json(c: &Cluster, sb: &Sandbox, runs: &str, extra: &[&str]) -> (Vec<Value>, f64) {
    let started = Instant::now();
    let mut args = vec!["run", "--json", "wf.yaml"];
    args.extend(extra);
    let out = hpflow(c, sb, runs, &args).output().expect("run hpflow");
    assert!(
        out.status.success(),
        "hpflow run failed: {}\n{}",
        out.status,
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    (outcome(&v), started.elapsed().as_secs_f64())
}

/// What must not depend on the executor: every job's id and outputs (timings left out).
fn outcome(run: &Value) -> Vec<Value> {
    fn strip(v: &mut Value) {
        if let Value::Object(m) = v {
            m.remove("seconds");
            m.values_mut().for_each(strip);
        } else if let Value::Array(a) = v {
            a.iter_mut().for_each(strip);
        }
    }
    run["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            let mut o = j["outputs"].clone();
            strip(&mut o);
            serde_json::json!({"stage": j["stage"], "job": j["job"], "outputs": o})
        })
        .collect()
}

/// The reference: the same workflow under the local executor.
fn local(c: &Cluster, sb: &Sandbox) -> (Vec<Value>, f64) {
    run_json(c, sb, "runs-local", &["--executor", "local"])
}

fn slurm_jobs(c: &Cluster, sb: &Sandbox, runs: &str) -> Vec<Value> {
    let out = hpflow(c, sb, runs, &["status", "--json", "wf.yaml"])
        .output()
        .expect("status");
    // While a run starts there may be nothing to show yet.
    let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) else {
        eprintln!("status: {}", text(&out.stderr));
        return Vec::new();
    };
    // The search's, whichever stage it is (`status --json` is a list of workflows).
    v[0]["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|j| j["slurm_jobs"].as_array().cloned())
        .unwrap_or_default()
}

/// The search job's queue folder under `runs`.
fn queue_dir(sb: &Sandbox, runs: &str) -> std::path::PathBuf {
    let root = sb.path().join(runs);
    for e in std::fs::read_dir(&root).expect("runs").flatten() {
        if e.path().join("slurm").is_dir() {
            return e.path().join("slurm");
        }
    }
    panic!("no slurm folder under {}", root.display())
}

/// A claim (`claimed/<request>@<jobid>.json`) exists: a worker job is mid-trial. Its job id.
fn claim(sb: &Sandbox, runs: &str) -> Option<String> {
    long_claim(sb, runs, 0)
}

/// A worker job holding a request with at least `left` epochs still to train.
fn long_claim(sb: &Sandbox, runs: &str, left: u64) -> Option<String> {
    let root = sb.path().join(runs);
    let dirs = std::fs::read_dir(&root).ok()?;
    for d in dirs.flatten() {
        for e in std::fs::read_dir(d.path().join("slurm/claimed"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((_, id)) = name.trim_end_matches(".json").rsplit_once('@') else {
                continue;
            };
            let req: Value = std::fs::read_to_string(e.path())
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let trained = req["trial_dir"]
                .as_str()
                .and_then(|d| std::fs::read_to_string(format!("{d}/metrics.jsonl")).ok())
                .map_or(0, |m| m.lines().count() as u64);
            if req["epochs"].as_u64().unwrap_or(0) >= trained + left {
                return Some(id.to_string());
            }
        }
    }
    None
}

fn spawn(c: &Cluster, sb: &Sandbox, runs: &str) -> Child {
    hpflow(c, sb, runs, &["run", "wf.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hpflow run")
}

fn finish(c: &mut Cluster) {
    println!("sacct (job completion log):\n{}", c.sacct());
    let left = c.stop();
    assert!(
        left.is_empty(),
        "left running after the cluster stopped: {left:?}"
    );
}

#[test]
fn two_worker_jobs_give_the_local_result() {
    let Some((_g, mut c)) = start() else { return };
    let sb = Sandbox::new();
    sb.write("wf.yaml", &workflow(0.02, SLURM));
    let plan = hpflow(&c, &sb, "runs-slurm", &["plan", "wf.yaml"])
        .output()
        .expect("plan");
    let plan = text(&plan.stdout);
    assert!(
        plan.contains("on Slurm, 2 worker job(s)") && plan.contains("sbatch --parsable"),
        "{plan}"
    );
    let (want, local_s) = local(&c, &sb);
    let (got, slurm_s) = run_json(&c, &sb, "runs-slurm", &[]);
    assert_eq!(got, want, "slurm and local runs differ");
    let jobs = slurm_jobs(&c, &sb, "runs-slurm");
    println!(
        "local {local_s:.1}s, slurm {slurm_s:.1}s (overhead {:.1}s); worker jobs: {jobs:?}",
        slurm_s - local_s
    );
    assert_eq!(jobs.len(), 2, "two worker jobs submitted: {jobs:?}");
    assert!(jobs.iter().all(|j| j["state"] == "COMPLETED"), "{jobs:?}");
    // Each served part of the search (items went to whichever was free).
    let logs = queue_dir(&sb, "runs-slurm").join("logs");
    let served: Vec<String> = std::fs::read_dir(&logs)
        .expect("logs")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert_eq!(served.len(), 2);
    assert!(
        served
            .iter()
            .all(|l| l.contains("leaving after") && !l.contains("after 0 requests")),
        "{served:?}"
    );
    assert!(
        c.live_jobs().is_empty(),
        "jobs left in Slurm: {:?}",
        c.jobs()
    );
    let status = hpflow(&c, &sb, "runs-slurm", &["status", "wf.yaml"])
        .output()
        .expect("status");
    assert!(
        text(&status.stdout).contains("Slurm worker jobs:"),
        "{}",
        text(&status.stdout)
    );
    finish(&mut c);
}

#[test]
fn a_worker_job_cancelled_mid_trial_changes_nothing() {
    // Slurm's SIGTERM: the worker checkpoints its trial and leaves.
    cancel_mid_trial_of(&[]);
}

#[test]
fn a_worker_job_killed_mid_epoch_resumes_elsewhere_without_a_retry() {
    // Epochs of 8 s against KillWait=1 (Slurm kills a few seconds after its SIGTERM): the
    // SIGKILL lands mid-epoch, before the worker could checkpoint and answer, and its claim
    // is left behind for the coordinator to find.
    let slow = workflow(8.0, SLURM)
        .replace(
            "kind: hyperband\n      eta: 3\n      min_epochs: 1\n      max_epochs: 9",
            "kind: random",
        )
        .replace(
            "    workers: 2\n",
            "    workers: 2\n    budget: {trials: 2}\n",
        )
        .replace("      sleep: 8\n", "      sleep: 8\n      epochs: 2\n");
    assert!(
        slow.contains("kind: random") && slow.contains("epochs: 2"),
        "{slow}"
    );
    cancel_mid_trial(&[], &slow, true);
}

fn cancel_mid_trial_of(how: &[&str]) {
    cancel_mid_trial(how, &workflow(0.25, SLURM), false)
}

fn cancel_mid_trial(how: &[&str], wf: &str, hard: bool) {
    let Some((_g, mut c)) = start() else { return };
    let sb = Sandbox::new();
    sb.write("wf.yaml", wf);
    let (want, _) = local(&c, &sb);
    let child = spawn(&c, &sb, "runs-slurm");
    let mut victim = None;
    wait_for(
        || {
            victim = long_claim(&sb, "runs-slurm", if hard { 1 } else { 4 });
            victim.is_some()
        },
        "a worker job to claim a trial with 4 epochs to go",
    )
    .expect("a claim");
    // At once: the claimed trial trains for about a second more.
    let victim = victim.expect("claimed");
    let mut args = how.to_vec();
    args.push(&victim);
    c.slurm("scancel", &args).expect("scancel");
    let out = child.wait_with_output().expect("run");
    let stderr = text(&out.stderr);
    let log = queue_dir(&sb, "runs-slurm").join(format!("logs/{victim}.out"));
    println!("{}", std::fs::read_to_string(log).unwrap_or_default());
    assert!(out.status.success(), "run failed after scancel: {stderr}");
    let jobs = slurm_jobs(&c, &sb, "runs-slurm");
    println!("worker jobs after scancel {how:?} of {victim}: {jobs:?}\n{stderr}");
    let (got, _) = run_json(&c, &sb, "runs-slurm", &[]);
    assert_eq!(got, want, "results differ after a cancelled worker job");
    if hard {
        // The lost request was seen and handed on (not just answered before the kill).
        assert!(
            stderr.contains(&format!(
                "worker job {victim} ended (CANCELLED) during trial"
            )),
            "{stderr}"
        );
    }
    let cancelled = jobs
        .iter()
        .find(|j| j["slurm_id"] == victim.as_str())
        .expect("victim recorded");
    assert_eq!(cancelled["state"], "CANCELLED");
    assert!(jobs.len() >= 3, "a replacement was submitted: {jobs:?}");
    assert!(c.live_jobs().is_empty(), "{:?}", c.jobs());
    finish(&mut c);
}

#[test]
fn a_restarted_coordinator_adopts_its_worker_jobs() {
    let Some((_g, mut c)) = start() else { return };
    let sb = Sandbox::new();
    sb.write("wf.yaml", &workflow(0.2, SLURM));
    let (want, _) = local(&c, &sb);
    let mut child = spawn(&c, &sb, "runs-slurm");
    // Mid-sweep: both worker jobs running and some trials answered.
    wait_for(
        || {
            let running = c.jobs().iter().filter(|j| j.2 == "RUNNING").count();
            let answered = std::fs::read_dir(sb.path().join("runs-slurm"))
                .into_iter()
                .flatten()
                .flatten()
                .flat_map(|d| {
                    std::fs::read_dir(d.path().join("trials"))
                        .into_iter()
                        .flatten()
                        .flatten()
                })
                .filter(|t| t.path().join("status.json").exists())
                .count();
            running == 2 && answered >= 4 && claim(&sb, "runs-slurm").is_some()
        },
        "the sweep to be under way",
    )
    .expect("mid-sweep");
    // SAFETY: killing our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let before: Vec<String> = c.live_jobs();
    assert_eq!(
        before.len(),
        2,
        "the worker jobs outlive their coordinator: {:?}",
        c.jobs()
    );
    let out = hpflow(&c, &sb, "runs-slurm", &["run", "wf.yaml"])
        .output()
        .expect("rerun");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "restarted run failed: {stderr}");
    assert!(stderr.contains("adopted worker jobs"), "{stderr}");
    let jobs = slurm_jobs(&c, &sb, "runs-slurm");
    println!("worker jobs: {jobs:?}\n{stderr}");
    assert_eq!(jobs.len(), 2, "no duplicate worker jobs: {jobs:?}");
    let (got, _) = run_json(&c, &sb, "runs-slurm", &[]);
    assert_eq!(got, want, "results differ after the coordinator was killed");
    assert!(c.live_jobs().is_empty(), "{:?}", c.jobs());
    finish(&mut c);
}

#[test]
fn ctrl_c_cancels_the_worker_jobs() {
    let Some((_g, mut c)) = start() else { return };
    let sb = Sandbox::new();
    sb.write("wf.yaml", &workflow(0.3, SLURM));
    let child = spawn(&c, &sb, "runs-slurm");
    wait_for(|| claim(&sb, "runs-slurm").is_some(), "a trial under way").expect("claim");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("run");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(c.live_jobs().is_empty(), "worker jobs left: {:?}", c.jobs());
    let workers: Vec<_> = c
        .processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.contains("--queue"))
        .collect();
    assert!(workers.is_empty(), "worker processes left: {workers:?}");
    // The next run resumes and still gives the local result.
    let (got, _) = run_json(&c, &sb, "runs-slurm", &[]);
    let (want, _) = local(&c, &sb);
    assert_eq!(got, want);
    finish(&mut c);
}

#[test]
fn a_job_that_cannot_start_is_reported_with_slurms_reason() {
    let Some((_g, mut c)) = start() else { return };
    let sb = Sandbox::new();
    // Held jobs never start by themselves: Slurm's reason is JobHeldUser.
    sb.write(
        "wf.yaml",
        &workflow(0.0, &format!("{SLURM}\n  extra: [--hold]")),
    );
    let mut child = spawn(&c, &sb, "runs-slurm");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    wait_for(
        || {
            slurm_jobs(&c, &sb, "runs-slurm")
                .iter()
                .any(|j| j["reason"] == "JobHeldUser")
        },
        "the pending reason to be recorded",
    )
    .expect("reason recorded");
    std::thread::sleep(Duration::from_secs(6));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    let stderr = reader.join().expect("stderr");
    assert!(
        stderr.contains("pending for") && stderr.contains("Slurm says JobHeldUser"),
        "{stderr}"
    );
    let status = hpflow(&c, &sb, "runs-slurm", &["status", "wf.yaml"])
        .output()
        .expect("status");
    println!("{}", text(&status.stdout));
    assert!(c.live_jobs().is_empty(), "held jobs left: {:?}", c.jobs());
    finish(&mut c);
}

#[test]
fn the_libtorch_mlp_on_digits_gives_the_local_result() {
    let worker = std::path::Path::new(BIN).with_file_name("hpflow-worker");
    if !worker.exists() {
        common::missing(&format!(
            "{} is not built (the torch feature is off)",
            worker.display()
        ));
        return;
    }
    let Some((_g, mut c)) = start() else { return };
    let sb = Sandbox::new();
    sb.write(
        "wf.yaml",
        &format!(
            "name: digits-slurm
seed: 42
executor:
{SLURM}
data: {{source: builtin, name: digits, task: classification}}
stages:
  split: {{kind: split, train: 0.6, val: 0.2, test: 0.2}}
  search:
    kind: search
    needs: [split]
    model: mlp
    space:
      lr:    {{loguniform: [1.0e-3, 1.0e-1]}}
      units: {{int: [16, 64], log: true}}
    strategy: {{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 3}}
    metric: {{name: val_accuracy, goal: maximize}}
    workers: 2
    threads: 1
  retrain: {{kind: retrain, needs: [search]}}
  evaluate: {{kind: evaluate, needs: [retrain], metrics: [accuracy, loss]}}
"
        ),
    );
    let (want, local_s) = local(&c, &sb);
    let (got, slurm_s) = run_json(&c, &sb, "runs-slurm", &[]);
    assert_eq!(got, want, "slurm and local MLP runs differ");
    let jobs = slurm_jobs(&c, &sb, "runs-slurm");
    println!(
        "MLP: local {local_s:.1}s, slurm {slurm_s:.1}s; worker jobs: {}",
        jobs.len()
    );
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().all(|j| j["state"] == "COMPLETED"), "{jobs:?}");
    finish(&mut c);
}

#[test]
fn executor_settings_are_in_no_job_key() {
    // No cluster needed: the quickstart planned as shipped and with every Slurm setting.
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("workflows/quickstart.yaml")).expect("read");
    let with = shipped.replace(
        "device: cpu\n",
        "device: cpu\nexecutor:\n  kind: slurm\n  partition: debug\n  account: lab\n  qos: normal\n  \
         time: 2h\n  cpus_per_worker: 4\n  mem: 8G\n  max_jobs: 3\n  extra: [--exclusive]\n",
    );
    assert_ne!(with, shipped);
    sb.write("local.yaml", &shipped);
    sb.write("slurm.yaml", &with);
    let keys = |file: &str| -> Vec<Value> {
        let plan = sb.json(&["plan", "--json", file]);
        plan["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| serde_json::json!({"id": j["id"], "key": j["key"]}))
            .collect()
    };
    assert_eq!(keys("local.yaml"), keys("slurm.yaml"));
    let plan = sb.json(&["plan", "--json", "slurm.yaml"]);
    let search = &plan["jobs"][1]["executor"];
    assert_eq!(
        search["worker_jobs"], 2,
        "max_jobs 3, but only 2 trials at once"
    );
    let sbatch: Vec<&str> = search["sbatch"]
        .as_array()
        .expect("sbatch")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    for want in [
        "--partition=debug",
        "--account=lab",
        "--qos=normal",
        "--time=120",
        "--cpus-per-task=4",
        "--mem=8G",
        "--exclusive",
    ] {
        assert!(sbatch.contains(&want), "{want} missing from {sbatch:?}");
    }
}
