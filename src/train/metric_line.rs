//! Reading one metrics line of a `command` program. Python's `json.dumps` writes a diverged
//! loss as the bare tokens `NaN`, `Infinity` or `-Infinity`, which are not JSON: such a line
//! is still an epoch's metrics (the trial diverged), not a program that stopped talking.

use std::collections::BTreeMap;

use crate::train::protocol::EpochMetrics;

/// Stands for a non-finite number while the line goes through the JSON parser.
const MARK: &str = "\u{1}hpflow-nonfinite:";

/// The epoch's metrics in `line`, or `None` when it is not a metrics line (epoch 1 or more,
/// every other value a number).
pub fn parse(line: &str) -> Option<EpochMetrics> {
    let m = match serde_json::from_str::<EpochMetrics>(line) {
        Ok(m) => m,
        Err(_) => lenient(line)?,
    };
    (m.epoch >= 1).then_some(m)
}

/// The first non-finite value of `m`, as (name, value).
pub fn non_finite(m: &EpochMetrics) -> Option<(&str, f64)> {
    m.values
        .iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(k, v)| (k.as_str(), *v))
}

/// Parse with `NaN`, `Infinity` and `-Infinity` outside strings read as numbers.
fn lenient(line: &str) -> Option<EpochMetrics> {
    let marked = mark_non_finite(line)?;
    let serde_json::Value::Object(o) = serde_json::from_str(&marked).ok()? else {
        return None;
    };
    let mut epoch = None;
    let mut values = BTreeMap::new();
    for (k, v) in o {
        let x = match &v {
            serde_json::Value::Number(n) => n.as_f64()?,
            serde_json::Value::String(s) => match s.strip_prefix(MARK)? {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ => return None,
            },
            _ => return None,
        };
        if k == "epoch" {
            epoch = Some(u32::try_from(v.as_u64()?).ok()?);
        } else {
            values.insert(k, x);
        }
    }
    Some(EpochMetrics {
        epoch: epoch?,
        values,
    })
}

/// `line` with each bare non-finite token turned into a marked string; `None` when it has
/// none (then the line was not JSON for another reason).
fn mark_non_finite(line: &str) -> Option<String> {
    let mut out = String::with_capacity(line.len() + 32);
    let mut rest = line;
    let mut in_string = false;
    let mut found = false;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            if c == '\\' {
                if let Some(e) = rest.chars().next() {
                    out.push(e);
                    rest = &rest[e.len_utf8()..];
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            // Escaped in the JSON text, the control character cannot be a raw program string.
            out.push_str(&format!("\"\\u0001{}{t}\"", &MARK[1..]));
            rest = &rest[t.len()..];
            found = true;
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_non_finite_tokens_are_numbers() {
        let m = parse(r#"{"epoch": 2, "val_loss": NaN, "train_loss": -Infinity, "x": Infinity}"#)
            .unwrap();
        assert_eq!(m.epoch, 2);
        assert!(m.values["val_loss"].is_nan());
        assert_eq!(m.values["train_loss"], f64::NEG_INFINITY);
        assert_eq!(m.values["x"], f64::INFINITY);
        assert_eq!(non_finite(&m).map(|(k, _)| k), Some("train_loss"));
    }

    #[test]
    fn other_lines_are_not_metrics() {
        assert!(parse(r#"{"epoch": 1, "val_loss": 0.5}"#).is_some());
        assert!(parse(r#"{"epoch": 0, "val_loss": NaN}"#).is_none());
        assert!(parse(r#"{"epoch": 1, "note": "NaN here"}"#).is_none());
        assert!(parse(r#"{"epoch": 1, "val_loss": NaNa}"#).is_none());
        assert!(parse("loss is NaN").is_none());
        assert!(parse(r#"{"val_loss": NaN}"#).is_none());
        // A marker inside a string stays a string, not a number.
        assert!(parse(r#"{"epoch": 1, "v": "\"NaN", "w": NaN}"#).is_none());
    }
}
