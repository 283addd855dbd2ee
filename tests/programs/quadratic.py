"""A stand-in training program for `model: command` tests: no data, no libraries.

It "trains" a noisy quadratic: the loss after each epoch depends on --lr and --width.
It resumes from HPFLOW_CHECKPOINT_DIR, trains until HPFLOW_EPOCHS, and prints one JSON
line per epoch.
"""
import argparse
import json
import math
import os

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--width", type=int, required=True)
args = parser.parse_args()

ckpt_dir = os.environ.get("HPFLOW_CHECKPOINT_DIR", ".")
target = int(os.environ.get("HPFLOW_EPOCHS", "1"))
state_path = os.path.join(ckpt_dir, "state.json")

state = {"epoch": 0, "w": 5.0}
if os.path.exists(state_path):
    with open(state_path) as f:
        state = json.load(f)


def train_one_epoch(state):
    # gradient steps on (w - 1)^2, slowed down by a narrow width
    for _ in range(args.width):
        state["w"] -= args.lr * 2 * (state["w"] - 1.0) / 8
    state["epoch"] += 1


while state["epoch"] < target:
    train_one_epoch(state)
    loss = (state["w"] - 1.0) ** 2 + 0.01 * math.log(args.width + 1)
    tmp = state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, state_path)
    print(json.dumps({"epoch": state["epoch"], "val_loss": loss}), flush=True)
