//! `vigil k8s pss`: the Pod Security Standards on manifests, as pod-security-admission
//! would judge them.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_kube::pss::{self, Level, Version};

/// `vigil k8s pss` arguments.
#[derive(clap::Args, Debug)]
// `--version` is the policy version here, as in kubectl's label; `vigil --version` still works.
#[command(disable_version_flag = true)]
#[command(
    after_help = "Objects checked: Pods, PodTemplates, and the pod templates of Deployments,
StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and ReplicationControllers; other
kinds are skipped. Exit status: 0 all allowed, 1 some object violates the level, 2 error.

Examples:
  vigil k8s pss restricted -f deploy/
  helm template ./chart | vigil k8s pss baseline -f -
  kubectl get deploy -A -o json | vigil k8s pss restricted --version v1.30 -f - --format json"
)]
pub struct PssArgs {
    /// The level: baseline or restricted.
    #[arg(value_parser = ["baseline", "restricted"])]
    pub level: String,
    /// Policy version, as the `pod-security.kubernetes.io/enforce-version` label: latest or v1.N.
    #[arg(long, default_value = "latest")]
    pub version: String,
    /// Manifest file or folder (`.yaml`, `.yml`, `.json`), or `-` for standard input.
    /// Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Namespace for objects that name none (as `kubectl apply` would use).
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Runs `vigil k8s pss`.
pub fn run(args: PssArgs) -> Result<ExitCode> {
    let level: Level = args.level.parse().map_err(anyhow::Error::msg)?;
    let version: Version = args.version.parse().map_err(anyhow::Error::msg)?;
    let limits = vigil_kube::Limits::default();
    let mut objects = Vec::new();
    for path in &args.files {
        objects.extend(vigil_kube::manifest::load(path, &limits)?);
    }
    let mut results = Vec::new();
    let mut skipped = 0usize;
    for object in &objects {
        match pss::evaluate_object(object, level, version, &args.namespace)
            .map_err(|e| anyhow::anyhow!("{}: {e}", object.origin))?
        {
            Some(e) => results.push((object, e)),
            None => skipped += 1,
        }
    }
    let denied = results.iter().filter(|(_, e)| !e.allowed()).count();
    let mut out = std::io::stdout().lock();
    if args.format == "json" {
        let objects: Vec<serde_json::Value> = results
            .iter()
            .map(|(o, e)| {
                serde_json::json!({
                    "resource": e.resource,
                    "source": o.origin,
                    "allowed": e.allowed(),
                    "verdict": e.verdict(),
                    "violations": e.violations,
                })
            })
            .collect();
        let findings: Vec<_> = results.iter().flat_map(|(_, e)| e.findings()).collect();
        let report = serde_json::json!({
            "policy": format!("{level}:{version}"),
            "effective_version": format!("v1.{}", version.effective_minor()),
            "objects": objects,
            "skipped": skipped,
            "findings": findings,
        });
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for (_, e) in &results {
            writeln!(out, "{}: {}", e.resource.display_name(), e.verdict())
                .context("writing the report")?;
        }
    }
    out.flush()?;
    if skipped > 0 {
        tracing::info!(skipped, "objects without a pod template skipped");
    }
    eprintln!(
        "{} objects checked against {level}:{version}: {} allowed, {denied} not allowed{}",
        results.len(),
        results.len() - denied,
        if skipped > 0 {
            format!(", {skipped} without a pod skipped")
        } else {
            String::new()
        }
    );
    Ok(if denied > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
