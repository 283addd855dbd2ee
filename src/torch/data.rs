//! The data a worker trains on: the split job's train and val files (a worker never opens the
//! data source), read once per split (a worker runs many trials), normalised (with the split's
//! statistics, or each pixel with its own for the MLP) and moved to the device, so that every
//! batch is an index into resident tensors.

use std::path::PathBuf;
use std::rc::Rc;

use tch::{Device, Kind, Tensor};

use super::head::Head;
use hpflow::data::{Dataset, Manifest, Normalisation, Target, rows_file};
use hpflow::train::protocol::DataRef;

/// Rows resident on the device: features `[n, ...shape]` and targets `[n]`.
pub struct Part {
    pub x: Tensor,
    pub y: Tensor,
}

impl Part {
    pub fn len(&self) -> i64 {
        self.x.size()[0]
    }

    /// Both parts' rows, one after the other (retrain on train+val).
    pub fn concat(&self, other: &Part) -> Part {
        Part {
            x: Tensor::cat(&[&self.x, &other.x], 0),
            y: Tensor::cat(&[&self.y, &other.y], 0),
        }
    }
}

pub struct Prepared {
    pub shape: Vec<usize>,
    pub head: Head,
    pub normalisation: Normalisation,
    pub train: Part,
    pub val: Part,
}

#[derive(Default)]
pub struct DataCache {
    // Tensors are not `Sync`; a worker trains on one thread, so `Rc` suffices.
    /// Keyed by the train and val files (folds share a manifest, not their rows) and whether
    /// pixels are standardised one by one.
    prepared: Option<((PathBuf, PathBuf, bool), Device, Rc<Prepared>)>,
}

impl DataCache {
    /// The split's train and val rows, read from the files the split job wrote (never the
    /// data source), normalised and moved to `device`, once per split. The statistics are the
    /// split's (one pair per image channel), except with `per_pixel` for a model that
    /// flattens an image (the MLP): there each pixel is a feature, standardised with its own
    /// mean and std over the training rows, as a PyTorch or scikit-learn MLP is fed. One pair
    /// per channel cost the MLP 0.7 points of val accuracy on Fashion-MNIST (BENCHMARKS.md,
    /// "B5 controlled experiment").
    pub fn prepared(
        &mut self,
        data: &DataRef,
        device: Device,
        per_pixel: bool,
    ) -> Result<Rc<Prepared>, String> {
        let key = (data.train.clone(), data.val.clone(), per_pixel);
        if let Some((k, d, p)) = &self.prepared
            && *k == key
            && *d == device
        {
            return Ok(p.clone());
        }
        // Drop the old tensors before reading new rows: one split in memory at a time.
        self.prepared = None;
        let text = std::fs::read_to_string(&data.manifest)
            .map_err(|e| format!("reading {}: {e}", data.manifest.display()))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| format!("reading {}: {e}", data.manifest.display()))?;
        let train = rows_file::read_checked(&data.train, &data.manifest, &manifest)?;
        let val = rows_file::read_checked(&data.val, &data.manifest, &manifest)?;
        // Tabular rows have one pair per feature already.
        let normalisation = if per_pixel && train.shape.len() == 3 {
            Normalisation::fit_features(&train)
        } else {
            manifest.normalisation
        };
        let p = Rc::new(Prepared {
            shape: train.shape.clone(),
            head: Head::new(train.task, train.classes)?,
            train: all(&train, &normalisation, device)?,
            val: all(&val, &normalisation, device)?,
            normalisation,
        });
        self.prepared = Some((key, device, p.clone()));
        Ok(p)
    }
}

/// Every row of `ds`, normalised and on `device`.
pub fn all(ds: &Dataset, norm: &Normalisation, device: Device) -> Result<Part, String> {
    let rows: Vec<u32> = (0..ds.n as u32).collect();
    part(ds, &rows, norm, device)
}

/// Per-feature means and reciprocal standard deviations.
type Stats = (Vec<f32>, Vec<f32>);

/// Per-feature `(mean, 1/std)`: the statistics are per channel when there is one per channel
/// of a `[C, H, W]` row, per feature when there is one per feature, absent when empty.
fn per_feature(shape: &[usize], norm: &Normalisation) -> Result<Option<Stats>, String> {
    let d: usize = shape.iter().product();
    if norm.mean.is_empty() {
        return Ok(None);
    }
    if norm.mean.len() != norm.std.len() {
        return Err(format!(
            "normalisation has {} means but {} stds",
            norm.mean.len(),
            norm.std.len()
        ));
    }
    // A constant feature has std 0: leave its scale alone rather than divide by zero.
    let inv = |s: f32| {
        if s.is_finite() && s > 0.0 {
            1.0 / s
        } else {
            1.0
        }
    };
    let k = norm.mean.len();
    let (mean, scale): (Vec<f32>, Vec<f32>) = match shape {
        [c, h, w] if k == *c => (0..d)
            .map(|j| (norm.mean[j / (h * w)], inv(norm.std[j / (h * w)])))
            .unzip(),
        _ if k == d => (0..d).map(|j| (norm.mean[j], inv(norm.std[j]))).unzip(),
        _ => {
            return Err(format!(
                "normalisation has {k} statistics but rows have shape {shape:?} ({d} features)"
            ));
        }
    };
    Ok(Some((mean, scale)))
}

/// Gather `rows` of `ds`, normalise them and move them to `device`.
pub fn part(
    ds: &Dataset,
    rows: &[u32],
    norm: &Normalisation,
    device: Device,
) -> Result<Part, String> {
    let d = ds.features();
    let stats = per_feature(&ds.shape, norm)?;
    let mut x = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        let r = r as usize;
        if r >= ds.n {
            return Err(format!(
                "row {r} is out of range: the dataset has {} rows",
                ds.n
            ));
        }
        match &stats {
            Some((mean, scale)) => {
                x.extend(
                    ds.row(r)
                        .iter()
                        .zip(mean)
                        .zip(scale)
                        .map(|((v, m), s)| (v - m) * s),
                );
            }
            None => x.extend_from_slice(ds.row(r)),
        }
    }
    let mut dims = vec![rows.len() as i64];
    dims.extend(ds.shape.iter().map(|s| *s as i64));
    let torch_err = |e: tch::TchError| format!("moving data to {device:?}: {e}");
    let x = Tensor::f_from_slice(&x)
        .and_then(|t| t.f_reshape(&dims))
        .and_then(|t| t.f_to_device(device))
        .map_err(torch_err)?;
    let y = match &ds.y {
        Target::Classes(c) => {
            let v: Vec<i64> = rows.iter().map(|&r| c[r as usize]).collect();
            Tensor::f_from_slice(&v)
        }
        Target::Values(c) => {
            let v: Vec<f32> = rows.iter().map(|&r| c[r as usize]).collect();
            Tensor::f_from_slice(&v)
        }
    }
    .and_then(|t| t.f_to_device(device))
    .map_err(torch_err)?;
    debug_assert!(matches!(y.kind(), Kind::Int64 | Kind::Float));
    Ok(Part { x, y })
}
