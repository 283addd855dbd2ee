//! `hpflow run WORKFLOW`: plan, then run every job not already done; a summary table at the
//! end, with what failed along the way and every evaluation's test metrics.

use std::path::Path;

use crate::error::Result;
use crate::exec::JobOutcome;
use crate::stage::output::{Outputs, shown};
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
    for (stage, eval) in (outcomes.iter()).filter_map(|o| Some((&o.stage, o.outputs.evaluate()?))) {
        text.push_str(&format!("\ntest metrics ({stage}):\n"));
        let seeds = eval.seeds.as_ref().map_or(0, Vec::len);
        for (k, v) in &eval.metrics {
            let spread = (eval.std.as_ref())
                .and_then(|s| s.get(k))
                .map(|s| format!(" ± {s:.4} (mean of {seeds} seeds)"))
                .unwrap_or_default();
            text.push_str(&format!("  {k:<14} {}{spread}\n", shown(*v)));
        }
    }
    text
}

/// The data checks' findings of each split (its `warnings` output), one line each.
pub fn warnings(outcomes: &[JobOutcome]) -> String {
    let mut text = String::new();
    for o in outcomes {
        for w in o.outputs.warnings() {
            text.push_str(&format!("warning ({}): {w}\n", o.stage));
        }
    }
    text
}

/// What a person should know about a job's result: a search's best and its failures.
fn notes(outputs: &Outputs) -> String {
    let Some(best) = outputs.search() else {
        return String::new();
    };
    let mut parts = vec![super::best_note(best)];
    if best.failed > 0 {
        parts.push(format!("{} of {} trials failed", best.failed, best.trials));
    }
    parts.extend(super::stopped_note(best));
    parts.join("; ")
}
