//! k-fold cross-validation in a search: each item trains one model per fold (each in
//! `trials/NNNN/fold-F/`, a unit of work of its own), and the item's result is their merge:
//! every metric the mean over folds, each epoch's line the mean of the folds' lines, and for
//! the search's metric the spread (`_std`) and each fold's value (`_fold0`, `_fold1`, ...).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::train::TrialDir;
use crate::train::protocol::{DataRef, EpochMetrics, TrialState, TrialStatus};

/// The number of folds of the split behind `data` (0 without folds).
pub fn count(data: Option<&DataRef>) -> Result<usize> {
    let Some(d) = data else { return Ok(0) };
    let manifest: crate::data::Manifest = crate::stage::read_json(&d.manifest)?;
    Ok(manifest.folds.len())
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, var.sqrt())
}

/// Means of the keys every map has.
fn mean_of(maps: &[&BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let Some(first) = maps.first() else {
        return BTreeMap::new();
    };
    first
        .keys()
        .filter_map(|k| {
            let xs: Vec<f64> = maps.iter().filter_map(|m| m.get(k).copied()).collect();
            (xs.len() == maps.len()).then(|| (k.clone(), mean_std(&xs).0))
        })
        .collect()
}

fn history(dir: &std::path::Path) -> Vec<EpochMetrics> {
    std::fs::read_to_string(TrialDir::of(&dir).metrics())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Merge the folds' statuses (in fold order) into the item's, and write the mean curve as the
/// trial's own `metrics.jsonl`. A fold that did not finish makes the item end as it did.
pub fn merge(
    trial_dir: &TrialDir,
    each: &[TrialStatus],
    metric: &str,
) -> std::result::Result<TrialStatus, String> {
    let request = each.last().map_or(0, |s| s.request);
    let seconds = each.iter().map(|s| s.seconds).sum();
    if let Some((f, bad)) = each
        .iter()
        .enumerate()
        .find(|(_, s)| s.state != TrialState::Done)
    {
        return Ok(TrialStatus {
            request,
            state: bad.state,
            epoch: each.iter().map(|s| s.epoch).min().unwrap_or(0),
            metrics: BTreeMap::new(),
            reason: Some(format!(
                "fold {f}: {}",
                bad.reason.clone().unwrap_or_default()
            )),
            seconds,
            early: None,
        });
    }
    let curves: Vec<Vec<EpochMetrics>> = (0..each.len())
        .map(|f| history(&trial_dir.fold(f)))
        .collect();
    let epochs = curves.iter().map(Vec::len).min().unwrap_or(0);
    let mut lines = Vec::with_capacity(epochs);
    for e in 0..epochs {
        let at: Vec<&BTreeMap<String, f64>> = curves.iter().map(|c| &c[e].values).collect();
        lines.push(EpochMetrics {
            epoch: curves[0][e].epoch,
            values: mean_of(&at),
        });
    }
    crate::train::reset_metrics(trial_dir, &lines).map_err(|e| e.to_string())?;
    let finals: Vec<&BTreeMap<String, f64>> = each.iter().map(|s| &s.metrics).collect();
    let mut metrics = mean_of(&finals);
    let values: Vec<f64> = each
        .iter()
        .filter_map(|s| s.metrics.get(metric).copied())
        .collect();
    if values.len() == each.len() {
        metrics.insert(format!("{metric}_std"), mean_std(&values).1);
        for (f, v) in values.iter().enumerate() {
            metrics.insert(format!("{metric}_fold{f}"), *v);
        }
    }
    Ok(TrialStatus {
        request,
        state: TrialState::Done,
        epoch: each.iter().map(|s| s.epoch).min().unwrap_or(0),
        metrics,
        reason: None,
        seconds,
        early: None,
    })
}
