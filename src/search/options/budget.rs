//! `budget:`: limits on the whole search (all across resumes), with the time parsed once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// New trials in total.
    pub trials: Option<usize>,
    /// Epochs trained in total, over all trials.
    pub epochs: Option<u64>,
    /// Wall time (stops issuing new work; not deterministic). Written and recorded as text
    /// in its one form (`1h30m`, never `90m`), so that equal times are equal budgets.
    #[serde(default, with = "time_text")]
    pub time: Option<Duration>,
}

impl Budget {
    /// Only time or epochs bound the search: it starts trials until they are spent (at
    /// most `OPEN_ENDED_TRIALS`), rather than stopping at the default trial count.
    pub fn open_ended(&self) -> bool {
        self.trials.is_none() && (self.time.is_some() || self.epochs.is_some())
    }

    /// What bounds an open-ended search, for people.
    pub fn open_ended_by(&self) -> Option<String> {
        if !self.open_ended() {
            return None;
        }
        let mut parts = Vec::new();
        if let Some(t) = self.time {
            parts.push(format!("{} of time", show_duration(t)));
        }
        if let Some(e) = self.epochs {
            parts.push(format!("{e} epochs"));
        }
        Some(parts.join(" or "))
    }
}

/// `90s`, `30m`, `2h`, `1h30m` → seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let expected = || format!("expected a duration like 90s, 30m or 2h, got {s:?}");
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num.parse().map_err(|_| expected())?;
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return Err(expected()),
            };
            // At most ten years: anything longer is a typo, and would overflow a deadline.
            total = n
                .checked_mul(unit)
                .and_then(|x| total.checked_add(x))
                .filter(|t| *t <= 10 * 365 * 24 * 3600)
                .ok_or_else(|| format!("{s:?} is longer than ten years"))?;
            num.clear();
        }
    }
    if !num.is_empty() || total == 0 {
        return Err(expected());
    }
    Ok(total)
}

/// A duration in whole seconds, as `parse_duration` reads it back, in its one form:
/// 5400 s → `1h30m`, 90 s → `1m30s`.
pub fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    for (n, unit) in [(h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

mod time_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(d) => s.serialize_some(&super::show_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                super::parse_duration(&t)
                    .map(Duration::from_secs)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_reads_back_as_itself_in_one_form() {
        for (written, shown) in [
            ("90s", "1m30s"),
            ("30m", "30m"),
            ("2h", "2h"),
            ("1h30m", "1h30m"),
            ("90m", "1h30m"),
        ] {
            let secs = parse_duration(written).unwrap();
            let d = Duration::from_secs(secs);
            assert_eq!(show_duration(d), shown);
            assert_eq!(parse_duration(shown).unwrap(), secs);
        }
        let b: Budget = serde_json::from_str(r#"{"time": "90m"}"#).unwrap();
        assert_eq!(b.time, Some(Duration::from_secs(5400)));
        assert_eq!(serde_json::to_value(&b).unwrap()["time"], "1h30m");
    }
}
