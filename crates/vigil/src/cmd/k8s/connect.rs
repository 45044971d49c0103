//! `vigil k8s rbac` and `vigil k8s connect`: the least-privilege access Vigil needs, as
//! YAML to review or apply, or applied directly (server-side apply, field manager
//! `vigil`).

use super::live::{ClusterArgs, block_on, connect};
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;
use vigil_kube::live::{self, access};

/// `vigil k8s rbac` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  vigil k8s rbac --namespace vigil | kubectl apply -f -")]
pub struct RbacArgs {
    /// Namespace of the service account Vigil runs as.
    #[arg(long, default_value = "vigil")]
    pub namespace: String,
    /// The service account Vigil runs as.
    #[arg(long, default_value = "vigil")]
    pub service_account: String,
}

/// `vigil k8s connect` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Without --apply, prints the objects it would create (Namespace, \
ServiceAccount, ClusterRole vigil-reader, ClusterRoleBinding vigil-reader). With --apply, \
creates or updates them by server-side apply; running it again changes nothing."
)]
pub struct ConnectArgs {
    /// Namespace of Vigil's service account (created if missing).
    #[arg(long, default_value = "vigil")]
    pub namespace: String,
    /// The service account to create and bind.
    #[arg(long, default_value = "vigil")]
    pub service_account: String,
    /// Create the objects in the cluster instead of printing them.
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn print_yaml(objects: &[Value]) -> Result<()> {
    let yaml = serde_saphyr::to_string_multiple(objects).context("writing YAML")?;
    let mut out = std::io::stdout().lock();
    out.write_all(yaml.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Runs `vigil k8s rbac`.
pub fn run_rbac(args: RbacArgs) -> Result<ExitCode> {
    print_yaml(&access::rbac_objects(
        &args.namespace,
        &args.service_account,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `vigil k8s connect`.
pub fn run_connect(args: ConnectArgs) -> Result<ExitCode> {
    let objects = access::connect_objects(&args.namespace, &args.service_account);
    if !args.apply {
        print_yaml(&objects)?;
        eprintln!("(not applied; run again with --apply to create these objects)");
        return Ok(ExitCode::SUCCESS);
    }
    let done = block_on(async {
        let conn = connect(&args.cluster).await?;
        let done = live::apply(&conn.client, &conn.cluster.server, &objects).await?;
        anyhow::Ok((conn.cluster, done))
    })??;
    let (cluster, done) = done;
    for d in &done {
        eprintln!("applied {d} on {} ({})", cluster.name, cluster.server);
    }
    Ok(ExitCode::SUCCESS)
}
