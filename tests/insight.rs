//! What hpflow tells about a finished search, and about itself, through the real binary:
//! `importance` (and its agreement with an independent fANOVA: Optuna's, installed from PyPI
//! into a cached venv), shell completions run in a real bash, the man pages through groff.

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

/// Ask the generated bash completion what it offers after `words` (the last one being typed).
fn bash_complete(words: &[&str]) -> Vec<String> {
    let script = format!(
        "source <('{BIN}' completions bash)\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_hpflow hpflow '{}' '{}'\necho \"${{COMPREPLY[@]}}\"",
        words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn bash_completion_offers_the_commands_and_their_values() {
    assert_eq!(bash_complete(&["hpflow", "imp"]), ["importance"]);
    let shells = bash_complete(&["hpflow", "completions", ""]);
    for s in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.contains(&s.to_string()), "{shells:?}");
    }
    let commands = bash_complete(&["hpflow", ""]);
    for c in [
        "run",
        "plan",
        "report",
        "export",
        "importance",
        "man",
        "completions",
    ] {
        assert!(commands.contains(&c.to_string()), "{commands:?}");
    }
    // Hidden, internal commands are not offered.
    assert!(!commands.contains(&"__worker".to_string()), "{commands:?}");
}

#[test]
fn every_shell_gets_a_script_and_a_wrong_one_is_exit_2() {
    let sb = Sandbox::new();
    for s in ["zsh", "fish", "elvish", "powershell"] {
        let script = sb.ok(&["completions", s]);
        assert!(script.contains("importance"), "{s}: {script}");
    }
    assert_eq!(sb.output(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn the_man_page_renders_and_names_every_command() {
    let sb = Sandbox::new();
    let page = sb.ok(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH hpflow 1"),
        "{page}"
    );
    // Rendered by groff as `man` would, when it is installed.
    let rendered = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{BIN}' man | groff -man -Tutf8 -P -cbou 2>&1"))
        .output();
    if let Some(out) = rendered
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty())
    {
        let text = text(&out.stdout);
        for c in ["importance", "completions", "report", "export"] {
            assert!(text.contains(c), "{c} missing from\n{text}");
        }
        assert!(!text.contains("warning"), "{text}");
    }
    sb.ok(&["man", "--dir", "pages"]);
    let pages: Vec<String> = std::fs::read_dir(sb.path().join("pages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for p in [
        "hpflow.1",
        "hpflow-run.1",
        "hpflow-importance.1",
        "hpflow-man.1",
    ] {
        assert!(pages.contains(&p.to_string()), "{pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("worker")), "{pages:?}");
    let run = std::fs::read_to_string(sb.path().join("pages/hpflow-run.1")).unwrap();
    assert!(
        run.contains(".TH hpflow\\-run 1") || run.contains("hpflow-run"),
        "{run}"
    );
}

/// A `narrow:` search is analysed (and charted) in the space it derived, not the wide one.
#[test]
fn a_narrowed_search_is_analysed_in_its_narrowed_space() {
    let sb = Sandbox::new();
    let wide = function_workflow("wn", "{kind: random}", 16, "");
    let (head, tail) = wide.split_once("  retrain:").unwrap();
    let narrow = "  narrow:
    kind: search
    needs: [search]
    model: function
    function: branin
    narrow: {from: search, top: 0.25}
    strategy: {kind: random}
    metric: {name: objective, goal: minimize}
    budget: {trials: 12}
";
    let wf = format!(
        "{head}{narrow}  retrain:{}",
        tail.replace("needs: [search]", "needs: [narrow]")
    );
    sb.write("w.yaml", &wf);
    sb.ok(&["run", "-q", "w.yaml"]);
    let out = sb.json(&["importance", "--json", "wn"]);
    assert_eq!(out["searches"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(out["searches"][1]["stage"], "narrow");

    let layout = hpflow::store::Layout::new(sb.runs());
    let db = hpflow::store::Db::open_read(&layout.db()).unwrap().unwrap();
    let jobs = db.workflow_jobs("wn").unwrap();
    let job = &jobs.iter().find(|(s, _)| s == "narrow").unwrap().1;
    let seen = hpflow::importance::job::searched(&db, &layout, job)
        .unwrap()
        .unwrap();
    let narrowed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.narrowed(job)).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&seen.space).unwrap(),
        narrowed["space"]
    );
    let wide =
        serde_json::to_value(&db.job_key(&jobs[0].1).unwrap().unwrap()["config"]["space"]).unwrap();
    assert_ne!(serde_json::to_value(&seen.space).unwrap(), wide);
}
