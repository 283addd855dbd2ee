//! Seeded random streams: every random decision (a sampler's, a split's) draws from its own.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// A seeded random stream for one decision: the same (seed, purpose, index) always gives the
/// same numbers, whatever was drawn before.
pub fn rng_for(seed: u64, purpose: &str, index: u64) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(index.to_le_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 32];
    key.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(key)
}
