//! `hpflow show JOB | JOB/TRIAL`: a job's outputs and trials, or one trial's curve and files.
//! Values are the metric's own (a maximised accuracy reads positive), and a trial still
//! training shows the epochs its folder already has.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::store::db::TrialRow;
use crate::store::layout::short;
use crate::store::{Db, Layout};
use crate::workflow::Metric;

/// Past this many trials, `show JOB` lists the best `BEST` unless asked for `--all`: a table
/// of 100,000 rows is for `export`, not for reading.
const LIST_ALL_UP_TO: usize = 50;
const BEST: usize = 20;

pub fn run(target: &str, layout: &Layout, as_json: bool, all: bool) -> Result<()> {
    let db = super::open_db(layout)?;
    let (prefix, trial) = match target.split_once('/') {
        Some((j, t)) => (
            j,
            Some(
                t.parse::<usize>()
                    .map_err(|_| Error::Usage(format!("{t:?} is not a trial number")))?,
            ),
        ),
        None => (target, None),
    };
    let id = find_job(&db, prefix)?;
    let job = db
        .job(&id)?
        .ok_or_else(|| Error::internal("job vanished"))?;
    let metric = db.job_key(&id)?.as_ref().and_then(Metric::of_job_key);
    if let Some(t) = trial {
        let mut row = db
            .trial(&id, t)?
            .ok_or_else(|| Error::Usage(format!("job {} has no trial {t}", short(&id))))?;
        shown(&mut row, metric.as_ref());
        return show_trial(&db, layout, &id, &job.stage, &row, as_json);
    }
    let (mut trials, total) = if all || as_json {
        let t = db.trials(&id)?;
        let n = t.len();
        (t, n)
    } else {
        let (best, total) = db.best_trials(&id, BEST)?;
        if total > LIST_ALL_UP_TO {
            (best, total)
        } else {
            (db.trials(&id)?, total)
        }
    };
    for t in trials.iter_mut() {
        shown(t, metric.as_ref());
    }
    if as_json {
        let items = db.items(&id)?;
        return super::print_json(
            &json!({ "job": job, "metric": metric, "trials": trials, "items": items, "folder": layout.job(&id) }),
        );
    }
    println!("job      {id}");
    println!("stage    {} ({})", job.stage, job.kind);
    println!(
        "status   {}{}",
        job.status,
        job.error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    println!("folder   {}", layout.job(&id).display());
    println!("outputs  {}", job.outputs);
    if !trials.is_empty() {
        let value = metric.as_ref().map_or("value", |m| m.name.as_str());
        let mut rows = vec![vec![
            "trial".into(),
            "state".into(),
            "epochs".into(),
            value.to_string(),
            "config".into(),
        ]];
        for t in &trials {
            let (epochs, _) = epochs_of(&db, layout, &id, t)?;
            rows.push(vec![
                t.trial.to_string(),
                t.state.to_string(),
                (epochs.len() as u32).max(t.epochs).to_string(),
                super::fmt_value(t.value),
                t.config.to_string(),
            ]);
        }
        print!("\n{}", super::table(&rows));
        if trials.len() < total {
            println!(
                "the best {} of {total} trials by {value}; `hpflow show {} --all` lists every one, \
                 `hpflow export` writes them all",
                trials.len(),
                short(&id)
            );
        }
    }
    Ok(())
}

fn find_job(db: &Db, prefix: &str) -> Result<String> {
    let ids = db.jobs_with_prefix(prefix)?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Usage(format!(
            "no job starts with {prefix:?} (see `hpflow status`)"
        ))),
        many => Err(Error::Usage(format!(
            "{prefix:?} matches {} jobs; give more of the id",
            many.len()
        ))),
    }
}

/// The row as users read it: the metric's value, not the minimised objective.
fn shown(t: &mut TrialRow, metric: Option<&Metric>) {
    if let Some(m) = metric {
        t.value = t.value.map(|v| m.value(v));
    }
}

/// A trial's epochs: the recorded ones, or, while it has not finished, what its folder's
/// `metrics.jsonl` already holds (the database learns of them when the item ends).
fn epochs_of(
    db: &Db,
    layout: &Layout,
    job: &str,
    row: &TrialRow,
) -> Result<(Vec<(u32, Value)>, bool)> {
    let recorded = db.epochs(job, row.trial)?;
    // Only a trial training now (or stopped mid-item) has epochs the database lacks.
    if !matches!(row.state.as_str(), "running" | "interrupted") {
        return Ok((recorded, false));
    }
    let live = super::trial_epochs_on_disk(layout, job, row.trial);
    if live.len() > recorded.len() {
        Ok((live, true))
    } else {
        Ok((recorded, false))
    }
}

fn show_trial(
    db: &Db,
    layout: &Layout,
    id: &str,
    stage: &str,
    row: &TrialRow,
    as_json: bool,
) -> Result<()> {
    let t = row.trial;
    let (epochs, live) = epochs_of(db, layout, id, row)?;
    let dir = layout.trial(id, t);
    let files: Vec<String> = walk(&dir);
    if as_json {
        return super::print_json(&json!({
            "job": id,
            "trial": row,
            "epochs": epochs.iter().map(|(e, m)| json!({"epoch": e, "metrics": m})).collect::<Vec<_>>(),
            "live": live,
            "folder": dir,
            "files": files,
        }));
    }
    println!("trial {t} of job {} ({stage})", short(id));
    println!(
        "state    {}{}",
        row.state,
        row.reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    println!("config   {}", row.config);
    if live {
        println!(
            "epochs   {} so far (from the trial folder; recorded when the item ends)",
            epochs.len()
        );
    } else {
        match (row.best_epoch, row.stopped) {
            (Some(b), true) => println!(
                "epochs   {} (stopped early; reports its best epoch, {b}, whose checkpoint is kept)",
                row.epochs
            ),
            (Some(b), false) => println!("epochs   {} (reports its best epoch, {b})", row.epochs),
            _ => println!("epochs   {}", row.epochs),
        }
    }
    println!("folder   {}", dir.display());
    for line in fold_lines(&row.metrics) {
        println!("{line}");
    }
    let names: Vec<String> = epochs
        .first()
        .and_then(|(_, m)| m.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut rows = vec![
        std::iter::once("epoch".to_string())
            .chain(names.iter().cloned())
            .collect::<Vec<_>>(),
    ];
    for (e, m) in &epochs {
        rows.push(
            std::iter::once(e.to_string())
                .chain(names.iter().map(|n| super::fmt_value(m[n].as_f64())))
                .collect(),
        );
    }
    print!("\n{}", super::table(&rows));
    Ok(())
}

/// Under k-fold: for each metric with a spread, its mean ± std over the folds and each fold's
/// value (`val_accuracy_std`, `val_accuracy_fold0`, ... in the trial's metrics).
fn fold_lines(metrics: &Value) -> Vec<String> {
    let Some(m) = metrics.as_object() else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, std)| {
            let name = k.strip_suffix("_std")?;
            let folds: Vec<String> = (0..)
                .map_while(|f| m.get(&format!("{name}_fold{f}"))?.as_f64())
                .enumerate()
                .map(|(f, v)| format!("fold {f}: {}", super::fmt_value(Some(v))))
                .collect();
            (!folds.is_empty()).then(|| {
                format!(
                    "folds    {name} {} ± {} ({name}_std) by fold: {}",
                    super::fmt_value(m.get(name).and_then(Value::as_f64)),
                    super::fmt_value(std.as_f64()),
                    folds.join(", ")
                )
            })
        })
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}
