//! A real single-node Slurm for tests: munged, slurmctld and slurmd started in a scratch
//! folder with their own slurm.conf, munge socket and ports, and stopped afterwards with no
//! daemon, step or job left behind. Every process it starts carries `SLURM_CONF=<its conf>`
//! in its environment (jobs and their `slurmstepd` inherit it), which is how the clean-up
//! finds anything that outlived an orderly stop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Cluster {
    dir: tempfile::TempDir,
    stopped: bool,
}

const BINARIES: &[&str] = &[
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scancel",
    "sacct",
];

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn found(bin: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(bin).exists())
}

impl Cluster {
    /// Start the daemons; `Err(reason)` where Slurm cannot run here at all.
    pub fn start() -> Result<Cluster, String> {
        if let Some(b) = BINARIES.iter().find(|b| !found(b)) {
            return Err(format!(
                "{b} is not installed (scripts/setup installs slurm-wlm and munge)"
            ));
        }
        // SAFETY: a plain getuid call.
        if unsafe { libc::getuid() } != 0 {
            return Err("the test cluster runs its daemons as root (SlurmUser=root)".into());
        }
        let key = Path::new("/etc/munge/munge.key");
        if !key.exists() {
            return Err("/etc/munge/munge.key is missing (installing munge creates it)".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("hpflow-slurm-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let d = dir.path();
        for sub in ["state", "spool", "log", "munge"] {
            std::fs::create_dir_all(d.join(sub)).map_err(|e| e.to_string())?;
        }
        let cpus = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        let conf = format!(
            "ClusterName=hpflowtest
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldPort={ctld}
SlurmdPort={slurmd}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={d}/log/jobcomp.txt
KillWait=1
MpiDefault=none
NodeName=localhost CPUs={cpus} RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
",
            d = d.display(),
            ctld = free_port(),
            slurmd = free_port(),
        );
        std::fs::write(d.join("slurm.conf"), conf).map_err(|e| e.to_string())?;
        let cluster = Cluster {
            dir,
            stopped: false,
        };
        let m = cluster.path().join("munge");
        cluster.daemon(
            Command::new("munged")
                .arg("--force")
                .arg(format!("--socket={}", m.join("munge.sock").display()))
                .arg(format!("--pid-file={}", m.join("munged.pid").display()))
                .arg(format!("--log-file={}", m.join("munged.log").display()))
                .arg(format!("--seed-file={}", m.join("seed").display()))
                .arg(format!("--key-file={}", key.display())),
        )?;
        wait_for(|| m.join("munge.sock").exists(), "munged's socket")?;
        cluster.daemon(&mut Command::new("slurmctld"))?;
        cluster.daemon(Command::new("slurmd").args(["-N", "localhost"]))?;
        wait_for(
            || {
                cluster
                    .slurm("sinfo", &["--noheader", "--format=%t"])
                    .is_some_and(|s| s.trim() == "idle")
            },
            "the node to come up idle",
        )?;
        Ok(cluster)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn conf(&self) -> PathBuf {
        self.path().join("slurm.conf")
    }

    /// Point a command (hpflow, sbatch, ...) at this cluster.
    pub fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("SLURM_CONF", self.conf())
    }

    fn daemon(&self, cmd: &mut Command) -> Result<(), String> {
        let out = self
            .env(cmd)
            .output()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// A Slurm client command's stdout, `None` if it failed.
    pub fn slurm(&self, program: &str, args: &[&str]) -> Option<String> {
        let out = self
            .env(&mut Command::new(program))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `squeue` of every job: (id, name, state, reason).
    pub fn jobs(&self) -> Vec<(String, String, String, String)> {
        self.slurm(
            "squeue",
            &["--noheader", "--states=all", "--format=%i|%j|%T|%r"],
        )
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let p: Vec<&str> = l.split('|').collect();
            (p.len() == 4).then(|| (p[0].into(), p[1].into(), p[2].into(), p[3].into()))
        })
        .collect()
    }

    /// Jobs Slurm still runs or holds.
    pub fn live_jobs(&self) -> Vec<String> {
        self.jobs()
            .into_iter()
            .filter(|(_, _, s, _)| {
                matches!(
                    s.as_str(),
                    "PENDING" | "RUNNING" | "COMPLETING" | "CONFIGURING"
                )
            })
            .map(|(id, ..)| id)
            .collect()
    }

    /// What `sacct` says from the job-completion log (this cluster has no slurmdbd).
    pub fn sacct(&self) -> String {
        self.slurm(
            "sacct",
            &[
                "--completion",
                "--noheader",
                "--parsable2",
                "--format=JobID,JobName,State,Elapsed,ExitCode",
            ],
        )
        .unwrap_or_else(|| "(sacct failed)".into())
    }

    /// Processes started for this cluster that are still alive (daemons, steps, workers).
    pub fn processes(&self) -> Vec<(i32, String)> {
        let marker = format!("SLURM_CONF={}", self.conf().display());
        let me = std::process::id() as i32;
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(env) = std::fs::read(e.path().join("environ")) else {
                continue;
            };
            if env.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                // A zombie has no environment left to read; only live processes count.
                out.push((pid, cmd.trim().to_string()));
            }
        }
        out
    }

    /// An orderly stop: cancel every job, wait for them, stop the daemons by their pid
    /// files. Returns what was still running afterwards (then killed): should be nothing.
    pub fn stop(&mut self) -> Vec<(i32, String)> {
        if self.stopped {
            return Vec::new();
        }
        self.stopped = true;
        let live = self.live_jobs();
        if !live.is_empty() {
            let mut args: Vec<&str> = live.iter().map(String::as_str).collect();
            args.insert(0, "--full");
            self.slurm("scancel", &args);
        }
        let _ = wait_for(|| self.live_jobs().is_empty(), "jobs to end");
        // A batch step can outlive slurmd: wait for the steps first.
        let _ = wait_for(
            || {
                !self
                    .processes()
                    .iter()
                    .any(|(_, c)| c.contains("slurmstepd"))
            },
            "steps to end",
        );
        for pid_file in ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"] {
            let pid = std::fs::read_to_string(self.path().join(pid_file))
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                // SAFETY: signalling a daemon this cluster started, by its pid file.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                let _ = wait_for(
                    // SAFETY: signal 0 only asks whether the pid exists.
                    || unsafe { libc::kill(pid, 0) } != 0,
                    "a daemon to stop",
                );
            }
        }
        let left = self.processes();
        for (pid, _) in &left {
            // SAFETY: a process started for this cluster (its environment names our conf).
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        left
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn wait_for(mut ok: impl FnMut() -> bool, what: &str) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("timed out waiting for {what}"))
}
