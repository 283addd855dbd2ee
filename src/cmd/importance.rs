//! `hpflow importance WORKFLOW [--json]`: which hyperparameters mattered, by fANOVA over each
//! search's trials (main effects and pairwise interactions, shares of the metric's variance).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::importance::{self, Importance, Observation, Options};
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
    pub seed: u64,
    #[serde(flatten)]
    pub importance: Importance,
}

/// fANOVA of one finished or running search job, read from the database.
pub fn of_job(db: &Db, stage: &str, job: &str, opts: Options) -> Result<SearchImportance> {
    let key = db
        .job_key(job)?
        .ok_or_else(|| Error::Usage(format!("search {stage:?} has not run yet")))?;
    let config = &key["config"];
    let space: Space = serde_json::from_value(config["space"].clone())
        .map_err(|e| Error::internal(format!("job {job}: the key's space: {e}")))?;
    let metric = config["metric"]["name"]
        .as_str()
        .ok_or_else(|| Error::internal(format!("job {job}: the key names no metric")))?
        .to_string();
    let seed = key["seed"].as_u64().unwrap_or(0);
    let trials = db.trials(job)?;
    let mut configs = std::collections::BTreeMap::new();
    let mut curves = Vec::new();
    for t in &trials {
        let mut curve: Vec<(u32, f64)> = db
            .epochs(job, t.trial)?
            .into_iter()
            .filter_map(|(e, m)| Some((e, m[&metric].as_f64()?)))
            .collect();
        if curve.is_empty() {
            // A trial that recorded no epochs but a value: its value is at its last epoch.
            curve.extend(t.value.map(|v| (t.epochs, v)));
        }
        let config: Config = serde_json::from_value(t.config.clone()).unwrap_or_default();
        configs.insert(t.trial, config);
        curves.push((t.trial, curve));
    }
    let (budget, values) =
        importance::common_budget(&curves, enough_trials(&space)).ok_or_else(|| {
            Error::Usage(format!(
                "search {stage:?} has no trial with a value of {metric} yet"
            ))
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
    let importance = importance::analyse(&space, &obs, opts)
        .map_err(|e| Error::Usage(format!("search {stage:?}: {e}")))?;
    Ok(SearchImportance {
        stage: stage.to_string(),
        job: job.to_string(),
        metric,
        budget,
        trials_left_out: trials.len().saturating_sub(importance.trials),
        seed,
        importance,
    })
}

/// Every search of a workflow that has run.
pub fn collect(db: &Db, jobs: &[(String, String)], opts: Options) -> Result<Vec<SearchImportance>> {
    let mut out = Vec::new();
    for (stage, id) in jobs {
        if db.job(id)?.is_some_and(|j| j.kind == "search") {
            out.push(of_job(db, stage, id, opts)?);
        }
    }
    Ok(out)
}

fn percent(f: f64) -> String {
    format!("{:5.1}%", 100.0 * f)
}

/// The aligned text for people.
pub fn render(name: &str, searches: &[SearchImportance]) -> String {
    let mut out = String::new();
    for s in searches {
        let imp = &s.importance;
        out.push_str(&format!(
            "{name} / {}: {} by fANOVA over {} trials at {} epoch{} ({} trees)\n",
            s.stage,
            s.metric,
            imp.trials,
            s.budget,
            if s.budget == 1 { "" } else { "s" },
            imp.trees,
        ));
        let mut rows = vec![vec![
            "parameter".to_string(),
            "scale".into(),
            "share of variance".into(),
            "± across trees".into(),
        ]];
        for p in &imp.params {
            rows.push(vec![
                p.name.clone(),
                serde_json::to_value(p.scale)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                percent(p.share.fraction),
                percent(p.share.std),
            ]);
        }
        for pair in imp.pairs.iter().take(5) {
            rows.push(vec![
                format!("{} × {}", pair.params[0], pair.params[1]),
                "pair".into(),
                percent(pair.share.fraction),
                percent(pair.share.std),
            ]);
        }
        out.push_str(&super::table(&rows));
        let explained: f64 = imp.params.iter().map(|p| p.share.fraction).sum::<f64>()
            + imp.pairs.iter().map(|p| p.share.fraction).sum::<f64>();
        out.push_str(&format!(
            "main effects and pairs explain {} of the variance",
            percent(explained).trim_start()
        ));
        if s.trials_left_out > 0 {
            out.push_str(&format!(
                "; {} trial{} left out (no value at {} epochs)",
                s.trials_left_out,
                if s.trials_left_out == 1 { "" } else { "s" },
                s.budget
            ));
        }
        out.push_str("\n\n");
    }
    out.trim_end().to_string() + "\n"
}

pub fn run(workflow: &str, layout: &Layout, json: bool) -> Result<()> {
    let db = super::open_db(layout)?;
    let (name, jobs) = super::workflow_jobs(&db, workflow)?;
    let searches = collect(&db, &jobs, Options::default())?;
    if searches.is_empty() {
        return Err(Error::Usage(format!(
            "workflow {name:?} has no search that has run yet"
        )));
    }
    let text = if json {
        serde_json::to_string_pretty(&serde_json::json!({ "workflow": name, "searches": searches }))
            .map_err(Error::internal)?
            + "\n"
    } else {
        render(&name, &searches)
    };
    super::stdout::write(text.as_bytes())
}
