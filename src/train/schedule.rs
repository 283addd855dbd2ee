//! Learning-rate schedules (`lr_schedule: constant | step | cosine | exponential`, with
//! `warmup_epochs`, `step_size`, `gamma`, `min_lr`): the rate of each epoch as a pure function
//! of the epoch, the hyperparameters and the horizon. A checkpoint holds the epoch, so a
//! resumed or promoted trial continues its schedule exactly; there is no other state.
//!
//! The horizon of `cosine` is the search's `max_epochs` (the largest budget any trial may get),
//! not the epochs of the current request: a trial promoted from 3 to 9 epochs goes on along
//! the same curve instead of starting it again, and a retrain for the winner's epochs follows
//! the curve that trial followed.

use crate::search::Config;
use crate::train::schema::{Choice, Values};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Constant,
    Step,
    Cosine,
    Exponential,
}

impl Choice for Kind {
    const PARAM: &'static str = "lr_schedule";
    const ALL: &'static [Self] = &[Kind::Constant, Kind::Step, Kind::Cosine, Kind::Exponential];
    fn name(self) -> &'static str {
        match self {
            Kind::Constant => "constant",
            Kind::Step => "step",
            Kind::Cosine => "cosine",
            Kind::Exponential => "exponential",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LrSchedule {
    pub kind: Kind,
    pub base: f64,
    pub warmup: u32,
    pub step_size: u32,
    pub gamma: f64,
    pub min_lr: f64,
    /// The epoch the cosine reaches `min_lr` at.
    pub horizon: u32,
}

impl LrSchedule {
    /// Read from a trial's configuration through the schema.
    pub fn from_config(config: &Config, horizon: u32) -> Result<LrSchedule, String> {
        let v = Values::new(config)?;
        let kind = v.choose()?;
        Ok(LrSchedule {
            kind,
            base: v.number("lr")?,
            warmup: v.int("warmup_epochs")? as u32,
            step_size: (v.int("step_size")? as u32).max(1),
            gamma: v.number("gamma")?,
            min_lr: v.number("min_lr")?,
            horizon: horizon.max(1),
        })
    }

    /// The learning rate of `epoch` (1-based): a linear warm-up to `base` over the first
    /// `warmup_epochs`, then the schedule, counted from the end of the warm-up and never
    /// below `min_lr` (nor above `base`).
    pub fn lr_at(&self, epoch: u32) -> f64 {
        let e = epoch.max(1);
        if e <= self.warmup {
            return self.base * f64::from(e) / f64::from(self.warmup + 1);
        }
        let t = e - self.warmup - 1; // epochs since the warm-up, from 0
        let lr = match self.kind {
            Kind::Constant => return self.base,
            Kind::Step => self.base * self.gamma.powi((t / self.step_size) as i32),
            Kind::Exponential => self.base * self.gamma.powi(t as i32),
            Kind::Cosine => {
                // The last epoch of the horizon still trains (as PyTorch's CosineAnnealingLR):
                // `min_lr` is where the curve would go next.
                let span = self.horizon.saturating_sub(self.warmup).max(1);
                let progress = (f64::from(t) / f64::from(span)).min(1.0);
                let low = self.min_lr.min(self.base);
                low + (self.base - low) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        };
        lr.max(self.min_lr.min(self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schedule_in_the_schema_is_its_own_kind() {
        crate::train::schema::each_choice_maps_to_itself::<Kind>().unwrap();
    }

    fn schedule(v: serde_json::Value, horizon: u32) -> LrSchedule {
        LrSchedule::from_config(&serde_json::from_value(v).unwrap(), horizon).unwrap()
    }

    #[test]
    fn each_schedule_by_epoch() {
        let c = schedule(json!({"lr": 0.1}), 10);
        assert!((1..=10).all(|e| c.lr_at(e) == 0.1), "constant by default");
        let s = schedule(
            json!({"lr": 0.1, "lr_schedule": "step", "step_size": 2, "gamma": 0.5}),
            10,
        );
        let got: Vec<f64> = (1..=5).map(|e| s.lr_at(e)).collect();
        assert_eq!(got, vec![0.1, 0.1, 0.05, 0.05, 0.025]);
        let x = schedule(
            json!({"lr": 1.0, "lr_schedule": "exponential", "gamma": 0.9, "min_lr": 0.85}),
            10,
        );
        assert_eq!((x.lr_at(1), x.lr_at(2), x.lr_at(4)), (1.0, 0.9, 0.85));
        let cos = schedule(
            json!({"lr": 1.0, "lr_schedule": "cosine", "min_lr": 0.0}),
            4,
        );
        let got: Vec<f64> = (1..=4)
            .map(|e| (cos.lr_at(e) * 1e9).round() / 1e9)
            .collect();
        // The last epoch of the horizon still trains; min_lr is where the curve goes next.
        assert_eq!(got, vec![1.0, 0.853553391, 0.5, 0.146446609]);
        // Past its horizon the cosine stays at min_lr.
        assert_eq!(cos.lr_at(9), 0.0);
    }

    #[test]
    fn warm_up_rises_linearly_then_the_schedule_starts() {
        let w = schedule(
            json!({"lr": 0.4, "lr_schedule": "cosine", "warmup_epochs": 3}),
            6,
        );
        let got: Vec<f64> = (1..=6).map(|e| (w.lr_at(e) * 1e9).round() / 1e9).collect();
        assert_eq!(got, vec![0.1, 0.2, 0.3, 0.4, 0.3, 0.1]);
    }
}
