//! Fitting normalisation statistics on training rows and applying them to any rows.

use super::{Dataset, Normalisation};

/// Below this standard deviation a channel or feature counts as constant. It is then only
/// centred (std stored as 1), as scikit-learn's StandardScaler does: dividing by a tiny
/// std would blow up any val/test value that differs from the constant training value.
const MIN_STD: f64 = 1e-6;

impl Normalisation {
    /// Mean and std (population) over `rows` only. Images get one pair per channel, tabular
    /// data one per feature.
    pub fn fit(ds: &Dataset, rows: &[u32]) -> Normalisation {
        fit_in(ds, rows, layout(ds))
    }

    /// Mean and std of every feature over every row of `ds`, whatever its shape: an image's
    /// pixels get one pair each. For a model that flattens its input (the MLP): a pixel is a
    /// feature of its own there, and standardising each one, as scikit-learn's
    /// StandardScaler or a PyTorch MLP on `(x - x.mean(0)) / x.std(0)` does, scored 0.7
    /// points of val accuracy higher on Fashion-MNIST than one pair per image channel
    /// (BENCHMARKS.md, "B5 controlled experiment").
    pub fn fit_features(ds: &Dataset) -> Normalisation {
        let rows: Vec<u32> = (0..ds.n as u32).collect();
        fit_in(ds, &rows, (ds.features(), 1))
    }

    /// An identity normalisation for `ds` (mean 0, std 1), for data that must stay raw.
    pub fn identity(ds: &Dataset) -> Normalisation {
        let (units, _) = layout(ds);
        Normalisation {
            mean: vec![0.0; units],
            std: vec![1.0; units],
        }
    }
}

/// Mean and std (population) of each of `units` statistics over `rows`, `per_unit` values of
/// a row each. Sums run in f64 so 70k×784 values do not lose precision.
fn fit_in(ds: &Dataset, rows: &[u32], (units, per_unit): (usize, usize)) -> Normalisation {
    let mut sum = vec![0f64; units];
    let mut sq = vec![0f64; units];
    for &r in rows {
        for (j, &v) in ds.row(r as usize).iter().enumerate() {
            let u = unit_of(j, per_unit, units);
            let v = f64::from(v);
            sum[u] += v;
            sq[u] += v * v;
        }
    }
    let count = (rows.len() * per_unit).max(1) as f64;
    let mut mean = Vec::with_capacity(units);
    let mut std = Vec::with_capacity(units);
    for u in 0..units {
        let m = sum[u] / count;
        // max(0): rounding can make E[x²] - m² slightly negative for a constant unit.
        let s = (sq[u] / count - m * m).max(0.0).sqrt();
        mean.push(m as f32);
        std.push(if s < MIN_STD { 1.0 } else { s as f32 });
    }
    Normalisation { mean, std }
}

impl Dataset {
    /// Apply `(x - mean) / std` in place, per channel or per feature as `norm` was fitted.
    /// Workers call this on every split with the statistics from the manifest.
    pub fn normalise(&mut self, norm: &Normalisation) -> crate::Result<()> {
        let (units, per_unit) = layout(self);
        if norm.mean.len() != units || norm.std.len() != units {
            return Err(crate::Error::internal(format!(
                "normalisation has {} means and {} stds, the data has {units} channels/features",
                norm.mean.len(),
                norm.std.len()
            )));
        }
        let inv: Vec<f32> = norm.std.iter().map(|s| 1.0 / s).collect();
        let d = self.features();
        if d == 0 {
            return Ok(());
        }
        for row in self.x.chunks_exact_mut(d) {
            for (j, v) in row.iter_mut().enumerate() {
                let u = unit_of(j, per_unit, units);
                *v = (*v - norm.mean[u]) * inv[u];
            }
        }
        Ok(())
    }
}

/// (number of statistics, values per statistic within one row).
fn layout(ds: &Dataset) -> (usize, usize) {
    if ds.shape.len() == 3 {
        let channels = ds.shape[0].max(1);
        (channels, ds.features() / channels)
    } else {
        (ds.features(), 1)
    }
}

/// Which statistic value `j` of a row belongs to. Images are channel-major (`[c, h, w]`).
fn unit_of(j: usize, per_unit: usize, units: usize) -> usize {
    if per_unit == 1 {
        j
    } else {
        (j / per_unit).min(units - 1)
    }
}
