//! Tests of data loading and splitting, with the files they need written to temp folders.

mod csv_errors;
mod csv_load;
mod load;
mod split_groups;
mod split_options;
mod split_rows;

use std::path::{Path, PathBuf};

use super::{DataSpec, Dataset, Source, Task};

pub const FASHION: &str = "/usr/share/datasets/fashion-mnist";

pub fn digits() -> Dataset {
    super::load(&spec(Source::Builtin, None), Path::new("."), None).expect("digits load")
}

pub fn spec(source: Source, path: Option<&Path>) -> DataSpec {
    DataSpec {
        source,
        path: path.map(Path::to_path_buf),
        name: (source == Source::Builtin).then(|| "digits".to_string()),
        task: Task::Classification,
        label: None,
        features: None,
    }
}

pub fn csv_spec(path: &Path, label: &str) -> DataSpec {
    DataSpec {
        label: Some(label.to_string()),
        ..spec(Source::Csv, Some(path))
    }
}

/// Write `text` as `name` in `dir` and return its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// An IDX file: magic, big-endian dims, then the bytes.
pub fn idx_bytes(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

/// A small IDX folder: `train` images of 4x4 and, when `test > 0`, t10k images, labels i % 3.
/// Image i holds the value i % 251 in every pixel, so rows are distinct within 251.
pub fn idx_folder(dir: &Path, train: u32, test: u32, gzip: bool) {
    let write_part = |part: &str, n: u32, offset: u32| {
        let pixels: Vec<u8> = (0..n)
            .flat_map(|i| [((i + offset) % 251) as u8; 16])
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| ((i + offset) % 3) as u8).collect();
        for (kind, bytes) in [
            ("images-idx3", idx_bytes(0x803, &[n, 4, 4], &pixels)),
            ("labels-idx1", idx_bytes(0x801, &[n], &labels)),
        ] {
            let name = format!("{part}-{kind}-ubyte");
            if gzip {
                use std::io::Write;
                let f = std::fs::File::create(dir.join(format!("{name}.gz"))).expect("create");
                let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
                gz.write_all(&bytes).expect("gzip");
                gz.finish().expect("gzip finish");
            } else {
                std::fs::write(dir.join(name), bytes).expect("write idx");
            }
        }
    };
    write_part("train", train, 0);
    if test > 0 {
        write_part("t10k", test, train);
    }
}

pub fn message(e: crate::Error) -> String {
    e.to_string()
}
