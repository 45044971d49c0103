//! The policies a cluster declares, for `vigil admission serve --cluster-policies`: its
//! ConstraintTemplates and Constraints and Gatekeeper's synced objects, read again at
//! intervals. Reading is polling, not a watch: a few list requests every few seconds cost
//! the API server little, need nothing but `list`, and recover from any error by
//! themselves on the next read.

use crate::cmd::k8s::live::{ClusterArgs, connect};
use anyhow::{Context, Result};
use vigil_kube::inventory::Gap;
use vigil_kube::live::{self, Connection, GatekeeperObjects, SnapshotOptions};
use vigil_kube::manifest::Object;

/// A cluster to read policies from, with the connection kept between reads.
pub struct ClusterPolicies {
    /// The reads run here; kube's client lives on the runtime it was made on.
    runtime: tokio::runtime::Runtime,
    args: ClusterArgs,
    connection: Option<Connection>,
}

/// What identifies a read's content: every object's kind, uid and resourceVersion, which
/// the API server changes on every write.
pub type Versions = Vec<(String, String, String)>;

impl ClusterPolicies {
    /// A source for the cluster `args` name; nothing is read yet.
    pub fn new(args: ClusterArgs) -> Result<ClusterPolicies> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        Ok(ClusterPolicies {
            runtime,
            args,
            connection: None,
        })
    }

    /// Reads the templates, constraints and synced objects. After a failure the next read
    /// connects again (the kubeconfig or service-account token may have changed).
    pub fn read(&mut self) -> Result<GatekeeperObjects> {
        let opts = SnapshotOptions {
            page_size: self.args.page_size,
            ..SnapshotOptions::default()
        };
        let (args, slot) = (&self.args, &mut self.connection);
        let read = self.runtime.block_on(async {
            if slot.is_none() {
                *slot = Some(connect(args).await?);
            }
            let conn = slot.as_ref().context("no connection")?;
            let server = conn.cluster.server.clone();
            live::gatekeeper(conn, &opts)
                .await
                .with_context(|| format!("reading policies from {server}"))
        });
        if read.is_err() {
            self.connection = None;
        }
        read
    }
}

/// The versions of everything `objects` holds, sorted.
pub fn versions(objects: &GatekeeperObjects) -> Versions {
    let text = |o: &Object, pointer: &str| {
        o.value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut versions: Versions = objects
        .policies
        .iter()
        .chain(&objects.inventory)
        .map(|o| {
            (
                text(o, "/kind"),
                text(o, "/metadata/uid"),
                text(o, "/metadata/resourceVersion"),
            )
        })
        .collect();
    versions.sort();
    versions
}

/// Logs what could not be read.
pub fn report_gaps(gaps: &[Gap]) {
    for gap in gaps {
        tracing::warn!(resource = %gap.resource, "not read from the cluster: {}", gap.reason);
        eprintln!(
            "vigil: not read from the cluster: {}: {}",
            gap.resource, gap.reason
        );
    }
}
