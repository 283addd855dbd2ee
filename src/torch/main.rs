//! `hpflow-worker`: the worker process that links libtorch.
fn main() {
    if let Err(e) = hpflow::train::worker::serve(None) {
        eprintln!("hpflow-worker: {e}");
        std::process::exit(e.exit_code());
    }
}
