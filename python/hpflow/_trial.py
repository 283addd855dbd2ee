"""Parameters, mode, epochs, metric lines and checkpoints (see README, `model: command`)."""
import json
import math
import os
import pickle
import sys
import tempfile

_MISSING = object()


def params():
    """All hyperparameters (HPFLOW_PARAMS, JSON), as a dict."""
    return json.loads(os.environ.get("HPFLOW_PARAMS", "{}"))


def param(name, type=None, default=_MISSING):
    """One hyperparameter, converted by `type` (int, float, str, bool) when given."""
    p = params()
    if name not in p:
        if default is _MISSING:
            raise KeyError(f"hyperparameter {name!r} is not in HPFLOW_PARAMS ({sorted(p)})")
        return default
    v = p[name]
    if type is bool and isinstance(v, str):
        return v.lower() in ("1", "true", "yes")
    return type(v) if type is not None else v


def mode():
    """`search`, `retrain` or `evaluate` (HPFLOW_MODE; `search` when run by hand)."""
    return os.environ.get("HPFLOW_MODE", "search")


def task():
    """`classification` or `regression` (HPFLOW_TASK), None without `data:`."""
    return os.environ.get("HPFLOW_TASK")


def classes():
    """The number of classes (HPFLOW_CLASSES) for classification, else None."""
    k = os.environ.get("HPFLOW_CLASSES")
    return int(k) if k else None


def seed():
    """The trial's seed (HPFLOW_SEED), folded into 0..2**31 for torch/numpy generators."""
    return int(os.environ.get("HPFLOW_SEED", "0")) % (2**31)


def target_epochs():
    """The epoch to reach (HPFLOW_EPOCHS)."""
    return int(os.environ.get("HPFLOW_EPOCHS", "1"))


def checkpoint_dir():
    """The folder to save to and resume from (HPFLOW_CHECKPOINT_DIR; evaluate: the model's)."""
    d = os.environ.get("HPFLOW_CHECKPOINT_DIR") or "."
    os.makedirs(d, exist_ok=True)
    return d


def model_dir():
    """Evaluate mode: the retrained program's folder (HPFLOW_MODEL_DIR)."""
    return os.environ.get("HPFLOW_MODEL_DIR") or checkpoint_dir()


def _path(name, folder):
    return os.path.join(folder or checkpoint_dir(), name)


def save_checkpoint(state, name="state.pt", folder=None):
    """Save `state` atomically (a temp file in the same folder, then rename): a trial killed
    mid-save leaves the previous checkpoint whole. torch.save when torch is there, else pickle."""
    path = _path(name, folder)
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.save(state, f)
            else:
                pickle.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(name="state.pt", folder=None, **torch_load_args):
    """The state saved last (None when there is none: a fresh trial)."""
    path = _path(name, folder)
    if not os.path.exists(path):
        return None
    torch = sys.modules.get("torch")
    if torch is not None:
        torch_load_args.setdefault("weights_only", False)
        return torch.load(path, **torch_load_args)
    with open(path, "rb") as f:
        return pickle.load(f)


def start_epoch(state=None):
    """The last epoch done: `state["epoch"]` of a loaded checkpoint, else 0."""
    if isinstance(state, dict):
        return int(state.get("epoch", 0))
    return 0


def epochs(state=None):
    """The epochs still to train: start_epoch(state)+1 .. HPFLOW_EPOCHS."""
    return range(start_epoch(state) + 1, target_epochs() + 1)


def _number(v):
    if hasattr(v, "item"):  # a torch or numpy scalar
        v = v.item()
    return float(v)


def _line(metrics, epoch=None):
    # NaN and infinities are written as JSON's NaN / Infinity tokens: hpflow reads a line with
    # one as a diverged trial (README, `model: command`). Other values are plain numbers; the
    # epoch stays an integer (hpflow reads `"epoch": 2.0` as no metrics line at all).
    line = {} if epoch is None else {"epoch": int(epoch)}
    line.update({k: _number(v) for k, v in metrics.items()})
    return json.dumps(line, allow_nan=True)


def report(epoch, **metrics):
    """Print the protocol's line for `epoch`: {"epoch": N, "val_loss": ...}. A non-finite value
    marks the trial diverged; returns False then (stop training), else True."""
    values = {k: _number(v) for k, v in metrics.items()}
    print(_line(values, epoch), flush=True)
    return all(math.isfinite(v) for v in values.values())


def evaluate(**metrics):
    """Evaluate mode: print the test metrics as one line; names get a `test_` prefix."""
    named = {(k if k.startswith("test_") else "test_" + k): v for k, v in metrics.items()}
    print(_line(named), flush=True)
