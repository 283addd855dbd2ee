//! The rows a `command` program receives: CSV files made from the split job's files, with
//! features normalised by the statistics fitted on the training rows. `HPFLOW_MODE` says what
//! to do; search gets `HPFLOW_TRAIN` and `HPFLOW_VAL`, a retrain on `train+val` gets both
//! parts in `HPFLOW_TRAIN` and no `HPFLOW_VAL`, and evaluate gets `HPFLOW_TEST` (the sealed
//! rows, which the evaluate stage logged opening) and `HPFLOW_MODEL_DIR`. The CSVs are made
//! once, beside the files they come from, and shared by every trial of the split; the test
//! rows' CSV is made in the evaluating trial's folder and removed when its program ends. Each CSV
//! has a binary twin, the same normalised rows as safetensors (`HPFLOW_TRAIN_SAFETENSORS`,
//! `HPFLOW_VAL_SAFETENSORS`, `HPFLOW_TEST_SAFETENSORS`): image rows parse in seconds as CSV,
//! and load in a fraction of one from the binary file (python/hpflow reads it with numpy).

use std::path::{Path, PathBuf};

use crate::data::{Dataset, Manifest, Target, rows_file};
use crate::train::protocol::{DataRef, Mode, TrainRequest};
use crate::vocab::RetrainOn;

/// The environment a command program gets for `req`'s data (none without `data:`).
pub fn env(req: &TrainRequest) -> Result<Vec<(&'static str, String)>, String> {
    let mode = match &req.mode {
        Mode::Search => "search",
        Mode::Retrain { .. } => "retrain",
        Mode::Evaluate { .. } => "evaluate",
    };
    let mut out = vec![("HPFLOW_MODE", mode.to_string())];
    let Some(data) = &req.data else {
        return Ok(out);
    };
    let task = match data.task {
        crate::data::Task::Classification => "classification",
        crate::data::Task::Regression => "regression",
    };
    out.push(("HPFLOW_TASK", task.to_string()));
    match &req.mode {
        Mode::Search => {
            push(&mut out, "TRAIN", csv(data, &[&data.train])?);
            push(&mut out, "VAL", csv(data, &[&data.val])?);
        }
        Mode::Retrain {
            on: RetrainOn::TrainVal,
        } => {
            let both = csv(data, &[&data.train, &data.val])?;
            push(&mut out, "TRAIN", both);
        }
        Mode::Retrain {
            on: RetrainOn::Train,
        } => {
            push(&mut out, "TRAIN", csv(data, &[&data.train])?);
            push(&mut out, "VAL", csv(data, &[&data.val])?);
        }
        Mode::Evaluate {
            model_dir, test, ..
        } => {
            // Into the trial's own folder, removed when the program ends: no plaintext copy
            // of the test rows stays beside the sealed file.
            let into = crate::train::TrialDir::of(&req.trial_dir).test_rows();
            std::fs::create_dir_all(&into).map_err(|e| format!("{}: {e}", into.display()))?;
            push(&mut out, "TEST", csv_in(data, &[test.as_path()], &into)?);
            out.push(("HPFLOW_MODEL_DIR", model_dir.display().to_string()));
        }
    }
    if let Ok(k) = rows_file::classes(&data.train) {
        out.push(("HPFLOW_CLASSES", k.to_string()));
    }
    Ok(out)
}

/// `HPFLOW_<part>` (the CSV) and `HPFLOW_<part>_SAFETENSORS` (its binary twin).
fn push(
    out: &mut Vec<(&'static str, String)>,
    part: &'static str,
    (csv, binary): (PathBuf, PathBuf),
) {
    let (plain, fast) = match part {
        "TRAIN" => ("HPFLOW_TRAIN", "HPFLOW_TRAIN_SAFETENSORS"),
        "VAL" => ("HPFLOW_VAL", "HPFLOW_VAL_SAFETENSORS"),
        _ => ("HPFLOW_TEST", "HPFLOW_TEST_SAFETENSORS"),
    };
    out.push((plain, csv.display().to_string()));
    out.push((fast, binary.display().to_string()));
}

/// A CSV beside the first of `parts` (`train.csv`, `fold-2-val.csv`, `train+val.csv`: its
/// rows, then the next part's), normalised with the split's statistics, and the same rows as
/// safetensors (`train.normalised.safetensors`: the split's own file keeps the raw rows);
/// made if missing. The CSV is written last, so that its presence means both are whole.
fn csv(data: &DataRef, parts: &[&Path]) -> Result<(PathBuf, PathBuf), String> {
    let beside = parts[0].parent().unwrap_or(Path::new("."));
    csv_in(data, parts, beside)
}

/// `csv`, made in the folder `dir`.
fn csv_in(data: &DataRef, parts: &[&Path], dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let first = parts[0];
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let name: Vec<String> = parts.iter().map(|p| stem(p)).collect();
    let out = dir.join(format!("{}.csv", name.join("+")));
    let binary = dir.join(format!("{}.normalised.safetensors", name.join("+")));
    if out.exists() && binary.exists() {
        return Ok((out, binary));
    }
    let text = std::fs::read_to_string(&data.manifest)
        .map_err(|e| format!("reading {}: {e}", data.manifest.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| format!("reading {}: {e}", data.manifest.display()))?;
    // Each part checked against the hash the split recorded before a row of it is used.
    let read = |p: &Path| rows_file::read_checked(p, &data.manifest, &manifest);
    let mut rows = read(first)?;
    for p in &parts[1..] {
        rows = concat(rows, read(p)?);
    }
    rows.normalise(&manifest.normalisation)
        .map_err(|e| e.to_string())?;
    rows_file::write(&binary, &rows).map_err(|e| e.to_string())?;
    rows_file::write_csv(&out, &rows).map_err(|e| e.to_string())?;
    Ok((out, binary))
}

fn concat(mut a: Dataset, b: Dataset) -> Dataset {
    a.x.extend(b.x);
    a.n += b.n;
    a.y = match (a.y, b.y) {
        (Target::Classes(mut x), Target::Classes(y)) => {
            x.extend(y);
            Target::Classes(x)
        }
        (Target::Values(mut x), Target::Values(y)) => {
            x.extend(y);
            Target::Values(x)
        }
        (x, _) => x,
    };
    a
}
