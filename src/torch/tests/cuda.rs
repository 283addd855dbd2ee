//! On a machine with CUDA: every model family trains with its data resident on the GPU, a
//! trial resumes there, and a retrained model is evaluated there. Skipped (passing) without
//! CUDA, where `failures::cuda_that_is_not_there_fails_clearly` covers the request instead.

use std::path::Path;

use serde_json::json;
use tch::Tensor;

use super::{Problem, fixture, serial, small};
use hpflow::train::{Mode, Trainer, TrialState, checkpoint};

#[test]
fn trains_resumes_and_evaluates_on_cuda() {
    if !tch::Cuda::is_available() {
        eprintln!("CUDA is not available: skipped");
        return;
    }
    let _g = serial();
    let f = fixture(Problem::Images3, 300);
    let models = [
        ("mlp", json!({"units": 32, "dropout": 0.1})),
        ("cnn", json!({"filters": 8, "dense_units": 16})),
        (
            "rnn",
            json!({"cell": "lstm", "rnn_units": 16, "bidirectional": true}),
        ),
        (
            "transformer",
            json!({"heads": 2, "d_model": 16, "ff_dim": 32, "encoder_layers": 1, "batch_size": 16}),
        ),
    ];
    for (model, config) in models {
        let mut req = f.request(
            model,
            small(config),
            8,
            &f.trial_dir(&format!("cuda-{model}")),
        );
        req.device = "cuda".into();
        let s = f.trainer().run(&req).expect("status");
        assert_eq!(s.state, TrialState::Done, "{model}: {:?}", s.reason);
        assert!(s.metrics["val_accuracy"] > 0.8, "{model}: {:?}", s.metrics);
        eprintln!(
            "cuda {model}: val_accuracy {:.3}",
            s.metrics["val_accuracy"]
        );
    }

    // Resume on the GPU: 2 epochs, then a fresh trainer to 4, against 4 straight. Bitwise
    // equality is not promised on CUDA; report how many tensors differ.
    let config = small(json!({"units": 16, "dropout": 0.2}));
    let run = |dir: &Path, epochs| {
        let mut req = f.request("mlp", config.clone(), epochs, dir);
        req.device = "cuda:0".into();
        let s = f.trainer().run(&req).expect("status");
        assert_eq!(s.state, TrialState::Done, "{:?}", s.reason);
    };
    let (straight, resumed) = (f.trial_dir("cuda-straight"), f.trial_dir("cuda-resumed"));
    run(&straight, 4);
    run(&resumed, 2);
    run(&resumed, 4);
    assert_eq!(
        checkpoint::epochs(&hpflow::train::TrialDir::of(&resumed).checkpoints()),
        vec![1, 2, 3, 4]
    );
    let file = |d: &Path| {
        hpflow::train::TrialDir::of(&d)
            .checkpoints()
            .join(checkpoint::folder_name(4))
            .join("weights.safetensors")
    };
    let a = Tensor::read_safetensors(file(&straight)).expect("weights");
    let b: std::collections::HashMap<_, _> = Tensor::read_safetensors(file(&resumed))
        .expect("weights")
        .into_iter()
        .collect();
    let differ = a.iter().filter(|(n, t)| !t.equal(&b[n])).count();
    eprintln!(
        "cuda resume: {differ} of {} weight tensors differ from the straight run",
        a.len()
    );

    let dir = f.trial_dir("cuda-retrain");
    let mut req = f.request("mlp", config.clone(), 3, &dir);
    req.device = "cuda".into();
    req.mode = Mode::Retrain {
        on: hpflow::vocab::RetrainOn::Train,
    };
    assert_eq!(
        f.trainer().run(&req).expect("status").state,
        TrialState::Done
    );
    let mut eval = f.request("mlp", json!({}), 0, &f.trial_dir("cuda-eval"));
    eval.device = "cuda".into();
    eval.mode = Mode::Evaluate {
        model_dir: hpflow::train::TrialDir::of(&dir).model(),
        test: f.test.clone(),
        metrics: vec![],
    };
    let e = f.trainer().run(&eval).expect("status");
    assert_eq!(e.state, TrialState::Done, "{:?}", e.reason);
    assert!(e.metrics["test_accuracy"] > 0.8, "{:?}", e.metrics);
}
