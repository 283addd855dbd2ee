//! The split stage's YAML fields (`SplitOptions`), their checks and their resolution into row
//! counts for one dataset.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;

/// `val:` when omitted and no `folds:` are asked for; `test:` when omitted.
pub const DEFAULT_VAL: f64 = 0.15;
pub const DEFAULT_TEST: f64 = 0.15;
/// Fractions may add up to 1 plus this, so `0.7 + 0.15 + 0.15` passes despite rounding.
const SUM_TOLERANCE: f64 = 1e-6;

/// How many rows a split gets: a fraction of the pool, a count, or (test only) the official
/// test file of IDX data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Fraction(f64),
    Count(u64),
    Official,
}

/// The split stage's options as the workflow writes them. Omitted fields: `train` takes the
/// rest, `val` is 0.15 (0 with `folds`), `test` is 0.15, `stratify` is true for
/// classification and false for regression, `dedupe` is false.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratify: Option<bool>,
    /// A CSV column: rows sharing a value stay in one split (and one fold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// k-fold cross-validation over train+val for the search (k ≥ 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    /// `true`: remove byte-identical rows (keeping the first) before splitting; `keep`: keep
    /// them, an accepted choice the audit shows; `false` (default): keep them, and the audit
    /// reports test rows identical to train or val rows as a finding.
    #[serde(default)]
    pub dedupe: Dedupe,
    /// A date or timestamp column of the CSV: the test rows are the latest, the validation
    /// rows the latest before them, train the earlier rest (no shuffling, no stratifying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_time: Option<String>,
    /// Data checks whose findings the user accepts knowingly (`crate::data::checks::NAMES`):
    /// shown as accepted by the split and the audit, not as findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dedupe {
    #[default]
    Off,
    Remove,
    Keep,
}

/// Written as before `keep` existed (`false`, `true`), so that earlier splits keep their ids.
impl Serialize for Dedupe {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Dedupe::Off => s.serialize_bool(false),
            Dedupe::Remove => s.serialize_bool(true),
            Dedupe::Keep => s.serialize_str("keep"),
        }
    }
}

impl<'de> Deserialize<'de> for Dedupe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(false) => Ok(Dedupe::Off),
            Raw::Bool(true) => Ok(Dedupe::Remove),
            Raw::Text(t) if t == "keep" => Ok(Dedupe::Keep),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "expected true, false or keep, got {t:?}"
            ))),
        }
    }
}

/// Row counts for one pool of rows; `unused` rows go nowhere (train: N below the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub train: usize,
    pub val: usize,
    pub test: usize,
    pub unused: usize,
}

impl SplitOptions {
    pub fn official_test(&self) -> bool {
        self.test == Some(Amount::Official)
    }

    fn val_or_default(&self) -> Amount {
        match (self.val, self.folds) {
            (Some(v), _) => v,
            (None, Some(_)) => Amount::Count(0),
            (None, None) => Amount::Fraction(DEFAULT_VAL),
        }
    }

    fn test_or_default(&self) -> Amount {
        self.test.unwrap_or(Amount::Fraction(DEFAULT_TEST))
    }

    /// Checks that need no data. `field` is the stage's dotted path (`stages.split`).
    pub fn check(&self, field: &str) -> Result<(), FieldError> {
        for (name, amount) in [
            ("train", self.train),
            ("val", self.val),
            ("test", self.test),
        ] {
            let f = format!("{field}.{name}");
            match amount {
                Some(Amount::Official) if name != "test" => {
                    return Err(FieldError::new(f, "`official` applies to test only"));
                }
                Some(Amount::Fraction(x)) if !(x > 0.0 && x < 1.0) => {
                    let msg = format!(
                        "a fraction must be in (0, 1), got {x}; a whole number is a count of rows"
                    );
                    return Err(FieldError::new(f, msg));
                }
                Some(Amount::Count(0)) => {
                    return Err(FieldError::new(f, "a count of rows must be at least 1"));
                }
                _ => {}
            }
        }
        let fractions: Vec<f64> = [
            self.train,
            Some(self.val_or_default()),
            Some(self.test_or_default()),
        ]
        .into_iter()
        .filter_map(|a| match a {
            Some(Amount::Fraction(x)) => Some(x),
            _ => None,
        })
        .collect();
        let sum: f64 = fractions.iter().sum();
        if sum > 1.0 + SUM_TOLERANCE {
            let msg = format!(
                "the fractions of train, val and test add up to {sum:.4}, more than 1 \
                 (an omitted val or test counts as {DEFAULT_VAL})"
            );
            return Err(FieldError::new(field, msg));
        }
        if let Some(k) = self.folds
            && k < 2
        {
            let msg = format!("needs at least 2 folds, got {k}");
            return Err(FieldError::new(format!("{field}.folds"), msg));
        }
        // With folds every non-test row takes its turn as validation rows, so a `val:` share
        // would leave it unclear which rows the folds use: refused rather than guessed.
        if self.folds.is_some() && self.val.is_some() {
            let msg = "does not combine with `val:`: each of the k folds takes its turn as the \
                       validation rows of all the non-test rows; give train and test only";
            return Err(FieldError::new(format!("{field}.folds"), msg));
        }
        self.check_time_and_accept(field)?;
        if let Some(g) = &self.group {
            if g.trim().is_empty() {
                return Err(FieldError::new(format!("{field}.group"), "names no column"));
            }
            if self.official_test() {
                let msg = "does not combine with `test: official` (groups come from csv data, official tests from idx)";
                return Err(FieldError::new(format!("{field}.group"), msg));
            }
        }
        Ok(())
    }

    fn check_time_and_accept(&self, field: &str) -> Result<(), FieldError> {
        for (i, name) in self.accept.iter().enumerate() {
            if !crate::data::checks::NAMES.contains(&name.as_str()) {
                let hint = if name == "duplicates" {
                    " (exact duplicates are accepted with `dedupe: keep`)"
                } else {
                    ""
                };
                let msg = format!(
                    "unknown check `{name}`{hint}; the checks are: {}",
                    crate::data::checks::NAMES.join(", ")
                );
                return Err(FieldError::new(format!("{field}.accept[{i}]"), msg));
            }
        }
        let Some(t) = &self.by_time else {
            return Ok(());
        };
        let f = format!("{field}.by_time");
        let clash = if t.trim().is_empty() {
            Some("names no column")
        } else if self.group.is_some() {
            Some("does not combine with `group:` (a split by time cannot also keep groups whole)")
        } else if self.official_test() {
            Some(
                "does not combine with `test: official` (the official test file decides the test rows)",
            )
        } else if self.folds.is_some() {
            Some(
                "does not combine with `folds:` (folds are drawn at random, against the order in time)",
            )
        } else if self.stratify == Some(true) {
            Some("does not combine with `stratify: true` (rows are taken in order of time)")
        } else {
            None
        };
        match clash {
            Some(msg) => Err(FieldError::new(f, msg)),
            None => Ok(()),
        }
    }

    /// Row counts for a pool of `pool` rows (with `test: official`, the non-test rows; the
    /// test count is then 0 here). Fractions round to the nearest row; a fractional train
    /// that completes the sum to 1 takes exactly the rest, so no row is lost to rounding.
    pub fn counts(&self, pool: usize) -> crate::Result<Counts> {
        let of = |a: Amount| match a {
            Amount::Fraction(x) => (x * pool as f64).round() as usize,
            Amount::Count(c) => usize::try_from(c).unwrap_or(usize::MAX),
            Amount::Official => 0,
        };
        let val = of(self.val_or_default());
        let test = of(self.test_or_default());
        let rest = pool.checked_sub(val + test);
        let train = match self.train {
            None => rest.unwrap_or(0),
            Some(Amount::Fraction(x)) => {
                let others = [self.val_or_default(), self.test_or_default()];
                let others_sum: f64 = others
                    .iter()
                    .map(|a| if let Amount::Fraction(y) = a { *y } else { 0.0 })
                    .sum();
                let all_fractions = others
                    .iter()
                    .all(|a| matches!(a, Amount::Fraction(_) | Amount::Official));
                if all_fractions && (x + others_sum - 1.0).abs() <= SUM_TOLERANCE {
                    rest.unwrap_or(0)
                } else {
                    of(Amount::Fraction(x))
                }
            }
            Some(a) => of(a),
        };
        let asked = train.saturating_add(val).saturating_add(test);
        if asked > pool {
            return Err(crate::Error::Usage(format!(
                "split: train {train} + val {val} + test {test} rows = {asked}, but only {pool} rows are there to split"
            )));
        }
        let empty = |what: &str| {
            crate::Error::Usage(format!(
                "split: {what} would get 0 of the {pool} rows; give it a larger share"
            ))
        };
        if train == 0 {
            return Err(empty("train"));
        }
        if val == 0 && self.folds.is_none() {
            return Err(empty("val"));
        }
        if test == 0 && !self.official_test() {
            return Err(empty("test"));
        }
        Ok(Counts {
            train,
            val,
            test,
            unused: pool - asked,
        })
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Int(i64),
            Fraction(f64),
            Word(String),
            // Anything else (a list, a mapping): refused below with what is accepted.
            Other(serde::de::IgnoredAny),
        }
        let expected = "a fraction in (0, 1), a count of rows, or (test only) `official`";
        match Raw::deserialize(d)? {
            Raw::Count(c) => Ok(Amount::Count(c)),
            Raw::Int(i) => Err(serde::de::Error::custom(format!(
                "{i} is negative; expected {expected}"
            ))),
            Raw::Fraction(x) => Ok(Amount::Fraction(x)),
            Raw::Word(w) if w == "official" => Ok(Amount::Official),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "`{w}`: expected {expected}"
            ))),
            Raw::Other(_) => Err(serde::de::Error::custom(format!("expected {expected}"))),
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Amount::Fraction(x) => s.serialize_f64(*x),
            Amount::Count(c) => s.serialize_u64(*c),
            Amount::Official => s.serialize_str("official"),
        }
    }
}
