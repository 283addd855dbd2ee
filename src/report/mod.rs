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
}

/// The trials a page draws and lists at most: a browser shows 2,000 points at once, not
/// 100,000. Past it, the best 100, the selected trial and an even spread of the rest.
pub const MAX_DRAWN: usize = 2000;

/// Which trials to draw: all, or the best 100, the selected one and every k-th, in trial order.
fn drawn(trials: Vec<Trial>, maximize: bool, selected: Option<usize>) -> Vec<Trial> {
    if trials.len() <= MAX_DRAWN {
        return trials;
    }
    let mut ranked: Vec<usize> = (0..trials.len())
        .filter(|&i| trials[i].value.is_some())
        .collect();
    let key = |i: &usize| {
        let v = trials[*i].value.unwrap_or(f64::NAN);
        if maximize { -v } else { v }
    };
    ranked.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.cmp(b)));
    let mut keep = vec![false; trials.len()];
    for &i in ranked.iter().take(100) {
        keep[i] = true;
    }
    let step = trials.len().div_ceil(MAX_DRAWN - 101);
    for (i, t) in trials.iter().enumerate() {
        if i % step == 0 || Some(t.id) == selected {
            keep[i] = true;
        }
    }
    trials
        .into_iter()
        .zip(keep)
        .filter_map(|(t, k)| k.then_some(t))
        .collect()
}

impl Search {
    pub fn load(db: &Db, layout: &Layout, stage: &str, job: &str) -> Result<Search> {
        let searched = crate::importance::job::searched(db, layout, job)?
            .ok_or_else(|| Error::internal(format!("search job {job} has no key")))?;
        let (space, metric, maximize) = (searched.space, searched.metric, searched.maximize);
        let mut trials = Vec::new();
        db.each_trial(job, &mut |t, epochs| {
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
        let selected = db
            .job(job)?
            .and_then(|j| j.outputs["trial"].as_u64())
            .map(|t| t as usize);
        let rows = db.items(job)?;
        let items: Vec<(usize, u32)> = rows.iter().map(|i| (i.item.trial, i.item.epochs)).collect();
        // Each item's value as the search recorded it (the best epoch's under early
        // stopping), in the metric's own direction.
        let reported: Vec<Option<f64>> = rows
            .iter()
            .map(|i| i.value.map(|o| if maximize { -o } else { o }))
            .collect();
        let history = [
            charts::history_points(&trials, &items, &reported, false),
            charts::history_points(&trials, &items, &reported, true),
        ];
        let total = trials.len();
        let trials = drawn(trials, maximize, selected);
        let importance = crate::importance::job::of_job(db, layout, stage, job, Default::default())
            .map(|s| s.importance)
            .map_err(|e| match e {
                Error::Usage(m) => m,
                other => other.to_string(),
            });
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
        })
    }
}
