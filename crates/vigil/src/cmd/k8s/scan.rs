//! `vigil k8s scan`: every posture check and the attack paths, over a live cluster, a
//! snapshot file or manifests.

use crate::cmd::sbom::write_output;
use anyhow::{Context, Result, bail};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::format::{PostureFormat, posture_table, write_posture};
use vigil_core::{Severity, VulnReport};

/// `vigil k8s scan` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Sources (one of):
  (default)            the live cluster of --kubeconfig/--context (read-only; see `vigil k8s rbac`)
  -f PATH              manifests: files, folders, `-` (kubectl get -o json, helm template)
  --snapshot FILE      a snapshot written by `vigil k8s snapshot`

Checks: Pod Security Standards (Baseline and Restricted, latest), namespace Pod Security
labels, workload hygiene, RBAC risk on effective permissions, exposure; `vigil k8s checks`
lists them. Attack paths join exposure, image vulnerabilities (--images) and what the
workload can reach.

Examples:
  vigil k8s scan --context prod --severity CRITICAL,HIGH
  vigil k8s scan -f deploy/
  helm template ./chart | vigil k8s scan -f - --severity CRITICAL,HIGH --exit-code 1
  vigil k8s scan --snapshot prod.json --images api.json --format sarif -o prod.sarif")]
pub struct ScanArgs {
    #[command(flatten)]
    pub source: super::source::SourceArgs,
    /// `vigil image --format json` results, joined to workloads by image digest or
    /// reference for attack paths. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub images: Vec<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = clap::builder::PossibleValuesParser::new(PostureFormat::NAMES))]
    pub format: String,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report only these severities (comma-separated: CRITICAL,HIGH,MEDIUM,LOW).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub severity: Vec<Severity>,
    /// Exit with this code when findings remain after filtering (default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
    #[command(flatten)]
    pub submit: crate::cmd::server::SubmitArgs,
}

/// Runs `vigil k8s scan`.
pub fn run(args: ScanArgs) -> Result<ExitCode> {
    let Some(format) = PostureFormat::from_name(&args.format) else {
        bail!("unknown format {}", args.format);
    };
    let images = read_images(&args.images)?;
    let server = args.submit.client()?;
    let read = args.source.read()?;
    let (inv, source, name) = (read.inventory, read.kind, read.name);
    let mut report = vigil_kube::report::scan(&inv, source, &name, &images);
    if !args.severity.is_empty() {
        report
            .findings
            .retain(|f| args.severity.contains(&f.severity));
        report
            .attack_paths
            .retain(|p| args.severity.contains(&p.severity));
    }
    let color = args.output.is_none() && std::io::stdout().is_terminal();
    write_output(args.output.as_deref(), |out| match format {
        PostureFormat::Table => posture_table::write(&report, color, out),
        _ => write_posture(format, &report, out),
    })?;
    if let Some(server) = server {
        server
            .send_posture(&report)
            .context("sending the scan to the server")?;
        eprintln!("vigil: scan sent to the server");
    }
    if !report.complete() {
        eprintln!(
            "warning: the scan is partial ({} resource type(s) could not be read); findings may be missing",
            report.partial.len()
        );
    }
    let found = !report.findings.is_empty() || !report.attack_paths.is_empty();
    Ok(if found && args.exit_code != 0 {
        ExitCode::from(args.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn read_images(paths: &[PathBuf]) -> Result<Vec<VulnReport>> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_slice(&bytes).with_context(|| {
                format!("{}: not a `vigil image --format json` report", p.display())
            })
        })
        .collect()
}
