"""B5's PyTorch training (b5_torch.py, the Optuna peer's code) as a hpflow `model: command`
program, so that the controlled experiment (b5_control.py) can run the peer's trainer under
hpflow's search. The rows come normalised with the split's statistics; the program
standardises every input again over its training rows, as the peer does (per-input
standardisation undoes any affine map of each input, so this is the peer's normalisation).
A retrain on train+val fits those statistics on train+val (the program is not told which rows
were train); the peer fits them on train.

Extra parameters (experiment only): peer_init (torch | kaiming_relu) and peer_norm
(per_pixel | split: keep the split's normalisation, as hpflow's own trainer does).
Search: one line per epoch with val_accuracy. Retrain: the model is saved in
HPFLOW_CHECKPOINT_DIR. Evaluate: test_accuracy of that model. A trial that is asked again
after its last epoch trains nothing; one stopped in the middle starts over (no resume).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import b5_torch  # noqa: E402
import hpflow  # noqa: E402  (python/hpflow of this repository, copied beside this file)

torch.set_num_threads(int(os.environ.get("B5_THREADS", "1")))
cfg = hpflow.params()
MODEL = "model.pt"


def tensors(rows):
    x, y = rows
    return torch.from_numpy(x.astype("float32")), torch.from_numpy(y.astype("int64"))


if hpflow.mode() == "evaluate":
    saved = hpflow.load_checkpoint(MODEL, folder=hpflow.model_dir())
    xs, ys = tensors(hpflow.test_rows())
    m = b5_torch.model(saved["cfg"], xs.shape[1], saved["classes"])
    m.load_state_dict(saved["state"])
    hpflow.evaluate(accuracy=b5_torch.accuracy(m, (xs - saved["mean"]) / saved["std"], ys))
    sys.exit(0)

done = hpflow.load_checkpoint(MODEL)
if done is not None and done["epoch"] >= hpflow.target_epochs():
    sys.exit(0)
xt, yt = tensors(hpflow.train_rows())
val = hpflow.val_rows()
if cfg.get("peer_norm", "per_pixel") == "per_pixel":
    mean, std = b5_torch.per_pixel(xt)
else:
    mean, std = torch.zeros(xt.shape[1]), torch.ones(xt.shape[1])
xt = (xt - mean) / std
if val is not None:
    xv, yv = tensors(val)
    xv = (xv - mean) / std


def after_epoch(epoch, m):
    if val is not None:
        hpflow.report(epoch, val_accuracy=b5_torch.accuracy(m, xv, yv))
    else:
        hpflow.report(epoch, epochs_done=epoch)


m = b5_torch.train(cfg, xt, yt, hpflow.seed(), hpflow.target_epochs(), cfg.get("peer_init", "torch"), after_epoch)
hpflow.save_checkpoint({"epoch": hpflow.target_epochs(), "cfg": cfg, "classes": int(yt.max()) + 1,
                        "mean": mean, "std": std, "state": m.state_dict()}, MODEL)
