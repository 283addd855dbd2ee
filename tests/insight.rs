//! What hpflow tells about a finished search, through the real binary: `importance`, and its
//! agreement with an independent fANOVA (Optuna's, installed from PyPI into a cached venv).

mod common;
use common::*;

/// A random Branin search where only x1 and x2 matter and `noise` (a parameter the function
/// trainer ignores) must explain nothing.
fn branin_with_a_dud(trials: usize) -> String {
    function_workflow("imp", "{kind: random}", trials, "").replace(
        "      x2: {uniform: [0.0, 15.0]}\n",
        "      x2: {uniform: [0.0, 15.0]}\n      noise: {choice: [a, b, c]}\n",
    )
}

#[test]
fn importance_ranks_what_the_function_depends_on() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &branin_with_a_dud(80));
    sb.ok(&["run", "-q", "w.yaml"]);
    let out = sb.json(&["importance", "--json", "w.yaml"]);
    let s = &out["searches"][0];
    assert_eq!(s["stage"], "search");
    assert_eq!(s["metric"], "objective");
    assert_eq!(s["trials"], 80);
    let params = s["params"].as_array().unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.last(), Some(&"noise"), "{out}");
    assert!(params[2]["fraction"].as_f64().unwrap() < 0.02, "{out}");
    assert!(params[0]["fraction"].as_f64().unwrap() > 0.1, "{out}");
    assert_eq!(params[2]["scale"], "choice");
    assert_eq!(s["pairs"].as_array().unwrap().len(), 3);
    // Seeded: the same figures every time, by name too.
    assert_eq!(out, sb.json(&["importance", "--json", "imp"]));
    let text = sb.ok(&["importance", "imp"]);
    assert!(text.contains("share of variance"), "{text}");
    assert!(text.contains("x1 × x2"), "{text}");
}

#[test]
fn importance_errors_are_one_line_with_exit_2() {
    let sb = Sandbox::new();
    let out = sb.output(&["importance", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
    sb.write("w.yaml", &branin_with_a_dud(3));
    sb.ok(&["run", "-q", "w.yaml"]);
    let out = sb.output(&["importance", "elsewhere"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("known: imp"), "{err}");
}

#[test]
fn importance_into_a_closed_pipe_does_not_panic() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &branin_with_a_dud(20));
    sb.ok(&["run", "-q", "w.yaml"]);
    let mut child = sb
        .cmd(&["importance", "--json", "imp"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!text(&out.stderr).contains("panicked"), "{out:?}");
}

/// `scripts/check-importance`: Branin, Hartmann6 and a Levy search with log, choice and
/// conditional parameters, each against Optuna's FanovaImportanceEvaluator (shares within
/// 0.05, same top three). Installs Optuna into a cached venv on its first run (PyPI).
#[test]
fn importance_agrees_with_optuna() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-importance");
    let out = std::process::Command::new(script)
        .env("HPFLOW_BIN", BIN)
        .env_remove("HPFLOW_RUNS_DIR")
        .output()
        .expect("run scripts/check-importance");
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    for name in ["branin", "hartmann6", "levy-mixed"] {
        assert!(report.contains(&format!("{name}: ")), "{report}");
    }
}
