//! Sweeps that grow, end to end with the real binary: a larger budget continues the same
//! search job (only new items train) and ends where a fresh run of that budget ends, bit for
//! bit; a smaller one selects within what was done, training nothing; where the budget shapes
//! the schedule, `plan` says so and another budget is another job. The stages after a grown
//! search run again, and `run --until` stops before the test set.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// A smaller quickstart: the built-in digits, an MLP of 2 epochs, a TPE search.
fn quickstart(trials: usize, workers: usize) -> String {
    format!(
        "name: grow
seed: 42
device: cpu
data: {{source: builtin, name: digits, task: classification}}
stages:
  split: {{kind: split, train: 0.6, val: 0.2, test: 0.2, stratify: true}}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{epochs: 2, hidden_layers: 1}}
    space:
      lr:    {{loguniform: [1.0e-3, 1.0e-1]}}
      units: {{int: [8, 64], log: true}}
    strategy: {{kind: tpe, initial: 5}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: {trials}}}
    workers: {workers}
  retrain: {{kind: retrain, needs: [search], on: train+val}}
  evaluate: {{kind: evaluate, needs: [retrain], metrics: [accuracy]}}
"
    )
}

/// A function-trainer workflow with its budget and workers written out.
fn function(strategy: &str, budget: &str, workers: usize, params: &str) -> String {
    format!(
        "name: grow
seed: 3
stages:
  search:
    kind: search
    model: function
    function: branin
    params: {{{params}}}
    space:
      x1: {{uniform: [-5.0, 10.0]}}
      x2: {{uniform: [0.0, 15.0]}}
    strategy: {strategy}
    metric: {{name: objective, goal: minimize}}
    budget: {budget}
    workers: {workers}
  retrain: {{kind: retrain, needs: [search]}}
  evaluate: {{kind: evaluate, needs: [retrain]}}
"
    )
}

/// Every `epochs.log` under the runs folder: path → lines (one per epoch actually trained).
fn epochs_logs(sb: &Sandbox) -> BTreeMap<String, usize> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, usize>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.file_name().is_some_and(|n| n == "epochs.log") {
                let lines = std::fs::read_to_string(&p).unwrap().lines().count();
                out.insert(p.display().to_string(), lines);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&sb.runs(), &mut out);
    out
}

/// Epoch lines added since `before`, and the logs that changed.
fn trained_since(sb: &Sandbox, before: &BTreeMap<String, usize>) -> (usize, Vec<String>) {
    let now = epochs_logs(sb);
    let mut changed = Vec::new();
    let mut epochs = 0;
    for (p, n) in &now {
        let was = before.get(p).copied().unwrap_or(0);
        if *n != was {
            changed.push(p.clone());
            epochs += n - was;
        }
    }
    (epochs, changed)
}

/// The search's trials as `export --format json` writes them, by trial number.
fn exported(sb: &Sandbox) -> (serde_json::Value, Vec<serde_json::Value>) {
    let v = sb.json(&["export", "w.yaml", "--format", "json"]);
    let trials: Vec<serde_json::Value> = v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["stage"] == "search")
        .cloned()
        .collect();
    (v["selected"].clone(), trials)
}

/// The search's decisions in order: (item, trial, epochs, cloned from, state, value, reason,
/// wave place, wave length). Reasons and waves too: a later `horizon` reads the waves back, so
/// a reused row must carry the new decision's.
type Item = (
    i64,
    i64,
    i64,
    Option<i64>,
    String,
    Option<f64>,
    String,
    Option<i64>,
    Option<i64>,
);

fn items(sb: &Sandbox) -> Vec<Item> {
    let db = sb.db();
    let mut st = db
        .prepare(
            "SELECT i.item, i.trial, i.epochs, i.clone_trial, i.state, i.value, i.reason,
                    i.wave_place, i.wave_len
             FROM items i JOIN jobs j ON j.id = i.job WHERE j.kind = 'search' ORDER BY i.item",
        )
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ))
    })
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap()
}

/// A trial without its wall time (the one field two runs never share).
fn timeless(t: &serde_json::Value) -> serde_json::Value {
    let mut t = t.clone();
    t.as_object_mut().unwrap().remove("seconds");
    t
}

/// The selection as a fresh run and a grown one must agree on.
fn selection(s: &serde_json::Value) -> (u64, String, String) {
    (
        s["trial"].as_u64().unwrap(),
        s["value"].to_string(),
        s["config"].to_string(),
    )
}

fn search_id(sb: &Sandbox) -> String {
    let plan = sb.json(&["plan", "w.yaml", "--json"]);
    plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stage"] == "search")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A fresh run of `workflow` in a sandbox of its own: (selection, trials, items).
fn fresh(workflow: &str) -> (serde_json::Value, Vec<serde_json::Value>, Vec<Item>) {
    let sb = Sandbox::new();
    sb.write("w.yaml", workflow);
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    let (selected, trials) = exported(&sb);
    (selected, trials, items(&sb))
}

#[test]
fn tpe_on_digits_grows_from_12_to_16_trials_training_only_the_4_new_ones() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &quickstart(12, 3));
    sb.ok(&["-q", "run", "w.yaml", "--until", "retrain"]);
    let id = search_id(&sb);
    let (_, before) = exported(&sb);
    assert_eq!(before.len(), 12);
    let logs = epochs_logs(&sb);
    let retrain_before = sb.json(&["plan", "w.yaml", "--json"])["jobs"][2]["id"].clone();
    // `--until retrain` spent no test rows.
    let status = sb.json(&["status", "w.yaml", "--json"]);
    assert_eq!(status[0]["jobs"][3]["status"], "not run", "evaluate ran");

    // Grown, and with 1 worker where the first run had 3.
    sb.write("w.yaml", &quickstart(16, 1));
    assert_eq!(
        search_id(&sb),
        id,
        "the budget is outside the search's identity"
    );
    let plan = sb.ok(&["plan", "w.yaml"]);
    assert!(
        plan.contains(&format!(
            "search {} continues: 12 trials done, 4 to train",
            &id[..16]
        )),
        "{plan}"
    );
    sb.ok(&["-q", "run", "w.yaml", "--until", "retrain"]);
    let (epochs, changed) = trained_since(&sb, &logs);
    // 4 new trials of 2 epochs, and the retrain of the (new) winner: nothing else trained.
    let search_logs: Vec<&String> = changed.iter().filter(|p| p.contains(&id[..16])).collect();
    assert_eq!(search_logs.len(), 4, "{changed:?}");
    for t in 12..16 {
        assert!(
            search_logs
                .iter()
                .any(|p| p.contains(&format!("trials/{t:04}/"))),
            "{changed:?}"
        );
    }
    assert!(epochs >= 8, "{epochs}");
    let (selected, after) = exported(&sb);
    assert_eq!(after.len(), 16);
    for t in 0..12 {
        assert_eq!(
            serde_json::to_string(&after[t]).unwrap(),
            serde_json::to_string(&before[t]).unwrap(),
            "trial {t} changed"
        );
    }
    // The stages after it follow the search's new selection: a new retrain job.
    let retrain_after = sb.json(&["plan", "w.yaml", "--json"])["jobs"][2]["id"].clone();
    assert_ne!(retrain_before, retrain_after);
    let status = sb.json(&["status", "w.yaml", "--json"]);
    assert_eq!(status[0]["jobs"][2]["status"], "done");
    assert!(
        sb.ok(&["status", "w.yaml"])
            .contains("budgets: 12 trials → 16 trials")
    );
    let page = sb.ok(&["report", "w.yaml", "-o", "-"]);
    assert!(
        page.contains("Budgets: 12 trials → 16 trials."),
        "no history"
    );

    // A fresh 16-trial run (3 workers) decides and selects the same, bit for bit.
    let (fresh_selected, fresh_trials, fresh_items) = fresh(&quickstart(16, 3));
    assert_eq!(items(&sb), fresh_items);
    assert_eq!(selection(&selected), selection(&fresh_selected));
    let a: Vec<_> = after.iter().map(timeless).collect();
    let b: Vec<_> = fresh_trials.iter().map(timeless).collect();
    assert_eq!(a, b);
}

#[test]
fn hyperband_grows_by_one_iteration_like_a_fresh_run() {
    // One iteration for eta 3, max_epochs 9 is 9 + 5 + 3 = 17 trials.
    let hb = "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 9}";
    let sb = Sandbox::new();
    sb.write("w.yaml", &function(hb, "{trials: 17}", 3, ""));
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    let id = search_id(&sb);
    let (_, before) = exported(&sb);
    let logs = epochs_logs(&sb);
    sb.write("w.yaml", &function(hb, "{trials: 34}", 1, ""));
    assert_eq!(search_id(&sb), id);
    assert!(
        sb.ok(&["plan", "w.yaml"])
            .contains("continues: 17 trials done, 17 to train")
    );
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    let (_, changed) = trained_since(&sb, &logs);
    assert!(
        changed
            .iter()
            .all(|p| (17..34).any(|t| p.contains(&format!("trials/{t:04}/")))),
        "an earlier trial trained again: {changed:?}"
    );
    assert_eq!(changed.len(), 17);
    let (selected, after) = exported(&sb);
    for t in 0..17 {
        assert_eq!(
            serde_json::to_string(&after[t]).unwrap(),
            serde_json::to_string(&before[t]).unwrap()
        );
    }
    let (fresh_selected, fresh_trials, fresh_items) = fresh(&function(hb, "{trials: 34}", 3, ""));
    assert_eq!(items(&sb), fresh_items);
    assert_eq!(selection(&selected), selection(&fresh_selected));
    let a: Vec<_> = after.iter().map(timeless).collect();
    let b: Vec<_> = fresh_trials.iter().map(timeless).collect();
    assert_eq!(a, b);

    // A budget that cuts a bracket is another schedule: plan says so, and it is another job.
    sb.write("w.yaml", &function(hb, "{trials: 20}", 1, ""));
    assert_ne!(search_id(&sb), id);
    let plan = sb.ok(&["plan", "w.yaml"]);
    assert!(
        plan.contains("another budget is another search")
            && plan.contains("not a whole number of iterations (17 trials each)"),
        "{plan}"
    );
}

/// ASHA (promotions once its trials are spent differ from a larger budget's) and median
/// stopping (its last batch is cut) do not extend as a prefix: the items from where they
/// differ are decided again, each taking its recorded result when it comes out the same.
#[test]
fn asha_and_median_stopping_grow_like_fresh_runs_training_less() {
    for (strategy, small, large) in [
        ("{kind: asha, eta: 3, min_epochs: 1, max_epochs: 9}", 10, 16),
        ("{kind: random, median_stopping: true, batch: 4}", 10, 14),
        (
            "{kind: bohb, eta: 3, min_epochs: 1, max_epochs: 9, initial: 4}",
            17,
            34,
        ),
    ] {
        let budget = |n: usize| format!("{{trials: {n}}}");
        let sb = Sandbox::new();
        sb.write("w.yaml", &function(strategy, &budget(small), 3, ""));
        sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        let logs = epochs_logs(&sb);
        sb.write("w.yaml", &function(strategy, &budget(large), 2, ""));
        sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        let (grown_epochs, _) = trained_since(&sb, &logs);
        let (selected, after) = exported(&sb);

        let f = Sandbox::new();
        f.write("w.yaml", &function(strategy, &budget(large), 3, ""));
        f.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        let (fresh_epochs, _) = trained_since(&f, &BTreeMap::new());
        let (fresh_selected, fresh_trials) = exported(&f);
        // The same decisions in the same order, each with the same result.
        assert_eq!(items(&sb), items(&f), "{strategy}");
        assert_eq!(
            selection(&selected),
            selection(&fresh_selected),
            "{strategy}"
        );
        let a: Vec<_> = after.iter().map(timeless).collect();
        let b: Vec<_> = fresh_trials.iter().map(timeless).collect();
        assert_eq!(a, b, "{strategy}");
        let first: usize = logs.values().sum();
        assert!(
            grown_epochs < fresh_epochs && grown_epochs + first >= fresh_epochs,
            "{strategy}: grown {grown_epochs} + first {first} vs fresh {fresh_epochs}"
        );
    }
}

#[test]
fn a_smaller_budget_selects_within_what_was_done_without_training() {
    // Seed 2: the best of 16 trials is trial 14, so the first 6 select another.
    let w = |n: usize| {
        function("{kind: tpe}", &format!("{{trials: {n}}}"), 3, "").replace("seed: 3", "seed: 2")
    };
    let sb = Sandbox::new();
    sb.write("w.yaml", &w(16));
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    let id = search_id(&sb);
    let logs = epochs_logs(&sb);
    let (of16, _) = exported(&sb);
    assert_eq!(of16["trial"], 14);
    sb.write("w.yaml", &w(6));
    assert_eq!(search_id(&sb), id);
    assert!(
        sb.ok(&["plan", "w.yaml"])
            .contains("shrinks: selects among the first 6 of 16 done, none to train")
    );
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    assert_eq!(trained_since(&sb, &logs), (0, vec![]));
    let (selected, listed) = exported(&sb);
    assert_eq!(selected["trials"], 6);
    assert!(selected["trial"].as_u64().unwrap() < 6);
    let (fresh_selected, fresh_trials, _) = fresh(&w(6));
    assert_eq!(selection(&selected), selection(&fresh_selected));
    // What the smaller budget selects among is what status, the export and the report show,
    // the fresh run's 6 trials; the 10 others are said to be kept.
    let a: Vec<_> = listed.iter().map(timeless).collect();
    let b: Vec<_> = fresh_trials.iter().map(timeless).collect();
    assert_eq!(a, b);
    let export = sb.json(&["export", "w.yaml", "--format", "json"]);
    assert_eq!(export["jobs"][0]["kept_for_larger_budget"], 10);
    let csv = sb.ok(&["export", "w.yaml", "--format", "csv"]);
    let csv_trials: std::collections::BTreeSet<&str> = csv
        .lines()
        .filter(|l| l.starts_with("trial,"))
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(csv_trials.len(), 6, "{csv_trials:?}");
    let status = sb.ok(&["status", "w.yaml"]);
    assert!(
        status.contains("trials: 6 done; 10 more kept for a larger budget")
            && status.contains("budgets: 16 trials → 6 trials"),
        "{status}"
    );
    let page = sb.ok(&["report", "w.yaml", "-o", "-"]);
    assert!(
        page.contains("out of 6 trials")
            && page.contains("selects among the 6 trials shown; 10 more are kept")
            && page.contains("Budgets: 16 trials → 6 trials."),
        "report"
    );
    // Back to 16: nothing trains either, and the 16-trial selection is back.
    sb.write("w.yaml", &w(16));
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    assert_eq!(trained_since(&sb, &logs), (0, vec![]));
    let (back, all) = exported(&sb);
    assert_eq!(selection(&back), selection(&of16));
    assert_eq!(all.len(), 16);
    assert!(
        !sb.ok(&["status", "w.yaml"])
            .contains("kept for a larger budget")
    );
}

/// Time budgets are not deterministic: what a raised one must do is reuse what was done.
#[test]
fn a_raised_time_budget_continues_the_same_search() {
    let sb = Sandbox::new();
    let w = |t: &str| {
        function(
            "{kind: random}",
            &format!("{{time: {t}}}"),
            2,
            "sleep: 0.005",
        )
    };
    sb.write("w.yaml", &w("1s"));
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    let id = search_id(&sb);
    let (_, before) = exported(&sb);
    let logs = epochs_logs(&sb);
    assert!(!before.is_empty());
    sb.write("w.yaml", &w("3s"));
    assert_eq!(search_id(&sb), id);
    sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
    let (_, after) = exported(&sb);
    assert!(
        after.len() > before.len(),
        "{} then {}",
        before.len(),
        after.len()
    );
    let (_, changed) = trained_since(&sb, &logs);
    for p in &changed {
        // Trials the first run started but did not finish may finish now; none finished
        // trains again.
        let done = before.iter().any(|t| {
            t["state"] == "done"
                && p.contains(&format!("trials/{:04}/", t["trial"].as_u64().unwrap()))
        });
        assert!(!done, "{p} trained again");
    }
    for t in before.iter().filter(|t| t["state"] == "done") {
        let k = t["trial"].as_u64().unwrap() as usize;
        assert_eq!(
            serde_json::to_string(t).unwrap(),
            serde_json::to_string(&after[k]).unwrap()
        );
    }
}

/// The coordinator SIGKILLed while the search grows; `run` again ends where a fresh run of
/// the larger budget ends.
#[test]
fn a_growth_killed_midway_resumes_to_the_fresh_result() {
    let w = |n: usize| function("{kind: tpe}", &format!("{{trials: {n}}}"), 3, "sleep: 0.01");
    let (fresh_selected, fresh_trials, fresh_items) = fresh(&w(16));
    let mut kills = 0;
    for ms in [150, 300, 500] {
        let sb = Sandbox::new();
        sb.write("w.yaml", &w(10));
        sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        sb.write("w.yaml", &w(16));
        kills += usize::from(sb.kill_after(
            &["-q", "run", "w.yaml", "--until", "search"],
            Duration::from_millis(ms),
        ));
        sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        let (selected, after) = exported(&sb);
        assert_eq!(selection(&selected), selection(&fresh_selected));
        let a: Vec<_> = after.iter().map(timeless).collect();
        let b: Vec<_> = fresh_trials.iter().map(timeless).collect();
        assert_eq!(a, b, "killed after {ms} ms");
        assert_eq!(items(&sb), fresh_items, "killed after {ms} ms");
    }
    assert!(kills > 0, "no kill landed during the growth");
}

/// A grown search after an evaluation: its new winner would be a second look at the test
/// rows, which `run` refuses as before; `--until retrain` shows the new winner without it.
#[test]
fn a_grown_search_after_an_evaluation_meets_the_second_look_refusal() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &quickstart(4, 2));
    sb.ok(&["-q", "run", "w.yaml"]);
    sb.write("w.yaml", &quickstart(6, 2));
    let out = sb.output(&["-q", "run", "w.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("second look"),
        "{}",
        text(&out.stderr)
    );
    sb.ok(&["-q", "run", "w.yaml", "--until", "retrain"]);
    let status = sb.json(&["status", "w.yaml", "--json"]);
    assert_eq!(status[0]["jobs"][1]["outputs"]["budget"]["trials"], 6);
    assert_eq!(status[0]["jobs"][2]["status"], "done");
    assert_eq!(status[0]["jobs"][3]["status"], "not run");
    let bad = sb.output(&["run", "w.yaml", "--until", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("no stage \"nope\""));
}

/// Stale rows in the search's database: decisions a growth was making again when it stopped.
fn stale_rows(sb: &Sandbox) -> usize {
    sb.db()
        .query_row(
            "SELECT COUNT(*) FROM items WHERE state = 'stale'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize
}

/// Run hpflow and SIGKILL it once its database shows `ready` (polled, so no timing is
/// assumed); false when the run ended first.
fn kill_when(sb: &Sandbox, args: &[&str], ready: impl Fn(&rusqlite::Connection) -> bool) -> bool {
    let mut child = sb.cmd(args).spawn().expect("spawn hpflow");
    let path = sb.runs().join("hpflow.db");
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        if let Ok(db) = rusqlite::Connection::open_with_flags(&path, flags)
            && ready(&db)
        {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            let _ = child.wait();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A growth that decides items again (median stopping: the smaller budget's last batch was
/// cut), SIGKILLed while it does, with new items handed out. A plain `run` again,
/// or a run under yet another budget, larger or smaller, ends where a fresh run of that
/// budget ends.
#[test]
fn a_growth_killed_while_deciding_again_meets_any_next_budget_like_a_fresh_run() {
    let median = "{kind: random, median_stopping: true, batch: 4}";
    let w = |n: usize, workers: usize| {
        function(median, &format!("{{trials: {n}}}"), workers, "sleep: 0.05")
    };
    let count = |db: &rusqlite::Connection, sql: &str| -> i64 {
        db.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
    };
    let mut fresh_runs: BTreeMap<usize, _> = BTreeMap::new();
    for next in [16, 22, 7] {
        let sb = Sandbox::new();
        sb.write("w.yaml", &w(10, 3));
        sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        sb.write("w.yaml", &w(16, 3));
        let killed = kill_when(&sb, &["-q", "run", "w.yaml", "--until", "search"], |db| {
            // Decided again, with new items handed out: stale rows wait to be taken.
            count(db, "SELECT COUNT(*) FROM items WHERE state = 'stale'") > 0
                && count(db, "SELECT COUNT(*) FROM items WHERE state = 'issued'") > 0
        });
        assert!(killed, "the growth ended before it was killed");
        assert!(stale_rows(&sb) > 0);
        sb.write("w.yaml", &w(next, 1));
        sb.ok(&["-q", "run", "w.yaml", "--until", "search"]);
        let (selected, after) = exported(&sb);
        let (fresh_selected, fresh_trials, fresh_items) = fresh_runs
            .entry(next)
            .or_insert_with(|| fresh(&w(next, 3)))
            .clone();
        let case = format!("16 killed, then {next}");
        assert_eq!(selection(&selected), selection(&fresh_selected), "{case}");
        let a: Vec<_> = after.iter().map(timeless).collect();
        let b: Vec<_> = fresh_trials.iter().map(timeless).collect();
        assert_eq!(a, b, "{case}");
        if next >= 10 {
            // A smaller budget keeps the items beyond it (and stale ones) recorded.
            assert_eq!(items(&sb), fresh_items, "{case}");
            assert_eq!(stale_rows(&sb), 0, "{case}");
        }
    }
}
