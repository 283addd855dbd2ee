//! `scripts/chaos`: interruptions and damage a real sweep can meet, each followed by a resume
//! that must end with the uninterrupted run's results. The full suite is ignored in the
//! normal test run (it takes minutes; the script runs it and prints its table); one short case
//! (`a_killed_coordinator_resumes_to_the_uninterrupted_result`) runs with every `cargo test`.
//!
//! A Hyperband search of an MLP on the built-in digits with 2 workers: the coordinator
//! SIGKILLed at 10 random moments, a worker at 5; a full disk; a truncated and a bit-flipped
//! checkpoint; a database from a newer hpflow.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_hpflow");

const WORKFLOW: &str = "name: chaos
seed: 7
data: {source: builtin, name: digits}
stages:
  split: {kind: split, train: 0.6, val: 0.2, test: 0.2}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {units: 256, hidden_layers: 2, batch_size: 16}
    space:
      lr: {loguniform: [1.0e-4, 1.0e-1]}
      dropout: {uniform: [0.0, 0.4]}
      optimizer: {choice: [adam, sgd]}
    strategy: {kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}
    metric: {name: val_accuracy, goal: maximize}
    workers: 2
    retries: 20
  retrain: {kind: retrain, needs: [search]}
  evaluate: {kind: evaluate, needs: [retrain]}
";

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        Lab::with(WORKFLOW)
    }
    fn with(workflow: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("w.yaml"), workflow).unwrap();
        Lab { dir }
    }
    fn runs(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn cmd(&self, runs: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .arg("--runs-dir")
            .arg(runs)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }
    fn spawn(&self, runs: &Path) -> Child {
        self.cmd(runs, &["-q", "run", "w.yaml"]).spawn().unwrap()
    }
    fn finish(&self, runs: &Path) -> bool {
        self.cmd(runs, &["-q", "run", "w.yaml"])
            .status()
            .is_ok_and(|s| s.success())
    }
    /// What must come out the same: each trial's state, epochs and metrics, the selected
    /// configuration and the test metrics.
    fn outcome(&self, runs: &Path) -> serde_json::Value {
        let out = self
            .cmd(runs, &["export", "chaos"])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let trials: Vec<serde_json::Value> = v["trials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["stage"] == "search")
            .map(|t| serde_json::json!([t["trial"], t["state"], t["epochs_trained"], t["metrics"]]))
            .collect();
        serde_json::json!({"trials": trials, "selected": v["selected"]["config"], "test": v["test"]["metrics"]})
    }
    fn integrity(&self, runs: &Path) -> String {
        rusqlite::Connection::open(runs.join("hpflow.db"))
            .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            .unwrap_or_else(|e| e.to_string())
    }
    /// Epochs actually trained: the lines of every trial's `epochs.log`.
    fn epochs_trained(&self, runs: &Path) -> usize {
        let mut n = 0;
        for job in std::fs::read_dir(runs).into_iter().flatten().flatten() {
            for t in std::fs::read_dir(job.path().join("trials"))
                .into_iter()
                .flatten()
                .flatten()
            {
                n += std::fs::read_to_string(t.path().join("epochs.log"))
                    .map_or(0, |s| s.lines().count());
            }
        }
        n
    }
}

struct Row {
    case: String,
    tried: usize,
    ok: bool,
    note: String,
}

fn kill(pid: u32) {
    // SAFETY: signalling a process this test started (or its child).
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

/// The worker processes of a coordinator.
fn workers_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn compare(lab: &Lab, runs: &Path, reference: &serde_json::Value) -> (bool, String) {
    let got = lab.outcome(runs);
    let integrity = lab.integrity(runs);
    let same = &got == reference;
    let lost = reference["trials"].as_array().map_or(0, Vec::len)
        - got["trials"]
            .as_array()
            .map_or(0, Vec::len)
            .min(reference["trials"].as_array().map_or(0, Vec::len));
    (
        same && integrity == "ok",
        format!(
            "results {}, integrity {integrity}, {lost} trials lost",
            if same { "identical" } else { "DIFFER" }
        ),
    )
}

/// The short case CI runs: a smaller Hyperband (3 epochs at most), its coordinator SIGKILLed
/// once in the middle of the search (at half the uninterrupted run's time, after the split),
/// then run again: the same trials, selection and test metrics, and an intact database.
#[test]
fn a_killed_coordinator_resumes_to_the_uninterrupted_result() {
    let lab = Lab::with(&WORKFLOW.replace("max_epochs: 9", "max_epochs: 3"));
    let reference_runs = lab.runs("reference");
    let started = Instant::now();
    assert!(lab.finish(&reference_runs), "the uninterrupted run");
    let uninterrupted = started.elapsed();
    let reference = lab.outcome(&reference_runs);
    assert!(
        reference["trials"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let runs = lab.runs("killed");
    let mut landed = false;
    // A faster run than measured may end before the kill: then try once more, earlier.
    for share in [0.5, 0.3, 0.15] {
        let _ = std::fs::remove_dir_all(&runs);
        let mut child = lab.spawn(&runs);
        std::thread::sleep(uninterrupted.mul_f64(share));
        if child.try_wait().unwrap().is_none() {
            kill(child.id());
            landed = true;
        }
        let _ = child.wait();
        if landed {
            break;
        }
    }
    assert!(landed, "the kill never landed mid-run");
    assert!(lab.finish(&runs), "the resumed run");
    let (ok, note) = compare(&lab, &runs, &reference);
    assert!(ok, "{note}");
}

#[test]
#[ignore = "minutes long: run by scripts/chaos"]
fn chaos() {
    let lab = Lab::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
        std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
    );
    let mut rows = Vec::new();

    let reference_runs = lab.runs("reference");
    let started = Instant::now();
    assert!(lab.finish(&reference_runs), "the uninterrupted run");
    let uninterrupted = started.elapsed();
    let reference = lab.outcome(&reference_runs);
    let reference_epochs = lab.epochs_trained(&reference_runs);
    rows.push(Row {
        case: "uninterrupted run".into(),
        tried: 1,
        ok: true,
        note: format!(
            "{:.1}s, {} trials, {reference_epochs} epochs trained",
            uninterrupted.as_secs_f64(),
            reference["trials"].as_array().map_or(0, Vec::len)
        ),
    });

    // The coordinator SIGKILLed at random moments; each time, run again.
    let runs = lab.runs("coordinator");
    let mut landed = 0;
    let mut tries = 0;
    let span = uninterrupted.as_secs_f64() / 8.0;
    while landed < 10 && tries < 40 {
        tries += 1;
        let mut child = lab.spawn(&runs);
        std::thread::sleep(Duration::from_secs_f64(
            rng.random_range(0.2..span.max(0.5)),
        ));
        if child.try_wait().unwrap().is_none() {
            kill(child.id());
            landed += 1;
        }
        let _ = child.wait();
    }
    assert!(lab.finish(&runs));
    let (ok, note) = compare(&lab, &runs, &reference);
    let extra = lab.epochs_trained(&runs).saturating_sub(reference_epochs);
    // Each kill can cost the epoch each of the 2 workers was in.
    let within = extra <= 2 * landed;
    rows.push(Row {
        case: "coordinator SIGKILL, then resume".into(),
        tried: landed,
        ok: ok && within,
        note: format!(
            "{note}; {} retrained (at most 2 per kill)",
            hpflow::text::plural(extra as u64, "epoch")
        ),
    });

    // Workers SIGKILLed mid-trial; the coordinator retries their items from checkpoints.
    let runs = lab.runs("worker");
    let mut child = lab.spawn(&runs);
    let mut killed = 0;
    let deadline = Instant::now() + uninterrupted * 6;
    while killed < 5 && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_secs_f64(
            rng.random_range(0.3..span.max(0.6)),
        ));
        let ws = workers_of(child.id());
        if !ws.is_empty() {
            kill(ws[rng.random_range(0..ws.len())]);
            killed += 1;
        }
    }
    let finished = child.wait().unwrap().success() || lab.finish(&runs);
    let (ok, note) = compare(&lab, &runs, &reference);
    rows.push(Row {
        case: "worker SIGKILL during the search".into(),
        tried: killed,
        ok: ok && finished && killed > 0,
        note,
    });

    // Damaged checkpoints: stop mid-search, damage the newest checkpoint of every trial that
    // has one, resume: a damaged checkpoint is refused and the trial goes back one epoch.
    for (case, damage) in [
        ("truncated checkpoints", 0u8),
        ("bit-flipped checkpoints", 1u8),
    ] {
        let runs = lab.runs(&case.replace(' ', "-"));
        let mut child = lab.spawn(&runs);
        std::thread::sleep(uninterrupted / 2);
        kill(child.id());
        let _ = child.wait();
        let mut damaged = 0;
        for job in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
            for t in std::fs::read_dir(job.path().join("trials"))
                .into_iter()
                .flatten()
                .flatten()
            {
                let root = t.path().join("checkpoints");
                let Some(newest) = std::fs::read_dir(&root)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .max()
                else {
                    continue;
                };
                let w = newest.join("weights.safetensors");
                let Ok(mut bytes) = std::fs::read(&w) else {
                    continue;
                };
                if damage == 0 {
                    bytes.truncate(bytes.len() / 2);
                } else {
                    let i = bytes.len() * 3 / 4;
                    bytes[i] ^= 0x10;
                }
                std::fs::write(&w, bytes).unwrap();
                damaged += 1;
            }
        }
        let finished = lab.finish(&runs);
        let (ok, note) = compare(&lab, &runs, &reference);
        rows.push(Row {
            case: case.into(),
            tried: damaged,
            ok: ok && finished,
            note,
        });
    }

    // A full disk: the run stops with its own exit code and resumes once there is room.
    rows.push(full_disk(&lab, &reference));

    // A database from a newer hpflow: refused, and left as it was.
    let runs = lab.runs("newer");
    assert!(lab.finish(&runs));
    rusqlite::Connection::open(runs.join("hpflow.db"))
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let before = std::fs::read(runs.join("hpflow.db")).unwrap();
    let out = lab
        .cmd(&runs, &["run", "w.yaml"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let after = std::fs::read(runs.join("hpflow.db")).unwrap();
    let said = common::text(&out.stderr);
    rows.push(Row {
        case: "database from a newer hpflow".into(),
        tried: 1,
        ok: !out.status.success() && before == after && said.contains("newer hpflow"),
        note: format!(
            "exit {:?}, file unchanged: {}",
            out.status.code(),
            before == after
        ),
    });

    println!("\n| case | tried | survived | what was checked |\n|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} |",
            r.case,
            r.tried,
            if r.ok { "yes" } else { "NO" },
            r.note
        );
    }
    assert!(rows.iter().all(|r| r.ok), "a case did not survive");
}

fn full_disk(lab: &Lab, reference: &serde_json::Value) -> Row {
    let at = lab.dir.path().join("small");
    std::fs::create_dir_all(&at).unwrap();
    let mount = |opts: &str| {
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !mount("size=6m") {
        return Row {
            case: "full disk".into(),
            tried: 0,
            ok: true,
            note: "skipped: cannot mount a tmpfs here (needs root)".into(),
        };
    }
    let runs = at.join("runs");
    let code = lab
        .cmd(&runs, &["-q", "run", "w.yaml"])
        .status()
        .unwrap()
        .code();
    let remounted = Command::new("mount")
        .args(["-o", "remount,size=512m"])
        .arg(&at)
        .status()
        .is_ok_and(|s| s.success());
    let finished = remounted && lab.finish(&runs);
    let (ok, note) = compare(lab, &runs, reference);
    let _ = Command::new("umount").arg(&at).status();
    Row {
        case: "full disk (6 MB), then room".into(),
        tried: 1,
        ok: ok && finished && code == Some(5),
        note: format!("first run exit {code:?} (5: disk full); {note}"),
    }
}
