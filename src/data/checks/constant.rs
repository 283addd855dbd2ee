//! Constant columns: a feature with one value in every row tells the model nothing, and
//! often means a column was filled by mistake. Tabular data only: an image's blank border
//! pixels are constant by nature.

use super::{Finding, Input};

pub fn check(input: &Input) -> Option<Finding> {
    let columns: Vec<String> = input
        .named_features()
        .into_iter()
        .filter(|&(j, _)| {
            let v = input.feature(j);
            v.iter().all(|x| *x == v[0])
        })
        .map(|(_, name)| name.to_string())
        .collect();
    if columns.is_empty() {
        return None;
    }
    let message = format!(
        "{} one value in every row: {}",
        match columns.len() {
            1 => "1 feature column holds".to_string(),
            n => format!("{n} feature columns hold"),
        },
        columns.join(", ")
    );
    let n = columns.len() as f64;
    Some(input.finding(
        "constant_columns",
        message,
        columns,
        &[],
        n,
        Input::how("leave them out of `data.features`", "constant_columns"),
    ))
}
