"""A training program for `model: command`: a PyTorch MLP on the rows hpflow hands over.

hpflow runs it in one of three modes (HPFLOW_MODE):
  search / retrain  train on HPFLOW_TRAIN (CSV: feature columns, then `label`), resuming from
                    HPFLOW_CHECKPOINT_DIR, until HPFLOW_EPOCHS; after each epoch print one JSON
                    line with the epoch and the metrics on HPFLOW_VAL (a retrain on train+val
                    has no HPFLOW_VAL and prints the training loss).
  evaluate          load the model from HPFLOW_MODEL_DIR, measure it once on HPFLOW_TEST (the
                    sealed test rows) and print the test metrics as one JSON line.
Features arrive normalised with statistics fitted on the training rows; for classification
the label is the class index (HPFLOW_CLASSES classes). Hyperparameters come as arguments.
"""
import argparse
import csv
import json
import os

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--units", type=int, required=True)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()

mode = os.environ["HPFLOW_MODE"]
classification = os.environ.get("HPFLOW_TASK", "classification") == "classification"
ckpt_dir = os.environ.get("HPFLOW_CHECKPOINT_DIR", ".")
state_path = os.path.join(ckpt_dir, "state.pt")
seed = int(os.environ.get("HPFLOW_SEED", "0")) % (2**31)
torch.set_num_threads(1)


def rows(path):
    with open(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        data = [[float(v) for v in r] for r in reader]
    x = torch.tensor([r[:-1] for r in data], dtype=torch.float32)
    y = torch.tensor([r[-1] for r in data])
    assert header[-1] == "label"
    return x, (y.long() if classification else y.float())


def model_for(features):
    out = int(os.environ.get("HPFLOW_CLASSES", "1")) if classification else 1
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(features, args.units),
        torch.nn.ReLU(),
        torch.nn.Linear(args.units, out),
    )


def loss_fn(out, y):
    if classification:
        return torch.nn.functional.cross_entropy(out, y)
    return torch.nn.functional.mse_loss(out.squeeze(1), y)


def measure(net, x, y, prefix):
    net.eval()
    with torch.no_grad():
        out = net(x)
        m = {f"{prefix}loss": loss_fn(out, y).item()}
        if classification:
            m[f"{prefix}accuracy"] = (out.argmax(1) == y).float().mean().item()
    net.train()
    return m


if mode == "evaluate":
    x, y = rows(os.environ["HPFLOW_TEST"])
    state = torch.load(os.path.join(os.environ["HPFLOW_MODEL_DIR"], "state.pt"))
    net = model_for(x.shape[1])
    net.load_state_dict(state["model"])
    print(json.dumps(measure(net, x, y, "test_")), flush=True)
    raise SystemExit(0)

x, y = rows(os.environ["HPFLOW_TRAIN"])
val = rows(os.environ["HPFLOW_VAL"]) if "HPFLOW_VAL" in os.environ else None
net = model_for(x.shape[1])
opt = torch.optim.Adam(net.parameters(), lr=args.lr)
epoch = 0
if os.path.exists(state_path):
    state = torch.load(state_path)
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    epoch = state["epoch"]

target = int(os.environ["HPFLOW_EPOCHS"])
while epoch < target:
    epoch += 1
    # The order of an epoch depends on the seed and the epoch only: resuming is exact.
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + epoch))
    total = 0.0
    for i in range(0, len(x), args.batch_size):
        b = order[i : i + args.batch_size]
        opt.zero_grad()
        loss = loss_fn(net(x[b]), y[b])
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    tmp = state_path + ".tmp"
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}, tmp)
    os.replace(tmp, state_path)
    line = {"epoch": epoch, "train_loss": total / len(x)}
    if val is not None:
        line.update(measure(net, *val, "val_"))
    print(json.dumps(line), flush=True)
