//! Everything hpflow keeps: the `runs/` folder (`layout`), its SQLite database (`db`), the lock
//! that makes one coordinator the only writer (`lock`), and durable file writes (`atomic`).

pub mod atomic;
pub mod db;
pub mod layout;
pub mod lock;
pub mod user_looks;

pub use db::Db;
pub use layout::Layout;

/// Is the filesystem holding `path` (nearly) full? Asked when a trial failed or its worker
/// died, so that a full disk stops the run as such (it resumes once there is room) instead of
/// being recorded as the trial's failure.
pub fn disk_full(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statvfs fills the struct we own from a NUL-terminated path.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return false;
    }
    // Less than 64 KiB left: no checkpoint or status file fits.
    (s.f_bavail as u128) * (s.f_frsize as u128) < 64 * 1024
}

/// The version of hpflow's on-disk formats; part of every job key.
pub const FORMAT_VERSION: u32 = 1;
