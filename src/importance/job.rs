//! fANOVA of a search job as recorded: its space and metric from the job's key (or, for a
//! `narrow:` search, the space it derived, from `narrowed.json`), its trials' values at the
//! highest common budget.

use serde::Serialize;

use super::{Importance, Observation, Options};
use crate::error::{Error, Result};
use crate::search::space::{Config, Space};
use crate::store::{Db, Layout};

/// The least number of trials the budget must hold: twice the searched parameters, at least 8.
pub fn enough_trials(space: &Space) -> usize {
    (2 * space.params.len()).max(8)
}

#[derive(Debug, Serialize)]
pub struct SearchImportance {
    pub stage: String,
    pub job: String,
    pub metric: String,
    /// The epoch the trials are compared at (the highest one enough trials reached).
    pub budget: u32,
    /// Trials of the search not in the analysis (no value at the budget, or off the space).
    pub trials_left_out: usize,
    /// A search that is not multi-fidelity: each trial counts at the value it reported (its
    /// best epoch's under early stopping), and `budget` is the most epochs a trial trained.
    pub each_reported: bool,
    pub seed: u64,
    #[serde(flatten)]
    pub importance: Importance,
}

/// What a search job searched: its space (the narrowed one for a `narrow:` search), its
/// metric's name, whether it maximises, and the workflow's seed.
pub struct Searched {
    pub space: Space,
    pub metric: String,
    pub maximize: bool,
    pub seed: u64,
    /// Trials train to different epochs on purpose (a multi-fidelity strategy, or median
    /// stopping): they are compared at one budget.
    pub multi_fidelity: bool,
}

pub fn searched(db: &Db, layout: &Layout, job: &str) -> Result<Option<Searched>> {
    let Some(key) = db.job_key(job)? else {
        return Ok(None);
    };
    let config = &key["config"];
    let narrowed = std::fs::read(layout.narrowed(job))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map(|v| v["space"].clone());
    let space: Space = serde_json::from_value(narrowed.unwrap_or(config["space"].clone()))
        .map_err(|e| Error::internal(format!("job {job}: its space: {e}")))?;
    let metric = config["metric"]["name"]
        .as_str()
        .ok_or_else(|| Error::internal(format!("job {job}: the key names no metric")))?
        .to_string();
    let strategy = &config["strategy"];
    let multi_fidelity =
        serde_json::from_value::<crate::search::StrategyKind>(strategy["kind"].clone())
            .map_or(true, |k| k.is_multi_fidelity())
            || strategy["median_stopping"] == true;
    Ok(Some(Searched {
        space,
        metric,
        maximize: config["metric"]["goal"] == "maximize",
        seed: key["seed"].as_u64().unwrap_or(0),
        multi_fidelity,
    }))
}

/// fANOVA of one finished or running search job.
pub fn of_job(
    db: &Db,
    layout: &Layout,
    stage: &str,
    job: &str,
    opts: Options,
) -> Result<SearchImportance> {
    let Searched {
        space,
        metric,
        seed,
        maximize,
        multi_fidelity,
    } = searched(db, layout, job)?
        .ok_or_else(|| Error::Usage(format!("search {stage:?} has not run yet")))?;
    // Values come from SQL (each trial's number, epochs and recorded value; the metric's
    // per-epoch numbers): only the trials that go into the forest are read whole.
    let rows = db.trial_objectives(job)?;
    let trials = rows.len();
    let trained = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let none = || {
        Error::Usage(format!(
            "search {stage:?} has no trial with a value of {metric} yet"
        ))
    };
    let (budget, values) = if multi_fidelity {
        let mut recorded = db.metric_curves(job, &metric)?.into_iter().peekable();
        let curves: Vec<(usize, Vec<(u32, f64)>)> = rows
            .iter()
            .map(|&(trial, epochs, value)| {
                while recorded.next_if(|(t, _)| *t < trial).is_some() {}
                match recorded.next_if(|(t, _)| *t == trial) {
                    Some(c) => c,
                    // A trial that recorded no epochs but a value: its value is at its last epoch.
                    None => (trial, value.map(|v| (epochs, v)).into_iter().collect()),
                }
            })
            .collect();
        super::common_budget(&curves, enough_trials(&space)).ok_or_else(none)?
    } else {
        // Not multi-fidelity: the value each trial reported (early stopping ends trials at
        // different epochs, each at its best one), as the search recorded it.
        let reported: Vec<(usize, f64)> = rows
            .iter()
            .filter_map(|&(t, _, v)| {
                let o = v.filter(|v| v.is_finite())?;
                Some((t, if maximize { -o } else { o }))
            })
            .collect();
        if reported.is_empty() {
            return Err(none());
        }
        (trained, reported)
    };
    // Past MAX_TRIALS the forest sees a seeded draw (as `analyse` draws): only those
    // trials' configurations are read.
    let sampled_from = (values.len() > super::MAX_TRIALS).then_some(values.len());
    let values: Vec<(usize, f64)> = match sampled_from {
        Some(n) => super::draw(seed, n)
            .into_iter()
            .map(|i| values[i])
            .collect(),
        None => values,
    };
    let ids: Vec<usize> = values.iter().map(|v| v.0).collect();
    let mut configs = std::collections::BTreeMap::new();
    db.each_trial_of(job, Some(&ids), &mut |t, _| {
        let config: Config = serde_json::from_value(t.config).unwrap_or_default();
        configs.insert(t.trial, config);
        Ok(())
    })?;
    let obs: Vec<Observation> = values
        .iter()
        .map(|&(trial, value)| Observation {
            trial,
            config: configs.remove(&trial).unwrap_or_default(),
            value,
        })
        .collect();
    let opts = Options { seed, ..opts };
    let mut importance = super::analyse(&space, &obs, opts)
        .map_err(|e| Error::Usage(format!("search {stage:?}: {e}")))?;
    importance.sampled_from = importance.sampled_from.or(sampled_from);
    Ok(SearchImportance {
        stage: stage.to_string(),
        job: job.to_string(),
        metric,
        budget,
        trials_left_out: trials
            .saturating_sub(importance.sampled_from.unwrap_or(importance.trials)),
        each_reported: !multi_fidelity,
        seed,
        importance,
    })
}

/// Every search of a workflow that has run.
pub fn collect(
    db: &Db,
    layout: &Layout,
    jobs: &[(String, String)],
    opts: Options,
) -> Result<Vec<SearchImportance>> {
    let mut out = Vec::new();
    for (stage, id) in jobs {
        if db.job(id)?.is_some_and(|j| j.kind == "search") {
            out.push(of_job(db, layout, stage, id, opts)?);
        }
    }
    Ok(out)
}
