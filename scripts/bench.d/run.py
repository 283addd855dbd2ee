"""`scripts/bench`: every benchmark row (or those named), hpflow and its peers side by side in
one run on this machine, written to BENCHMARKS.md (table, then the machine, versions and raw
numbers) and BENCHMARKS.json.

Rows (see the issue that asked for them, and README's Benchmarks section):
  B1  time per durable trial, random search on Branin, 1 worker: 1k, 10k, 100k trials
      (peers: Optuna and rustuna with SQLite and journal storage; 100k: hpflow only)
  B2  proposal time: TPE over 2,000 trials; GP over whole runs of 300 and 1,000 trials, refits
      included, mean and 99th percentile (Optuna's TPE and GPSampler asked at the same boundary:
      the sampling of one trial)
  B3  median regret, 20 seeds, tuned functions (100 evaluations) and held-out ones (60), through
      `hpflow run` with default settings (1 and 4 workers), against Optuna's GPSampler and
      TPESampler, SMAC3, HEBO and Hyperopt's TPE (b3_peers.py; their regret runs are cached, see
      below); the sampler harness's table beside it. B3_SEEDS=N: hpflow's seeds (default 20);
      B3_PEERS_FILL=0: the peers from their caches only (filling them takes hours the first time)
  B4  SHA (eta 3, 81 configurations, 1..27 epochs), continuing promoted trials vs restarting
  B5  end to end on Fashion-MNIST: MLP, 30 TPE trials of 5 epochs, retrain, test, against
      Optuna + PyTorch with the same model, epochs and trials, at equal parallelism (1 and 2)
  b5gpu  (row B5-GPU) the same on CUDA with 1 and 4 trials at once; run by `scripts/gpu-check
      run` on a lent GPU machine, whose rows are then merged in by hand
  B6  SIGKILL mid-search, run again: seconds to the next trained epoch
  B7  2 workers against 1 on 2 cores: SHA (as B4) and Hyperband
  T   trainer: seconds per Fashion-MNIST epoch, hpflow vs PyTorch (same venv, same threads)
  S   `hpflow serve`: seconds to answer a workflow's page on a 100,000-trial random search

Usage: run.py [--quick] [--reps N] [ROW ...]      (ROW: b1 b2 b3 b4 b5 b6 b7 t s, or b3peers:
B3's tables remade from the last b3 run's hpflow medians and the peers' caches as they are now,
or md: the file rewritten from BENCHMARKS.json and the hand-written hand-placed.md, no run)
Repetitions of a row alternate hpflow and its peers (interleaved), and each cell reports the
median with the spread (min-max) of its repetitions.
"""
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hpflow")
# The GPU check (scripts/gpu-check run) points these at the binaries, Python and data it carried.
HP = os.environ.get("HPFLOW_BENCH_HP", os.path.join(ROOT, "target", "release", "hpflow"))
PEER_PY = os.environ.get("HPFLOW_BENCH_PEER_PY", os.path.join(CACHE, "bench-venv", "bin", "python"))
FMNIST = os.environ.get("HPFLOW_BENCH_FMNIST", "/usr/share/datasets/fashion-mnist")
HERE = os.path.dirname(os.path.abspath(__file__))

args = sys.argv[1:]
QUICK = "--quick" in args
REPS = 3
if "--reps" in args:
    REPS = int(args[args.index("--reps") + 1])
    del args[args.index("--reps") : args.index("--reps") + 2]
WANTED = [a.lower() for a in args if not a.startswith("--")] or ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "t", "s"]
WORK = tempfile.mkdtemp(prefix="hpflow-bench-")
ROWS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def med(xs):
    return statistics.median(xs) if xs else None


def cell(xs, fmt):
    if not xs:
        return "not run"
    m = fmt.format(med(xs))
    if len(xs) > 1:
        return f"{m} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"
    return m


def row(name, measure, unit, hp, peers, target=None, met=None, note=""):
    """One table row: hpflow's repetitions, each peer's, the ratio to the best peer."""
    best = None
    for p, xs in peers.items():
        if xs and (best is None or med(xs) < med(peers[best])):
            best = p
    ROWS.append({
        "row": name, "measure": measure, "unit": unit, "hpflow": hp, "peers": peers,
        "best_peer": best, "ratio": (med(hp) / med(peers[best])) if best and hp else None,
        "target": target, "met": met, "note": note,
    })
    log(f"{name}: hpflow {hp} peers {peers}")


def hp_run(runs, wf, extra=()):
    """`hpflow run --json`: the stages' records. Each run is a project of its own, evaluating
    the same test rows as the last: the user's record of evaluated rows is off
    (`HPFLOW_NO_USER_LOOKS`), else every run after the first is refused as a second look."""
    env = {**os.environ, "HPFLOW_NO_USER_LOOKS": "1"}
    out = sh([HP, "--runs-dir", runs, "run", "--json", *extra, wf], env=env)
    return json.loads(out)


def stage(out, name):
    return next(j for j in out["jobs"] if j["stage"] == name)


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


# ---------------------------------------------------------------- B1
def branin_wf(n, path):
    return write(path, f"""name: b1-{n}
seed: 1
stages:
  search:
    kind: search
    model: function
    function: branin
    space:
      x1: {{uniform: [-5.0, 10.0]}}
      x2: {{uniform: [0.0, 15.0]}}
    strategy: {{kind: random}}
    params: {{epochs: 1}}
    metric: {{name: objective, goal: minimize}}
    budget: {{trials: {n}}}
""")


def b1():
    sizes = [300, 1000] if QUICK else [1000, 10000, 100000]
    peers = [("optuna", "sqlite"), ("optuna", "journal"), ("rustuna", "sqlite"), ("rustuna", "journal")]
    for n in sizes:
        reps = REPS if n <= 1000 else 1
        hp, pr = [], {f"{l}+{s}": [] for l, s in peers}
        for r in range(reps):
            d = os.path.join(WORK, f"b1-{n}-{r}")
            os.makedirs(d)
            out = hp_run(os.path.join(d, "runs"), branin_wf(n, os.path.join(d, "w.yaml")), ["-q"])
            hp.append(1000 * stage(out, "search")["seconds"] / n)
            for lib, st in peers:
                # Optuna with SQLite grows past 10 ms a trial: at 10k it would take an hour.
                if n > 10000 or (n > 1000 and (lib, st) == ("optuna", "sqlite")):
                    continue
                pd = os.path.join(d, f"{lib}-{st}")
                res = json.loads(sh([PEER_PY, os.path.join(HERE, "b1_peer.py"), lib, st, str(n), pd]).strip().splitlines()[-1])
                pr[f"{lib}+{st}"].append(1000 * res["seconds"] / n)
        row(f"B1 {n // 1000}k" if n >= 1000 else f"B1 {n}", f"time per durable trial, random Branin, {n} trials, 1 worker",
            "ms", hp, pr, "≤ 0.75 ms, flat", None)
    small = next(r for r in ROWS if r["row"].startswith("B1") and r["hpflow"])
    for r in ROWS:
        if r["row"].startswith("B1"):
            r["met"] = med(r["hpflow"]) <= 0.75 and med(r["hpflow"]) <= 1.2 * med(small["hpflow"])
            r["note"] = f"{med(r['hpflow']) / med(small['hpflow']):.2f}× the smallest size's per-trial cost"


# ---------------------------------------------------------------- B2
def b2():
    """TPE over a sequential run; GP proposals over whole sequential runs of 300 and 1,000
    trials, every proposal timed, refits included (mean and 99th percentile), against
    GPSampler's whole run of 300 (it refits on every ask) and, at 1,000, five asks after 1,000
    observations (its whole run would take about an hour here)."""
    n_tpe = 300 if QUICK else 2000
    gp = [100, 300] if QUICK else [300, 1000]
    hp_tpe, op_tpe = [], []
    hp_gp = {n: {"mean": [], "p99": []} for n in gp}
    op_gp = {n: [] for n in gp}
    for r in range(REPS if not QUICK else 1):
        line = json.loads(sh([HP, "bench-strategy", "--tpe-speed", str(n_tpe), "--first-seed", str(r)]).strip())
        hp_tpe.append(1000 * line["propose_seconds"] / n_tpe)
        res = json.loads(sh([PEER_PY, os.path.join(HERE, "b2_peer.py"), "tpe", str(n_tpe), str(r)]).strip().splitlines()[-1])
        op_tpe.append(res["ms_per_ask"])
    for r in range(1 if QUICK else min(REPS, 2)):
        for line in sh([HP, "bench-strategy", "--gp-run", ",".join(map(str, gp)), "--first-seed", str(r)]).strip().splitlines():
            v = json.loads(line)
            hp_gp[v["trials"]]["mean"].append(v["mean_ms"])
            hp_gp[v["trials"]]["p99"].append(v["p99_ms"])
        for n in gp:
            if n <= 300:
                res = json.loads(sh([PEER_PY, os.path.join(HERE, "b2_peer.py"), "gprun", str(n), str(r)]).strip().splitlines()[-1])
                op_gp[n].append(res["mean_ms"])
            else:
                res = json.loads(sh([PEER_PY, os.path.join(HERE, "b2_peer.py"), "gp", str(n), str(r)]).strip().splitlines()[-1])
                op_gp[n].append(res["ms_per_ask"])
    row(f"B2 TPE {n_tpe}", f"mean TPE proposal over {n_tpe} sequential trials (Hartmann6)", "ms",
        hp_tpe, {"optuna TPESampler": op_tpe}, None, None)
    for n in gp:
        peer = "optuna GPSampler, whole run" if n <= 300 else "optuna GPSampler, 5 asks after 1,000"
        p99 = med(hp_gp[n]["p99"])
        met = (med(hp_gp[n]["mean"]) <= 20 if n == 300 else True) and p99 <= 100
        row(f"B2 GP {n}", f"mean GP proposal over a whole sequential run of {n} trials (Hartmann6), refits included", "ms",
            hp_gp[n]["mean"], {peer: op_gp[n]}, "mean ≤ 20 ms at 300, p99 ≤ 100 ms", met,
            f"99th percentile {p99:.1f} ms")


# ---------------------------------------------------------------- B3
def b3_peer_results(fns, evals, seeds, before, fill=True):
    """The regret peers' medians per function: Optuna's GPSampler and TPESampler (the cache that
    bench-strategies fills) and SMAC3, HEBO and Hyperopt (b3_peers.py's cache, filled here for
    missing seeds). Regret does not depend on timing, so cached runs are used, marked so: a
    column says "cached" for runs read from a cache made before this run, "fresh" for runs made
    in it. `before` holds the cache keys that existed when the row started."""
    sys.path.insert(0, HERE)
    import b3_peers

    peer_cache = os.path.join(CACHE, "bench-b3-peers.jsonl")
    peers = list(b3_peers.PEERS)
    # B3_PEERS_FILL=0: report only what the cache has (filling it takes hours the first time).
    if fill and os.environ.get("B3_PEERS_FILL", "1") != "0":
        subprocess.run(["nice", "-n", "19", "python3", os.path.join(HERE, "b3_peers.py"), "fill", peer_cache, ",".join(peers),
                        fns, str(evals), str(seeds)], check=True, env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    cols = {}  # label -> ({function: [regrets]}, runs read from a cache, runs, why not installed, seeds wanted)
    path = os.path.join(CACHE, "bench-optuna.jsonl")
    optuna_rows = [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []
    for strategy, label in [("optuna-gp", "Optuna GP"), ("optuna-tpe", "Optuna TPE")]:
        rs = [r for r in optuna_rows if r["strategy"] == strategy and r.get("evals") == evals and r.get("seed") is not None
              and r["seed"] < seeds and r["function"] in fns.split(",")]
        cols[label] = ({fn: [r["regret"] for r in rs if r["function"] == fn] for fn in fns.split(",")},
                       sum(("optuna", strategy, r["function"], r["seed"], evals) in before for r in rs), len(rs), None, seeds)
    cached = b3_peers.load(peer_cache)
    for peer, (_, version, n, label) in b3_peers.PEERS.items():
        keys = [k for k in cached if k[0] == peer and k[1] == version and k[2] in fns.split(",") and k[4] == evals
                and k[3] < min(n, seeds)]
        cols[label] = ({fn: [cached[k]["regret"] for k in keys if k[2] == fn] for fn in fns.split(",")},
                       sum(("peer",) + k in before for k in keys), len(keys), b3_peers.unavailable(peer), min(n, seeds))
    return cols


def b3_cache_keys():
    """Every cached regret run's key now (to tell cached runs from those made in this run)."""
    sys.path.insert(0, HERE)
    import b3_peers

    keys = {("peer",) + k for k in b3_peers.load(os.path.join(CACHE, "bench-b3-peers.jsonl"))}
    path = os.path.join(CACHE, "bench-optuna.jsonl")
    if os.path.exists(path):
        for l in open(path):
            if l.strip():
                r = json.loads(l)
                keys.add(("optuna", r["strategy"], r["function"], r.get("seed"), r.get("evals")))
    return keys


def bench_json():
    """The raw numbers beside the tables: BENCHMARKS.json, or BENCH_OUT's .json."""
    return os.path.splitext(os.environ.get("BENCH_OUT", os.path.join(ROOT, "BENCHMARKS.md")))[0] + ".json"


def b3_kept_peers(label, peers):
    """The peers with no runs in this machine's caches, filled from the last B3 row's table in
    BENCHMARKS.json (its medians, as many times as it had seeds): a fresh machine has no caches,
    and filling them takes hours. Each such column is marked cached; the returned note names the
    run whose medians were kept (or None when nothing was kept)."""
    raw = bench_json()
    old = [r for r in (json.load(open(raw)) if os.path.exists(raw) else []) if r["row"] == f"B3 {label}"]
    lines = []  # the first table only (the harness's follows)
    for l in old[0]["table"].splitlines() if old else []:
        if l.startswith("|"):
            lines.append(l)
        elif lines:
            break
    if len(lines) < 2:
        return None
    split = lambda l: [c.strip() for c in l.strip().strip("|").split("|")]
    head, body = split(lines[0]), [split(l) for l in lines[2:]]
    kept = False
    for name, (_, _, n_runs, why, target) in list(peers.items()):
        col = next((i for i, h in enumerate(head) if h.startswith(name + " (") and "seed" in h), None)
        if n_runs or col is None:
            continue
        n = int(re.match(r"[^(]*\((\d+)", head[col]).group(1))
        by_fn = {}
        for cells in body:
            m = re.match(r"([0-9.e+-]+)(?: \((\d+) seeds?\))?$", cells[col])
            if m:
                by_fn[cells[0]] = [float(m.group(1))] * int(m.group(2) or n)
        runs = sum(len(v) for v in by_fn.values())
        peers[name] = (by_fn, runs, runs, None, target)
        kept = True
    # Where the kept medians came from: the caches' date, followed through earlier kept rows.
    m = re.search(r"caches on ([^(]*?UTC)|peers' caches of ([^)]*?UTC)", old[0]["table"])
    return (m.group(1) or m.group(2) if m else old[0].get("run")) if kept else None


def b3_table(fns, evals, seeds, res, peers, harness):
    """B3's text for one set of functions: hpflow's medians (`res`, keyed function, strategy,
    workers) beside the peers' (b3_peer_results), where hpflow stands against the best peer,
    then the sampler harness's table."""
    fn_list = fns.split(",")
    head = ["function", "hpflow bayes, 1 worker", "hpflow bayes, 4 workers", "hpflow tpe, 1 worker", "hpflow tpe, 4 workers"]
    notes = []
    for name, (by_fn, n_cached, n_runs, why, target) in peers.items():
        counts = sorted({len(v) for v in by_fn.values()})
        if why and not n_runs:
            head.append(f"{name} (not installed)")
            notes.append(f"- {name}: {why}")
            continue
        if not n_runs:
            head.append(f"{name} (no runs)")
            continue
        seed_txt = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        seed_txt += f" of {target} seeds" if counts[-1] < target else " seed" if counts == [1] else " seeds"
        prov = "cached" if n_cached == n_runs else "fresh" if n_cached == 0 else f"{n_cached} of {n_runs} runs cached"
        head.append(f"{name} ({seed_txt}, {prov})")
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    standing = []
    for fn in fn_list:
        cells = [fn] + [f"{res[(fn, st, w)]:.3g}" for st in ("bayes", "tpe") for w in (1, 4)]
        best, missing = None, []
        for name, (by_fn, _, _, why, _) in peers.items():
            xs = by_fn.get(fn) or []
            if not xs:
                cells.append("not installed" if why else "not run")
                missing.append(name)
                continue
            m = statistics.median(xs)
            n = len(xs)
            cells.append(f"{m:.3g}" + ("" if n == max(len(v) for v in by_fn.values()) else f" ({n} seed{'s' if n > 1 else ''})"))
            if best is None or m < best[1]:
                best = (name, m, len(xs))
        lines.append("| " + " | ".join(cells) + " |")
        if best:
            def versus(v):
                r = v / best[1] if best[1] > 0 else float("inf")
                return f"{v:.3g}, {'level with' if 0.5 <= r <= 2 else 'ahead of' if r < 1 else 'behind'} it ({r:.3g}×)"
            standing.append(f"- **{fn}**: the best peer is {best[0]} ({best[1]:.3g}, {best[2]} seed{'s' if best[2] > 1 else ''}). hpflow `bayes`: "
                            f"1 worker {versus(res[(fn, 'bayes', 1)])}; 4 workers {versus(res[(fn, 'bayes', 4)])}. "
                            f"hpflow `tpe`, 1 worker: {versus(res[(fn, 'tpe', 1)])}."
                            + (f" Not among the peers here (no runs): {', '.join(missing)}." if missing else ""))
    return (f"Median regret (best observed − known minimum) after {evals} evaluations. hpflow: {seeds} seed{'s' if seeds != 1 else ''}, "
            "through `hpflow run` with the default settings (`strategy: {kind: bayes}` or `{kind: tpe}`, default batch). "
            "Peers: Optuna 5.0 GPSampler and TPESampler(multivariate=True), Hyperopt 0.3.0 `tpe.suggest`, SMAC3 2.4.1 "
            "BlackBoxFacade (a GP: its authors' choice for low-dimensional continuous functions), HEBO 0.3.6; "
            "each sequential (one proposal per result) with its defaults, on the same functions and bounds "
            "(`scripts/bench.d/testfns.py`, checked against `hpflow run` by `b3_peers.py check`); the header gives each "
            "one's seeds (SMAC3 and HEBO take minutes a run, so they have fewer) and whether its runs were read from "
            "a cache (regret only: nothing timed is cached).\n\n" + "\n".join(lines)
            + ("\n\n" + "\n".join(notes) if notes else "")
            + "\n\nWhere hpflow stands against the best peer (the lowest median of Optuna GP/TPE, SMAC3, HEBO, Hyperopt; "
            "level: within 2×; medians over different seed counts):\n\n" + "\n".join(standing)
            + "\n\n### Sampler harness (for developing samplers: one proposal per result, no scheduler; "
            "Optuna's rows may come from its cache, whose proposing times are then not shown)\n\n" + harness.strip())


def b3():
    """Regret as users get it: `hpflow run` on workflows with the default settings, 1 and 4
    workers, against the regret peers (Optuna's GPSampler and TPESampler, SMAC3, HEBO,
    Hyperopt's TPE), each sequential with its defaults; then, per function, where hpflow stands
    against the best peer. The peers' runs may come from caches (regret does not depend on
    timing), marked so. The sampler harness (one proposal per result, no scheduler) is a tool
    for developing samplers; its table follows, labelled as such."""
    seeds = int(os.environ.get("B3_SEEDS", 3 if QUICK else 20))
    cache = os.path.join(CACHE, "bench-optuna.jsonl")
    before = b3_cache_keys()
    for fns, evals, label in [("branin,hartmann6,levy", 100, "tuned on"), ("camel6,goldstein,hartmann3,styblinski4", 60, "held out")]:
        res = {}
        for workers in (1, 4):
            out = sh(["python3", os.path.join(HERE, "regret_run.py"), HP, fns, "bayes,tpe", str(seeds), str(evals), str(workers)])
            for l in out.strip().splitlines():
                d = json.loads(l)
                res[(d["function"], d["strategy"], workers)] = d["median"]
        # The harness runs Optuna's missing seeds into its cache, which the peers' table reads.
        harness = sh([os.path.join(ROOT, "scripts", "bench-strategies"), "--seeds", str(seeds), "--evals", str(evals),
                      "--functions", fns, "--no-speed", "--optuna-cache", cache]
                     + (["--hpflow-only"] if os.environ.get("B3_PEERS_FILL", "1") == "0" else []),
                     env={**os.environ, "HPFLOW_BIN": HP})
        peers = b3_peer_results(fns, evals, seeds, before)
        kept = b3_kept_peers(label, peers)
        table = b3_table(fns, evals, seeds, res, peers, harness)
        if kept:
            table = (f"Peers without runs in this machine's caches: their medians as BENCHMARKS.json last had them "
                     f"(the peers' caches of {kept}; marked cached).\n\n" + table)
        ROWS.append({"row": f"B3 {label}", "table": table, "measure": f"median regret, {evals} evaluations ({label})",
                     "functions": fns, "evals": evals, "seeds": seeds, "harness": harness,
                     "hpflow_medians": [[fn, st, w, m] for (fn, st, w), m in res.items()]})
        log(table)


def b3peers():
    """B3's tables remade from the hpflow medians kept in BENCHMARKS.json by the last `b3` run
    and the peers' caches as they are now (which b3_peers.py fill may have grown since): no
    run of hpflow. The rows keep the time of the run that measured hpflow."""
    raw = bench_json()
    old = [r for r in json.load(open(raw)) if r["row"].startswith("B3") and "hpflow_medians" in r]
    before = b3_cache_keys()
    for r in old:
        res = {(fn, st, w): m for fn, st, w, m in r["hpflow_medians"]}
        peers = b3_peer_results(r["functions"], r["evals"], r["seeds"], before, fill=False)
        now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        ROWS.append({**r, "table": f"hpflow's columns: the `b3` run of {r['run']}; the peers' columns: their caches on {now} "
                     "(`scripts/bench b3peers`).\n\n" + b3_table(r["functions"], r["evals"], r["seeds"], res, peers, r["harness"])})


# ---------------------------------------------------------------- B4 / B7
def mlp_sha_wf(path, kind, workers, promotion, rows=3000):
    strategy = (f"{{kind: sha, eta: 3, min_epochs: 1, max_epochs: 27}}\n    budget: {{trials: 81}}" if kind == "sha"
                else "{kind: hyperband, eta: 3, min_epochs: 1, max_epochs: 27}")
    if QUICK:
        strategy = strategy.replace("max_epochs: 27", "max_epochs: 9").replace("trials: 81", "trials: 27")
    return write(path, f"""name: b4-{kind}-{workers}-{promotion}
seed: 5
data: {{source: idx, path: {FMNIST}}}
stages:
  split: {{kind: split, train: {rows}, val: 1000, test: official}}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{hidden_layers: 1, batch_size: 128, optimizer: adam}}
    space:
      lr: {{loguniform: [1.0e-4, 1.0e-1]}}
      units: {{int: [32, 256], log: true}}
      dropout: {{uniform: [0.0, 0.5]}}
    strategy: {strategy}
    metric: {{name: val_accuracy, goal: maximize}}
    workers: {workers}
    promotion: {promotion}
""")


def search_run(kind, workers, promotion, tag):
    d = os.path.join(WORK, f"{tag}-{kind}-{workers}-{promotion}-{time.monotonic_ns()}")
    os.makedirs(d)
    out = hp_run(os.path.join(d, "runs"), mlp_sha_wf(os.path.join(d, "w.yaml"), kind, workers, promotion))
    s = stage(out, "search")
    return s["seconds"], s["outputs"]["epochs_trained"], s["outputs"]


def b4():
    reps = 1 if QUICK else min(REPS, 2)
    cont, rest, epochs = [], [], {}
    for _ in range(reps):
        for promotion, acc in [("continue", cont), ("restart", rest)]:
            secs, ep, _ = search_run("sha", 1, promotion, "b4")
            acc.append(secs)
            epochs[promotion] = ep
    ratios = [c / r for c, r in zip(cont, rest)]
    row("B4", f"SHA continue vs restart: epochs {epochs.get('continue')} vs {epochs.get('restart')}; wall seconds", "s",
        cont, {"restart (hpflow)": rest}, "ratio ≤ 0.78", med(ratios) <= 0.78,
        f"wall ratio continue/restart {med(ratios):.2f} (ideal {epochs['continue'] / epochs['restart']:.2f})")


def b7():
    for kind in ["sha", "hyperband"]:
        one, two, same = [], [], True
        for _ in range(1 if QUICK else min(REPS, 2)):
            s1, _, o1 = search_run(kind, 1, "continue", "b7")
            s2, _, o2 = search_run(kind, 2, "continue", "b7")
            one.append(s1)
            two.append(s2)
            same = same and o1["trial"] == o2["trial"] and o1["value"] == o2["value"]
        speedup = med(one) / med(two)
        row(f"B7 {kind}", f"{kind} search seconds, 2 workers (hpflow) against 1 worker", "s", two,
            {"1 worker (hpflow)": one}, "≥ 1.8× faster", speedup >= 1.8,
            f"speed-up {speedup:.2f}×; same selected trial and value: {same}")


# ---------------------------------------------------------------- B5
def b5(device="cpu", worker_counts=(1, 2), tag="B5"):
    """hpflow with 1 and 2 workers against Optuna + PyTorch with 1 and 2 trial processes (a
    shared JournalStorage), each trial on 1 thread: the same parallelism on both sides. On
    CUDA (b5gpu) both sides train on the GPU, with 1 and 4 trials at once."""
    train, val, trials, epochs = (3000, 1000, 6, 2) if QUICK else (10000, 2000, 30, 5)
    secs, acc = {}, {}
    peer_env = {**os.environ, "B5_DEVICE": device}
    # B5_SEEDS="3 4": those seeds instead of 1..REPS (a GPU lease may fit only a few).
    seeds = [int(x) - 1 for x in os.environ.get("B5_SEEDS", "").split()] or range(1 if QUICK else REPS)
    for r in seeds:
        for workers in worker_counts:
            d = os.path.join(WORK, f"b5-{device}-{workers}-{r}")
            os.makedirs(d)
            wf = write(os.path.join(d, "w.yaml"), f"""name: b5-{workers}
seed: {r + 1}
device: {device}
data: {{source: idx, path: {FMNIST}}}
stages:
  split: {{kind: split, train: {train}, val: {val}, test: official}}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{optimizer: adam, epochs: {epochs}}}
    space:
      lr: {{loguniform: [1.0e-4, 1.0e-2]}}
      units: {{int: [32, 512], log: true}}
      hidden_layers: {{int: [1, 3]}}
      dropout: {{uniform: [0.0, 0.5]}}
      batch_size: {{choice: [64, 128, 256]}}
    strategy: {{kind: tpe}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: {trials}}}
    workers: {workers}
  retrain: {{kind: retrain, needs: [search]}}
  evaluate: {{kind: evaluate, needs: [retrain]}}
""")
            t0 = time.perf_counter()
            out = hp_run(os.path.join(d, "runs"), wf)
            secs.setdefault(f"hpflow {workers}", []).append(time.perf_counter() - t0)
            acc.setdefault(f"hpflow {workers} worker", []).append(stage(out, "evaluate")["outputs"]["metrics"]["test_accuracy"])
            res = json.loads(sh([PEER_PY, os.path.join(HERE, "b5_peer.py"), FMNIST, str(train), str(val), str(trials),
                                 str(epochs), str(r + 1), "1", str(workers)], env=peer_env).strip().splitlines()[-1])
            secs.setdefault(f"peer {workers}", []).append(res["seconds"])
            acc.setdefault(f"optuna+pytorch {workers} process", []).append(res["test_accuracy"])
            log(f"{tag} seed {r + 1}, {workers} at once: hpflow {secs[f'hpflow {workers}'][-1]:.1f} s, test accuracy "
                f"{acc[f'hpflow {workers} worker'][-1]:.4f}; peer {res['seconds']:.1f} s, {res['test_accuracy']:.4f}")
    accs = "; ".join(
        f"{k} test accuracy {statistics.mean(v):.4f} (seeds: {', '.join(f'{x:.4f}' for x in v)})"
        for k, v in acc.items()
    )
    where = "" if device == "cpu" else f" on {gpu_name()}"
    for workers in worker_counts:
        hp, peer = secs[f"hpflow {workers}"], secs[f"peer {workers}"]
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        row(f"{tag} {label}", f"Fashion-MNIST {train}/{val} rows, MLP, {trials} TPE trials × {epochs} epochs, retrain, test{where}: "
            f"wall seconds, hpflow with {label} against Optuna + PyTorch with {workers} trial process{'es' if workers > 1 else ''}"
            f"{' (1 thread a trial)' if device == 'cpu' else ''}",
            "s", hp, {f"optuna+pytorch {workers}": peer}, "≤ 0.8× the peer, accuracy ≥",
            med(hp) <= 0.8 * med(peer) and statistics.mean(acc[f"hpflow {workers} worker"]) >= statistics.mean(acc[f"optuna+pytorch {workers} process"]),
            accs if workers == worker_counts[-1] else "")


def b5gpu():
    b5("cuda", (1, 4), "B5-GPU")


def gpu_name():
    try:
        return sh(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]).strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "the GPU"


# ---------------------------------------------------------------- B6
def b6():
    times = []
    for r in range(1 if QUICK else REPS):
        d = os.path.join(WORK, f"b6-{r}")
        os.makedirs(d)
        wf = write(os.path.join(d, "w.yaml"), f"""name: b6
seed: {r + 1}
data: {{source: idx, path: {FMNIST}}}
stages:
  split: {{kind: split, train: 2000, val: 500, test: official}}
  search:
    kind: search
    needs: [split]
    model: mlp
    params: {{optimizer: adam, epochs: 40, hidden_layers: 1}}
    space:
      lr: {{loguniform: [1.0e-4, 1.0e-2]}}
      units: {{int: [64, 256], log: true}}
    strategy: {{kind: random}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: 4}}
""")
        runs = os.path.join(d, "runs")
        p = subprocess.Popen([HP, "--runs-dir", runs, "-q", "run", wf], start_new_session=True)
        logs = lambda: [os.path.join(dp, f) for dp, _, fs in os.walk(runs) for f in fs if f == "epochs.log"]  # noqa: E731
        lines = lambda: sum(sum(1 for _ in open(x)) for x in logs())  # noqa: E731
        while lines() < 3:
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        before = lines()
        t0 = time.perf_counter()
        p = subprocess.Popen([HP, "--runs-dir", runs, "-q", "run", wf], start_new_session=True)
        while lines() <= before:
            time.sleep(0.002)
        times.append(time.perf_counter() - t0)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    row("B6", "SIGKILL mid-search, run again: seconds to the next trained epoch (MLP on 2,000 Fashion-MNIST rows: an epoch takes a few hundredths)",
        "s", times, {}, "≤ 0.3 s", None,
        "includes the epoch itself: the time from the restart to the end of the first epoch trained after it")


# ---------------------------------------------------------------- T
def t():
    env = {**os.environ, "HPFLOW_BENCH_MODELS": "mlp"}
    out = subprocess.run([os.path.join(ROOT, "scripts", "bench-trainer"), "1" if QUICK else "3", "2"],
                         capture_output=True, text=True, env=env)
    ROWS.append({"row": "T", "table": (out.stdout + out.stderr[-2000:] if out.returncode else out.stdout).strip(),
                 "measure": "trainer: seconds per Fashion-MNIST epoch, hpflow vs PyTorch, 2 threads"})
    log(out.stdout)


# ---------------------------------------------------------------- S
def s():
    """`hpflow serve` on a large runs folder: a random Branin search of 100,000 trials (B1's
    workflow), then the workflow's page (`GET /w/NAME`, what a browser loads first) timed over
    HTTP, each repetition a fresh request to one server."""
    import urllib.request
    n = 10000 if QUICK else 100000
    d = os.path.join(WORK, f"s-{n}")
    os.makedirs(d)
    runs = os.path.join(d, "runs")
    hp_run(runs, branin_wf(n, os.path.join(d, "w.yaml")), ["-q"])
    p = subprocess.Popen([HP, "--runs-dir", runs, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = p.stdout.readline().split("http://")[1].split()[0].rstrip("/")
        times = []
        for _ in range(REPS):
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"http://{url}/w/b1-{n}") as r:
                body = r.read()
            times.append(time.perf_counter() - t0)
    finally:
        p.kill()
        p.wait()
    row("S", f"`hpflow serve`: seconds to answer a workflow's page, random Branin search of {n} trials "
        f"({len(body) // 1024} KiB of HTML)", "s", times, {}, "≤ 1 s", med(times) <= 1.0)


def versions():
    v = {"hpflow": sh([HP, "--version"]).strip(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"}
    try:
        v["peers"] = sh([PEER_PY, "-c", "import optuna, rustuna, torch; print('optuna', optuna.__version__, '| rustuna 0.2.0 | torch', torch.__version__)"]).strip()
    except subprocess.CalledProcessError as e:
        v["peers"] = f"not all importable: {e.stderr.strip()[-200:]}"
    sys.path.insert(0, HERE)
    import b3_peers

    v["regret peers (B3)"] = ", ".join(f"{label} {version}" + (f" ({b3_peers.unavailable(p)})" if b3_peers.unavailable(p) else "")
                                       for p, (_, version, _, label) in b3_peers.PEERS.items())
    try:
        v["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return v


def markdown(v, started, seconds):
    out = [
        "# Benchmarks", "",
        f"Made by `scripts/bench{' --quick' if QUICK else ''}`; the rows come from the runs of "
        + ", ".join(sorted({r.get("run", started) for r in ROWS}))
        + (f" (the last took {seconds / 60:.0f} minutes; each row's run is in the raw numbers). " if seconds is not None
           else " (each row's run is in the raw numbers). ")
        + "In each run hpflow and its peers ran side by side, on the same machine, threads, data and seeds, "
        "repetitions interleaved. Each cell: median (min–max over repetitions). Ratio: hpflow's median over the best peer's.", "",
        "| row | measure | unit | hpflow | best peer | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ROWS:
        if "table" in r:
            continue
        fmt = "{:.3f}" if r["unit"] == "ms" else "{:.2f}"
        peer = f"{r['best_peer']}: {cell(r['peers'][r['best_peer']], fmt)}" if r["best_peer"] else "–"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "–"
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        out.append(f"| {r['row']} | {r['measure']}{'; ' + r['note'] if r['note'] else ''} | {r['unit']} | "
                   f"{cell(r['hpflow'], fmt)} | {peer} | {ratio} | {r['target'] or '–'} | {met} |")
    out += ["", "Every peer of each row:", ""]
    for r in ROWS:
        if "table" in r or not r["peers"]:
            continue
        fmt = "{:.3f}" if r["unit"] == "ms" else "{:.2f}"
        out.append(f"- {r['row']}: " + "; ".join(f"{p} {cell(xs, fmt)}" for p, xs in r["peers"].items()))
    for r in ROWS:
        if "table" in r:
            # The embedded script's own headings sit one level below the row's.
            table = "\n".join("#" + l if l.startswith("#") else l for l in r["table"].splitlines())
            out += ["", f"## {r['row']}: {r['measure']}", "", table]
    # Sections written by hand (experiments that are not a row) survive every regeneration.
    out += ["", open(os.path.join(HERE, "hand-placed.md")).read().rstrip()]
    out += ["", "## Machine and versions", ""] + [f"- {k}: {val}" for k, val in v.items()]
    out += ["", "## Raw numbers", "", "```json", json.dumps(ROWS, indent=1), "```", ""]
    return "\n".join(out)


def kept_versions(path):
    """The machine and versions as the file gives them (`md` runs nothing, so they stay those of
    the runs)."""
    lines = open(path).read().split("## Machine and versions\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return dict(l[2:].split(": ", 1) for l in lines if l.startswith("- "))


def md():
    """No run: BENCHMARKS.md rewritten from BENCHMARKS.json and hand-placed.md (after editing
    the hand-written sections)."""


def main():
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.perf_counter()
    for name in WANTED:
        log(f"== {name}")
        globals()[name]()
    for r in ROWS:
        r.setdefault("run", started)
    # A quick run is a smoke test: it never replaces the real table unless asked to.
    default = os.path.join(WORK, "BENCHMARKS.md") if QUICK else os.path.join(ROOT, "BENCHMARKS.md")
    target = os.environ.get("BENCH_OUT", default)
    raw = os.path.splitext(target)[0] + ".json"
    # Rows run now replace theirs in the file; the other rows stay as their run left them.
    if os.path.exists(raw) and not QUICK:
        fresh = {r["row"].split()[0] for r in ROWS}
        kept = [r for r in json.load(open(raw)) if r["row"].split()[0] not in fresh]
        order = ["B1", "B2", "B3", "B4", "B5", "B5-GPU", "B6", "B7", "T", "S"]
        ROWS[:] = sorted(kept + ROWS, key=lambda r: order.index(r["row"].split()[0]) if r["row"].split()[0] in order else 99)
    # b3peers and md alone measure nothing: no run length to give.
    text = markdown(kept_versions(target) if WANTED == ["md"] else versions(), started,
                    None if WANTED in (["b3peers"], ["md"]) else time.perf_counter() - t0)
    write(target, text)
    write(raw, json.dumps(ROWS, indent=1))
    print(text)
    log(f"wrote {target}")


main()
