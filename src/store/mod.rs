//! Everything hpflow keeps: the `runs/` folder (`layout`), its SQLite database (`db`), the lock
//! that makes one coordinator the only writer (`lock`), and durable file writes (`atomic`).

pub mod atomic;
pub mod db;
pub mod layout;
pub mod lock;

pub use db::Db;
pub use layout::Layout;

/// The version of hpflow's on-disk formats; part of every job key.
pub const FORMAT_VERSION: u32 = 1;
