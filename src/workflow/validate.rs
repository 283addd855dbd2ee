//! RawWorkflow → Workflow: defaults filled in, every value and reference checked, stages put
//! in dependency order. Each problem becomes one `Error::Input` naming file, line and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::data::{DataSpec, Source, Task};
use crate::error::{Error, FieldError, Result};
use crate::search::{Budget, Config, Space, StrategyKind};
use crate::train::TrainerSpec;
use crate::workflow::raw::{RawData, RawSearch, RawStage, RawWorkflow};
use crate::workflow::yaml;
use crate::workflow::{
    EvaluateSpec, Goal, Metric, RetrainSpec, SearchSpec, Stage, StageSpec, Workflow,
};

pub const MODELS: &[&str] = &["mlp", "cnn", "rnn", "transformer", "function", "command"];

const COMMON: &[&str] = &[
    "lr",
    "batch_size",
    "epochs",
    "optimizer",
    "momentum",
    "nesterov",
    "beta1",
    "beta2",
    "eps",
    "weight_decay",
    "l1",
    "alpha",
];

/// Hyperparameters each libtorch model understands (beyond `COMMON`).
pub fn model_params(model: &str) -> &'static [&'static str] {
    match model {
        "mlp" => &["hidden_layers", "units", "activation", "dropout"],
        "cnn" => &[
            "conv_layers",
            "filters",
            "kernel_size",
            "stride",
            "padding",
            "pool",
            "pool_size",
            "dense_units",
            "activation",
            "dropout",
        ],
        "rnn" => &[
            "cell",
            "rnn_units",
            "rnn_layers",
            "bidirectional",
            "dropout",
        ],
        "transformer" => &[
            "heads",
            "d_model",
            "ff_dim",
            "encoder_layers",
            "dropout",
            "patch_size",
        ],
        _ => &[],
    }
}

/// The values a categorical hyperparameter accepts.
fn categories(param: &str) -> Option<&'static [&'static str]> {
    Some(match param {
        "activation" => &["relu", "leaky_relu", "elu", "tanh", "gelu"],
        "optimizer" => &["sgd", "adam", "adamw", "rmsprop", "adagrad"],
        "padding" => &["valid", "same"],
        "pool" => &["max", "avg", "none"],
        "cell" => &["lstm", "gru"],
        _ => return None,
    })
}

const METRICS_CLASSIFICATION: &[&str] = &["loss", "accuracy", "f1_macro", "roc_auc"];
const METRICS_REGRESSION: &[&str] = &["loss", "mse", "mae", "r2"];

pub fn from_text(file: &Path, text: &str) -> Result<Workflow> {
    let at = |e: FieldError| Error::Input {
        file: file.to_path_buf(),
        line: yaml::locate(text, &e.field),
        field: e.field,
        msg: e.msg,
    };
    let raw: RawWorkflow = yaml::parse(text).map_err(|e| Error::Input {
        file: file.to_path_buf(),
        line: e.line,
        field: e.field,
        msg: e.msg,
    })?;
    let base_dir = file
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_path_buf();
    build(raw, base_dir, file).map_err(at)
}

fn build(raw: RawWorkflow, base_dir: PathBuf, file: &Path) -> Result<Workflow, FieldError> {
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(FieldError::new(
            "name",
            format!("use letters, digits, '-', '_' or '.', got {:?}", raw.name),
        ));
    }
    let device = raw.device.unwrap_or_else(|| "cpu".into());
    let cuda_n = device
        .strip_prefix("cuda:")
        .map(|n| n.parse::<u32>().is_ok());
    if !(device == "cpu" || device == "cuda" || cuda_n == Some(true)) {
        return Err(FieldError::new(
            "device",
            format!("expected cpu, cuda or cuda:N, got {device:?}"),
        ));
    }
    let data = raw.data.map(|d| data_spec(d, &base_dir)).transpose()?;
    if raw.stages.0.is_empty() {
        return Err(FieldError::new("stages", "needs at least one stage"));
    }
    let names: Vec<&str> = raw.stages.0.iter().map(|(n, _)| n.as_str()).collect();
    let mut stages = Vec::new();
    for (name, value) in &raw.stages.0 {
        let field = format!("stages.{name}");
        let stage: RawStage = yaml::from_value(value.clone(), &field).map_err(|mut e| {
            // The stage kind is serde's enum tag: name the `kind` key in the error.
            if e.field == field && e.msg.starts_with("unknown value") {
                e.field = format!("{field}.kind");
            }
            e
        })?;
        let (needs, spec) = match &stage {
            RawStage::Split(map) => {
                let opts: crate::data::split::SplitOptions =
                    yaml::from_value(serde_yaml::Value::Mapping(map.clone()), &field)?;
                opts.check(&field)?;
                if data.is_none() {
                    return Err(FieldError::new(
                        "data",
                        format!("is required by stage {name} (kind split)"),
                    ));
                }
                (Vec::new(), StageSpec::Split(opts))
            }
            RawStage::Search(s) => (
                s.needs.clone().unwrap_or_default(),
                StageSpec::Search(search(s, &field, data.as_ref(), &base_dir)?),
            ),
            RawStage::Retrain(r) => {
                let on = r.on.clone().unwrap_or_else(|| "train+val".into());
                if on != "train" && on != "train+val" {
                    return Err(FieldError::new(
                        format!("{field}.on"),
                        format!("expected train or train+val, got {on:?}"),
                    ));
                }
                let epochs = match &r.epochs {
                    None => None,
                    Some(serde_json::Value::String(s)) if s == "best" => None,
                    Some(v) => match v.as_u64() {
                        Some(n) if n >= 1 => Some(n as u32),
                        _ => {
                            return Err(FieldError::new(
                                format!("{field}.epochs"),
                                format!("expected best or a number >= 1, got {v}"),
                            ));
                        }
                    },
                };
                (
                    r.needs.clone().unwrap_or_default(),
                    StageSpec::Retrain(RetrainSpec { on, epochs }),
                )
            }
            RawStage::Evaluate(e) => {
                let metrics = e.metrics.clone().unwrap_or_else(|| vec!["loss".into()]);
                let task = data.as_ref().map_or(Task::Classification, |d| d.task);
                let known = if task == Task::Regression {
                    METRICS_REGRESSION
                } else {
                    METRICS_CLASSIFICATION
                };
                for (i, m) in metrics.iter().enumerate() {
                    if !known.contains(&m.as_str()) {
                        return Err(FieldError::new(
                            format!("{field}.metrics[{i}]"),
                            format!(
                                "unknown metric {m:?} for {task:?} (expected one of {})",
                                known.join(", ")
                            )
                            .to_lowercase(),
                        ));
                    }
                }
                (
                    e.needs.clone().unwrap_or_default(),
                    StageSpec::Evaluate(EvaluateSpec { metrics }),
                )
            }
        };
        for (i, n) in needs.iter().enumerate() {
            if !names.contains(&n.as_str()) {
                return Err(FieldError::new(
                    format!("{field}.needs[{i}]"),
                    format!("names no stage: {n:?} (stages: {})", names.join(", ")),
                ));
            }
        }
        stages.push(Stage {
            name: name.clone(),
            needs,
            spec,
        });
    }
    let stages = order(stages)?;
    let wf = Workflow {
        file: file.to_path_buf(),
        base_dir,
        name: raw.name,
        seed: raw.seed.unwrap_or(0),
        device,
        data,
        stages,
    };
    check_upstreams(&wf)?;
    Ok(wf)
}

fn data_spec(d: RawData, base_dir: &Path) -> Result<DataSpec, FieldError> {
    let path = d.path.as_ref().map(PathBuf::from);
    match d.source {
        Source::Builtin => {
            let name = d.name.clone().unwrap_or_default();
            if name != "digits" {
                return Err(FieldError::new(
                    "data.name",
                    format!("unknown builtin dataset {name:?} (known: digits)"),
                ));
            }
        }
        Source::Idx | Source::Csv => {
            let Some(p) = &path else {
                return Err(FieldError::new(
                    "data.path",
                    format!("is required for source {:?}", d.source).to_lowercase(),
                ));
            };
            let full = if p.is_absolute() {
                p.clone()
            } else {
                base_dir.join(p)
            };
            let ok = if d.source == Source::Idx {
                full.is_dir()
            } else {
                full.is_file()
            };
            if !ok {
                let what = if d.source == Source::Idx {
                    "folder"
                } else {
                    "file"
                };
                return Err(FieldError::new(
                    "data.path",
                    format!("no such {what}: {}", full.display()),
                ));
            }
            if d.source == Source::Csv && d.label.is_none() {
                return Err(FieldError::new(
                    "data.label",
                    "is required for source csv (the label column)",
                ));
            }
        }
    }
    Ok(DataSpec {
        source: d.source,
        path,
        name: d.name,
        task: d.task.unwrap_or(Task::Classification),
        label: d.label,
        features: d.features,
    })
}

fn search(
    s: &RawSearch,
    field: &str,
    data: Option<&DataSpec>,
    base_dir: &Path,
) -> Result<SearchSpec, FieldError> {
    let f = |k: &str| format!("{field}.{k}");
    let trainer = match s.model.as_str() {
        "mlp" | "cnn" | "rnn" | "transformer" => {
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
            Some(argv) if !argv.is_empty() => {
                // A program given relative to the workflow resolves against its folder.
                let mut argv = argv.clone();
                for a in argv.iter_mut() {
                    let p = base_dir.join(&*a);
                    if !Path::new(a).is_absolute()
                        && (a.contains('/') || a.ends_with(".py"))
                        && p.exists()
                    {
                        *a = p.canonicalize().unwrap_or(p).to_string_lossy().into_owned();
                    }
                }
                TrainerSpec::Command { argv }
            }
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
                    "unknown model {other:?} (expected one of {})",
                    MODELS.join(", ")
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
    let known: Option<Vec<&str>> = match &trainer {
        TrainerSpec::Torch { model } => {
            Some(COMMON.iter().chain(model_params(model)).copied().collect())
        }
        _ => None,
    };
    let check_name = |name: &str, at: String| -> Result<(), FieldError> {
        match &known {
            Some(k) if !k.contains(&name) => Err(FieldError::new(
                at,
                format!(
                    "not a hyperparameter of {} (known: {})",
                    s.model,
                    k.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    };
    let mut params = Config::new();
    for (name, v) in s.params.iter().flat_map(|p| &p.0) {
        let at = format!("{field}.params.{name}");
        check_name(name, at.clone())?;
        check_value(name, v, &at)?;
        params.insert(name.clone(), v.clone());
    }
    let entries = s.space.as_ref().map(|o| o.0.clone()).unwrap_or_default();
    let space = Space::from_raw(&entries, &f("space"))?;
    for p in &space.params {
        let at = format!("{field}.space.{}", p.name);
        check_name(&p.name, at.clone())?;
        if params.contains_key(&p.name) {
            return Err(FieldError::new(
                at,
                "is both fixed in params and searched in space",
            ));
        }
        if let crate::search::space::Dist::Choice(options) = &p.dist {
            for (i, o) in options.iter().enumerate() {
                check_value(&p.name, o, &format!("{at}.choice[{i}]"))?;
            }
        }
    }
    let strategy = s.strategy.clone();
    strategy.check(&f("strategy"))?;
    let epochs_param = params
        .get("epochs")
        .and_then(|v| v.as_u64())
        .map(|e| e as u32);
    if strategy.kind.is_multi_fidelity() && space.get("epochs").is_some() {
        return Err(FieldError::new(
            f("space.epochs"),
            format!(
                "cannot be searched with {:?}: the scheduler decides the epochs",
                strategy.kind
            )
            .to_lowercase(),
        ));
    }
    let epochs = strategy.max_epochs.or(epochs_param).unwrap_or(10);
    if let (Some(m), Some(e)) = (strategy.max_epochs, epochs_param) {
        if m != e {
            return Err(FieldError::new(
                f("strategy.max_epochs"),
                format!("is {m} but params.epochs is {e}; give one"),
            ));
        }
    }
    if strategy.kind == StrategyKind::Grid && space.is_empty() {
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
    let mut budget = s.budget.clone().unwrap_or_default();
    if strategy.kind == StrategyKind::Grid {
        let size = crate::search::strategy::grid_size(&space, &strategy)
            .map_err(|m| FieldError::new(f("strategy.steps"), m))?;
        match budget.trials {
            None => budget.trials = Some(size),
            Some(t) if t < size && strategy.allow_large != Some(true) => {
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
    if budget.trials == Some(0) {
        return Err(FieldError::new(f("budget.trials"), "must be at least 1"));
    }
    if let Some(t) = &budget.time {
        parse_duration(t).map_err(|m| FieldError::new(f("budget.time"), m))?;
    }
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
        strategy,
        metric,
        budget: Budget { ..budget },
        epochs,
        workers,
        threads,
        trials_per_device: s.trials_per_device.unwrap_or(4).max(1),
        retries: s.retries.unwrap_or(2),
        disk_limit_mb: s.disk_limit_mb,
    })
}

/// Range checks of a hyperparameter value (fixed, or one option of a choice).
fn check_value(name: &str, v: &serde_json::Value, at: &str) -> Result<(), FieldError> {
    if let Some(allowed) = categories(name) {
        return match v.as_str() {
            Some(s) if allowed.contains(&s) => Ok(()),
            _ => Err(FieldError::new(
                at,
                format!("expected one of {}, got {v}", allowed.join(", ")),
            )),
        };
    }
    let positive_int = [
        "batch_size",
        "epochs",
        "units",
        "hidden_layers",
        "conv_layers",
        "filters",
        "kernel_size",
        "stride",
        "pool_size",
        "dense_units",
        "rnn_units",
        "rnn_layers",
        "heads",
        "d_model",
        "ff_dim",
        "encoder_layers",
        "patch_size",
    ];
    if positive_int.contains(&name) && !v.as_u64().is_some_and(|n| n >= 1) {
        return Err(FieldError::new(
            at,
            format!("expected a whole number >= 1, got {v}"),
        ));
    }
    if name == "hidden_layers" || name == "conv_layers" {
        // 0 hidden layers is a linear model: allowed.
    }
    if name == "dropout" && !v.as_f64().is_some_and(|x| (0.0..1.0).contains(&x)) {
        return Err(FieldError::new(
            at,
            format!("expected a number in [0, 1), got {v}"),
        ));
    }
    if ["lr", "eps"].contains(&name) && !v.as_f64().is_some_and(|x| x > 0.0) {
        return Err(FieldError::new(
            at,
            format!("expected a number > 0, got {v}"),
        ));
    }
    if ["weight_decay", "l1", "momentum"].contains(&name) && !v.as_f64().is_some_and(|x| x >= 0.0) {
        return Err(FieldError::new(
            at,
            format!("expected a number >= 0, got {v}"),
        ));
    }
    if ["nesterov", "bidirectional"].contains(&name) && !v.is_boolean() {
        return Err(FieldError::new(
            at,
            format!("expected true or false, got {v}"),
        ));
    }
    Ok(())
}

/// `90s`, `30m`, `2h`, `1h30m` → seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: u64 = num
                .parse()
                .map_err(|_| format!("expected a duration like 90s, 30m or 2h, got {s:?}"))?;
            total += n * match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => {
                    return Err(format!(
                        "expected a duration like 90s, 30m or 2h, got {s:?}"
                    ));
                }
            };
            num.clear();
        }
    }
    if !num.is_empty() || total == 0 {
        return Err(format!(
            "expected a duration like 90s, 30m or 2h, got {s:?}"
        ));
    }
    Ok(total)
}

/// Dependency order (Kahn), keeping the written order among stages that are ready together.
fn order(stages: Vec<Stage>) -> Result<Vec<Stage>, FieldError> {
    let mut done: Vec<String> = Vec::new();
    let mut left = stages;
    let mut out = Vec::new();
    while !left.is_empty() {
        let Some(i) = left
            .iter()
            .position(|s| s.needs.iter().all(|n| done.contains(n)))
        else {
            let cycle: Vec<&str> = left.iter().map(|s| s.name.as_str()).collect();
            return Err(FieldError::new(
                format!("stages.{}.needs", left[0].name),
                format!("the stages {} need each other in a cycle", cycle.join(", ")),
            ));
        };
        let s = left.remove(i);
        done.push(s.name.clone());
        out.push(s);
    }
    Ok(out)
}

/// Each stage kind needs the right kind upstream: a torch search a split, a retrain a search,
/// an evaluate a retrain.
fn check_upstreams(wf: &Workflow) -> Result<(), FieldError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &wf.stages {
        let need = |kind: &str| -> Result<(), FieldError> {
            if wf.upstream(s, kind).is_none() {
                return Err(FieldError::new(
                    format!("stages.{}.needs", s.name),
                    format!(
                        "the {} stage {} needs a {kind} stage upstream",
                        s.spec.kind(),
                        s.name
                    ),
                ));
            }
            Ok(())
        };
        match &s.spec {
            StageSpec::Split(_) => {
                *seen.entry("split").or_default() += 1;
                if seen["split"] > 1 {
                    return Err(FieldError::new(
                        format!("stages.{}", s.name),
                        "only one split stage per workflow",
                    ));
                }
            }
            StageSpec::Search(sp) => {
                if sp.trainer.needs_torch() {
                    need("split")?;
                }
            }
            StageSpec::Retrain(_) => need("search")?,
            StageSpec::Evaluate(_) => need("retrain")?,
        }
    }
    Ok(())
}
