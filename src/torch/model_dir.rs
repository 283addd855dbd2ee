//! The final model of a retrain job (`TrialDir::model`): its weights and a
//! `model.json` with everything needed to rebuild and feed it (model, hyperparameters, row
//! shape, task, the normalisation it was trained with), so that evaluate depends on nothing
//! else of the retrain job.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::session::{Session, WEIGHTS};
use hpflow::data::{Normalisation, Task};
use hpflow::search::Config;
use hpflow::store::atomic;

pub const INFO: &str = "model.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub model: String,
    pub config: Config,
    pub shape: Vec<usize>,
    pub task: Task,
    pub classes: usize,
    pub normalisation: Normalisation,
    /// Epochs the model was trained for.
    pub epochs: u32,
}

/// Write the folder under a temp name and rename it into place: it exists only complete.
pub fn write(trial_dir: &Path, session: &Session, info: &ModelInfo) -> hpflow::Result<()> {
    let dir = hpflow::train::TrialDir::of(&trial_dir).model();
    let tmp = trial_dir.join(format!(".model.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| hpflow::Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| hpflow::Error::io(&tmp, e))?;
    session
        .vs
        .save(tmp.join(WEIGHTS))
        .map_err(|e| hpflow::Error::internal(format!("saving weights: {e}")))?;
    std::fs::File::open(tmp.join(WEIGHTS))
        .and_then(|f| f.sync_all())
        .map_err(|e| hpflow::Error::io(tmp.join(WEIGHTS), e))?;
    atomic::write_json(&tmp.join(INFO), info)?;
    atomic::rename_dir(&tmp, &dir)
}

pub fn read_info(dir: &Path) -> Result<ModelInfo, String> {
    let path = dir.join(INFO);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("reading {}: {e}", path.display()))
}
