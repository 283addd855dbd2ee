//! `hpflow run WORKFLOW`: plan, then run every job not already done; a summary table at the
//! end, with what failed along the way and every evaluation's test metrics.

use std::path::Path;

use crate::error::Result;
use crate::exec::JobOutcome;
use crate::store::Layout;
use crate::store::layout::short;

pub fn run(
    path: &Path,
    layout: &Layout,
    quiet: bool,
    json: bool,
    allow_second_look: bool,
    executor: Option<crate::workflow::executor::ExecutorKind>,
    retry_failed: bool,
    until: Option<&str>,
) -> Result<()> {
    let mut wf = crate::workflow::load(path)?;
    if let Some(kind) = executor {
        wf.executor.kind = kind;
    }
    if wf.executor.kind == crate::workflow::executor::ExecutorKind::Slurm {
        crate::workers::slurm::commands::check_installed()?;
        crate::workers::slurm::commands::check_answers()?;
    }
    let plan = crate::plan::build(&wf)?;
    let outcomes = crate::exec::run(
        &wf,
        &plan,
        layout,
        quiet || json,
        allow_second_look,
        retry_failed,
        until,
    )?;
    if json {
        return super::print_json(&serde_json::json!({ "workflow": wf.name, "jobs": outcomes }));
    }
    if quiet {
        // Quiet is no reason to miss what the data checks found: the warnings alone.
        let text = warnings(&outcomes);
        if !text.is_empty() {
            eprint!("{text}");
        }
        return Ok(());
    }
    // `run` keeps SIGPIPE ignored (it writes to its workers' pipes): `emit` ends quietly.
    super::emit(&summary(&outcomes))
}

/// The table of jobs, then the test metrics of each evaluate stage.
pub fn summary(outcomes: &[JobOutcome]) -> String {
    let mut rows = vec![vec![
        "stage".into(),
        "job".into(),
        "status".into(),
        "time".into(),
        "notes".into(),
    ]];
    for o in outcomes {
        rows.push(vec![
            o.stage.clone(),
            short(&o.job).into(),
            o.status.clone(),
            crate::exec::took(o.seconds, o.seconds_all_runs),
            notes(&o.outputs),
        ]);
    }
    let mut text = super::table(&rows);
    text.push_str(&warnings(outcomes));
    for eval in outcomes
        .iter()
        .filter(|o| o.outputs.get("metrics").is_some() && o.outputs.get("model_from").is_some())
    {
        text.push_str(&format!("\ntest metrics ({}):\n", eval.stage));
        let seeds = eval.outputs["seeds"].as_array().map_or(0, Vec::len);
        for (k, v) in eval.outputs["metrics"].as_object().into_iter().flatten() {
            let spread = eval.outputs["std"][k]
                .as_f64()
                .map(|s| format!(" ± {s:.4} (mean of {seeds} seeds)"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  {k:<14} {}{spread}\n",
                super::fmt_value(v.as_f64())
            ));
        }
    }
    text
}

/// The data checks' findings of each split (its `warnings` output), one line each.
pub fn warnings(outcomes: &[JobOutcome]) -> String {
    let mut text = String::new();
    for o in outcomes {
        for w in o.outputs["warnings"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "warning ({}): {}\n",
                o.stage,
                w.as_str().unwrap_or_default()
            ));
        }
    }
    text
}

/// What a person should know about a job's result: a search's best and its failures.
fn notes(outputs: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let (Some(m), Some(v)) = (outputs["metric"].as_str(), outputs["value"].as_f64()) {
        parts.push(format!("best {m} {v:.4} (trial {})", outputs["trial"]));
    }
    if let Some(failed) = outputs["failed"].as_u64().filter(|&f| f > 0) {
        parts.push(format!(
            "{failed} of {} trials failed",
            outputs["trials"].as_u64().unwrap_or(0)
        ));
    }
    parts.extend(super::stopped_note(outputs));
    parts.join("; ")
}
