//! Conflicting labels: rows with identical features and different classes. No model can get
//! them all right, and a copy in train decides the test row's score by chance.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{Finding, Input};

pub fn check(input: &Input) -> Option<Finding> {
    let ds = input.ds;
    ds.class_of(0)?;
    // feature hash → (first class seen, rows, classes differ)
    let mut by: HashMap<[u8; 32], (usize, Vec<u32>, bool)> = HashMap::new();
    let features: Vec<[u8; 32]> = crate::data::par::map_rows(ds.n, |r| {
        let bytes: Vec<u8> = ds.row(r).iter().flat_map(|v| v.to_le_bytes()).collect();
        Sha256::digest(&bytes).into()
    });
    for (r, key) in features.into_iter().enumerate() {
        let c = ds.class_of(r).unwrap_or(0);
        let e = by.entry(key).or_insert((c, Vec::new(), false));
        e.1.push(r as u32);
        e.2 |= e.0 != c;
    }
    let mut groups: Vec<Vec<u32>> = by
        .into_values()
        .filter(|(_, _, differ)| *differ)
        .map(|(_, rows, _)| rows)
        .collect();
    if groups.is_empty() {
        return None;
    }
    groups.sort();
    let rows: Vec<u32> = groups.iter().flatten().copied().collect();
    let message = format!(
        "{} rows in {} sets of identical features carry different labels (conflicting labels)",
        rows.len(),
        groups.len()
    );
    Some(input.finding(
        "conflicting_labels",
        message,
        Vec::new(),
        &rows,
        rows.len() as f64,
        Input::how(
            "correct the labels, or remove the rows that contradict each other",
            "conflicting_labels",
        ),
    ))
}
