//! Datasets embedded in the binary, so a workflow (or a test) needs no files at all.

use std::io::Read;

use super::{Dataset, Target, Task};

/// The UCI optical-recognition handwritten digits (the copy scikit-learn ships): 1,797 rows
/// of 64 pixel counts in 0..16 followed by the digit. See `README-credits.md`.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("digits.csv.gz");

/// Names `builtin` accepts, for error messages.
pub const KNOWN: &[&str] = &["digits"];

/// The embedded bytes behind a builtin name (what `content_hash` hashes).
pub fn bytes(name: &str) -> crate::Result<&'static [u8]> {
    match name {
        "digits" => Ok(DIGITS_CSV_GZ),
        other => Err(crate::Error::Usage(format!(
            "data.name: unknown builtin dataset `{other}`; known: {}",
            KNOWN.join(", ")
        ))),
    }
}

pub fn load(name: &str, task: Task) -> crate::Result<Dataset> {
    bytes(name)?;
    if task != Task::Classification {
        return Err(crate::Error::Usage(format!(
            "data.task: builtin `{name}` is a classification dataset; set `task: classification`"
        )));
    }
    digits()
}

fn digits() -> crate::Result<Dataset> {
    // The bytes are ours, fixed at build time: a failure here is a bug, not bad input.
    let bad = |msg: String| crate::Error::internal(format!("embedded digits data: {msg}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    const PIXELS: usize = 64;
    let mut x = Vec::with_capacity(1797 * PIXELS);
    let mut y = Vec::with_capacity(1797);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let mut cells = 0;
        for cell in line.split(',') {
            let v: u8 = cell
                .trim()
                .parse()
                .map_err(|_| bad(format!("line {}: `{cell}` is not an integer", i + 1)))?;
            if cells < PIXELS {
                x.push(f32::from(v));
            } else {
                y.push(i64::from(v));
            }
            cells += 1;
        }
        if cells != PIXELS + 1 {
            return Err(bad(format!("line {}: {cells} cells, expected 65", i + 1)));
        }
    }
    let n = y.len();
    Ok(Dataset {
        x,
        n,
        shape: vec![1, 8, 8],
        y: Target::Classes(y),
        classes: 10,
        class_names: (0..10).map(|d| d.to_string()).collect(),
        task: Task::Classification,
        feature_names: Vec::new(),
        groups: None,
        official_test_from: None,
        source: None,
    })
}
