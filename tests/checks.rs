//! Issue 9's cases against the real binary: what plan accepts and the trainer agrees with,
//! a metric a program never prints, trials that all fail alike, and a full disk.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn a_linear_mlp_is_accepted_by_plan_as_by_the_trainer() {
    let sb = Sandbox::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quick = std::fs::read_to_string(root.join("workflows/quickstart.yaml")).unwrap();
    assert!(quick.contains("hidden_layers:"));
    let linear = quick
        .lines()
        .filter(|l| !l.trim_start().starts_with("hidden_layers:"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "    space:\n",
            "    params: {hidden_layers: 0}\n    space:\n",
        );
    assert!(linear.contains("hidden_layers: 0"), "{linear}");
    sb.write("w.yaml", &linear);
    let plan = sb.ok(&["plan", "w.yaml"]);
    // plan names what the search leaves at the schema's defaults (hidden_layers is fixed).
    let defaults = plan
        .lines()
        .find(|l| l.starts_with("search: at their defaults:"))
        .unwrap();
    assert!(
        defaults.contains("beta1 0.9") && !defaults.contains("hidden_layers"),
        "{plan}"
    );
    let json = sb.json(&["plan", "--json", "w.yaml"]);
    let hidden = json["jobs"][1]["hyperparameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "hidden_layers")
        .unwrap()
        .clone();
    assert_eq!(
        hidden,
        serde_json::json!({"name": "hidden_layers", "source": "fixed", "value": 0})
    );
}

#[test]
fn a_metric_a_program_never_prints_stops_the_search_at_once() {
    let sb = Sandbox::new();
    sb.write(
        "p.py",
        "import json, os\nfor e in range(1, int(os.environ['HPFLOW_EPOCHS']) + 1):\n    print(json.dumps({'epoch': e, 'loss': 0.5}))\n",
    );
    sb.write(
        "w.yaml",
        "name: m\nstages:\n  search:\n    kind: search\n    model: command\n    command: [python3, p.py, \"{x}\"]\n    space:\n      x: {uniform: [0, 1]}\n    strategy: {kind: random}\n    metric: {name: val_loss, goal: minimize}\n    params: {epochs: 2}\n    budget: {trials: 50}\n",
    );
    let out = sb.output(&["-q", "run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim_end(),
        "hpflow: stage search: trial 0 metric val_loss was not reported (reported: [\"loss\"]); \
         the program must print it in each epoch's line (or set metric.name to one it prints)"
    );
    let trials: i64 = sb
        .db()
        .query_row(
            "SELECT count(*) FROM trials WHERE state != 'queued'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(trials, 1, "one trial, not fifty");
}

/// A small tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_named_loses_nothing_and_the_run_resumes() {
    let sb = Sandbox::new();
    let Some(disk) = Tmpfs::mount(&sb.path().join("small"), "400k") else {
        common::missing("a 400k tmpfs cannot be mounted here (needs root): the full-disk case");
        return;
    };
    sb.write(
        "w.yaml",
        &function_workflow("full", "{kind: random}", 40, ""),
    );
    let runs = disk.0.join("runs");
    let run = |runs: &Path| {
        Command::new(BIN)
            .current_dir(sb.path())
            .args(["-q", "--runs-dir"])
            .arg(runs)
            .args(["run", "w.yaml"])
            .output()
            .unwrap()
    };
    let out = run(&runs);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("hpflow: disk full: cannot write ")
            && err.contains("free space (or set disk_limit_mb on the search to keep fewer checkpoints), then run the same command again: nothing recorded is lost"),
        "{err}"
    );
    let db = rusqlite::Connection::open(runs.join("hpflow.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let recorded: i64 = db
        .query_row(
            "SELECT count(*) FROM trials WHERE state = 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        recorded > 0 && recorded < 40,
        "the disk filled mid-search: {recorded}"
    );
    drop(db);
    disk.resize("64m");
    let out = run(&runs);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let export = |runs: &Path| -> serde_json::Value {
        let out = Command::new(BIN)
            .args(["--runs-dir"])
            .arg(runs)
            .args(["export", "full"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let reference = sb.path().join("reference-runs");
    assert!(run(&reference).status.success());
    let (resumed, straight) = (export(&runs), export(&reference));
    assert_eq!(resumed["selected"], straight["selected"]);
    assert_eq!(resumed["test"], straight["test"]);
    assert_eq!(resumed["trials"].as_array().unwrap().len(), 40);
}

#[test]
fn fail_fast_judges_the_first_trials_by_number_whatever_finishes_first() {
    let sb = Sandbox::new();
    // Trial 0 succeeds slowly; every other trial fails at once, for the same reason. With 2
    // workers the failures of trials 1, 2, 3 arrive before trial 0's success: that must not
    // stop the search (the first three trials did not all fail).
    sb.write(
        "p.py",
        "import json, os, sys, time\ntrial = int(os.path.basename(os.environ['HPFLOW_TRIAL_DIR']))\nif trial != 0:\n    sys.stderr.write('broken\\n'); sys.exit(2)\ntime.sleep(2)\nfor e in range(1, int(os.environ['HPFLOW_EPOCHS']) + 1):\n    print(json.dumps({'epoch': e, 'val_loss': 0.5}))\n",
    );
    sb.write(
        "w.yaml",
        "name: ff\nstages:\n  search:\n    kind: search\n    model: command\n    command: [python3, p.py, \"{x}\"]\n    space:\n      x: {uniform: [0, 1]}\n    strategy: {kind: random}\n    params: {epochs: 1}\n    budget: {trials: 6}\n    workers: 2\n    max_failed: 1.0\n",
    );
    let out = sb.output(&["-q", "run", "w.yaml"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let recorded: i64 = sb
        .db()
        .query_row(
            "SELECT count(*) FROM trials WHERE state IN ('done', 'failed')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, 6, "every trial ran: {err}");
}
