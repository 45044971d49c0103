//! `vigil k8s snapshot`: read a live cluster and store it in one JSON file that
//! `vigil k8s scan --snapshot` reads offline.

use super::live::{ClusterArgs, read_cluster};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_kube::Inventory;
use vigil_kube::live::resources::RESOURCES;

/// `vigil k8s snapshot` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Secrets are read as metadata only (never values); ConfigMaps keep their keys \
with values emptied. A resource Vigil may not list is reported as a warning and the snapshot is \
marked partial; the exit status is still 0. `vigil k8s rbac` prints the permissions needed."
)]
pub struct SnapshotArgs {
    /// The snapshot file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Runs `vigil k8s snapshot`.
pub fn run(args: SnapshotArgs) -> Result<ExitCode> {
    let inv = read_cluster(&args.cluster)?;
    inv.write_snapshot(&args.output)?;
    eprintln!("{}", summary(&inv, &args.output));
    for gap in &inv.partial {
        eprintln!("warning: not read: {}: {}", gap.resource, gap.reason);
    }
    if inv.is_partial() {
        eprintln!(
            "warning: the snapshot is PARTIAL: {} of {} resources could not be read; \
             scans of it will say so (see `vigil k8s rbac` for the permissions needed)",
            inv.partial
                .iter()
                .filter(|g| g.resource != "/version")
                .count(),
            RESOURCES.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One line: cluster, version, objects per kind, file.
fn summary(inv: &Inventory, output: &std::path::Path) -> String {
    let version = inv
        .cluster
        .version
        .as_ref()
        .map_or("version unknown", |v| v.git_version.as_str());
    let counts: Vec<String> = RESOURCES
        .iter()
        .map(|r| (&r.kind, inv.of_kind(&r.kind).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    format!(
        "snapshot of {} ({}, {version}): {} objects ({}) -> {}",
        inv.cluster.name,
        inv.cluster.server,
        inv.objects.len(),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        output.display()
    )
}
