//! The evaluate stage: the only code that opens the sealed test rows. Every opening is
//! appended to the hash-chained access log before the rows are read.

use crate::error::{Error, Result};
use crate::stage::output::{self, EvaluateOutput, Metrics, RetrainOutput};
use crate::stage::{Ctx, read_json};
use crate::train::TrainerSpec;
use crate::train::protocol::{Mode, TrialState};
use crate::workers::single::run_one;
use crate::workflow::EvaluateSpec;

/// The sealed test rows of a split job: their count and the file that holds them, with the
/// opening recorded first.
/// The sealed file is checked against the hash the split recorded before anything else: a
/// file changed since is refused. The opening is then logged (hash-chained), with the
/// fingerprints of the rows it exposes; the new chain head goes into the evaluate job's
/// results (`access`), so that a log cut after it, or rewritten, no longer matches a finished
/// evaluation. The count is of the rows in the file, the rows measured.
fn open_test(ctx: &Ctx, split_job: &str) -> Result<(usize, std::path::PathBuf)> {
    let manifest_path = ctx.layout.manifest(split_job);
    let manifest: crate::data::Manifest = read_json(&manifest_path)?;
    let path = ctx.layout.sealed_rows(split_job);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    manifest
        .check_file(&manifest_path, &path, &bytes)
        .map_err(|e| Error::JobFailed(format!("evaluate: {e}")))?;
    let entry = ctx.db.record_access(
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
    let fingerprints: Vec<String> =
        serde_json::from_value(sealed["fingerprints"].clone()).unwrap_or_default();
    ctx.db.record_looks(entry.seq, &fingerprints)?;
    // And in the user's own store, so that another project on the same rows is stopped too.
    if let Err(e) = crate::store::user_looks::record(ctx.layout.root(), &ctx.job.id, &fingerprints)
    {
        ctx.progress.line(&format!(
            "  warning: this evaluation is not in your store of looks across projects: {e}"
        ));
    }
    crate::store::atomic::write_json(
        &ctx.layout.access_receipt(&ctx.job.id),
        &serde_json::json!({"seq": entry.seq, "hash": entry.hash}),
    )?;
    let n = crate::data::rows_file::rows(&bytes)
        .map_err(|e| Error::JobFailed(format!("evaluate: {}: {e}", path.display())))?;
    Ok((n, path))
}

pub fn run(ctx: &mut Ctx, spec: &EvaluateSpec) -> Result<EvaluateOutput> {
    let retrain_job = ctx.upstream("retrain")?.clone();
    let (_, search) = ctx.upstream_search()?;
    let retrained: RetrainOutput = output::read(ctx.layout, &retrain_job.id)?;
    let result = |metrics: Metrics| EvaluateOutput {
        version: output::VERSION,
        model_from: retrain_job.id.clone(),
        metrics,
        std: None,
        seeds: None,
    };
    let metrics = match &search.trainer {
        TrainerSpec::Torch { .. } => {
            let split_job = ctx.upstream("split")?.clone();
            // Opened once, whatever the number of models: one planned look.
            let (n, test) = open_test(ctx, &split_job.id)?;
            let config = retrained.config.clone();
            // One model per retrain seed (a retrain from before seeds has its trial 0 only).
            let models = retrained.models.len().max(1);
            let mut each = Vec::new();
            for m in 0..models {
                let mode = Mode::Evaluate {
                    model_dir: ctx.layout.trial(&retrain_job.id, m).model(),
                    test: test.clone(),
                    metrics: spec.metrics.clone(),
                };
                let req = ctx.single_request(&search, mode, config.clone(), 0, m)?;
                ctx.progress.line(&format!(
                    "  evaluating retrained model {} of {models} on {n} sealed test rows",
                    m + 1
                ));
                let status = run_one(&req, m + 1 < models || ctx.next_job_runs_a_worker())?;
                if status.state != TrialState::Done {
                    return Err(Error::JobFailed(format!(
                        "evaluate: {}",
                        status.reason.unwrap_or_default()
                    )));
                }
                each.push(status.metrics);
            }
            if each.len() > 1 {
                let (mean, std) = seeds_summary(&each);
                let results = EvaluateOutput {
                    std: Some(std),
                    seeds: Some(each),
                    ..result(mean)
                };
                return finish(ctx, results);
            }
            each.pop().unwrap_or_default()
        }
        TrainerSpec::Function { name } => {
            // A test function has no test split: its exact value at full fidelity stands in.
            let x = crate::train::function::coordinates(&retrained.config);
            let v = crate::train::function::evaluate(name, &x).map_err(Error::JobFailed)?;
            // Without a known optimum, no regret: written as null.
            let regret = crate::train::function::optimum(name).map_or(f64::NAN, |o| v - o);
            [("objective".to_string(), v), ("regret".to_string(), regret)].into()
        }
        TrainerSpec::Command { .. } => {
            // The program measures its retrained model on the sealed rows itself; what it
            // prints is recorded, and nothing else ever stands in for a test result.
            let split_job = ctx.upstream("split")?.clone();
            let (n, test) = open_test(ctx, &split_job.id)?;
            let config = retrained.config.clone();
            // The metrics the workflow lists, which the program must print (the defaults
            // are the built-in models' and no program is held to them).
            let mode = Mode::Evaluate {
                model_dir: ctx.layout.trial(&retrain_job.id, 0).command_checkpoint(),
                test,
                metrics: if spec.listed {
                    spec.metrics.clone()
                } else {
                    Vec::new()
                },
            };
            let req = ctx.single_request(&search, mode, config, 0, 0)?;
            ctx.progress.line(&format!(
                "  running the program in evaluate mode on {n} sealed test rows"
            ));
            let status = run_one(&req, false)?;
            if status.state != TrialState::Done {
                return Err(Error::JobFailed(format!(
                    "evaluate: {}",
                    status.reason.unwrap_or_default()
                )));
            }
            status.metrics
        }
    };
    finish(ctx, result(metrics))
}

/// Mean and standard deviation (n - 1) of each metric over the models of several seeds.
fn seeds_summary(each: &[Metrics]) -> (Metrics, Metrics) {
    let mut mean = Metrics::new();
    let mut std = Metrics::new();
    for k in each[0].keys() {
        let xs: Vec<f64> = each.iter().filter_map(|m| m.get(k).copied()).collect();
        let n = xs.len() as f64;
        let mu = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        mean.insert(k.clone(), mu);
        std.insert(k.clone(), var.sqrt());
    }
    (mean, std)
}

fn finish(ctx: &mut Ctx, results: EvaluateOutput) -> Result<EvaluateOutput> {
    for (k, v) in &results.metrics {
        let spread = (results.std.as_ref())
            .and_then(|s| s.get(k))
            .map(|s| {
                format!(
                    " ± {s:.4} over {} seeds",
                    results.seeds.as_ref().map_or(0, Vec::len)
                )
            })
            .unwrap_or_default();
        ctx.progress
            .line(&format!("  {k:<16} {}{spread}", output::shown(*v)));
    }
    output::write(ctx.layout, &ctx.job.id, &results)?;
    Ok(results)
}
