//! Wide, then narrow (`narrow: {from, top, seed_best}`) against the real binary.

mod common;
use common::*;

const WORKFLOW: &str = "name: wn
seed: 5
stages:
  wide:
    kind: search
    model: function
    function: branin
    space:
      x1: {uniform: [-5.0, 10.0]}
      x2: {uniform: [0.0, 15.0]}
    strategy: {kind: random}
    budget: {trials: 16}
  narrow:
    kind: search
    needs: [wide]
    model: function
    function: branin
    narrow: {from: wide, top: 0.25, seed_best: 2}
    strategy: {kind: random}
    budget: {trials: 8}
  retrain: {kind: retrain, needs: [narrow]}
  evaluate: {kind: evaluate, needs: [retrain]}
";

fn trials(sb: &Sandbox, job: &str) -> Vec<serde_json::Value> {
    sb.json(&["show", "--json", job])["trials"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_narrowed_search_searches_inside_the_best_trials_of_the_wide_one() {
    let sb = Sandbox::new();
    sb.write("w.yaml", WORKFLOW);
    let before = sb.ok(&["plan", "w.yaml"]);
    assert!(
        before.contains("space narrowed from wide once that search is done (top 0.25)"),
        "{before}"
    );
    sb.ok(&["-q", "run", "w.yaml"]);
    let plan = sb.json(&["plan", "--json", "w.yaml"]);
    let jobs = plan["jobs"].as_array().unwrap();
    let (wide, narrow) = (&jobs[0], &jobs[1]);
    assert_eq!(
        narrow["key"]["upstream"],
        // The wide search's id with its budget: a grown wide search narrows anew.
        serde_json::json!([wide["output"]]),
        "reruns when wide changes"
    );
    let derived = &narrow["narrowed"];
    assert_eq!(
        (derived["ranked"].as_u64(), derived["used"].as_u64()),
        (Some(16), Some(4))
    );
    // The four best wide trials (lowest Branin) bound each range.
    let mut wide_trials = trials(&sb, wide["id"].as_str().unwrap());
    wide_trials.sort_by(|a, b| {
        a["value"]
            .as_f64()
            .unwrap()
            .total_cmp(&b["value"].as_f64().unwrap())
    });
    let best4 = &wide_trials[..4];
    for (i, name) in ["x1", "x2"].iter().enumerate() {
        let range = &derived["space"]["params"][i]["dist"]["uniform"];
        let (lo, hi) = (
            range["low"].as_f64().unwrap(),
            range["high"].as_f64().unwrap(),
        );
        let xs: Vec<f64> = best4
            .iter()
            .map(|t| t["config"][name].as_f64().unwrap())
            .collect();
        let (min, max) = xs
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(lo <= min && max <= hi, "{name}: [{lo}, {hi}] holds {xs:?}");
        for t in trials(&sb, narrow["id"].as_str().unwrap()) {
            let x = t["config"][name].as_f64().unwrap();
            assert!(lo <= x && x <= hi, "{name} = {x} outside [{lo}, {hi}]");
        }
    }
    // seed_best: 2: the narrowed search starts from the wide one's two best configurations.
    let narrow_trials = trials(&sb, narrow["id"].as_str().unwrap());
    assert_eq!(narrow_trials[0]["config"], best4[0]["config"]);
    assert_eq!(narrow_trials[1]["config"], best4[1]["config"]);
    let text = sb.ok(&["plan", "w.yaml"]);
    assert!(
        text.contains("narrow: space narrowed from wide (the best 4 of 16 trials): x1 uniform ["),
        "{text}"
    );
}

#[test]
fn narrow_is_checked_when_the_workflow_is_read() {
    let sb = Sandbox::new();
    for (edit, want) in [
        (
            ("needs: [wide]", "needs: []"),
            "stages.narrow.narrow.from: \"wide\" must be in this stage's needs (it runs first)",
        ),
        (
            ("from: wide,", "from: nope,"),
            "stages.narrow.narrow.from: names no search stage: \"nope\"",
        ),
        (
            ("top: 0.25", "top: 1.5"),
            "stages.narrow.narrow.top: a fraction of the upstream's trials, in (0, 1], got 1.5",
        ),
        (
            (
                "function: branin\n    narrow:",
                "function: levy\n    narrow:",
            ),
            "stages.narrow.narrow.from: \"wide\" trains another model; narrow needs the same one",
        ),
    ] {
        sb.write("w.yaml", &WORKFLOW.replace(edit.0, edit.1));
        let out = sb.output(&["plan", "w.yaml"]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(err.trim_end().ends_with(want), "{err}");
    }
}

#[test]
fn a_narrowed_command_search_keeps_its_placeholders_and_its_seeds_inside_the_space() {
    let sb = Sandbox::new();
    sb.write(
        "p.py",
        "import json, os, sys\nx = float(sys.argv[1])\nfor e in range(1, int(os.environ['HPFLOW_EPOCHS']) + 1):\n    print(json.dumps({'epoch': e, 'val_loss': (x - 0.3) ** 2}))\n",
    );
    sb.write(
        "w.yaml",
        "name: wc\nseed: 2\nstages:\n  wide:\n    kind: search\n    model: command\n    command: [python3, p.py, \"{x}\"]\n    space:\n      x: {uniform: [0, 1]}\n    strategy: {kind: random}\n    params: {epochs: 1}\n    budget: {trials: 10}\n  narrow:\n    kind: search\n    needs: [wide]\n    model: command\n    command: [python3, p.py, \"{x}\"]\n    narrow: {from: wide, top: 0.1, seed_best: 4}\n    strategy: {kind: random}\n    params: {epochs: 1}\n    budget: {trials: 6}\n",
    );
    sb.ok(&["-q", "run", "w.yaml"]);
    let plan = sb.json(&["plan", "--json", "w.yaml"]);
    let derived = &plan["jobs"][1]["narrowed"];
    // seed_best (4) is more than the top tenth (1 trial): the four seeds bound the space.
    assert_eq!(derived["used"], 4, "{derived}");
    let range = &derived["space"]["params"][0]["dist"]["uniform"];
    let (lo, hi) = (
        range["low"].as_f64().unwrap(),
        range["high"].as_f64().unwrap(),
    );
    for t in sb.json(&["show", "--json", plan["jobs"][1]["id"].as_str().unwrap()])["trials"]
        .as_array()
        .unwrap()
    {
        let x = t["config"]["x"].as_f64().unwrap();
        assert!(lo <= x && x <= hi, "x = {x} outside [{lo}, {hi}]");
    }
}
