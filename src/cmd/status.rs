//! `hpflow status [WORKFLOW]`: jobs and trials, failures grouped by reason; `--follow`
//! refreshes every second with each running trial's latest epoch, until the run ends.

use serde_json::{Value, json};

use crate::error::Result;
use crate::stage::output::{Outputs, shown};
use crate::store::layout::short;
use crate::store::{Db, Layout};

/// The status of one workflow as data: `--json` prints a list of these, one per workflow
/// (a list of one when a workflow is named), so that scripts read one shape.
pub fn collect(db: &Db, layout: &Layout, name: &str, jobs: &[(String, String)]) -> Result<Value> {
    let mut out = Vec::new();
    for (stage, id) in jobs {
        let row = db.job(id)?;
        let outputs = match &row {
            Some(r) => Outputs::of_row(db, r)?,
            None => None,
        };
        let mut summary = db.trial_summary(id)?;
        // A smaller budget selects among some of the recorded trials: those are listed, and
        // the others counted as kept for a larger budget.
        let within = crate::stage::search::within(db, layout, id)?;
        if let Some(w) = &within {
            summary.states.clear();
            summary.epochs = 0;
            for t in db
                .trials(id)?
                .iter()
                .filter(|t| w.trials.contains(&t.trial))
            {
                *summary
                    .states
                    .entry(db.state_now(t.state).to_string())
                    .or_default() += 1;
                summary.epochs += u64::from(t.epochs);
            }
            summary.running.retain(|t| w.trials.contains(t));
        }
        let running: Vec<Value> = summary
            .running
            .iter()
            .map(|&trial| {
                let latest = super::trial_epochs_on_disk(layout, id, trial).pop();
                json!({
                    "trial": trial,
                    "epoch": latest.as_ref().map_or(0, |(e, _)| *e),
                    "metrics": latest.map(|(_, m)| m),
                })
            })
            .collect();
        // Grouped by reason with the trials' own values taken out, most frequent first.
        let failures: Vec<Value> = db
            .failure_groups_among(id, within.as_ref().map(|w| &w.trials))?
            .into_iter()
            .map(|g| {
                json!({"reason": g.pattern, "count": g.count, "trial": g.trial, "example": g.example})
            })
            .collect();
        // Older databases have no such table: nothing to show then.
        let slurm = db.slurm_jobs(id).unwrap_or_default();
        let mut entry = json!({
            "stage": stage,
            "job": id,
            "kind": row.as_ref().map(|r| r.kind.clone()),
            "status": row.as_ref().map_or("not run".to_string(), |r| r.status.to_string()),
            "error": row.as_ref().and_then(|r| r.error.clone()),
            "outputs": outputs,
            "trials": summary.states,
            "failures": failures,
            "running": running,
            "epochs_trained": summary.epochs,
        });
        // A sweep that grew or shrank: the budgets it ran under, oldest first.
        let budgets = crate::stage::search::budget_history(layout, id);
        if budgets.len() > 1 {
            entry["budgets"] = json!(budgets);
        }
        if let Some(w) = within.filter(|w| w.kept > 0) {
            entry["kept_for_larger_budget"] = json!(w.kept);
        }
        // Only where there were some, so that local runs read (and snapshot) as before.
        if !slurm.is_empty() {
            entry["slurm_jobs"] = serde_json::to_value(&slurm).unwrap_or_default();
        }
        out.push(entry);
    }
    Ok(json!({ "workflow": name, "jobs": out }))
}

/// A job's outputs as `collect` put them (checked there).
fn outputs_of(job: &Value) -> Option<Outputs> {
    let kind = job["kind"].as_str().unwrap_or_default();
    Outputs::of(kind, &job["outputs"], std::path::Path::new("status"))
        .ok()
        .flatten()
}

fn summary(job: &Value) -> String {
    let outputs = outputs_of(job);
    let mut parts = Vec::new();
    if let Some(t) = job["trials"].as_object().filter(|t| !t.is_empty()) {
        let s: Vec<String> = t.iter().map(|(k, v)| format!("{v} {k}")).collect();
        parts.push(format!("trials: {}", s.join(", ")));
    }
    if let Some(n) = job["kept_for_larger_budget"].as_u64() {
        parts.push(format!("{n} more kept for a larger budget"));
    }
    if let Some(best) = outputs.as_ref().and_then(Outputs::search) {
        parts.push(super::best_note(best));
        parts.extend(super::stopped_note(best));
    }
    if let Some(b) = job["budgets"].as_array() {
        let seq: Vec<String> = b
            .iter()
            .filter_map(|e| serde_json::from_value(e["budget"].clone()).ok())
            .map(|b| crate::stage::search::budget_text(&b))
            .collect();
        parts.push(format!("budgets: {}", seq.join(" → ")));
    }
    match &outputs {
        Some(Outputs::Retrain(r)) => parts.push(format!(
            "trial {} retrained {} on {}",
            r.from_trial,
            crate::text::plural(r.epochs, "epoch"),
            r.on.as_str()
        )),
        Some(Outputs::Evaluate(e)) => {
            for (k, v) in &e.metrics {
                let spread = (e.std.as_ref())
                    .and_then(|s| s.get(k))
                    .map(|s| format!(" ± {s:.4}"))
                    .unwrap_or_default();
                parts.push(format!("{k} {}{spread}", shown(*v)));
            }
            if let Some(seeds) = &e.seeds {
                parts.push(format!("mean of {} seeds", seeds.len()));
            }
        }
        Some(Outputs::Split(s)) => {
            parts.push(format!("train {}, val {}, test {}", s.train, s.val, s.test));
            if !s.warnings.is_empty() {
                parts.push(crate::text::plural(s.warnings.len() as u64, "data warning"));
            }
        }
        _ => {}
    }
    if let Some(e) = job["error"].as_str() {
        // A table row is one line, however many lines the error had.
        parts.push(crate::reasons::one_line(e, 300));
    }
    parts.join("; ")
}

pub fn render(status: &Value) -> String {
    let mut rows = vec![vec![
        "stage".into(),
        "job".into(),
        "status".into(),
        "summary".into(),
    ]];
    for j in status["jobs"].as_array().into_iter().flatten() {
        rows.push(vec![
            j["stage"].as_str().unwrap_or_default().into(),
            short(j["job"].as_str().unwrap_or_default()).into(),
            j["status"].as_str().unwrap_or_default().into(),
            summary(j),
        ]);
    }
    let mut text = format!(
        "workflow {}\n{}",
        status["workflow"].as_str().unwrap_or_default(),
        super::table(&rows)
    );
    if let Some(changes) = status["plans_new"].as_array() {
        text.push_str(&format!(
            "  these are the last run's results; {} now plans new jobs, not run yet:\n",
            status["file"].as_str().unwrap_or("the workflow file")
        ));
        for c in changes {
            text.push_str(&format!(
                "    {} {}  {}\n",
                c["stage"].as_str().unwrap_or_default(),
                short(c["job"].as_str().unwrap_or_default()),
                c["why"].as_str().unwrap_or_default()
            ));
        }
        text.push_str(&format!(
            "  (`hpflow run {}` runs them)\n",
            status["file"].as_str().unwrap_or("WORKFLOW")
        ));
    }
    for j in status["jobs"].as_array().into_iter().flatten() {
        let stage = j["stage"].as_str().unwrap_or_default();
        for w in outputs_of(j).as_ref().map_or(&[][..], Outputs::warnings) {
            text.push_str(&format!("  {stage}: warning: {w}\n"));
        }
        for f in j["failures"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "  {stage}: {} failed ({}), e.g. trial {}\n",
                f["count"],
                crate::reasons::one_line(f["reason"].as_str().unwrap_or_default(), 200),
                f["trial"]
            ));
        }
        let workers: Vec<String> = j["slurm_jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                let reason = w["reason"]
                    .as_str()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                format!(
                    "{} {}{reason}",
                    w["slurm_id"].as_str().unwrap_or_default(),
                    w["state"].as_str().unwrap_or_default()
                )
            })
            .collect();
        if !workers.is_empty() {
            text.push_str(&format!(
                "  {stage}: Slurm worker jobs: {}\n",
                workers.join(", ")
            ));
        }
        for r in j["running"].as_array().into_iter().flatten() {
            let metrics: Vec<String> = r["metrics"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k} {}", super::fmt_value(v.as_f64())))
                .collect();
            text.push_str(&format!(
                "  {stage}: trial {} running, epoch {} {}\n",
                r["trial"],
                r["epoch"],
                metrics.join(" ")
            ));
        }
    }
    text
}

/// A workflow file that now plans other jobs than its last run (its data or settings
/// changed): the last run's jobs, to show their results, and which stages it plans anew, why.
type LastRun = (Option<(String, Vec<(String, String)>)>, Option<Vec<Value>>);
fn last_run_of_changed_file(db: &Db, workflow: Option<&str>) -> Result<LastRun> {
    let Some(path) = workflow.map(std::path::Path::new).filter(|p| p.is_file()) else {
        return Ok((None, None));
    };
    let wf = crate::workflow::load(path)?;
    let plan = crate::plan::build(&wf)?;
    match super::status_changes::since_last_run(db, &wf, &plan)? {
        Some(changes) => Ok((
            Some((wf.name.clone(), db.workflow_jobs(&wf.name)?)),
            Some(changes),
        )),
        None => Ok((None, None)),
    }
}

pub fn run(workflow: Option<&str>, layout: &Layout, as_json: bool, follow: bool) -> Result<()> {
    if follow {
        crate::signals::install();
    }
    // `--follow` redraws a terminal in place; into a file or a pipe it writes plain text, and
    // only what changed since the last refresh, so that a log holds no screen codes.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut last = String::new();
    loop {
        let db = super::open_db(layout)?;
        let (last_run, plans_new) = last_run_of_changed_file(&db, workflow)?;
        let targets: Vec<(String, Vec<(String, String)>)> = match workflow {
            Some(_) if last_run.is_some() => vec![last_run.unwrap_or_default()],
            Some(w) => vec![super::workflow_jobs(&db, w)?],
            None => db
                .workflows()?
                .into_iter()
                .map(|(name, _)| Ok((name.clone(), db.workflow_jobs(&name)?)))
                .collect::<Result<_>>()?,
        };
        let mut all: Vec<Value> = targets
            .iter()
            .map(|(n, j)| collect(&db, layout, n, j))
            .collect::<Result<_>>()?;
        if let (Some(changes), Some(first)) = (plans_new, all.first_mut()) {
            first["plans_new"] = Value::Array(changes);
            first["file"] = json!(workflow);
        }
        let text = if as_json {
            format!(
                "{}\n",
                serde_json::to_string_pretty(&all).map_err(crate::Error::internal)?
            )
        } else {
            all.iter().map(render).collect::<Vec<_>>().join("\n")
        };
        if !follow {
            super::emit(&text)?;
        } else if terminal {
            super::emit(&format!("\x1b[2J\x1b[H{text}"))?;
        } else if text != last {
            let gap = if last.is_empty() { "" } else { "\n" };
            super::emit(&format!("{gap}{text}"))?;
            last = text;
        }
        if !follow || crate::signals::stop_requested() {
            return Ok(());
        }
        if super::live_run(layout).is_none() {
            // Nothing is running in this runs folder: what was shown is final.
            if !as_json {
                super::emit(&format!(
                    "(no hpflow run is working in {})\n",
                    layout.root().display()
                ))?;
            }
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        if crate::signals::stop_requested() {
            return Ok(());
        }
    }
}
