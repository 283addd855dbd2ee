//! The strategies' benchmark driver (behind a hidden `hpflow bench-strategy` subcommand, and
//! an ignored test): runs samplers on the test functions and prints one JSON line per run,
//! which `scripts/bench-strategies` aggregates next to Optuna's results.
//!
//! Arguments (all optional): `--strategies bayes,tpe,random` `--functions
//! branin,hartmann6,levy` (the [`TUNED`] set; [`HELD_OUT`] lists the others) `--evals 100`
//! `--seeds 20` `--first-seed 0` `--batch 1` (proposal k sees the results of the first
//! k+1−batch, the others pending: the lag `hpflow run` uses, whose default is 4); or
//! `--tpe-speed N` to time N sequential TPE proposals on Hartmann6 instead, or `--gp-speed
//! 100,300,1000` to time `bayes` proposals at those numbers of observations.

use std::time::Instant;

use serde_json::json;

use crate::search::objectives as function;
use crate::search::space::{Dist, RawParam, Space};
use crate::search::strategy::sampler;
use crate::search::{Observation, Sampler, Strategy, StrategyKind};

/// The functions `bayes` and `tpe` were tuned on (the default set).
pub const TUNED: &str = "branin,hartmann6,levy";

/// Further functions to develop on (look at as often as needed), beside `TUNED`.
pub const DEV: &str = "rosenbrock,beale";

/// Functions held out from tuning, chosen (from the Surjanovic–Bingham collection) before any
/// strategy was run on them, to tell whether a change generalises or only fits the tuned set:
/// low-dimensional like the ones a GP is for, with interior optima of different shapes
/// (two symmetric basins, a steep narrow valley with a 10⁶ range, three dimensions with a
/// sharp peak, a separable multimodal 4-d function). Judge on these, tune on `TUNED`.
pub const HELD_OUT: &str = "camel6,goldstein,hartmann3,styblinski4";

/// A second held-out set, chosen on 2026-12-05 after `HELD_OUT` had been looked at while
/// choosing between two variants of `bayes`'s prior mean, and first run on 2026-12-06 to
/// judge them (it chose the mean at the worst value, conditioning only: `bayes.rs`). Standard
/// domains: sharp multimodal basins (Shekel, m = 10), a rugged 5-d surface with one funnel
/// (Ackley), steep ridges (Michalewicz, m = 10) and a heavy-tailed 4-d valley (Colville).
pub const HELD_OUT_2: &str = "shekel,ackley5,michalewicz5,colville";

/// The benchmark's search space for a test function: its usual domain.
pub fn space_for(name: &str) -> Result<Space, String> {
    let bounds: Vec<(f64, f64)> = match name {
        "branin" => vec![(-5.0, 10.0), (0.0, 15.0)],
        "hartmann6" => vec![(0.0, 1.0); 6],
        "levy" => vec![(-10.0, 10.0); 10],
        "rosenbrock" => vec![(-5.0, 10.0); 4],
        "beale" => vec![(-4.5, 4.5); 2],
        "camel6" => vec![(-3.0, 3.0), (-2.0, 2.0)],
        "goldstein" => vec![(-2.0, 2.0); 2],
        "hartmann3" => vec![(0.0, 1.0); 3],
        "styblinski4" => vec![(-5.0, 5.0); 4],
        "shekel" => vec![(0.0, 10.0); 4],
        "ackley5" => vec![(-32.768, 32.768); 5],
        "michalewicz5" => vec![(0.0, std::f64::consts::PI); 5],
        "colville" => vec![(-10.0, 10.0); 4],
        other => return Err(format!("no benchmark space for {other}")),
    };
    let raw: Vec<(String, RawParam)> = bounds
        .iter()
        .enumerate()
        .map(|(i, (lo, hi))| {
            let yaml = format!("{{uniform: [{lo}, {hi}]}}");
            let p: RawParam = serde_yaml::from_str(&yaml).map_err(|e| e.to_string())?;
            Ok((format!("x{}", i + 1), p))
        })
        .collect::<Result<_, String>>()?;
    Space::from_raw(&raw, "bench").map_err(|e| e.msg)
}

fn kind_of(name: &str) -> Result<StrategyKind, String> {
    serde_json::from_value(json!(name)).map_err(|_| format!("unknown strategy {name}"))
}

/// What one sequential run found.
pub struct Run {
    pub best: f64,
    /// Seconds spent proposing, in all.
    pub seconds: f64,
    /// How many proposals put some coordinate exactly on a bound of its range (a symptom of
    /// an acquisition optimiser that overshoots and stays on the box's edge).
    pub at_bound: usize,
}

/// One run, with proposal i made from the results of the first i+1−`batch` (the rest pending),
/// as `hpflow run`'s plain scheduler does; `batch: 1` is sequential.
pub fn run_once(
    kind: StrategyKind,
    function: &str,
    seed: u64,
    evals: usize,
    batch: usize,
) -> Result<Run, String> {
    let space = space_for(function)?;
    let s = sampler(&Strategy::of_kind(kind, 1, space.params.len()), seed);
    let mut observed: Vec<Observation> = Vec::with_capacity(evals);
    let mut issued: Vec<crate::search::space::Config> = Vec::with_capacity(evals);
    let mut seconds = 0.0;
    let mut best = f64::INFINITY;
    let mut at_bound = 0;
    for i in 0..evals {
        let seen = (i + 1).saturating_sub(batch.max(1));
        let t = Instant::now();
        let Some(p) = s.propose(&space, &observed[..seen], &issued[seen..], i) else {
            break;
        };
        seconds += t.elapsed().as_secs_f64();
        let x = function::coordinates(&p.config);
        let bounds = space.params.iter().map(|q| match q.dist {
            Dist::Uniform { low, high } => (low, high),
            _ => (f64::NAN, f64::NAN),
        });
        if x.iter()
            .zip(bounds)
            .any(|(v, (lo, hi))| *v == lo || *v == hi)
        {
            at_bound += 1;
        }
        let value = function::evaluate(function, &x)?;
        best = best.min(value);
        issued.push(p.config.clone());
        observed.push(Observation {
            trial: i,
            config: p.config,
            epochs: 1,
            value: Some(value),
        });
    }
    Ok(Run {
        best,
        seconds,
        at_bound,
    })
}

/// Propose trial `i` of Hartmann6, evaluate it and observe it; the proposal's time in ms.
fn timed_step(
    s: &dyn Sampler,
    space: &Space,
    observed: &mut Vec<Observation>,
    i: usize,
) -> Result<f64, String> {
    let t = Instant::now();
    let p = s
        .propose(space, observed, &[], i)
        .ok_or("bayes proposed nothing")?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let value = function::evaluate("hartmann6", &function::coordinates(&p.config))?;
    observed.push(Observation {
        trial: i,
        config: p.config,
        epochs: 1,
        value: Some(value),
    });
    Ok(ms)
}

/// Proposal times of `bayes` with `n` observations already made, for each `n`: random points
/// of Hartmann6 (6-d), then one proposal by a fresh sampler (what a resumed search pays) and
/// `STEPS` more by the same sampler as each proposal is evaluated and observed (a long-lived
/// search: mean and slowest). One JSON line per `n`.
fn gp_speed(ns: &[usize], seed: u64, out: &mut dyn FnMut(String)) -> Result<(), String> {
    const STEPS: usize = 10;
    let space = space_for("hartmann6")?;
    let enc = crate::search::strategy::encode::Encoder::new(&space);
    for &n in ns {
        let mut rng = crate::search::rng_for(seed, "bench-gp-speed", n as u64);
        let mut observed: Vec<Observation> = Vec::with_capacity(n + STEPS);
        for i in 0..n {
            let config = enc.decode(&enc.random_point(&mut rng));
            let value = function::evaluate("hartmann6", &function::coordinates(&config))?;
            observed.push(Observation {
                trial: i,
                config,
                epochs: 1,
                value: Some(value),
            });
        }
        let s = sampler(
            &Strategy::of_kind(StrategyKind::Bayes, 1, space.params.len()),
            seed,
        );
        let mut times = Vec::new();
        for i in n..=n + STEPS {
            times.push(timed_step(s.as_ref(), &space, &mut observed, i)?);
        }
        let warm = &times[1..];
        out(
            json!({"impl": "hpflow", "strategy": "bayes", "function": "hartmann6",
                   "observations": n, "cold_ms": times[0],
                   "warm_mean_ms": warm.iter().sum::<f64>() / warm.len() as f64,
                   "warm_max_ms": warm.iter().copied().fold(0.0, f64::max)})
            .to_string(),
        );
    }
    Ok(())
}

/// Every proposal of one sequential `bayes` run of `n` trials on Hartmann6, timed: the mean,
/// the 99th percentile and the slowest in ms, refits included (a running search pays them
/// when the observation count reaches the refit schedule's sizes, `gpcache.rs`).
fn gp_run(n: usize, seed: u64, out: &mut dyn FnMut(String)) -> Result<(), String> {
    if n == 0 {
        return Err("--gp-run needs at least one trial".into());
    }
    let space = space_for("hartmann6")?;
    let s = sampler(
        &Strategy::of_kind(StrategyKind::Bayes, 1, space.params.len()),
        seed,
    );
    let mut observed: Vec<Observation> = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        times.push(timed_step(s.as_ref(), &space, &mut observed, i)?);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[((sorted.len() as f64 * 0.99).ceil() as usize).clamp(1, sorted.len()) - 1];
    out(
        json!({"impl": "hpflow", "strategy": "bayes", "function": "hartmann6", "trials": n,
               "mean_ms": times.iter().sum::<f64>() / n.max(1) as f64, "p99_ms": p99,
               "max_ms": sorted.last().copied().unwrap_or(0.0)})
        .to_string(),
    );
    Ok(())
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
    let mut functions = list(TUNED);
    let (mut evals, mut seeds, mut first, mut tpe_speed) = (100usize, 20u64, 0u64, None);
    let mut batch = 1usize;
    let mut gp_sizes: Option<Vec<usize>> = None;
    let mut gp_runs: Option<Vec<usize>> = None;
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
            "--batch" => batch = num(value()?)? as usize,
            "--tpe-speed" => tpe_speed = Some(num(value()?)? as usize),
            "--gp-speed" => {
                gp_sizes = Some(
                    list(&value()?)
                        .into_iter()
                        .map(|v| num(v).map(|n| n as usize))
                        .collect::<Result<_, _>>()?,
                )
            }
            "--gp-run" => {
                gp_runs = Some(
                    list(&value()?)
                        .into_iter()
                        .map(|v| num(v).map(|n| n as usize))
                        .collect::<Result<_, _>>()?,
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(n) = tpe_speed {
        let r = run_once(StrategyKind::Tpe, "hartmann6", first, n, 1)?;
        out(
            json!({"impl": "hpflow", "strategy": "tpe", "function": "hartmann6", "trials": n,
                   "best": r.best, "propose_seconds": r.seconds})
            .to_string(),
        );
        return Ok(());
    }
    if let Some(ns) = gp_runs {
        for n in ns {
            gp_run(n, first, out)?;
        }
        return Ok(());
    }
    if let Some(ns) = gp_sizes {
        return gp_speed(&ns, first, out);
    }
    for f in &functions {
        let opt = function::optimum(f).ok_or_else(|| format!("no known optimum for {f}"))?;
        for s in &strategies {
            let kind = kind_of(s)?;
            for seed in first..first + seeds {
                let r = run_once(kind, f, seed, evals, batch)?;
                out(json!({"impl": "hpflow", "strategy": s, "function": f, "seed": seed, "evals": evals, "batch": batch,
                           "best": r.best, "regret": r.best - opt, "propose_seconds": r.seconds,
                           "at_bound": r.at_bound})
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
        for f in [TUNED, DEV, HELD_OUT, HELD_OUT_2]
            .iter()
            .flat_map(|s| s.split(','))
        {
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
