//! Workflow → Plan: one job per stage, each with the content hash of everything that
//! determines it. `hpflow plan --json` prints this without running anything.

pub mod key;

use std::path::Path;

use serde::Serialize;
use sha2::Digest;

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
    /// What the stages that need this job hash as its output: its id, and for a search whose
    /// budget is outside its identity (a sweep that grows) the budget too, since the same
    /// search selects among more or fewer trials under another budget.
    #[serde(skip)]
    pub output: String,
    /// A search whose budget is part of its identity: why (a new budget is a new job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_in_identity: Option<String>,
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

    /// `run --until STAGE`: the plan of that stage and the stages it needs, in order.
    pub fn up_to(&self, stage: &str) -> Result<Plan> {
        let Some(last) = self.job(stage) else {
            let names: Vec<&str> = self.jobs.iter().map(|j| j.stage.as_str()).collect();
            return Err(Error::Usage(format!(
                "--until: no stage {stage:?} in workflow {} (its stages: {})",
                self.workflow,
                names.join(", ")
            )));
        };
        let mut keep = std::collections::BTreeSet::from([last.stage.clone()]);
        // Stages come in dependency order: walking back once collects every need.
        for j in self.jobs.iter().rev() {
            if keep.contains(&j.stage) {
                keep.extend(j.needs.iter().cloned());
            }
        }
        Ok(Plan {
            workflow: self.workflow.clone(),
            jobs: self
                .jobs
                .iter()
                .filter(|j| keep.contains(&j.stage))
                .cloned()
                .collect(),
        })
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
            .map(|n| {
                jobs.iter()
                    .find(|j| &j.stage == n)
                    .map(|j| j.output.clone())
            })
            .collect::<Option<_>>()
            .ok_or_else(|| Error::internal("stages out of order"))?;
        upstream.sort();
        let mut inputs = Vec::new();
        let mut budget_in_identity = None;
        let mut budget = None;
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
                budget_in_identity =
                    crate::search::scheduler::budget_in_identity(&s.strategy, &s.budget);
                budget = Some(serde_json::to_value(&s.budget).map_err(Error::internal)?);
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
        // A search's strategy is the resolved one, every default applied (`SearchSpec`).
        let mut config = serde_json::to_value(&stage.spec).map_err(Error::internal)?;
        // A search that grows: its budget says where the schedule stops, not what it decides.
        let grows = budget.is_some() && budget_in_identity.is_none();
        if let Some(o) = config.as_object_mut()
            && grows
        {
            o.remove("budget");
        }
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
        let id = key.id();
        let output = match budget.filter(|_| grows) {
            Some(b) => {
                let b = serde_json::to_string(&b).map_err(Error::internal)?;
                hex::encode(sha2::Sha256::digest(format!("{id}\n{b}").as_bytes()))
            }
            None => id.clone(),
        };
        jobs.push(Job {
            id,
            output,
            budget_in_identity,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::options::{DEFAULTS, Defaults};
    use crate::workflow::validate::from_text_with;

    fn search_id(strategy: &str, defaults: &Defaults) -> String {
        let text = format!(
            "name: t
seed: 1
stages:
  search:
    kind: search
    model: function
    function: branin
    space:
      x1: {{uniform: [-5.0, 10.0]}}
      x2: {{uniform: [0.0, 15.0]}}
    strategy: {strategy}
    metric: {{name: objective, goal: minimize}}
    budget: {{trials: 8}}
"
        );
        let wf = from_text_with(Path::new("t.yaml"), &text, defaults).unwrap();
        build(&wf).unwrap().jobs[0].id.clone()
    }

    #[test]
    fn a_default_is_part_of_the_identity_of_the_jobs_it_applies_to() {
        let d = DEFAULTS;
        // Written out at its default or left out: the same job.
        assert_eq!(
            search_id("{kind: tpe}", &d),
            search_id(&format!("{{kind: tpe, initial: {}}}", d.tpe_initial), &d)
        );
        assert_eq!(
            search_id("{kind: hyperband, max_epochs: 9}", &d),
            search_id(
                &format!(
                    "{{kind: hyperband, max_epochs: 9, eta: {}, batch: {}}}",
                    d.eta, d.batch
                ),
                &d
            )
        );
        // Another value: another job.
        assert_ne!(
            search_id("{kind: tpe}", &d),
            search_id(
                &format!("{{kind: tpe, initial: {}}}", d.tpe_initial + 1),
                &d
            )
        );
        // A changed default changes the ids of the searches it applies to, and no other.
        let other = Defaults {
            tpe_initial: d.tpe_initial + 1,
            ..d
        };
        assert_ne!(
            search_id("{kind: tpe}", &d),
            search_id("{kind: tpe}", &other)
        );
        assert_eq!(
            search_id("{kind: tpe, initial: 3}", &d),
            search_id("{kind: tpe, initial: 3}", &other)
        );
        assert_eq!(
            search_id("{kind: random}", &d),
            search_id("{kind: random}", &other)
        );
        let batch = Defaults { batch: 5, ..d };
        assert_ne!(
            search_id("{kind: random}", &d),
            search_id("{kind: random}", &batch)
        );
        // Evolution has no `batch` option, yet its schedule lags by the default one.
        assert_ne!(
            search_id("{kind: evolution}", &d),
            search_id("{kind: evolution}", &batch)
        );
    }

    /// The search runs the strategy its id hashes: the spec holds the resolved one, and the
    /// schedulers and samplers read nothing else (no default is applied after `resolve`).
    #[test]
    fn the_search_runs_the_strategy_its_key_hashes() {
        let other = Defaults {
            tpe_initial: 7,
            ..DEFAULTS
        };
        let text = "name: t
stages:
  search:
    kind: search
    model: function
    function: branin
    space: {x1: {uniform: [-5.0, 10.0]}, x2: {uniform: [0.0, 15.0]}}
    strategy: {kind: tpe}
";
        let wf = from_text_with(Path::new("t.yaml"), text, &other).unwrap();
        let StageSpec::Search(spec) = &wf.stages[0].spec else {
            panic!("a search")
        };
        let crate::search::Strategy::Tpe(tpe) = &spec.strategy else {
            panic!("tpe")
        };
        assert_eq!(tpe.initial, 7);
        let plan = build(&wf).unwrap();
        assert_eq!(
            plan.jobs[0].key.config["strategy"],
            serde_json::to_value(&spec.strategy).unwrap()
        );
    }
}
