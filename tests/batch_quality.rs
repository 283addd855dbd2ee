//! Regret as users get it: `bayes` through `hpflow run`, with the default batch of decisions
//! made from the same results. A batch must keep the quality of one proposal per result
//! (with a constant liar at the observed mean, Hartmann3's median regret over these seeds
//! was 9.2e-3 with `batch: 4` against 1.2e-6 with `batch: 1`).

mod common;
use common::Sandbox;

const HARTMANN3_MIN: f64 = -3.862_782_147_820_76;

fn hartmann3(seed: u64, strategy: &str, workers: usize) -> String {
    format!(
        "name: h3-{seed}
seed: {seed}
stages:
  search:
    kind: search
    model: function
    function: hartmann3
    space:
      x1: {{uniform: [0.0, 1.0]}}
      x2: {{uniform: [0.0, 1.0]}}
      x3: {{uniform: [0.0, 1.0]}}
    strategy: {strategy}
    metric: {{name: objective, goal: minimize}}
    budget: {{trials: 60}}
    workers: {workers}
"
    )
}

/// The selected trial's regret for each seed, run as a user runs it.
fn regrets(strategy: &str, workers: usize) -> Vec<f64> {
    (0..5)
        .map(|seed| {
            let sb = Sandbox::new();
            let wf = sb.write("w.yaml", &hartmann3(seed, strategy, workers));
            sb.ok(&["-q", "run", wf.to_str().unwrap()]);
            let out = sb.json(&["export", &format!("h3-{seed}"), "--format", "json"]);
            out["selected"]["value"].as_f64().expect("a selected value") - HARTMANN3_MIN
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn a_batch_of_four_keeps_the_regret_of_one_proposal_per_result() {
    let batch4 = regrets("{kind: bayes, batch: 4}", 1);
    assert!(
        median(batch4.clone()) <= 1e-4,
        "bayes with batch 4 on Hartmann3, 60 trials: regrets {batch4:?}"
    );
}

#[test]
fn the_default_bayes_search_with_four_workers_reaches_a_low_regret() {
    // Defaults as users run them; 4 workers make the same decisions as 1.
    let four = regrets("{kind: bayes}", 4);
    assert!(
        median(four.clone()) <= 1e-4,
        "default bayes, 4 workers, Hartmann3, 60 trials: regrets {four:?}"
    );
}
