//! Data checks at split time: what in the data itself would make the test score a lie, found
//! when the rows are split, each with its evidence (columns, rows, a figure). The split
//! records every finding; the run, `status` and the audit show them. A finding the user has
//! weighed is accepted by name in the split stage (`accept: [NAME]`; exact duplicates by
//! `dedupe: keep`): it is then shown as accepted, not as a finding.
//!
//! Columns come from the loaded features and, for CSV data, from the file's other columns as
//! written (`table`), so that a date or a patient id the model never sees can still be judged.

mod conflicts;
mod constant;
mod duplicates;
mod entity;
mod identifier;
mod single_feature;
pub mod table;
pub mod time;

use serde::{Deserialize, Serialize};

use super::Dataset;
use super::split::{Dedupe, RowHash, SplitOptions};
pub use table::Table;

/// The names `accept:` takes, one per check (exact duplicates: `dedupe: keep`).
pub const NAMES: &[&str] = &[
    "near_duplicates",
    "single_feature",
    "identifier",
    "shared_entity",
    "random_time",
    "conflicting_labels",
    "constant_columns",
];

/// At most this many rows are listed as evidence of one finding.
pub const MAX_ROWS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The check's name: one of `NAMES`, or `duplicates`.
    pub check: String,
    /// One line with the figure, e.g. "11 test rows are identical in content to train or val rows".
    pub message: String,
    pub columns: Vec<String>,
    /// Where the rows are: CSV line numbers, or 1-based row numbers for other sources
    /// (`unit` says which); at most `MAX_ROWS`.
    pub rows: Vec<usize>,
    pub unit: String,
    /// The check's measure (a count, an accuracy, a correlation): see each check.
    pub figure: f64,
    pub accepted: bool,
    /// What to change: the split option that fixes it, and the one that accepts it.
    pub how: String,
}

impl Finding {
    /// The finding in one line, as the run and `status` show it.
    pub fn line(&self) -> String {
        let rows = if self.rows.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self.rows.iter().map(ToString::to_string).collect();
            format!(" ({} {})", self.unit_plural(), list.join(", "))
        };
        format!("{}{rows}; {}", self.message, self.how)
    }

    fn unit_plural(&self) -> String {
        if self.rows.len() == 1 {
            self.unit.clone()
        } else {
            format!("{}s", self.unit)
        }
    }
}

/// The rows of each part, ascending.
pub struct Parts<'a> {
    pub train: &'a [u32],
    pub val: &'a [u32],
    pub test: &'a [u32],
}

/// What the checks look at.
pub struct Input<'a> {
    pub ds: &'a Dataset,
    /// CSV data: every column of the file as written, row `r` of `ds` is record `r`.
    pub table: Option<&'a Table>,
    /// The label column's name (CSV), so that it is never judged as a feature.
    pub label: Option<&'a str>,
    pub hashes: &'a [RowHash],
    pub parts: Parts<'a>,
    pub opts: &'a SplitOptions,
}

impl Input<'_> {
    /// Where row `r` is, for the user: its CSV line, or its 1-based row number.
    fn place(&self, r: u32) -> usize {
        match self.table {
            Some(t) => t.lines[r as usize],
            None => r as usize + 1,
        }
    }

    fn unit(&self) -> &'static str {
        if self.table.is_some() { "line" } else { "row" }
    }

    /// A finding of `check` with the evidence rows `rows` (the first `MAX_ROWS` listed).
    fn finding(
        &self,
        check: &str,
        message: String,
        columns: Vec<String>,
        rows: &[u32],
        figure: f64,
        how: String,
    ) -> Finding {
        let accepted = if check == "duplicates" {
            self.opts.dedupe == Dedupe::Keep
        } else {
            self.opts.accept.iter().any(|a| a == check)
        };
        let mut places: Vec<usize> = rows.iter().map(|&r| self.place(r)).collect();
        places.sort_unstable();
        places.dedup();
        places.truncate(MAX_ROWS);
        Finding {
            check: check.to_string(),
            message,
            columns,
            rows: places,
            unit: self.unit().to_string(),
            figure,
            accepted,
            how,
        }
    }

    /// `how` for a check accepted by `accept: [check]`, after what fixes it.
    fn how(fix: &str, check: &str) -> String {
        format!("{fix}; `accept: [{check}]` in the split accepts it")
    }

    /// The feature columns by name (tabular data only: an image's pixels have no names).
    fn named_features(&self) -> Vec<(usize, &str)> {
        self.ds
            .feature_names
            .iter()
            .enumerate()
            .map(|(j, n)| (j, n.as_str()))
            .collect()
    }

    /// Feature `j` of every row.
    fn feature(&self, j: usize) -> Vec<f32> {
        let d = self.ds.features();
        (0..self.ds.n).map(|r| self.ds.x[r * d + j]).collect()
    }
}

/// Every check, in a fixed order; findings in the order found.
pub fn run(input: &Input) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(duplicates::exact(input));
    out.extend(duplicates::near(input));
    out.extend(conflicts::check(input));
    out.extend(constant::check(input));
    out.extend(single_feature::check(input));
    out.extend(identifier::check(input));
    out.extend(entity::check(input));
    out.extend(time::check(input));
    out
}

/// Is every value a whole number?
fn integral(values: &[f32]) -> bool {
    values.iter().all(|v| v.fract() == 0.0)
}
