"""B1 peer: N random-search trials of Branin recorded durably by Optuna or rustuna.

Usage: b1_peer.py LIBRARY STORAGE N DIR    (LIBRARY optuna|rustuna, STORAGE sqlite|journal)
Prints one JSON line: {"seconds": wall time of the optimize loop, "trials": N}.
Same boundary as hpflow's B1 row: from the first ask to the last trial recorded in storage.
"""
import json
import math
import os
import sys
import time

lib, storage_kind, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.makedirs(folder, exist_ok=True)


def branin(x1, x2):
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def objective(trial):
    return branin(trial.suggest_float("x1", -5, 10), trial.suggest_float("x2", 0, 15))


if lib == "optuna":
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage_kind == "sqlite":
        storage = f"sqlite:///{folder}/optuna.db"
    else:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage = JournalStorage(JournalFileBackend(f"{folder}/journal.log"))
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=1))
else:
    import rustuna

    if storage_kind == "sqlite":
        storage = rustuna.storages.SQLite3Storage(f"{folder}/rustuna.db")
    else:
        storage = rustuna.storages.JournalFileStorage(f"{folder}/journal.log")
    study = rustuna.create_study(storage=storage, sampler=rustuna.samplers.RandomSampler(seed=1))

start = time.perf_counter()
study.optimize(objective, n_trials=n)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "trials": n}))
