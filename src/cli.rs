//! The command line: clap definitions and the one `match` that dispatches to `cmd::*`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Result;
use crate::store::Layout;

#[derive(Debug, Parser)]
#[command(
    name = "hpflow",
    version,
    about = "Reproducible, resumable hyperparameter sweeps as content-hashed workflows",
    after_help = after_help()
)]
pub struct Cli {
    /// Where jobs, trials and the database live [default: the project's runs/, see `hpflow --help`].
    #[arg(long, global = true, env = "HPFLOW_RUNS_DIR", value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors: no progress, tables or summaries.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the runs folder is, for `--help` and the man page.
pub const RUNS_FOLDER: &str = "The runs folder: --runs-dir, else HPFLOW_RUNS_DIR, else the \
project's `runs/`: the nearest hpflow `runs/` (holding hpflow.db, or empty), from the workflow \
file's folder (or the current one) up to the top of a git repository (whose runs/ it then is); \
outside one, with none found, `runs/` beside the workflow file.";

/// The end of `hpflow --help`: the runs folder, then the exit codes scripts can rely on.
fn after_help() -> String {
    let codes: Vec<String> = crate::error::exit::CODES
        .iter()
        .map(|(code, what)| format!("  {code:<4} {what}"))
        .collect();
    format!("{RUNS_FOLDER}\n\nExit codes:\n{}", codes.join("\n"))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
    Mlflow,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan, then run every job that is not already done; resumes by itself.
    Run {
        /// The workflow file (YAML).
        workflow: PathBuf,
        /// Print the outcome as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Evaluate even on test rows an earlier evaluation already looked at (the audit
        /// lists it as an acknowledged second look).
        #[arg(long)]
        allow_second_look: bool,
        /// Where trials run, overriding the workflow's `executor:` (its Slurm settings stay).
        #[arg(long, value_enum)]
        executor: Option<crate::workflow::executor::ExecutorKind>,
        /// Train the failed trials of finished searches again (from their last good
        /// checkpoint); trials that succeeded keep their results, and the decisions and
        /// stages after the failures follow the new results. Job ids stay the same.
        #[arg(long)]
        retry_failed: bool,
        /// Run this stage and the stages it needs, nothing after it: grow a search and see
        /// the new winner's retrain without spending the test set.
        #[arg(long, value_name = "STAGE")]
        until: Option<String>,
    },
    /// Jobs, their content hashes and what went into each; runs nothing.
    Plan {
        /// The workflow file (YAML).
        workflow: PathBuf,
        /// Print the plan as JSON: every job with its key and hash.
        #[arg(long)]
        json: bool,
        /// Plan for this executor instead of the workflow's `executor:` (jobs stay the same).
        #[arg(long, value_enum)]
        executor: Option<crate::workflow::executor::ExecutorKind>,
    },
    /// Jobs and trials of a workflow (file or name), or of every workflow.
    Status {
        /// A workflow file, or the `name:` of a workflow that has run; all of them if omitted.
        workflow: Option<String>,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
        /// Refresh every second, with each running trial's latest epoch, until the run ends.
        #[arg(long)]
        follow: bool,
    },
    /// Details of a job (id prefix) or a trial (`JOB/TRIAL`): metrics and files.
    Show {
        /// A job id or its prefix (see `hpflow status`), or `JOB/TRIAL` for one trial.
        target: String,
        /// Print the details as JSON.
        #[arg(long)]
        json: bool,
        /// List every trial of a large search (otherwise the best 20 past 50 trials).
        #[arg(long)]
        all: bool,
    },
    /// Test-set leakage audit: exit 0 when clean, 4 with findings.
    Audit {
        /// A workflow file or name; every workflow if omitted.
        workflow: Option<String>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every trial with its parameters, state and per-epoch metrics, the selected
    /// configuration and the retrain and test results.
    Export {
        /// A workflow file, or the `name:` of a workflow that has run.
        workflow: String,
        /// json: everything nested; csv: one row per trial and epoch; mlflow: runs on a
        /// tracking server (with --to).
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Write to a file instead of standard output (`-` is standard output).
        #[arg(short, long, conflicts_with = "to")]
        output: Option<PathBuf>,
        /// The MLflow tracking server (`--format mlflow`), e.g. http://127.0.0.1:5000.
        #[arg(long, value_name = "URI", required_if_eq("format", "mlflow"))]
        to: Option<String>,
    },
    /// One self-contained HTML page with the jobs, plots of the search and the test results.
    Report {
        /// A workflow file, or the `name:` of a workflow that has run.
        workflow: String,
        /// Where to write it (default: NAME-report.html; `-` is standard output).
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
    Watch {
        /// The workflow file (YAML).
        workflow: PathBuf,
    },
    /// A read-only web dashboard over the runs folder, updated live while a run goes.
    ///
    /// Lists the workflows and their jobs; each workflow has the report's page (audit verdict,
    /// charts) and each trial its per-epoch curves. Binds to 127.0.0.1 unless --host says
    /// otherwise.
    Serve {
        /// The port to listen on (0: any free port; the address is printed).
        #[arg(long, default_value_t = 8050)]
        port: u16,
        /// The address to bind to; anything but a loopback address is warned about.
        #[arg(long, value_name = "ADDR")]
        host: Option<String>,
    },
    /// Start a new project folder from a template.
    Init {
        /// The folder to create (it gets workflow.yaml and an empty runs/).
        dir: PathBuf,
        /// The template to start from.
        #[arg(long, default_value = "quickstart", value_parser = crate::cmd::init::names())]
        template: String,
        /// (not used by init; hidden so that its help shows only what applies)
        #[arg(long, hide = true)]
        runs_dir: Option<PathBuf>,
    },
    /// A shell completion script on stdout.
    ///
    /// For example `hpflow completions bash > ~/.local/share/bash-completion/completions/hpflow`.
    Completions {
        /// The shell to complete for.
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
        /// Name what would be removed, and its size, without removing anything.
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
    Worker {
        /// Serve a Slurm search's queue folder instead of stdin.
        #[arg(long, value_name = "DIR")]
        queue: Option<PathBuf>,
    },
}

impl Command {
    /// Commands that write to pipes of child processes (workers, programs).
    pub fn writes_to_children(&self) -> bool {
        matches!(
            self,
            Command::Run { .. } | Command::Watch { .. } | Command::Worker { .. }
        )
    }

    /// Where to look for the project's runs folder: the workflow file's folder when the
    /// command names a file, else the current folder.
    fn start_dir(&self) -> PathBuf {
        let file = match self {
            Command::Run { workflow, .. }
            | Command::Plan { workflow, .. }
            | Command::Watch { workflow } => Some(workflow.clone()),
            Command::Status { workflow, .. } | Command::Audit { workflow, .. } => {
                workflow.as_ref().map(PathBuf::from)
            }
            Command::Export { workflow, .. }
            | Command::Report { workflow, .. }
            | Command::Importance { workflow, .. } => Some(PathBuf::from(workflow)),
            _ => None,
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        match file.filter(|f| f.is_file()) {
            Some(f) => std::path::absolute(&f)
                .ok()
                .and_then(|f| f.parent().map(Path::to_path_buf))
                .unwrap_or(cwd),
            None => cwd,
        }
    }
}

/// The project's runs folder: the nearest hpflow `runs/` from `start` upward, stopping at the
/// top of a git repository (whose `runs/` it is then); with neither, `runs/` in `start`. So a
/// project has one runs folder whichever folder hpflow is started from.
pub fn project_runs(start: &Path) -> PathBuf {
    for dir in start.ancestors() {
        let runs = dir.join("runs");
        if is_hpflow_runs(&runs) || dir.join(".git").exists() {
            return runs;
        }
    }
    start.join("runs")
}

/// A `runs/` hpflow may use: one holding its database, or an empty one (`hpflow init` makes
/// it; a repository keeps it with a `.gitkeep`). Another tool's `runs/` up the tree is not.
fn is_hpflow_runs(runs: &Path) -> bool {
    if runs.join("hpflow.db").is_file() {
        return true;
    }
    match std::fs::read_dir(runs) {
        Ok(entries) => entries
            .flatten()
            .all(|e| e.file_name().to_string_lossy().starts_with('.')),
        Err(_) => false,
    }
}

pub fn dispatch(cli: Cli) -> Result<()> {
    let runs = match &cli.runs_dir {
        // Absolute, so that paths handed to workers and programs stay valid.
        Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
        None => project_runs(&cli.command.start_dir()),
    };
    let layout = Layout::new(runs);
    match cli.command {
        Command::Run {
            workflow,
            json,
            allow_second_look,
            executor,
            retry_failed,
            until,
        } => crate::cmd::run::run(
            &workflow,
            &layout,
            cli.quiet,
            json,
            allow_second_look,
            executor,
            retry_failed,
            until.as_deref(),
        ),
        Command::Plan {
            workflow,
            json,
            executor,
        } => crate::cmd::plan::run(&workflow, &layout, json, executor),
        Command::Status {
            workflow,
            json,
            follow,
        } => crate::cmd::status::run(workflow.as_deref(), &layout, json, follow),
        Command::Show { target, json, all } => crate::cmd::show::run(&target, &layout, json, all),
        Command::Audit { workflow, json } => {
            crate::cmd::audit::run(workflow.as_deref(), &layout, json, cli.quiet)
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
        Command::Serve { port, host } => crate::cmd::serve::run(&layout, host.as_deref(), port),
        Command::Init { dir, template, .. } => crate::cmd::init::run(&dir, &template),
        Command::Completions { shell } => crate::cmd::completions::run(shell),
        Command::Man { dir } => crate::cmd::man::run(dir.as_deref()),
        Command::Gc { dry_run } => crate::cmd::gc::run(&layout, dry_run),
        Command::BenchStrategy { args } => {
            crate::search::strategy::bench::bench_main(&args, &mut |line| println!("{line}"))
                .map_err(crate::Error::Usage)
        }
        Command::Worker { queue: None } => crate::train::worker::serve(None),
        Command::Worker { queue: Some(dir) } => crate::train::queue_worker::serve_queue(None, &dir),
    }
}
