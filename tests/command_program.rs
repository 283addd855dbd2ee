//! `model: command` programs that misbehave the way real ones do: one stops itself early in
//! a late rung, one ignores its checkpoint, one reports a diverged loss as Python's `NaN`.

mod common;
use common::*;

/// `tests/programs/quadratic.py` with `edit` applied (a `(from, to)` replacement).
fn program(sb: &Sandbox, edit: (&str, &str)) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/programs/quadratic.py")).unwrap();
    assert!(text.contains(edit.0), "quadratic.py changed: {}", edit.0);
    sb.write("train.py", &text.replace(edit.0, edit.1));
}

fn workflow(strategy: &str) -> String {
    format!(
        "name: cmd
seed: 1
stages:
  search:
    kind: search
    model: command
    command: [python3, train.py, --lr, \"{{lr}}\", --width, \"{{width}}\"]
    space:
      lr: {{loguniform: [1.0e-3, 1.0]}}
      width: {{int: [1, 64], log: true}}
    strategy: {strategy}
    metric: {{name: val_loss, goal: minimize}}
    budget: {{trials: 8}}
    workers: 2
  retrain:
    kind: retrain
    needs: [search]
"
    )
}

const SHA: &str = "{kind: sha, eta: 2, min_epochs: 1, max_epochs: 8}";

fn states(sb: &Sandbox) -> Vec<(u64, String, Option<String>)> {
    let db = sb.db();
    let mut st = db
        .prepare("SELECT trial, state, reason FROM trials ORDER BY trial")
        .unwrap();
    st.query_map([], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Issue 23 item 2: the one trial of SHA's last rung stops itself after 7 of 8 epochs. It was
/// the best at 4 epochs, yet it failed: the selection is the best trial that did not fail.
#[test]
fn a_trial_that_failed_in_a_late_rung_is_never_selected() {
    let sb = Sandbox::new();
    program(
        &sb,
        (
            "while state[\"epoch\"] < target:",
            "if target == 8:\n    target = 7\nwhile state[\"epoch\"] < target:",
        ),
    );
    sb.write("w.yaml", &workflow(SHA));
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let out = &run["jobs"][0]["outputs"];
    let chosen = out["trial"].as_u64().unwrap();
    let all = states(&sb);
    let failed: Vec<u64> = all
        .iter()
        .filter(|(_, s, _)| s == "failed")
        .map(|t| t.0)
        .collect();
    assert_eq!(failed.len(), 1, "{all:?}");
    assert!(
        all[failed[0] as usize]
            .2
            .as_deref()
            .unwrap_or_default()
            .contains("program stopped after epoch 7 of 8"),
        "{all:?}"
    );
    assert_ne!(chosen, failed[0], "the failed trial was selected: {all:?}");
    assert_eq!(all[chosen as usize].1, "done", "{all:?}");
    // The best of the rung below, where the failed trial also stood.
    assert_eq!(out["epochs"], 4, "{out}");
    assert_eq!(out["failed"], 1, "{out}");
}

/// Issue 23 item 3: a program that starts from epoch 1 on every promotion trains 32 epochs
/// where one that resumes trains 20; the count says so, and the run warns once.
#[test]
fn a_program_that_ignores_its_checkpoint_is_counted_and_named() {
    for (resumes, trained) in [(true, 20), (false, 32)] {
        let sb = Sandbox::new();
        if resumes {
            program(&sb, ("", ""));
        } else {
            program(&sb, ("if os.path.exists(state_path):", "if False:"));
        }
        sb.write("w.yaml", &workflow(SHA));
        let out = sb.output(&["run", "w.yaml"]);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        let run = sb.json(&["run", "--json", "w.yaml"]);
        let outputs = &run["jobs"][0]["outputs"];
        assert_eq!(outputs["epochs_trained"], trained, "{outputs}");
        let warned = err.matches("did not resume from its checkpoint").count();
        assert_eq!(warned, usize::from(!resumes), "{err}");
        assert!(
            err.contains(&format!("{trained} epochs trained in all")),
            "{err}"
        );
    }
}

/// Issue 23 item 6: `json.dumps` writes a diverged loss as `NaN`; the trial is diverged (as
/// with the built-in trainers), not a program that stopped after epoch 0.
#[test]
fn a_nan_printed_by_python_is_a_diverged_trial() {
    let sb = Sandbox::new();
    program(
        &sb,
        (
            "    loss = (state[\"w\"] - 1.0) ** 2 + 0.01 * math.log(args.width + 1)\n",
            "    loss = (state[\"w\"] - 1.0) ** 2 + 0.01 * math.log(args.width + 1)\n    \
             if args.lr > 0.05:\n        loss = float(\"nan\") if args.lr > 0.2 else float(\"inf\")\n",
        ),
    );
    sb.write(
        "w.yaml",
        &workflow("{kind: random}\n    params: {epochs: 2}").replace("{trials: 8}", "{trials: 10}"),
    );
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let all = states(&sb);
    let diverged: Vec<&String> = all
        .iter()
        .filter(|(_, s, _)| s == "diverged")
        .filter_map(|t| t.2.as_ref())
        .collect();
    assert!(
        diverged
            .iter()
            .any(|r| r == &"val_loss became NaN in epoch 1")
            && diverged
                .iter()
                .any(|r| r == &"val_loss became inf in epoch 1"),
        "{all:?}"
    );
    assert!(all.iter().all(|(_, s, _)| s != "failed"), "{all:?}");
    let chosen = run["jobs"][0]["outputs"]["trial"].as_u64().unwrap();
    assert_eq!(all[chosen as usize].1, "done");
}
