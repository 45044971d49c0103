//! `vigil sensor`: the runtime sensor. Loads the eBPF collector and writes one JSON line
//! per event (process exec, fork, exit, opens of watched paths, connects, listens and
//! accepts, security-relevant syscalls) to stdout or a file, until Ctrl-C or SIGTERM;
//! the runtime rules judge each event and their alerts are written beside the events.

use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_sensor::collector::{self, Config};
use vigil_sensor::detect;
use vigil_sensor::enrich::{Enricher, NoMetadata, ProcFs};
use vigil_sensor::pipeline::Pipeline;
use vigil_sensor::publish::{self, Publisher};
use vigil_sensor::sink::{JsonLines, SpoolSink, Tee};
use vigil_sensor::spool::{self, Spool};
use vigil_sensor::watch::{DEFAULT_WATCHES, WatchTable};

/// `vigil sensor` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Runs as root on a kernel with BTF (/sys/kernel/btf/vmlinux). \
Writes one JSON object per event: kind (exec, fork, exit, open, connect, listen, accept, \
or a syscall's name: memfd_create, ptrace, setuid, setgid, unshare, setns, mount, init_module, \
finit_module, bpf, socket for packet and raw sockets), time, node, container_id, the process (pid, ppid, name, exe, uid, \
parent) and the kind's fields. Opens are reported for the watched paths only, filtered in \
the kernel. A line on stderr says when the programs are attached; a summary with event, \
alert and drop counts is printed at exit.

Rules: the built-in runtime detections and --rules files, in Falco's rules format with \
Falco's field names (evt.*, proc.*, user.*, fd.*, container.*, k8s.*; rules without a \
`source:` or with `source: syscall`). --rules files load after the built-ins, so they \
can add rules and disable (`enabled: false`) or override (`override:`) built-in ones, \
or fill the built-in lists (`append: true`). Each alert is one JSON line with \
\"kind\": \"alert\", written after the event that raised it: rule, severity, MITRE \
tactic and technique, output, node, container, pod, image, the process tree and the \
event as evidence.

Examples:
  vigil sensor
  vigil sensor --output /var/log/vigil/events.jsonl --duration 60
  vigil sensor --alerts-only --rules my-rules.yaml
  vigil sensor --watch /etc/shadow --watch /home/"
)]
pub struct Args {
    /// Where events go: `stdout` or a file (appended to). Default: stdout, or nowhere
    /// but the server when --server is given.
    #[arg(short, long, value_name = "stdout|FILE")]
    pub output: Option<String>,
    /// Stop after this many seconds (default: run until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// The node's name in events (default: the host name).
    #[arg(long, env = "VIGIL_NODE_NAME", value_name = "NAME")]
    pub node_name: Option<String>,
    /// A watched path; repeat for more. A path ending in `/` watches everything below it.
    /// Giving any replaces the whole default list.
    #[arg(long = "watch", value_name = "PATH", help_heading = "Watched paths",
          default_values = DEFAULT_WATCHES)]
    pub watches: Vec<String>,
    /// Ring buffer size in MiB (a power of two).
    #[arg(long, value_name = "MIB", default_value_t = 8)]
    pub ring_buffer_mib: u32,
    /// Rules file in Falco's format, loaded after the built-ins. Repeatable.
    #[arg(long = "rules", value_name = "FILE", help_heading = "Rules")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in detections (with no --rules, nothing is judged).
    #[arg(long, help_heading = "Rules")]
    pub no_builtin: bool,
    /// Write alerts only, not the events.
    #[arg(long, help_heading = "Rules")]
    pub alerts_only: bool,
    /// The server events and alerts go to (through the disk spool), its token and CA.
    #[command(flatten)]
    pub submit: super::server::SubmitArgs,
    /// Client certificate and key (one PEM file) for servers that require mutual TLS.
    #[arg(long, value_name = "FILE", help_heading = "Publishing")]
    pub client_cert: Option<PathBuf>,
    /// The spool folder: what waits for the server, kept across restarts.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/lib/vigil/spool",
        help_heading = "Publishing"
    )]
    pub spool_dir: PathBuf,
    /// The spool's bound in MiB; past it the oldest raw events are dropped (never alerts).
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = 1024,
        help_heading = "Publishing"
    )]
    pub spool_max_mib: u64,
}

/// The spool and the publisher's thread, when --server is given.
struct Publishing {
    spool: Arc<Mutex<Spool>>,
    publisher: Arc<Publisher>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Publishing {
    fn start(args: &Args, node: &str) -> Result<Option<Publishing>> {
        let Some(server) = &args.submit.server else {
            return Ok(None);
        };
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let limits = spool::Limits {
            max_bytes: args.spool_max_mib.max(1) << 20,
            ..spool::Limits::default()
        };
        let spool = Spool::open(&args.spool_dir, limits)
            .with_context(|| format!("opening the spool {}", args.spool_dir.display()))?;
        let waiting = spool.sealed().map(|s| s.len()).unwrap_or(0);
        if waiting > 0 {
            eprintln!("vigil: {waiting} batches from before wait in the spool; sending them first");
        }
        let spool = Arc::new(Mutex::new(spool));
        let config = publish::Config {
            server: server.trim_end_matches('/').to_string(),
            token: args.submit.token()?,
            node: node.to_string(),
            ca: args.submit.ca()?,
            identity: args.client_cert.as_ref().map(read).transpose()?,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            idle: Duration::from_millis(500),
        };
        let publisher = Arc::new(Publisher::new(config, Arc::clone(&spool))?);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (publisher, stop) = (Arc::clone(&publisher), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("publish".into())
                .spawn(move || publisher.run(&stop))
                .context("starting the publisher")?
        };
        Ok(Some(Publishing {
            spool,
            publisher,
            stop,
            thread,
        }))
    }

    /// Seals what is open, sends what it can, and says what stays in the spool.
    fn finish(self) {
        if let Ok(mut s) = self.spool.lock() {
            for lane in [spool::Lane::Alerts, spool::Lane::Events] {
                if let Err(e) = s.seal(lane) {
                    tracing::warn!("sealing the spool: {e}");
                }
            }
        }
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        let stats = &self.publisher.stats;
        let (bytes, dropped) = self
            .spool
            .lock()
            .map(|s| (s.bytes(), s.dropped()))
            .unwrap_or_default();
        eprintln!(
            "vigil: published {} batches ({} events and alerts), {} refused; {} bytes wait in the spool; {} events dropped for room",
            stats.batches.load(Ordering::Relaxed),
            stats.lines.load(Ordering::Relaxed),
            stats.rejected.load(Ordering::Relaxed),
            bytes,
            dropped.events,
        );
    }
}

/// Runs `vigil sensor`.
pub fn run(args: Args) -> Result<ExitCode> {
    let watches = WatchTable::new(args.watches.iter().map(String::as_str))?;
    let mib = args.ring_buffer_mib;
    anyhow::ensure!(
        mib.is_power_of_two() && mib <= 1024,
        "--ring-buffer-mib must be a power of two up to 1024, not {mib}"
    );
    let config = Config {
        ring_buffer_bytes: mib << 20,
        watches: watches.clone(),
        ..Config::default()
    };
    // A bad rules file fails here, before anything is loaded into the kernel.
    let rules = if args.no_builtin && args.rules.is_empty() {
        anyhow::ensure!(
            !args.alerts_only,
            "--alerts-only needs rules: drop --no-builtin or give --rules"
        );
        None
    } else {
        Some(detect::engine(!args.no_builtin, &args.rules)?)
    };
    // Root, BTF and tracefs are checked before anything is opened, with a plain message.
    collector::preflight()?;

    let output = args
        .output
        .clone()
        .or_else(|| args.submit.server.is_none().then(|| "stdout".to_string()));
    let lines: Option<JsonLines<Box<dyn Write>>> = match output.as_deref() {
        None => None,
        Some("stdout" | "-") => Some(JsonLines::new(Box::new(BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        )))),
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {path}"))?;
            Some(JsonLines::new(Box::new(BufWriter::with_capacity(
                64 * 1024,
                file,
            ))))
        }
    };
    let node = match args.node_name.clone() {
        Some(n) => n,
        None => rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
    };
    let stop = crate::signal::stop_flag()?;
    let publishing = Publishing::start(&args, &node)?;
    let sink = Tee(
        publishing
            .as_ref()
            .map(|p| SpoolSink::new(Arc::clone(&p.spool))),
        lines,
    );
    let enricher = Enricher::new(Box::new(ProcFs), Box::new(NoMetadata));
    let judged_by = rules.as_ref().map_or(0, |r| r.len());
    let alerts_only = args.alerts_only;
    let mut pipeline = Pipeline::new(enricher, node, watches, sink).on_attached(move |attached| {
        eprintln!(
            "vigil: sensor attached ({} programs, {judged_by} rules); {} follow",
            attached.programs.len(),
            if alerts_only { "alerts" } else { "events" },
        );
        for (name, why) in &attached.missing {
            tracing::warn!(program = %name, "not attached: {why}");
        }
    });
    if let Some(rules) = rules {
        pipeline = pipeline.with_rules(Arc::new(rules), args.alerts_only);
    }
    let started = Instant::now();
    let until = args.duration.map(|s| started + Duration::from_secs(s));
    let stats = collector::run(&config, &mut pipeline, &stop, until)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "vigil: {} events in {:.1} s ({:.0}/s), {} alerts; dropped: {} in the kernel, {} in user space; {} sink errors",
        stats.records(),
        secs,
        stats.records() as f64 / secs.max(0.001),
        pipeline.alert_count,
        stats.kernel_drops,
        stats.user_drops,
        pipeline.sink_errors,
    );
    if let Some(p) = publishing {
        p.finish();
    }
    if let Some(e) = &pipeline.last_error {
        anyhow::bail!(
            "writing events to {}: {e}",
            output.as_deref().unwrap_or("the spool")
        );
    }
    Ok(ExitCode::SUCCESS)
}
