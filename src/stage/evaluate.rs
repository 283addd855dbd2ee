//! The evaluate stage: the only code that opens the sealed test rows. Every opening is
//! appended to the hash-chained access log before the rows are read.

use serde_json::json;

use crate::error::{Error, Result};
use crate::exec::single::run_one;
use crate::stage::Ctx;
use crate::train::TrainerSpec;
use crate::train::protocol::{Mode, TrainRequest, TrialState};
use crate::train::trial_seed;
use crate::workflow::{EvaluateSpec, StageSpec};

/// The sealed test rows of a split job, with the opening recorded first.
fn open_test(ctx: &Ctx, split_job: &str) -> Result<Vec<u32>> {
    let manifest_path = ctx.layout.manifest(split_job);
    let manifest: crate::data::Manifest = read_json(&manifest_path)?;
    ctx.db.record_access(
        &ctx.job.id,
        "evaluate",
        split_job,
        "test",
        &manifest.test_hash,
    )?;
    let sealed: serde_json::Value = read_json(&ctx.layout.sealed_test(split_job))?;
    if sealed["hash"].as_str() != Some(manifest.test_hash.as_str()) {
        return Err(Error::JobFailed(format!(
            "the sealed test file of split {split_job} does not match its manifest's hash"
        )));
    }
    serde_json::from_value(sealed["rows"].clone()).map_err(Error::internal)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::internal(format!("{}: {e}", path.display())))
}

pub fn run(ctx: &mut Ctx, spec: &EvaluateSpec) -> Result<serde_json::Value> {
    let retrain_job = ctx.upstream("retrain")?.clone();
    let search_job = ctx.upstream("search")?.clone();
    let StageSpec::Search(search) = &ctx
        .wf
        .stage(&search_job.stage)
        .ok_or_else(|| Error::internal("no search"))?
        .spec
    else {
        return Err(Error::internal("upstream is not a search"));
    };
    let retrained: serde_json::Value = read_json(&ctx.layout.results(&retrain_job.id))?;
    let metrics = match &search.trainer {
        TrainerSpec::Torch { .. } => {
            let split_job = ctx.upstream("split")?.clone();
            let test_rows = open_test(ctx, &split_job.id)?;
            let n = test_rows.len();
            let req = TrainRequest {
                id: 1,
                trial: 0,
                trial_dir: ctx.layout.trial(&ctx.job.id, 0),
                trainer: search.trainer.clone(),
                mode: Mode::Evaluate {
                    model_dir: ctx.layout.model(&retrain_job.id),
                    test_rows,
                    metrics: spec.metrics.clone(),
                },
                config: serde_json::from_value(retrained["config"].clone())
                    .map_err(Error::internal)?,
                epochs: 0,
                max_epochs: search.epochs,
                clone_from: None,
                seed: trial_seed(ctx.wf.seed, "evaluate", 0),
                device: ctx.wf.device.clone(),
                threads: search.threads,
                data: ctx.data_ref()?,
                metric: search.metric.name.clone(),
            };
            ctx.progress.line(&format!(
                "  evaluating the retrained model on {n} sealed test rows"
            ));
            let status = run_one(&req)?;
            if status.state != TrialState::Done {
                return Err(Error::JobFailed(format!(
                    "evaluate: {}",
                    status.reason.unwrap_or_default()
                )));
            }
            serde_json::to_value(status.metrics).map_err(Error::internal)?
        }
        TrainerSpec::Function { name } => {
            // A test function has no test split: its exact value at full fidelity stands in.
            let config =
                serde_json::from_value(retrained["config"].clone()).map_err(Error::internal)?;
            let x = crate::train::function::coordinates(&config);
            let v = crate::train::function::evaluate(name, &x).map_err(Error::JobFailed)?;
            let regret = crate::train::function::optimum(name).map(|o| v - o);
            json!({ "objective": v, "regret": regret })
        }
        TrainerSpec::Command { .. } => retrained["metrics"].clone(),
    };
    let results = json!({ "model_from": retrain_job.id, "metrics": metrics });
    for (k, v) in metrics.as_object().into_iter().flatten() {
        ctx.progress.line(&format!(
            "  {k:<16} {}",
            v.as_f64().map_or(v.to_string(), |x| format!("{x:.4}"))
        ));
    }
    crate::store::atomic::write_json(&ctx.layout.results(&ctx.job.id), &results)?;
    Ok(results)
}
