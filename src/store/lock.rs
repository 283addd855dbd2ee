//! One coordinator per runs folder: an exclusive `flock` on `runs/.lock`, released by the
//! kernel when the process ends however it ends (so a SIGKILLed run leaves no stale lock).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};

pub struct RunLock {
    _file: File,
}

impl RunLock {
    pub fn acquire(path: &Path) -> Result<RunLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        // A reader's probe (`holder`) holds a shared lock for an instant: try a few times
        // before calling the folder taken.
        let mut rc = -1;
        for attempt in 0..10 {
            // SAFETY: flock on a file descriptor we own; no memory is involved.
            rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            if attempt < 9 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        if rc != 0 {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            return Err(Error::Locked {
                path: path.parent().unwrap_or(path).to_path_buf(),
                pid: pid.trim().to_string(),
            });
        }
        file.set_len(0).map_err(|e| Error::io(path, e))?;
        file.rewind().map_err(|e| Error::io(path, e))?;
        write!(file, "{}", std::process::id()).map_err(|e| Error::io(path, e))?;
        Ok(RunLock { _file: file })
    }

    /// The pid of the `hpflow run` holding the lock, or `None` when no live process holds it
    /// (a SIGKILLed run's lock is released by the kernel). Creates nothing.
    pub fn holder(path: &Path) -> Option<String> {
        let mut file = File::open(path).ok()?;
        // SAFETY: flock on a file descriptor we own; a shared lock we release at once.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        if rc == 0 {
            // SAFETY: as above.
            unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
            return None;
        }
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        Some(pid.trim().to_string())
    }
}
