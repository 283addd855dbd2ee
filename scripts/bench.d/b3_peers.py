"""B3's further regret peers: SMAC3, HEBO and Hyperopt's TPE on the benchmark's functions
(testfns.py: hpflow's formulas, domains and optima), each with its defaults, one sequential
run of EVALS evaluations; regret = best observed - known minimum. Each peer has its own venv
(b3-peer-venvs.sh); results are kept in a cache file, as regret does not depend on timing.

  b3_peers.py run PEER FUNCTION SEED EVALS     (in PEER's venv) one run: prints one JSON line
  b3_peers.py fill CACHE PEER[,PEER] FUNCTIONS EVALS [MAX_SEEDS]
                                               runs each peer's missing seeds (its count in PEERS,
                                               at most MAX_SEEDS) into CACHE, seed by
                                               seed over the functions (so an interrupted fill
                                               leaves every function with about as many seeds)
  b3_peers.py check HPFLOW                     testfns.py against `hpflow run`'s function trials
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from testfns import FUNCS  # noqa: E402

CACHE_DIR = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hpflow")
# peer: (venv, pinned version, seeds, table label). SMAC3 and HEBO take minutes a run (their
# models refit and their acquisition searches run on every ask), so they get fewer seeds.
# SMAC3 runs its BlackBoxFacade (a GP), the one its authors give for low-dimensional
# continuous functions; HEBO its HEBO optimiser; Hyperopt tpe.suggest; each with its defaults.
PEERS = {
    "hyperopt": ("b3-hyperopt-venv", "0.3.0", 20, "Hyperopt TPE"),
    "smac": ("b3-smac-venv", "2.4.1", 5, "SMAC3"),
    "hebo": ("b3-hebo-venv", "0.3.6", 5, "HEBO"),
}


def hyperopt_run(f, bounds, seed, evals):
    import numpy as np
    from hyperopt import Trials, fmin, hp, tpe

    space = [hp.uniform(f"x{i + 1}", lo, hi) for i, (lo, hi) in enumerate(bounds)]
    trials = Trials()
    fmin(lambda x: f(list(x)), space, algo=tpe.suggest, max_evals=evals, trials=trials,
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return trials.losses()


def smac_run(f, bounds, seed, evals):
    from ConfigSpace import ConfigurationSpace, Float
    from smac import BlackBoxFacade, Scenario

    names = [f"x{i + 1}" for i in range(len(bounds))]
    cs = ConfigurationSpace(seed=seed)
    cs.add([Float(n, (lo, hi)) for n, (lo, hi) in zip(names, bounds)])
    values = []

    def evaluate(config, seed: int = 0) -> float:
        v = f([config[n] for n in names])
        values.append(v)
        return v

    with tempfile.TemporaryDirectory(prefix="b3-smac-") as d:
        scenario = Scenario(cs, deterministic=True, n_trials=evals, seed=seed, output_directory=d)
        BlackBoxFacade(scenario, evaluate, overwrite=True, logging_level=40).optimize()
    return values


def hebo_run(f, bounds, seed, evals):
    import numpy as np
    import torch
    from hebo.design_space.design_space import DesignSpace
    from hebo.optimizers.hebo import HEBO

    # HEBO draws from numpy's and torch's global generators.
    np.random.seed(seed)
    torch.manual_seed(seed)
    names = [f"x{i + 1}" for i in range(len(bounds))]
    space = DesignSpace().parse([{"name": n, "type": "num", "lb": lo, "ub": hi} for n, (lo, hi) in zip(names, bounds)])
    opt = HEBO(space, scramble_seed=seed)
    values = []
    for _ in range(evals):
        rec = opt.suggest(n_suggestions=1)
        v = f([float(rec.iloc[0][n]) for n in names])
        values.append(v)
        opt.observe(rec, np.array([[v]]))
    return values


def run(peer, fname, seed, evals):
    f, bounds, optimum = FUNCS[fname]
    t0 = time.perf_counter()
    values = globals()[f"{peer}_run"](f, bounds, seed, evals)
    best = min(values)
    print(json.dumps({"peer": peer, "version": PEERS[peer][1], "function": fname, "seed": seed, "evals": evals,
                      "evaluations": len(values), "best": best, "regret": best - optimum,
                      "seconds": time.perf_counter() - t0}))


def load(cache):
    """The cached runs, keyed (peer, version, function, seed, evals)."""
    out = {}
    if os.path.exists(cache):
        for line in open(cache):
            if line.strip():
                r = json.loads(line)
                out[(r["peer"], r["version"], r["function"], r["seed"], r["evals"])] = r
    return out


def unavailable(peer):
    """Why PEER's venv is missing (the install's last error line), or None when it is there."""
    venv = os.path.join(CACHE_DIR, PEERS[peer][0])
    failed = venv + ".failed"
    if os.path.exists(failed):
        lines = [l.strip() for l in open(failed) if l.strip()]
        errs = [l for l in lines if "error" in l.lower()] or lines or ["install failed"]
        return f"not installed: {errs[-1][:300]}"
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        return "not installed (no venv)"
    return None


def fill(cache, peers, fnames, evals, max_seeds=None):
    have = load(cache)
    for peer in peers:
        if unavailable(peer):
            print(f"b3 peer {peer}: {unavailable(peer)}", file=sys.stderr)
            continue
    for seed in range(max(PEERS[p][2] for p in peers)):
        for peer in peers:
            venv, version, seeds, _ = PEERS[peer]
            if seed >= min(seeds, max_seeds or seeds) or unavailable(peer):
                continue
            for fname in fnames:
                if (peer, version, fname, seed, evals) in have:
                    continue
                py = os.path.join(CACHE_DIR, venv, "bin", "python")
                p = subprocess.run([py, os.path.abspath(__file__), "run", peer, fname, str(seed), str(evals)],
                                   capture_output=True, text=True)
                if p.returncode:
                    print(f"b3 peer {peer} {fname} seed {seed} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
                    continue
                line = p.stdout.strip().splitlines()[-1]
                with open(cache, "a") as fh:
                    fh.write(line + "\n")
                r = json.loads(line)
                print(f"  {peer} {fname} seed {seed}: regret {r['regret']:.4g} ({r['seconds']:.0f} s)", file=sys.stderr)


def check(hp):
    """Random points through `hpflow run` (model: function) against testfns.py at the same points."""
    worst = 0.0
    for fname, (f, bounds, _) in FUNCS.items():
        with tempfile.TemporaryDirectory(prefix="b3-check-") as d:
            space = "\n".join(f"      x{i + 1}: {{uniform: [{lo}, {hi}]}}" for i, (lo, hi) in enumerate(bounds))
            wf = os.path.join(d, "w.yaml")
            with open(wf, "w") as fh:
                fh.write(f"name: check-{fname}\nseed: 3\nstages:\n  search:\n    kind: search\n    model: function\n"
                         f"    function: {fname}\n    space:\n{space}\n    strategy: {{kind: random}}\n"
                         f"    metric: {{name: objective, goal: minimize}}\n    budget: {{trials: 5}}\n")
            runs = os.path.join(d, "runs")
            subprocess.run([hp, "--runs-dir", runs, "-q", "run", wf], check=True)
            out = subprocess.run([hp, "--runs-dir", runs, "export", f"check-{fname}"],
                                 check=True, capture_output=True, text=True).stdout
            for t in json.loads(out)["trials"]:
                x = [t["params"][f"x{i + 1}"] for i in range(len(bounds))]
                mine, theirs = f(x), t["metrics"]["objective"]
                worst = max(worst, abs(mine - theirs) / max(1.0, abs(theirs)))
                print(f"{fname} {x}: hpflow {theirs:.12g}, testfns {mine:.12g}")
    print(f"largest relative difference: {worst:.3g}")
    sys.exit(0 if worst < 1e-9 else 1)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "fill":
        fill(sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(","), int(sys.argv[5]),
             int(sys.argv[6]) if len(sys.argv) > 6 else None)
    elif cmd == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
