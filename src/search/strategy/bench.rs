//! The strategies' benchmark driver (behind a hidden `hpflow bench-strategy` subcommand, and
//! an ignored test): runs samplers on the test functions and prints one JSON line per run,
//! which `scripts/bench-strategies` aggregates next to Optuna's results.
//!
//! Arguments (all optional): `--strategies bayes,tpe,random` `--functions
//! branin,hartmann6,levy` `--evals 100` `--seeds 20` `--first-seed 0`, or `--tpe-speed N`
//! to time N sequential TPE proposals on Hartmann6 instead.

use std::time::Instant;

use serde_json::json;

use crate::search::space::{RawParam, Space};
use crate::search::strategy::sampler;
use crate::search::{Observation, StrategyKind, StrategyOptions};
use crate::train::function;

/// The benchmark's search space for a test function: its usual domain.
pub fn space_for(name: &str) -> Result<Space, String> {
    let (dims, low, high) = match name {
        "branin" => (2, 0.0, 0.0),
        "hartmann6" => (6, 0.0, 1.0),
        "levy" => (10, -10.0, 10.0),
        "rosenbrock" => (4, -5.0, 10.0),
        other => return Err(format!("no benchmark space for {other}")),
    };
    let raw: Vec<(String, RawParam)> = (1..=dims)
        .map(|i| {
            let (lo, hi) = match (name, i) {
                ("branin", 1) => (-5.0, 10.0),
                ("branin", _) => (0.0, 15.0),
                _ => (low, high),
            };
            let yaml = format!("{{uniform: [{lo}, {hi}]}}");
            let p: RawParam = serde_yaml::from_str(&yaml).map_err(|e| e.to_string())?;
            Ok((format!("x{i}"), p))
        })
        .collect::<Result<_, String>>()?;
    Space::from_raw(&raw, "bench").map_err(|e| e.msg)
}

fn kind_of(name: &str) -> Result<StrategyKind, String> {
    serde_json::from_value(json!(name)).map_err(|_| format!("unknown strategy {name}"))
}

/// One sequential run: (best value, seconds spent proposing).
pub fn run_once(
    kind: StrategyKind,
    function: &str,
    seed: u64,
    evals: usize,
) -> Result<(f64, f64), String> {
    let space = space_for(function)?;
    let s = sampler(&StrategyOptions::new(kind), seed);
    let mut observed: Vec<Observation> = Vec::with_capacity(evals);
    let mut seconds = 0.0;
    let mut best = f64::INFINITY;
    for i in 0..evals {
        let t = Instant::now();
        let Some(p) = s.propose(&space, &observed, &[], i) else {
            break;
        };
        seconds += t.elapsed().as_secs_f64();
        let value = function::evaluate(function, &function::coordinates(&p.config))?;
        best = best.min(value);
        observed.push(Observation {
            trial: i,
            config: p.config,
            epochs: 1,
            value: Some(value),
        });
    }
    Ok((best, seconds))
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parse the arguments and run; each result line goes to `out`.
pub fn bench_main(args: &[String], out: &mut dyn FnMut(String)) -> Result<(), String> {
    let mut strategies = list("bayes,tpe,random");
    let mut functions = list("branin,hartmann6,levy");
    let (mut evals, mut seeds, mut first, mut tpe_speed) = (100usize, 20u64, 0u64, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--strategies" => strategies = list(&value()?),
            "--functions" => functions = list(&value()?),
            "--evals" => evals = num(value()?)? as usize,
            "--seeds" => seeds = num(value()?)?,
            "--first-seed" => first = num(value()?)?,
            "--tpe-speed" => tpe_speed = Some(num(value()?)? as usize),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(n) = tpe_speed {
        let (best, secs) = run_once(StrategyKind::Tpe, "hartmann6", first, n)?;
        out(
            json!({"impl": "hpflow", "strategy": "tpe", "function": "hartmann6", "trials": n,
                   "best": best, "propose_seconds": secs})
            .to_string(),
        );
        return Ok(());
    }
    for f in &functions {
        let opt = function::optimum(f).ok_or_else(|| format!("no known optimum for {f}"))?;
        for s in &strategies {
            let kind = kind_of(s)?;
            for seed in first..first + seeds {
                let (best, secs) = run_once(kind, f, seed, evals)?;
                out(json!({"impl": "hpflow", "strategy": s, "function": f, "seed": seed, "evals": evals,
                           "best": best, "regret": best - opt, "propose_seconds": secs})
                .to_string());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `HPFLOW_BENCH_ARGS="--seeds 2" cargo test --release --lib bench_strategies -- --ignored
    /// --nocapture`: the benchmark without the hidden subcommand.
    #[test]
    #[ignore]
    fn bench_strategies() {
        let args: Vec<String> = std::env::var("HPFLOW_BENCH_ARGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        bench_main(&args, &mut |line| println!("BENCH {line}")).expect("benchmark runs");
    }

    #[test]
    fn spaces_match_the_functions() {
        for f in ["branin", "hartmann6", "levy"] {
            let space = space_for(f).unwrap();
            let mut lines = Vec::new();
            bench_main(
                &[
                    "--functions",
                    f,
                    "--strategies",
                    "random",
                    "--evals",
                    "3",
                    "--seeds",
                    "1",
                ]
                .map(String::from),
                &mut |l| lines.push(l),
            )
            .unwrap();
            assert_eq!(lines.len(), 1);
            let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
            assert!(v["regret"].as_f64().unwrap() >= 0.0, "{f}: {v}");
            assert!(!space.is_empty());
        }
    }
}
