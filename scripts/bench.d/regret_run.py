"""Regret as users get it: a `model: function` search run with `hpflow run` on a workflow with
the default settings (only the strategy kind, the trial budget and the workers named), one
fresh runs folder per run. Prints one JSON line per function and strategy with every seed's
regret and the median.

Usage: regret_run.py HPFLOW FUNCTIONS STRATEGIES SEEDS EVALS WORKERS [STRATEGY_YAML_EXTRA]
  FUNCTIONS, STRATEGIES: comma-separated; SEEDS: a count (seeds 0..SEEDS-1).
  B3_JOBS=N runs N searches at once (default: the number of cores); each is its own process
  with its own runs folder, so the regrets do not depend on it.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testfns import DOMAINS, OPTIMA  # noqa: E402  (hpflow's domains and optima)


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
    # Runs are independent and untimed: B3_JOBS of them at once (default: one a core).
    pool = ThreadPoolExecutor(int(os.environ.get("B3_JOBS", os.cpu_count() or 1)))
    for fn in fns.split(","):
        for st in strategies.split(","):
            rs = list(pool.map(lambda s: regret(hp, fn, st, s, int(evals), int(workers), extra), range(int(seeds))))
            print(json.dumps({"function": fn, "strategy": st, "workers": int(workers), "evals": int(evals),
                              "seeds": int(seeds), "median": statistics.median(rs), "regrets": rs}), flush=True)


if __name__ == "__main__":
    main()
