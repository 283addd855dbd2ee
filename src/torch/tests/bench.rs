//! The trainer's side of `scripts/bench-trainer` (ignored in normal runs): Fashion-MNIST read
//! from its IDX files, trained through `TorchTrainer` exactly as a worker would (validation and
//! a checkpoint after every epoch), printing one JSON line with the seconds per epoch and the
//! process's peak resident memory.
//!
//! Settings come from the environment: HPFLOW_BENCH_MODEL (mlp | cnn), HPFLOW_BENCH_EPOCHS,
//! HPFLOW_BENCH_THREADS, HPFLOW_BENCH_DEVICE, HPFLOW_BENCH_DATA (the IDX folder).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use serde_json::json;

use super::{Problem, fixture, serial};
use crate::trainer::TorchTrainer;
use hpflow::data::{Dataset, Manifest, Normalisation, Target, Task};
use hpflow::train::{Trainer, TrialState};

fn idx(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("gunzip");
    // Header: magic (dims in its last byte), then one big-endian u32 per dimension.
    let dims = bytes[3] as usize;
    bytes.split_off(4 + 4 * dims)
}

fn fashion(dir: &Path) -> Dataset {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for set in ["train", "t10k"] {
        x.extend(
            idx(&dir.join(format!("{set}-images-idx3-ubyte.gz")))
                .iter()
                .map(|p| f32::from(*p) / 255.0),
        );
        y.extend(
            idx(&dir.join(format!("{set}-labels-idx1-ubyte.gz")))
                .iter()
                .map(|l| i64::from(*l)),
        );
    }
    Dataset {
        n: y.len(),
        x,
        shape: vec![1, 28, 28],
        y: Target::Classes(y),
        classes: 10,
        task: Task::Classification,
        feature_names: Vec::new(),
        class_names: Vec::new(),
        groups: None,
        official_test_from: Some(60_000),
        source: None,
    }
}

fn env(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[test]
#[ignore]
fn bench_fashion_mnist() {
    let _g = serial();
    let model = env("HPFLOW_BENCH_MODEL", "mlp");
    let epochs: u32 = env("HPFLOW_BENCH_EPOCHS", "3")
        .parse()
        .expect("HPFLOW_BENCH_EPOCHS");
    let threads: usize = env("HPFLOW_BENCH_THREADS", "2")
        .parse()
        .expect("HPFLOW_BENCH_THREADS");
    let ds = fashion(Path::new(&env(
        "HPFLOW_BENCH_DATA",
        "/usr/share/datasets/fashion-mnist",
    )));
    // The fixture provides the temp folder and request shape; its data is replaced.
    let f = fixture(Problem::Images3, 30);
    let train: Vec<u32> = (0..60_000).collect();
    let (sum, sq) = ds.x[..60_000 * 784].iter().fold((0f64, 0f64), |(s, q), v| {
        (s + f64::from(*v), q + f64::from(*v).powi(2))
    });
    let count = 60_000.0 * 784.0;
    let mean = sum / count;
    let manifest = Manifest {
        train,
        val: (60_000..70_000).collect(),
        folds: Vec::new(),
        normalisation: Normalisation {
            mean: vec![mean as f32],
            std: vec![(sq / count - mean * mean).sqrt() as f32],
        },
        test_hash: String::new(),
        test_count: 0,
        files: Default::default(),
    };
    // The rows as a split job writes them, read by the trainer as in a worker.
    let mut manifest = manifest;
    let parts = [
        (f.data.train.clone(), manifest.train.clone()),
        (f.data.val.clone(), manifest.val.clone()),
    ];
    for (file, rows) in &parts {
        let sha = hpflow::data::rows_file::write(file, &ds.select(rows)).expect("rows");
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        manifest.files.insert(name, sha);
    }
    std::fs::write(
        &f.data.manifest,
        serde_json::to_vec(&manifest).expect("json"),
    )
    .expect("manifest");
    drop(ds);
    let config = match model.as_str() {
        "mlp" => {
            json!({"hidden_layers": 1, "units": 256, "optimizer": "adam", "lr": 1e-3, "batch_size": 128})
        }
        "cnn" => {
            json!({"conv_layers": 2, "filters": 16, "kernel_size": 3, "padding": "same", "pool": "max",
                        "pool_size": 2, "dense_units": 64, "optimizer": "adam", "lr": 1e-3, "batch_size": 128})
        }
        other => panic!("HPFLOW_BENCH_MODEL {other}: expected mlp or cnn"),
    };
    let dir = f.trial_dir("bench");
    let mut trainer = TorchTrainer::new();
    let mut req = f.request(&model, config, 1, &dir);
    req.threads = threads;
    req.device = env("HPFLOW_BENCH_DEVICE", "cpu");
    // Epoch 1 warms up (data gathered and moved to the device once per worker), then timed.
    let started = Instant::now();
    let first = trainer.run(&req).expect("status");
    let warm = started.elapsed().as_secs_f64();
    assert_eq!(first.state, TrialState::Done, "{:?}", first.reason);
    req.epochs = 1 + epochs;
    let started = Instant::now();
    let s = trainer.run(&req).expect("status");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(s.state, TrialState::Done, "{:?}", s.reason);
    println!(
        "{}",
        json!({"impl": "hpflow", "model": model, "threads": threads, "first_epoch_s": warm,
               "epoch_s": seconds / f64::from(epochs), "peak_rss_mb": peak_rss_mb(),
               "val_accuracy": s.metrics["val_accuracy"]})
    );
}
