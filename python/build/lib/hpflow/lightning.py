"""A PyTorch Lightning callback for hpflow trials: it reports the logged metrics at each epoch
end as the protocol's line, saves Lightning's checkpoint in HPFLOW_CHECKPOINT_DIR (atomically)
so that a promoted or restarted trial resumes, and stops at HPFLOW_EPOCHS.

    from hpflow.lightning import HpflowCallback
    cb = HpflowCallback()
    trainer = lightning.Trainer(max_epochs=hpflow.target_epochs(), callbacks=[cb], ...)
    trainer.fit(model, datamodule, ckpt_path=cb.resume_from())
"""
import math
import os

try:
    import lightning.pytorch as pl
except ImportError:  # the older package name
    import pytorch_lightning as pl

from . import _trial


class HpflowCallback(pl.Callback):
    def __init__(self, name="last.ckpt"):
        super().__init__()
        self.path = os.path.join(_trial.checkpoint_dir(), name)
        self.diverged = False

    def resume_from(self):
        """The checkpoint to pass as `ckpt_path` (None on a fresh trial)."""
        return self.path if os.path.exists(self.path) else None

    def on_train_start(self, trainer, pl_module):
        # HPFLOW_EPOCHS wins over the Trainer's max_epochs: a promoted trial trains further.
        trainer.fit_loop.max_epochs = _trial.target_epochs()

    def on_train_epoch_end(self, trainer, pl_module):
        # Lightning runs the epoch's validation before this hook: its metrics are here.
        epoch = trainer.current_epoch + 1
        metrics = {}
        for k, v in trainer.callback_metrics.items():
            try:
                metrics[k] = float(v)
            except (TypeError, ValueError):
                continue
        tmp = self.path + ".tmp"
        trainer.save_checkpoint(tmp)
        os.replace(tmp, self.path)
        if not _trial.report(epoch, **metrics):
            self.diverged = True
            trainer.should_stop = True
        if epoch >= _trial.target_epochs():
            trainer.should_stop = True
        if not all(math.isfinite(v) for v in metrics.values()):
            trainer.should_stop = True
