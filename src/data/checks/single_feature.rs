//! A feature that alone predicts the label on the training rows: a copy of the label, or a
//! value computed from it (a leak a model learns perfectly and the test set cannot expose,
//! since the test rows carry it too).
//!
//! Classification: each training row's class is guessed by the vote of its 4 nearest training
//! rows by that one feature (leave-one-out, so a column unique per row does not predict
//! itself); a finding when the guess is right for at least `ACCURACY` of the rows and makes
//! at most half the errors of always guessing the most common class. Regression: Pearson
//! |correlation| with the label of at least `CORRELATION`. Tabular data only.

use super::{Finding, Input};
use crate::data::Target;

pub const ACCURACY: f64 = 0.95;
pub const CORRELATION: f64 = 0.95;

pub fn check(input: &Input) -> Vec<Finding> {
    let train = input.parts.train;
    if train.len() < 10 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (j, name) in input.named_features() {
        let v = input.feature(j);
        let x: Vec<f32> = train.iter().map(|&r| v[r as usize]).collect();
        let (figure, message) = match &input.ds.y {
            Target::Classes(c) => {
                let y: Vec<i64> = train.iter().map(|&r| c[r as usize]).collect();
                let (acc, base) = (neighbour_accuracy(&x, &y), majority(&y));
                if acc < ACCURACY || 1.0 - acc > 0.5 * (1.0 - base) {
                    continue;
                }
                let msg = format!(
                    "feature `{name}` alone predicts the label of {:.1}% of the training rows \
                     (always guessing the most common class: {:.1}%)",
                    100.0 * acc,
                    100.0 * base
                );
                (acc, msg)
            }
            Target::Values(t) => {
                let y: Vec<f32> = train.iter().map(|&r| t[r as usize]).collect();
                let r = pearson(&x, &y);
                if r.abs() < CORRELATION {
                    continue;
                }
                let msg = format!(
                    "feature `{name}` has correlation {r:.3} with the label on the training rows"
                );
                (r, msg)
            }
        };
        out.push(input.finding(
            "single_feature",
            message,
            vec![name.to_string()],
            &[],
            figure,
            Input::how(
                &format!("if `{name}` is computed from the label or known only after it, leave it out of `data.features`"),
                "single_feature",
            ),
        ));
    }
    out
}

/// Leave-one-out accuracy of the vote of the 4 nearest rows by `x` (2 each side in sorted
/// order, ties in value kept in row order); a tied vote goes to the nearest neighbour.
fn neighbour_accuracy(x: &[f32], y: &[i64]) -> f64 {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let n = order.len();
    let mut right = 0usize;
    for i in 0..n {
        let near: Vec<i64> = [i.wrapping_sub(1), i + 1, i.wrapping_sub(2), i + 2]
            .into_iter()
            .filter(|&k| k < n)
            .map(|k| y[order[k]])
            .collect();
        let votes = |c: i64| near.iter().filter(|&&d| d == c).count();
        let best = near.iter().map(|&c| votes(c)).max().unwrap_or(0);
        let guess = near.iter().copied().find(|&c| votes(c) == best);
        right += usize::from(guess == Some(y[order[i]]));
    }
    right as f64 / n as f64
}

/// The share of the most common class.
fn majority(y: &[i64]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for &c in y {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    counts.values().copied().max().unwrap_or(0) as f64 / y.len() as f64
}

pub fn pearson(x: &[f32], y: &[f32]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let my = y.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (a, b) = (a as f64 - mx, b as f64 - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}
