"""B5 peer: the end-to-end job of hpflow's B5 row written with Optuna and PyTorch.

Fashion-MNIST: TRAIN training rows and VAL validation rows drawn from the official training
part, the official test part for the final number. An MLP (hidden layers, units, dropout,
Adam's learning rate, batch size searched as hpflow's B5 workflow does), TRIALS TPE trials of
EPOCHS epochs each scored on validation accuracy, the best configuration retrained on
train+val for EPOCHS epochs, then evaluated once on the test rows.

Usage: b5_peer.py DATA_DIR TRAIN VAL TRIALS EPOCHS SEED THREADS [PROCESSES]
With PROCESSES > 1 the trials run in that many processes at once (THREADS torch threads each),
sharing one study through Optuna's JournalStorage, as hpflow's workers share one search.
With B5_DEVICE=cuda in the environment the data and every model live on the GPU.
Prints one JSON line: wall seconds (data loading included, interpreter start excluded), the
best validation accuracy, the test accuracy, and every trial's configuration.
"""
import gzip
import json
import os
import sys
import time

start = time.perf_counter()
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import torch  # noqa: E402

import b5_torch  # noqa: E402  (the training code, shared with b5_trainer.py)

data, n_train, n_val, trials, epochs, seed, threads = sys.argv[1:8]
n_train, n_val, trials, epochs, seed, threads = map(int, (n_train, n_val, trials, epochs, seed, threads))
processes = int(sys.argv[8]) if len(sys.argv) > 8 else 1
torch.set_num_threads(threads)
optuna.logging.set_verbosity(optuna.logging.WARNING)


def idx(name):
    path = os.path.join(data, name)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(stem):
    for n in os.listdir(data):
        if n.startswith(stem):
            return n
    raise SystemExit(f"no {stem}* in {data}")


x_all = idx(find("train-images")).reshape(-1, 784).astype(np.float32) / 255.0
y_all = idx(find("train-labels")).astype(np.int64)
x_test = idx(find("t10k-images")).reshape(-1, 784).astype(np.float32) / 255.0
y_test = idx(find("t10k-labels")).astype(np.int64)
order = np.random.default_rng(seed).permutation(len(x_all))
tr, va = order[:n_train], order[n_train : n_train + n_val]
mean, std = x_all[tr].mean(0), x_all[tr].std(0) + 1e-6
norm = lambda x: torch.from_numpy((x - mean) / std)  # noqa: E731
xt, yt = norm(x_all[tr]), torch.from_numpy(y_all[tr])
xv, yv = norm(x_all[va]), torch.from_numpy(y_all[va])
xs, ys = norm(x_test), torch.from_numpy(y_test)


DEVICE = torch.device(os.environ.get("B5_DEVICE", "cpu"))
_moved = {}


def dev(name, t):
    """`t` on DEVICE, moved on first use: a forked trial process must make its own CUDA context,
    so the parent touches CUDA only after its children are done."""
    if name not in _moved:
        _moved[name] = t.to(DEVICE)
    return _moved[name]


def train(cfg, x, y, seed):
    return b5_torch.train(cfg, x, y, seed, epochs)


accuracy = b5_torch.accuracy


def objective(trial):
    cfg = {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "units": trial.suggest_int("units", 32, 512, log=True),
        "hidden_layers": trial.suggest_int("hidden_layers", 1, 3),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
    }
    return accuracy(train(cfg, dev("xt", xt), dev("yt", yt), seed + trial.number), dev("xv", xv), dev("yv", yv))


if processes == 1:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
else:
    import multiprocessing
    import tempfile

    journal = os.path.join(tempfile.mkdtemp(prefix="b5-peer-"), "journal.log")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    study = optuna.create_study(direction="maximize", storage=storage, study_name="b5",
                                sampler=optuna.samplers.TPESampler(seed=seed))

    def worker(k):
        torch.set_num_threads(threads)
        s = optuna.load_study(study_name="b5", storage=storage, sampler=optuna.samplers.TPESampler(seed=seed + 1000 * k))
        # Together the processes run exactly `trials` trials.
        s.optimize(objective, callbacks=[optuna.study.MaxTrialsCallback(trials, states=None)])

    procs = [multiprocessing.get_context("fork").Process(target=worker, args=(k,)) for k in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    study = optuna.load_study(study_name="b5", storage=storage)
best = study.best_trial
final = train(best.params, dev("xtv", torch.cat([xt, xv])), dev("ytv", torch.cat([yt, yv])), seed)
test = accuracy(final, dev("xs", xs), dev("ys", ys))
print(json.dumps({"seconds": time.perf_counter() - start, "val_accuracy": best.value, "test_accuracy": test,
                  "trials": [t.params for t in study.trials]}))
