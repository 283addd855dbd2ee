//! k-fold cross-validation end to end on the built-in digits: every trial trains one model
//! per fold, its value is the mean of its fold values, and the decisions are the same with 1
//! worker or 2 and after SIGKILL and resume.

mod common;
use common::*;

fn workflow(workers: usize) -> String {
    format!(
        "name: kfold
seed: 5
data:
  source: builtin
  name: digits
  task: classification
stages:
  split:
    kind: split
    train: 0.8
    test: 0.2
    folds: 5
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{units: 16, hidden_layers: 1, batch_size: 64}}
    space:
      lr: {{loguniform: [1.0e-3, 1.0e-1]}}
    strategy: {{kind: sha, eta: 2, min_epochs: 1, max_epochs: 2}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: 4}}
    workers: {workers}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
"
    )
}

/// (trial, item, epochs, value) of every item, and each trial's metrics.
fn records(sb: &Sandbox) -> (Vec<(i64, i64, i64, Option<f64>)>, Vec<(i64, String)>) {
    let db = sb.db();
    let items = db
        .prepare("SELECT trial, item, epochs, value FROM items ORDER BY item")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let trials = db
        .prepare("SELECT trial, metrics_json FROM trials ORDER BY trial")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (items, trials)
}

#[test]
fn a_trials_value_is_the_mean_of_its_folds_whatever_the_workers() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &workflow(1));
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let (items, trials) = records(&sb);
    assert_eq!(trials.len(), 4);
    for (t, metrics) in &trials {
        let m: serde_json::Value = serde_json::from_str(metrics).unwrap();
        let folds: Vec<f64> = (0..5)
            .map(|f| m[format!("val_accuracy_fold{f}")].as_f64().unwrap())
            .collect();
        let mean = folds.iter().sum::<f64>() / 5.0;
        assert!(
            (m["val_accuracy"].as_f64().unwrap() - mean).abs() < 1e-12,
            "trial {t}: {m}"
        );
        assert!(m["val_accuracy_std"].as_f64().unwrap() >= 0.0);
        // The item's value (minimised) is that mean.
        let last = items.iter().rev().find(|i| i.0 == *t).unwrap();
        assert!((last.3.unwrap() + mean).abs() < 1e-12, "trial {t}");
        // Each fold trained its own model, in its own folder.
        let search = run["jobs"][1]["job"].as_str().unwrap();
        for f in 0..5 {
            let dir = sb
                .runs()
                .join(&search[..16])
                .join(format!("trials/{t:04}/fold-{f}/checkpoints"));
            assert!(dir.is_dir(), "{}", dir.display());
        }
    }
    // Retrain on every non-test row; the evaluation is clean.
    assert_eq!(run["jobs"][2]["outputs"]["on"], "train+val");
    assert!(
        run["jobs"][3]["outputs"]["metrics"]["test_accuracy"]
            .as_f64()
            .unwrap()
            > 0.5
    );
    sb.ok(&["audit"]);
    // Two workers: the same items and values.
    let two = Sandbox::new();
    two.write("w.yaml", &workflow(2));
    let started = std::time::Instant::now();
    two.ok(&["-q", "run", "w.yaml"]);
    let whole = started.elapsed();
    assert_eq!(records(&two), records(&sb));
    // Killed mid-search, then resumed: the same again. The kills come at shares of the time
    // the whole run took here, so that a faster machine or build still kills it mid-way.
    let killed = Sandbox::new();
    killed.write("w.yaml", &workflow(2));
    let mut kills = 0;
    for share in [0.4, 0.3] {
        kills += usize::from(killed.kill_after(&["-q", "run", "w.yaml"], whole.mul_f64(share)));
    }
    killed.ok(&["-q", "run", "w.yaml"]);
    assert!(kills >= 1, "the run ended before it could be killed");
    assert_eq!(records(&killed), records(&sb));
}
