"""A `command` program for tests/sandbox.rs: it reads the file its first argument names
(`source`: the data source rows.csv, as a careless script does; `train`: HPFLOW_TRAIN; any
`name-thread`: names its thread as NVIDIA's driver does in cuInit, then reads HPFLOW_TRAIN; any
other value: that path), then reports epochs. In evaluate mode it tries to write into the
model folder, says where its test rows are (on stderr), and prints test metrics."""

import json
import os
import sys
import threading

mode = os.environ.get("HPFLOW_MODE", "search")
if mode == "evaluate":
    try:
        with open(os.path.join(os.environ["HPFLOW_MODEL_DIR"], "overwritten"), "w") as f:
            f.write("x")
        wrote = 1
    except OSError:  # denied, or a read-only folder (bubblewrap)
        wrote = 0
    with open(os.environ["HPFLOW_TEST"]) as f:
        rows = len(f.read().splitlines()) - 1
    print("test rows at " + os.environ["HPFLOW_TEST"], file=sys.stderr)
    print(json.dumps({"test_accuracy": 0.5, "test_rows": rows, "test_wrote_model": wrote}))
    sys.exit(0)

what = sys.argv[1]
if what == "name-thread":
    # open(..., "w") is O_WRONLY|O_CREAT|O_TRUNC, the driver's way: a sandbox that grants
    # /proc writes without truncation breaks CUDA's start.
    with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as f:
        f.write("cuda-like")
    what = "train"
path = {"source": "rows.csv", "train": os.environ.get("HPFLOW_TRAIN", "")}.get(what, what)
with open(path, "rb") as f:
    n = len(f.read())
with open(os.path.join(os.environ["HPFLOW_CHECKPOINT_DIR"], "model.txt"), "w") as f:
    f.write(str(n))
for e in range(1, int(os.environ["HPFLOW_EPOCHS"]) + 1):
    print(json.dumps({"epoch": e, "val_loss": 1.0 / e}), flush=True)
