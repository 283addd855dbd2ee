//! Identifier-like features: a row number or id given to the model. Unique per row, it lets a
//! model memorise rows; ordered with the label (a file sorted by class, then numbered), it
//! predicts the label outright. Tabular data, at least `MIN_ROWS` rows.
//!
//! Unique per row: whole numbers, a different one in every row, that rise or fall with the
//! file's order or span fewer than 2 × rows values. Ordered with the label (classes): whole
//! numbers, distinct in at least half the rows, and sorted by them the label changes at most
//! 2 × classes times.

use super::{Finding, Input, integral};

pub const MIN_ROWS: usize = 20;

pub fn check(input: &Input) -> Vec<Finding> {
    let ds = input.ds;
    if ds.n < MIN_ROWS {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (j, name) in input.named_features() {
        let v = input.feature(j);
        if !integral(&v) {
            continue;
        }
        let mut sorted = v.clone();
        sorted.sort_by(f32::total_cmp);
        sorted.dedup();
        let distinct = sorted.len();
        let why = if distinct == ds.n && (monotone(&v) || spans_little(&sorted, ds.n)) {
            Some((1.0, "a different whole number in every row".to_string()))
        } else if distinct * 2 >= ds.n
            && let Some(changes) = label_changes(input, &v)
            && changes <= 2 * ds.classes
        {
            Some((
                changes as f64,
                format!(
                    "sorted by it, the label changes only {changes} times in {} rows",
                    ds.n
                ),
            ))
        } else {
            None
        };
        let Some((figure, why)) = why else { continue };
        out.push(input.finding(
            "identifier",
            format!("feature `{name}` looks like a row identifier: {why}"),
            vec![name.to_string()],
            &[],
            figure,
            Input::how(
                &format!("leave `{name}` out of `data.features`"),
                "identifier",
            ),
        ));
    }
    out
}

fn monotone(v: &[f32]) -> bool {
    v.windows(2).all(|w| w[0] < w[1]) || v.windows(2).all(|w| w[0] > w[1])
}

/// Distinct sorted values that cover fewer than 2 × `n` whole numbers: a numbering.
fn spans_little(sorted: &[f32], n: usize) -> bool {
    let span = (sorted[sorted.len() - 1] as f64 - sorted[0] as f64) + 1.0;
    span < 2.0 * n as f64
}

/// Classification: how often the label changes along the rows sorted by `v`.
fn label_changes(input: &Input, v: &[f32]) -> Option<usize> {
    let ds = input.ds;
    ds.class_of(0)?;
    let mut order: Vec<usize> = (0..ds.n).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(a.cmp(&b)));
    Some(
        order
            .windows(2)
            .filter(|w| ds.class_of(w[0]) != ds.class_of(w[1]))
            .count(),
    )
}
