//! Row identity: a sha256 per row over its source record (every column as read, before
//! feature selection, columns in name order, numbers canonical), so that changing
//! `features:`, reordering the columns or re-saving the file (`1.0` for `1`) leaves every
//! row's identity as it was. It finds duplicates across splits and fingerprints the sealed
//! test rows. Near copies are the data checks' (`data::checks::duplicates::near`: rounding
//! relative to each feature's spread, which one absolute tolerance cannot be).

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use crate::data::{Dataset, Target};

pub type RowHash = [u8; 32];

/// One cell of a source record, canonical: a number (`1`, `1.0`, `1e0` and `-0` for `0`
/// agree) or trimmed text.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Num(f64),
    Text(Box<str>),
}

impl Cell {
    pub fn parse(s: &str) -> Cell {
        let t = s.trim();
        match t.parse::<f64>() {
            // `+ 0.0` turns -0 into 0.
            Ok(x) if x.is_finite() => Cell::Num(x + 0.0),
            _ => Cell::Text(t.into()),
        }
    }
}

/// One row as read from its source. `names` are the columns in canonical order (sorted by
/// name), one per cell; empty for a source without column names (images: the pixels in
/// position order, then the label).
pub struct Record<'a> {
    pub names: &'a [String],
    pub cells: Cow<'a, [Cell]>,
}

const ROW_PREFIX: &[u8] = b"hpflow-row-v2\0";

/// The exact identity of a row: equal for two rows whose every column holds the same text or
/// number.
pub fn row_identity(rec: &Record) -> RowHash {
    let mut buf = Vec::with_capacity(rec.cells.len() * 12 + 16);
    buf.extend_from_slice(ROW_PREFIX);
    for (k, cell) in rec.cells.iter().enumerate() {
        if let Some(name) = rec.names.get(k) {
            buf.extend_from_slice(name.as_bytes());
            buf.push(0);
        }
        push_cell(&mut buf, cell);
    }
    Sha256::digest(&buf).into()
}

fn push_cell(buf: &mut Vec<u8>, cell: &Cell) {
    match cell {
        Cell::Num(x) => push_num(buf, *x),
        Cell::Text(s) => {
            buf.push(b't');
            buf.extend_from_slice(s.as_bytes());
            buf.push(0);
        }
    }
}

#[inline]
fn push_num(buf: &mut Vec<u8>, x: f64) {
    buf.push(b'n');
    buf.extend_from_slice(&x.to_bits().to_le_bytes());
}

/// `row_identity` of a row without a source table, written straight from its features (no
/// record of cells in between): the same bytes, so the same hash.
fn features_identity(ds: &Dataset, i: usize) -> RowHash {
    let row = ds.row(i);
    let mut buf = Vec::with_capacity(row.len() * 9 + 64);
    buf.extend_from_slice(ROW_PREFIX);
    for &v in row {
        push_num(&mut buf, f64::from(v) + 0.0);
    }
    push_cell(&mut buf, &label_cell(ds, i));
    Sha256::digest(&buf).into()
}

/// The exact identity of every row, on all cores.
pub fn row_hashes(ds: &Dataset) -> Vec<RowHash> {
    if ds.source.is_some() {
        crate::data::par::map_rows(ds.n, |r| row_identity(&ds.record(r)))
    } else {
        crate::data::par::map_rows(ds.n, |r| features_identity(ds, r))
    }
}

/// A row of a dataset without its source table (images, rows files): its features, then
/// its label as written in the source (the class name, not its index).
pub(crate) fn record_of_features(ds: &Dataset, i: usize) -> Vec<Cell> {
    let mut cells: Vec<Cell> = ds
        .row(i)
        .iter()
        .map(|&v| Cell::Num(f64::from(v) + 0.0))
        .collect();
    cells.push(label_cell(ds, i));
    cells
}

/// Row `i`'s label as written in the source (the class name, not its index).
fn label_cell(ds: &Dataset, i: usize) -> Cell {
    match &ds.y {
        Target::Classes(c) => match ds.class_names.get(c[i] as usize) {
            Some(name) => Cell::parse(name),
            None => Cell::Num(c[i] as f64),
        },
        Target::Values(v) => Cell::Num(f64::from(v[i]) + 0.0),
    }
}

/// sha256 over the test rows' indices and row hashes, in ascending row order: it changes
/// when a different row, or a row with different content, enters the sealed test split.
pub fn test_hash(test_rows: &[u32], hashes: &[RowHash]) -> String {
    let mut h = Sha256::new();
    h.update(b"hpflow-test-rows-v1\0");
    for &r in test_rows {
        h.update(r.to_le_bytes());
        h.update(hashes[r as usize]);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(names: &'a [String], cells: &[&str]) -> Record<'a> {
        Record {
            names,
            cells: Cow::Owned(cells.iter().map(|c| Cell::parse(c)).collect()),
        }
    }

    #[test]
    fn numbers_agree_however_written() {
        let names: Vec<String> = ["a", "b", "label"].map(String::from).to_vec();
        let one = row_identity(&rec(&names, &["1", "0.5", "x"]));
        assert_eq!(one, row_identity(&rec(&names, &["1.0", " 5e-1", "x"])));
        assert_eq!(
            row_identity(&rec(&names, &["0", "1", "x"])),
            row_identity(&rec(&names, &["-0", "1", "x"]))
        );
        let close = rec(&names, &["1.0000001", "0.5", "x"]);
        assert_ne!(one, row_identity(&close));
        // Another label or another column name is another row.
        assert_ne!(one, row_identity(&rec(&names, &["1", "0.5", "y"])));
        let other: Vec<String> = ["a", "c", "label"].map(String::from).to_vec();
        assert_ne!(one, row_identity(&rec(&other, &["1", "0.5", "x"])));
    }

    /// Rows without a source table are hashed straight from their features: the same
    /// identity as through their records, for class names that read as text or as numbers,
    /// for -0, and for regression targets.
    #[test]
    fn rows_without_a_source_table_keep_their_identity() {
        let ds = Dataset {
            x: vec![0.0, -0.0, 0.5, 255.0, 1e-7, 3.0, -2.5, 0.0, 7.0],
            n: 3,
            shape: vec![3],
            y: Target::Classes(vec![0, 1, 2]),
            classes: 3,
            class_names: vec!["cat".into(), "7".into(), " 2.0".into()],
            task: crate::data::Task::Classification,
            feature_names: Vec::new(),
            groups: None,
            official_test_from: None,
            source: None,
        };
        let by_record: Vec<RowHash> = (0..3).map(|r| row_identity(&ds.record(r))).collect();
        assert_eq!(row_hashes(&ds), by_record);
        assert_ne!(by_record[0], by_record[1]);
        let reg = Dataset {
            y: Target::Values(vec![1.5, -0.0, 2.0]),
            classes: 0,
            class_names: Vec::new(),
            task: crate::data::Task::Regression,
            ..ds
        };
        let by_record: Vec<RowHash> = (0..3).map(|r| row_identity(&reg.record(r))).collect();
        assert_eq!(row_hashes(&reg), by_record);
    }
}
