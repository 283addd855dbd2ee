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

/// The exact identity of a row: equal for two rows whose every column holds the same text or
/// number.
pub fn row_identity(rec: &Record) -> RowHash {
    let mut buf = Vec::with_capacity(rec.cells.len() * 12 + 16);
    buf.extend_from_slice(b"hpflow-row-v2\0");
    for (k, cell) in rec.cells.iter().enumerate() {
        if let Some(name) = rec.names.get(k) {
            buf.extend_from_slice(name.as_bytes());
            buf.push(0);
        }
        match cell {
            Cell::Num(x) => {
                buf.push(b'n');
                buf.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Cell::Text(s) => {
                buf.push(b't');
                buf.extend_from_slice(s.as_bytes());
                buf.push(0);
            }
        }
    }
    Sha256::digest(&buf).into()
}

/// The exact identity of every row.
/// 70k images are 55M cells, so the rows are hashed on all cores in contiguous chunks (the
/// result does not depend on the chunking).
pub fn row_hashes(ds: &Dataset) -> Vec<RowHash> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = ds.n.div_ceil(threads).max(1);
    let mut out = vec![[0u8; 32]; ds.n];
    std::thread::scope(|s| {
        for (k, slot) in out.chunks_mut(chunk).enumerate() {
            s.spawn(move || {
                for (i, h) in slot.iter_mut().enumerate() {
                    *h = row_identity(&ds.record(k * chunk + i));
                }
            });
        }
    });
    out
}

/// A row of a dataset without its source table (images, rows files): its features, then
/// its label as written in the source (the class name, not its index).
pub(crate) fn record_of_features(ds: &Dataset, i: usize) -> Vec<Cell> {
    let mut cells: Vec<Cell> = ds
        .row(i)
        .iter()
        .map(|&v| Cell::Num(f64::from(v) + 0.0))
        .collect();
    cells.push(match &ds.y {
        Target::Classes(c) => match ds.class_names.get(c[i] as usize) {
            Some(name) => Cell::parse(name),
            None => Cell::Num(c[i] as f64),
        },
        Target::Values(v) => Cell::Num(f64::from(v[i]) + 0.0),
    });
    cells
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
}
