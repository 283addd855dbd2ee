"""B5's controlled experiment: where hpflow's test accuracy on B5 falls behind the Optuna +
PyTorch peer's, split into the trainer's share and the search's share (issue 22).

  trainer   the same 10 fixed configurations trained for 5 epochs on the same split rows by
            hpflow's libtorch trainer (one single-point search stage each, so hpflow's own
            path from the split's files to val_accuracy) and by the peer's PyTorch code
            (b5_torch.py) read from that split's files, with the peer's variants that move one
            difference at a time towards hpflow's trainer: tch's default weight
            initialisation, the split's normalisation, both. Score: val accuracy (2000 rows).
  search    the peer's PyTorch training as a `command` program (b5_trainer.py) under hpflow's
            TPE (30 trials, retrain on train+val, evaluate) against the peer as it is (the
            same code under Optuna's TPE). Score: test accuracy (the official 10000 rows).
  b5        hpflow's own B5 workflow (the `mlp` model; scripts/bench.d/run.py's row).

Usage: b5_control.py [--seeds 1,2,3,4,5] [--label NAME] [--no-peer] [--quick] PART...
Results accumulate in b5_control.results.json beside this file, keyed by part, column and
seed (a rerun replaces its own cells, so `--label fixed` adds a column next to `main`;
`--label none` runs the trainer part's peer columns alone, `--no-peer` hpflow's alone);
`b5_control.py table` prints the markdown tables from it. Accuracy only: nothing here is
timed, and runs may share a loaded machine (1 torch thread a process).
"""
import fcntl
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
HP = os.environ.get("HPFLOW_BIN", os.path.join(ROOT, "target", "release", "hpflow"))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hpflow")
TORCH_PY = os.path.join(CACHE, "torch-2.11.0", "bin", "python")
PEER_PY = os.path.join(CACHE, "bench-venv", "bin", "python")
FMNIST = "/usr/share/datasets/fashion-mnist"
RESULTS = os.environ.get("B5_CONTROL_RESULTS", os.path.join(HERE, "b5_control.results.json"))
SPACE = """      lr: {loguniform: [1.0e-4, 1.0e-2]}
      units: {int: [32, 512], log: true}
      hidden_layers: {int: [1, 3]}
      dropout: {uniform: [0.0, 0.5]}
      batch_size: {choice: [64, 128, 256]}"""

# Spread over B5's space (lr, units, layers, dropout, batch size) and past it (activation,
# optimizer), from a small fast network to the largest one.
CONFIGS = [
    {"lr": 1e-3, "units": 128, "hidden_layers": 1, "dropout": 0.0, "batch_size": 64},
    {"lr": 3e-3, "units": 256, "hidden_layers": 2, "dropout": 0.2, "batch_size": 128},
    {"lr": 1e-4, "units": 512, "hidden_layers": 2, "dropout": 0.1, "batch_size": 64},
    {"lr": 5e-4, "units": 64, "hidden_layers": 3, "dropout": 0.3, "batch_size": 256},
    {"lr": 1e-2, "units": 32, "hidden_layers": 1, "dropout": 0.5, "batch_size": 128},
    {"lr": 2e-3, "units": 512, "hidden_layers": 3, "dropout": 0.4, "batch_size": 256},
    {"lr": 7e-4, "units": 200, "hidden_layers": 2, "dropout": 0.25, "batch_size": 128, "activation": "tanh"},
    {"lr": 1.5e-3, "units": 96, "hidden_layers": 2, "dropout": 0.1, "batch_size": 64, "activation": "elu"},
    {"lr": 5e-2, "units": 256, "hidden_layers": 2, "dropout": 0.2, "batch_size": 64, "optimizer": "sgd", "momentum": 0.9},
    {"lr": 1e-3, "units": 384, "hidden_layers": 1, "dropout": 0.3, "batch_size": 128, "optimizer": "adamw", "weight_decay": 0.01},
]
# The peer's code with one difference at a time moved to what hpflow's trainer does:
# (column, normalisation, initialisation).
VARIANTS = [
    ("peer", "per_pixel", "torch"),
    ("peer, tch init", "per_pixel", "kaiming_relu"),
    ("peer, split norm", "split", "torch"),
    ("peer, tch init + split norm", "split", "kaiming_relu"),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load():
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            return json.load(f)
    return {}


def record(part, column, seed, value):
    """Store one cell at once, under a lock: other runs of this script may be writing others."""
    with open(os.path.join(tempfile.gettempdir(), "b5_control.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        res = load()
        res.setdefault(part, {}).setdefault(column, {})[str(seed)] = value
        tmp = RESULTS + ".tmp"
        with open(tmp, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
        os.replace(tmp, RESULTS)


def hp_run(runs, wf):
    env = dict(os.environ, HPFLOW_NO_USER_LOOKS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.path.join(ROOT, "python"))
    out = subprocess.run([HP, "-q", "--runs-dir", runs, "run", "--json", wf], check=True,
                         capture_output=True, text=True, env=env).stdout
    return {j["stage"]: j for j in json.loads(out)["jobs"]}


def yaml_map(d):
    return "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"


def trainer(seeds, label, quick, peer=True):
    """The 10 configurations through hpflow's trainer, then through the peer's code on the
    rows of the same split, 5 epochs each."""
    import numpy as np
    import torch

    import b5_torch
    from hpflow import read_safetensors

    torch.set_num_threads(1)
    epochs = 1 if quick else 5
    configs = CONFIGS[:2] if quick else CONFIGS
    for seed in seeds:
        d = tempfile.mkdtemp(prefix=f"b5-control-trainer-{seed}-")
        stages = "".join(f"""  c{i}:
    kind: search
    needs: [split]
    model: mlp
    params: {yaml_map({k: v for k, v in dict(cfg, epochs=epochs).items() if k != "activation"})}
    space: {{activation: {{choice: [{cfg.get("activation", "relu")}]}}}}
    strategy: {{kind: grid}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: 1}}
""" for i, cfg in enumerate(configs))
        wf = os.path.join(d, "w.yaml")
        with open(wf, "w") as f:
            f.write(f"""name: b5-control-trainer
seed: {seed}
data: {{source: idx, path: {FMNIST}}}
stages:
  split: {{kind: split, train: 10000, val: 2000, test: official}}
{stages}""")
        if label:
            out = hp_run(os.path.join(d, "runs"), wf)
            for i in range(len(configs)):
                record("trainer", f"hpflow ({label})", f"{seed}/{i}", out[f"c{i}"]["outputs"]["value"])
            split_dir = os.path.join(d, "runs", out["split"]["job"][:16])
        else:
            # Only the split: the peer's columns alone.
            out = subprocess.run([HP, "-q", "--runs-dir", os.path.join(d, "runs"), "run", "--json",
                                  "--until", "split", wf], check=True, capture_output=True, text=True,
                                 env=dict(os.environ, HPFLOW_NO_USER_LOOKS="1")).stdout
            job = next(j for j in json.loads(out)["jobs"] if j["stage"] == "split")["job"]
            split_dir = os.path.join(d, "runs", job[:16])
        with open(os.path.join(split_dir, "manifest.json")) as f:
            norm = json.load(f)["normalisation"]
        rows = {p: read_safetensors(os.path.join(split_dir, "rows", f"{p}.safetensors")) for p in ("train", "val")}
        x = {p: torch.from_numpy(r["x"].reshape(len(r["x"]), -1).astype(np.float32)) for p, r in rows.items()}
        y = {p: torch.from_numpy(r["y"].astype(np.int64)) for p, r in rows.items()}
        for column, how, init in (VARIANTS if not quick else VARIANTS[:1]) if peer else []:
            if how == "per_pixel":
                mean, std = b5_torch.per_pixel(x["train"])
            else:
                mean, std = norm["mean"][0], norm["std"][0]
            xt, xv = (x["train"] - mean) / std, (x["val"] - mean) / std
            for i, cfg in enumerate(configs):
                m = b5_torch.train(cfg, xt, y["train"], 1000 * seed + i, epochs, init)
                acc = b5_torch.accuracy(m, xv, y["val"])
                record("trainer", column, f"{seed}/{i}", acc)
                log(f"trainer seed {seed} config {i} {column}: {acc:.4f}")


def b5_test_accuracy(d, name, seed, train, val, trials, model):
    """B5's workflow (split, TPE search, retrain, evaluate) with the search's `model` lines,
    run in folder `d`: the test accuracy hpflow reports."""
    wf = os.path.join(d, "w.yaml")
    with open(wf, "w") as f:
        f.write(f"""name: {name}
seed: {seed}
data: {{source: idx, path: {FMNIST}}}
stages:
  split: {{kind: split, train: {train}, val: {val}, test: official}}
  search:
    kind: search
    needs: [split]
    {model}
    space:
{SPACE}
    strategy: {{kind: tpe}}
    metric: {{name: val_accuracy, goal: maximize}}
    budget: {{trials: {trials}}}
  retrain: {{kind: retrain, needs: [search]}}
  evaluate: {{kind: evaluate, needs: [retrain]}}
""")
    out = hp_run(os.path.join(d, "runs"), wf)
    return out["evaluate"]["outputs"]["metrics"]["test_accuracy"]


def search(seeds, quick, sides=("hpflow", "optuna")):
    """The peer's training under hpflow's TPE (a `command` program) and under Optuna's."""
    train, val, trials, epochs = (3000, 1000, 4, 1) if quick else (10000, 2000, 30, 5)
    for seed in seeds:
        if "optuna" in sides:
            res = subprocess.run([PEER_PY, os.path.join(HERE, "b5_peer.py"), FMNIST, str(train), str(val),
                                  str(trials), str(epochs), str(seed), "1"], check=True, capture_output=True,
                                 text=True).stdout
            acc = json.loads(res.strip().splitlines()[-1])["test_accuracy"]
            record("search", "Optuna TPE", seed, acc)
            log(f"search seed {seed} Optuna TPE: {acc:.4f}")
        if "hpflow" not in sides:
            continue
        d = tempfile.mkdtemp(prefix=f"b5-control-search-{seed}-")
        # The program's files beside the workflow: the only folder a sandboxed trial reads.
        for f in ("b5_trainer.py", "b5_torch.py"):
            shutil.copy(os.path.join(HERE, f), d)
        shutil.copytree(os.path.join(ROOT, "python", "hpflow"), os.path.join(d, "hpflow"))
        model = f"""model: command
    command: [{TORCH_PY}, {os.path.join(d, "b5_trainer.py")}]
    params: {{epochs: {epochs}}}"""
        acc = b5_test_accuracy(d, "b5-control-search", seed, train, val, trials, model)
        record("search", "hpflow TPE", seed, acc)
        log(f"search seed {seed} hpflow TPE: {acc:.4f}")


def b5(seeds, label, quick):
    """hpflow's B5 row as scripts/bench.d/run.py writes it (1 worker)."""
    train, val, trials, epochs = (3000, 1000, 4, 1) if quick else (10000, 2000, 30, 5)
    for seed in seeds:
        d = tempfile.mkdtemp(prefix=f"b5-control-b5-{seed}-")
        model = f"""model: mlp
    params: {{optimizer: adam, epochs: {epochs}}}"""
        acc = b5_test_accuracy(d, "b5-control-b5", seed, train, val, trials, model)
        record("b5", f"hpflow mlp ({label})", seed, acc)
        log(f"b5 seed {seed} hpflow mlp ({label}): {acc:.4f}")


def mean_sd(xs):
    if not xs:
        return "–"
    if len(xs) == 1:
        return f"{xs[0]:.4f}"
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs):.4f}"


def seed_cells(v):
    """Every seed's cell up to ten seeds; past that the seeds' ranges (the cells are in the file)."""
    keys = sorted(v, key=int)
    if len(keys) <= 10:
        return ", ".join(f"{k}: {v[k]:.4f}" for k in keys)
    spans, start = [], int(keys[0])
    for a, b in zip(keys, keys[1:] + [None]):
        if b is None or int(b) != int(a) + 1:
            spans.append(f"{start}–{a}" if int(a) > start else a)
            start = int(b) if b else 0
    return f"{len(keys)} seeds: {', '.join(spans)}"


def table():
    res = load()
    out = []
    t = res.get("trainer", {})
    if t:
        cols = sorted(t, key=lambda c: (not c.startswith("hpflow"), c != "peer", c))
        # Only the (seed, configuration) cells every column has: each column on the same rows.
        common = set.intersection(*(set(v) for v in t.values()))
        t = {c: {k: v for k, v in t[c].items() if k in common} for c in cols}
        seeds = sorted({k.split("/")[0] for k in common}, key=int)
        out.append(f"Val accuracy after 5 epochs, mean over seeds {', '.join(seeds)} (± sd); each seed one split, "
                   "the same rows for every column.\n")
        out.append("| config | " + " | ".join(cols) + " |")
        out.append("|---|" + "---|" * len(cols))
        per_col = {c: [] for c in cols}
        for i, cfg in enumerate(CONFIGS):
            cells = []
            for c in cols:
                xs = [v for k, v in t[c].items() if k.split("/")[1] == str(i)]
                per_col[c].extend(xs)
                cells.append(mean_sd(xs))
            desc = ", ".join(f"{k} {v}" for k, v in cfg.items())
            out.append(f"| {i}: {desc} | " + " | ".join(cells) + " |")
        out.append("| **all configs** | " + " | ".join(
            f"**{statistics.mean(v):.4f}**" if v else "–" for v in per_col.values()) + " |")
        # Paired by (seed, config): the split's rows and the configuration are the same.
        diffs = {c: [t[c][k] - t["peer"][k] for k in t[c] if k in t.get("peer", {})] for c in cols}
        out.append("| **− peer, paired (± s.e.)** | " + " | ".join(
            f"**{statistics.mean(d):+.4f}** ± {statistics.stdev(d) / len(d) ** 0.5:.4f}" if len(d) > 1 and c != "peer"
            else "–" for c, d in diffs.items()) + " |")
        out.append("")
    for part, title in (("search", "Search's share: the peer's PyTorch training under each TPE, test accuracy"),
                        ("b5", "B5 as users run it (hpflow's `mlp` trainer and TPE), test accuracy")):
        p = res.get(part, {})
        if not p:
            continue
        out.append(f"{title}.\n")
        out.append("| column | mean ± sd | seeds |")
        out.append("|---|---|---|")
        optuna = res.get("search", {}).get("Optuna TPE", {})
        for c, v in p.items():
            xs = [v[k] for k in sorted(v, key=int)]
            out.append(f"| {c} | {mean_sd(xs)} | {seed_cells(v)} |")
        # Each column paired by seed with the peer as it is (Optuna's TPE on its own code).
        for c, v in p.items():
            d = [v[k] - optuna[k] for k in sorted(v, key=int) if k in optuna]
            if c != "Optuna TPE" and len(d) > 1:
                out.append(f"| − Optuna TPE, paired over {len(d)} seeds (± s.e.) | {statistics.mean(d):+.4f} ± "
                           f"{statistics.stdev(d) / len(d) ** 0.5:.4f} | {c}: ahead on {sum(x > 0 for x in d)} |")
        out.append("")
    print("\n".join(out))


def main():
    args = sys.argv[1:]
    seeds, label, quick = range(1, 6), "main", "--quick" in args
    if "--seeds" in args:
        a = args[args.index("--seeds") + 1]
        seeds = [int(s) for s in a.split(",") if s]
    if "--label" in args:
        label = args[args.index("--label") + 1]
    parts = [a for i, a in enumerate(args) if not a.startswith("--") and args[i - 1] not in ("--seeds", "--label")]
    for p in parts:
        if p == "trainer":
            trainer(seeds, None if label == "none" else label, quick, "--no-peer" not in args)
        elif p == "search":
            search(seeds, quick)
        elif p in ("search-hpflow", "search-optuna"):
            search(seeds, quick, (p.split("-")[1],))
        elif p == "b5":
            b5(seeds, label, quick)
        elif p == "table":
            table()
        else:
            raise SystemExit(f"unknown part {p} (trainer, search, search-hpflow, search-optuna, b5, table)")


if __name__ == "__main__":
    main()
