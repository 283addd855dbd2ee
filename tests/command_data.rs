//! `model: command` with data: the program gets the split's rows as files, the evaluate stage
//! runs it in evaluate mode on the sealed test rows and records what it prints, and a program
//! that cannot evaluate fails the evaluate stage instead of reporting other numbers.

mod common;
use common::*;

use std::path::Path;

/// The command template, smaller: 4 trials, 2 then 4 epochs. Python from the project's venv
/// (it imports torch).
fn template(sb: &Sandbox) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("templates/train.py"), sb.path().join("train.py")).unwrap();
    // The helper train.py imports, beside it (as `hpflow init command` writes it).
    std::fs::create_dir_all(sb.path().join("hpflow")).unwrap();
    for f in ["__init__.py", "_trial.py", "_rows.py"] {
        let from = root.join("python/hpflow").join(f);
        std::fs::copy(from, sb.path().join("hpflow").join(f)).unwrap();
    }
    let venv = root.join(".venv/bin");
    std::fs::read_to_string(root.join("templates/command.yaml"))
        .unwrap()
        .replace(
            "command: [python3, train.py,",
            &format!("command: [{}, train.py,", venv.join("python3").display()),
        )
        .replace("max_epochs: 8", "max_epochs: 4")
        .replace("budget: {trials: 8}", "budget: {trials: 4}")
}

fn job<'a>(run: &'a serde_json::Value, stage: &str) -> &'a serde_json::Value {
    run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == stage)
        .unwrap()
}

#[test]
fn the_command_template_reports_test_metrics_measured_on_the_test_rows() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &template(&sb));
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let split = job(&run, "split");
    let retrain = &job(&run, "retrain")["outputs"];
    let test = &job(&run, "evaluate")["outputs"]["metrics"];
    // Measured by the program on the test rows: its accuracy, and a loss that is not the
    // retrain's training loss.
    let acc = test["test_accuracy"].as_f64().expect("test_accuracy");
    assert!(acc > 0.5 && acc <= 1.0, "{test}");
    let loss = test["test_loss"].as_f64().unwrap();
    assert_ne!(Some(loss), retrain["metrics"]["train_loss"].as_f64());
    assert!(retrain["metrics"].get("test_accuracy").is_none());
    // The evaluation is in the access log: one opening, by the evaluate job.
    let audit = sb.json(&["audit", "--json"]);
    let accesses = audit["accesses"].as_array().unwrap();
    assert_eq!(accesses.len(), 1, "{audit}");
    assert_eq!(accesses[0]["kind"], "evaluate");
    // The rows the program got: the split's, as CSV with a header; a retrain on train+val got
    // both parts in one file.
    let dir = sb.runs().join(&split["job"].as_str().unwrap()[..16]);
    let lines = |p: &str| {
        std::fs::read_to_string(dir.join(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .lines()
            .count() as u64
    };
    let (train, val, n_test) = (
        split["outputs"]["train"].as_u64().unwrap(),
        split["outputs"]["val"].as_u64().unwrap(),
        split["outputs"]["test"].as_u64().unwrap(),
    );
    assert_eq!(lines("rows/train.csv"), train + 1);
    assert_eq!(lines("rows/val.csv"), val + 1);
    assert_eq!(lines("rows/train+val.csv"), train + val + 1);
    // The test rows' CSV was the evaluating program's own, removed when it ended: no
    // plaintext copy of the sealed rows stays on disk.
    assert!(!dir.join("sealed/test.csv").exists());
    assert!(n_test > 0);
    // No request of a search or retrain trial names the data source or the sealed folder.
    for j in ["search", "retrain"] {
        let id = job(&run, j)["job"].as_str().unwrap()[..16].to_string();
        for t in std::fs::read_dir(sb.runs().join(id).join("trials")).unwrap() {
            let req = std::fs::read_to_string(t.unwrap().path().join("requests.jsonl")).unwrap();
            assert!(!req.contains("sealed") && !req.contains("digits"), "{req}");
        }
    }
}

#[test]
fn a_program_that_cannot_evaluate_fails_the_evaluate_stage() {
    let sb = Sandbox::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wf = template(&sb);
    // Trains a quadratic whatever HPFLOW_MODE says: in evaluate mode it prints epoch lines.
    std::fs::copy(
        root.join("tests/programs/quadratic.py"),
        sb.path().join("train.py"),
    )
    .unwrap();
    let wf = wf
        .replace("--units, \"{units}\"]", "--width, \"{units}\"]")
        .replace(
            "{name: val_accuracy, goal: maximize}",
            "{name: val_loss, goal: minimize}",
        );
    sb.write("w.yaml", &wf);
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("the program printed no test metrics in evaluate mode"),
        "{err}"
    );
    let status = sb.json(&["status", "--json", "command-demo"])[0].clone();
    let eval = status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "evaluate")
        .unwrap();
    assert_eq!(eval["status"], "failed", "{eval}");
    let export = sb.json(&["export", "command-demo", "--format", "json"]);
    assert!(export["test"].is_null(), "{export}");
}
