//! SIGINT/SIGTERM: the first asks for a clean stop (no new work; trials checkpoint and stop),
//! the second for an immediate one.

use std::sync::atomic::{AtomicUsize, Ordering};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

pub fn install() {
    // SAFETY: the handler only touches an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

/// How many stop signals arrived.
pub fn count() -> usize {
    SIGNALS.load(Ordering::SeqCst)
}

pub fn stop_requested() -> bool {
    count() > 0
}
