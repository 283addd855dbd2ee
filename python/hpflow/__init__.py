"""The trial side of hpflow's `model: command` protocol, standard library only.

    import hpflow
    lr = hpflow.param("lr", float)
    x, y = hpflow.train_rows()          # numpy arrays (safetensors when hpflow hands them over)
    state = hpflow.load_checkpoint()    # None on a fresh start
    for epoch in hpflow.epochs(state):  # start epoch + 1 .. HPFLOW_EPOCHS
        ...
        hpflow.save_checkpoint({"model": ..., "epoch": epoch})
        hpflow.report(epoch, val_loss=...)

numpy is needed only for the rows, torch only to checkpoint torch objects.
"""
from ._trial import (
    checkpoint_dir,
    classes,
    epochs,
    evaluate,
    load_checkpoint,
    mode,
    model_dir,
    param,
    params,
    report,
    save_checkpoint,
    seed,
    start_epoch,
    target_epochs,
    task,
)
from ._rows import read_csv, read_safetensors, rows, test_rows, train_rows, val_rows

__all__ = [
    "checkpoint_dir", "classes", "epochs", "evaluate", "load_checkpoint", "mode", "model_dir",
    "param", "params", "report", "save_checkpoint", "seed", "start_epoch", "target_epochs",
    "task", "read_csv", "read_safetensors", "rows", "test_rows", "train_rows", "val_rows",
]
