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
            StageSpec::Search(s) => Some(crate::search::scheduler::describe(&s.strategy, &s.budget, s.epochs)),
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
    let mut rows = vec![vec!["stage".into(), "kind".into(), "job".into(), "needs".into(), "state".into()]];
    for j in &jobs {
        rows.push(vec![
            j["stage"].as_str().unwrap_or_default().into(),
            j["kind"].as_str().unwrap_or_default().into(),
            short(j["id"].as_str().unwrap_or_default()).into(),
            j["needs"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(",")).unwrap_or_default(),
            j["state"].as_str().unwrap_or_default().into(),
        ]);
    }
    println!("workflow {}", wf.name);
    print!("{}", super::table(&rows));
    for j in &jobs {
        if let Some(text) = j["schedule"].get("text").and_then(|t| t.as_str()) {
            println!("\n{} schedule:\n{text}", j["stage"].as_str().unwrap_or_default());
        }
    }
    Ok(())
}
