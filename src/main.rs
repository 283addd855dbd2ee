use clap::Parser;

fn main() {
    let cli = hpflow::cli::Cli::parse();
    hpflow::cmd::init_tracing(cli.verbose, cli.quiet);
    if let Err(e) = hpflow::cli::dispatch(cli) {
        eprintln!("hpflow: {e}");
        std::process::exit(e.exit_code());
    }
}
