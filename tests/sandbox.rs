//! Trials run sandboxed (`train::sandbox`): a `command` program that opens the data source
//! or the sealed rows fails with a message saying why and what to read instead, the same
//! program reading `HPFLOW_TRAIN` passes, the libtorch worker trains inside its sandbox, an
//! evaluation cannot write into the model it measures and leaves no copy of the test rows,
//! and a run with the sandbox switched off is a finding of the audit. The `command` program
//! cases run twice: under Landlock, and under bubblewrap (`HPFLOW_SANDBOX=bwrap`), the
//! fallback where the kernel has no Landlock.

mod common;
use common::*;

use std::path::Path;

/// 90 rows of a 3-class problem, no feature of which alone gives the class away (the split's
/// data checks would report it).
fn rows_csv() -> String {
    let mut text = String::from("a,b,label\n");
    for i in 0..90 {
        let k = i % 3;
        text.push_str(&format!(
            "{:.3},{:.3},{}\n",
            0.5 * k as f64 + (i as f64 * 0.37).sin(),
            (i * 7 % 11) as f64 / 11.0,
            ["x", "y", "z"][k]
        ));
    }
    text
}

/// A workflow on rows.csv: the split, and `stages` after it.
fn workflow(stages: &str) -> String {
    format!(
        "name: sandboxed
seed: 4
data:
  source: csv
  path: rows.csv
  label: label
  task: classification
stages:
  split:
    kind: split
    train: 0.6
    val: 0.2
    test: 0.2
{stages}"
    )
}

/// A search of one trial running tests/programs/reader.py with `what`, then a retrain and an
/// evaluation.
fn reader(what: &str) -> String {
    workflow(&format!(
        "  search:
    kind: search
    needs: [split]
    model: command
    command: [python3, reader.py, \"{what}\"]
    space:
      x: {{choice: [1]}}
    strategy: {{kind: grid}}
    metric: {{name: val_loss, goal: minimize}}
    params: {{epochs: 2}}
    budget: {{trials: 1}}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
"
    ))
}

/// A project folder with the rows and the program, whose runs ask for the sandbox `kind`
/// (`None`: as the kernel decides).
struct Project {
    sb: Sandbox,
    kind: Option<&'static str>,
}

impl std::ops::Deref for Project {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

impl Project {
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.sb.cmd(args);
        match self.kind {
            Some(kind) => c.env("HPFLOW_SANDBOX", kind),
            None => c.env_remove("HPFLOW_SANDBOX"),
        };
        c
    }
    fn output(&self, args: &[&str]) -> std::process::Output {
        self.cmd(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }
    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
    /// What the trials' `status.json` say they ran under.
    fn expected(&self) -> &'static str {
        self.kind.unwrap_or("landlock")
    }
}

/// The project, where the mechanism `kind` can run here (else `None`, after saying so).
fn project_under(kind: Option<&'static str>) -> Option<Project> {
    if kind == Some("bwrap") {
        if !hpflow::train::sandbox::bwrap::works() {
            missing("bubblewrap (bwrap; the Debian package `bubblewrap`)");
            return None;
        }
    } else if hpflow::train::sandbox::landlock_abi().is_none() {
        missing("Landlock (Linux 5.13+ with the landlock LSM enabled)");
        return None;
    }
    let sb = Sandbox::new();
    sb.write("rows.csv", &rows_csv());
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/reader.py");
    std::fs::copy(program, sb.path().join("reader.py")).unwrap();
    Some(Project { sb, kind })
}

/// The project under Landlock, as the kernel decides.
fn project() -> Option<Project> {
    project_under(None)
}

/// The folder of the first job of `kind`.
fn job_dir(sb: &Project, kind: &str) -> std::path::PathBuf {
    let id: String = sb
        .db()
        .query_row(
            "SELECT id FROM jobs WHERE kind = ?1 ORDER BY started_at LIMIT 1",
            [kind],
            |r| r.get(0),
        )
        .unwrap();
    sb.runs().join(&id[..16])
}

fn status(trial: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(trial.join("status.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_program_that_reads_the_data_source_fails_and_is_told_to_read_hpflow_train() {
    reads_the_source("landlock");
}

#[test]
fn a_program_that_reads_the_data_source_fails_and_is_told_to_read_hpflow_train_under_bwrap() {
    reads_the_source("bwrap");
}

fn reads_the_source(kind: &'static str) {
    let Some(sb) = project_under(Some(kind)) else {
        return;
    };
    sb.write("w.yaml", &reader("source"));
    let out = sb.output(&["run", "w.yaml"]);
    assert!(!out.status.success(), "{}", text(&out.stderr));
    let s = status(&job_dir(&sb, "search").join("trials/0000"));
    assert_eq!(s["state"], "failed", "{s}");
    assert_eq!(s["sandbox"], kind, "{s}");
    let reason = s["reason"].as_str().unwrap();
    // Denied the data source itself (not its own script), and told why.
    assert!(reason.contains("Permission denied: 'rows.csv'"), "{reason}");
    assert!(reason.contains("trials run sandboxed"), "{reason}");
    assert!(reason.contains("HPFLOW_TRAIN"), "{reason}");
}

#[test]
fn a_trial_may_name_its_threads_as_the_cuda_driver_does() {
    names_its_thread("landlock");
}

#[test]
fn a_trial_may_name_its_threads_as_the_cuda_driver_does_under_bwrap() {
    names_its_thread("bwrap");
}

/// CUDA's init names the driver's threads through /proc (opened with O_TRUNC); a sandbox
/// that refuses it leaves every `device: cuda` trial failing with "CUDA is not available".
/// The program layer and the worker's share the rule, so a `command` program checks both.
fn names_its_thread(kind: &'static str) {
    let Some(sb) = project_under(Some(kind)) else {
        return;
    };
    sb.write("w.yaml", &reader("name-thread"));
    let out = sb.output(&["run", "w.yaml"]);
    let s = status(&job_dir(&sb, "search").join("trials/0000"));
    assert!(out.status.success(), "{}\n{s}", text(&out.stderr));
    assert_eq!(s["state"], "done", "{s}");
    assert_eq!(s["sandbox"], kind, "{s}");
}

#[test]
fn the_same_program_reading_hpflow_train_passes_and_its_evaluation_is_confined() {
    reads_hpflow_train("landlock");
}

#[test]
fn the_same_program_reading_hpflow_train_passes_and_its_evaluation_is_confined_under_bwrap() {
    reads_hpflow_train("bwrap");
}

fn reads_hpflow_train(kind: &'static str) {
    let Some(sb) = project_under(Some(kind)) else {
        return;
    };
    sb.write("w.yaml", &reader("train"));
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let eval = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "evaluate")
        .unwrap();
    let metrics = &eval["outputs"]["metrics"];
    // The program measured the test rows, and could not write into the model it measured.
    assert_eq!(metrics["test_rows"], 18.0, "{metrics}");
    assert_eq!(metrics["test_wrote_model"], 0.0, "{metrics}");
    let model = job_dir(&sb, "retrain").join("trials/0000/checkpoints/command");
    assert!(model.join("model.txt").exists());
    assert!(!model.join("overwritten").exists());
    // Its test rows were a CSV of its own, gone when it ended; none beside the sealed file.
    let trial = job_dir(&sb, "evaluate").join("trials/0000");
    let stderr = std::fs::read_to_string(trial.join("stderr.log")).unwrap();
    let test = stderr
        .lines()
        .find_map(|l| l.strip_prefix("test rows at "))
        .expect("the program said where its test rows were");
    assert!(test.starts_with(trial.to_str().unwrap()), "{test}");
    assert!(!Path::new(test).exists(), "{test} is still there");
    assert!(!trial.join("scratch").exists());
    assert!(!job_dir(&sb, "split").join("sealed/test.csv").exists());
    for kind in ["search", "retrain", "evaluate"] {
        let s = status(&job_dir(&sb, kind).join("trials/0000"));
        assert_eq!(s["sandbox"], sb.expected(), "{kind}: {s}");
    }
    // Clean, the sandbox check included.
    let audit = sb.json(&["audit", "--json"]);
    assert_eq!(audit["clean"], true, "{audit}");
    assert!(
        audit["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "every trial ran sandboxed" && c["ok"] == true),
        "{audit}"
    );
}

#[test]
fn a_search_program_that_opens_the_sealed_rows_fails() {
    opens_the_sealed_rows("landlock");
}

#[test]
fn a_search_program_that_opens_the_sealed_rows_fails_under_bwrap() {
    opens_the_sealed_rows("bwrap");
}

fn opens_the_sealed_rows(kind: &'static str) {
    let Some(sb) = project_under(Some(kind)) else {
        return;
    };
    // The split alone first, to learn where its sealed rows are; the search reuses it.
    sb.write("split.yaml", &workflow(""));
    sb.ok(&["run", "split.yaml"]);
    let sealed = job_dir(&sb, "split").join("sealed/test.safetensors");
    assert!(sealed.exists());
    sb.write("w.yaml", &reader(sealed.to_str().unwrap()));
    let out = sb.output(&["run", "w.yaml"]);
    assert!(!out.status.success(), "{}", text(&out.stderr));
    let s = status(&job_dir(&sb, "search").join("trials/0000"));
    assert_eq!(s["state"], "failed", "{s}");
    assert_eq!(s["sandbox"], kind, "{s}");
    let reason = s["reason"].as_str().unwrap();
    assert!(reason.contains("test.safetensors'"), "{reason}");
    assert!(reason.contains("trials run sandboxed"), "{reason}");
    // Nothing of the test rows reached a metric: the trial has no epochs.
    assert_eq!(s["epoch"], 0, "{s}");
}

#[test]
fn the_libtorch_worker_trains_inside_its_sandbox() {
    libtorch_trains(None);
}

/// Started by the coordinator in a namespace for its job (a worker cannot confine itself
/// with bubblewrap).
#[test]
fn the_libtorch_worker_trains_inside_its_sandbox_under_bwrap() {
    libtorch_trains(Some("bwrap"));
}

fn libtorch_trains(kind: Option<&'static str>) {
    let Some(sb) = project_under(kind) else {
        return;
    };
    sb.write(
        "w.yaml",
        &workflow(
            "  search:
    kind: search
    needs: [split]
    model: mlp
    params: {epochs: 1, units: 8, hidden_layers: 1, lr: 0.01}
    space:
      batch_size: {choice: [16]}
    strategy: {kind: grid}
    metric: {name: val_accuracy, goal: maximize}
    budget: {trials: 1}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
",
        ),
    );
    let out = sb.output(&["run", "w.yaml"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Every trial confined: nothing to warn about.
    assert!(!err.contains("unsandboxed"), "{err}");
    // The search trained, and the evaluation read the sealed rows it was given.
    for stage in ["search", "retrain", "evaluate"] {
        let s = status(&job_dir(&sb, stage).join("trials/0000"));
        assert_eq!(s["state"], "done", "{stage}: {s}");
        assert_eq!(s["sandbox"], sb.expected(), "{stage}: {s}");
    }
    let s = status(&job_dir(&sb, "search").join("trials/0000"));
    assert!(s["metrics"]["val_accuracy"].as_f64().is_some(), "{s}");
    let s = status(&job_dir(&sb, "evaluate").join("trials/0000"));
    assert!(s["metrics"]["test_accuracy"].as_f64().is_some(), "{s}");
}

#[test]
fn a_run_with_the_sandbox_off_says_so_and_the_audit_finds_it() {
    let Some(sb) = project() else { return };
    sb.write("w.yaml", &reader("source"));
    let out = sb
        .cmd(&["run", "w.yaml"])
        .env("HPFLOW_NO_SANDBOX", "1")
        .output()
        .unwrap();
    // Unconfined, the careless program reads the source and the run goes through.
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("HPFLOW_NO_SANDBOX is set").count(), 1, "{err}");
    let s = status(&job_dir(&sb, "search").join("trials/0000"));
    assert_eq!(s["sandbox"], "none", "{s}");
    let out = sb.output(&["audit"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    assert!(
        report.contains("FAIL      every trial ran sandboxed"),
        "{report}"
    );
    assert!(report.contains("1 trial ran unsandboxed"), "{report}");
}

#[test]
fn an_unknown_mechanism_is_refused_before_anything_runs() {
    let Some(mut sb) = project() else { return };
    sb.kind = Some("firejail");
    sb.write("w.yaml", &reader("train"));
    let out = sb.output(&["run", "w.yaml"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("HPFLOW_SANDBOX is \"firejail\""), "{err}");
    assert!(err.contains("`landlock` or `bwrap`"), "{err}");
    assert!(!sb.runs().join("hpflow.db").exists());
}
