//! A search stage's hyperparameters checked against the schema (`train::schema`): names the
//! model reads, fixed values and choice options inside their legal range, and searched ranges
//! whose every value is legal, so no trial of the sweep fails for a value it was given.

use serde_json::Value;

use crate::error::FieldError;
use crate::search::space::{Dist, Param};
use crate::train::TrainerSpec;
use crate::train::schema::{self, HParam, Kind};

/// The schema entry of `name` for this trainer: `None` for trainers without a schema (a
/// `command` program's names are its own), an error for a name the model does not read.
pub fn entry(
    trainer: &TrainerSpec,
    name: &str,
    at: &str,
) -> Result<Option<&'static HParam>, FieldError> {
    match trainer {
        TrainerSpec::Torch { model } => schema::of_model(model, name).map(Some).ok_or_else(|| {
            FieldError::new(
                at,
                format!(
                    "not a hyperparameter of {model} (known: {})",
                    schema::names(model).join(", ")
                ),
            )
        }),
        // Every trainer trains `epochs`.
        _ => Ok(schema::get(name).filter(|p| p.name == "epochs")),
    }
}

/// A fixed value, or one option of a choice.
pub fn check_value(p: Option<&HParam>, v: &Value, at: &str) -> Result<(), FieldError> {
    match p {
        Some(p) => p.check(v).map_err(|m| {
            let (_, want) = m.split_once(" must be ").unwrap_or(("", &m));
            FieldError::new(at, format!("expected {want}"))
        }),
        None => Ok(()),
    }
}

/// A searched range: both ends legal (integers for an integer parameter, every option of a
/// choice), so that whatever a strategy draws can be trained.
pub fn check_range(p: Option<&HParam>, param: &Param, at: &str) -> Result<(), FieldError> {
    let Some(h) = p else { return Ok(()) };
    let ends = |kind: &str, low: f64, high: f64| -> Result<(), FieldError> {
        for (end, x) in [("low", low), ("high", high)] {
            if !h.admits(x) {
                return Err(FieldError::new(
                    at,
                    format!(
                        "{kind}'s {end} {x} is outside what {} accepts: {}",
                        h.name,
                        h.legal()
                    ),
                ));
            }
        }
        Ok(())
    };
    match (&param.dist, h.kind) {
        (Dist::Choice(options), _) => {
            for (i, o) in options.iter().enumerate() {
                check_value(Some(h), o, &format!("{at}.choice[{i}]"))?;
            }
            Ok(())
        }
        (Dist::Int { low, high, .. }, Kind::Int { .. } | Kind::Real { .. }) => {
            ends("int", *low as f64, *high as f64)
        }
        (Dist::Uniform { .. } | Dist::LogUniform { .. }, Kind::Int { .. }) => Err(FieldError::new(
            at,
            format!(
                "{} takes whole numbers: search it with int: [low, high]",
                h.name
            ),
        )),
        (Dist::Uniform { low, high }, Kind::Real { .. }) => ends("uniform", *low, *high),
        (Dist::LogUniform { low, high }, Kind::Real { .. }) => ends("loguniform", *low, *high),
        (_, Kind::Bool) => Err(FieldError::new(
            at,
            format!(
                "{} is true or false: search it with choice: [true, false]",
                h.name
            ),
        )),
        (_, Kind::Choice(options)) => Err(FieldError::new(
            at,
            format!(
                "{} is one of {}: search it with choice",
                h.name,
                options.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_outside_the_legal_values_are_refused() {
        let torch = TrainerSpec::Torch {
            model: "mlp".into(),
        };
        let dropout = entry(&torch, "dropout", "s").unwrap();
        let p = |dist| Param {
            name: "dropout".into(),
            dist,
            when: Default::default(),
            steps: None,
        };
        let e = check_range(
            dropout,
            &p(Dist::Uniform {
                low: 0.0,
                high: 1.5,
            }),
            "s",
        )
        .unwrap_err();
        assert_eq!(
            e.msg,
            "uniform's high 1.5 is outside what dropout accepts: a number in [0, 1)"
        );
        check_range(
            dropout,
            &p(Dist::Uniform {
                low: 0.0,
                high: 0.5,
            }),
            "s",
        )
        .unwrap();
        assert!(
            entry(&torch, "cell", "s").is_err(),
            "an rnn parameter on an mlp"
        );
        let command = TrainerSpec::Command {
            argv: vec!["x".into()],
        };
        assert!(entry(&command, "dropout", "s").unwrap().is_none());
    }
}
