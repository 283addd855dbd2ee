//! SIGINT/SIGTERM: the first asks for a clean stop (no new work; trials checkpoint and stop),
//! the second for an immediate one. In the coordinator, output whose reader went away (a
//! closed pipe: `| head`, a killed `tee`) asks for the same clean stop as a first signal.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static OUTPUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STOP_ON_CLOSED_OUTPUT: AtomicBool = AtomicBool::new(false);

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

/// Make a closed output stop this process as a first Ctrl-C does. Only the coordinator: a
/// worker whose stderr closed keeps serving, and its coordinator stops it in order.
pub fn stop_when_output_closes() {
    STOP_ON_CLOSED_OUTPUT.store(true, Ordering::SeqCst);
}

/// A write found its reader gone (EPIPE); see `progress::Stderr`.
pub fn output_closed() {
    OUTPUT_CLOSED.store(true, Ordering::SeqCst);
}

/// How many stop requests arrived: the signals, or one for a closed output. A closed output
/// never counts as a second request, so Ctrl-C under `| tee` (tee dies first) stays a clean stop.
pub fn count() -> usize {
    let signals = SIGNALS.load(Ordering::SeqCst);
    signals.max(usize::from(stopped_by_closed_output()))
}

/// The stop came from a closed output, not from a signal (exit 141 rather than 130).
pub fn stopped_by_closed_output() -> bool {
    SIGNALS.load(Ordering::SeqCst) == 0
        && STOP_ON_CLOSED_OUTPUT.load(Ordering::SeqCst)
        && OUTPUT_CLOSED.load(Ordering::SeqCst)
}

pub fn stop_requested() -> bool {
    count() > 0
}
