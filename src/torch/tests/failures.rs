//! Trials that cannot train end in the right state with a reason: divergence, infeasible
//! architectures, bad hyperparameters, CUDA that is not there.

use serde_json::json;

use super::{Problem, fixture, serial, small};
use hpflow::train::{Trainer, TrialState};

#[test]
fn a_huge_learning_rate_diverges() {
    let _g = serial();
    let f = fixture(Problem::Images3, 200);
    let s = f.train(
        "mlp",
        json!({"optimizer": "sgd", "lr": 1e6, "units": 16}),
        5,
    );
    assert_eq!(s.state, TrialState::Diverged, "{s:?}");
    assert!(
        s.reason.as_deref().unwrap_or_default().contains("in epoch"),
        "{s:?}"
    );
    assert!(s.metrics.is_empty());
}

#[test]
fn transformer_with_d_model_not_divisible_by_heads_is_infeasible() {
    let _g = serial();
    let f = fixture(Problem::Images3, 60);
    let s = f.train("transformer", small(json!({"heads": 4, "d_model": 30})), 1);
    assert_eq!(s.state, TrialState::Infeasible);
    assert!(
        s.reason
            .unwrap_or_default()
            .contains("not divisible by heads")
    );
    let s = f.train(
        "transformer",
        small(json!({"heads": 2, "d_model": 8, "patch_size": 3})),
        1,
    );
    assert_eq!(s.state, TrialState::Infeasible, "{s:?}");
}

#[test]
fn cnn_kernel_or_pool_larger_than_its_input_is_infeasible() {
    let _g = serial();
    let f = fixture(Problem::Images3, 60);
    let s = f.train(
        "cnn",
        small(json!({"kernel_size": 9, "padding": "valid"})),
        1,
    );
    assert_eq!(s.state, TrialState::Infeasible);
    assert!(s.reason.unwrap_or_default().contains("kernel 9"));
    // 8 -> pool 2 -> 4 -> 2 -> 1, the fourth pool has nothing to pool.
    let s = f.train("cnn", small(json!({"conv_layers": 4, "filters": 4})), 1);
    assert_eq!(s.state, TrialState::Infeasible, "{s:?}");
    let tab = fixture(Problem::Binary16, 60);
    assert_eq!(
        tab.train("cnn", small(json!({})), 1).state,
        TrialState::Infeasible
    );
}

#[test]
fn bad_hyperparameters_fail_with_the_key() {
    let _g = serial();
    let f = fixture(Problem::Images3, 60);
    let s = f.train("mlp", json!({"activation": "swish"}), 1);
    assert_eq!(s.state, TrialState::Failed);
    assert!(s.reason.unwrap_or_default().contains("activation"));
}

#[test]
fn cuda_that_is_not_there_fails_clearly() {
    if tch::Cuda::is_available() {
        return;
    }
    let _g = serial();
    let f = fixture(Problem::Images3, 60);
    let mut req = f.request("mlp", json!({}), 1, &f.trial_dir("cuda"));
    req.device = "cuda:0".into();
    let s = f.trainer().run(&req).expect("status");
    assert_eq!(s.state, TrialState::Failed);
    assert_eq!(
        s.reason.as_deref(),
        Some("device cuda:0 requested but CUDA is not available")
    );
}

#[test]
fn missing_data_fails_the_trial_only() {
    let _g = serial();
    let f = fixture(Problem::Images3, 60);
    let req = f.request("mlp", json!({}), 1, &f.trial_dir("nodata"));
    // The split's train file is gone: the trial fails with the path, the worker goes on.
    let train = req.data.as_ref().expect("data").train.clone();
    std::fs::remove_file(&train).expect("remove");
    let s = f.trainer().run(&req).expect("status");
    assert_eq!(s.state, TrialState::Failed, "{s:?}");
    assert!(
        s.reason
            .as_deref()
            .unwrap_or_default()
            .contains("train.safetensors"),
        "{s:?}"
    );
}
