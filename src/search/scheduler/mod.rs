//! Schedulers that decide how long each trial trains: plain, sha, hyperband, asha, bohb, pbt.
