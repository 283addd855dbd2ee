//! What a new user met in their first two hours (issue 14), each reproduced against the real
//! binary: signs in `show`, a live trial, stale status after SIGKILL, `gc`, closed pipes,
//! partial failure, `command` programs, time-only budgets, default test metrics, one `runs/`
//! per project, and wording.

mod common;
use common::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A `command` search whose trials print one metrics line per epoch; `script` is the body.
fn command_search(
    name: &str,
    script_name: &str,
    space: &str,
    strategy: &str,
    extra: &str,
) -> String {
    format!(
        "name: {name}
seed: 1
stages:
  search:
    kind: search
    model: command
    command: [python3, {script_name}, \"{{mode}}\"]
    space:
{space}
    strategy: {strategy}
    metric: {{name: val_accuracy, goal: maximize}}
{extra}
  retrain:
    kind: retrain
    needs: search
"
    )
}

/// Prints `epochs` metrics lines (HPFLOW_EPOCHS), `val_accuracy` rising; fails when its
/// argument is `bad`; sleeps `HPFLOW_TEST_SLEEP` seconds per epoch.
const PROGRAM: &str = r#"
import json, os, sys, time
if sys.argv[1] == "bad":
    sys.stderr.write("bad configuration\n")
    sys.exit(3)
print("loading data...", flush=True)
open("data.txt").read()  # beside the workflow: programs run in its folder
for e in range(1, int(os.environ["HPFLOW_EPOCHS"]) + 1):
    time.sleep(float(os.environ.get("HPFLOW_TEST_SLEEP", "0")))
    print(json.dumps({"epoch": e, "val_accuracy": 0.5 + 0.01 * e}), flush=True)
"#;

fn program_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("prog.py", PROGRAM);
    sb.write("data.txt", "rows\n");
    sb
}

fn job_of(sb: &Sandbox, workflow: &str, stage: &str) -> String {
    let plan = sb.json(&["plan", "--json", workflow]);
    plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == stage)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn show_prints_a_maximised_metric_with_its_own_sign() {
    let sb = Sandbox::new();
    let wf = function_workflow(
        "signs",
        "{kind: sha, eta: 2, min_epochs: 1, max_epochs: 4}",
        8,
        "",
    )
    .replace("goal: minimize", "goal: maximize");
    sb.write("w.yaml", &wf);
    sb.ok(&["-q", "run", "w.yaml"]);
    let job = job_of(&sb, "w.yaml", "search");
    let shown = sb.json(&["show", "--json", &job]);
    for t in shown["trials"].as_array().unwrap() {
        // Branin is positive everywhere; maximised, its objective is stored negated.
        let v = t["value"].as_f64().unwrap();
        assert_eq!(v, t["metrics"]["objective"].as_f64().unwrap(), "{t}");
        assert!(v > 0.0);
    }
    let reasons: Vec<&str> = shown["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["item"]["reason"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("promoted")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().all(|r| !r.contains("objective -")),
        "{reasons:?}"
    );
    let table = sb.ok(&["show", &job]);
    assert!(table.contains("objective"), "{table}");
    assert!(
        !table.contains(" -"),
        "no negated value in the table:\n{table}"
    );
}

#[test]
fn a_running_trial_is_visible_and_a_killed_run_is_not_called_running() {
    let sb = program_sandbox();
    let wf = command_search(
        "live",
        "prog.py",
        "      mode: {choice: [ok]}",
        "{kind: random}",
        "    params: {epochs: 30}\n    budget: {trials: 1}",
    );
    sb.write("w.yaml", &wf);
    let job = job_of(&sb, "w.yaml", "search");
    let mut run = sb.cmd(&["-q", "run", "w.yaml"]);
    run.env("HPFLOW_TEST_SLEEP", "0.3");
    let mut child = run.spawn().unwrap();
    let metrics = sb.runs().join(&job[..16]).join("trials/0000/metrics.jsonl");
    let started = Instant::now();
    while std::fs::read_to_string(&metrics).map_or(0, |t| t.lines().count()) < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "no epochs");
        std::thread::sleep(Duration::from_millis(100));
    }
    let trial = sb.ok(&["show", &format!("{job}/0")]);
    assert!(trial.contains("so far (from the trial folder"), "{trial}");
    assert!(
        trial.contains("\n1  "),
        "the epoch table has rows:\n{trial}"
    );
    let status = sb.ok(&["status", "live"]);
    assert!(status.contains("trial 0 running, epoch"), "{status}");
    // SIGKILL: nothing is running any more, whatever the database last said.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let status = sb.json(&["status", "--json", "live"])[0].clone();
    let search = &status["jobs"][0];
    assert_eq!(search["status"], "interrupted", "{status}");
    assert!(search["trials"].get("running").is_none(), "{status}");
    assert_eq!(search["trials"]["interrupted"], 1, "{status}");
    // `--follow` ends by itself when no run is working.
    let started = Instant::now();
    let out = sb.output(&["status", "--follow", "live"]);
    assert!(out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(text(&out.stdout).contains("no hpflow run is working"));
}

#[test]
fn gc_names_what_it_removes_and_keeps_what_a_workflow_file_describes() {
    let sb = Sandbox::new();
    // Nothing has run: gc creates nothing.
    let out = sb.ok(&["gc", "--dry-run"]);
    assert!(out.contains("nothing to collect"), "{out}");
    assert!(!sb.runs().exists());
    // Two files, one name: the second run replaces the name's jobs, not the first file.
    sb.write(
        "a.yaml",
        &function_workflow("same", "{kind: random}", 3, ""),
    );
    sb.write(
        "b.yaml",
        &function_workflow("same", "{kind: random}", 3, "").replace("seed: 3", "seed: 4"),
    );
    sb.ok(&["-q", "run", "a.yaml"]);
    sb.ok(&["-q", "run", "b.yaml"]);
    let a_search = job_of(&sb, "a.yaml", "search");
    let dry = sb.ok(&["gc", "--dry-run"]);
    assert!(
        !dry.contains("would remove job"),
        "a.yaml still plans its jobs:\n{dry}"
    );
    assert!(sb.runs().join(&a_search[..16]).exists());
    std::fs::remove_file(sb.path().join("a.yaml")).unwrap();
    let dry = sb.ok(&["gc", "--dry-run"]);
    let line = dry
        .lines()
        .find(|l| l.contains(&a_search[..16]))
        .unwrap_or_else(|| panic!("a.yaml's search is named:\n{dry}"));
    assert!(
        line.starts_with("would remove job") && line.contains("search"),
        "{line}"
    );
    assert!(line.contains(&sb.runs().join(&a_search[..16]).display().to_string()));
    assert!(
        sb.runs().join(&a_search[..16]).exists(),
        "a dry run removes nothing"
    );
    sb.ok(&["gc"]);
    assert!(!sb.runs().join(&a_search[..16]).exists());
    let b_search = job_of(&sb, "b.yaml", "search");
    assert!(sb.runs().join(&b_search[..16]).exists());
}

#[test]
fn a_closed_pipe_ends_commands_quietly() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("pipe", "{kind: random}", 30, ""),
    );
    let job = job_of(&sb, "w.yaml", "search");
    // `run` with nobody reading: it does its work and ends without a panic.
    for args in [
        vec!["run", "w.yaml"],
        vec!["plan", "--json", "w.yaml"],
        vec!["show", job.as_str()],
        vec!["export", "pipe", "--format", "csv"],
    ] {
        let mut child = sb
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once, as `| head -0` would
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}");
    }
    assert!(
        sb.ok(&["status", "pipe"]).contains("done"),
        "the run finished"
    );
}

#[test]
fn a_partly_failed_search_says_so_and_too_many_failures_stop_before_the_test_set() {
    let sb = program_sandbox();
    let space = "      mode: {choice: [ok, bad]}\n      x: {choice: [1, 2, 3]}";
    let wf = |extra: &str| {
        command_search(
            "partial",
            "prog.py",
            space,
            "{kind: grid}",
            &format!("    params: {{epochs: 2}}\n{extra}"),
        )
    };
    sb.write("w.yaml", &wf("    max_failed: 0.4"));
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("3 of 6 trials failed, more than max_failed (0.4)")
            && err.contains("bad configuration"),
        "{err}"
    );
    let status = sb.json(&["status", "--json", "partial"])[0].clone();
    assert_eq!(status["jobs"][1]["status"], "not run", "{status}");
    assert_eq!(
        sb.json(&["audit", "--json"])["accesses"],
        serde_json::json!([])
    );
    let human = sb.ok(&["status", "partial"]);
    assert!(
        human.contains("search: 3 failed (exit status: 3; stderr: bad configuration)"),
        "{human}"
    );
    // Half may fail by default: the search is cached, the rest runs, the summary counts them.
    sb.write("w.yaml", &wf(""));
    let out = sb.ok(&["run", "w.yaml"]);
    assert!(out.contains("3 of 6 trials failed"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("search") && l.contains("cached")),
        "{out}"
    );
}

#[test]
fn command_programs_run_in_the_workflow_folder_and_may_print_their_own_lines() {
    let sb = program_sandbox();
    let wf = command_search(
        "chatty",
        "prog.py",
        "      mode: {choice: [ok]}",
        "{kind: random}",
        "    params: {epochs: 2}\n    budget: {trials: 1}",
    );
    sb.write("w.yaml", &wf);
    sb.ok(&["-q", "run", "w.yaml"]);
    let job = job_of(&sb, "w.yaml", "search");
    let trial = sb.json(&["show", "--json", &format!("{job}/0")]);
    assert_eq!(trial["trial"]["state"], "done", "{trial}");
    let log = sb.runs().join(&job[..16]).join("trials/0000/stdout.log");
    assert_eq!(std::fs::read_to_string(log).unwrap(), "loading data...\n");
}

#[test]
fn a_time_budget_alone_keeps_proposing_until_the_time_is_spent() {
    let sb = Sandbox::new();
    let wf = function_workflow("timed", "{kind: random}", 1, "")
        .replace("budget: {trials: 1}", "budget: {time: 3s}");
    sb.write("w.yaml", &wf);
    let plan = sb.ok(&["plan", "w.yaml"]);
    assert!(
        plan.contains("new trials until 3s of time are spent"),
        "{plan}"
    );
    let started = Instant::now();
    let out = sb.output(&["run", "w.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(started.elapsed() >= Duration::from_secs(3));
    // The search ended because its time was spent, not because trials ran out.
    assert!(
        text(&out.stderr).contains("time budget reached"),
        "{}",
        text(&out.stderr)
    );
    let status = sb.json(&["status", "--json", "timed"])[0].clone();
    let done = status["jobs"][0]["trials"]["done"].as_u64().unwrap();
    assert!(done > 20, "more than the default 20 trials: {done}");
}

#[test]
fn evaluation_defaults_to_the_selected_metric_and_the_tasks_usual_ones() {
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let quick = std::fs::read_to_string(root.join("workflows/quickstart.yaml")).unwrap();
    let eval = |text: &str| {
        sb.write("q.yaml", text);
        let plan = sb.json(&["plan", "--json", "q.yaml"]);
        plan["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["kind"] == "evaluate")
            .unwrap()
            .clone()
    };
    let explicit = eval(&quick);
    assert!(quick.contains("    metrics: [accuracy, f1_macro, loss]\n"));
    let default = eval(&quick.replace("    metrics: [accuracy, f1_macro, loss]\n", ""));
    // Selected on val_accuracy: accuracy first, then the usual classification metrics.
    assert_eq!(
        default["key"]["config"]["metrics"],
        serde_json::json!(["accuracy", "f1_macro", "loss"])
    );
    assert_eq!(
        default["id"], explicit["id"],
        "the same evaluation, the same job"
    );
    // Regression, selected on val_mae.
    let mut rows = String::from("a,b,y\n");
    for i in 0..40 {
        rows.push_str(&format!("{i},{},{}\n", i % 7, i as f64 * 0.5));
    }
    sb.write("r.csv", &rows);
    let regression = quick
        .replace("    metrics: [accuracy, f1_macro, loss]\n", "")
        .replace("source: builtin", "source: csv\n  path: r.csv\n  label: y")
        .replace(
            "  name: digits\n  task: classification",
            "  task: regression",
        )
        .replace("stratify: true", "stratify: false")
        .replace("val_accuracy, goal: maximize", "val_mae, goal: minimize");
    assert_eq!(
        eval(&regression)["key"]["config"]["metrics"],
        serde_json::json!(["mae", "mse", "r2", "loss"])
    );
}

#[test]
fn one_project_has_one_runs_folder_whichever_folder_hpflow_starts_in() {
    let sb = Sandbox::new();
    let bare = |dir: &std::path::Path, args: &[&str]| {
        let out = Command::new(BIN)
            .current_dir(dir)
            .env_remove("HPFLOW_RUNS_DIR")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    bare(sb.path(), &["init", "--template", "function", "proj"]);
    bare(sb.path(), &["-q", "run", "proj/workflow.yaml"]);
    assert!(sb.path().join("proj/runs/hpflow.db").exists());
    assert!(
        !sb.path().join("runs").exists(),
        "nothing beside the project"
    );
    let inside = bare(&sb.path().join("proj"), &["run", "workflow.yaml"]);
    assert!(
        inside.lines().filter(|l| l.contains("cached")).count() >= 1,
        "{inside}"
    );
    assert!(!sb.path().join("proj/proj").exists());
    // Another tool's `runs/` further up is not hpflow's: a workflow below it keeps its own.
    std::fs::create_dir_all(sb.path().join("outer/runs")).unwrap();
    std::fs::write(sb.path().join("outer/runs/their-log.txt"), "not ours").unwrap();
    std::fs::create_dir_all(sb.path().join("outer/p")).unwrap();
    std::fs::copy(
        sb.path().join("proj/workflow.yaml"),
        sb.path().join("outer/p/w.yaml"),
    )
    .unwrap();
    bare(&sb.path().join("outer/p"), &["-q", "run", "w.yaml"]);
    assert!(sb.path().join("outer/p/runs/hpflow.db").exists());
    assert!(!sb.path().join("outer/runs/hpflow.db").exists());
}

#[test]
fn wording_one_epoch_stage_names_quiet_audit_fixed_params_and_stdout_report() {
    let sb = Sandbox::new();
    let wf = function_workflow("words", "{kind: random}", 2, "    params: {epochs: 1}")
        .replace("needs: [search]", "needs: search")
        + "  evaluate2:\n    kind: evaluate\n    needs: [retrain]\n    metrics: [loss, accuracy]\n";
    sb.write("w.yaml", &wf);
    let out = sb.output(&["run", "w.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("after 1 epoch (") && !err.contains("1 epochs"),
        "{err}"
    );
    let summary = text(&out.stdout);
    assert!(
        summary.contains("test metrics (evaluate):")
            && summary.contains("test metrics (evaluate2):"),
        "{summary}"
    );
    assert_eq!(sb.ok(&["-q", "audit"]), "");
    let csv = sb.ok(&["export", "words", "--format", "csv"]);
    assert!(
        csv.lines().next().unwrap().contains("param_epochs"),
        "{csv}"
    );
    let html = sb.ok(&["report", "words", "-o", "-"]);
    assert!(html.starts_with("<!doctype html>"));
    assert!(!sb.path().join("-").exists());
    let plan = sb.ok(&["plan", "w.yaml"]);
    assert!(plan.contains("search: random, 2 trials"), "{plan}");
}
