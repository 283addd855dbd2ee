//! The workflow engine end to end, with the fast `function` trainer: caching, invalidation,
//! the run lock, resuming after SIGKILL, and what status/show/export/audit report.

mod common;
use common::*;

use std::time::{Duration, Instant};

fn statuses(out: &serde_json::Value) -> Vec<String> {
    out["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["status"].as_str().unwrap().to_string())
        .collect()
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
    sb.write(
        "w.yaml",
        &wf.replace("    kind: retrain\n", "    kind: retrain\n    epochs: 3\n"),
    );
    let third = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&third), ["cached", "done", "done"]);
    // Renaming a stage changes no job.
    sb.write(
        "w.yaml",
        &wf.replace("  retrain:\n", "  refit:\n")
            .replace("needs: [retrain]", "needs: [refit]"),
    );
    let fourth = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&fourth), ["cached", "cached", "cached"]);
}

#[test]
fn vanished_outputs_are_redone() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("vanish", "{kind: random}", 4, ""),
    );
    let first = sb.json(&["run", "--json", "w.yaml"]);
    let search_job = first["jobs"][0]["job"].as_str().unwrap().to_string();
    std::fs::remove_dir_all(sb.runs().join(&search_job[..16])).unwrap();
    let again = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(statuses(&again), ["done", "cached", "cached"]);
    assert_eq!(
        again["jobs"][0]["outputs"]["value"],
        first["jobs"][0]["outputs"]["value"]
    );
}

#[test]
fn a_second_run_on_the_same_runs_folder_is_refused() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("lock", "{kind: random}", 6, "    params: {sleep: 0.2}\n"),
    );
    let mut first = sb.cmd(&["-q", "run", "w.yaml"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sb.runs().join("hpflow.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let second = sb.output(&["run", "w.yaml"]);
    assert_eq!(second.status.code(), Some(3), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("another hpflow run is using"),
        "{}",
        text(&second.stderr)
    );
    assert!(first.wait().unwrap().success());
    let check: String = sb
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// Kill `hpflow run` at several points, rerun to the end, and compare every record with an
/// uninterrupted run of the same workflow.
fn sigkill_then_rerun_matches_uninterrupted(strategy: &str, trials: usize, delays_ms: &[u64]) {
    let wf = function_workflow(
        "killed",
        strategy,
        trials,
        "    params: {sleep: 0.02}\n    workers: 2\n",
    );
    let clean = Sandbox::new();
    clean.write("w.yaml", &wf);
    clean.ok(&["-q", "run", "w.yaml"]);
    let want = records(&clean);

    let sb = Sandbox::new();
    sb.write("w.yaml", &wf);
    let mut kills = 0;
    for &delay_ms in delays_ms {
        kills +=
            usize::from(sb.kill_after(&["-q", "run", "w.yaml"], Duration::from_millis(delay_ms)));
    }
    sb.ok(&["-q", "run", "w.yaml"]);
    assert!(
        kills >= 2,
        "{strategy}: the run finished before it could be interrupted"
    );
    assert_eq!(records(&sb), want, "{strategy}");
    let check: String = sb
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn sigkill_at_several_points_then_rerun_gives_the_uninterrupted_records() {
    sigkill_then_rerun_matches_uninterrupted(
        "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}",
        20,
        &[300, 700, 1100, 500, 900],
    );
}

/// `bayes` keeps fitted hyperparameters and factors in memory between proposals; a resumed
/// coordinator has none of them and must still propose the same trials.
#[test]
fn a_bayes_search_killed_and_resumed_proposes_what_an_uninterrupted_one_does() {
    sigkill_then_rerun_matches_uninterrupted(
        "{kind: bayes, initial: 4, candidates: 200}",
        24,
        &[400, 800, 600, 1000],
    );
}

#[test]
fn one_worker_or_three_decide_and_compute_the_same() {
    let mut got = Vec::new();
    for workers in [1, 3] {
        let sb = Sandbox::new();
        let extra = format!("    workers: {workers}\n");
        sb.write(
            "w.yaml",
            &function_workflow(
                "workers",
                "{kind: asha, eta: 3, min_epochs: 1, max_epochs: 9}",
                12,
                &extra,
            ),
        );
        sb.ok(&["-q", "run", "w.yaml"]);
        got.push(records(&sb).0);
    }
    assert_eq!(got[0], got[1]);
}

#[test]
fn status_show_export_and_audit_report_a_finished_run() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("report", "{kind: random}", 5, ""),
    );
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let search = run["jobs"][0]["job"].as_str().unwrap();

    let status = sb.json(&["status", "--json", "w.yaml"])[0].clone();
    assert_eq!(status["jobs"][0]["trials"]["done"], 5);
    let human = sb.ok(&["status", "report"]);
    assert!(human.contains("best objective"), "{human}");

    let show = sb.json(&["show", "--json", &format!("{}/2", &search[..8])]);
    assert_eq!(show["trial"]["trial"], 2);
    assert!(
        show["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "metrics.jsonl")
    );

    let export = sb.json(&["export", "report", "--format", "json"]);
    assert_eq!(export["trials"].as_array().unwrap().len(), 5);
    assert_eq!(
        export["selected"]["trial"],
        run["jobs"][0]["outputs"]["trial"]
    );
    assert!(export["test"]["metrics"]["regret"].as_f64().unwrap() >= 0.0);
    let csv = sb.ok(&["export", "report", "--format", "csv"]);
    assert!(
        csv.starts_with(
            "record,stage,trial,state,epochs_trained,best_epoch,epoch,param_x1,param_x2,"
        ),
        "{csv}"
    );
    // One row per trial and epoch: 5 trials of 10 epochs (the default).
    assert_eq!(csv.lines().filter(|l| l.starts_with("trial,")).count(), 50);

    let audit = sb.output(&["audit", "report"]);
    assert!(audit.status.success(), "{}", text(&audit.stdout));
}

#[test]
fn a_database_from_a_newer_hpflow_is_refused_for_writing() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("newer", "{kind: random}", 2, ""),
    );
    sb.ok(&["-q", "run", "w.yaml"]);
    sb.db().execute_batch("PRAGMA user_version = 99").unwrap();
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(70));
    assert!(
        text(&out.stderr).contains("written by a newer hpflow (schema 99"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn every_strategy_runs_through_the_coordinator() {
    let kinds = [
        ("{kind: grid, steps: 3}", 9),
        ("{kind: random, sobol: true}", 6),
        ("{kind: random, median_stopping: true}", 8),
        ("{kind: bayes, initial: 4}", 8),
        ("{kind: tpe, initial: 4}", 8),
        ("{kind: evolution, population: 4, generations: 2}", 8),
        ("{kind: sha, eta: 3, min_epochs: 1, max_epochs: 9}", 9),
        (
            "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}",
            30,
        ),
        ("{kind: asha, eta: 3, min_epochs: 1, max_epochs: 9}", 9),
        ("{kind: bohb, eta: 3, min_epochs: 1, max_epochs: 9}", 30),
        ("{kind: pbt, population: 4, interval: 3, max_epochs: 9}", 4),
    ];
    for (strategy, trials) in kinds {
        let sb = Sandbox::new();
        sb.write(
            "w.yaml",
            &function_workflow("all", strategy, trials, "    params: {epochs: 9}\n"),
        );
        let wf = std::fs::read_to_string(sb.path().join("w.yaml")).unwrap();
        // Multi-fidelity strategies take max_epochs from the strategy, not params.
        let wf = if strategy.contains("max_epochs") {
            wf.replace("    params: {epochs: 9}\n", "")
        } else {
            wf
        };
        sb.write("w.yaml", &wf);
        let out = sb.output(&["run", "--json", "w.yaml"]);
        assert!(out.status.success(), "{strategy}: {}", text(&out.stderr));
        let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let regret = run["jobs"][2]["outputs"]["metrics"]["regret"]
            .as_f64()
            .unwrap();
        assert!(
            regret.is_finite() && regret >= 0.0,
            "{strategy}: regret {regret}"
        );
        let best_epochs = run["jobs"][0]["outputs"]["epochs"].as_u64().unwrap();
        assert_eq!(
            best_epochs, 9,
            "{strategy}: the selected trial reached the full budget"
        );
    }
}

#[test]
fn duplicate_configurations_are_not_trained_twice() {
    let sb = Sandbox::new();
    let wf = function_workflow("dups", "{kind: random}", 5, "    params: {epochs: 2}\n")
        .replace("x1: {uniform: [-5.0, 10.0]}", "x1: {choice: [1.0, 2.0]}")
        .replace("x2: {uniform: [0.0, 15.0]}", "x2: {choice: [3.0]}");
    sb.write("w.yaml", &wf);
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let search = run["jobs"][0]["job"].as_str().unwrap();
    let dups: i64 = sb
        .db()
        .query_row(
            "SELECT COUNT(*) FROM trials WHERE state = 'duplicate'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dups, 3);
    let trained: usize = std::fs::read_dir(sb.runs().join(&search[..16]).join("trials"))
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path().join("epochs.log"))
                .unwrap_or_default()
                .lines()
                .count()
        })
        .sum();
    assert_eq!(trained, 4, "two distinct configurations of two epochs each");
}

#[test]
fn a_disk_limit_clears_checkpoints_without_changing_results() {
    let strategy = "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}";
    let free = Sandbox::new();
    free.write("w.yaml", &function_workflow("disk", strategy, 30, ""));
    free.ok(&["-q", "run", "w.yaml"]);
    let limited = Sandbox::new();
    limited.write(
        "w.yaml",
        &function_workflow("disk", strategy, 30, "    disk_limit_mb: 0\n"),
    );
    limited.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(records(&limited).0, records(&free).0);
    let count = |sb: &Sandbox| {
        let mut n = 0;
        for job in std::fs::read_dir(sb.runs()).unwrap().flatten() {
            for t in std::fs::read_dir(job.path().join("trials"))
                .into_iter()
                .flatten()
                .flatten()
            {
                n += std::fs::read_dir(t.path().join("checkpoints")).map_or(0, |d| d.count());
            }
        }
        n
    };
    assert!(
        count(&limited) < count(&free),
        "{} vs {}",
        count(&limited),
        count(&free)
    );
}

#[test]
fn a_trial_that_keeps_crashing_its_worker_fails_and_the_search_goes_on() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow(
            "crash",
            "{kind: random}",
            4,
            "    params: {epochs: 3, crash_trial: 1}\n    retries: 1\n    workers: 2\n",
        ),
    );
    let run = sb.json(&["run", "--json", "w.yaml"]);
    assert_ne!(run["jobs"][0]["outputs"]["trial"], 1);
    let (state, reason): (String, String) = sb
        .db()
        .query_row(
            "SELECT state, reason FROM trials WHERE trial = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "failed");
    assert_eq!(reason, "worker crashed 2 times");
    let done: i64 = sb
        .db()
        .query_row(
            "SELECT COUNT(*) FROM trials WHERE state = 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(done, 3);
}

#[test]
fn sigint_stops_cleanly_and_the_rerun_resumes() {
    let wf = function_workflow(
        "sigint",
        "{kind: random}",
        8,
        "    params: {epochs: 6, sleep: 0.15}\n    workers: 2\n",
    );
    let clean = Sandbox::new();
    clean.write("w.yaml", &wf);
    clean.ok(&["-q", "run", "w.yaml"]);
    let sb = Sandbox::new();
    sb.write("w.yaml", &wf);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let child = sb
            .cmd(&["run", "w.yaml"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(900));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let started = Instant::now();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a clean stop waits for one epoch at most"
        );
        assert!(text(&out.stderr).contains("interrupted; run the same command again to resume"));
    }
    sb.ok(&["-q", "run", "w.yaml"]);
    assert_eq!(records(&sb).0, records(&clean).0);
}

#[test]
fn report_writes_one_self_contained_page() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("page", "{kind: random}", 4, "    params: {epochs: 3}\n"),
    );
    sb.ok(&["-q", "run", "w.yaml"]);
    let out = sb.ok(&["report", "page", "-o", "page.html"]);
    assert!(out.contains("page.html"));
    let html = std::fs::read_to_string(sb.path().join("page.html")).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("Selected configuration")
            && html.contains("<svg")
            && html.contains("objective by x1")
    );
    assert!(
        !html.contains("src=\"http"),
        "nothing is loaded from elsewhere"
    );
}

#[test]
fn watch_reruns_what_an_edit_changes() {
    let sb = Sandbox::new();
    let wf = function_workflow("watched", "{kind: random}", 3, "    params: {epochs: 2}\n");
    sb.write("w.yaml", &wf);
    let mut child = sb.cmd(&["-q", "watch", "w.yaml"]).spawn().unwrap();
    let done = |n: i64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if sb.runs().join("hpflow.db").exists() {
                let c: i64 = sb
                    .db()
                    .query_row("SELECT COUNT(*) FROM jobs WHERE status = 'done'", [], |r| {
                        r.get(0)
                    })
                    .unwrap_or(0);
                if c >= n {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    assert!(done(3), "the first run finished");
    std::thread::sleep(Duration::from_millis(500));
    sb.write(
        "w.yaml",
        &wf.replace("    kind: retrain\n", "    kind: retrain\n    epochs: 1\n"),
    );
    assert!(done(5), "the edit reran retrain and evaluate");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
}

fn command_workflow(program: &str, extra: &str) -> String {
    format!(
        "name: cmd
seed: 1
stages:
  search:
    kind: search
    model: command
    command: [python3, {program}, --lr, \"{{lr}}\", --width, \"{{width}}\"]
    space:
      lr: {{loguniform: [1.0e-3, 1.0]}}
      width: {{int: [1, 64], log: true}}
    strategy: {{kind: sha, eta: 2, min_epochs: 1, max_epochs: 8}}
    metric: {{name: val_loss, goal: minimize}}
    budget: {{trials: 8}}
{extra}
  retrain:
    kind: retrain
    needs: [search]
"
    )
}

#[test]
fn command_trials_resume_from_their_own_checkpoints() {
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        root.join("tests/programs/quadratic.py"),
        sb.path().join("train.py"),
    )
    .unwrap();
    sb.write("w.yaml", &command_workflow("train.py", "    workers: 2\n"));
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let search = run["jobs"][0]["job"].as_str().unwrap();
    assert_eq!(run["jobs"][0]["outputs"]["epochs"], 8);
    let best = run["jobs"][0]["outputs"]["trial"].as_u64().unwrap();
    // Promoted 1 → 2 → 4 → 8 epochs: the program printed each epoch once (8 lines, not 15).
    let log = std::fs::read_to_string(
        sb.runs()
            .join(&search[..16])
            .join(format!("trials/{best:04}/epochs.log")),
    )
    .unwrap();
    let epochs: Vec<u64> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(epochs, (1..=8).collect::<Vec<_>>());
}

#[test]
fn a_program_that_fails_or_prints_garbage_fails_its_trial_with_the_reason() {
    for (script, want) in [
        (
            "import sys\nprint('starting', flush=True)\n",
            // Not metrics: kept in stdout.log, and named when no epoch was reported.
            "in stdout.log) ends with \"starting\"",
        ),
        (
            "import sys\nsys.stderr.write('CUDA error: out of memory\\n')\nsys.exit(3)\n",
            "CUDA error: out of memory",
        ),
    ] {
        let sb = Sandbox::new();
        sb.write("bad.py", script);
        sb.write("w.yaml", &command_workflow("bad.py", ""));
        let out = sb.output(&["run", "w.yaml"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "every trial failed, so the search job failed"
        );
        let reasons: Vec<String> = {
            let db = sb.db();
            let mut st = db
                .prepare("SELECT reason FROM trials WHERE reason IS NOT NULL")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        // The first three failed alike: the search stops instead of failing all eight.
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons.iter().all(|r| r.contains(want)), "{reasons:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("the first 3 trials all failed with: ") && err.contains(want),
            "{err}"
        );
    }
}

#[test]
fn a_failed_job_starts_over_once_its_cause_is_fixed() {
    let sb = Sandbox::new();
    // The program imports a module that is not there yet (not part of the job's key).
    sb.write("prog.py", "import helper\n");
    sb.write("w.yaml", &command_workflow("prog.py", ""));
    let out = sb.output(&["run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let train = std::fs::read_to_string(root.join("tests/programs/quadratic.py")).unwrap();
    sb.write("helper.py", &train);
    let out = sb.output(&["run", "w.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("failed last time: starting over"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_time_budget_counts_across_resumes() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow(
            "timed",
            "{kind: random}",
            100,
            "    params: {epochs: 3, sleep: 0.1}\n    budget: {trials: 100, time: 2s}\n",
        )
        .replace("    budget: {trials: 100}\n", ""),
    );
    assert!(sb.kill_after(&["-q", "run", "w.yaml"], Duration::from_millis(1600)));
    let spent: f64 = sb
        .db()
        .query_row("SELECT MAX(search_seconds) FROM jobs", [], |r| r.get(0))
        .unwrap();
    assert!(spent > 0.5, "the first run recorded {spent} s");
    sb.ok(&["-q", "run", "w.yaml"]);
    let trials: i64 = sb
        .db()
        .query_row(
            "SELECT COUNT(*) FROM trials WHERE state = 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // 2 s at about 0.3 s a trial: a budget that restarted would allow some 12 or more.
    assert!(
        (3..=9).contains(&trials),
        "{trials} trials within a 2 s budget"
    );
}

#[test]
fn a_database_of_schema_1_is_migrated() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &function_workflow("old", "{kind: random}", 2, ""));
    sb.ok(&["-q", "run", "w.yaml"]);
    sb.db()
        .execute_batch(
            "DROP TABLE workflow_files; ALTER TABLE jobs DROP COLUMN search_seconds;
             ALTER TABLE items DROP COLUMN best_epoch; ALTER TABLE items DROP COLUMN stopped;
             ALTER TABLE trials DROP COLUMN best_epoch; ALTER TABLE trials DROP COLUMN stopped;
             DROP TABLE test_looks; DROP TABLE second_looks; DROP TABLE slurm_jobs;
             DROP INDEX trials_by_state; DROP INDEX trials_by_value;
             ALTER TABLE items DROP COLUMN wave_place; ALTER TABLE items DROP COLUMN wave_len;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    let out = sb.json(&["run", "--json", "w.yaml"]);
    assert_eq!(out["jobs"][0]["status"], "cached");
    let version: i64 = sb
        .db()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 9);
    // Migration 8 admits only the states' words, and kept every row.
    for (table, column) in [("jobs", "status"), ("items", "state"), ("trials", "state")] {
        let refused = sb
            .db()
            .execute(&format!("UPDATE {table} SET {column} = 'finished'"), []);
        assert!(refused.is_err(), "{table}.{column} took an unknown state");
    }
    let done: i64 = sb
        .db()
        .query_row(
            "SELECT (SELECT count(*) FROM items WHERE state = 'done')
                  + (SELECT count(*) FROM trials WHERE state = 'done')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(done, 4);
    // Migration 7 indexed the trials by state.
    let index: i64 = sb
        .db()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'trials_by_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 2);
    // Migration 4 added early stopping's columns; the old trials read as not stopped.
    let stopped: i64 = sb
        .db()
        .query_row(
            "SELECT count(*) FROM trials WHERE stopped = 0 AND best_epoch IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stopped, 2);
    // Migration 3 took the workflow files from the workflows table.
    let files: i64 = sb
        .db()
        .query_row("SELECT count(*) FROM workflow_files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(files, 1);
}

/// `show JOB` on a large search lists the best 20 trials by the metric, says so, and lists
/// every one with `--all`; `show JOB/T` finds a trial past the listed ones.
#[test]
fn show_lists_the_best_trials_of_a_large_search() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow("big", "{kind: random}", 60, ""),
    );
    let run = sb.json(&["run", "--json", "w.yaml"]);
    let job = run["jobs"][0]["job"].as_str().unwrap()[..16].to_string();
    let rows = |text: &str| -> Vec<(usize, f64)> {
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Some((f.first()?.parse().ok()?, f.get(3)?.parse().ok()?))
            })
            .collect()
    };
    let shown = sb.ok(&["show", &job]);
    let best = rows(&shown);
    assert_eq!(best.len(), 20, "{shown}");
    assert!(
        shown.contains("the best 20 of 60 trials by objective"),
        "{shown}"
    );
    let all = rows(&sb.ok(&["show", &job, "--all"]));
    assert_eq!(all.len(), 60);
    let mut ranked: Vec<f64> = all.iter().map(|r| r.1).collect();
    ranked.sort_by(f64::total_cmp);
    let listed: Vec<f64> = best.iter().map(|r| r.1).collect();
    assert_eq!(listed, ranked[..20].to_vec());
    let worst = all.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    assert!(
        sb.ok(&["show", &format!("{job}/{worst}")])
            .contains(&format!("trial {worst} of job"))
    );
}
