//! `hpflow show JOB | JOB/TRIAL`: a job's outputs and trials, or one trial's curve and files.

use serde_json::json;

use crate::error::{Error, Result};
use crate::store::Layout;
use crate::store::layout::short;

pub fn run(target: &str, layout: &Layout, as_json: bool) -> Result<()> {
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
    let ids = db.jobs_with_prefix(prefix)?;
    let id = match ids.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(Error::Usage(format!(
                "no job starts with {prefix:?} (see `hpflow status`)"
            )));
        }
        many => {
            return Err(Error::Usage(format!(
                "{prefix:?} matches {} jobs; give more of the id",
                many.len()
            )));
        }
    };
    let job = db
        .job(&id)?
        .ok_or_else(|| Error::internal("job vanished"))?;
    let trials = db.trials(&id)?;
    if let Some(t) = trial {
        let row = trials
            .iter()
            .find(|r| r.trial == t)
            .ok_or_else(|| Error::Usage(format!("job {} has no trial {t}", short(&id))))?;
        let epochs = db.epochs(&id, t)?;
        let dir = layout.trial(&id, t);
        let files: Vec<String> = walk(&dir);
        if as_json {
            return super::print_json(
                &json!({ "job": id, "trial": row, "epochs": epochs.iter().map(|(e, m)| json!({"epoch": e, "metrics": m})).collect::<Vec<_>>(), "folder": dir, "files": files }),
            );
        }
        println!("trial {t} of job {} ({})", short(&id), job.stage);
        println!(
            "state    {}{}",
            row.state,
            row.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
        println!("config   {}", row.config);
        println!("epochs   {}", row.epochs);
        println!("folder   {}", dir.display());
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
        return Ok(());
    }
    let items = db.items(&id)?;
    if as_json {
        return super::print_json(
            &json!({ "job": job, "trials": trials, "items": items, "folder": layout.job(&id) }),
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
        let mut rows = vec![vec![
            "trial".into(),
            "state".into(),
            "epochs".into(),
            "value".into(),
            "config".into(),
        ]];
        for t in &trials {
            rows.push(vec![
                t.trial.to_string(),
                t.state.clone(),
                t.epochs.to_string(),
                super::fmt_value(t.value),
                t.config.to_string(),
            ]);
        }
        print!("\n{}", super::table(&rows));
    }
    Ok(())
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
