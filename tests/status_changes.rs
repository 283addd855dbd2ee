//! `hpflow status WORKFLOW.yaml` after its data or settings changed: the last run's results
//! stay in view, with which stages the file now plans anew and why.

mod common;
use common::{Sandbox, text};

const WF: &str = "name: st
seed: 1
data:
  source: csv
  path: r.csv
  label: y
  task: classification
stages:
  split: {kind: split, train: 0.6, val: 0.2, test: 0.2}
  search:
    kind: search
    needs: [split]
    model: function
    function: branin
    space:
      x1: {uniform: [-5.0, 10.0]}
      x2: {uniform: [0.0, 15.0]}
    strategy: {kind: random}
    metric: {name: objective, goal: minimize}
    budget: {trials: 4}
";

fn rows(n: usize) -> String {
    let mut s = "a,b,y\n".to_string();
    for i in 0..n {
        let (a, b) = ((i * 37 % 100) as f64 / 100.0, (i * 61 % 100) as f64 / 100.0);
        s.push_str(&format!("{a},{b},{}\n", u8::from(a + b > 1.0)));
    }
    s
}

#[test]
fn status_after_a_data_edit_shows_the_last_results_and_why_jobs_are_new() {
    let sb = Sandbox::new();
    sb.write("r.csv", &rows(200));
    sb.write("w.yaml", WF);
    sb.ok(&["-q", "run", "w.yaml"]);
    let before = sb.ok(&["status", "w.yaml"]);
    assert!(!before.contains("now plans"), "{before}");

    sb.write("r.csv", &rows(201));
    let out = sb.output(&["status", "w.yaml"]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !shown
            .lines()
            .any(|l| l.starts_with("s") && l.contains("not run")),
        "the last results stay: {shown}"
    );
    assert!(shown.contains("best objective"), "{shown}");
    assert!(
        shown.contains("now plans new jobs")
            && shown.contains("split ")
            && shown.contains("the data's content changed (r.csv)")
            && shown.contains("it follows split anew"),
        "{shown}"
    );
    let json = sb.json(&["status", "--json", "w.yaml"])[0].clone();
    assert_eq!(json["jobs"][1]["status"], "done", "{json}");
    let new = json["plans_new"].as_array().expect("plans_new");
    assert_eq!(new.len(), 2, "{json}");
    assert!(new[0]["why"].as_str().unwrap().contains("r.csv"));

    // A settings change names the setting; after the run, nothing is new.
    sb.write("w.yaml", &WF.replace("trials: 4", "trials: 5"));
    let shown = sb.ok(&["status", "w.yaml"]);
    assert!(shown.contains("budget.trials 4 → 5"), "{shown}");
    sb.ok(&["-q", "run", "w.yaml"]);
    let shown = sb.ok(&["status", "w.yaml"]);
    assert!(
        !shown.contains("now plans") && shown.contains("5 done"),
        "{shown}"
    );
}
