//! `hpflow plan WORKFLOW [--json]`: each job, its hash and what went into it; runs nothing.

use std::path::Path;

use serde_json::json;

use crate::error::Result;
use crate::store::layout::short;
use crate::store::{Db, Layout};
use crate::workflow::StageSpec;

pub fn run(path: &Path, layout: &Layout, as_json: bool) -> Result<()> {
    let wf = crate::workflow::load(path)?;
    let plan = crate::plan::build(&wf)?;
    let db = Db::open_read(&layout.db())?;
    let state = |id: &str| -> Result<String> {
        let row = match &db {
            Some(db) => db.job(id)?,
            None => None,
        };
        Ok(match row {
            Some(r) if r.status == "done" => "done".into(),
            Some(r) => format!("{} (will resume)", r.status),
            None => "to run".into(),
        })
    };
    let mut jobs = Vec::new();
    for job in &plan.jobs {
        let stage = wf.stage(&job.stage).expect("planned stages exist");
        let schedule = match &stage.spec {
            StageSpec::Search(s) => Some(crate::search::scheduler::describe(
                &s.strategy,
                &s.budget,
                s.epochs,
            )),
            _ => None,
        };
        jobs.push(json!({
            "stage": job.stage,
            "kind": job.kind,
            "id": job.id,
            "needs": job.needs,
            "state": state(&job.id)?,
            "key": job.key,
            "schedule": schedule,
        }));
    }
    if as_json {
        return super::print_json(&json!({ "workflow": wf.name, "jobs": jobs }));
    }
    let mut rows = vec![vec![
        "stage".into(),
        "kind".into(),
        "job".into(),
        "needs".into(),
        "state".into(),
    ]];
    for j in &jobs {
        rows.push(vec![
            j["stage"].as_str().unwrap_or_default().into(),
            j["kind"].as_str().unwrap_or_default().into(),
            short(j["id"].as_str().unwrap_or_default()).into(),
            j["needs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            j["state"].as_str().unwrap_or_default().into(),
        ]);
    }
    println!("workflow {}", wf.name);
    print!("{}", super::table(&rows));
    for j in &jobs {
        if !j["schedule"].is_null() {
            print!(
                "\n{}",
                schedule_text(j["stage"].as_str().unwrap_or_default(), &j["schedule"])
            );
        }
    }
    Ok(())
}

fn rungs_text(rungs: &serde_json::Value) -> String {
    let parts: Vec<String> = rungs
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| format!("{}×{}", r["n"], r["epochs"]))
        .collect();
    parts.join("  ")
}

/// A search's schedule for people: Hyperband's brackets as the paper's table (trials ×
/// epochs per rung), other schedulers as one line of their settings.
fn schedule_text(stage: &str, d: &serde_json::Value) -> String {
    let mut out = String::new();
    let mut head = format!("{stage}: {}", d["scheduler"].as_str().unwrap_or("search"));
    if let Some(t) = d["trials"].as_u64() {
        head.push_str(&format!(", {t} trials"));
    }
    if let Some(by) = d["until"].as_str() {
        head.push_str(&format!(
            ", new trials until {by} are spent (at most {})",
            d["trials_at_most"]
        ));
    }
    if let Some(e) = d["epochs_max"].as_u64() {
        head.push_str(&format!(", at most {e} epochs trained"));
        if let Some(r) = d["epochs_if_retrained"].as_u64() {
            head.push_str(&format!(" ({r} if promotions retrained from scratch)"));
        }
    }
    out.push_str(&head);
    out.push('\n');
    if let Some(brackets) = d["brackets"].as_array() {
        let mut rows = vec![vec![
            "  bracket".to_string(),
            "rungs (trials×epochs)".to_string(),
        ]];
        for b in brackets {
            rows.push(vec![format!("  {}", b["s"]), rungs_text(&b["rungs"])]);
        }
        out.push_str(&super::table(&rows));
    } else if d["rungs"].is_array() {
        out.push_str(&format!(
            "  rungs (trials×epochs): {}\n",
            rungs_text(&d["rungs"])
        ));
    }
    out
}
