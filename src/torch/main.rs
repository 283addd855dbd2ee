//! `hpflow-worker`: the worker process that links libtorch and serves libtorch trials (and
//! the trainers without libtorch) over the worker protocol of `hpflow::train::worker`.

mod adam_cpu;
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
    let trainer = Box::new(trainer::TorchTrainer::new());
    // `--queue DIR`: a Slurm worker job serving its search's queue folder.
    let args: Vec<String> = std::env::args().collect();
    let served = match args.iter().position(|a| a == "--queue") {
        Some(i) if i + 1 < args.len() => hpflow::train::queue_worker::serve_queue(
            Some(trainer),
            std::path::Path::new(&args[i + 1]),
        ),
        _ => hpflow::train::worker::serve(Some(trainer)),
    };
    if let Err(e) = served {
        hpflow::progress::say(&format!("hpflow-worker: {e}"));
        std::process::exit(e.exit_code());
    }
}
