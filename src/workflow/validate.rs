//! RawWorkflow → Workflow: defaults filled in, every value and reference checked, stages put
//! in dependency order. Each problem becomes one `Error::Input` naming file, line and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::data::{DataSpec, Source, Task};
use crate::error::{Error, FieldError, Result};
use crate::search::RawStrategy;
use crate::search::options::Defaults;
use crate::train::metrics::{
    CLASSIFICATION as METRICS_CLASSIFICATION, REGRESSION as METRICS_REGRESSION,
};
use crate::vocab::RetrainOn;
use crate::workflow::raw::{RawData, RawStage, RawWorkflow};
use crate::workflow::search::search;
use crate::workflow::yaml;
use crate::workflow::{EvaluateSpec, RetrainSpec, Stage, StageSpec, Workflow};

pub fn from_text(file: &Path, text: &str) -> Result<Workflow> {
    from_text_with(file, text, &crate::search::options::DEFAULTS)
}

/// `from_text` with other strategy defaults (a test changes one and sees which job ids change).
pub fn from_text_with(file: &Path, text: &str, defaults: &Defaults) -> Result<Workflow> {
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
    build(raw, base_dir, file, defaults).map_err(at)
}

fn build(
    raw: RawWorkflow,
    base_dir: PathBuf,
    file: &Path,
    defaults: &Defaults,
) -> Result<Workflow, FieldError> {
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
    let executor = super::executor::parse(raw.executor)?;
    if executor.slurm.gpus_per_worker > 0 && device == "cpu" {
        return Err(FieldError::new(
            "executor.gpus_per_worker",
            "asks for GPUs while device is cpu: set device: cuda, or leave it out",
        ));
    }
    if raw.stages.0.is_empty() {
        return Err(FieldError::new("stages", "needs at least one stage"));
    }
    let names: Vec<&str> = raw.stages.0.iter().map(|(n, _)| n.as_str()).collect();
    let mut stages = Vec::new();
    // Each search's strategy as written: a narrowed one is resolved again once its space is known.
    let mut written = BTreeMap::new();
    for (name, value) in &raw.stages.0 {
        let field = format!("stages.{name}");
        let stage = parse_stage(value, &field)?;
        let (needs, spec) = match &stage {
            RawStage::Split(opts) => {
                opts.check(&field)?;
                if data.is_none() {
                    return Err(FieldError::new(
                        "data",
                        format!("is required by stage {name} (kind split)"),
                    ));
                }
                (Vec::new(), StageSpec::Split(opts.clone()))
            }
            RawStage::Search(s) => {
                written.insert(name.clone(), s.strategy.clone());
                (
                    s.needs.clone().unwrap_or_default(),
                    StageSpec::Search(search(s, &field, data.as_ref(), &base_dir, defaults)?),
                )
            }
            RawStage::Retrain(r) => {
                let on = match r.on.as_deref() {
                    None => RetrainOn::TrainVal,
                    Some(text) => RetrainOn::parse(text).ok_or_else(|| {
                        let all: Vec<&str> = RetrainOn::ALL.iter().map(|o| o.as_str()).collect();
                        FieldError::new(
                            format!("{field}.on"),
                            format!("expected {}, got {text:?}", all.join(" or ")),
                        )
                    })?,
                };
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
                let seeds = r.seeds.unwrap_or(1);
                if !(1..=100).contains(&seeds) {
                    return Err(FieldError::new(
                        format!("{field}.seeds"),
                        format!("expected a number from 1 to 100, got {seeds}"),
                    ));
                }
                (
                    r.needs.clone().unwrap_or_default(),
                    StageSpec::Retrain(RetrainSpec { on, epochs, seeds }),
                )
            }
            RawStage::Evaluate(e) => {
                // Without `metrics:`, the defaults follow the search (see `default_metrics`).
                let metrics = e.metrics.clone().unwrap_or_default();
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
                    StageSpec::Evaluate(EvaluateSpec {
                        listed: e.metrics.is_some(),
                        metrics,
                    }),
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
    if let Some(d) = &data {
        let split = stages.iter().find_map(|s| match &s.spec {
            StageSpec::Split(o) => Some((format!("stages.{}", s.name), o)),
            _ => None,
        });
        super::data_check::check(d, &base_dir, split.as_ref().map(|(f, o)| (f.as_str(), *o)))?;
    }
    let stages = order(stages)?;
    let mut wf = Workflow {
        file: file.to_path_buf(),
        base_dir,
        name: raw.name,
        seed: raw.seed.unwrap_or(0),
        device,
        data,
        executor,
        stages,
    };
    check_upstreams(&wf)?;
    narrowed_spaces(&mut wf, &written, defaults)?;
    for s in &wf.stages {
        if let StageSpec::Retrain(r) = &s.spec
            && r.seeds > 1
            && !matches!(wf.upstream(s, "search").map(|u| &u.spec),
                Some(StageSpec::Search(x)) if x.trainer.needs_torch())
        {
            return Err(FieldError::new(
                format!("stages.{}.seeds", s.name),
                "several seeds need a built-in model (mlp, cnn, rnn, transformer): a function \
                 gives the same value every time, and a command program evaluates its own model",
            ));
        }
    }
    for s in &wf.stages {
        let StageSpec::Search(search) = &s.spec else {
            continue;
        };
        let folds = matches!(wf.upstream(s, "split").map(|u| &u.spec),
            Some(StageSpec::Split(o)) if o.folds.is_some());
        if !folds {
            continue;
        }
        if search.strategy.kind() == crate::search::StrategyKind::Pbt {
            return Err(FieldError::new(
                format!("stages.{}.strategy.kind", s.name),
                "pbt does not combine with k-fold splits (folds:): its members copy each \
                 other's single model; use sha, hyperband, asha or bohb",
            ));
        }
        if search.early_stopping.is_some() {
            return Err(FieldError::new(
                format!("stages.{}.early_stopping", s.name),
                "does not combine with k-fold splits (folds:) yet: each fold would stop at its \
                 own epoch",
            ));
        }
    }
    default_metrics(&mut wf);
    Ok(wf)
}

/// A search with `narrow: {from}` starts from that upstream search's space (narrowed when it
/// runs, from the upstream's results): the upstream must be a search it needs, with the same
/// trainer. Stages are in dependency order, so a chain of narrowings resolves in one pass.
fn narrowed_spaces(
    wf: &mut Workflow,
    written: &BTreeMap<String, RawStrategy>,
    defaults: &Defaults,
) -> Result<(), FieldError> {
    for i in 0..wf.stages.len() {
        let StageSpec::Search(spec) = &wf.stages[i].spec else {
            continue;
        };
        let Some(n) = &spec.narrow else { continue };
        let at = format!("stages.{}.narrow.from", wf.stages[i].name);
        let needed = needs_transitively(wf, &wf.stages[i], &n.from);
        let upstream = match wf.stage(&n.from).map(|s| &s.spec) {
            Some(StageSpec::Search(u)) if needed => u,
            Some(StageSpec::Search(_)) => {
                return Err(FieldError::new(
                    at,
                    format!("{:?} must be in this stage's needs (it runs first)", n.from),
                ));
            }
            _ => {
                return Err(FieldError::new(
                    at,
                    format!("names no search stage: {:?}", n.from),
                ));
            }
        };
        if upstream.trainer != spec.trainer {
            return Err(FieldError::new(
                at,
                format!(
                    "{:?} trains another model; narrow needs the same one",
                    n.from
                ),
            ));
        }
        let space = upstream.space.clone();
        if let crate::train::TrainerSpec::Command { argv } = &spec.trainer {
            let names: Vec<&str> = spec
                .params
                .keys()
                .map(String::as_str)
                .chain(space.params.iter().map(|p| p.name.as_str()))
                .collect();
            let at = format!("stages.{}.command", wf.stages[i].name);
            super::command::check_placeholders(argv, &names, &at)?;
        }
        let name = wf.stages[i].name.clone();
        if let StageSpec::Search(spec) = &mut wf.stages[i].spec {
            spec.space = space;
            // A default may follow the space (BOHB's `initial`: parameters + 2).
            if let Some(raw) = written.get(&name) {
                spec.strategy = raw.resolve(
                    &format!("stages.{name}.strategy"),
                    defaults,
                    spec.epochs,
                    spec.space.params.len(),
                )?;
            }
        }
    }
    Ok(())
}

fn needs_transitively(wf: &Workflow, stage: &Stage, name: &str) -> bool {
    let mut todo: Vec<&str> = stage.needs.iter().map(String::as_str).collect();
    while let Some(n) = todo.pop() {
        if n == name {
            return true;
        }
        if let Some(s) = wf.stage(n) {
            todo.extend(s.needs.iter().map(String::as_str));
        }
    }
    false
}

/// An evaluate stage without `metrics:` reports the metric its search selected on, then the
/// task's usual ones: what a reader of the result wants to compare.
fn default_metrics(wf: &mut Workflow) {
    let task = wf.data.as_ref().map_or(Task::Classification, |d| d.task);
    let usual: &[&str] = if task == Task::Regression {
        &["mse", "mae", "r2", "loss"]
    } else {
        &["accuracy", "f1_macro", "loss"]
    };
    let defaults: Vec<(usize, Vec<String>)> = wf
        .stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.spec {
            StageSpec::Evaluate(e) if e.metrics.is_empty() => {
                let search = match wf.upstream(s, "search").map(|u| &u.spec) {
                    Some(StageSpec::Search(search)) => Some(search),
                    _ => None,
                };
                // Only the built-in models compute metrics on the test rows by name.
                if !search.is_some_and(|s| s.trainer.needs_torch()) {
                    return Some((i, vec!["loss".to_string()]));
                }
                let selected = search
                    .and_then(|s| s.metric.name.strip_prefix("val_"))
                    .map(str::to_string);
                let mut list: Vec<String> = selected.into_iter().collect();
                for m in usual {
                    if !list.iter().any(|x| x == m) {
                        list.push(m.to_string());
                    }
                }
                Some((i, list))
            }
            _ => None,
        })
        .collect();
    for (i, list) in defaults {
        if let StageSpec::Evaluate(e) = &mut wf.stages[i].spec {
            e.metrics = list;
        }
    }
}

/// A stage by its `kind`, then its own fields: serde's tagged enums lose the path of an error
/// inside the stage, so the kind is read first.
fn parse_stage(value: &serde_yaml::Value, field: &str) -> Result<RawStage, FieldError> {
    let Some(map) = value.as_mapping() else {
        return Err(FieldError::new(field, "expected a mapping with a kind"));
    };
    let mut rest = map.clone();
    let kind = rest.remove("kind");
    let rest = serde_yaml::Value::Mapping(rest);
    match kind.as_ref().and_then(|k| k.as_str()) {
        Some("split") => yaml::from_value(rest, field).map(RawStage::Split),
        Some("search") => yaml::from_value(rest, field).map(RawStage::Search),
        Some("retrain") => yaml::from_value(rest, field).map(RawStage::Retrain),
        Some("evaluate") => yaml::from_value(rest, field).map(RawStage::Evaluate),
        None => Err(FieldError::new(
            field,
            "`kind` is required (split, search, retrain or evaluate)",
        )),
        Some(other) => Err(FieldError::new(
            format!("{field}.kind"),
            format!(
                "unknown value `{other}`, expected one of `split`, `search`, `retrain`, `evaluate`"
            ),
        )),
    }
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
            StageSpec::Evaluate(_) => {
                need("retrain")?;
                let command = matches!(wf.upstream(s, "search").map(|u| &u.spec),
                    Some(StageSpec::Search(x)) if matches!(x.trainer, crate::train::TrainerSpec::Command { .. }));
                if command && wf.upstream(s, "split").is_none() {
                    return Err(FieldError::new(
                        format!("stages.{}.needs", s.name),
                        "a command program is evaluated on the sealed test rows of a split:                          give the workflow `data:` and a split stage the search needs (or                          leave out the evaluate stage)",
                    ));
                }
            }
        }
    }
    Ok(())
}
