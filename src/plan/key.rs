//! A job's cache key: one explicit struct, serialized canonically (sorted keys) and hashed.
//! Everything that can change a job's outputs is in it; nothing else is (not the stage's
//! name, not `workers`), so renaming a stage or adding workers does not rerun anything.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Bump when the meaning of a key or the layout of outputs changes: every job reruns.
/// v2: a search's budget left its identity (sweeps grow), downstream stages hash their
/// search's budget instead.
pub const FORMAT_SALT: &str = "hpflow-job-v2";

#[derive(Debug, Clone, Serialize)]
pub struct JobKey {
    pub salt: &'static str,
    pub hpflow_format: u32,
    pub kind: &'static str,
    /// The stage's resolved configuration.
    pub config: serde_json::Value,
    /// What the stages it needs hand on (`Job::output`: their ids, a growing search's with
    /// its budget), sorted.
    pub upstream: Vec<String>,
    /// (input name, sha256 of its content): the dataset, a command's program.
    pub inputs: Vec<(String, String)>,
    pub seed: u64,
    pub device: String,
}

impl JobKey {
    /// The canonical JSON: serde_json maps are sorted (BTreeMap), struct fields in order.
    pub fn canonical(&self) -> String {
        let v = serde_json::to_value(self).expect("job keys serialize");
        serde_json::to_string(&sort(v)).expect("json serializes")
    }

    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }
}

/// Recursively sort object keys (serde_json without `preserve_order` already does; this keeps
/// the key stable even if that feature is turned on by a dependency).
fn sort(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sort(v))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(sort).collect()),
        other => other,
    }
}
