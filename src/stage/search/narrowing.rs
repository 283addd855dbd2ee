//! The space of a `narrow:` search: its upstream search's space shrunk to that search's best
//! recorded trials (`search::narrow`). Read from the database, so `hpflow plan` shows the same
//! space the search will use once the upstream is done.

use crate::error::{Error, Result};
use crate::search::narrow::{narrow, top};
use crate::search::{Config, Space};
use crate::store::Db;
use crate::workflow::SearchSpec;

pub struct Derived {
    pub space: Space,
    /// The upstream's best configurations, best first, for `seed_best`.
    pub seeds: Vec<Config>,
    /// How many upstream trials were ranked, and how many bound the space.
    pub ranked: usize,
    pub used: usize,
}

/// `None` when the stage does not narrow. An upstream without a successful trial is an error.
pub fn derive(db: &Db, upstream_job: &str, spec: &SearchSpec) -> Result<Option<Derived>> {
    let Some(n) = &spec.narrow else {
        return Ok(None);
    };
    let rows = db.trials(upstream_job)?;
    let done: Vec<_> = rows
        .iter()
        .filter(|r| r.state == crate::vocab::TrialRowState::Done && r.value.is_some())
        .collect();
    // Values at different budgets are not comparable: rank the trials that reached the
    // largest one (a multi-fidelity upstream), unless fewer than two did.
    let top_epochs = done.iter().map(|r| r.epochs).max();
    let at_top: Vec<_> = done
        .iter()
        .copied()
        .filter(|r| Some(r.epochs) == top_epochs)
        .collect();
    let pool = if at_top.len() >= 2 { at_top } else { done };
    if pool.is_empty() {
        return Err(Error::JobFailed(format!(
            "narrow.from {}: that search has no successful trial to narrow from",
            n.from
        )));
    }
    let trials: Vec<(Config, f64)> = pool
        .iter()
        .filter_map(|r| {
            let c: Config = serde_json::from_value(r.config.clone()).ok()?;
            Some((c, r.value?))
        })
        .collect();
    let mut best = top(&trials, n.top);
    let seeds: Vec<Config> = top(&trials, 1.0)
        .into_iter()
        .take(n.seed_best)
        .cloned()
        .collect();
    // The seeds are the ranking's first ones too: when there are more of them than the top
    // fraction, they bound the space, so that every seed lies inside it.
    if seeds.len() > best.len() {
        best = top(&trials, 1.0).into_iter().take(seeds.len()).collect();
    }
    Ok(Some(Derived {
        space: narrow(&spec.space, &best),
        seeds,
        ranked: trials.len(),
        used: best.len(),
    }))
}
