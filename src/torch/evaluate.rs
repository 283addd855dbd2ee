//! `Mode::Evaluate`: load a retrained model and measure it once on the sealed test rows' file.
//! Metrics come back as `test_<name>`; a name may be given with or without that prefix.

use std::collections::BTreeMap;
use std::path::Path;

use tch::Device;

use super::data::all;
use super::head::{Head, measure};
use super::hparams::HParams;
use super::model_dir::read_info;
use super::session::{Session, WEIGHTS};
use hpflow::data::rows_file;
use hpflow::train::TrainRequest;
use hpflow::train::metrics::{CLASSIFICATION, REGRESSION};

/// `(epochs the model was trained for, metrics)`, or the reason it could not be measured.
pub fn evaluate(
    req: &TrainRequest,
    device: Device,
    model_dir: &Path,
    test: &Path,
    names: &[String],
) -> Result<(u32, BTreeMap<String, f64>), String> {
    let info = read_info(model_dir)?;
    let hp = HParams::parse(&info.model, &info.config)?;
    let head = Head::new(info.task, info.classes)?;
    let known = if head == Head::Regression {
        REGRESSION
    } else {
        CLASSIFICATION
    };
    let mut wanted = Vec::new();
    for n in names {
        let bare = n.strip_prefix("test_").unwrap_or(n);
        match known.iter().find(|k| **k == bare) {
            Some(k) => wanted.push(*k),
            None => {
                return Err(format!(
                    "unknown metric {n} for this task (expected one of {})",
                    known.join(", ")
                ));
            }
        }
    }
    // Checked against the hash the split recorded: a sealed file changed since is refused.
    let data = req
        .data
        .as_ref()
        .ok_or("evaluate: the request names no split to check the test rows against")?;
    let text = std::fs::read_to_string(&data.manifest)
        .map_err(|e| format!("reading {}: {e}", data.manifest.display()))?;
    let manifest: hpflow::data::Manifest = serde_json::from_str(&text)
        .map_err(|e| format!("reading {}: {e}", data.manifest.display()))?;
    let ds = rows_file::read_checked(test, &data.manifest, &manifest)?;
    if ds.shape != info.shape {
        return Err(format!(
            "the model was trained on rows of shape {:?}, the data has {:?}",
            info.shape, ds.shape
        ));
    }
    let rows = all(&ds, &info.normalisation, device)?;
    let mut session = Session::new(&hp, &info.shape, head, device, req.seed)?;
    session.load_weights(&model_dir.join(WEIGHTS))?;
    let metrics = measure(&*session.net, head, &rows, "test_", &wanted)
        .map_err(|loss| format!("the model's loss on the test rows is {loss}"))?;
    Ok((info.epochs, metrics))
}
