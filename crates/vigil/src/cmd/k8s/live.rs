//! Reading a live cluster from the CLI: the flags that name it (shared by every command
//! that talks to a cluster, `#[command(flatten)]`) and a blocking wrapper around the
//! async client.

use anyhow::{Context, Result};
use std::path::PathBuf;
use vigil_kube::Inventory;
use vigil_kube::live::{self, ConnectOptions, Connection, SnapshotOptions};

/// Which cluster to read, and how.
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Kubeconfig file. Default: `KUBECONFIG`, then ~/.kube/config, then the in-cluster
    /// service account.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Objects per list request (`limit`); lists continue page by page.
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(live::MAX_PAGE_SIZE)))]
    pub page_size: u32,
}

impl ClusterArgs {
    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

/// Runs `f` on a small runtime of its own: the binary has none, and one cluster is read
/// one request at a time, so a current-thread runtime is enough.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(f))
}

/// Connects (async) to the cluster `args` name.
pub async fn connect(args: &ClusterArgs) -> Result<Connection> {
    Ok(live::connect(&args.connect_options()).await?)
}

/// Reads the cluster `args` name into an inventory (blocking). A partial inventory is
/// `Ok`, with its gaps in `Inventory::partial`.
pub fn read_cluster(args: &ClusterArgs) -> Result<Inventory> {
    let opts = SnapshotOptions {
        page_size: args.page_size,
        ..SnapshotOptions::default()
    };
    block_on(async {
        let conn = connect(args).await?;
        Ok(live::snapshot(&conn, &opts).await?)
    })?
}
