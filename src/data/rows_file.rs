//! The rows of one split part as a file of their own (safetensors): what the split job writes
//! so that search and retrain workers read their train and val rows, and evaluate its sealed
//! test rows, without ever opening the data source. Tensors `x` (f32, `[n, ...shape]`, as
//! loaded: normalisation is applied by the reader from the manifest) and `y` (i64 class
//! indices, or f32 values); the metadata holds the task, the classes and the feature names.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::{Dataset, Target, Task};
use crate::error::{Error, Result};

/// Write `ds` (all its rows) to `path`, atomically. Returns the sha256 of the file written.
pub fn write(path: &Path, ds: &Dataset) -> Result<String> {
    let mut shape = vec![ds.n];
    shape.extend(&ds.shape);
    let x: Vec<u8> = ds.x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (ydtype, y): (Dtype, Vec<u8>) = match &ds.y {
        Target::Classes(c) => (Dtype::I64, c.iter().flat_map(|v| v.to_le_bytes()).collect()),
        Target::Values(v) => (Dtype::F32, v.iter().flat_map(|v| v.to_le_bytes()).collect()),
    };
    let views = [
        (
            "x",
            TensorView::new(Dtype::F32, shape, &x).map_err(Error::internal)?,
        ),
        (
            "y",
            TensorView::new(ydtype, vec![ds.n], &y).map_err(Error::internal)?,
        ),
    ];
    let meta: HashMap<String, String> = [
        ("task", serde_json::to_string(&ds.task)),
        ("classes", serde_json::to_string(&ds.classes)),
        ("class_names", serde_json::to_string(&ds.class_names)),
        ("feature_names", serde_json::to_string(&ds.feature_names)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.expect("serializable")))
    .collect();
    let bytes = safetensors::serialize(views, Some(meta)).map_err(Error::internal)?;
    crate::store::atomic::write(path, &bytes)?;
    Ok(sha256(&bytes))
}

/// The sha256 of a file's bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Read a rows file of a split after checking its bytes against the hash the split recorded
/// in its manifest: a file changed since is refused, never read.
pub fn read_checked(
    path: &Path,
    manifest_path: &Path,
    manifest: &super::Manifest,
) -> std::result::Result<Dataset, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    manifest.check_file(manifest_path, path, &bytes)?;
    parse(path, &bytes)
}

/// The number of classes a rows file holds, from its header alone (a file of 60k images is
/// not read for one number).
pub fn classes(path: &Path) -> std::result::Result<usize, String> {
    use std::io::Read;
    let bad = |why: String| format!("{}: {why}", path.display());
    let mut f = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|e| bad(e.to_string()))?;
    let n = u64::from_le_bytes(len) as usize;
    if n > 100_000_000 {
        return Err(bad(format!("a header of {n} bytes")));
    }
    let mut header = vec![0u8; n];
    f.read_exact(&mut header).map_err(|e| bad(e.to_string()))?;
    let h: serde_json::Value = serde_json::from_slice(&header).map_err(|e| bad(e.to_string()))?;
    h["__metadata__"]["classes"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no classes in the metadata".into()))
}

/// The number of rows in a rows file's bytes (the first dimension of `x`).
pub fn rows(bytes: &[u8]) -> std::result::Result<usize, String> {
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let x = st.tensor("x").map_err(|e| e.to_string())?;
    Ok(x.shape().first().copied().unwrap_or(0))
}

/// Read a file `write` wrote back into a `Dataset` of its rows.
pub fn read(path: &Path) -> std::result::Result<Dataset, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    parse(path, &bytes)
}

fn parse(path: &Path, bytes: &[u8]) -> std::result::Result<Dataset, String> {
    let bad = |why: String| format!("{}: {why}", path.display());
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |k: &str| -> std::result::Result<serde_json::Value, String> {
        let text = meta
            .get(k)
            .ok_or_else(|| bad(format!("no {k} in the metadata")))?;
        serde_json::from_str(text).map_err(|e| bad(format!("{k}: {e}")))
    };
    let task: Task = serde_json::from_value(field("task")?).map_err(|e| bad(e.to_string()))?;
    let x = st.tensor("x").map_err(|e| bad(e.to_string()))?;
    let y = st.tensor("y").map_err(|e| bad(e.to_string()))?;
    let n = x.shape().first().copied().unwrap_or(0);
    let floats = |d: &[u8]| -> Vec<f32> {
        d.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let target = match y.dtype() {
        Dtype::I64 => Target::Classes(
            y.data()
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        Dtype::F32 => Target::Values(floats(y.data())),
        other => return Err(bad(format!("y has dtype {other:?}"))),
    };
    Ok(Dataset {
        x: floats(x.data()),
        n,
        shape: x.shape()[1..].to_vec(),
        y: target,
        classes: serde_json::from_value(field("classes")?).map_err(|e| bad(e.to_string()))?,
        class_names: serde_json::from_value(field("class_names")?)
            .map_err(|e| bad(e.to_string()))?,
        task,
        feature_names: serde_json::from_value(field("feature_names")?)
            .map_err(|e| bad(e.to_string()))?,
        groups: None,
        official_test_from: None,
        source: None,
    })
}

/// The rows of `ds` as CSV for a `command` program: a header of the feature names (`f0`,
/// `f1`, ... for images, row-major) and `label`, then one line per row. Features are written
/// as they are in `ds` (the caller normalises); a label is the class index (`0..classes`) or
/// the value. Written atomically, so workers racing to write the same file cannot tear it.
pub fn write_csv(path: &Path, ds: &Dataset) -> Result<()> {
    use std::fmt::Write;
    let d = ds.features();
    let mut text = String::with_capacity(ds.n * (d * 8 + 8));
    let names: Vec<String> = if ds.feature_names.len() == d {
        ds.feature_names.clone()
    } else {
        (0..d).map(|j| format!("f{j}")).collect()
    };
    for n in &names {
        // A header cell is quoted only when it must be.
        if n.contains([',', '"', '\n']) {
            let _ = write!(text, "\"{}\",", n.replace('"', "\"\""));
        } else {
            let _ = write!(text, "{n},");
        }
    }
    text.push_str("label\n");
    for i in 0..ds.n {
        for v in ds.row(i) {
            let _ = write!(text, "{v},");
        }
        match &ds.y {
            Target::Classes(c) => {
                let _ = writeln!(text, "{}", c[i]);
            }
            Target::Values(v) => {
                let _ = writeln!(text, "{}", v[i]);
            }
        }
    }
    crate::store::atomic::write(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_the_round_trip() {
        let ds = crate::data::builtin::load("digits", Task::Classification).unwrap();
        let part = ds.select(&[3, 1, 4, 1, 5]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.safetensors");
        write(&path, &part).unwrap();
        assert_eq!(
            read(&path).unwrap(),
            Dataset {
                groups: None,
                ..part.clone()
            }
        );
        let csv = dir.path().join("train.csv");
        write_csv(&csv, &part).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].starts_with("f0,f1,") && lines[0].ends_with(",f63,label"));
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first.len(), 65);
        assert_eq!(first[64], ds.class_of(3).unwrap().to_string());
        assert_eq!(first[0].parse::<f32>().unwrap(), ds.row(3)[0]);
    }
}
