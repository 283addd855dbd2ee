"""hpflow's split-time data checks and deepchecks on the same planted CSVs (see
deepchecks-compare). Each case is written to a temporary folder, split by `hpflow run` on a
workflow with a split stage only; deepchecks then gets that very split: train = hpflow's train
and val rows (what the model trains and is picked on), test = its sealed test rows."""

import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
HPFLOW = os.environ["HPFLOW"]
N = 300


def base(rng, n=N):
    x = rng.normal(size=(n, 4))
    score = x @ np.array([1.0, -0.8, 0.6, 0.5]) + rng.normal(scale=0.8, size=n)
    cls = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    df = pd.DataFrame(x, columns=["f1", "f2", "f3", "f4"]).round(6)
    df["label"] = np.array(["a", "b", "c"])[cls]
    return df


def cases():
    """(name, planted check, frame, features or None, extra split yaml, deepchecks roles)."""
    rng = np.random.default_rng(7)
    out = []
    df = base(rng)
    out.append(("clean", "-", df, None, "", {}))
    d = base(rng)
    d = pd.concat([d, d.sample(30, random_state=1)], ignore_index=True)
    out.append(("exact duplicates", "duplicates", d, None, "", {}))
    d = base(rng)
    near = d.sample(30, random_state=2).copy()
    near[["f1", "f2", "f3", "f4"]] += rng.uniform(-2e-5, 2e-5, size=(30, 4))
    out.append(("near duplicates", "near_duplicates", pd.concat([d, near.round(6)], ignore_index=True), None, "", {}))
    d = base(rng)
    flip = d.sample(20, random_state=3).copy()
    flip["label"] = flip["label"].map({"a": "b", "b": "c", "c": "a"})
    out.append(("conflicting labels", "conflicting_labels", pd.concat([d, flip], ignore_index=True), None, "", {}))
    d = base(rng)
    d.insert(4, "version", 1)
    out.append(("constant column", "constant_columns", d, None, "", {}))
    d = base(rng)
    d.insert(4, "leak", (d["label"].map({"a": 0, "b": 1, "c": 2}) + rng.normal(scale=0.05, size=N)).round(6))
    out.append(("label leak feature", "single_feature", d, None, "", {}))
    d = base(rng).sort_values("label", kind="stable").reset_index(drop=True)
    d.insert(0, "row_id", np.arange(1, N + 1))
    out.append(("row id sorted by label", "identifier", d, None, "", {"index_name": "row_id"}))
    # 30 patients with 10 rows each: a patient's rows are alike and mostly share a label.
    pid = np.repeat(np.arange(30), 10)
    centre = rng.normal(scale=2.0, size=(30, 4))
    x = centre[pid] + rng.normal(scale=0.3, size=(N, 4))
    d = pd.DataFrame(x.round(6), columns=["f1", "f2", "f3", "f4"])
    d["label"] = np.where(centre[pid, 0] + rng.normal(scale=0.5, size=N) > 0, "sick", "well")
    d.insert(0, "patient", [f"p{p:02d}" for p in pid])
    out.append(("patients in both splits", "shared_entity", d, ["f1", "f2", "f3", "f4"], "", {}))
    d = base(rng)
    d.insert(0, "date", pd.date_range("2023-01-01", periods=N, freq="D").strftime("%Y-%m-%d"))
    out.append(("dates split at random", "random_time", d, ["f1", "f2", "f3", "f4"], "", {"datetime_name": "date"}))
    out.append(("dates split by_time (control)", "-", d, ["f1", "f2", "f3", "f4"], "    by_time: date\n", {"datetime_name": "date"}))
    return out


def hpflow_split(folder, df, features, extra):
    df.to_csv(folder / "rows.csv", index=False)
    feats = "" if features is None else f"  features: [{', '.join(features)}]\n"
    (folder / "w.yaml").write_text(
        "name: compare\nseed: 1\ndata:\n  source: csv\n  path: rows.csv\n  label: label\n"
        f"  task: classification\n{feats}stages:\n  split:\n    kind: split\n"
        f"    train: 0.6\n    val: 0.2\n    test: 0.2\n{extra}"
    )
    subprocess.run([HPFLOW, "-q", "run", "w.yaml"], cwd=folder, check=True, capture_output=True)
    runs = folder / "runs"
    split = next(p for p in runs.iterdir() if (p / "split.json").exists())
    record = json.loads((split / "split.json").read_text())
    manifest = json.loads((split / "manifest.json").read_text())
    sealed = json.loads((split / "sealed" / "test.json").read_text())
    found = sorted({c["check"] for c in record.get("checks", [])})
    return found, manifest["train"] + manifest["val"], sealed["rows"]


def deepchecks_run(df, features, train_rows, test_rows, roles):
    from deepchecks.tabular import Dataset
    from deepchecks.tabular.checks import (
        ConflictingLabels,
        DateTrainTestLeakageOverlap,
        FeatureLabelCorrelation,
        IdentifierLabelCorrelation,
        IsSingleValue,
        TrainTestSamplesMix,
    )

    cols = features or [c for c in df.columns if c != "label"]
    keep = cols + ["label"] + [v for v in roles.values() if v not in cols]
    feat = [c for c in cols if c not in roles.values()]

    def ds(rows):
        part = df.iloc[sorted(rows)][keep].copy()
        if "datetime_name" in roles:
            part[roles["datetime_name"]] = pd.to_datetime(part[roles["datetime_name"]])
        return Dataset(part, label="label", features=feat, cat_features=[], **roles)

    train, test = ds(train_rows), ds(test_rows)
    checks = {
        "TrainTestSamplesMix": TrainTestSamplesMix().add_condition_duplicates_ratio_less_or_equal(0),
        "FeatureLabelCorrelation": FeatureLabelCorrelation().add_condition_feature_pps_less_than(0.8),
        "IdentifierLabelCorrelation": IdentifierLabelCorrelation().add_condition_pps_less_or_equal(0.2),
        "DateTrainTestLeakageOverlap": DateTrainTestLeakageOverlap().add_condition_leakage_ratio_less_or_equal(0),
        "ConflictingLabels": ConflictingLabels().add_condition_ratio_of_conflicting_labels_less_or_equal(0),
        "IsSingleValue": IsSingleValue().add_condition_not_single_value(),
    }
    failed = []
    for name, check in checks.items():
        try:
            if name in ("TrainTestSamplesMix", "DateTrainTestLeakageOverlap"):
                result = check.run(train, test)
            elif name in ("ConflictingLabels", "IsSingleValue"):
                full = Dataset(pd.concat([train.data, test.data]), label="label", features=feat,
                               cat_features=[], **{k: v for k, v in roles.items() if k != "datetime_name"})
                result = check.run(full)
            else:
                result = check.run(train)
        except Exception as e:  # a check that cannot run on this data (no date column, …)
            if "DatasetValidationError" in type(e).__name__ or "NotEnoughSamples" in type(e).__name__:
                continue
            failed.append(f"{name}: error {type(e).__name__}")
            continue
        if not result.passed_conditions():
            failed.append(name)
    return failed


def main():
    rows = []
    for name, planted, df, features, extra, roles in cases():
        with tempfile.TemporaryDirectory() as tmp:
            found, train, test = hpflow_split(Path(tmp), df, features, extra)
        dc = deepchecks_run(df, features, train, test, roles)
        rows.append((name, planted, ", ".join(found) or "-", ", ".join(dc) or "-"))
    heads = ("case", "planted", "hpflow findings", "deepchecks failed conditions")
    widths = [max(len(r[i]) for r in rows + [heads]) for i in range(4)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    print(line(heads))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    sys.exit(main())
