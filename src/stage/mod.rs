//! The four stage kinds. Each runs one job and returns a summary of its outputs; the
//! coordinator (`exec`) commits the job only after the stage returned.

pub mod evaluate;
pub mod retention;
pub mod retrain;
pub mod search;
pub mod split;

use crate::error::{Error, Result};
use crate::exec::progress::Progress;
use crate::plan::{Job, Plan};
use crate::store::{Db, Layout};
use crate::train::protocol::DataRef;
use crate::workflow::{Stage, StageSpec, Workflow};

pub struct Ctx<'a> {
    pub wf: &'a Workflow,
    pub plan: &'a Plan,
    pub job: &'a Job,
    pub stage: &'a Stage,
    pub layout: &'a Layout,
    pub db: &'a Db,
    pub progress: &'a mut Progress,
}

impl Ctx<'_> {
    /// The job of the nearest upstream stage of a kind.
    pub fn upstream(&self, kind: &str) -> Result<&Job> {
        let stage = self.wf.upstream(self.stage, kind).ok_or_else(|| {
            Error::internal(format!("{} has no {kind} upstream", self.stage.name))
        })?;
        self.plan
            .job(&stage.name)
            .ok_or_else(|| Error::internal(format!("no job for stage {}", stage.name)))
    }

    /// Where trials find their data: the dataset and the split's manifest (never the test rows).
    pub fn data_ref(&self) -> Result<Option<DataRef>> {
        let Some(spec) = &self.wf.data else {
            return Ok(None);
        };
        let Ok(split) = self.upstream("split") else {
            return Ok(None);
        };
        let group = match self.wf.stage(&split.stage).map(|s| &s.spec) {
            Some(StageSpec::Split(opts)) => opts.group.clone(),
            _ => None,
        };
        Ok(Some(DataRef {
            spec: spec.clone(),
            base_dir: self.wf.base_dir.clone(),
            manifest: self.layout.manifest(&split.id),
            group,
        }))
    }
}

pub fn run(ctx: &mut Ctx) -> Result<serde_json::Value> {
    match &ctx.stage.spec {
        StageSpec::Split(opts) => split::run(ctx, opts),
        StageSpec::Search(spec) => search::run(ctx, spec),
        StageSpec::Retrain(spec) => retrain::run(ctx, spec),
        StageSpec::Evaluate(spec) => evaluate::run(ctx, spec),
    }
}

/// Are a done job's outputs still on disk? If not, it is redone.
pub fn outputs_present(layout: &Layout, job: &Job) -> bool {
    match job.kind {
        "split" => layout.manifest(&job.id).exists() && layout.sealed_test(&job.id).exists(),
        "search" => layout.best(&job.id).exists(),
        "retrain" | "evaluate" => layout.results(&job.id).exists(),
        _ => false,
    }
}
