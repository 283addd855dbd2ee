//! Row identity: a sha256 per row over its feature bytes and label, used to find duplicates
//! across splits and to fingerprint the sealed test rows.

use sha2::{Digest, Sha256};

use crate::data::{Dataset, Target};

pub type RowHash = [u8; 32];

/// The hash of every row. 70k images are 220 MB of f32s, so the rows are hashed on all
/// cores in contiguous chunks (the result does not depend on the chunking).
pub fn row_hashes(ds: &Dataset) -> Vec<RowHash> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = ds.n.div_ceil(threads).max(1);
    let mut out = vec![[0u8; 32]; ds.n];
    std::thread::scope(|s| {
        for (k, slot) in out.chunks_mut(chunk).enumerate() {
            s.spawn(move || {
                let mut buf = Vec::with_capacity(ds.features() * 4 + 8);
                for (i, h) in slot.iter_mut().enumerate() {
                    *h = row_hash(ds, k * chunk + i, &mut buf);
                }
            });
        }
    });
    out
}

fn row_hash(ds: &Dataset, i: usize, buf: &mut Vec<u8>) -> RowHash {
    buf.clear();
    for v in ds.row(i) {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    match &ds.y {
        Target::Classes(c) => buf.extend_from_slice(&c[i].to_le_bytes()),
        Target::Values(v) => buf.extend_from_slice(&v[i].to_le_bytes()),
    }
    Sha256::digest(buf.as_slice()).into()
}

/// sha256 over the test rows' indices and row hashes, in ascending row order: it changes
/// when a different row, or a row with different content, enters the sealed test split.
pub fn test_hash(test_rows: &[u32], hashes: &[RowHash]) -> String {
    let mut h = Sha256::new();
    h.update(b"hpflow-test-rows-v1\0");
    for &r in test_rows {
        h.update(r.to_le_bytes());
        h.update(hashes[r as usize]);
    }
    hex::encode(h.finalize())
}
