//! The search stage's section of a workflow: the trainer, the hyperparameters each model
//! understands and their ranges, the space, strategy, metric and budget.

use std::path::Path;
use std::time::Duration;

use crate::data::{DataSpec, Task};
use crate::error::FieldError;
use crate::search::options::Defaults;
use crate::search::{Budget, Config, Space, Strategy, StrategyKind};
use crate::train::TrainerSpec;
use crate::workflow::raw::RawSearch;
use crate::workflow::{Goal, Metric, SearchSpec};

/// The trainers beside the schema's model families.
const OTHER_TRAINERS: &[&str] = &["function", "command"];

// The one list of metric names (with their directions) is `train::metrics`'.
use crate::train::metrics::{
    CLASSIFICATION as METRICS_CLASSIFICATION, REGRESSION as METRICS_REGRESSION,
};

pub fn search(
    s: &RawSearch,
    field: &str,
    data: Option<&DataSpec>,
    base_dir: &Path,
    defaults: &Defaults,
) -> Result<SearchSpec, FieldError> {
    let f = |k: &str| format!("{field}.{k}");
    let trainer = match s.model.as_str() {
        m if crate::train::schema::FAMILIES.contains(&m) => {
            if data.is_none() {
                return Err(FieldError::new(
                    "data",
                    format!("is required by model {}", s.model),
                ));
            }
            TrainerSpec::Torch {
                model: s.model.clone(),
            }
        }
        "function" => {
            let Some(name) = s.function.clone() else {
                return Err(FieldError::new(
                    f("function"),
                    format!(
                        "is required for model function (one of {})",
                        crate::train::function::NAMES.join(", ")
                    ),
                ));
            };
            if !crate::train::function::NAMES.contains(&name.as_str()) {
                return Err(FieldError::new(
                    f("function"),
                    format!(
                        "expected one of {}, got {name:?}",
                        crate::train::function::NAMES.join(", ")
                    ),
                ));
            }
            TrainerSpec::Function { name }
        }
        "command" => match &s.command {
            Some(argv) if !argv.is_empty() => TrainerSpec::Command {
                argv: super::command::resolve(argv, base_dir, &f("command"))?,
            },
            _ => {
                return Err(FieldError::new(
                    f("command"),
                    "model command needs command: [program, args...]",
                ));
            }
        },
        other => {
            return Err(FieldError::new(
                f("model"),
                format!(
                    "unknown model {other:?} (expected one of {}, {})",
                    crate::train::schema::FAMILIES.join(", "),
                    OTHER_TRAINERS.join(", ")
                ),
            ));
        }
    };
    if s.function.is_some() && s.model != "function" {
        return Err(FieldError::new(
            f("function"),
            "only applies to model: function",
        ));
    }
    if s.command.is_some() && s.model != "command" {
        return Err(FieldError::new(
            f("command"),
            "only applies to model: command",
        ));
    }
    let mut params = Config::new();
    for (name, v) in s.params.iter().flat_map(|p| &p.0) {
        let at = format!("{field}.params.{name}");
        let schema = super::hparams::entry(&trainer, name, &at)?;
        super::hparams::check_value(schema, v, &at)?;
        params.insert(name.clone(), v.clone());
    }
    let narrow = match &s.narrow {
        None => None,
        Some(n) => {
            let top = n.top.unwrap_or(0.2);
            if !(top > 0.0 && top <= 1.0) {
                return Err(FieldError::new(
                    f("narrow.top"),
                    format!("a fraction of the upstream's trials, in (0, 1], got {top}"),
                ));
            }
            if s.space.is_some() {
                return Err(FieldError::new(
                    f("space"),
                    format!("comes from narrow.from ({}): leave it out", n.from),
                ));
            }
            if s.strategy.kind() == StrategyKind::Grid {
                return Err(FieldError::new(
                    f("strategy.kind"),
                    "grid needs its space written out; narrow works with the other strategies",
                ));
            }
            let seed_best = n.seed_best.unwrap_or(0);
            if seed_best > 1000 {
                return Err(FieldError::new(
                    f("narrow.seed_best"),
                    format!("must be at most 1000, got {seed_best}"),
                ));
            }
            Some(crate::search::narrow::Narrow {
                from: n.from.clone(),
                top,
                seed_best,
            })
        }
    };
    let entries = s.space.as_ref().map(|o| o.0.clone()).unwrap_or_default();
    let space = Space::from_raw(&entries, &f("space"))?;
    for p in &space.params {
        let at = format!("{field}.space.{}", p.name);
        let schema = super::hparams::entry(&trainer, &p.name, &at)?;
        if params.contains_key(&p.name) {
            return Err(FieldError::new(
                at,
                "is both fixed in params and searched in space",
            ));
        }
        super::hparams::check_range(schema, p, &at)?;
    }
    // A narrowed search's space arrives from upstream later (`validate::narrowed_spaces`).
    if let (TrainerSpec::Command { argv }, None) = (&trainer, &narrow) {
        let names: Vec<&str> = params
            .keys()
            .map(String::as_str)
            .chain(space.params.iter().map(|p| p.name.as_str()))
            .collect();
        super::command::check_placeholders(argv, &names, &f("command"))?;
    }
    let epochs_param = match params.get("epochs") {
        None => None,
        Some(v) => match v.as_u64().and_then(|e| u32::try_from(e).ok()) {
            Some(e) if e >= 1 => Some(e),
            _ => {
                return Err(FieldError::new(
                    f("params.epochs"),
                    format!("expected a whole number from 1 to {}, got {v}", u32::MAX),
                ));
            }
        },
    };
    let written_max = s.strategy.max_epochs();
    let epochs = written_max.or(epochs_param).unwrap_or(10);
    // Every default applied here, once: the search runs what the job key hashes.
    let strategy = s
        .strategy
        .resolve(&f("strategy"), defaults, epochs, space.params.len())?;
    if space.get("epochs").is_some() {
        return Err(FieldError::new(
            f("space.epochs"),
            "cannot be searched: the epochs are params.epochs, or a multi-fidelity \
             strategy (sha, hyperband, asha, bohb, pbt) decides them between min_epochs and max_epochs",
        ));
    }
    if strategy.kind() == StrategyKind::Pbt && matches!(trainer, TrainerSpec::Command { .. }) {
        return Err(FieldError::new(
            f("strategy.kind"),
            "pbt copies a trial's checkpoint at a given epoch, which a command trainer does not keep; use sha, hyperband or asha",
        ));
    }
    if let (Some(m), Some(e)) = (written_max, epochs_param) {
        if m != e {
            return Err(FieldError::new(
                f("strategy.max_epochs"),
                format!("is {m} but params.epochs is {e}; give one"),
            ));
        }
    }
    if strategy.kind() == StrategyKind::Grid && space.is_empty() {
        return Err(FieldError::new(
            f("space"),
            "grid needs at least one searched parameter",
        ));
    }
    let metric = match &s.metric {
        Some(m) => Metric {
            name: m.name.clone(),
            goal: m.goal,
        },
        None => match &trainer {
            TrainerSpec::Function { .. } => Metric {
                name: "objective".into(),
                goal: Goal::Minimize,
            },
            _ => Metric {
                name: "val_loss".into(),
                goal: Goal::Minimize,
            },
        },
    };
    if let TrainerSpec::Torch { .. } = trainer {
        let task = data.map_or(Task::Classification, |d| d.task);
        let known = if task == Task::Regression {
            METRICS_REGRESSION
        } else {
            METRICS_CLASSIFICATION
        };
        let ok = metric
            .name
            .strip_prefix("val_")
            .is_some_and(|m| known.contains(&m));
        if !ok {
            let list: Vec<String> = known.iter().map(|m| format!("val_{m}")).collect();
            return Err(FieldError::new(
                f("metric.name"),
                format!(
                    "unknown metric {:?} (expected one of {})",
                    metric.name,
                    list.join(", ")
                ),
            ));
        }
    }
    let early_stopping = match &s.early_stopping {
        None => None,
        Some(e) => Some(early_stopping(
            e,
            &metric,
            &trainer,
            strategy.kind(),
            data,
            &f,
        )?),
    };
    let raw_budget = s.budget.clone().unwrap_or_default();
    let time = match &raw_budget.time {
        None => None,
        Some(t) => Some(Duration::from_secs(
            parse_duration(t).map_err(|m| FieldError::new(f("budget.time"), m))?,
        )),
    };
    let mut budget = Budget {
        trials: raw_budget.trials,
        epochs: raw_budget.epochs,
        time,
    };
    if let Strategy::Grid(grid) = &strategy {
        let size = crate::search::strategy::grid_size(&space, grid.steps)
            .map_err(|m| FieldError::new(f("strategy.steps"), m))?;
        match budget.trials {
            None => budget.trials = Some(size),
            Some(t) if t < size && !grid.allow_large => {
                return Err(FieldError::new(
                    f("budget.trials"),
                    format!(
                        "is {t} but the grid has {size} points; raise the budget or set strategy.allow_large: true to run the first {t}"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if let TrainerSpec::Function { .. } = trainer
        && !crate::train::function::REPORTS.contains(&metric.name.as_str())
    {
        return Err(FieldError::new(
            f("metric.name"),
            format!(
                "model function reports {}, not {:?}",
                crate::train::function::REPORTS.join(" and "),
                metric.name
            ),
        ));
    }
    check_goal(&metric.name, metric.goal, &f("metric.goal"))?;
    if let Some(t) = budget.trials.filter(|&t| t > MAX_TRIALS) {
        return Err(FieldError::new(
            f("budget.trials"),
            format!("must be at most {MAX_TRIALS}, got {t}"),
        ));
    }
    if budget.epochs == Some(0) {
        return Err(FieldError::new(f("budget.epochs"), "must be at least 1"));
    }
    if budget.trials == Some(0) {
        return Err(FieldError::new(f("budget.trials"), "must be at least 1"));
    }
    // The schedule with every default applied (rungs, brackets, population): what would
    // otherwise fail when the search starts, after the split.
    crate::search::scheduler::scheduler(
        &strategy,
        0,
        crate::search::strategy::sampler(&strategy, 0),
        space.clone(),
        &budget,
        epochs,
        crate::search::scheduler::ValueLabel::objective(),
    )
    .map_err(|m| FieldError::new(f("strategy"), m))?;
    let workers = s.workers.unwrap_or(1);
    if workers == 0 || workers > 256 {
        return Err(FieldError::new(
            f("workers"),
            format!("must be between 1 and 256, got {workers}"),
        ));
    }
    let threads = s.threads.unwrap_or(1);
    if threads == 0 {
        return Err(FieldError::new(f("threads"), "must be at least 1"));
    }
    let max_failed = s.max_failed.unwrap_or(DEFAULT_MAX_FAILED);
    if !(0.0..=1.0).contains(&max_failed) {
        return Err(FieldError::new(
            f("max_failed"),
            format!("a fraction of the trials, 0 to 1, got {max_failed}"),
        ));
    }
    let restart_promotions = match s.promotion.as_deref() {
        None | Some("continue") => false,
        Some("restart") => true,
        Some(other) => {
            return Err(FieldError::new(
                f("promotion"),
                format!("expected continue or restart, got {other:?}"),
            ));
        }
    };
    Ok(SearchSpec {
        restart_promotions,
        trainer,
        params,
        space,
        narrow,
        strategy,
        metric,
        early_stopping,
        budget,
        epochs,
        workers,
        threads,
        trials_per_device: s.trials_per_device.unwrap_or(4).max(1),
        retries: s.retries.unwrap_or(2),
        disk_limit_mb: s.disk_limit_mb,
        max_failed,
    })
}

/// `early_stopping`: a metric the trainer reports, a goal, patience ≥ 1, min_delta ≥ 0.
fn early_stopping(
    e: &crate::workflow::raw::RawEarlyStopping,
    metric: &Metric,
    trainer: &TrainerSpec,
    kind: StrategyKind,
    data: Option<&DataSpec>,
    f: &dyn Fn(&str) -> String,
) -> Result<crate::train::early::EarlyStopping, FieldError> {
    let name = e.metric.clone().unwrap_or_else(|| metric.name.clone());
    match trainer {
        TrainerSpec::Command { .. } => {
            return Err(FieldError::new(
                f("early_stopping"),
                "needs a trainer that keeps every epoch's checkpoint (mlp, cnn, rnn, transformer, function); a command program can stop itself and report fewer epochs",
            ));
        }
        TrainerSpec::Torch { .. } => {
            let known = if data.is_some_and(|d| d.task == Task::Regression) {
                METRICS_REGRESSION
            } else {
                METRICS_CLASSIFICATION
            };
            if !name
                .strip_prefix("val_")
                .is_some_and(|m| known.contains(&m))
            {
                let list: Vec<String> = known.iter().map(|m| format!("val_{m}")).collect();
                return Err(FieldError::new(
                    f("early_stopping.metric"),
                    format!(
                        "unknown metric {name:?} (expected one of {})",
                        list.join(", ")
                    ),
                ));
            }
        }
        TrainerSpec::Function { .. } => {
            if !crate::train::function::REPORTS.contains(&name.as_str()) {
                return Err(FieldError::new(
                    f("early_stopping.metric"),
                    format!(
                        "model function reports {}, not {name:?}",
                        crate::train::function::REPORTS.join(" and ")
                    ),
                ));
            }
        }
    }
    if kind == StrategyKind::Pbt {
        return Err(FieldError::new(
            f("early_stopping"),
            "does not combine with pbt: members are continued and replaced by exploit, never stopped; use sha, hyperband, asha or bohb",
        ));
    }
    if e.patience == 0 {
        return Err(FieldError::new(
            f("early_stopping.patience"),
            "must be at least 1 (epochs without improvement before a trial stops)",
        ));
    }
    let min_delta = e.min_delta.unwrap_or(0.0);
    if !(min_delta.is_finite() && min_delta >= 0.0) {
        return Err(FieldError::new(
            f("early_stopping.min_delta"),
            format!("must be a number >= 0, got {min_delta}"),
        ));
    }
    if let Some(g) = e.goal {
        check_goal(&name, g, &f("early_stopping.goal"))?;
    }
    let goal = e.goal.unwrap_or(if name == metric.name {
        metric.goal
    } else {
        crate::train::early::default_goal(&name)
    });
    Ok(crate::train::early::EarlyStopping {
        metric: name,
        goal,
        patience: e.patience,
        min_delta,
    })
}

/// A goal against a metric's known direction (`val_loss` maximized) selects the worst model.
fn check_goal(name: &str, goal: Goal, at: &str) -> Result<(), FieldError> {
    match crate::train::metrics::goal(name) {
        Some(known) if known != goal => {
            let (better, word) = match known {
                Goal::Minimize => ("lower", "minimize"),
                Goal::Maximize => ("higher", "maximize"),
            };
            Err(FieldError::new(
                at,
                format!(
                    "{name} is better when {better}, so this would select the worst model; \
                     use goal: {word}"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// More trials than this in one search is a typo (each is a folder and rows in the database).
pub const MAX_TRIALS: usize = 10_000_000;

/// A search whose failed trials exceed this fraction does not hand its result on.
pub const DEFAULT_MAX_FAILED: f64 = 0.5;

/// `90s`, `30m`, `2h`, `1h30m` → seconds (also the executor's `time`).
pub use crate::search::options::parse_duration;
