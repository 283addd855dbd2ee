//! Everything hpflow keeps: the `runs/` folder layout and its SQLite database.

pub mod atomic;
