//! `vigil k8s`: Kubernetes posture.

mod checks;
mod connect;
mod diff;
pub mod live;
mod pss;
pub(crate) mod scan;
mod snapshot;
pub(crate) mod source;

use anyhow::Result;
use std::process::ExitCode;

/// `vigil k8s` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `vigil k8s` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check manifests against a Pod Security Standards level, as pod-security-admission
    /// would: per object `allowed` or the controls it violates; exit 1 if any is not allowed.
    Pss(pss::PssArgs),
    /// Run every posture check (Pod Security Standards, namespace labels, workload hygiene,
    /// RBAC, exposure) and find attack paths, over manifests or a cluster snapshot.
    Scan(scan::ScanArgs),
    /// List the posture checks with their severity and the controls they map to.
    Checks(checks::ChecksArgs),
    /// Show what changed between two snapshots: objects, new and resolved findings.
    Diff(diff::DiffArgs),
    /// Read a live cluster (kubeconfig or in-cluster) into a snapshot file; Secrets are
    /// read as metadata only.
    Snapshot(snapshot::SnapshotArgs),
    /// Print the least-privilege ClusterRole and ClusterRoleBinding Vigil needs to read a
    /// cluster.
    Rbac(connect::RbacArgs),
    /// Create Vigil's namespace, service account and read-only access in a cluster
    /// (prints them; `--apply` creates them).
    Connect(connect::ConnectArgs),
}

/// Runs `vigil k8s`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Pss(a) => pss::run(a),
        Command::Scan(a) => scan::run(a),
        Command::Checks(a) => checks::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Snapshot(a) => snapshot::run(a),
        Command::Rbac(a) => connect::run_rbac(a),
        Command::Connect(a) => connect::run_connect(a),
    }
}
