//! Metrics computed from a model's outputs: pure functions over class probabilities or
//! predicted values and the true labels, so that they are tested without libtorch.
//!
//! Classification outputs are row-major `n × classes` probabilities (a binary model's sigmoid
//! `p` becomes the two columns `[1-p, p]`). A metric that is undefined for the data (AUC with a
//! single class present, R² of a constant target) is left out rather than reported as NaN,
//! because NaN cannot travel through JSON.

use std::collections::BTreeMap;

/// The metric names each kind of task reports (without the `val_`/`test_` prefix): the one
/// list that validation, the worker and `goal` read.
pub const CLASSIFICATION: &[&str] = &["loss", "accuracy", "f1_macro", "roc_auc"];
pub const REGRESSION: &[&str] = &["loss", "mse", "mae", "r2"];
/// Those of the names above that improve by falling (losses and errors); the rest rise.
const FALLING: &[&str] = &["loss", "mse", "mae"];

/// Which way each metric above improves. A search told to go the other way would select the
/// worst model, so validation refuses it. `None`: a name whose direction is the user's to say
/// (a command program's own, a function's `objective`).
pub fn goal(name: &str) -> Option<crate::vocab::Goal> {
    use crate::vocab::Goal::{Maximize, Minimize};
    let bare = name
        .strip_prefix("val_")
        .or_else(|| name.strip_prefix("test_"))
        .unwrap_or(name);
    if !CLASSIFICATION.contains(&bare) && !REGRESSION.contains(&bare) {
        return None;
    }
    Some(if FALLING.contains(&bare) {
        Minimize
    } else {
        Maximize
    })
}

/// The class with the highest probability in each row (the first one on ties).
pub fn argmax_rows(probs: &[f32], classes: usize) -> Vec<i64> {
    probs
        .chunks(classes.max(1))
        .map(|row| {
            let mut best = 0;
            for (i, p) in row.iter().enumerate() {
                if *p > row[best] {
                    best = i;
                }
            }
            best as i64
        })
        .collect()
}

pub fn accuracy(pred: &[i64], labels: &[i64]) -> Option<f64> {
    if labels.is_empty() || pred.len() != labels.len() {
        return None;
    }
    let hits = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
    Some(hits as f64 / labels.len() as f64)
}

/// Unweighted mean of the per-class F1 scores over the classes that occur in the labels or
/// the predictions (scikit-learn's `f1_score(average="macro")`).
pub fn f1_macro(pred: &[i64], labels: &[i64], classes: usize) -> Option<f64> {
    if labels.is_empty() || pred.len() != labels.len() {
        return None;
    }
    let (mut tp, mut fp, mut fn_) = (
        vec![0u64; classes],
        vec![0u64; classes],
        vec![0u64; classes],
    );
    let mut seen = vec![false; classes];
    for (&p, &l) in pred.iter().zip(labels) {
        let (p, l) = (p as usize, l as usize);
        if p >= classes || l >= classes {
            return None;
        }
        seen[p] = true;
        seen[l] = true;
        if p == l {
            tp[l] += 1;
        } else {
            fp[p] += 1;
            fn_[l] += 1;
        }
    }
    let scores: Vec<f64> = (0..classes)
        .filter(|&c| seen[c])
        .map(|c| {
            let denom = 2 * tp[c] + fp[c] + fn_[c];
            if denom == 0 {
                0.0
            } else {
                2.0 * tp[c] as f64 / denom as f64
            }
        })
        .collect();
    Some(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Area under the ROC curve of `scores` for the positives in `positive`, by the rank-sum
/// (Mann-Whitney) formula with tied scores given their average rank. `None` when one class is
/// absent.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n = scores.len();
    if n != positive.len() {
        return None;
    }
    let npos = positive.iter().filter(|p| **p).count();
    let nneg = n - npos;
    if npos == 0 || nneg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j shared by the tie group.
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_pos += avg_rank * order[i..j].iter().filter(|&&k| positive[k]).count() as f64;
        i = j;
    }
    let (npos, nneg) = (npos as f64, nneg as f64);
    Some((rank_sum_pos - npos * (npos + 1.0) / 2.0) / (npos * nneg))
}

/// ROC AUC of a classifier: the positive class's probability for two classes, otherwise the
/// unweighted mean of one-vs-rest AUCs over the classes where it is defined.
pub fn roc_auc_classes(probs: &[f32], labels: &[i64], classes: usize) -> Option<f64> {
    if classes < 2 || probs.len() != labels.len() * classes {
        return None;
    }
    let column = |c: usize| -> Vec<f32> { probs.chunks(classes).map(|row| row[c]).collect() };
    if classes == 2 {
        let pos: Vec<bool> = labels.iter().map(|l| *l == 1).collect();
        return roc_auc(&column(1), &pos);
    }
    let aucs: Vec<f64> = (0..classes)
        .filter_map(|c| {
            let pos: Vec<bool> = labels.iter().map(|l| *l == c as i64).collect();
            roc_auc(&column(c), &pos)
        })
        .collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

/// Mean negative log-likelihood of the true classes (probabilities clamped away from 0).
pub fn log_loss(probs: &[f32], labels: &[i64], classes: usize) -> Option<f64> {
    if labels.is_empty() || probs.len() != labels.len() * classes {
        return None;
    }
    let mut total = 0.0;
    for (row, &l) in probs.chunks(classes).zip(labels) {
        let p = f64::from(*row.get(l as usize)?).max(1e-15);
        total -= p.ln();
    }
    Some(total / labels.len() as f64)
}

pub fn mse(pred: &[f32], target: &[f32]) -> Option<f64> {
    mean_of(pred, target, |d| d * d)
}

pub fn mae(pred: &[f32], target: &[f32]) -> Option<f64> {
    mean_of(pred, target, f64::abs)
}

/// Coefficient of determination; `None` for a constant target.
pub fn r2(pred: &[f32], target: &[f32]) -> Option<f64> {
    let mean = target.iter().map(|v| f64::from(*v)).sum::<f64>() / target.len().max(1) as f64;
    let ss_tot: f64 = target.iter().map(|v| (f64::from(*v) - mean).powi(2)).sum();
    let ss_res = mse(pred, target)? * target.len() as f64;
    (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot)
}

fn mean_of(pred: &[f32], target: &[f32], f: impl Fn(f64) -> f64) -> Option<f64> {
    if pred.is_empty() || pred.len() != target.len() {
        return None;
    }
    let total: f64 = pred
        .iter()
        .zip(target)
        .map(|(p, t)| f(f64::from(*p) - f64::from(*t)))
        .sum();
    Some(total / pred.len() as f64)
}

/// Every classification metric in `names` (all of them when empty), keyed `prefix + name`.
/// `loss` is taken as given: the trainer computes it with the same loss it trains on.
pub fn classification(
    prefix: &str,
    names: &[&str],
    loss: Option<f64>,
    probs: &[f32],
    labels: &[i64],
    classes: usize,
) -> BTreeMap<String, f64> {
    let pred = argmax_rows(probs, classes);
    let mut out = BTreeMap::new();
    for &name in if names.is_empty() {
        CLASSIFICATION
    } else {
        names
    } {
        let v = match name {
            "loss" => loss.or_else(|| log_loss(probs, labels, classes)),
            "accuracy" => accuracy(&pred, labels),
            "f1_macro" => f1_macro(&pred, labels, classes),
            "roc_auc" => roc_auc_classes(probs, labels, classes),
            _ => None,
        };
        insert_finite(&mut out, prefix, name, v);
    }
    out
}

/// Every regression metric in `names` (all of them when empty), keyed `prefix + name`.
pub fn regression(
    prefix: &str,
    names: &[&str],
    pred: &[f32],
    target: &[f32],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for &name in if names.is_empty() { REGRESSION } else { names } {
        let v = match name {
            "loss" | "mse" => mse(pred, target),
            "mae" => mae(pred, target),
            "r2" => r2(pred, target),
            _ => None,
        };
        insert_finite(&mut out, prefix, name, v);
    }
    out
}

fn insert_finite(out: &mut BTreeMap<String, f64>, prefix: &str, name: &str, v: Option<f64>) {
    if let Some(v) = v.filter(|v| v.is_finite()) {
        out.insert(format!("{prefix}{name}"), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("metric defined");
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn every_listed_metric_is_computed() {
        // Two classes, both present, predictions neither perfect nor constant: every metric
        // is defined, so a listed name the `match` does not compute would be missing here.
        let probs = [0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.1, 0.9];
        let labels = [0, 1, 1, 1];
        let got = classification("val_", &[], None, &probs, &labels, 2);
        let want: Vec<String> = CLASSIFICATION.iter().map(|m| format!("val_{m}")).collect();
        assert_eq!(got.len(), want.len(), "{got:?}");
        assert!(want.iter().all(|w| got.contains_key(w)), "{got:?}");
        let got = regression("val_", &[], &[1.0, 2.5, 2.0], &[1.0, 2.0, 3.0]);
        let want: Vec<String> = REGRESSION.iter().map(|m| format!("val_{m}")).collect();
        assert!(want.iter().all(|w| got.contains_key(w)), "{got:?}");
    }

    #[test]
    fn every_reported_metric_has_a_direction() {
        for m in CLASSIFICATION.iter().chain(REGRESSION) {
            assert!(goal(&format!("val_{m}")).is_some(), "{m}");
        }
        assert!(FALLING.iter().all(|m| goal(m).is_some()));
        assert_eq!(goal("val_loss"), Some(crate::vocab::Goal::Minimize));
        assert_eq!(goal("val_r2"), Some(crate::vocab::Goal::Maximize));
        assert_eq!(goal("val_custom"), None);
    }

    #[test]
    fn accuracy_and_argmax() {
        let probs = [0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.2, 0.3, 0.5];
        let pred = argmax_rows(&probs, 3);
        assert_eq!(pred, vec![1, 0, 2]); // a tie takes the first class
        close(accuracy(&pred, &[1, 1, 2]), 2.0 / 3.0);
    }

    #[test]
    fn f1_macro_by_hand() {
        // class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 1, fp 0, fn 1 -> 2/3; class 2: tp 1,
        // fp 1, fn 0 -> 2/3; class 3 never occurs and is not averaged.
        let pred = [0, 0, 1, 2, 2];
        let labels = [0, 1, 1, 0, 2];
        close(
            f1_macro(&pred, &labels, 4),
            (0.5 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0,
        );
    }

    #[test]
    fn auc_with_ties_uses_average_ranks() {
        // Positives 0.8 and 0.4, negatives 0.4 and 0.1: pairs (0.8>0.4) 1, (0.8>0.1) 1,
        // (0.4=0.4) 0.5, (0.4>0.1) 1 -> 3.5 / 4.
        close(
            roc_auc(&[0.8, 0.4, 0.4, 0.1], &[true, true, false, false]),
            0.875,
        );
        close(roc_auc(&[0.5; 4], &[true, false, true, false]), 0.5);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn auc_binary_and_one_vs_rest() {
        let probs = [0.9, 0.1, 0.3, 0.7, 0.6, 0.4];
        close(roc_auc_classes(&probs, &[0, 1, 1], 2), 1.0);
        // Three classes; class 0 column [0.8, 0.1, 0.3] vs labels==0 [t, f, f] -> 1.0;
        // class 1 column [0.1, 0.6, 0.2] vs [f, t, f] -> 1.0; class 2 column [0.1, 0.3, 0.5]
        // vs [f, f, t] -> 1.0.
        let probs3 = [0.8, 0.1, 0.1, 0.1, 0.6, 0.3, 0.3, 0.2, 0.5];
        close(roc_auc_classes(&probs3, &[0, 1, 2], 3), 1.0);
        // Swap class 2's scores so that it ranks its positive lowest: (1 + 1 + 0) / 3.
        let probs3b = [0.8, 0.1, 0.6, 0.1, 0.6, 0.3, 0.3, 0.2, 0.1];
        close(roc_auc_classes(&probs3b, &[0, 1, 2], 3), 2.0 / 3.0);
    }

    #[test]
    fn log_loss_by_hand() {
        let probs = [0.5, 0.5, 0.2, 0.8];
        close(
            log_loss(&probs, &[0, 1], 2),
            -(0.5f64.ln() + f64::from(0.8f32).ln()) / 2.0,
        );
    }

    #[test]
    fn regression_metrics_by_hand() {
        let pred = [1.0, 2.0, 4.0];
        let target = [1.0, 3.0, 2.0];
        close(mse(&pred, &target), 5.0 / 3.0);
        close(mae(&pred, &target), 1.0);
        // mean 2, ss_tot 1 + 1 + 0 = 2, ss_res 5 -> 1 - 2.5
        close(r2(&pred, &target), -1.5);
        assert_eq!(r2(&pred, &[2.0; 3]), None);
    }

    #[test]
    fn undefined_metrics_are_left_out() {
        let m = classification("val_", &[], Some(0.3), &[0.2, 0.8, 0.4, 0.6], &[1, 1], 2);
        assert_eq!(m.get("val_loss"), Some(&0.3));
        assert_eq!(m.get("val_accuracy"), Some(&1.0));
        assert!(!m.contains_key("val_roc_auc"));
        let r = regression("test_", &["mae", "r2"], &[1.0, 2.0], &[1.0, 1.0]);
        assert_eq!(r.keys().collect::<Vec<_>>(), vec!["test_mae"]);
    }
}
