//! The retrain stage: train the configuration the search selected, on train or train+val,
//! for the epochs the winning trial reached (or a stated number), and keep the final model.

use serde_json::json;

use crate::error::{Error, Result};
use crate::exec::single::run_one;
use crate::stage::Ctx;
use crate::train::protocol::{Mode, TrainRequest, TrialState};
use crate::train::trial_seed;
use crate::workflow::{RetrainSpec, StageSpec};

pub fn run(ctx: &mut Ctx, spec: &RetrainSpec) -> Result<serde_json::Value> {
    let search_job = ctx.upstream("search")?;
    let StageSpec::Search(search) = &ctx
        .wf
        .stage(&search_job.stage)
        .ok_or_else(|| Error::internal("search stage missing"))?
        .spec
    else {
        return Err(Error::internal("upstream is not a search"));
    };
    let best_path = ctx.layout.best(&search_job.id);
    let best: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&best_path).map_err(|e| Error::io(&best_path, e))?,
    )
    .map_err(|e| Error::internal(format!("{}: {e}", best_path.display())))?;
    let config = serde_json::from_value(best["config"].clone()).map_err(Error::internal)?;
    let epochs = spec
        .epochs
        .unwrap_or(best["epochs"].as_u64().unwrap_or(1) as u32);
    let req = TrainRequest {
        id: 1,
        trial: 0,
        trial_dir: ctx.layout.trial(&ctx.job.id, 0),
        trainer: search.trainer.clone(),
        mode: Mode::Retrain {
            on: spec.on.clone(),
        },
        config,
        epochs,
        max_epochs: search.epochs,
        clone_from: None,
        seed: trial_seed(ctx.wf.seed, "retrain", 0),
        device: ctx.wf.device.clone(),
        threads: search.threads,
        data: ctx.data_ref()?,
        metric: search.metric.name.clone(),
    };
    ctx.progress.line(&format!(
        "  retraining trial {} on {} for {epochs} epochs",
        best["trial"], spec.on
    ));
    let status = run_one(&req)?;
    if status.state != TrialState::Done {
        return Err(Error::JobFailed(format!(
            "retrain {}: {}",
            status.state.as_str(),
            status.reason.unwrap_or_default()
        )));
    }
    let results = json!({
        "from_search": search_job.id,
        "from_trial": best["trial"],
        "config": req.config,
        "on": spec.on,
        "epochs": status.epoch,
        "metrics": status.metrics,
        "seconds": status.seconds,
    });
    crate::store::atomic::write_json(&ctx.layout.results(&ctx.job.id), &results)?;
    Ok(results)
}
