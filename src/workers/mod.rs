//! Worker processes on the coordinator's side, as the stages use them: a pool serving a
//! search's items (`pool`), and one request run to its end (`single`, retrain and evaluate).
//! Below the stages and above the trainers; signal handling (`crate::signals`) sits below all.

pub mod pool;
pub mod single;
