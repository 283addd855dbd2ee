//! `hpflow report`'s page: one self-contained HTML file (inline SVG and CSS, no script, no
//! network). `Search` gathers one search's trials from the database in the shape the charts
//! need; `page` lays out the whole workflow; `charts`, `effects`, `fidelity` and `plot` draw.

pub mod charts;
pub mod effects;
pub mod fidelity;
pub mod page;
pub mod plot;

use crate::error::{Error, Result};
use crate::importance::Importance;
use crate::search::space::{Config, Space};
use crate::store::{Db, Layout};

pub struct Trial {
    pub id: usize,
    pub state: String,
    pub epochs: u32,
    /// Under early stopping: the epoch `value` comes from, and whether the trial stopped.
    pub best_epoch: Option<u32>,
    pub stopped: bool,
    /// The metric the trial reports: at its last epoch, or its best under early stopping.
    pub value: Option<f64>,
    pub params: Config,
    /// (epoch, metric) for every epoch it trained.
    pub curve: Vec<(u32, f64)>,
    pub reason: Option<String>,
}

pub struct Search {
    pub stage: String,
    pub job: String,
    pub metric: String,
    pub maximize: bool,
    pub space: Space,
    pub trials: Vec<Trial>,
    pub selected: Option<usize>,
    /// (trial, epochs) of every work item, in the order they were issued.
    pub items: Vec<(usize, u32)>,
    /// fANOVA, or why there is none.
    pub importance: std::result::Result<Importance, String>,
    /// Every trial the search has; `trials` holds at most `MAX_DRAWN` of them.
    pub total: usize,
    /// The history chart's points from every trial: by trial, and by epochs spent.
    pub history: [Vec<(f64, Option<f64>)>; 2],
    /// The budgets the search ran under, oldest first (`12 trials → 16 trials`): a sweep
    /// that grew or shrank; `None` under one budget.
    pub budgets: Option<String>,
    /// Trials recorded beyond a smaller budget, kept for a larger one (not shown).
    pub kept: usize,
}

/// The trials a page draws and lists at most: a browser shows 2,000 points at once, not
/// 100,000. Past it, the best 100, the selected trial and an even spread of the rest.
pub const MAX_DRAWN: usize = 2000;

/// A search's fANOVA as the page shows it, or why there is none.
pub fn importance_of(
    db: &Db,
    layout: &Layout,
    stage: &str,
    job: &str,
) -> std::result::Result<Importance, String> {
    crate::importance::job::of_job(db, layout, stage, job, Default::default())
        .map(|s| s.importance)
        .map_err(|e| match e {
            Error::Usage(m) => m,
            other => other.to_string(),
        })
}

/// Which trials to draw, from every trial's (number, epochs, value): all (None), or the best
/// 100, the selected one and every k-th, in trial order.
fn drawn(
    values: &[(usize, u32, Option<f64>)],
    maximize: bool,
    selected: Option<usize>,
) -> Option<Vec<usize>> {
    if values.len() <= MAX_DRAWN {
        return None;
    }
    let mut ranked: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].2.is_some())
        .collect();
    let key = |i: &usize| {
        let v = values[*i].2.unwrap_or(f64::NAN);
        if maximize { -v } else { v }
    };
    ranked.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
    let mut keep = vec![false; values.len()];
    for &i in ranked.iter().take(100) {
        keep[i] = true;
    }
    let step = values.len().div_ceil(MAX_DRAWN - 101);
    for (i, t) in values.iter().enumerate() {
        if i % step == 0 || Some(t.0) == selected {
            keep[i] = true;
        }
    }
    Some(
        values
            .iter()
            .zip(keep)
            .filter_map(|(t, k)| k.then_some(t.0))
            .collect(),
    )
}

impl Search {
    pub fn load(db: &Db, layout: &Layout, stage: &str, job: &str) -> Result<Search> {
        Search::load_with(
            db,
            layout,
            stage,
            job,
            importance_of(db, layout, stage, job),
        )
    }

    /// `load` with the importance computed elsewhere (`hpflow serve` computes it on a thread).
    pub fn load_with(
        db: &Db,
        layout: &Layout,
        stage: &str,
        job: &str,
        importance: std::result::Result<Importance, String>,
    ) -> Result<Search> {
        let searched = crate::importance::job::searched(db, layout, job)?
            .ok_or_else(|| Error::internal(format!("search job {job} has no key")))?;
        let (space, metric, maximize) = (searched.space, searched.metric, searched.maximize);
        // The history and the choice of trials need every trial's number, epochs and value
        // only (computed in SQL); only the trials drawn are read whole, with their curves.
        let mut values = db.trial_values(job, &metric)?;
        // A smaller budget selects among the trials of its first items only.
        let within = crate::stage::search::within(db, layout, job)?;
        let mut rows = db.item_values(job)?;
        if let Some(w) = &within {
            values.retain(|v| w.trials.contains(&v.0));
            rows.retain(|v| w.trials.contains(&v.0));
        }
        let selected = match db.job(job)? {
            Some(j) => crate::stage::output::Outputs::of_row(db, &j)?
                .and_then(|o| o.search().map(|s| s.trial)),
            None => None,
        };
        let items: Vec<(usize, u32)> = rows.iter().map(|i| (i.0, i.1)).collect();
        // Each item's value as the search recorded it (the best epoch's under early
        // stopping), in the metric's own direction.
        let reported: Vec<Option<f64>> = rows
            .iter()
            .map(|i| i.2.map(|o| if maximize { -o } else { o }))
            .collect();
        let history = [
            charts::history_points(&values, &items, &reported, false),
            charts::history_points(&values, &items, &reported, true),
        ];
        let total = values.len();
        let keep = drawn(&values, maximize, selected)
            .or_else(|| within.as_ref().map(|w| w.trials.iter().copied().collect()));
        drop(values);
        let mut trials = Vec::new();
        db.each_trial_of(job, keep.as_deref(), &mut |t, epochs| {
            let curve: Vec<(u32, f64)> = epochs
                .into_iter()
                .filter_map(|(e, m)| Some((e, m[&metric].as_f64()?)))
                .collect();
            trials.push(Trial {
                id: t.trial,
                value: t.metrics[&metric].as_f64().or(curve.last().map(|c| c.1)),
                state: t.state.to_string(),
                epochs: t.epochs,
                best_epoch: t.best_epoch,
                stopped: t.stopped,
                params: serde_json::from_value(t.config).unwrap_or_default(),
                curve,
                reason: t.reason,
            });
            Ok(())
        })?;
        Ok(Search {
            stage: stage.to_string(),
            job: job.to_string(),
            metric,
            maximize,
            space,
            trials,
            selected,
            items,
            importance,
            total,
            history,
            budgets: crate::stage::search::budget_history_text(layout, job),
            kept: within.map_or(0, |w| w.kept),
        })
    }
}
