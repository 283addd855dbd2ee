//! Rows in two parts of the split that are the same row: exact copies (the row fingerprint)
//! and near copies (equal after rounding every feature to `NEAR_TOLERANCE` of its standard
//! deviation). Counted as rows of the later part with a copy in an earlier one: test rows
//! with a copy in train or val, val rows with a copy in train. The audit counts the same way.

use std::collections::HashSet;
use std::hash::Hash;

use super::{Finding, Input};
use crate::data::Target;

/// Near copies: features equal after rounding to this fraction of the column's standard
/// deviation over all rows (one unit for a constant column).
pub const NEAR_TOLERANCE: f64 = 1e-3;

/// (test rows with a copy in train or val, val rows with a copy in train), by `key`.
pub fn overlap<K: Hash + Eq + Copy>(input: &Input, key: &dyn Fn(u32) -> K) -> (Vec<u32>, Vec<u32>) {
    let p = &input.parts;
    let train: HashSet<K> = p.train.iter().map(|&r| key(r)).collect();
    let val: HashSet<K> = p.val.iter().map(|&r| key(r)).collect();
    let test: Vec<u32> = p
        .test
        .iter()
        .copied()
        .filter(|&r| {
            let k = key(r);
            train.contains(&k) || val.contains(&k)
        })
        .collect();
    let val: Vec<u32> = p
        .val
        .iter()
        .copied()
        .filter(|&r| train.contains(&key(r)))
        .collect();
    (test, val)
}

pub fn exact(input: &Input) -> Option<Finding> {
    let (test, val) = overlap(input, &|r| input.hashes[r as usize]);
    if test.is_empty() && val.is_empty() {
        return None;
    }
    let message = format!(
        "{} test rows are identical in content to train or val rows, {} val rows to train rows",
        test.len(),
        val.len()
    );
    let rows: Vec<u32> = test.iter().chain(&val).copied().collect();
    Some(input.finding(
        "duplicates",
        message,
        Vec::new(),
        &rows,
        (test.len() + val.len()) as f64,
        "`dedupe: true` removes them; `dedupe: keep` accepts them".into(),
    ))
}

/// Near copies that are not exact copies (those are `exact`'s).
pub fn near(input: &Input) -> Option<Finding> {
    let ds = input.ds;
    let steps = steps(input);
    let keys: Vec<u64> = crate::data::par::map_rows(ds.n, |r| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (v, s) in ds.row(r).iter().zip(&steps) {
            ((*v as f64 / s).round() as i64).hash(&mut h);
        }
        match &ds.y {
            Target::Classes(c) => c[r].hash(&mut h),
            Target::Values(v) => ((v[r] as f64 * 1e3).round() as i64).hash(&mut h),
        }
        std::hash::Hasher::finish(&h)
    });
    let (exact_test, exact_val) = overlap(input, &|r| input.hashes[r as usize]);
    let exact: HashSet<u32> = exact_test.into_iter().chain(exact_val).collect();
    let (test, val) = overlap(input, &|r| keys[r as usize]);
    let test: Vec<u32> = test.into_iter().filter(|r| !exact.contains(r)).collect();
    let val: Vec<u32> = val.into_iter().filter(|r| !exact.contains(r)).collect();
    if test.is_empty() && val.is_empty() {
        return None;
    }
    let message = format!(
        "{} test rows equal train or val rows, {} val rows equal train rows, after rounding every \
         feature to {NEAR_TOLERANCE} of its standard deviation (near copies, not exact ones)",
        test.len(),
        val.len()
    );
    let rows: Vec<u32> = test.iter().chain(&val).copied().collect();
    Some(input.finding(
        "near_duplicates",
        message,
        Vec::new(),
        &rows,
        (test.len() + val.len()) as f64,
        super::Input::how(
            "remove or merge the near copies in the data",
            "near_duplicates",
        ),
    ))
}

/// The rounding step of every feature, from one pass over the rows in memory order.
fn steps(input: &Input) -> Vec<f64> {
    let ds = input.ds;
    let d = ds.features();
    let (mut sum, mut sq) = (vec![0.0f64; d], vec![0.0f64; d]);
    for r in 0..ds.n {
        for (j, &v) in ds.row(r).iter().enumerate() {
            sum[j] += v as f64;
            sq[j] += v as f64 * v as f64;
        }
    }
    let n = ds.n as f64;
    (0..d)
        .map(|j| {
            let mean = sum[j] / n;
            let sd = (sq[j] / n - mean * mean).max(0.0).sqrt();
            if sd > 0.0 { sd * NEAR_TOLERANCE } else { 1.0 }
        })
        .collect()
}
