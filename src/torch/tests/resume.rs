//! Resuming is exact: 2 epochs, a checkpoint, a fresh trainer continuing to 4 gives every
//! weight and every optimizer state tensor bitwise equal to 4 epochs straight, for each
//! optimizer. Also: a corrupt checkpoint falls back to the one before, and PBT's clone
//! continues from another trial's checkpoint.

use std::collections::HashMap;
use std::path::Path;

use serde_json::json;
use tch::Tensor;

use super::{Fixture, Problem, fixture, serial, small};
use hpflow::train::checkpoint;
use hpflow::train::{Trainer, TrialState};

fn tensors(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .expect("read safetensors")
        .into_iter()
        .collect()
}

/// Every tensor of both checkpoint files bitwise equal; returns how many were compared.
fn assert_same_state(a: &Path, b: &Path) -> usize {
    let mut compared = 0;
    for file in ["weights.safetensors", "optimizer.safetensors"] {
        let (ta, tb) = (tensors(&a.join(file)), tensors(&b.join(file)));
        assert_eq!(ta.len(), tb.len(), "{file}");
        for (name, t) in &ta {
            assert!(t.equal(&tb[name]), "{file}: {name} differs after resuming");
            compared += 1;
        }
    }
    compared
}

fn run(f: &Fixture, config: &serde_json::Value, epochs: u32, dir: &Path) {
    let req = f.request("mlp", config.clone(), epochs, dir);
    let s = f.trainer().run(&req).expect("status");
    assert_eq!(s.state, TrialState::Done, "{:?}", s.reason);
    assert_eq!(s.epoch, epochs);
}

fn exact_resume(optimizer: serde_json::Value) {
    let _g = serial();
    let f = fixture(Problem::Images3, 200);
    // Dropout, L1 and weight decay on, so that every path of the step is exercised.
    let mut config = small(json!({"units": 16, "dropout": 0.2, "l1": 1e-5, "weight_decay": 1e-4}));
    if let (Some(c), Some(o)) = (config.as_object_mut(), optimizer.as_object()) {
        c.extend(o.clone());
    }
    let straight = f.trial_dir("straight");
    run(&f, &config, 4, &straight);
    let resumed = f.trial_dir("resumed");
    run(&f, &config, 2, &resumed);
    // Disturb libtorch's global generator between the two halves.
    tch::manual_seed(999);
    let _ = Tensor::randn([100], (tch::Kind::Float, tch::Device::Cpu));
    run(&f, &config, 4, &resumed);
    let root = |d: &Path| {
        hpflow::train::TrialDir::of(&d)
            .checkpoints()
            .join(checkpoint::folder_name(4))
    };
    let n = assert_same_state(&root(&straight), &root(&resumed));
    assert!(n >= 7, "compared only {n} tensors");
    let history = |d: &Path| checkpoint::load(&root(d)).expect("checkpoint").meta.history;
    assert_eq!(history(&straight), history(&resumed));
    let lines = std::fs::read_to_string(hpflow::train::TrialDir::of(&resumed).metrics())
        .expect("metrics.jsonl");
    assert_eq!(lines.lines().count(), 4);
    // Per-epoch seeding makes retraining from scratch give the same weights, so only the log
    // of epochs actually trained tells resuming apart: 2 + 2, not 2 + 4.
    let trained = std::fs::read_to_string(hpflow::train::TrialDir::of(&resumed).epochs_log())
        .expect("epochs.log");
    assert_eq!(trained.lines().count(), 4, "epochs trained:\n{trained}");
}

#[test]
fn exact_resume_sgd_nesterov() {
    exact_resume(json!({"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true}));
}

#[test]
fn exact_resume_adam() {
    exact_resume(json!({"optimizer": "adam"}));
}

#[test]
fn exact_resume_adamw() {
    exact_resume(json!({"optimizer": "adamw", "weight_decay": 0.01}));
}

#[test]
fn exact_resume_rmsprop_momentum() {
    exact_resume(json!({"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.5}));
}

#[test]
fn exact_resume_adagrad() {
    exact_resume(json!({"optimizer": "adagrad"}));
}

#[test]
fn corrupt_checkpoint_falls_back_to_the_one_before() {
    let _g = serial();
    let f = fixture(Problem::Images3, 200);
    let config = small(json!({"units": 16, "dropout": 0.2}));
    let dir = f.trial_dir("trial");
    run(&f, &config, 3, &dir);
    let third = hpflow::train::TrialDir::of(&dir)
        .checkpoints()
        .join(checkpoint::folder_name(3));
    let good = f.trial_dir("copy");
    std::fs::create_dir_all(&good).expect("mkdir");
    for file in ["weights.safetensors", "optimizer.safetensors"] {
        std::fs::copy(third.join(file), good.join(file)).expect("copy");
    }
    std::fs::write(third.join("weights.safetensors"), b"torn write").expect("corrupt");
    // Asked for 3 epochs again: epoch 3 is retrained from epoch 2, to the same weights.
    run(&f, &config, 3, &dir);
    assert_eq!(
        checkpoint::epochs(&hpflow::train::TrialDir::of(&dir).checkpoints()),
        vec![1, 2, 3]
    );
    assert_same_state(&good, &third);
}

#[test]
fn pbt_clone_continues_from_another_trial_with_its_own_config() {
    let _g = serial();
    let f = fixture(Problem::Images3, 200);
    let donor = f.trial_dir("donor");
    run(&f, &small(json!({"units": 16})), 2, &donor);
    let from = hpflow::train::TrialDir::of(&donor)
        .checkpoints()
        .join(checkpoint::folder_name(2));
    let dir = f.trial_dir("clone");
    let mut req = f.request("mlp", small(json!({"units": 16, "lr": 0.002})), 3, &dir);
    req.clone_from = Some(from);
    let s = f.trainer().run(&req).expect("status");
    assert_eq!(s.state, TrialState::Done, "{:?}", s.reason);
    assert_eq!(s.epoch, 3);
    assert_eq!(
        checkpoint::epochs(&hpflow::train::TrialDir::of(&dir).checkpoints()),
        vec![3]
    );
    let lines = std::fs::read_to_string(hpflow::train::TrialDir::of(&dir).metrics())
        .expect("metrics.jsonl");
    assert_eq!(
        lines.lines().count(),
        3,
        "the donor's history travels with its weights"
    );
    // A clone whose architecture differs cannot take the donor's weights.
    let mut bad = f.request("mlp", small(json!({"units": 8})), 3, &f.trial_dir("bad"));
    bad.clone_from = req.clone_from.clone();
    let s = f.trainer().run(&bad).expect("status");
    assert_eq!(s.state, TrialState::Failed, "{:?}", s);
}

/// Resuming mid-warm-up and mid-cosine gives the weights of never stopping: the schedule is
/// a function of the epoch and the search's `max_epochs`, both the same on both paths.
#[test]
fn exact_resume_through_lr_schedules() {
    let _g = serial();
    let f = fixture(Problem::Images3, 200);
    let config = small(
        json!({"units": 16, "lr_schedule": "cosine", "warmup_epochs": 2, "min_lr": 1e-4, "grad_clip": 0.5}),
    );
    let run_to = |epochs: u32, dir: &Path| {
        let mut req = f.request("mlp", config.clone(), epochs, dir);
        req.max_epochs = 6;
        let s = f.trainer().run(&req).expect("status");
        assert_eq!(s.state, TrialState::Done, "{:?}", s.reason);
        s
    };
    let straight = f.trial_dir("straight");
    let end = run_to(6, &straight);
    // The learning rate followed the schedule: a warm-up, then the cosine down to min_lr.
    let lrs: Vec<f64> = checkpoint::load(&hpflow::train::TrialDir::of(&straight).checkpoint(6))
        .expect("checkpoint")
        .meta
        .history
        .iter()
        .map(|h| h.values["lr"])
        .collect();
    assert_eq!(lrs.len(), 6);
    assert!(
        lrs[0] < lrs[1] && lrs[1] <= lrs[2] && lrs[2] > lrs[5],
        "{lrs:?}"
    );
    // The last epoch of the horizon still trains, on the way down to min_lr.
    assert!(
        end.metrics["lr"] > 1e-4 && end.metrics["lr"] < lrs[3],
        "{lrs:?}"
    );
    for stop in [1, 4] {
        // 1: in the warm-up; 4: half-way down the cosine.
        let resumed = f.trial_dir(&format!("resumed-{stop}"));
        run_to(stop, &resumed);
        tch::manual_seed(999);
        run_to(6, &resumed);
        let at6 = |d: &Path| hpflow::train::TrialDir::of(d).checkpoint(6);
        assert!(assert_same_state(&at6(&straight), &at6(&resumed)) >= 7);
        let trained = std::fs::read_to_string(hpflow::train::TrialDir::of(&resumed).epochs_log())
            .expect("epochs.log");
        assert_eq!(trained.lines().count(), 6, "resumed, not retrained");
    }
}

/// Early stopping in progress when the trial is interrupted: the resumed trial stops at the
/// same epoch, reports the same best epoch and metrics, and keeps the same weights.
#[test]
fn exact_resume_with_early_stopping_in_progress() {
    let _g = serial();
    let f = fixture(Problem::Images3, 200);
    let config = small(json!({"units": 64, "lr": 0.05}));
    let rule = hpflow::train::early::EarlyStopping {
        metric: "val_loss".into(),
        goal: hpflow::workflow::Goal::Minimize,
        patience: 2,
        min_delta: 0.01,
    };
    let run_to = |epochs: u32, dir: &Path| {
        let mut req = f.request("mlp", config.clone(), epochs, dir);
        req.max_epochs = 12;
        req.early_stopping = Some(rule.clone());
        let s = f.trainer().run(&req).expect("status");
        assert_eq!(s.state, TrialState::Done, "{:?}", s.reason);
        s
    };
    let straight = f.trial_dir("straight");
    let end = run_to(12, &straight);
    let early = end.early.expect("an early-stopping record");
    assert!(early.stopped, "the trial never stopped: {end:?}");
    assert_eq!(end.epoch, early.best_epoch + 2);
    // The reported metrics are the best epoch's, not the last one's.
    let history = checkpoint::load(&hpflow::train::TrialDir::of(&straight).checkpoint(end.epoch))
        .expect("checkpoint")
        .meta
        .history;
    assert_eq!(end.metrics, history[early.best_epoch as usize - 1].values);
    assert_ne!(end.metrics, history.last().unwrap().values);
    // Interrupted one epoch before it stops, i.e. one epoch without improvement behind it.
    let resumed = f.trial_dir("resumed");
    run_to(end.epoch - 1, &resumed);
    tch::manual_seed(999);
    let again = run_to(12, &resumed);
    assert_eq!(
        (again.epoch, again.early, &again.metrics),
        (end.epoch, end.early, &end.metrics)
    );
    let at = |d: &Path| hpflow::train::TrialDir::of(d).checkpoint(end.epoch);
    assert!(assert_same_state(&at(&straight), &at(&resumed)) >= 7);
    // Asked again for more epochs (a promotion), a stopped trial trains nothing more.
    let more = run_to(12, &resumed);
    assert_eq!(more.epoch, end.epoch);
    let trained = std::fs::read_to_string(hpflow::train::TrialDir::of(&resumed).epochs_log())
        .expect("epochs.log");
    assert_eq!(
        trained.lines().count() as u32,
        end.epoch,
        "resumed, not retrained"
    );
}
