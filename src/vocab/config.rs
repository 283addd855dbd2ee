//! Configurations: what a trial is given, name → value.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// A parameter value: a number, a string or a bool, exactly as JSON holds it.
pub type Value = serde_json::Value;

/// One configuration: every active parameter with its value. A `BTreeMap` so that its
/// serialization, and so its hash, does not depend on insertion order.
pub type Config = BTreeMap<String, Value>;

/// sha256 of the canonical JSON of a configuration: how duplicates are recognised.
pub fn config_hash(config: &Config) -> String {
    let json = serde_json::to_string(config).expect("a Config always serializes");
    hex::encode(Sha256::digest(json.as_bytes()))
}
