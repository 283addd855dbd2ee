"""A training program for `model: command`: a PyTorch MLP on the rows hpflow hands over,
written with hpflow's Python helper (`hpflow init --template command` puts it beside this
file as hpflow/; `pip install ./python` installs it from the repository).

hpflow runs it in one of three modes (HPFLOW_MODE): search and retrain train until
HPFLOW_EPOCHS, resuming from the checkpoint folder, and report the validation metrics after
each epoch; evaluate measures the retrained model once on the sealed test rows.
Hyperparameters come as arguments (or hpflow.param("lr", float)).
"""
import argparse
import os
import sys

try:
    import hpflow
except ImportError:  # run from the repository without `pip install ./python`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import hpflow
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--units", type=int, required=True)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()
torch.set_num_threads(1)
classification = hpflow.task() != "regression"


def tensors(part):
    x, y = part
    return torch.from_numpy(x), torch.from_numpy(y)


def model_for(features):
    torch.manual_seed(hpflow.seed())
    out = hpflow.classes() if classification else 1
    return torch.nn.Sequential(
        torch.nn.Linear(features, args.units), torch.nn.ReLU(), torch.nn.Linear(args.units, out)
    )


def loss_fn(out, y):
    if classification:
        return torch.nn.functional.cross_entropy(out, y)
    return torch.nn.functional.mse_loss(out.squeeze(1), y)


def measure(net, x, y):
    with torch.no_grad():
        out = net(x)
        m = {"loss": loss_fn(out, y).item()}
        if classification:
            m["accuracy"] = (out.argmax(1) == y).float().mean().item()
    return m


if hpflow.mode() == "evaluate":
    x, y = tensors(hpflow.test_rows())
    net = model_for(x.shape[1])
    net.load_state_dict(hpflow.load_checkpoint(folder=hpflow.model_dir())["model"])
    hpflow.evaluate(**measure(net, x, y))
    raise SystemExit(0)

x, y = tensors(hpflow.train_rows())
val = hpflow.val_rows()  # None in a retrain on train+val
net = model_for(x.shape[1])
opt = torch.optim.Adam(net.parameters(), lr=args.lr)
state = hpflow.load_checkpoint()
if state:
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])

for epoch in hpflow.epochs(state):
    # The order of an epoch depends on the seed and the epoch only: resuming is exact.
    gen = torch.Generator().manual_seed(hpflow.seed() + epoch)
    order = torch.randperm(len(x), generator=gen)
    total = 0.0
    for i in range(0, len(x), args.batch_size):
        b = order[i : i + args.batch_size]
        opt.zero_grad()
        loss = loss_fn(net(x[b]), y[b])
        loss.backward()
        opt.step()
        total += loss.item() * len(b)
    hpflow.save_checkpoint({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch})
    metrics = {"train_loss": total / len(x)}
    if val is not None:
        metrics.update({"val_" + k: v for k, v in measure(net, *tensors(val)).items()})
    if not hpflow.report(epoch, **metrics):
        break  # diverged: hpflow stops the trial
