//! `hpflow export WORKFLOW --format mlflow --to URI`: a workflow's runs on an MLflow tracking
//! server, through its REST API. One experiment per workflow (named after it); one run per
//! trial, one for the retrain and one for the evaluation, each with its parameters, its
//! metrics per epoch (step = epoch) and `hpflow.*` tags (state, job, stage, trial, rung). A run
//! is found again by its `hpflow.key` tag, so a second export updates the runs instead of
//! adding new ones; metric points carry fixed timestamps, so the server keeps one of each.

pub mod http;
pub mod runs;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use http::Endpoint;
pub use runs::RunSpec;

struct Client {
    ep: Endpoint,
}

fn user(e: String) -> Error {
    Error::Usage(e)
}

impl Client {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let (status, v) = http::request(&self.ep, method, &format!("api/2.0/mlflow/{path}"), body)
            .map_err(user)?;
        if status == 200 {
            return Ok(v);
        }
        Err(Error::Usage(format!(
            "MLflow answered {status} to {path}: {} {}",
            v["error_code"].as_str().unwrap_or(""),
            v["message"].as_str().unwrap_or("(no message)")
        )))
    }

    /// The experiment's id, created when it does not exist.
    fn experiment(&self, name: &str) -> Result<String> {
        let path = format!(
            "experiments/get-by-name?experiment_name={}",
            crate::text::percent_encode(name)
        );
        let (status, v) = http::request(&self.ep, "GET", &format!("api/2.0/mlflow/{path}"), None)
            .map_err(user)?;
        if status == 200
            && let Some(id) = v["experiment"]["experiment_id"].as_str()
        {
            return Ok(id.to_string());
        }
        let v = self.call("POST", "experiments/create", Some(&json!({ "name": name })))?;
        v["experiment_id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| Error::Usage(format!("MLflow created no experiment: {v}")))
    }

    /// Runs of the experiment that hpflow made, by their `hpflow.key` tag.
    fn runs_by_key(&self, experiment: &str) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({ "experiment_ids": [experiment], "max_results": 1000 });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.call("POST", "runs/search", Some(&body))?;
            for r in v["runs"].as_array().into_iter().flatten() {
                let key = r["data"]["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["key"] == "hpflow.key")
                    .and_then(|t| t["value"].as_str());
                if let (Some(k), Some(id)) = (key, r["info"]["run_id"].as_str()) {
                    out.insert(k.to_string(), id.to_string());
                }
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    fn create_run(&self, experiment: &str, spec: &RunSpec) -> Result<String> {
        let v = self.call(
            "POST",
            "runs/create",
            Some(&json!({
                "experiment_id": experiment,
                "run_name": spec.name,
                "start_time": spec.time_ms,
                "tags": [{ "key": "hpflow.key", "value": spec.key }],
            })),
        )?;
        v["run"]["info"]["run_id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| Error::Usage(format!("MLflow created no run: {v}")))
    }

    /// Everything of one run, in batches within MLflow's limits (1000 entries, 100
    /// parameters, 100 tags per request), then its status.
    fn log(&self, run: &str, spec: &RunSpec) -> Result<()> {
        let tags: Vec<Value> = spec
            .tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        let params: Vec<Value> = spec
            .params
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        let metrics: Vec<Value> = spec
            .metrics
            .iter()
            .filter(|m| m.value.is_finite())
            .map(|m| json!({ "key": m.key, "value": m.value, "step": m.step, "timestamp": spec.time_ms }))
            .collect();
        // The first batch carries the tags and parameters (at most 100 each, a limit hpflow's
        // never reach) and as many metrics as fit in 1000 entries; the rest follow.
        let first = 1000usize
            .saturating_sub(tags.len() + params.len())
            .min(metrics.len());
        let (head, rest) = metrics.split_at(first);
        self.call(
            "POST",
            "runs/log-batch",
            Some(&json!({ "run_id": run, "tags": tags, "params": params, "metrics": head })),
        )?;
        for m in rest.chunks(1000) {
            self.call(
                "POST",
                "runs/log-batch",
                Some(&json!({ "run_id": run, "metrics": m })),
            )?;
        }
        self.call(
            "POST",
            "runs/update",
            Some(&json!({ "run_id": run, "status": spec.status, "end_time": spec.end_ms })),
        )?;
        Ok(())
    }
}

/// What an export did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub experiment: String,
    pub experiment_id: String,
    pub created: usize,
    pub updated: usize,
}

/// Send `specs` to the server at `uri`, into the experiment `name`.
pub fn send(uri: &str, name: &str, specs: &[RunSpec]) -> Result<Summary> {
    let client = Client {
        ep: Endpoint::parse(uri).map_err(user)?,
    };
    let experiment_id = client.experiment(name)?;
    let known = client.runs_by_key(&experiment_id)?;
    let (mut created, mut updated) = (0, 0);
    for spec in specs {
        let run = match known.get(&spec.key) {
            Some(id) => {
                updated += 1;
                id.clone()
            }
            None => {
                created += 1;
                client.create_run(&experiment_id, spec)?
            }
        };
        client.log(&run, spec)?;
    }
    Ok(Summary {
        experiment: name.to_string(),
        experiment_id,
        created,
        updated,
    })
}
