//! Early stopping end to end with the fast `function` trainer (`overfit_from` makes a trial's
//! value worsen after a given epoch): a stopped trial reports its best epoch and keeps that
//! checkpoint, is never promoted past where it stopped, retrain trains to the winner's best
//! epoch, and decisions are the same with 1 worker or 3 and after SIGKILL and resume.

mod common;
use common::*;

use std::time::Duration;

const STRATEGY: &str = "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 27}";

fn workflow(extra: &str) -> String {
    function_workflow(
        "early",
        STRATEGY,
        30,
        &format!("    params: {{overfit_from: 4}}\n    early_stopping: {{patience: 2}}\n{extra}"),
    )
}

/// (trial, item, epochs asked, state, value, best_epoch, stopped) of every item.
type ItemRecord = (i64, i64, i64, String, Option<f64>, Option<i64>, bool);

fn items(sb: &Sandbox) -> Vec<ItemRecord> {
    let db = sb.db();
    let mut st = db
        .prepare(
            "SELECT i.trial, i.item, i.epochs, i.state, i.value, i.best_epoch, i.stopped
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
        ))
    })
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap()
}

/// The objective after each epoch of `trial`, from the database.
fn curve(sb: &Sandbox, trial: i64) -> Vec<f64> {
    let db = sb.db();
    let mut st = db
        .prepare(
            "SELECT e.metrics_json FROM epochs e JOIN jobs j ON j.id = e.job
             WHERE j.kind = 'search' AND e.trial = ?1 ORDER BY e.epoch",
        )
        .unwrap();
    st.query_map([trial], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|m| {
            let m: serde_json::Value = serde_json::from_str(&m.unwrap()).unwrap();
            m["objective"].as_f64().unwrap()
        })
        .collect()
}

#[test]
fn a_stopped_trial_reports_its_best_epoch_and_is_never_promoted_past_it() {
    let sb = Sandbox::new();
    sb.write("w.yaml", &workflow("    workers: 2\n"));
    let out = sb.output(&["run", "w.yaml"]);
    assert!(out.status.success());
    let log = text(&out.stderr);
    assert!(log.contains("stopped early, best at epoch"), "{log}");
    let export = sb.json(&["export", "early", "--format", "json"]);
    let search = export["jobs"][0]["job"].as_str().unwrap().to_string();
    let all = items(&sb);
    let stopped: Vec<&ItemRecord> = all.iter().filter(|i| i.6).collect();
    // Stops inside a rung that has a next one, where a promotion could follow.
    assert!(
        stopped.iter().any(|i| i.2 < 27),
        "no trial stopped before the top rung: {all:?}"
    );
    for s in &stopped {
        let (trial, item, asked) = (s.0, s.1, s.2);
        let c = curve(&sb, trial);
        let best = s.5.expect("a stopped item has a best epoch");
        // Stopped before the epochs it was asked for, two epochs after its best.
        assert_eq!(c.len() as i64, best + 2, "trial {trial}: {c:?}");
        assert!(
            (c.len() as i64) < asked,
            "trial {trial} trained all {asked}"
        );
        // Its value is its best epoch's, the minimum of its curve.
        let min = c.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(s.4, Some(min), "trial {trial}");
        assert_eq!(c[best as usize - 1], min, "trial {trial}");
        // Never promoted past where it stopped.
        assert!(
            !all.iter().any(|i| i.0 == trial && i.1 > item),
            "trial {trial} got another item after stopping: {all:?}"
        );
        // Its best epoch's checkpoint is kept.
        let ckpt = sb
            .runs()
            .join(&search[..16])
            .join(format!("trials/{trial:04}/checkpoints/epoch-{best:04}"));
        let have: Vec<_> = std::fs::read_dir(ckpt.parent().unwrap())
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(ckpt.is_dir(), "{} is missing: {have:?}", ckpt.display());
    }
    // Retrain trains to the selected trial's best epoch.
    let selected = &export["selected"];
    let best_epoch = selected["early_stopping"]["best_epoch"].as_u64().unwrap();
    assert_eq!(selected["epochs"].as_u64(), Some(best_epoch));
    assert_eq!(export["retrain"]["epochs"].as_u64(), Some(best_epoch));
    let t = selected["trial"].as_i64().unwrap();
    let c = curve(&sb, t);
    assert_eq!(
        selected["value"].as_f64(),
        Some(c[best_epoch as usize - 1]),
        "{selected}"
    );
    // show and the CSV name the best epoch too.
    let s = stopped[0].0;
    let show = sb.ok(&["show", &format!("{}/{s}", &search[..12])]);
    assert!(show.contains("stopped early"), "{show}");
    let csv = sb.ok(&["export", "early", "--format", "csv"]);
    assert!(csv.lines().next().unwrap().contains("best_epoch"), "{csv}");
}

#[test]
fn early_stopping_decides_the_same_with_one_worker_or_three_and_after_sigkill() {
    let mut got = Vec::new();
    for workers in [1, 3] {
        let sb = Sandbox::new();
        sb.write("w.yaml", &workflow(&format!("    workers: {workers}\n")));
        sb.ok(&["-q", "run", "w.yaml"]);
        got.push(items(&sb));
    }
    assert_eq!(got[0], got[1]);
    // Killed mid-sweep (trials sleep a little so that there is a middle), then resumed.
    let slow =
        workflow("    workers: 2\n").replace("{overfit_from: 4}", "{overfit_from: 4, sleep: 0.03}");
    let clean = Sandbox::new();
    clean.write("w.yaml", &slow);
    clean.ok(&["-q", "run", "w.yaml"]);
    let sb = Sandbox::new();
    sb.write("w.yaml", &slow);
    let mut kills = 0;
    for ms in [300, 600, 400] {
        kills += usize::from(sb.kill_after(&["-q", "run", "w.yaml"], Duration::from_millis(ms)));
    }
    sb.ok(&["-q", "run", "w.yaml"]);
    assert!(
        kills >= 2,
        "the run finished before it could be interrupted"
    );
    assert_eq!(items(&sb), items(&clean));
    assert_eq!(items(&clean).len(), got[0].len());
}

/// Under `budget: {epochs}`, a stopped trial's unused epochs go to new trials: more trials
/// within the same total, the same ones with 1 worker or 3.
#[test]
fn an_epoch_budget_counts_the_epochs_stopped_trials_trained() {
    let run = |early: &str, workers: usize| {
        let sb = Sandbox::new();
        let wf = function_workflow(
            "budget",
            "{kind: random}",
            1000,
            &format!(
                "    params: {{epochs: 12, overfit_from: 3}}\n{early}    workers: {workers}\n"
            ),
        )
        .replace("budget: {trials: 1000}", "budget: {epochs: 60}");
        sb.write("w.yaml", &wf);
        sb.ok(&["-q", "run", "w.yaml"]);
        let selected = sb.json(&["export", "budget", "--format", "json"])["selected"].clone();
        (items(&sb), selected)
    };
    let (plain, plain_sel) = run("", 2);
    assert_eq!(plain.len(), 5, "12 epochs each: 5 trials in 60");
    let (early, early_sel) = run("    early_stopping: {patience: 2}\n", 2);
    assert!(early.len() > plain.len(), "{early:?}");
    let trained = early_sel["epochs_trained"].as_u64().unwrap();
    assert!(trained <= 60 && trained > 48, "{early_sel}");
    assert_eq!(plain_sel["epochs_trained"].as_u64(), Some(60));
    let (again, _) = run("    early_stopping: {patience: 2}\n", 3);
    assert_eq!(again, early);
}

/// Issue 23 item 4: a plain search (TPE) with early stopping, whose trials end at different
/// epochs. The report's history by epochs spent has every trial's value at the epochs they
/// trained, its best is the selected value; importance takes every trial at its reported
/// value; the report and the CSV name the winner's best epoch, and the CSV's selected and
/// retrain rows their stage and the epochs retrain trained.
#[test]
fn a_plain_search_with_early_stopping_is_reported_at_the_epochs_trained() {
    let sb = Sandbox::new();
    sb.write(
        "w.yaml",
        &function_workflow(
            "plain",
            "{kind: tpe}",
            12,
            "    params: {epochs: 30, overfit_from: 2}\n    early_stopping: {patience: 2}\n",
        ),
    );
    sb.ok(&["-q", "run", "w.yaml"]);
    let export = sb.json(&["export", "plain", "--format", "json"]);
    let selected = &export["selected"];
    let trained = selected["epochs_trained"].as_u64().unwrap();
    let best_epoch = selected["early_stopping"]["best_epoch"].as_u64().unwrap();
    let of = selected["early_stopping"]["trained"].as_u64().unwrap();
    assert!(trained < 12 * 30, "no trial stopped early: {selected}");

    // The report: (value, epochs spent) of each point of the history by epochs spent.
    sb.ok(&["report", "plain", "-o", "page.html"]);
    let html = std::fs::read_to_string(sb.path().join("page.html")).unwrap();
    let chart = html
        .split("<svg ")
        .find(|c| c.contains("best so far by epochs spent"))
        .unwrap();
    let points: Vec<(f64, f64)> = chart
        .split("class=\"trial-point\"")
        .skip(1)
        .map(|p| {
            let tip = p
                .split("<title>")
                .nth(1)
                .unwrap()
                .split("</title>")
                .next()
                .unwrap();
            let (v, x) = tip.split_once(" at ").unwrap();
            (v.parse().unwrap(), x.parse().unwrap())
        })
        .collect();
    assert_eq!(points.len(), 12, "one point per trial: {points:?}");
    assert_eq!(points.last().unwrap().1, trained as f64, "{points:?}");
    let best = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let value = selected["value"].as_f64().unwrap();
    assert!(
        (best - value).abs() < 1e-3 * value.abs().max(1.0),
        "{best} vs {value}"
    );
    assert!(
        html.contains(&format!("at its best epoch {best_epoch} of {of}")),
        "the selected configuration's epochs"
    );

    // Importance: every trial, each at the value it reported.
    let imp = sb.json(&["importance", "--json", "w.yaml"]);
    let s = &imp["searches"][0];
    assert_eq!(
        (s["trials"].as_u64(), s["trials_left_out"].as_u64()),
        (Some(12), Some(0)),
        "{s}"
    );
    let text = sb.ok(&["importance", "w.yaml"]);
    assert!(
        text.contains("each at its reported value") && !text.contains("no value at"),
        "{text}"
    );

    // The CSV: the selected and retrain rows name their stage and the epochs trained.
    let csv = sb.ok(&["export", "plain", "--format", "csv"]);
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    for (record, stage) in [("selected", "search"), ("retrain", "retrain")] {
        let row: Vec<&str> = csv
            .lines()
            .find(|l| l.starts_with(&format!("{record},")))
            .unwrap()
            .split(',')
            .collect();
        assert_eq!(row[col("stage")], stage, "{csv}");
        assert_eq!(
            row[col("param_epochs")],
            best_epoch.to_string(),
            "{record}: {csv}"
        );
    }
}
