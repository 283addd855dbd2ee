"""B2 peer: Optuna's proposal time, at the boundary hpflow's bench-strategy measures (the
sampling of one trial's parameters, objective and storage excluded).

  b2_peer.py tpe N SEED   mean ms per ask over N sequential TPE (multivariate) trials, Hartmann6
  b2_peer.py gp N SEED    mean ms per ask of GPSampler after N random Hartmann6 observations
                          (5 asks, each told its value, as a running search)
  b2_peer.py gprun N SEED every ask of a whole sequential GPSampler run of N trials timed:
                          mean, 99th percentile and slowest (GPSampler refits on every ask)
Prints one JSON line: {"ms_per_ask": ...} (gprun: {"mean_ms", "p99_ms", "max_ms"}).
"""
import json
import math
import sys
import time

import optuna
from optuna.distributions import FloatDistribution

optuna.logging.set_verbosity(optuna.logging.WARNING)
kind, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]
dists = {f"x{i + 1}": FloatDistribution(0.0, 1.0) for i in range(6)}


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))) for i in range(4))


def value(t):
    return hartmann6([t.params[f"x{i + 1}"] for i in range(6)])


if kind == "tpe":
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    spent = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        t = study.ask(dists)
        spent += time.perf_counter() - t0
        study.tell(t, value(t))
    print(json.dumps({"ms_per_ask": 1000 * spent / n}))
elif kind == "gprun":
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        t = study.ask(dists)
        times.append(1000 * (time.perf_counter() - t0))
        study.tell(t, value(t))
    s = sorted(times)
    print(json.dumps({"mean_ms": sum(times) / n, "p99_ms": s[min(n, math.ceil(0.99 * n)) - 1], "max_ms": s[-1]}))
else:
    import random

    rng = random.Random(seed)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    for _ in range(n):
        params = {k: rng.random() for k in dists}
        t = optuna.trial.create_trial(params=params, distributions=dists, value=hartmann6(list(params.values())))
        study.add_trial(t)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        t = study.ask(dists)
        times.append(time.perf_counter() - t0)
        study.tell(t, value(t))
    # The first ask fits from scratch, as hpflow's cold proposal does; the rest are the
    # running search's, like hpflow's warm mean.
    print(json.dumps({"ms_per_ask": 1000 * sum(times[1:]) / len(times[1:]), "first_ms": 1000 * times[0]}))
