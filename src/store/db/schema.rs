//! The schema: ordered migrations, each taking `PRAGMA user_version` from i to i+1. A
//! database at a version past the last is from a newer hpflow (`Db::open` refuses it).

/// Each entry takes the schema from version i to i+1.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE workflows (
    name TEXT PRIMARY KEY, file TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE workflow_jobs (
    workflow TEXT NOT NULL, stage TEXT NOT NULL, job TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (workflow, stage));
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
    key_json TEXT NOT NULL, started_at REAL, finished_at REAL, outputs_json TEXT, error TEXT);
CREATE TABLE items (
    job TEXT NOT NULL, item INTEGER NOT NULL, trial INTEGER NOT NULL, epochs INTEGER NOT NULL,
    clone_trial INTEGER, clone_epoch INTEGER, config_json TEXT NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL, value REAL, attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, item));
CREATE TABLE trials (
    job TEXT NOT NULL, trial INTEGER NOT NULL, config_json TEXT NOT NULL, config_hash TEXT NOT NULL,
    state TEXT NOT NULL, epochs INTEGER NOT NULL, value REAL, metrics_json TEXT, reason TEXT,
    seconds REAL NOT NULL DEFAULT 0, PRIMARY KEY (job, trial));
CREATE TABLE epochs (
    job TEXT NOT NULL, trial INTEGER NOT NULL, epoch INTEGER NOT NULL, metrics_json TEXT NOT NULL,
    PRIMARY KEY (job, trial, epoch));
CREATE TABLE data_access (
    seq INTEGER PRIMARY KEY, job TEXT NOT NULL, kind TEXT NOT NULL, split_job TEXT NOT NULL,
    split TEXT NOT NULL, split_hash TEXT NOT NULL, at REAL NOT NULL, prev TEXT NOT NULL,
    hash TEXT NOT NULL);
"#,
    // 2: the wall time a search has spent over all its runs, so `budget: {time}` counts
    // across resumes.
    "ALTER TABLE jobs ADD COLUMN search_seconds REAL NOT NULL DEFAULT 0;",
    // 3: every workflow file that ran here, also when two share a name, so that `gc` keeps
    // what any of them still describes.
    r#"
CREATE TABLE workflow_files (
    file TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at REAL NOT NULL);
INSERT OR IGNORE INTO workflow_files (file, name, updated_at)
    SELECT file, name, updated_at FROM workflows;
"#,
    // 4: early stopping: the epoch an item's value was measured at, and whether the trial
    // stopped before the item's epochs (kept per item for the scheduler, per trial for show).
    r#"
ALTER TABLE items ADD COLUMN best_epoch INTEGER;
ALTER TABLE items ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN best_epoch INTEGER;
ALTER TABLE trials ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
"#,
    // 5: which test rows (by content fingerprint) each logged opening exposed, so that a
    // second look at the same rows is seen across splits, seeds and workflows; and the
    // second looks a user allowed (`--allow-second-look`).
    r#"
CREATE TABLE test_looks (seq INTEGER NOT NULL, fingerprint TEXT NOT NULL);
CREATE INDEX test_looks_by_fingerprint ON test_looks (fingerprint);
CREATE TABLE second_looks (job TEXT PRIMARY KEY, at REAL NOT NULL, rows INTEGER NOT NULL, earlier TEXT NOT NULL);
"#,
    // 6: the Slurm worker jobs a search submitted, with their last known state, so that
    // `status` shows them and a restarted coordinator adopts the live ones.
    r#"
CREATE TABLE slurm_jobs (
    slurm_id TEXT PRIMARY KEY, job TEXT NOT NULL, submitted_at REAL NOT NULL,
    state TEXT NOT NULL, reason TEXT, updated_at REAL NOT NULL);
CREATE INDEX slurm_jobs_by_job ON slurm_jobs (job);
"#,
    // 7: `status` counts a search's trials by state from an index alone, without reading the
    // rows' configurations and metrics, and `show` finds the best trials without sorting
    // them all (100,000 trials in milliseconds).
    r#"
CREATE INDEX trials_by_state ON trials (job, state, epochs);
CREATE INDEX trials_by_value ON trials (job, value, trial);
"#,
    // 8: job, item and trial states are enums (`vocab::state`); the tables admit only their
    // words. SQLite adds a CHECK only by rebuilding a table, so each is copied over.
    r#"
CREATE TABLE jobs_8 (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    key_json TEXT NOT NULL, started_at REAL, finished_at REAL, outputs_json TEXT, error TEXT,
    search_seconds REAL NOT NULL DEFAULT 0);
INSERT INTO jobs_8 SELECT id, kind, stage, status, key_json, started_at, finished_at,
    outputs_json, error, search_seconds FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_8 RENAME TO jobs;
CREATE TABLE items_8 (
    job TEXT NOT NULL, item INTEGER NOT NULL, trial INTEGER NOT NULL, epochs INTEGER NOT NULL,
    clone_trial INTEGER, clone_epoch INTEGER, config_json TEXT NOT NULL, reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('issued', 'done', 'failed', 'stale')),
    value REAL, attempts INTEGER NOT NULL DEFAULT 0, best_epoch INTEGER,
    stopped INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job, item));
INSERT INTO items_8 SELECT job, item, trial, epochs, clone_trial, clone_epoch, config_json,
    reason, state, value, attempts, best_epoch, stopped FROM items;
DROP TABLE items;
ALTER TABLE items_8 RENAME TO items;
CREATE TABLE trials_8 (
    job TEXT NOT NULL, trial INTEGER NOT NULL, config_json TEXT NOT NULL, config_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('queued', 'running', 'done', 'failed', 'diverged', 'infeasible', 'duplicate')),
    epochs INTEGER NOT NULL, value REAL, metrics_json TEXT, reason TEXT,
    seconds REAL NOT NULL DEFAULT 0, best_epoch INTEGER, stopped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job, trial));
INSERT INTO trials_8 SELECT job, trial, config_json, config_hash, state, epochs, value,
    metrics_json, reason, seconds, best_epoch, stopped FROM trials;
DROP TABLE trials;
ALTER TABLE trials_8 RENAME TO trials;
CREATE INDEX trials_by_state ON trials (job, state, epochs);
CREATE INDEX trials_by_value ON trials (job, value, trial);
"#,
    // 9: a synchronous scheduler's wave (`WorkItem::wave`) as numbers, read back by
    // `horizon` (before, only the reason's text said it). Older items have none and are read
    // from their reason (`Db::items`).
    r#"
ALTER TABLE items ADD COLUMN wave_place INTEGER;
ALTER TABLE items ADD COLUMN wave_len INTEGER;
"#,
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
