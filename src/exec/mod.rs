//! The coordinator: `hpflow run`. It holds the runs folder's lock, records the workflow, and
//! runs each job of the plan in order, skipping the ones already done (their outputs still on
//! disk). A job is marked done only after its outputs are in place; a job that was running
//! when the previous coordinator died is simply run again and resumes from what it left.

use serde::Serialize;

mod retry;
pub mod second_look;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::stage::output::Outputs;
use crate::stage::{self, Ctx};
use crate::store::{Db, Layout, atomic, lock::RunLock};
use crate::vocab::JobState;
use crate::workflow::{self as stage_spec, Workflow};

use crate::progress::Progress;

#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    pub stage: String,
    pub job: String,
    /// `cached` (done before), `done` (ran now).
    pub status: String,
    /// Its time in this run.
    pub seconds: f64,
    /// A resumed search's time over this run and the earlier ones (as its time budget counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_all_runs: Option<f64>,
    pub outputs: Outputs,
}

pub fn run(
    wf: &Workflow,
    plan: &Plan,
    layout: &Layout,
    quiet: bool,
    allow_second_look: bool,
    retry_failed: bool,
    until: Option<&str>,
) -> Result<Vec<JobOutcome>> {
    crate::train::sandbox::check().map_err(Error::Usage)?;
    let _lock = RunLock::acquire(&layout.lock())?;
    let sources: Vec<std::path::PathBuf> = (wf.data.iter())
        .filter_map(|d| d.path.as_ref())
        .map(|p| wf.base_dir.join(p))
        .collect();
    crate::train::sandbox::hide_from_trials(&sources);
    let db = Db::open(&layout.db())?;
    // `--until STAGE`: that stage and the stages it needs; nothing after (no test set spent).
    let plan_all = plan;
    let reduced;
    let plan = match until {
        Some(stage) => {
            reduced = plan.up_to(stage)?;
            &reduced
        }
        None => plan,
    };
    second_look::check(wf, plan, layout, &db, allow_second_look)?;
    let retry = retry::plan(wf, plan, &db, retry_failed)?;
    let jobs: Vec<(String, String)> = plan_all
        .jobs
        .iter()
        .map(|j| (j.stage.clone(), j.id.clone()))
        .collect();
    // Absolute: `gc` and `status` find the file again from any folder.
    let file = std::path::absolute(&wf.file).unwrap_or_else(|_| wf.file.clone());
    db.record_workflow(&wf.name, &file, &jobs)?;
    crate::signals::install();
    crate::signals::stop_when_output_closes();
    let mut progress = Progress::new(quiet);
    progress.line(&format!("runs folder {}", layout.root().display()));
    // Once per run, even with -q: unconfined trials are a finding of the audit.
    if let Some(why) = crate::train::sandbox::why_not() {
        crate::progress::say(&format!("warning: {why}"));
    }
    let mut outcomes = Vec::new();
    for job in &plan.jobs {
        let stage = wf
            .stage(&job.stage)
            .ok_or_else(|| Error::internal("plan names an unknown stage"))?;
        let short = crate::store::layout::short(&job.id);
        let retrying = retry.searches.get(&job.id);
        if let Some(row) = db.job(&job.id)? {
            // After a retried search, a done job's result may no longer follow from it.
            let redo = row.status == JobState::Done && retry.redo.contains(&job.id);
            if row.status == JobState::Failed || redo {
                // Whatever made it fail (a missing module, a full disk) may be fixed now;
                // its partial records would only steer a retry wrongly. Start it over.
                progress.line(&format!(
                    "{:<10} {short}  {}: starting over",
                    job.stage,
                    if redo {
                        "after the retried search"
                    } else {
                        "failed last time"
                    }
                ));
                db.reset_job(&job.id)?;
                let dir = layout.job(&job.id);
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                }
            }
            if let Some(n) = retrying {
                progress.line(&format!(
                    "{:<10} {short}  retrying {}",
                    job.stage,
                    crate::text::plural(*n as u64, "failed trial")
                ));
            } else if row.status == JobState::Done && !redo {
                let outputs = Outputs::of_row(&db, &row)?;
                let regrow = (outputs.as_ref())
                    .and_then(|o| stage::search::budget_changed(stage, o.search()?));
                if let Some(change) = &regrow {
                    // A sweep that grows (or shrinks): the same job, run on under the new
                    // budget; its recorded items are kept (see stage::search::grow).
                    progress.line(&format!("{:<10} {short}  {change}", job.stage));
                } else if let Some(outputs) =
                    outputs.filter(|_| stage::outputs_present(layout, job))
                {
                    progress.line(&format!("{:<10} {short}  cached", job.stage));
                    too_many_failures(wf, stage, &outputs)?;
                    outcomes.push(JobOutcome {
                        stage: job.stage.clone(),
                        job: job.id.clone(),
                        status: "cached".into(),
                        seconds: 0.0,
                        seconds_all_runs: None,
                        outputs,
                    });
                    continue;
                }
                if regrow.is_none() {
                    progress.line(&format!(
                        "{:<10} {short}  outputs missing: redoing",
                        job.stage
                    ));
                    db.reset_job(&job.id)?;
                    let dir = layout.job(&job.id);
                    if dir.exists() {
                        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                    }
                }
            }
        }
        progress.line(&format!("{:<10} {short}  running", job.stage));
        atomic::write_json(&layout.job_key(&job.id), &job.key)?;
        let running = db.start_job(&job.id, job.kind, &job.stage, &job.key.canonical())?;
        let started = std::time::Instant::now();
        let mut ctx = Ctx {
            wf,
            plan,
            job,
            stage,
            layout,
            db: &db,
            progress: &mut progress,
            retry_failed: retrying.is_some(),
        };
        match stage::run(&mut ctx) {
            Ok(outputs) => {
                running.commit(&outputs)?;
                let seconds = started.elapsed().as_secs_f64();
                // A resumed search: its time over every run too, as its time budget counts it.
                let all_runs = if job.kind == "search" {
                    Some(db.search_seconds(&job.id)?).filter(|&all| all - seconds >= 0.05)
                } else {
                    None
                };
                progress.line(&format!(
                    "{:<10} {short}  done in {}",
                    job.stage,
                    took(seconds, all_runs)
                ));
                too_many_failures(wf, stage, &outputs)?;
                outcomes.push(JobOutcome {
                    stage: job.stage.clone(),
                    job: job.id.clone(),
                    status: "done".into(),
                    seconds,
                    seconds_all_runs: all_runs,
                    outputs,
                });
            }
            Err(Error::Interrupted) => {
                running.interrupt()?;
                return Err(Error::Interrupted);
            }
            Err(e @ Error::DiskFull { .. }) => {
                // Not the job's fault: it resumes where it stopped once there is room (a
                // failed job would start over). The record may not fit either; then it
                // stays `running`, which a later run resumes just the same.
                let _ = running.interrupt();
                return Err(e);
            }
            Err(e) => {
                running.fail(&e.to_string())?;
                return Err(match e {
                    Error::JobFailed(m) if !m.starts_with("stage ") => {
                        Error::JobFailed(format!("stage {}: {m}", job.stage))
                    }
                    other => other,
                });
            }
        }
    }
    Ok(outcomes)
}

/// A job's time for people: this run's, and a resumed search's over all its runs.
pub fn took(seconds: f64, all_runs: Option<f64>) -> String {
    match all_runs {
        Some(all) => format!("{seconds:.1}s ({all:.1}s with the earlier runs)"),
        None => format!("{seconds:.1}s"),
    }
}

/// A search whose failed trials exceed its `max_failed` fraction does not hand its result to
/// the stages that need it: a configuration chosen among the survivors of a broken sweep is
/// not worth a look at the test set. The search itself stays done, so raising `max_failed`
/// (or fixing the cause and rerunning) costs no trial twice.
fn too_many_failures(wf: &Workflow, stage: &stage_spec::Stage, outputs: &Outputs) -> Result<()> {
    let (stage_spec::StageSpec::Search(spec), Outputs::Search(best)) = (&stage.spec, outputs)
    else {
        return Ok(());
    };
    let (failed, trials) = (best.failed, best.trials);
    let needed = wf.stages.iter().any(|s| s.needs.contains(&stage.name));
    if !needed || trials == 0 || failed as f64 <= spec.max_failed * trials as f64 {
        return Ok(());
    }
    let why = (best.failure.as_ref())
        .map(|f| format!("; most often: {} (trial {})", f.reason, f.trial))
        .unwrap_or_default();
    Err(Error::JobFailed(format!(
        "stage {}: {failed} of {trials} trials failed, more than max_failed ({}) allows{why}; \
         the stages after it do not run (fix the cause and run again with --retry-failed, \
         or raise max_failed)",
        stage.name, spec.max_failed
    )))
}
