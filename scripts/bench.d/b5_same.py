"""B5's trainers on the same work: every configuration of a hpflow run's `trials` table trained
again with the peer's PyTorch code (`b5_torch.train`, 5 epochs, 1 thread, then its validation
accuracy), against the table's own seconds (hpflow's trials, with their validation and
checkpoint every epoch). Inputs are random, of B5's shapes (10,000 training rows, 2,000
validation rows, 784 features, 10 classes): the arithmetic does not depend on the values.

Usage: b5_same.py RUNS/hpflow.db      (run it with the bench venv's python)
"""
import json
import sqlite3
import sys
import time

import torch

import b5_torch

torch.set_num_threads(1)
rows = sqlite3.connect(sys.argv[1]).execute("select config_json, seconds from trials order by trial").fetchall()
x, y = torch.randn(10000, 784), torch.randint(0, 10, (10000,))
xv, yv = torch.randn(2000, 784), torch.randint(0, 10, (2000,))
t0 = time.perf_counter()
for i, (cfg, _) in enumerate(rows):
    b5_torch.accuracy(b5_torch.train(json.loads(cfg), x, y, i, 5), xv, yv)
peer = time.perf_counter() - t0
hp = sum(s for _, s in rows)
print(f"{len(rows)} configurations: hpflow's trials {hp:.1f} s, the peer's code {peer:.1f} s, ratio {hp / peer:.2f}")
