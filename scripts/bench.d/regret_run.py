"""Regret as users get it: a `model: function` search run with `hpflow run` on a workflow with
the default settings (only the strategy kind, the trial budget and the workers named), one
fresh runs folder per run. Prints one JSON line per function and strategy with every seed's
regret and the median.

Usage: regret_run.py HPFLOW FUNCTIONS STRATEGIES SEEDS EVALS WORKERS [STRATEGY_YAML_EXTRA]
  FUNCTIONS, STRATEGIES: comma-separated; SEEDS: a count (seeds 0..SEEDS-1).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

# The benchmark's domains and optima (src/search/strategy/bench.rs, src/train/function.rs).
DOMAINS = {
    "branin": [(-5.0, 10.0), (0.0, 15.0)],
    "hartmann6": [(0.0, 1.0)] * 6,
    "levy": [(-10.0, 10.0)] * 10,
    "rosenbrock": [(-5.0, 10.0)] * 4,
    "beale": [(-4.5, 4.5)] * 2,
    "camel6": [(-3.0, 3.0), (-2.0, 2.0)],
    "goldstein": [(-2.0, 2.0)] * 2,
    "hartmann3": [(0.0, 1.0)] * 3,
    "styblinski4": [(-5.0, 5.0)] * 4,
}
OPTIMA = {
    "branin": 0.397887357729738, "hartmann6": -3.32236801141551, "rosenbrock": 0.0, "levy": 0.0,
    "beale": 0.0, "camel6": -1.031628453489877, "goldstein": 3.0, "hartmann3": -3.86278214782076,
    "styblinski4": -156.6646628150857,
}


def workflow(fn, strategy, seed, evals, workers, extra):
    space = "\n".join(f"      x{i + 1}: {{uniform: [{lo}, {hi}]}}" for i, (lo, hi) in enumerate(DOMAINS[fn]))
    return f"""name: regret-{fn}-{strategy}-{seed}
seed: {seed}
stages:
  search:
    kind: search
    model: function
    function: {fn}
    space:
{space}
    strategy: {{kind: {strategy}{extra}}}
    metric: {{name: objective, goal: minimize}}
    budget: {{trials: {evals}}}
    workers: {workers}
"""


def regret(hp, fn, strategy, seed, evals, workers, extra=""):
    with tempfile.TemporaryDirectory(prefix="hpflow-regret-") as d:
        wf = os.path.join(d, "w.yaml")
        with open(wf, "w") as f:
            f.write(workflow(fn, strategy, seed, evals, workers, extra))
        runs = os.path.join(d, "runs")
        out = subprocess.run([hp, "--runs-dir", runs, "run", "--json", wf], check=True, capture_output=True, text=True)
        search = next(j for j in json.loads(out.stdout)["jobs"] if j["stage"] == "search")
        return search["outputs"]["value"] - OPTIMA[fn]


def main():
    hp, fns, strategies, seeds, evals, workers = sys.argv[1:7]
    extra = sys.argv[7] if len(sys.argv) > 7 else ""
    for fn in fns.split(","):
        for st in strategies.split(","):
            rs = [regret(hp, fn, st, s, int(evals), int(workers), extra) for s in range(int(seeds))]
            print(json.dumps({"function": fn, "strategy": st, "workers": int(workers), "evals": int(evals),
                              "seeds": int(seeds), "median": statistics.median(rs), "regrets": rs}), flush=True)


if __name__ == "__main__":
    main()
