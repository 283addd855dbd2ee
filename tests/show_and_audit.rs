//! What `show` and `audit` tell a user (issue 23 item 16): a k-fold trial's spread and fold
//! values, and a second look the user allowed shown as `accepted`, not `ok`.

mod common;
use common::*;

/// `show JOB/T` of a k-fold search names the metric's spread over the folds and each fold's
/// value, which the trial's metrics hold.
#[test]
fn show_of_a_k_fold_trial_lists_the_spread_and_each_fold() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
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
    folds: 3
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {units: 16, hidden_layers: 1, batch_size: 64, epochs: 1}
    space:
      lr: {loguniform: [1.0e-3, 1.0e-1]}
    strategy: {kind: random}
    metric: {name: val_accuracy, goal: maximize}
    budget: {trials: 1}
",
    );
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let search = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "search")
        .unwrap()["job"]
        .as_str()
        .unwrap()
        .to_string();
    let show = sb.ok(&["show", &format!("{}/0", &search[..12])]);
    let line = show
        .lines()
        .find(|l| l.starts_with("folds"))
        .unwrap_or_else(|| panic!("no folds line:\n{show}"));
    assert!(line.contains("val_accuracy_std"), "{line}");
    for f in 0..3 {
        assert!(line.contains(&format!("fold {f}: 0.")), "{line}");
    }
    assert!(!line.contains("fold 3"), "{line}");
}

/// 240 rows of a 3-class problem a small MLP learns in an epoch or two.
fn rows_csv() -> String {
    let mut text = String::from("a,b,label\n");
    for i in 0..240 {
        let k = i % 3;
        let x = |j: usize| ((i * 7 + j * 13) % 17) as f64 / 17.0 + 0.5 * k as f64 + i as f64 * 1e-3;
        text.push_str(&format!(
            "{:.4},{:.4},{}\n",
            x(0),
            -x(1),
            ["x", "y", "z"][k]
        ));
    }
    text
}

fn csv_workflow(lr: f64) -> String {
    format!(
        "name: look
seed: 1
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
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{epochs: 1, units: 8, hidden_layers: 1, lr: {lr}}}
    space:
      batch_size: {{choice: [16, 32]}}
    strategy: {{kind: grid}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: 2}}
  retrain:
    kind: retrain
    needs: [search]
  evaluate:
    kind: evaluate
    needs: [retrain]
"
    )
}

/// A second evaluation of the same test split, allowed: the audit passes, and the check that
/// found it says `accepted` where a clean check says `ok`.
#[test]
fn an_allowed_second_look_is_accepted_not_ok() {
    let sb = Sandbox::new();
    sb.write("rows.csv", &rows_csv());
    sb.write("w.yaml", &csv_workflow(0.01));
    sb.ok(&["-q", "run", "w.yaml"]);
    // Another search, the same split: its evaluation looks at the same test rows.
    sb.write("w.yaml", &csv_workflow(0.02));
    sb.ok(&["-q", "run", "w.yaml", "--allow-second-look"]);
    let audit = sb.ok(&["audit"]);
    let line = |check: &str| {
        audit
            .lines()
            .find(|l| l.ends_with(check))
            .unwrap_or_else(|| panic!("no {check:?}:\n{audit}"))
            .to_string()
    };
    let split = line("each test split was looked at by one evaluation");
    assert!(split.starts_with("accepted "), "{audit}");
    assert!(
        line("access log hash chain intact").starts_with("ok "),
        "{audit}"
    );
    assert!(
        audit.contains("accepted: the test rows of split"),
        "{audit}"
    );
    let json = sb.json(&["audit", "--json"]);
    let statuses: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"accepted") && !statuses.contains(&"fail"),
        "{json}"
    );
    // The report's audit table too.
    sb.ok(&["report", "look", "-o", "page.html"]);
    let html = std::fs::read_to_string(sb.path().join("page.html")).unwrap();
    assert!(
        html.contains(">accepted</span>"),
        "the report's audit table"
    );
}
