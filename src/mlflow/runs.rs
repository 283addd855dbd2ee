//! What goes to MLflow, read from the database: one `RunSpec` per trial, retrain and
//! evaluation, each with the key that finds it again.

use serde_json::Value;

use crate::error::Result;
use crate::stage::output::Outputs;
use crate::store::Db;

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub step: i64,
}

#[derive(Debug, Clone)]
pub struct RunSpec {
    /// `JOB/trial/N`, `JOB/retrain`, `JOB/evaluate`: the `hpflow.key` tag.
    pub key: String,
    pub name: String,
    pub params: Vec<(String, String)>,
    pub metrics: Vec<Metric>,
    pub tags: Vec<(String, String)>,
    /// MLflow's run status: FINISHED, FAILED or RUNNING.
    pub status: &'static str,
    /// The job's start and end, in ms: also every metric point's timestamp, so that a second
    /// export sends the same points again rather than new ones.
    pub time_ms: i64,
    pub end_ms: i64,
}

fn status(state: &str) -> &'static str {
    match state {
        "done" => "FINISHED",
        "running" | "queued" | "issued" => "RUNNING",
        _ => "FAILED",
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn params_of(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

fn metrics_of(v: &Value, step: i64) -> Vec<Metric> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            Some(Metric {
                key: k.clone(),
                value: v.as_f64()?,
                step,
            })
        })
        .collect()
}

/// Every run of a workflow's jobs that have run.
pub fn collect(db: &Db, workflow: &str, jobs: &[(String, String)]) -> Result<Vec<RunSpec>> {
    let mut out = Vec::new();
    for (stage, id) in jobs {
        let Some(job) = db.job(id)? else { continue };
        let time_ms = (job.started_at.unwrap_or(0.0) * 1000.0) as i64;
        let end_ms = job.finished_at.map_or(time_ms, |t| (t * 1000.0) as i64);
        let tags = |extra: &[(&str, String)]| -> Vec<(String, String)> {
            [
                ("hpflow.workflow", workflow.to_string()),
                ("hpflow.stage", stage.clone()),
                ("hpflow.job", id.clone()),
                ("hpflow.kind", job.kind.clone()),
            ]
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
        };
        match job.kind.as_str() {
            "search" => {
                let fixed = db.job_key(id)?.map(|k| k["config"]["params"].clone());
                let items = db.items(id)?;
                for t in db.trials(id)? {
                    let mut params = params_of(fixed.as_ref().unwrap_or(&Value::Null));
                    params.retain(|(k, _)| t.config.get(k).is_none());
                    params.extend(params_of(&t.config));
                    params.sort();
                    let metrics = db
                        .epochs(id, t.trial)?
                        .into_iter()
                        .flat_map(|(e, m)| metrics_of(&m, i64::from(e)))
                        .collect();
                    let rung = items.iter().filter(|i| i.item.trial == t.trial).count();
                    out.push(RunSpec {
                        key: format!("{id}/trial/{}", t.trial),
                        name: format!("{stage} trial {}", t.trial),
                        params,
                        metrics,
                        tags: tags(&[
                            ("hpflow.trial", t.trial.to_string()),
                            ("hpflow.state", t.state.to_string()),
                            ("hpflow.epochs", t.epochs.to_string()),
                            // Rungs reached: 0 for a trial that was never promoted.
                            ("hpflow.rung", rung.saturating_sub(1).to_string()),
                        ]),
                        status: status(t.state.as_str()),
                        time_ms,
                        end_ms,
                    });
                }
            }
            "retrain" | "evaluate" => {
                let (params, metrics, step) = match Outputs::of_row(db, &job)? {
                    Some(Outputs::Retrain(r)) => {
                        let mut params: Vec<(String, String)> = (r.config.iter())
                            .map(|(k, v)| (k.clone(), text(v)))
                            .collect();
                        params.push(("hpflow.on".into(), r.on.as_str().into()));
                        params.push(("hpflow.epochs".into(), r.epochs.to_string()));
                        params.push(("hpflow.from_trial".into(), r.from_trial.to_string()));
                        (params, r.metrics, i64::from(r.epochs))
                    }
                    Some(Outputs::Evaluate(e)) => {
                        let params = vec![("hpflow.model_from".into(), e.model_from.clone())];
                        (params, e.metrics, 0)
                    }
                    _ => (Vec::new(), Default::default(), 0),
                };
                let metrics = (metrics.into_iter())
                    .filter(|(_, v)| v.is_finite())
                    .map(|(key, value)| Metric { key, value, step })
                    .collect();
                out.push(RunSpec {
                    key: format!("{id}/{}", job.kind),
                    name: if job.kind == "retrain" {
                        format!("{stage} (retrain)")
                    } else {
                        format!("{stage} (test set)")
                    },
                    params,
                    metrics,
                    tags: tags(&[("hpflow.state", job.status.to_string())]),
                    status: status(job.status.as_str()),
                    time_ms,
                    end_ms,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}
