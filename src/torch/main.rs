//! `hpflow-worker`: the worker process that links libtorch and serves libtorch trials (and
//! the trainers without libtorch) over the worker protocol of `hpflow::train::worker`.

mod data;
mod evaluate;
mod head;
mod hparams;
mod model_dir;
mod models;
mod optim;
mod session;
mod trainer;

#[cfg(test)]
mod tests;

fn main() {
    if let Err(e) = hpflow::train::worker::serve(Some(Box::new(trainer::TorchTrainer::new()))) {
        eprintln!("hpflow-worker: {e}");
        std::process::exit(e.exit_code());
    }
}
