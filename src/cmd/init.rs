//! `hpflow init [--template NAME] DIR`: a new project folder from one of the templates.

use std::path::Path;

use crate::error::{Error, Result};

/// (name, what it is, files as (relative path, content)).
pub const TEMPLATES: &[(&str, &str, &[(&str, &str)])] = &[
    (
        "quickstart",
        "MLP on the built-in digits: split, hyperband search, retrain, test",
        &[(
            "workflow.yaml",
            include_str!("../../templates/quickstart.yaml"),
        )],
    ),
    (
        "fashion-mnist",
        "MLP on Fashion-MNIST (Debian's dataset-fashion-mnist)",
        &[(
            "workflow.yaml",
            include_str!("../../templates/fashion-mnist.yaml"),
        )],
    ),
    (
        "function",
        "Bayesian optimisation of the Branin function (no data, seconds)",
        &[(
            "workflow.yaml",
            include_str!("../../templates/function.yaml"),
        )],
    ),
    (
        "command",
        "any training program driven through a command line",
        &[
            (
                "workflow.yaml",
                include_str!("../../templates/command.yaml"),
            ),
            ("train.py", include_str!("../../templates/train.py")),
            // The Python helper train.py imports, beside it (no `pip install` needed).
            (
                "hpflow/__init__.py",
                include_str!("../../python/hpflow/__init__.py"),
            ),
            (
                "hpflow/_trial.py",
                include_str!("../../python/hpflow/_trial.py"),
            ),
            (
                "hpflow/_rows.py",
                include_str!("../../python/hpflow/_rows.py"),
            ),
        ],
    ),
    (
        "rnn",
        "LSTM/GRU on Fashion-MNIST read row by row, as sequences",
        &[("workflow.yaml", include_str!("../../templates/rnn.yaml"))],
    ),
    (
        "transformer",
        "a small vision transformer on Fashion-MNIST patches",
        &[(
            "workflow.yaml",
            include_str!("../../templates/transformer.yaml"),
        )],
    ),
];

/// The template names, for the command line's help and checks.
pub fn names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        TEMPLATES
            .iter()
            .map(|(n, d, _)| clap::builder::PossibleValue::new(*n).help(*d)),
    )
}

pub fn run(dir: &Path, template: &str) -> Result<()> {
    let Some((_, _, files)) = TEMPLATES.iter().find(|(n, _, _)| *n == template) else {
        let names: Vec<String> = TEMPLATES
            .iter()
            .map(|(n, d, _)| format!("{n} ({d})"))
            .collect();
        return Err(Error::Usage(format!(
            "unknown template {template:?}; templates: {}",
            names.join(", ")
        )));
    };
    for (name, _) in files.iter() {
        let p = dir.join(name);
        if p.exists() {
            return Err(Error::Usage(format!(
                "{} exists; not overwriting it",
                p.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, content) in files.iter() {
        if let Some(parent) = dir.join(name).parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        crate::store::atomic::write(&dir.join(name), content.as_bytes())?;
    }
    // The project's runs folder: hpflow looks for runs/ from the workflow's folder upward, so
    // `hpflow run DIR/workflow.yaml` and `cd DIR && hpflow run workflow.yaml` share it.
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, e))?;
    println!(
        "created {} from template {template}",
        dir.join("workflow.yaml").display()
    );
    println!("next:   hpflow run {}", dir.join("workflow.yaml").display());
    Ok(())
}
