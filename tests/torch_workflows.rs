//! Real libtorch trials driven through the real binaries: the quickstart end to end with its
//! audit, determinism across worker counts, and a Hyperband search on Fashion-MNIST that
//! survives SIGKILLs of its coordinator; fANOVA on real trials against Optuna.

mod common;
use common::*;

use std::time::Duration;

fn quickstart() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("workflows/quickstart.yaml")).unwrap()
}

#[test]
fn quickstart_runs_end_to_end_and_its_audit_catches_tampering() {
    let sb = Sandbox::new();
    sb.write("quickstart.yaml", &quickstart());
    let out = sb.json(&["run", "--json", "quickstart.yaml"]);
    let eval = out["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "evaluate")
        .unwrap();
    let acc = eval["outputs"]["metrics"]["test_accuracy"]
        .as_f64()
        .unwrap();
    assert!(acc > 0.9, "test accuracy {acc}");
    // The README's sample run is this run: the same selected trial.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let search = out["jobs"][1]["job"].as_str().unwrap();
    let best: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sb.runs().join(&search[..16]).join("best.json")).unwrap(),
    )
    .unwrap();
    let line = format!("best: trial {} with val_accuracy", best["trial"]);
    assert!(
        readme.contains(&line),
        "README.md's sample should say {line:?}"
    );
    let audit = sb.output(&["audit", "quickstart"]);
    assert!(audit.status.success(), "{}", text(&audit.stdout));
    assert!(text(&audit.stdout).contains("1 test-set openings recorded"));

    // A search trial whose request reached the test rows is a finding.
    let search = out["jobs"][1]["job"].as_str().unwrap();
    let req = sb
        .runs()
        .join(&search[..16])
        .join("trials/0000/requests.jsonl");
    let original = std::fs::read_to_string(&req).unwrap();
    let first = original.lines().next().unwrap();
    let mut planted: serde_json::Value = serde_json::from_str(first).unwrap();
    planted["mode"] = serde_json::json!({"mode": "evaluate", "model_dir": "x", "test_rows": [1, 2], "metrics": []});
    std::fs::write(&req, format!("{original}{planted}\n")).unwrap();
    let audit = sb.output(&["audit", "quickstart"]);
    assert_eq!(audit.status.code(), Some(4), "{}", text(&audit.stdout));
    std::fs::write(&req, original).unwrap();

    // A second model evaluated on the same test split: refused before anything runs, run
    // when allowed (an accepted look), a finding once that permission is not on record.
    let edited = quickstart().replace("on: train+val", "on: train+val\n    epochs: 3");
    sb.write("quickstart.yaml", &edited);
    // plan says so first, rather than leaving it to run.
    let plan = sb.ok(&["plan", "quickstart.yaml"]);
    let first_eval = eval["job"].as_str().unwrap();
    assert!(
        plan.contains(&format!(
            "evaluate: would be refused: a second look at the test rows of evaluate {}",
            &first_eval[..16]
        )),
        "{plan}"
    );
    let refused = sb.output(&["-q", "run", "quickstart.yaml"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    sb.ok(&["-q", "run", "quickstart.yaml", "--allow-second-look"]);
    let audit = sb.output(&["audit", "quickstart"]);
    assert!(audit.status.success(), "{}", text(&audit.stdout));
    assert!(text(&audit.stdout).contains("accepted: the test rows of split"));
    sb.db().execute("DELETE FROM second_looks", []).unwrap();
    let audit = sb.output(&["audit", "quickstart"]);
    assert_eq!(audit.status.code(), Some(4));
    assert!(
        text(&audit.stdout).contains("opened by 2 different evaluate jobs"),
        "{}",
        text(&audit.stdout)
    );

    // An altered access log breaks the hash chain.
    sb.db()
        .execute("UPDATE data_access SET job = 'someone-else'", [])
        .unwrap();
    let audit = sb.output(&["audit"]);
    assert_eq!(audit.status.code(), Some(4));
    assert!(
        text(&audit.stdout).contains("altered or out of order"),
        "{}",
        text(&audit.stdout)
    );
}

/// (trial, value, epochs) of every trial of every job.
fn trial_values(sb: &Sandbox) -> Vec<(String, i64, Option<f64>, i64)> {
    let db = sb.db();
    let mut st = db
        .prepare("SELECT job, trial, value, epochs FROM trials ORDER BY job, trial")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn one_or_two_workers_give_the_same_numbers_on_cpu() {
    let mut runs = Vec::new();
    for workers in [1, 2] {
        let sb = Sandbox::new();
        let wf = quickstart()
            .replace("workers: 2", &format!("workers: {workers}"))
            .replace("kind: hyperband", "kind: asha")
            .replace("max_epochs: 9", "max_epochs: 9\n    budget: {trials: 8}");
        sb.write("q.yaml", &wf);
        let out = sb.json(&["run", "--json", "q.yaml"]);
        runs.push((
            trial_values(&sb),
            out["jobs"][3]["outputs"]["metrics"].clone(),
        ));
    }
    assert_eq!(runs[0], runs[1]);
}

const FASHION: &str = "/usr/share/datasets/fashion-mnist";

fn fashion_workflow() -> String {
    format!(
        "name: fashion-faults
seed: 11
data: {{source: idx, path: {FASHION}}}
stages:
  split: {{kind: split, train: 1500, val: 500, test: 500}}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{hidden_layers: 1, batch_size: 64, optimizer: adam}}
    space:
      lr: {{loguniform: [1.0e-4, 1.0e-1]}}
      units: {{int: [16, 128], log: true}}
      dropout: {{uniform: [0.0, 0.5]}}
    strategy: {{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}}
    metric: {{name: val_accuracy, goal: maximize}}
    workers: 2
  retrain: {{kind: retrain, needs: [search], on: train+val}}
  evaluate: {{kind: evaluate, needs: [retrain], metrics: [accuracy, loss]}}
"
    )
}

/// Every epoch trained by the search's trials, repeats included (epochs.log is append-only).
fn epochs_trained(sb: &Sandbox, search_job: &str) -> usize {
    let trials = sb.runs().join(&search_job[..16]).join("trials");
    std::fs::read_dir(trials)
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path().join("epochs.log"))
                .unwrap_or_default()
                .lines()
                .count()
        })
        .sum()
}

#[test]
fn a_fashion_hyperband_search_survives_five_sigkills() {
    if !std::path::Path::new(FASHION).exists() {
        panic!("{FASHION} is missing: scripts/setup installs dataset-fashion-mnist");
    }
    let clean = Sandbox::new();
    clean.write("f.yaml", &fashion_workflow());
    let want = clean.json(&["run", "--json", "f.yaml"]);
    let search = want["jobs"][1]["job"].as_str().unwrap().to_string();
    let clean_epochs = epochs_trained(&clean, &search);

    let sb = Sandbox::new();
    sb.write("f.yaml", &fashion_workflow());
    // Five kill moments drawn once from a fixed seed, so the test is repeatable.
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut kills = 0;
    for _ in 0..5 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = 300 + state % 1200;
        kills += usize::from(sb.kill_after(&["-q", "run", "f.yaml"], Duration::from_millis(delay)));
    }
    let got = sb.json(&["run", "--json", "f.yaml"]);
    assert!(
        kills >= 3,
        "only {kills} kills landed before the run finished"
    );
    assert_eq!(got["jobs"][1]["job"], want["jobs"][1]["job"]);
    let outputs = |v: &serde_json::Value, i: usize| v["jobs"][i]["outputs"].clone();
    assert_eq!(
        outputs(&got, 1)["trial"],
        outputs(&want, 1)["trial"],
        "same best trial"
    );
    assert_eq!(
        outputs(&got, 1)["config"],
        outputs(&want, 1)["config"],
        "same best configuration"
    );
    assert_eq!(
        outputs(&got, 1)["value"],
        outputs(&want, 1)["value"],
        "same best metric"
    );
    assert_eq!(
        outputs(&got, 3)["metrics"],
        outputs(&want, 3)["metrics"],
        "same test metrics"
    );
    assert_eq!(trial_values(&sb), trial_values(&clean));
    // An interruption costs at most the epoch each worker was in.
    let repeated = epochs_trained(&sb, &search) - clean_epochs;
    eprintln!(
        "{kills} interruptions, {repeated} epochs trained twice, {clean_epochs} epochs in the clean run"
    );
    assert!(
        repeated <= kills * 2,
        "{repeated} epochs repeated over {kills} interruptions"
    );
}

#[test]
fn every_model_family_runs_as_a_workflow_on_digits() {
    let families = [
        (
            "mlp",
            "{hidden_layers: 1, units: 64, lr: 0.01, optimizer: adam, epochs: 4}",
        ),
        (
            "cnn",
            "{conv_layers: 1, filters: 8, kernel_size: 3, padding: same, pool: max, pool_size: 2, dense_units: 32, lr: 0.01, optimizer: adam, epochs: 4}",
        ),
        (
            "rnn",
            "{cell: gru, rnn_units: 32, rnn_layers: 1, lr: 0.01, optimizer: adam, epochs: 4}",
        ),
        (
            "transformer",
            "{heads: 2, d_model: 16, ff_dim: 32, encoder_layers: 1, lr: 0.005, optimizer: adam, epochs: 4}",
        ),
    ];
    for (model, params) in families {
        let sb = Sandbox::new();
        sb.write(
            "w.yaml",
            &format!(
                "name: family-{model}
seed: 2
data: {{source: builtin, name: digits}}
stages:
  split: {{kind: split, train: 0.6, val: 0.2, test: 0.2}}
  search:
    kind: search
    needs: [split]
    model: {model}
    params: {params}
    space:
      batch_size: {{choice: [32, 64]}}
    strategy: {{kind: grid}}
    metric: {{name: val_accuracy, goal: maximize}}
    workers: 2
  retrain: {{kind: retrain, needs: [search]}}
  evaluate: {{kind: evaluate, needs: [retrain], metrics: [accuracy, f1_macro, roc_auc]}}
"
            ),
        );
        let out = sb.json(&["run", "--json", "w.yaml"]);
        let acc = out["jobs"][3]["outputs"]["metrics"]["test_accuracy"]
            .as_f64()
            .unwrap();
        assert!(acc > 0.5, "{model}: test accuracy {acc} (chance is 0.1)");
        assert!(
            out["jobs"][3]["outputs"]["metrics"]["test_roc_auc"]
                .as_f64()
                .unwrap()
                > 0.8,
            "{model}"
        );
    }
}

#[test]
fn a_csv_regression_with_groups_runs_end_to_end() {
    let sb = Sandbox::new();
    let mut csv = String::from("patient,a,b,c,target\n");
    let mut s = 17u64;
    for i in 0..400 {
        let mut r = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let (a, b, c) = (r() * 4.0, r() * 4.0, r());
        let y = 2.0 * a - b + 0.1 * c;
        csv.push_str(&format!("p{},{a:.5},{b:.5},{c:.5},{y:.5}\n", i / 4));
    }
    sb.write("data.csv", &csv);
    sb.write(
        "w.yaml",
        "name: csv-regression
seed: 4
data: {source: csv, path: data.csv, task: regression, label: target}
stages:
  split: {kind: split, train: 0.6, val: 0.2, test: 0.2, group: patient}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {hidden_layers: 1, units: 32, optimizer: adam, batch_size: 32, epochs: 30}
    space:
      lr: {loguniform: [1.0e-3, 3.0e-2]}
    strategy: {kind: random}
    budget: {trials: 3}
    metric: {name: val_mse, goal: minimize}
  retrain: {kind: retrain, needs: [search]}
  evaluate: {kind: evaluate, needs: [retrain], metrics: [mse, mae, r2]}
",
    );
    let out = sb.json(&["run", "--json", "w.yaml"]);
    let split = &out["jobs"][0]["outputs"];
    assert_eq!(split["rows"], 400);
    let r2 = out["jobs"][3]["outputs"]["metrics"]["test_r2"]
        .as_f64()
        .unwrap();
    assert!(r2 > 0.8, "test r2 {r2}");
    // No patient's rows are in two splits.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            sb.runs()
                .join(&out["jobs"][0]["job"].as_str().unwrap()[..16])
                .join("manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let groups = |part: &str| -> std::collections::BTreeSet<u64> {
        manifest[part]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap() / 4)
            .collect()
    };
    assert!(groups("train").is_disjoint(&groups("val")));
}

/// `scripts/check-importance --digits`: fANOVA of 100 random MLP trials on the digits (log,
/// integer, choice and conditional parameters) against Optuna's, beside the function searches.
#[test]
fn importance_on_digits_agrees_with_optuna() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-importance");
    let out = std::process::Command::new(script)
        .arg("--digits")
        .env("HPFLOW_BIN", BIN)
        .env_remove("HPFLOW_RUNS_DIR")
        .output()
        .expect("run scripts/check-importance");
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    assert!(report.contains("digits-random: 100 trials"), "{report}");
}

#[test]
fn retrain_over_seeds_reports_mean_and_spread_from_one_look() {
    let sb = Sandbox::new();
    let seeded = quickstart().replace("    on: train+val\n", "    on: train+val\n    seeds: 3\n");
    assert!(seeded.contains("seeds: 3"));
    sb.write("q.yaml", &seeded);
    let run = sb.output(&["-v", "run", "--json", "q.yaml"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    // Each of the three retrains and three evaluations ran on a worker started while the
    // job or model before it trained (`workers::spare`), so none waited for libtorch to load;
    // confined all the same. Under bubblewrap a worker is confined when it starts, so none is
    // started ahead there.
    let eval_job = out["jobs"][3]["job"].as_str().unwrap();
    let status = sb
        .runs()
        .join(&eval_job[..16])
        .join("trials/0002/status.json");
    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
    let confined = status["sandbox"].as_str().unwrap_or_default();
    let ahead = text(&run.stderr)
        .matches("on a worker started ahead")
        .count();
    let want = if confined == "bwrap" { 0 } else { 6 };
    assert_eq!(ahead, want, "sandbox {confined}: {}", text(&run.stderr));
    let eval = &out["jobs"][3]["outputs"];
    let seeds = eval["seeds"].as_array().expect("every seed's test metrics");
    assert_eq!(seeds.len(), 3);
    let accs: Vec<f64> = seeds
        .iter()
        .map(|s| s["test_accuracy"].as_f64().unwrap())
        .collect();
    let mean = accs.iter().sum::<f64>() / 3.0;
    assert!((eval["metrics"]["test_accuracy"].as_f64().unwrap() - mean).abs() < 1e-12);
    let sd = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    assert!((eval["std"]["test_accuracy"].as_f64().unwrap() - sd).abs() < 1e-12);
    assert!(
        accs.iter().any(|a| (a - accs[0]).abs() > 0.0),
        "three seeds, three models: {accs:?}"
    );
    // One planned look: the test rows were opened once for the three models.
    let audit = sb.output(&["audit"]);
    assert!(audit.status.success(), "{}", text(&audit.stdout));
    assert!(text(&audit.stdout).contains("1 test-set openings recorded"));
}
