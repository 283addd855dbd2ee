//! The evaluate stage: the only code that opens the sealed test rows. Every opening is
//! appended to the hash-chained access log before the rows are read.

use serde_json::json;

use crate::error::{Error, Result};
use crate::stage::{Ctx, read_json};
use crate::train::TrainerSpec;
use crate::train::protocol::{Mode, TrialState};
use crate::workers::single::run_one;
use crate::workflow::EvaluateSpec;

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

pub fn run(ctx: &mut Ctx, spec: &EvaluateSpec) -> Result<serde_json::Value> {
    let retrain_job = ctx.upstream("retrain")?.clone();
    let (_, search) = ctx.upstream_search()?;
    let retrained: serde_json::Value = read_json(&ctx.layout.results(&retrain_job.id))?;
    let metrics = match &search.trainer {
        TrainerSpec::Torch { .. } => {
            let split_job = ctx.upstream("split")?.clone();
            let test_rows = open_test(ctx, &split_job.id)?;
            let n = test_rows.len();
            let mode = Mode::Evaluate {
                model_dir: ctx.layout.model(&retrain_job.id),
                test_rows,
                metrics: spec.metrics.clone(),
            };
            let config =
                serde_json::from_value(retrained["config"].clone()).map_err(Error::internal)?;
            let req = ctx.single_request(&search, mode, config, 0)?;
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
