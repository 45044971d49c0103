//! `vigil audit`: control-plane threat detection on Kubernetes audit logs.

use crate::cmd::audit_judge::RuleArgs;
use crate::cmd::sbom::write_output;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::Alert;
use vigil_core::format::ocsf::{self, Product};
use vigil_core::format::text;
use vigil_detect::audit_log;

/// `vigil audit` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `vigil audit` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Judge audit log files with the built-in detections and your rules files.
    Scan(ScanArgs),
    /// Follow a growing audit log (`tail -F`) and raise alerts as events are written.
    Tail(crate::cmd::audit_tail::TailArgs),
    /// Receive the API server's audit webhook (EventList POSTs) and raise alerts.
    Serve(Box<crate::cmd::audit_serve::ServeArgs>),
}

/// `vigil audit scan` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Input: audit.k8s.io/v1 or v1beta1 Events as JSON lines, EventList documents,
gzip-compressed or not; AKS diagnostic-log records (category kube-audit); EKS logs from
CloudWatch Logs (filter-log-events/get-log-events output, subscription payloads, Insights
rows, S3 exports); GKE Cloud Logging entries (gcloud logging read, sinks). Malformed
lines are counted and reported with their line numbers; reading goes on.

Rules: Falco's rules format with k8saudit field names (ka.*, jevt.value[/ptr]). --rules
files load after the built-ins, so they can add rules and disable (`enabled: false`) or
override (`override:`) built-in ones.

Threat intelligence: --threat-intel files hold one IP address or CIDR network per line
(`#` starts a comment); they fill the built-in list `threat_intel_ips`, and any request
whose sourceIPs (client or X-Forwarded-For proxies) falls in it raises an alert.

Output: a table, JSON lines of Vigil's alerts (--format json), or JSON lines of OCSF 1.3.0
Detection Findings (--format ocsf, class 2004) for SIEMs and security data lakes.

Examples:
  vigil audit scan /var/log/kubernetes/audit.log
  vigil audit scan audit-*.log.gz --rules my-rules.yaml --format json > alerts.jsonl
  vigil audit scan aks-kube-audit.json --since 2026-11-29T00:00:00Z --exit-code 1
  vigil audit scan audit.log --threat-intel blocklist.txt --format ocsf > findings.jsonl"
)]
pub struct ScanArgs {
    /// Audit log files (`-` for standard input).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output: a table, JSON lines of alerts, or JSON lines of OCSF Detection Findings.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "ocsf"])]
    pub format: String,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Exit with this code when there are alerts (default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
}

/// Runs `vigil audit`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Scan(a) => scan(a),
        Command::Tail(a) => crate::cmd::audit_tail::tail(a),
        Command::Serve(a) => crate::cmd::audit_serve::serve(*a),
    }
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{s:?} is not an RFC 3339 time (e.g. 2026-11-29T12:00:00Z)"))
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let mut detector = args.rules.detector()?;
    let since = args.since.as_deref().map(parse_time).transpose()?;
    let until = args.until.as_deref().map(parse_time).transpose()?;
    let mut alerts: Vec<Alert> = Vec::new();
    let mut events = 0usize;
    for path in &args.files {
        let reader: Box<dyn std::io::Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            )
        };
        let mut log =
            audit_log::open(reader).with_context(|| format!("reading {}", path.display()))?;
        log.for_each(|event| {
            if since.is_some() || until.is_some() {
                let at = event.time().and_then(|t| parse_time(t).ok());
                let keep =
                    at.is_some_and(|t| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u));
                if !keep {
                    return;
                }
            }
            events += 1;
            detector.judge(event, &mut alerts);
        })
        .with_context(|| format!("reading {}", path.display()))?;
        let stats = log.stats();
        crate::cmd::audit_judge::report_malformed(&path.display().to_string(), stats);
        if stats.duplicates > 0 || stats.other_stages > 0 {
            tracing::info!(
                file = %path.display(),
                duplicates = stats.duplicates,
                other_stages = stats.other_stages,
                "events left out"
            );
        }
    }
    write_output(args.output.as_deref(), |out| {
        if args.format == "ocsf" {
            let product = Product::vigil(env!("CARGO_PKG_VERSION"), "audit");
            return ocsf::write(&alerts, &product, out);
        }
        if args.format == "json" {
            for a in &alerts {
                serde_json::to_writer(&mut *out, a)?;
                writeln!(out)?;
            }
            return Ok(());
        }
        // Most severe first, then in time order.
        let mut sorted: Vec<&Alert> = alerts.iter().collect();
        sorted.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.time.cmp(&b.time))
        });
        let rows: Vec<(vigil_core::Severity, Vec<String>)> = sorted
            .into_iter()
            .map(|a| {
                let d = a.audit.clone().unwrap_or_default();
                (
                    a.severity,
                    vec![
                        a.time.clone().unwrap_or_default(),
                        a.severity.to_string(),
                        a.rule_id.clone(),
                        d.user,
                        text::truncate(&a.output, 100),
                    ],
                )
            })
            .collect();
        if rows.is_empty() {
            writeln!(out, "No alerts.")?;
        } else {
            text::write_rows(
                out,
                &["TIME", "SEVERITY", "RULE", "USER", "OUTPUT"],
                &rows,
                1,
                false,
            )?;
        }
        Ok(())
    })?;
    eprintln!(
        "{events} events judged by {} rules: {} alerts",
        detector.len(),
        alerts.len()
    );
    Ok(if !alerts.is_empty() && args.exit_code != 0 {
        ExitCode::from(args.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}
