//! What can be known of a data source without loading it: its row count, its columns (CSV)
//! and whether it has an official test part (IDX `t10k-*`). Read when a workflow is checked,
//! so that a split that cannot work is refused before anything runs or is written.

use std::io::Read;
use std::path::Path;

use super::csv_reader::Reader;
use super::{DataSpec, Source};

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Rows the split divides (for IDX: the train part; the t10k part is the official test).
    pub rows: usize,
    /// CSV: the header's column names.
    pub columns: Option<Vec<String>>,
    pub official_test: bool,
}

pub fn probe(spec: &DataSpec, base_dir: &Path) -> crate::Result<Probe> {
    match spec.source {
        Source::Builtin => {
            let ds = super::builtin::load(super::builtin_name(spec)?, spec.task)?;
            Ok(Probe {
                rows: ds.n,
                columns: None,
                official_test: false,
            })
        }
        Source::Idx => {
            let files = super::idx::find(&super::resolve(spec, base_dir)?)?;
            Ok(Probe {
                rows: idx_count(&files.train.labels)?,
                columns: None,
                official_test: files.test.is_some(),
            })
        }
        Source::Csv => {
            let path = super::resolve(spec, base_dir)?;
            let text = std::fs::read_to_string(&path).map_err(|e| crate::Error::io(&path, e))?;
            let mut reader = Reader::new(&text);
            let columns = match reader.next_record() {
                Some(Ok(h)) => h.fields.iter().map(|f| f.trim().to_string()).collect(),
                // Empty or unreadable: the loader's own error, with its line, comes at the split.
                _ => Vec::new(),
            };
            let mut rows = 0;
            while let Some(Ok(_)) = reader.next_record() {
                rows += 1;
            }
            Ok(Probe {
                rows,
                columns: Some(columns),
                official_test: false,
            })
        }
    }
}

/// The item count in an IDX file's header (the 4 bytes after the magic number).
fn idx_count(path: &Path) -> crate::Result<usize> {
    let io = |e| crate::Error::io(path, e);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 8];
    let gz = path.extension().is_some_and(|e| e == "gz");
    if gz {
        flate2::read::GzDecoder::new(file).read_exact(&mut head)
    } else {
        let mut file = file;
        file.read_exact(&mut head)
    }
    .map_err(io)?;
    Ok(u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize)
}
