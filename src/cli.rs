//! The command line: clap definitions and the one `match` that dispatches to `cmd::*`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Result;
use crate::store::Layout;

#[derive(Debug, Parser)]
#[command(
    name = "hpflow",
    version,
    about = "Reproducible, resumable hyperparameter sweeps as content-hashed workflows"
)]
pub struct Cli {
    /// Where jobs, trials and the database live.
    #[arg(long, global = true, env = "HPFLOW_RUNS_DIR", default_value = "runs")]
    pub runs_dir: PathBuf,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
    /// To an MLflow tracking server (`--to http://HOST:PORT`).
    Mlflow,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan, then run every job that is not already done; resumes by itself.
    Run {
        workflow: PathBuf,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Jobs, their content hashes and what went into each; runs nothing.
    Plan {
        workflow: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Jobs and trials of a workflow (file or name), or of every workflow.
    Status {
        workflow: Option<String>,
        #[arg(long)]
        json: bool,
        /// Refresh every second until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// Details of a job (id prefix) or a trial (`JOB/TRIAL`): metrics and files.
    Show {
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// Test-set leakage audit: exit 0 when clean, 4 with findings.
    Audit {
        workflow: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every trial with its parameters, state and per-epoch metrics, the selected
    /// configuration and the retrain and test results.
    Export {
        workflow: String,
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Write to a file instead of standard output.
        #[arg(short, long, conflicts_with = "to")]
        output: Option<PathBuf>,
        /// The MLflow tracking server (`--format mlflow`), e.g. http://127.0.0.1:5000.
        #[arg(long, value_name = "URI", required_if_eq("format", "mlflow"))]
        to: Option<String>,
    },
    /// One self-contained HTML page with the jobs, plots of the search and the test results.
    Report {
        workflow: String,
        /// Where to write it (default: NAME-report.html).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Which hyperparameters mattered: fANOVA shares of each search's metric variance.
    ///
    /// Main effects and pairwise interactions from a seeded random forest; log ranges are
    /// measured in log space, and a multi-fidelity search at the highest budget (epoch) that
    /// enough trials reached.
    Importance {
        /// A workflow file, or the `name:` of a workflow that has run.
        workflow: String,
        /// Print every share (and its spread across trees) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run, then run again whenever the workflow file or its data changes.
    Watch { workflow: PathBuf },
    /// Start a new project folder from a template.
    Init {
        dir: PathBuf,
        #[arg(long, default_value = "quickstart")]
        template: String,
    },
    /// A shell completion script on stdout.
    ///
    /// For example `hpflow completions bash > ~/.local/share/bash-completion/completions/hpflow`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout, or one page per command written into a folder.
    Man {
        /// Write hpflow.1 and hpflow-COMMAND.1 into this folder instead.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Remove job folders and checkpoints that no workflow needs any more.
    Gc {
        /// Say what would be removed without removing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// (benchmarks) Drive the strategies on test functions: see scripts/bench-strategies.
    #[command(name = "bench-strategy", hide = true)]
    BenchStrategy {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// (internal) Serve trials on stdin; started by `hpflow run`.
    #[command(name = "__worker", hide = true)]
    Worker,
}

pub fn dispatch(cli: Cli) -> Result<()> {
    // Absolute, so that paths handed to workers and programs (which run in their trial
    // folder) stay valid.
    let runs = std::path::absolute(&cli.runs_dir).unwrap_or_else(|_| cli.runs_dir.clone());
    let layout = Layout::new(runs);
    match cli.command {
        Command::Run { workflow, json } => {
            crate::cmd::run::run(&workflow, &layout, cli.quiet, json)
        }
        Command::Plan { workflow, json } => crate::cmd::plan::run(&workflow, &layout, json),
        Command::Status {
            workflow,
            json,
            follow,
        } => crate::cmd::status::run(workflow.as_deref(), &layout, json, follow),
        Command::Show { target, json } => crate::cmd::show::run(&target, &layout, json),
        Command::Audit { workflow, json } => {
            crate::cmd::audit::run(workflow.as_deref(), &layout, json)
        }
        Command::Export {
            workflow,
            format: ExportFormat::Mlflow,
            to: Some(uri),
            ..
        } => crate::cmd::mlflow::run(&workflow, &layout, &uri),
        Command::Export { to: Some(_), .. } => Err(crate::Error::Usage(
            "--to is for --format mlflow (json and csv go to -o FILE or stdout)".into(),
        )),
        Command::Export {
            workflow,
            format,
            output,
            to: None,
        } => crate::cmd::export::run(&workflow, &layout, format, output.as_deref()),
        Command::Report { workflow, output } => {
            crate::cmd::report::run(&workflow, &layout, output.as_deref())
        }
        Command::Importance { workflow, json } => {
            crate::cmd::importance::run(&workflow, &layout, json)
        }
        Command::Watch { workflow } => crate::cmd::watch::run(&workflow, &layout, cli.quiet),
        Command::Init { dir, template } => crate::cmd::init::run(&dir, &template),
        Command::Completions { shell } => crate::cmd::completions::run(shell),
        Command::Man { dir } => crate::cmd::man::run(dir.as_deref()),
        Command::Gc { dry_run } => crate::cmd::gc::run(&layout, dry_run),
        Command::BenchStrategy { args } => {
            crate::search::strategy::bench::bench_main(&args, &mut |line| println!("{line}"))
                .map_err(crate::Error::Usage)
        }
        Command::Worker => crate::train::worker::serve(None),
    }
}
