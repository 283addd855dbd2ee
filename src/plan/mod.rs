//! Workflow → Plan: one job per stage, each with the content hash of everything that
//! determines it. `hpflow plan --json` prints this without running anything.

pub mod key;

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::train::TrainerSpec;
use crate::workflow::{StageSpec, Workflow};

pub use key::JobKey;

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// sha256 of `key`.
    pub id: String,
    pub stage: String,
    pub kind: &'static str,
    pub needs: Vec<String>,
    pub key: JobKey,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub workflow: String,
    pub jobs: Vec<Job>,
}

impl Plan {
    pub fn job(&self, stage: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.stage == stage)
    }
}

/// Plan every stage of a workflow, in dependency order.
pub fn build(wf: &Workflow) -> Result<Plan> {
    let data_hash = match &wf.data {
        Some(spec) => Some(crate::data::content_hash(spec, &wf.base_dir)?),
        None => None,
    };
    let mut jobs: Vec<Job> = Vec::new();
    for stage in &wf.stages {
        let mut upstream: Vec<String> = stage
            .needs
            .iter()
            .map(|n| jobs.iter().find(|j| &j.stage == n).map(|j| j.id.clone()))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::internal("stages out of order"))?;
        upstream.sort();
        let mut inputs = Vec::new();
        match &stage.spec {
            StageSpec::Split(_) => {
                let spec = wf
                    .data
                    .as_ref()
                    .ok_or_else(|| Error::internal("split without data"))?;
                inputs.push(("data".to_string(), data_hash.clone().unwrap_or_default()));
                inputs.push((
                    "data_spec".to_string(),
                    serde_json::to_string(spec).unwrap_or_default(),
                ));
            }
            StageSpec::Search(s) => {
                if let TrainerSpec::Command { argv } = &s.trainer {
                    for a in argv {
                        let p = Path::new(a);
                        if p.is_absolute() && p.is_file() {
                            inputs.push((a.clone(), crate::store::atomic::sha256_file(p)?));
                        }
                    }
                }
            }
            _ => {}
        }
        let config = serde_json::to_value(&stage.spec).map_err(Error::internal)?;
        let key = JobKey {
            salt: key::FORMAT_SALT,
            hpflow_format: crate::store::FORMAT_VERSION,
            kind: stage.spec.kind(),
            config,
            upstream,
            inputs,
            seed: wf.seed,
            device: wf.device.clone(),
        };
        jobs.push(Job {
            id: key.id(),
            stage: stage.name.clone(),
            kind: stage.spec.kind(),
            needs: stage.needs.clone(),
            key,
        });
    }
    Ok(Plan {
        workflow: wf.name.clone(),
        jobs,
    })
}
