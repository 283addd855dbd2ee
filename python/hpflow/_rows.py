"""The rows hpflow hands a program: `x` (float32, [n, features]) and `y` (int64 class indices,
or float32 values), features normalised with the training rows' statistics. hpflow passes each
part twice: as CSV (HPFLOW_TRAIN, HPFLOW_VAL, HPFLOW_TEST) and as safetensors
(HPFLOW_TRAIN_SAFETENSORS, ...). The binary form is read when present: 60,000 x 784 rows load
in a fraction of a second there, against many seconds of CSV parsing."""
import json
import os
import struct

_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1", "F16": "<f2"}


def read_safetensors(path):
    """{name: numpy array} of a safetensors file, read with numpy alone: an 8-byte
    little-endian header length, a JSON header (dtype, shape, data_offsets), then the data."""
    import numpy as np

    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        out = {}
        for name, t in header.items():
            if name == "__metadata__":
                continue
            start, end = t["data_offsets"]
            dtype = np.dtype(_DTYPES[t["dtype"]])
            f.seek(8 + n + start)
            a = np.fromfile(f, dtype=dtype, count=(end - start) // dtype.itemsize)
            out[name] = a.reshape(t["shape"])
    return out


def read_csv(path, classification=None):
    """(x, y) of one of hpflow's CSVs: feature columns, then `label`."""
    import numpy as np

    with open(path) as f:
        header = f.readline().strip().split(",")
        if header[-1] != "label":
            raise ValueError(f"{path}: the last column is {header[-1]!r}, not 'label'")
        data = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    if classification is None:
        classification = os.environ.get("HPFLOW_TASK", "classification") == "classification"
    x = data[:, :-1].astype(np.float32)
    y = data[:, -1].astype(np.int64 if classification else np.float32)
    return x, y


def rows(part, binary=True):
    """(x, y) of `part` (`train`, `val` or `test`), or None when hpflow handed none over (a
    retrain on train+val has no val; only evaluate has test). `binary=False` reads the CSV."""
    key = "HPFLOW_" + part.upper()
    st = os.environ.get(key + "_SAFETENSORS")
    if binary and st and os.path.exists(st):
        t = read_safetensors(st)
        x = t["x"]
        return x.reshape(len(x), -1), t["y"]
    csv = os.environ.get(key)
    if not csv:
        return None
    return read_csv(csv)


def train_rows(binary=True):
    return rows("train", binary)


def val_rows(binary=True):
    return rows("val", binary)


def test_rows(binary=True):
    return rows("test", binary)
