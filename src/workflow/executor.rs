//! `executor:` at the top of a workflow: where trials run. `local` (the default) or `slurm`,
//! written as one word or as a mapping with `kind` and the Slurm settings. None of it enters a
//! job key: an executor changes where and how fast trials run, never what they compute.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::workflow::yaml;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    Local,
    Slurm,
}

/// The mapping form as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    kind: ExecutorKind,
    partition: Option<String>,
    account: Option<String>,
    qos: Option<String>,
    time: Option<String>,
    cpus_per_worker: Option<u32>,
    mem: Option<String>,
    gpus_per_worker: Option<u32>,
    max_jobs: Option<usize>,
    extra: Option<Vec<String>>,
}

/// Slurm settings, checked. Defaults are Slurm's own (the partition's time limit, its memory
/// per CPU), except `cpus_per_worker` (the search's `threads`) and `max_jobs` (its `workers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlurmSettings {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Minutes, as `sbatch --time` takes them.
    pub time_minutes: Option<u64>,
    pub cpus_per_worker: Option<u32>,
    pub mem: Option<String>,
    pub gpus_per_worker: u32,
    pub max_jobs: Option<usize>,
    pub extra: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Executor {
    pub kind: ExecutorKind,
    /// Kept also under `kind: local`, so that `hpflow run --executor slurm` finds them.
    pub slurm: SlurmSettings,
}

impl Default for Executor {
    fn default() -> Self {
        Executor {
            kind: ExecutorKind::Local,
            slurm: SlurmSettings::default(),
        }
    }
}

/// Options hpflow sets itself on every worker job; a second value would fight it.
const OWN_OPTIONS: &[&str] = &[
    "--job-name",
    "-J",
    "--output",
    "-o",
    "--error",
    "-e",
    "--wrap",
    "--array",
    "-a",
    "--parsable",
];

pub fn parse(value: Option<serde_yaml::Value>) -> Result<Executor, FieldError> {
    let raw: RawExecutor = match value {
        None => return Ok(Executor::default()),
        Some(serde_yaml::Value::String(word)) => {
            let kind = yaml::from_value(serde_yaml::Value::String(word), "executor")?;
            return Ok(Executor {
                kind,
                slurm: SlurmSettings::default(),
            });
        }
        Some(v @ serde_yaml::Value::Mapping(_)) => yaml::from_value(v, "executor")?,
        Some(_) => {
            return Err(FieldError::new(
                "executor",
                "expected local, slurm, or a mapping with kind: slurm and its settings",
            ));
        }
    };
    let name = |field: &str, v: Option<String>| -> Result<Option<String>, FieldError> {
        match v {
            Some(s) if s.is_empty() || s.contains(char::is_whitespace) || s.starts_with('-') => {
                Err(FieldError::new(
                    format!("executor.{field}"),
                    format!("expected one Slurm name (no spaces), got {s:?}"),
                ))
            }
            other => Ok(other),
        }
    };
    let time_minutes = raw
        .time
        .as_deref()
        .map(|t| {
            slurm_minutes(t)
                .ok_or_else(|| {
                    format!(
                        "expected a duration like 30m or 2h, or Slurm's [D-]HH:MM:SS, got {t:?}"
                    )
                })
                .map_err(|m| FieldError::new("executor.time", m))
        })
        .transpose()?;
    if raw.cpus_per_worker == Some(0) {
        return Err(FieldError::new(
            "executor.cpus_per_worker",
            "expected a number >= 1, got 0",
        ));
    }
    if raw.max_jobs == Some(0) {
        return Err(FieldError::new(
            "executor.max_jobs",
            "expected a number >= 1, got 0",
        ));
    }
    if let Some(m) = &raw.mem
        && !valid_mem(m)
    {
        return Err(FieldError::new(
            "executor.mem",
            format!("expected megabytes or a size like 4000M, 16G or 1T, got {m:?}"),
        ));
    }
    let extra = raw.extra.unwrap_or_default();
    for (i, arg) in extra.iter().enumerate() {
        let option = arg.split('=').next().unwrap_or(arg);
        if !arg.starts_with('-') {
            return Err(FieldError::new(
                format!("executor.extra[{i}]"),
                format!("expected an sbatch option such as --constraint=a100, got {arg:?}"),
            ));
        }
        if OWN_OPTIONS.contains(&option) {
            return Err(FieldError::new(
                format!("executor.extra[{i}]"),
                format!("{option} is set by hpflow on every worker job; leave it out"),
            ));
        }
    }
    Ok(Executor {
        kind: raw.kind,
        slurm: SlurmSettings {
            partition: name("partition", raw.partition)?,
            account: name("account", raw.account)?,
            qos: name("qos", raw.qos)?,
            time_minutes,
            cpus_per_worker: raw.cpus_per_worker,
            mem: raw.mem,
            gpus_per_worker: raw.gpus_per_worker.unwrap_or(0),
            max_jobs: raw.max_jobs,
            extra,
        },
    })
}

/// `30m`, `2h` (hpflow's durations) or Slurm's `MM`, `HH:MM:SS`, `D-HH[:MM[:SS]]`, in whole
/// minutes rounded up (Slurm's own unit).
pub fn slurm_minutes(t: &str) -> Option<u64> {
    if let Ok(secs) = crate::workflow::search::parse_duration(t) {
        return Some(secs.div_ceil(60));
    }
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, t),
    };
    let parts: Vec<u64> = rest
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let secs = match (t.contains('-'), parts.as_slice()) {
        (false, [m]) => m * 60,
        (false, [m, s]) => m * 60 + s,
        (false, [h, m, s]) | (true, [h, m, s]) => h * 3600 + m * 60 + s,
        (true, [h]) => h * 3600,
        (true, [h, m]) => h * 3600 + m * 60,
        _ => return None,
    };
    let total = days * 86400 + secs;
    (total > 0).then(|| total.div_ceil(60))
}

fn valid_mem(m: &str) -> bool {
    let digits = m.trim_end_matches(['K', 'M', 'G', 'T']);
    m.len() - digits.len() <= 1 && !digits.is_empty() && digits.parse::<u64>().is_ok_and(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_minutes() {
        assert_eq!(slurm_minutes("30m"), Some(30));
        assert_eq!(slurm_minutes("90s"), Some(2));
        assert_eq!(slurm_minutes("2h"), Some(120));
        assert_eq!(slurm_minutes("45"), Some(45));
        assert_eq!(slurm_minutes("01:30:00"), Some(90));
        assert_eq!(slurm_minutes("1-02"), Some(26 * 60));
        assert_eq!(slurm_minutes("1-00:00:30"), Some(1441));
        assert_eq!(slurm_minutes("soon"), None);
        assert_eq!(slurm_minutes("0"), None);
    }

    #[test]
    fn memory_sizes() {
        assert!(valid_mem("4000") && valid_mem("16G") && valid_mem("512M"));
        assert!(!valid_mem("G") && !valid_mem("4GB") && !valid_mem("0") && !valid_mem("-1G"));
    }
}
