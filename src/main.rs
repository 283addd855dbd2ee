use clap::Parser;

fn main() {
    let cli = hpflow::cli::Cli::parse();
    if cli.command.writes_to_children() {
        // `run` and the workers write to pipes of their own children: a dead child must give
        // an error to handle, not kill the coordinator. Their own stdout ignores EPIPE too.
    } else {
        // Read-only commands end quietly when their reader goes away (`hpflow show J | head`),
        // like other command-line tools, instead of panicking in `println!`.
        // SAFETY: restoring the default disposition of one signal before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    hpflow::cmd::init_tracing(cli.verbose, cli.quiet);
    if let Err(e) = hpflow::cli::dispatch(cli) {
        hpflow::progress::say(&format!("hpflow: {e}"));
        let code = match e {
            // Its reader went away (`| head`): stopped cleanly all the same, resumable.
            hpflow::Error::Interrupted if hpflow::signals::stopped_by_closed_output() => {
                hpflow::error::exit::OUTPUT_CLOSED
            }
            e => e.exit_code(),
        };
        std::process::exit(code);
    }
}
