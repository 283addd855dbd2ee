//! The retrain stage: train the configuration the search selected, on train or train+val,
//! for the epochs the winning trial's value was measured at (its best epoch under early
//! stopping) or a stated number, and keep the final model.

use crate::error::{Error, Result};
use crate::stage::Ctx;
use crate::stage::output::{self, RetrainOutput, RetrainedModel, SearchOutput};
use crate::train::protocol::{Mode, TrialState};
use crate::vocab::RetrainOn;
use crate::workers::single::run_one;
use crate::workflow::RetrainSpec;

pub fn run(ctx: &mut Ctx, spec: &RetrainSpec) -> Result<RetrainOutput> {
    let (search_job, search) = ctx.upstream_search()?;
    let best: SearchOutput = output::read(ctx.layout, &search_job.id)?;
    let config = best.config.clone();
    let epochs = spec.epochs.unwrap_or(best.epochs);
    // With k-fold cross-validation there are no separate val rows: every non-test row is in
    // train, and the retrain uses them all.
    let folds = super::search::folds_of(ctx)?;
    let on = if folds > 0 {
        RetrainOn::TrainVal
    } else {
        spec.on
    };
    let mode = Mode::Retrain { on };
    let mut models = Vec::new();
    let mut first = None;
    for seed in 0..spec.seeds as usize {
        let req = ctx.single_request(&search, mode.clone(), config.clone(), epochs, seed)?;
        // A test function has no rows: "on train+val" would name data that is not there.
        let rows = match &search.trainer {
            crate::train::TrainerSpec::Function { name } => {
                format!("{name} at its configuration (a function has no data)")
            }
            _ if folds > 0 => "on every non-test row (k-fold)".to_string(),
            _ => format!("on {}", on.as_str()),
        };
        ctx.progress.line(&format!(
            "  retraining trial {} {rows} for {}{}",
            best.trial,
            crate::text::plural(epochs, "epoch"),
            if spec.seeds > 1 {
                format!(" (seed {} of {})", seed + 1, spec.seeds)
            } else {
                String::new()
            }
        ));
        let status = run_one(
            &req,
            seed + 1 < spec.seeds as usize || ctx.next_job_runs_a_worker(),
        )?;
        if status.state != TrialState::Done {
            return Err(Error::JobFailed(format!(
                "retrain {}: {}",
                status.state.as_str(),
                status.reason.unwrap_or_default()
            )));
        }
        // Evaluate reads a `command` program's model from its checkpoint folder, and a done
        // retrain is never trained again: the folder must outlive a power loss. (The built-in
        // trainers' model folder is written durably by the worker.)
        let program_model = crate::train::TrialDir::of(&req.trial_dir).command_checkpoint();
        if program_model.is_dir() {
            crate::store::atomic::sync_tree(&program_model)?;
        }
        models.push(RetrainedModel {
            trial: seed,
            epochs: status.epoch,
            metrics: status.metrics.clone(),
        });
        first.get_or_insert((req, status));
    }
    let (req, status) = first.ok_or_else(|| Error::internal("retrain with no seed"))?;
    let results = RetrainOutput {
        version: output::VERSION,
        from_search: search_job.id.clone(),
        from_trial: best.trial,
        config: req.config,
        on,
        epochs: status.epoch,
        metrics: status.metrics,
        seconds: status.seconds,
        // One entry per seed (trial folder): the models evaluate will measure.
        models,
    };
    output::write(ctx.layout, &ctx.job.id, &results)?;
    Ok(results)
}
