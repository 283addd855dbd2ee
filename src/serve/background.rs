//! What a workflow's page computes on threads of their own: the audit, which reads every
//! trial's request log (100,000 files for a 100,000-trial search: seconds with a warm disk
//! cache, minutes with a cold one), and each search's fANOVA (a forest over 2,000 trials,
//! about a second). Each is computed once per state of the workflow's jobs. A page shows the
//! latest result ready (or says it is being computed); when a newer one is ready the pages'
//! version changes, and their script swaps the new content in.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a page waits for a result it started: a small runs folder's page has it on first
/// load, a large one's comes with a later refresh.
const WAIT: Duration = Duration::from_millis(100);

type Any = Arc<dyn std::any::Any + Send + Sync>;

#[derive(Default)]
struct Entry {
    /// The state the latest result was computed for, and that result.
    done: Option<(String, Any)>,
    /// Whether a thread is computing now.
    running: bool,
}

static RESULTS: Mutex<BTreeMap<String, Entry>> = Mutex::new(BTreeMap::new());
/// Results finished so far: part of every page's version.
static FINISHED: AtomicU64 = AtomicU64::new(0);

fn results() -> MutexGuard<'static, BTreeMap<String, Entry>> {
    // Entries are replaced whole: a panic elsewhere leaves none half-written.
    RESULTS.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn finished() -> u64 {
    FINISHED.load(Ordering::SeqCst)
}

/// The latest result under `key` (None before the first is ready). Starts `compute` on a
/// thread when the latest was computed for another `state` and none is running, and waits up
/// to `WAIT` for it. A panic in `compute` gives `failed`.
pub fn latest<T: Send + Sync + 'static>(
    key: &str,
    state: &str,
    compute: impl FnOnce() -> T + Send + 'static,
    failed: fn() -> T,
) -> Option<Arc<T>> {
    let get = |e: &Entry| {
        e.done
            .as_ref()
            .and_then(|(_, r)| Arc::clone(r).downcast::<T>().ok())
    };
    {
        let mut all = results();
        let e = all.entry(key.to_string()).or_default();
        if e.done.as_ref().is_some_and(|(s, _)| s == state) {
            return get(e);
        }
        if !e.running {
            e.running = true;
            let (key, state) = (key.to_string(), state.to_string());
            std::thread::spawn(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(compute))
                    .unwrap_or_else(|_| failed());
                let mut all = results();
                let e = all.entry(key).or_default();
                e.running = false;
                e.done = Some((state, Arc::new(r)));
                FINISHED.fetch_add(1, Ordering::SeqCst);
            });
        }
    }
    let until = Instant::now() + WAIT;
    loop {
        {
            let all = results();
            let e = &all[key];
            if !e.running || Instant::now() >= until {
                return get(e);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
