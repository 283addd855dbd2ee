//! One module per subcommand, and what they share: finding a workflow's jobs, printing tables.

pub mod audit;
mod audit_content;
mod audit_data;
mod audit_requests;
mod audit_sandbox;
pub mod completions;
pub mod export;
pub mod gc;
pub mod importance;
pub mod init;
pub mod man;
pub mod mlflow;
pub mod plan;
pub mod report;
pub mod run;
pub mod serve;
pub mod show;
pub mod status;
mod status_changes;
pub mod watch;

use std::path::Path;

use crate::error::{Error, Result};
use crate::store::{Db, Layout};

pub fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HPFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("hpflow={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Never `std::io::stderr` directly: on a write error tracing-subscriber reports it
        // with `eprintln!`, which panics on a closed pipe.
        .with_writer(|| crate::progress::Stderr)
        .log_internal_errors(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// The read-only database, or a clear message when nothing has run yet. What it says is
/// running is running: a run that was killed or stopped reads as `interrupted`.
pub fn open_db(layout: &Layout) -> Result<Db> {
    let db = Db::open_read(&layout.db())?.ok_or_else(|| {
        Error::Usage(format!(
            "no runs in {} yet (run `hpflow run WORKFLOW.yaml` first; a run keeps its runs/ \
             beside the workflow file, so name the file, run from its folder, or give --runs-dir)",
            layout.root().display()
        ))
    })?;
    Ok(db.with_live_run(live_run(layout).is_some()))
}

/// The pid of the `hpflow run` working in this runs folder, if one is alive.
pub fn live_run(layout: &Layout) -> Option<String> {
    crate::store::lock::RunLock::holder(&layout.lock())
}

/// Write to standard output; a reader that went away (`| head`) ends the output quietly.
/// For commands that keep SIGPIPE ignored (`run`): the others die of it quietly.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("standard output", e))
        }
        _ => Ok(()),
    }
}

/// A workflow named by its file or its name: (name, [(stage, job id)]). A file is planned
/// afresh, so the jobs are those its current content would run.
pub fn workflow_jobs(db: &Db, arg: &str) -> Result<(String, Vec<(String, String)>)> {
    let path = Path::new(arg);
    if path.is_file() {
        let wf = crate::workflow::load(path)?;
        let plan = crate::plan::build(&wf)?;
        let jobs = plan
            .jobs
            .iter()
            .map(|j| (j.stage.clone(), j.id.clone()))
            .collect();
        return Ok((wf.name, jobs));
    }
    let jobs = db.workflow_jobs(arg)?;
    if jobs.is_empty() {
        let known: Vec<String> = db.workflows()?.into_iter().map(|(n, _)| n).collect();
        return Err(Error::Usage(format!(
            "no workflow {arg:?} in this runs folder (known: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    }
    Ok((arg.to_string(), jobs))
}

/// Print rows as aligned columns (the first row is the header).
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i + 1 == r.len() {
                    s.clone()
                } else {
                    format!("{s:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    emit(&format!(
        "{}\n",
        serde_json::to_string_pretty(v).map_err(Error::internal)?
    ))
}

/// The epochs a trial's folder holds (`metrics.jsonl`), as (epoch, metrics): what a trial
/// still training has done so far.
pub fn trial_epochs_on_disk(
    layout: &Layout,
    job: &str,
    trial: usize,
) -> Vec<(u32, serde_json::Value)> {
    let path = layout.trial(job, trial).metrics();
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<crate::train::protocol::EpochMetrics>(l).ok())
        .map(|m| (m.epoch, serde_json::to_value(&m.values).unwrap_or_default()))
        .collect()
}

/// Write a command's output to a file, or to standard output when there is none or it is `-`.
pub fn write_output(output: Option<&Path>, text: &str) -> Result<bool> {
    match output.filter(|p| p.as_os_str() != "-") {
        Some(p) => crate::store::atomic::write(p, text.as_bytes()).map(|()| true),
        None => emit(text).map(|()| false),
    }
}

/// `write_output` for output made piece by piece (an export of many trials): a file is
/// written under a temp name and renamed into place once whole; standard output is buffered,
/// and a reader that goes away (a closed pipe) ends it quietly.
pub fn stream_output(
    output: Option<&Path>,
    f: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
) -> Result<bool> {
    use std::io::Write;
    match output.filter(|p| p.as_os_str() != "-") {
        Some(p) => {
            crate::store::atomic::write_streamed(p, f)?;
            Ok(true)
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            match f(&mut w).and_then(|()| w.flush().map_err(|e| Error::io("standard output", e))) {
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::BrokenPipe =>
                {
                    Ok(false)
                }
                other => other.map(|()| false),
            }
        }
    }
}

/// A metric value for people: 4 decimals, or `-`.
pub fn fmt_value(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

/// A search's early stopping for people: how many trials stopped, and the winner's best epoch.
pub fn stopped_note(best: &crate::stage::output::SearchOutput) -> Option<String> {
    let n = best.stopped_early?;
    let winner = match &best.early_stopping {
        Some(e) => format!(
            ", the winner's best epoch {} of {}",
            e.best_epoch, e.trained
        ),
        None => String::new(),
    };
    Some(format!("{n} stopped early{winner}"))
}

/// A search's selection for people: `best val_loss 0.1234 (trial 7)`.
pub fn best_note(best: &crate::stage::output::SearchOutput) -> String {
    format!(
        "best {} {} (trial {})",
        best.metric,
        crate::stage::output::shown(best.value),
        best.trial
    )
}
