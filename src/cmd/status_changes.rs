//! `hpflow status WORKFLOW.yaml` after the file or its data changed: the jobs its content now
//! plans are not run yet, but the last run's results are still there. Status shows those,
//! and says which stages the workflow now plans anew and why (which input changed).

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::stage::output::Outputs;
use crate::store::Db;
use crate::workflow::Workflow;

/// The stages whose planned job differs from the last run's, each with why; `None` when the
/// file plans what last ran (or nothing of this workflow ran yet).
pub fn since_last_run(db: &Db, wf: &Workflow, plan: &Plan) -> Result<Option<Vec<Value>>> {
    let recorded = db.workflow_jobs(&wf.name)?;
    if recorded.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for job in &plan.jobs {
        let last = recorded.iter().find(|(s, _)| *s == job.stage);
        if last.is_some_and(|(_, id)| *id == job.id) {
            // The same search under another budget: it runs on (a sweep that grows).
            if let Some(why) = regrows(db, wf, job)? {
                out.push(json!({"stage": job.stage, "job": job.id, "why": why}));
            }
            continue;
        }
        let why = match last {
            None => "a new stage".to_string(),
            Some((_, id)) => match db.job_key(id)? {
                None => "the last run's job is no longer recorded".to_string(),
                Some(before) => {
                    let now = serde_json::to_value(&job.key).map_err(Error::internal)?;
                    let mut w = why(wf, &before, &now, &recorded, plan);
                    // A growing search's budget is not in its key: said from its outputs.
                    if let Some(b) = budget_diff(db, wf, job, id)? {
                        w = format!("{b}; {w}");
                    }
                    w
                }
            },
        };
        out.push(json!({"stage": job.stage, "job": job.id, "why": why}));
    }
    Ok((!out.is_empty()).then_some(out))
}

/// A done search whose budget the file changed: which budget setting, and that it runs on.
fn regrows(db: &Db, wf: &Workflow, job: &crate::plan::Job) -> Result<Option<String>> {
    Ok(budget_diff(db, wf, job, &job.id)?
        .map(|b| format!("{b}: the same search runs on (only what the new budget adds trains)")))
}

/// How the budget of `job`'s search differs from the one search job `last` ran under.
fn budget_diff(
    db: &Db,
    wf: &Workflow,
    job: &crate::plan::Job,
    last: &str,
) -> Result<Option<String>> {
    let (Some(stage), Some(row)) = (wf.stage(&job.stage), db.job(last)?) else {
        return Ok(None);
    };
    let crate::workflow::StageSpec::Search(spec) = &stage.spec else {
        return Ok(None);
    };
    if row.status != crate::vocab::JobState::Done {
        return Ok(None);
    }
    let Some(best) = Outputs::of_row(db, &row)?.and_then(Outputs::into_search) else {
        return Ok(None);
    };
    if crate::stage::search::budget_changed(stage, &best).is_none() {
        return Ok(None);
    }
    let now = serde_json::to_value(&spec.budget).map_err(Error::internal)?;
    let was = serde_json::to_value(&best.budget).map_err(Error::internal)?;
    let mut changes = Vec::new();
    crate::exec::second_look::diff("budget", &was, &now, &mut changes);
    Ok((!changes.is_empty()).then(|| changes.join(", ")))
}

/// What differs between two keys of a stage's job, in words.
fn why(
    wf: &Workflow,
    before: &Value,
    now: &Value,
    recorded: &[(String, String)],
    plan: &Plan,
) -> String {
    let mut parts = Vec::new();
    let inputs = |v: &Value| -> Vec<(String, String)> {
        serde_json::from_value(v["inputs"].clone()).unwrap_or_default()
    };
    let (old, new) = (inputs(before), inputs(now));
    for (name, value) in &new {
        let was = old.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        if was == Some(value) {
            continue;
        }
        parts.push(match name.as_str() {
            "data" => format!("the data's content changed ({})", data_files(wf, &new)),
            "data_spec" => "the data settings changed".to_string(),
            file => format!("{file} changed"),
        });
    }
    let mut config = Vec::new();
    crate::exec::second_look::diff("", &before["config"], &now["config"], &mut config);
    if !config.is_empty() {
        parts.push(format!("settings changed: {}", config.join(", ")));
    }
    for field in ["seed", "device"] {
        if before[field] != now[field] {
            parts.push(format!("{field} {} → {}", before[field], now[field]));
        }
    }
    if parts.is_empty() && before["upstream"] != now["upstream"] {
        // Only an upstream job is new: name its stage.
        let ups: Vec<String> = now["upstream"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| plan.jobs.iter().find(|j| Some(j.id.as_str()) == u.as_str()))
            .filter(|j| !recorded.iter().any(|(_, id)| *id == j.id))
            .map(|j| j.stage.clone())
            .collect();
        parts.push(format!("it follows {} anew", ups.join(", ")));
    }
    if parts.is_empty() {
        parts.push("the job's format changed (a newer hpflow)".to_string());
    }
    parts.join("; ")
}

/// The data files the workflow names (its `data:` strings that are files), for the message.
fn data_files(wf: &Workflow, inputs: &[(String, String)]) -> String {
    let spec: Value = inputs
        .iter()
        .find(|(n, _)| n == "data_spec")
        .and_then(|(_, s)| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let mut files = Vec::new();
    strings(&spec, &mut files);
    files.retain(|f| wf.base_dir.join(f).exists());
    if files.is_empty() {
        "the data source".to_string()
    } else {
        files.join(", ")
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !out.contains(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}
