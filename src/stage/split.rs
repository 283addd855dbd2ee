//! The split stage: load the dataset, split its rows, write the train and val rows as files,
//! the manifest (their indices, normalisation fitted on train) and, apart from them, the
//! sealed test rows. The only stage that reads the data source.

use serde_json::json;

use crate::data::split::SplitOptions;
use crate::error::{Error, Result};
use crate::stage::Ctx;
use crate::stage::output::{self, SplitOutput, SplitRecord, UnseenClass};
use crate::store::atomic;

pub fn run(ctx: &mut Ctx, opts: &SplitOptions) -> Result<SplitOutput> {
    let spec = ctx
        .wf
        .data
        .as_ref()
        .ok_or_else(|| Error::internal("split without data"))?;
    let started = std::time::Instant::now();
    let ds = crate::data::load(spec, &ctx.wf.base_dir, opts.group.as_deref())?;
    let loaded = started.elapsed().as_secs_f64();
    let csv = (spec.source == crate::data::Source::Csv)
        .then(|| crate::data::resolve(spec, &ctx.wf.base_dir))
        .transpose()?;
    let times = match (&opts.by_time, &csv) {
        (Some(column), Some(path)) => Some(crate::data::checks::time::times(path, column)?),
        (Some(_), None) => {
            return Err(Error::Usage(
                "split.by_time: needs csv data with a date or timestamp column".into(),
            ));
        }
        (None, _) => None,
    };
    let mut out = crate::data::split::split_with(&ds, opts, ctx.wf.seed, times.as_deref())?;
    let findings = data_checks(&ds, csv.as_deref(), spec, opts, &out);
    // Class numbers from the training rows (the fingerprints above are of the rows as loaded).
    let mut ds = ds;
    let unseen = crate::data::relabel::train_first(
        &mut ds,
        &out.manifest.train,
        &out.manifest.val,
        &out.test_rows,
    );
    for u in &unseen {
        ctx.progress.line(&format!(
            "  warning: class {:?} occurs in no training row but in {} val and {} test rows: no model can predict it",
            u.class, u.val, u.test
        ));
    }
    // Where the rows came from, resolved, so that the audit can tell a trial that was handed
    // the data source itself.
    let source = spec.path.as_ref().map(|p| {
        let full = ctx.wf.base_dir.join(p);
        let full = std::fs::canonicalize(&full).unwrap_or(full);
        full.display().to_string()
    });
    let id = &ctx.job.id;
    // The rows themselves, so that no later stage opens the data source: train and val for
    // search and retrain, test in the sealed folder for evaluate alone. Each file's hash
    // goes into the manifest, for its readers to check.
    let dir = ctx.layout.job(id);
    let mut write = |path: std::path::PathBuf, rows: &[u32]| -> Result<()> {
        let sha = crate::data::rows_file::write(&path, &ds.select(rows))?;
        let key = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        out.manifest.files.insert(key, sha);
        Ok(())
    };
    let (train, val) = (out.manifest.train.clone(), out.manifest.val.clone());
    write(ctx.layout.split_rows(id, "train"), &train)?;
    write(ctx.layout.split_rows(id, "val"), &val)?;
    // k-fold: fold f validates on its rows and trains on the rest of train+val.
    for (f, fold) in out.manifest.folds.iter().enumerate() {
        let held: std::collections::HashSet<u32> = fold.iter().copied().collect();
        let rest: Vec<u32> = train
            .iter()
            .chain(&val)
            .copied()
            .filter(|r| !held.contains(r))
            .collect();
        let (t, v) = fold_parts(f);
        write(ctx.layout.split_rows(id, &t), &rest)?;
        write(ctx.layout.split_rows(id, &v), fold)?;
    }
    write(ctx.layout.sealed_rows(id), &out.test_rows)?;
    // Each row's content fingerprint, so the audit can follow rows by content across splits,
    // seeds and workflows (a row evaluated twice, a former test row trained on).
    let fp = |rows: &[u32]| out.fingerprints(rows);
    atomic::write_json(
        &ctx.layout.split_fingerprints(id),
        &json!({ "train": fp(&out.manifest.train), "val": fp(&out.manifest.val) }),
    )?;
    atomic::write_json(
        &ctx.layout.sealed_test(id),
        &json!({ "rows": out.test_rows, "hash": out.manifest.test_hash, "fingerprints": fp(&out.test_rows) }),
    )?;
    let record = SplitRecord {
        version: output::VERSION,
        checks: findings.clone(),
        classes_not_in_train: (unseen.iter())
            .map(|u| UnseenClass {
                class: u.class.clone(),
                val: u.val,
                test: u.test,
            })
            .collect(),
        source,
        described: out.record.as_object().cloned().unwrap_or_default(),
    };
    output::write(ctx.layout, id, &record)?;
    // The manifest last: it is what marks the split's outputs complete on disk.
    atomic::write_json(&ctx.layout.manifest(id), &out.manifest)?;
    for f in &findings {
        let word = if f.accepted { "accepted" } else { "warning" };
        ctx.progress.line(&format!("  {word}: {}", f.line()));
    }
    ctx.progress.line(&format!(
        "  {} rows: train {}, val {}, test {} (loaded in {loaded:.2}s)",
        ds.n,
        out.manifest.train.len(),
        out.manifest.val.len(),
        out.test_rows.len()
    ));
    Ok(SplitOutput {
        version: output::VERSION,
        rows: ds.n,
        train: out.manifest.train.len(),
        val: out.manifest.val.len(),
        test: out.test_rows.len(),
        removed_duplicates: out.removed_duplicates,
        // What the run summary and `status` show: the findings not accepted, one line each.
        warnings: (findings.iter())
            .filter(|f| !f.accepted)
            .map(|f| f.line())
            .collect(),
    })
}

/// The data checks on the split just made (`crate::data::checks`).
fn data_checks(
    ds: &crate::data::Dataset,
    csv: Option<&std::path::Path>,
    spec: &crate::data::DataSpec,
    opts: &SplitOptions,
    out: &crate::data::SplitOutcome,
) -> Vec<crate::data::checks::Finding> {
    use crate::data::checks;
    let table = csv.and_then(checks::Table::read);
    checks::run(&checks::Input {
        ds,
        table: table.as_ref(),
        label: spec.label.as_deref(),
        hashes: &out.hashes,
        parts: checks::Parts {
            train: &out.manifest.train,
            val: &out.manifest.val,
            test: &out.test_rows,
        },
        opts,
    })
}

/// The rows files of fold `f`: (its training part, its validation part).
pub fn fold_parts(f: usize) -> (String, String) {
    (format!("fold-{f}-train"), format!("fold-{f}-val"))
}
