//! The workflow's data section and split checked against the data itself (its header, its
//! row count, its files), so that a split that cannot work is refused with the workflow's
//! line before anything runs or is written under runs/.

use std::path::Path;

use crate::data::probe::probe;
use crate::data::{DataSpec, SplitOptions};
use crate::error::FieldError;

/// `split`: the split stage's field path and options, if the workflow has one.
pub fn check(
    data: &DataSpec,
    base_dir: &Path,
    split: Option<(&str, &SplitOptions)>,
) -> Result<(), FieldError> {
    let p = probe(data, base_dir).map_err(|e| FieldError::new("data.path", e.to_string()))?;
    let path = || {
        data.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    if let Some(columns) = &p.columns {
        let missing = |name: &str, at: String| -> Result<(), FieldError> {
            if columns.iter().any(|c| c == name) {
                return Ok(());
            }
            Err(FieldError::new(
                at,
                format!(
                    "no column {name:?} in {} (its columns: {})",
                    path(),
                    columns.join(", ")
                ),
            ))
        };
        if let Some(label) = &data.label {
            missing(label, "data.label".into())?;
        }
        let features = data.features.as_deref().unwrap_or_default();
        for (i, f) in features.iter().enumerate() {
            missing(f, format!("data.features[{i}]"))?;
            // What the loader refuses when the split runs, refused here before anything is
            // written (a split job recorded as failed, its job.json).
            if data.label.as_ref() == Some(f) {
                return Err(FieldError::new(
                    format!("data.features[{i}]"),
                    format!(
                        "{f:?} is the label column; a model cannot take its answer as an input"
                    ),
                ));
            }
            if features[..i].contains(f) {
                return Err(FieldError::new(
                    format!("data.features[{i}]"),
                    format!("{f:?} is listed twice"),
                ));
            }
        }
        if let Some((field, opts)) = split
            && let Some(g) = &opts.group
        {
            missing(g, format!("{field}.group"))?;
            if data.label.as_ref() == Some(g) {
                return Err(FieldError::new(
                    format!("{field}.group"),
                    "the group column cannot be the label column",
                ));
            }
        }
        if let Some((field, opts)) = split
            && let Some(t) = &opts.by_time
        {
            let at = format!("{field}.by_time");
            missing(t, at.clone())?;
            let listed = data.features.as_ref().is_some_and(|f| f.contains(t));
            if data.label.as_ref() == Some(t) || listed {
                let what = if listed { "a feature" } else { "the label" };
                return Err(FieldError::new(
                    at,
                    format!("`{t}` is {what}; the time column orders the rows and is neither"),
                ));
            }
        }
        let group = split.and_then(|(_, o)| o.group.as_ref());
        let left = match &data.features {
            Some(list) => list.len(),
            None => columns
                .iter()
                .filter(|c| Some(*c) != data.label.as_ref() && Some(*c) != group)
                .count(),
        };
        if left == 0 && !columns.is_empty() {
            return Err(FieldError::new(
                "data.features",
                format!(
                    "no feature columns left in {} (its columns: {})",
                    path(),
                    columns.join(", ")
                ),
            ));
        }
    }
    if data.task == crate::data::Task::Regression
        && let Some((field, opts)) = split
        && opts.stratify == Some(true)
    {
        return Err(FieldError::new(
            format!("{field}.stratify"),
            "regression labels have no classes to stratify by; leave stratify out (or set \
             data.task: classification)",
        ));
    }
    if data.task == crate::data::Task::Regression
        && let Some((value, line)) = &p.non_numeric_label
    {
        return Err(FieldError::new(
            "data.task",
            format!(
                "regression needs a numeric label; {} line {line} has {value:?} (for classes, \
                 set task: classification)",
                path()
            ),
        ));
    }
    let Some((field, opts)) = split else {
        return Ok(());
    };
    if opts.by_time.is_some() && p.columns.is_none() {
        return Err(FieldError::new(
            format!("{field}.by_time"),
            "needs csv data with a date or timestamp column; this data has no columns",
        ));
    }
    if opts.group.is_some() && p.columns.is_none() {
        return Err(FieldError::new(
            format!("{field}.group"),
            "needs csv data with that column; this data has no columns",
        ));
    }
    if opts.official_test() && !p.official_test {
        return Err(FieldError::new(
            format!("{field}.test"),
            "`official` needs idx data with t10k-* files beside the train-* files; \
             give a fraction or a count of rows instead",
        ));
    }
    // Before duplicates are removed: a split that does not fit now never will.
    opts.counts(p.rows).map_err(|e| {
        let msg = e.to_string();
        FieldError::new(
            format!("{field}.train"),
            msg.trim_start_matches("split: ").to_string(),
        )
    })?;
    Ok(())
}
