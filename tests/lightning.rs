//! The Lightning template (templates/lightning.yaml, lightning_train.py) run for real through
//! the helper's callback (python/hpflow/lightning.py), in the venv scripts/lightning-venv makes
//! (lightning from PyPI, cached under ~/.cache/hpflow; the first install takes about 30 s).
//! Hyperband cut to 1–2 epochs on digits: hpflow is SIGKILLed while trials train and run
//! again. What a user relies on: each trial's validation metrics reach hpflow epoch by epoch,
//! a promoted or interrupted trial resumes from its Lightning checkpoint (no epoch trained
//! twice), and the evaluate stage records the retrained model's test metrics.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Lightning venv's python, made (or checked) by scripts/lightning-venv; None (skipped,
/// or a failure under CI) when it cannot be installed here.
fn lightning_python() -> Option<PathBuf> {
    let out = Command::new(root().join("scripts/lightning-venv"))
        .output()
        .expect("run scripts/lightning-venv");
    if !out.status.success() {
        missing(&format!(
            "scripts/lightning-venv could not install lightning ({}): {}",
            out.status,
            text(&out.stderr).trim()
        ));
        return None;
    }
    Some(PathBuf::from(text(&out.stdout).trim()))
}

/// templates/lightning.yaml with the venv's python, Hyperband over 1–2 epochs (η 2: four
/// trials, one promoted from 1 epoch to 2).
fn workflow(py: &Path) -> String {
    let template = std::fs::read_to_string(root().join("templates/lightning.yaml")).unwrap();
    let mut w = template.clone();
    for (from, to) in [
        (
            "command: [python3, lightning_train.py]".to_string(),
            format!("command: [{}, lightning_train.py]", py.display()),
        ),
        ("eta: 3".into(), "eta: 2".into()),
        ("max_epochs: 9".into(), "max_epochs: 2".into()),
    ] {
        assert!(
            w.contains(&from),
            "templates/lightning.yaml has no {from:?}"
        );
        w = w.replace(&from, &to);
    }
    w
}

/// The epochs each trial folder's programs printed, in order (`epochs.log` is append-only:
/// an epoch trained again after a crash or a promotion shows up twice).
fn epochs_printed(runs: &Path) -> Vec<(PathBuf, Vec<u64>)> {
    let mut out = Vec::new();
    for job in std::fs::read_dir(runs).into_iter().flatten().flatten() {
        for trial in std::fs::read_dir(job.path().join("trials"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let log = std::fs::read_to_string(trial.path().join("epochs.log")).unwrap_or_default();
            let epochs = log
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["epoch"].as_u64())
                .collect();
            out.push((trial.path(), epochs));
        }
    }
    out.sort();
    out
}

/// Start `hpflow run`, SIGKILL it once `epochs` epochs have been printed over all trials
/// (so that a trial is training, or between requests); whether the kill landed before the
/// run ended.
fn kill_after_epochs(sb: &Sandbox, epochs: usize) -> bool {
    let mut child = sb.cmd(&["-q", "run", "w.yaml"]).spawn().expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let printed: usize = epochs_printed(&sb.runs())
            .iter()
            .map(|(_, e)| e.len())
            .sum();
        if printed >= epochs || start.elapsed() > Duration::from_secs(300) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    true
}

#[test]
fn the_lightning_template_reports_resumes_and_evaluates() {
    let Some(py) = lightning_python() else {
        return;
    };
    let sb = Sandbox::new();
    std::fs::copy(
        root().join("templates/lightning_train.py"),
        sb.path().join("lightning_train.py"),
    )
    .unwrap();
    sb.write("w.yaml", &workflow(&py));

    // Killed after the first epoch anywhere, then after the third: trials mid-training.
    let kills = [1, 3]
        .into_iter()
        .filter(|&n| kill_after_epochs(&sb, n))
        .count();
    assert!(kills >= 1, "the run finished before it could be killed");
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let job = |stage: &str| {
        run["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["stage"] == stage)
            .unwrap_or_else(|| panic!("no {stage} job in {run}"))
            .clone()
    };
    let search = job("search")["job"].as_str().unwrap().to_string();

    // Every trial ended done, with one row per epoch it reached holding val_accuracy.
    let db = sb.db();
    let trials: Vec<(i64, String, i64, Option<String>)> = db
        .prepare("SELECT trial, state, epochs, reason FROM trials WHERE job = ?1 ORDER BY trial")
        .unwrap()
        .query_map([&search], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(trials.len() >= 4, "Hyperband ran {} trials", trials.len());
    assert!(
        trials.iter().any(|t| t.2 == 2),
        "no trial reached 2 epochs: {trials:?}"
    );
    for (trial, state, epochs, reason) in &trials {
        assert_eq!(state, "done", "trial {trial}: {reason:?}");
        let rows: Vec<(i64, String)> = db
            .prepare("SELECT epoch, metrics_json FROM epochs WHERE job = ?1 AND trial = ?2 ORDER BY epoch")
            .unwrap()
            .query_map(rusqlite::params![&search, trial], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let numbers: Vec<i64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            numbers,
            (1..=*epochs).collect::<Vec<_>>(),
            "trial {trial}'s epochs"
        );
        for (e, m) in &rows {
            let m: serde_json::Value = serde_json::from_str(m).unwrap();
            let acc = m["val_accuracy"].as_f64();
            assert!(
                acc.is_some_and(|a| (0.0..=1.0).contains(&a)) && m["val_loss"].is_number(),
                "trial {trial} epoch {e}: {m}"
            );
        }
    }

    // Resumed, never retrained: each folder's programs printed strictly increasing epochs
    // over the kills and the promotion (1 then 2, not 1, 1, 2).
    let printed = epochs_printed(&sb.runs());
    assert!(!printed.is_empty());
    for (dir, epochs) in &printed {
        assert!(
            epochs.windows(2).all(|w| w[0] < w[1]),
            "{} trained an epoch twice: {epochs:?}",
            dir.display()
        );
    }

    // The evaluate stage ran the retrained model on the test rows once and recorded it.
    let test = &job("evaluate")["outputs"]["metrics"];
    let acc = test["test_accuracy"].as_f64();
    assert!(
        acc.is_some_and(|a| a > 0.5 && a <= 1.0) && test["test_loss"].is_number(),
        "evaluate recorded {test}"
    );
    eprintln!(
        "{kills} kills; {} trials; test metrics {test}",
        trials.len()
    );
}
