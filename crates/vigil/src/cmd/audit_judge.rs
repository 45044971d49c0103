//! What the streaming `vigil audit` commands (`tail`, `serve`) share: the rule set,
//! judging a log's events, and writing alerts one at a time as they are raised.
//!
//! [`judge_log`] is the one place these commands handle audit events, so a change to
//! how the audit log reader hands them out is an edit here only.

use anyhow::{Context, Result};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use vigil_core::Alert;
use vigil_core::format::ocsf::{self, Product};
use vigil_core::format::text;
use vigil_detect::audit_log::{AuditLog, Stats};
use vigil_detect::detector::Detector;
use vigil_detect::engine::Engine;
use vigil_detect::rules::RuleSet;
use vigil_detect::stateful::Limits;

/// Which detections judge the events.
#[derive(clap::Args, Debug, Clone)]
pub struct RuleArgs {
    /// Rules file in Falco's format, loaded after the built-ins. Repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in detections.
    #[arg(long)]
    pub no_builtin: bool,
    /// Threat-intelligence addresses: one IP or CIDR network per line, `#` comments;
    /// added to the `threat_intel_ips` list. Repeatable.
    #[arg(long = "threat-intel", value_name = "FILE")]
    pub threat_intel: Vec<PathBuf>,
    /// Turn off the stateful detections (first-seen operations, enumeration bursts).
    #[arg(long)]
    pub no_stateful: bool,
    /// How long each identity's operations are learned before new ones are reported.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub learn_for: i64,
    /// Reads of secrets or RBAC objects by one identity that make a burst...
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub burst_count: usize,
    /// ...within this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub burst_window: i64,
}

impl Default for RuleArgs {
    /// What the flags default to.
    fn default() -> RuleArgs {
        RuleArgs {
            rules: Vec::new(),
            no_builtin: false,
            threat_intel: Vec::new(),
            no_stateful: false,
            learn_for: 3600,
            burst_count: 50,
            burst_window: 60,
        }
    }
}

impl RuleArgs {
    /// Loads and compiles the rules: a bad rules file fails here, never while judging.
    pub fn engine(&self) -> Result<Engine> {
        let mut set = RuleSet::default();
        if !self.no_builtin {
            set.load(
                vigil_detect::BUILTIN_AUDIT_RULES,
                Path::new("<built-in k8s_audit.yaml>"),
            )?;
        }
        for path in &self.rules {
            set.load_file(path)?;
        }
        for path in &self.threat_intel {
            set.extend_list(THREAT_INTEL_LIST, read_threat_intel(path)?);
        }
        Ok(Engine::audit(&set)?)
    }

    /// The rules and, unless turned off, the stateful detections.
    pub fn detector(&self) -> Result<Detector> {
        if self.burst_count < 2 || self.burst_window < 1 || self.learn_for < 0 {
            anyhow::bail!(
                "--burst-count must be at least 2, --burst-window at least 1 second, and \
                 --learn-for not negative"
            );
        }
        let limits = (!self.no_stateful).then(|| Limits {
            learn_secs: self.learn_for,
            burst_count: self.burst_count,
            burst_secs: self.burst_window,
            ..Limits::default()
        });
        Ok(Detector::new(self.engine()?, limits))
    }
}

/// The built-in rules list that `--threat-intel` fills.
const THREAT_INTEL_LIST: &str = "threat_intel_ips";

/// Largest threat-intelligence file read.
const MAX_THREAT_INTEL_BYTES: u64 = 64 << 20;

/// The entries of a threat-intelligence file, or an error naming the file and the line.
fn read_threat_intel(path: &Path) -> Result<Vec<String>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_THREAT_INTEL_BYTES {
        anyhow::bail!(
            "{}: larger than {} MiB",
            path.display(),
            MAX_THREAT_INTEL_BYTES >> 20
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let entries = vigil_detect::net::parse_list(&text)
        .map_err(|(line, e)| anyhow::anyhow!("{}:{line}: {e}", path.display()))?;
    tracing::info!(file = %path.display(), entries = entries.len(), "threat intelligence");
    Ok(entries)
}

/// Judges every event `log` hands out, passing each event's alerts to `emit` as soon as
/// they are raised. Returns how many events were judged; the read's stats (malformed
/// lines) are in `log.stats()` afterwards. After `emit` fails, the rest of the log is
/// read but not judged, and the failure is returned.
pub fn judge_log<R: Read>(
    log: &mut AuditLog<R>,
    detector: &mut Detector,
    mut emit: impl FnMut(&[Alert]) -> Result<()>,
) -> Result<usize> {
    let mut alerts = Vec::new();
    let mut events = 0;
    let mut failed: Option<anyhow::Error> = None;
    log.for_each(|event| {
        if failed.is_some() {
            return;
        }
        events += 1;
        detector.judge(event, &mut alerts);
        if !alerts.is_empty() {
            if let Err(e) = emit(&alerts) {
                failed = Some(e);
            }
            alerts.clear();
        }
    })
    .context("reading the audit log")?;
    failed.map_or(Ok(events), Err)
}

/// Prints the malformed lines of a read as warnings.
pub fn report_malformed(source: &str, stats: &Stats) {
    for m in &stats.malformed {
        eprintln!("warning: {source}:{}: {}", m.line, m.reason);
    }
    let more = stats.malformed_count.saturating_sub(stats.malformed.len());
    if more > 0 {
        eprintln!("warning: {source}: {more} more malformed lines");
    }
}

/// How alerts are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertFormat {
    /// One JSON alert per line (Vigil's alert schema).
    Json,
    /// Fixed-width columns, one line per alert.
    Table,
    /// One OCSF 1.3.0 Detection Finding (class 2004) per line, for SIEMs.
    Ocsf,
}

/// Writes alerts one at a time, each flushed at once: a reader downstream (a SIEM
/// shipper, a person at a terminal) sees an alert when it is raised.
pub struct AlertWriter {
    out: Box<dyn Write + Send>,
    format: AlertFormat,
    header: bool,
    /// Alerts written.
    pub written: usize,
}

/// Column widths of the streaming table (it cannot size columns to rows not seen yet).
const WIDTHS: [usize; 4] = [20, 13, 34, 28];

impl AlertWriter {
    /// Writes to `output` (appended to, so a restart keeps earlier alerts), or stdout.
    pub fn open(format: AlertFormat, output: Option<&Path>) -> Result<AlertWriter> {
        let out: Box<dyn Write + Send> = match output {
            Some(path) => Box::new(io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?,
            )),
            None => Box::new(io::BufWriter::new(io::stdout())),
        };
        Ok(AlertWriter::new(format, out))
    }

    /// Writes to `out`.
    pub fn new(format: AlertFormat, out: Box<dyn Write + Send>) -> AlertWriter {
        AlertWriter {
            out,
            format,
            header: false,
            written: 0,
        }
    }

    /// Writes and flushes `alerts`.
    pub fn write(&mut self, alerts: &[Alert]) -> io::Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        for a in alerts {
            match self.format {
                AlertFormat::Json => {
                    serde_json::to_writer(&mut self.out, a)?;
                    writeln!(self.out)?;
                }
                AlertFormat::Ocsf => {
                    let product = Product::vigil(env!("CARGO_PKG_VERSION"), "audit");
                    ocsf::write(std::slice::from_ref(a), &product, &mut self.out)?;
                }
                AlertFormat::Table => {
                    if !self.header {
                        self.header = true;
                        self.row(["TIME", "SEVERITY", "RULE", "USER", "OUTPUT"])?;
                    }
                    let user = a.audit.as_ref().map(|d| d.user.as_str()).unwrap_or("");
                    self.row([
                        a.time.as_deref().unwrap_or(""),
                        &a.severity.to_string(),
                        &a.rule_id,
                        user,
                        &a.output,
                    ])?;
                }
            }
            self.written += 1;
        }
        self.out.flush()
    }

    fn row(&mut self, cells: [&str; 5]) -> io::Result<()> {
        let mut line = String::new();
        for (cell, width) in cells.iter().zip(WIDTHS) {
            let cell = text::truncate(cell, width);
            line.push_str(&format!("{cell:<width$}  "));
        }
        line.push_str(&text::truncate(cells[4], 100));
        writeln!(self.out, "{}", line.trim_end())
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `Write` the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods/web-0/exec?command=sh","verb":"create","user":{"username":"mallory"},"objectRef":{"resource":"pods","namespace":"shop","name":"web-0","subresource":"exec"},"responseStatus":{"code":101},"stageTimestamp":"2026-11-29T12:00:01Z"}"#;

    #[test]
    fn judged_alerts_stream_out_and_bad_lines_are_counted() {
        let mut detector = RuleArgs::default().detector().unwrap();
        let text = format!("{EXEC}\nnot json\n");
        let mut log = AuditLog::new(text.as_bytes());
        let buf = Shared::default();
        let mut writer = AlertWriter::new(AlertFormat::Table, Box::new(buf.clone()));
        let events =
            judge_log(&mut log, &mut detector, |alerts| Ok(writer.write(alerts)?)).unwrap();
        let bad = log.stats().malformed.len();
        assert_eq!((events, bad, writer.written), (1, 1, 1));
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("TIME "), "{out}");
        assert!(lines[1].starts_with("2026-11-29T12:00:01Z"), "{out}");
        assert!(lines[1].contains("K8S-AUDIT-exec"), "{out}");
        assert!(lines[1].contains("mallory"), "{out}");

        // The same alert as an OCSF Detection Finding line (tail and serve stream these).
        let buf = Shared::default();
        let mut writer = AlertWriter::new(AlertFormat::Ocsf, Box::new(buf.clone()));
        let mut log = AuditLog::new(EXEC.as_bytes());
        judge_log(&mut log, &mut detector, |alerts| Ok(writer.write(alerts)?)).unwrap();
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let finding: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(finding["class_uid"], 2004, "{out}");
        assert_eq!(finding["metadata"]["product"]["name"], "Vigil");
    }
}
