//! A CSV file's columns as written, for the checks that judge columns the model never sees
//! (a date, a patient id) and for `split: {by_time: COLUMN}`.

use std::path::Path;

use crate::data::csv_reader::Reader;

pub struct Table {
    pub names: Vec<String>,
    /// `cells[c][r]`: column c of data row r, trimmed.
    pub cells: Vec<Vec<String>>,
    /// The 1-based line each data row starts on.
    pub lines: Vec<usize>,
}

impl Table {
    /// Read after the loader accepted the file, so a file it refuses is never read here;
    /// `None` if it cannot be read as a table all the same.
    pub fn read(path: &Path) -> Option<Table> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut reader = Reader::new(&text);
        let header = reader.next_record()?.ok()?;
        let names: Vec<String> = header.fields.iter().map(|f| f.trim().to_string()).collect();
        let mut cells = vec![Vec::new(); names.len()];
        let mut lines = Vec::new();
        while let Some(rec) = reader.next_record() {
            let rec = rec.ok()?;
            if rec.fields.len() != names.len() {
                return None;
            }
            for (c, f) in rec.fields.iter().enumerate() {
                cells[c].push(f.trim().to_string());
            }
            lines.push(rec.line);
        }
        Some(Table {
            names,
            cells,
            lines,
        })
    }

    pub fn column(&self, name: &str) -> Option<&[String]> {
        let c = self.names.iter().position(|n| n == name)?;
        Some(&self.cells[c])
    }
}
