//! The four stage kinds. Each runs one job and returns its outputs (typed in `output`); the
//! coordinator (`exec`) commits the job only after the stage returned.

pub mod evaluate;
pub mod output;
pub mod retention;
pub mod retrain;
pub mod search;
pub mod split;

use crate::error::{Error, Result};
use crate::plan::{Job, Plan};
use crate::progress::Progress;
use crate::search::Config;
use crate::store::{Db, Layout};
use crate::train::protocol::{DataRef, Mode, TrainRequest};
use crate::workflow::{SearchSpec, Stage, StageSpec, Workflow};

pub struct Ctx<'a> {
    pub wf: &'a Workflow,
    pub plan: &'a Plan,
    pub job: &'a Job,
    pub stage: &'a Stage,
    pub layout: &'a Layout,
    pub db: &'a Db,
    pub progress: &'a mut Progress,
    /// `hpflow run --retry-failed`: a done search trains its failed trials again.
    pub retry_failed: bool,
}

impl Ctx<'_> {
    /// Whether the job after this one in the plan starts a worker of its own: a retrain or an
    /// evaluate not done already (`workers::spare` starts it ahead).
    pub fn next_job_runs_a_worker(&self) -> bool {
        let jobs = &self.plan.jobs;
        let Some(next) =
            (jobs.iter().position(|j| j.id == self.job.id)).and_then(|k| jobs.get(k + 1))
        else {
            return false;
        };
        let done = (self.db.job(&next.id).ok().flatten())
            .is_some_and(|row| row.status == crate::vocab::JobState::Done);
        matches!(next.kind, "retrain" | "evaluate") && !done
    }

    /// The job of the nearest upstream stage of a kind.
    pub fn upstream(&self, kind: &str) -> Result<&Job> {
        let stage = self.wf.upstream(self.stage, kind).ok_or_else(|| {
            Error::internal(format!("{} has no {kind} upstream", self.stage.name))
        })?;
        self.plan
            .job(&stage.name)
            .ok_or_else(|| Error::internal(format!("no job for stage {}", stage.name)))
    }

    /// The nearest upstream search: its job and its spec (cloned: stages hold `&mut Ctx`).
    pub fn upstream_search(&self) -> Result<(Job, SearchSpec)> {
        let job = self.upstream("search")?.clone();
        match self.wf.stage(&job.stage).map(|s| &s.spec) {
            Some(StageSpec::Search(spec)) => Ok((job, spec.clone())),
            _ => Err(Error::internal("upstream is not a search")),
        }
    }

    /// A request of a retrain or evaluate job: trial `trial` (one per seed) in the job's own
    /// folder, the search's trainer and settings, a seed of its own.
    pub fn single_request(
        &self,
        search: &SearchSpec,
        mode: Mode,
        config: Config,
        epochs: u32,
        trial: usize,
    ) -> Result<TrainRequest> {
        Ok(TrainRequest {
            id: 1,
            trial,
            trial_dir: self.layout.trial(&self.job.id, trial).to_path_buf(),
            trainer: search.trainer.clone(),
            mode,
            config,
            epochs,
            // A schedule's horizon: the search's, unless a retrain asks for more epochs.
            max_epochs: search.epochs.max(epochs),
            clone_from: None,
            seed: crate::train::trial_seed(self.wf.seed, self.job.kind, trial),
            device: self.wf.device.clone(),
            threads: search.threads,
            data: self.data_ref()?,
            metric: search.metric.name.clone(),
            workdir: Some(self.wf.base_dir.clone()),
            // Retrain trains a fixed number of epochs (the winner's best): nothing stops it.
            early_stopping: None,
        })
    }

    /// Where trials find their data: the split's train and val files and its manifest (never
    /// the test rows, never the data source).
    pub fn data_ref(&self) -> Result<Option<DataRef>> {
        let Some(spec) = &self.wf.data else {
            return Ok(None);
        };
        let Ok(split) = self.upstream("split") else {
            return Ok(None);
        };
        Ok(Some(DataRef {
            train: self.layout.split_rows(&split.id, "train"),
            val: self.layout.split_rows(&split.id, "val"),
            manifest: self.layout.manifest(&split.id),
            task: spec.task,
        }))
    }
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::internal(format!("{}: {e}", path.display())))
}

pub fn run(ctx: &mut Ctx) -> Result<output::Outputs> {
    use output::Outputs;
    Ok(match &ctx.stage.spec {
        StageSpec::Split(opts) => Outputs::Split(split::run(ctx, opts)?),
        StageSpec::Search(spec) => Outputs::Search(search::run(ctx, spec)?),
        StageSpec::Retrain(spec) => Outputs::Retrain(retrain::run(ctx, spec)?),
        StageSpec::Evaluate(spec) => Outputs::Evaluate(evaluate::run(ctx, spec)?),
    })
}

/// Are a done job's outputs still on disk? If not, it is redone.
pub fn outputs_present(layout: &Layout, job: &Job) -> bool {
    match job.kind {
        "split" => {
            [
            layout.manifest(&job.id),
            layout.sealed_test(&job.id),
            layout.sealed_rows(&job.id),
            layout.split_rows(&job.id, "train"),
            layout.split_rows(&job.id, "val"),
            layout.split_fingerprints(&job.id),
        ]
        .iter()
        .all(|p| p.exists())
            // A split from before file hashes is made again, so that its readers can check.
            && read_json::<crate::data::Manifest>(&layout.manifest(&job.id))
                .is_ok_and(|m| !m.files.is_empty())
        }
        "search" => layout.best(&job.id).exists(),
        "retrain" | "evaluate" => layout.results(&job.id).exists(),
        _ => false,
    }
}
