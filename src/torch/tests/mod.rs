//! Tests of the libtorch trainer on small synthetic problems built in memory: every model
//! family learns, resume is exact for every optimizer, failures become the right states.
//! libtorch's seed and thread count are process-wide, so the tests take turns (`serial`).

mod bench;
mod cuda;
mod failures;
mod learning;
mod resume;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rand::{Rng, SeedableRng};
use serde_json::json;

use super::trainer::TorchTrainer;
use hpflow::data::{Dataset, Manifest, Normalisation, Target, Task, rows_file};
use hpflow::search::Config;
use hpflow::train::protocol::DataRef;
use hpflow::train::{Mode, TrainRequest, Trainer, TrainerSpec, TrialStatus};

static TORCH: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    TORCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// What kind of synthetic problem to build.
#[derive(Clone, Copy, PartialEq)]
pub enum Problem {
    /// 3 classes of 8x8 one-channel images: class c has a bright band in rows 2c..2c+2.
    Images3,
    /// 2 classes of 16 features whose means differ.
    Binary16,
    /// y = w·x + noise over 16 features.
    Regression16,
    /// 2 classes of 8x8 one-channel images: pixel 0 is +0.01 or -0.01 by class, every other
    /// pixel is noise a thousand times wider. The class is visible only to a model fed each
    /// pixel on its own scale.
    FaintPixel,
}

pub fn dataset(problem: Problem, n: usize, seed: u64) -> Dataset {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (shape, task, classes) = match problem {
        Problem::Images3 => (vec![1, 8, 8], Task::Classification, 3),
        Problem::Binary16 => (vec![16], Task::Classification, 2),
        Problem::Regression16 => (vec![16], Task::Regression, 0),
        Problem::FaintPixel => (vec![1, 8, 8], Task::Classification, 2),
    };
    let d: usize = shape.iter().product();
    let mut x = Vec::with_capacity(n * d);
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for i in 0..n {
        let c = i % classes.max(1);
        let row: Vec<f32> = (0..d)
            .map(|j| {
                let noise: f32 = rng.random_range(-1.0..1.0);
                match problem {
                    Problem::Images3 => noise + if (j / 8) / 2 == c { 2.0 } else { 0.0 } + 3.0,
                    Problem::Binary16 => noise + if c == 1 && j < 8 { 1.0 } else { 0.0 },
                    Problem::Regression16 => noise,
                    Problem::FaintPixel if j == 0 => 0.01 * (2.0 * c as f32 - 1.0),
                    Problem::FaintPixel => 10.0 * noise,
                }
            })
            .collect();
        if problem == Problem::Regression16 {
            let y: f32 = row
                .iter()
                .enumerate()
                .map(|(j, v)| v * (j as f32 / 8.0 - 1.0))
                .sum();
            values.push(y + rng.random_range(-0.05..0.05));
        }
        labels.push(c as i64);
        x.extend(row);
    }
    Dataset {
        x,
        n,
        shape,
        y: if task == Task::Regression {
            Target::Values(values)
        } else {
            Target::Classes(labels)
        },
        classes,
        task,
        feature_names: Vec::new(),
        class_names: Vec::new(),
        groups: None,
        official_test_from: None,
        source: None,
    }
}

/// A temp folder holding a split as the split job writes one (70 % train, 20 % val, the rest
/// test: the rows' files and a manifest) and the `DataRef`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub data: DataRef,
    /// The test rows' file (what the split seals).
    pub test: PathBuf,
}

pub fn fixture(problem: Problem, n: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let dataset = dataset(problem, n, 11);
    let rows: Vec<u32> = (0..n as u32).collect();
    let (train, rest) = rows.split_at(n * 7 / 10);
    let (val, test_rows) = rest.split_at(n * 2 / 10);
    // Statistics from the training rows: one per channel for images, one per feature else.
    let d = dataset.features();
    let groups = if dataset.shape.len() == 3 {
        dataset.shape[0]
    } else {
        d
    };
    let per = d / groups;
    let mut mean = vec![0f32; groups];
    let mut sq = vec![0f32; groups];
    for &r in train {
        for (j, v) in dataset.row(r as usize).iter().enumerate() {
            mean[j / per] += v;
            sq[j / per] += v * v;
        }
    }
    let count = (train.len() * per) as f32;
    let mean: Vec<f32> = mean.iter().map(|m| m / count).collect();
    let std: Vec<f32> = sq
        .iter()
        .zip(&mean)
        .map(|(s, m)| (s / count - m * m).max(0.0).sqrt())
        .collect();
    let mut files = std::collections::BTreeMap::new();
    let mut file = |name: &str, rows: &[u32]| {
        let p = dir.path().join(format!("{name}.safetensors"));
        let sha = rows_file::write(&p, &dataset.select(rows)).expect("write rows");
        files.insert(format!("{name}.safetensors"), sha);
        p
    };
    let (train_file, val_file, test) = (
        file("train", train),
        file("val", val),
        file("test", test_rows),
    );
    let manifest = Manifest {
        train: train.to_vec(),
        val: val.to_vec(),
        folds: Vec::new(),
        normalisation: Normalisation { mean, std },
        test_hash: String::new(),
        test_count: test_rows.len(),
        files,
    };
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("manifest json"))
        .expect("write manifest");
    let data = DataRef {
        train: train_file,
        val: val_file,
        manifest: path,
        task: dataset.task,
    };
    Fixture { dir, data, test }
}

impl Fixture {
    pub fn trainer(&self) -> TorchTrainer {
        TorchTrainer::new()
    }

    pub fn trial_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn request(
        &self,
        model: &str,
        config: serde_json::Value,
        epochs: u32,
        trial_dir: &Path,
    ) -> TrainRequest {
        let config: Config = serde_json::from_value(config).expect("config object");
        TrainRequest {
            id: 1,
            trial: 0,
            trial_dir: trial_dir.to_path_buf(),
            trainer: TrainerSpec::Torch {
                model: model.into(),
            },
            mode: Mode::Search,
            config,
            epochs,
            max_epochs: epochs,
            clone_from: None,
            seed: 7,
            device: "cpu".into(),
            threads: 1,
            data: Some(self.data.clone()),
            metric: "val_accuracy".into(),
            workdir: None,
            early_stopping: None,
        }
    }

    /// Train `model` on a fresh trainer in its own trial folder.
    pub fn train(&self, model: &str, config: serde_json::Value, epochs: u32) -> TrialStatus {
        let dir = self.trial_dir(&format!("{model}-{}", rand::random::<u32>()));
        let req = self.request(model, config, epochs, &dir);
        self.trainer().run(&req).expect("run answers with a status")
    }
}

pub fn small(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({"batch_size": 32, "lr": 0.01, "optimizer": "adam"});
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}
