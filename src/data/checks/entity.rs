//! Rows of one entity on both sides of the split: with no `group:`, the rows of a patient, a
//! user or a device are dealt at random, and a model that recognises the entity scores well
//! on test rows of entities it has trained on. Only with CSV data, on columns the model does
//! not take as features (a feature is judged too when its name says it is an id).
//!
//! Entity-like: no dates, at least `MIN_VALUES` distinct values, at least 1.5 rows per value
//! on average, and no value in more than 10% of the rows (which a category like a country
//! would be). A finding when a test row shares its value with a train or val row.

use std::collections::HashSet;

use super::{Finding, Input};

pub const MIN_VALUES: usize = 10;

/// Names of feature columns that say they hold ids.
const ID_WORDS: &[&str] = &[
    "id", "user", "patient", "subject", "customer", "session", "device", "person", "account",
];

pub fn check(input: &Input) -> Vec<Finding> {
    let Some(table) = input.table else {
        return Vec::new();
    };
    if input.opts.group.is_some() || input.opts.by_time.is_some() {
        return Vec::new();
    }
    let ds = input.ds;
    let mut out = Vec::new();
    for (c, name) in table.names.iter().enumerate() {
        let feature = ds.feature_names.contains(name);
        if Some(name.as_str()) == input.label || (feature && !says_id(name)) {
            continue;
        }
        let cells = &table.cells[c];
        if !entity_like(cells) {
            continue;
        }
        let seen: HashSet<&str> = input
            .parts
            .train
            .iter()
            .chain(input.parts.val)
            .map(|&r| cells[r as usize].as_str())
            .collect();
        let shared: Vec<u32> = input
            .parts
            .test
            .iter()
            .copied()
            .filter(|&r| seen.contains(cells[r as usize].as_str()))
            .collect();
        if shared.is_empty() {
            continue;
        }
        let values: HashSet<&str> = cells.iter().map(String::as_str).collect();
        let message = format!(
            "column `{name}` looks like an entity ({} values, {:.1} rows each): {} of {} test rows \
             share their `{name}` with train or val rows",
            values.len(),
            cells.len() as f64 / values.len() as f64,
            shared.len(),
            input.parts.test.len()
        );
        out.push(input.finding(
            "shared_entity",
            message,
            vec![name.clone()],
            &shared,
            shared.len() as f64,
            Input::how(
                &format!("`group: {name}` keeps each value's rows in one split"),
                "shared_entity",
            ),
        ));
    }
    out
}

fn says_id(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| ID_WORDS.contains(&w))
        || lower.ends_with("id")
}

fn entity_like(cells: &[String]) -> bool {
    if cells.iter().any(String::is_empty) || cells.iter().all(|c| super::time::parse(c).is_some()) {
        return false;
    }
    let mut counts = std::collections::HashMap::new();
    for c in cells {
        *counts.entry(c.as_str()).or_insert(0usize) += 1;
    }
    let k = counts.len();
    let top = counts.values().copied().max().unwrap_or(0);
    k >= MIN_VALUES && cells.len() as f64 >= 1.5 * k as f64 && top * 10 <= cells.len()
}
