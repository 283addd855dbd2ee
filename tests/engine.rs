//! The workflow engine end to end, with the fast `function` trainer: caching, invalidation,
//! the run lock, resuming after SIGKILL, and what status/show/export/audit report.

mod common;
use common::*;

use std::time::{Duration, Instant};

fn statuses(out: &serde_json::Value) -> Vec<String> {
    out["jobs"].as_array().unwrap().iter().map(|j| j["status"].as_str().unwrap().to_string()).collect()
}

#[test]
fn rerun_is_cached_and_an_edit_reruns_only_downstream() {
    let sb = Sandbox::new();
    let wf = function_workflow("cache", "{kind: random}", 6, "");
    sb.write("w.yaml", &wf);
    let first = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&first), ["done", "done", "done"]);
    let second = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&second), ["cached", "cached", "cached"]);
    // Retrain longer: search stays cached, retrain and evaluate rerun.
    sb.write("w.yaml", &wf.replace("    kind: retrain\n", "    kind: retrain\n    epochs: 3\n"));
    let third = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&third), ["cached", "done", "done"]);
    // Renaming a stage changes no job.
    sb.write("w.yaml", &wf.replace("  retrain:\n", "  refit:\n").replace("needs: [retrain]", "needs: [refit]"));
    let fourth = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&fourth), ["cached", "cached", "cached"]);
}

#[test]
fn vanished_outputs_are_redone() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &function_workflow("vanish", "{kind: random}", 4, ""));
    let first = sb.json(&["run", "--json", "w.yaml"]);
    let search_job = first["jobs"][0]["job"].as_str().unwrap().to_string();
    std::fs::remove_dir_all(sb.runs().join(&search_job[..16])).unwrap();
    let again = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&again), ["done", "cached", "cached"]);
    assert_eq!(again["jobs"][0]["outputs"]["value"], first["jobs"][0]["outputs"]["value"]);
}

#[test]
fn a_second_run_on_the_same_runs_folder_is_refused() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &function_workflow("lock", "{kind: random}", 6, "    params: {sleep: 0.2}\n"));
    let mut first = sb.cmd(&["-q", "run", "w.yaml"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sb.runs().join("hpflow.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let second = sb.output(&["run", "w.yaml"]);
    assert_eq!(second.status.code(), Some(3), "{}", text(&second.stderr));
    assert!(text(&second.stderr).contains("another hpflow run is using"), "{}", text(&second.stderr));
    assert!(first.wait().unwrap().success());
    let check: String = sb.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// (trial, config, state, epochs, value) of every trial, and the job statuses.
fn records(sb: &Sandbox) -> (Vec<(i64, String, String, i64, Option<f64>)>, Vec<(String, String)>) {
    let db = sb.db();
    let mut st = db.prepare("SELECT trial, config_json, state, epochs, value FROM trials ORDER BY job, trial").unwrap();
    let trials = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mut st = db.prepare("SELECT id, status FROM jobs ORDER BY id").unwrap();
    let jobs = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    (trials, jobs)
}

#[test]
fn sigkill_at_several_points_then_rerun_gives_the_uninterrupted_records() {
    let wf = function_workflow(
        "killed",
        "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}",
        20,
        "    params: {sleep: 0.02}\n    workers: 2\n",
    );
    let clean = Sandbox::new();
    clean.write("w.yaml", &wf);
    clean.ok(&["-q", "run", "w.yaml"]);
    let want = records(&clean);

    let sb = Sandbox::new();
    sb.write("w.yaml", &wf);
    let mut kills = 0;
    for delay_ms in [300u64, 700, 1100, 500, 900] {
        let mut child = sb.cmd(&["-q", "run", "w.yaml"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            kills += 1;
        }
        let _ = child.wait();
    }
    sb.ok(&["-q", "run", "w.yaml"]);
    assert!(kills >= 2, "the run finished before it could be interrupted");
    assert_eq!(records(&sb), want);
    let check: String = sb.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn one_worker_or_three_decide_and_compute_the_same() {
    let mut got = Vec::new();
    for workers in [1, 3] {
        let sb = Sandbox::new();
        let extra = format!("    workers: {workers}\n");
        sb.write("w.yaml", &function_workflow("workers", "{kind: asha, eta: 3, min_epochs: 1, max_epochs: 9}", 12, &extra));
        sb.ok(&["-q", "run", "w.yaml"]);
        got.push(records(&sb).0);
    }
    assert_eq!(got[0], got[1]);
}

#[test]
fn status_show_export_and_audit_report_a_finished_run() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &function_workflow("report", "{kind: random}", 5, ""));
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let search = run["jobs"][0]["job"].as_str().unwrap();

    let status = sb.json(&["status", "--json", "w.yaml"]);
    assert_eq!(status["jobs"][0]["trials"]["done"], 5);
    let human = sb.ok(&["status", "report"]);
    assert!(human.contains("best objective"), "{human}");

    let show = sb.json(&["show", "--json", &format!("{}/2", &search[..8])]);
    assert_eq!(show["trial"]["trial"], 2);
    assert!(show["files"].as_array().unwrap().iter().any(|f| f == "metrics.jsonl"));

    let export = sb.json(&["export", "report", "--format", "json"]);
    assert_eq!(export["trials"].as_array().unwrap().len(), 5);
    assert_eq!(export["selected"]["trial"], run["jobs"][0]["outputs"]["trial"]);
    assert!(export["test"]["metrics"]["regret"].as_f64().unwrap() >= 0.0);
    let csv = sb.ok(&["export", "report", "--format", "csv"]);
    assert!(csv.starts_with("record,stage,trial,state,epochs_trained,epoch,param_x1,param_x2,"), "{csv}");
    // One row per trial and epoch: 5 trials of 10 epochs (the default).
    assert_eq!(csv.lines().filter(|l| l.starts_with("trial,")).count(), 50);

    let audit = sb.output(&["audit", "report"]);
    assert!(audit.status.success(), "{}", text(&audit.stdout));
}

#[test]
fn a_database_from_a_newer_hpflow_is_refused_for_writing() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &function_workflow("newer", "{kind: random}", 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    sb.db().execute_batch("PRAGMA user_version = 99").unwrap();
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(70));
    assert!(text(&out.stderr).contains("written by a newer hpflow (schema 99"), "{}", text(&out.stderr));
}
