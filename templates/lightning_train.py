"""A LightningModule tuned by hpflow (templates/lightning.yaml): hpflow.lightning's callback
reports the validation metrics at each epoch end, resumes from hpflow's checkpoint folder and
stops at HPFLOW_EPOCHS. Needs lightning (scripts/lightning-venv makes a venv with it)."""
import os
import sys

try:
    import hpflow
except ImportError:  # run from the repository without `pip install ./python`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import hpflow
import lightning as L
import torch
from hpflow.lightning import HpflowCallback
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)


class MLP(L.LightningModule):
    def __init__(self, features, classes, lr, units):
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(
            torch.nn.Linear(features, units), torch.nn.ReLU(), torch.nn.Linear(units, classes)
        )

    def training_step(self, batch, _):
        x, y = batch
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def _measure(self, batch, prefix):
        x, y = batch
        out = self.net(x)
        self.log(prefix + "loss", torch.nn.functional.cross_entropy(out, y))
        self.log(prefix + "accuracy", (out.argmax(1) == y).float().mean())

    def validation_step(self, batch, _):
        self._measure(batch, "val_")

    def test_step(self, batch, _):
        self._measure(batch, "test_")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def loader(part, shuffle=False):
    x, y = hpflow.rows(part)
    return DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=64,
                      shuffle=shuffle, generator=torch.Generator().manual_seed(hpflow.seed()))


L.seed_everything(hpflow.seed(), verbose=False)
quiet = dict(logger=False, enable_progress_bar=False, enable_model_summary=False,
             enable_checkpointing=False, accelerator="cpu", deterministic=True)
features = hpflow.rows("test" if hpflow.mode() == "evaluate" else "train")[0].shape[1]
model = MLP(features, hpflow.classes(), hpflow.param("lr", float), hpflow.param("units", int))
if hpflow.mode() == "evaluate":
    state = torch.load(os.path.join(hpflow.model_dir(), "last.ckpt"), weights_only=False)
    model.load_state_dict(state["state_dict"])
    (m,) = L.Trainer(**quiet).test(model, loader("test"), verbose=False)
    hpflow.evaluate(**m)
    raise SystemExit(0)
cb = HpflowCallback()
trainer = L.Trainer(max_epochs=hpflow.target_epochs(), callbacks=[cb], **quiet)
val = loader("val") if hpflow.val_rows() is not None else None
trainer.fit(model, loader("train", shuffle=True), val, ckpt_path=cb.resume_from())
