//! A live cluster as a source: connect with a kubeconfig or the in-cluster service
//! account, read `/version`, list every resource in [`resources::RESOURCES`] with
//! pagination, and return an [`Inventory`].
//!
//! What is never read: Secret values. Secrets are listed with metadata-only requests
//! (`Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`), so the
//! API server does not send `data`; whatever arrives, only `metadata` is kept, minus the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the data).
//! ConfigMaps keep their keys, every value replaced by `""`, and lose the same annotation.
//! Every object loses `metadata.managedFields`. See [`sanitize`].
//!
//! A resource the identity may not list (403) or the server does not serve (404) becomes
//! a [`Gap`] in [`Inventory::partial`] and the other resources are still read; other
//! failures (connection, TLS, 5xx, bad JSON, limits exceeded) are a [`LiveError`] naming
//! the server and the resource. `vigil k8s rbac` derives its ClusterRole from the same
//! table, see [`access`].

pub mod access;
mod apply;
mod connect;
mod error;
mod gatekeeper;
mod http;
mod list;
pub mod proxy;
pub mod resources;
pub mod sanitize;

pub use apply::apply;
pub use connect::{ConnectOptions, Connection, connect};
pub use error::LiveError;
pub use gatekeeper::{CONSTRAINTS_GROUP, GatekeeperObjects, gatekeeper};

use crate::inventory::{ClusterInfo, Gap, Inventory, ServerVersion};
use crate::manifest::{Object, Origin};
use http::{Reply, send};
use list::Listed;

/// Bounds on one snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// Objects asked for per list request (`?limit=`).
    pub page_size: u32,
    /// Most objects in the whole snapshot; more is an error, never a silent truncation.
    pub max_objects: usize,
    /// Most pages for one resource.
    pub max_pages: usize,
    /// Largest response body read, in bytes.
    pub max_response_bytes: usize,
}

/// Largest page size accepted: the API server's own cap on `limit` is far above, but
/// a page must fit [`SnapshotOptions::max_response_bytes`].
pub const MAX_PAGE_SIZE: u32 = 5000;

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            page_size: 500,
            max_objects: 1_000_000,
            max_pages: 100_000,
            max_response_bytes: 512 << 20,
        }
    }
}

/// Reads the cluster `conn` points at: `/version`, then every resource, one after the
/// other. `taken_at` is when reading started (RFC 3339, UTC).
pub async fn snapshot(conn: &Connection, opts: &SnapshotOptions) -> Result<Inventory, LiveError> {
    let server = conn.cluster.server.as_str();
    let taken_at = now_rfc3339();
    let mut opts = opts.clone();
    opts.page_size = opts.page_size.clamp(1, MAX_PAGE_SIZE);
    let mut gaps = Vec::new();
    let mut cluster: ClusterInfo = conn.cluster.clone();
    cluster.version = version(&conn.client, server, &mut gaps).await?;
    let mut values = Vec::new();
    for resource in resources::RESOURCES {
        tracing::debug!(resource = %resource.name(), "listing");
        if let Listed::Gap(gap) | Listed::NotServed(gap) =
            list::list(&conn.client, server, resource, &opts, &mut values).await?
        {
            tracing::debug!(resource = %gap.resource, reason = %gap.reason, "not read");
            gaps.push(gap);
        }
    }
    let file = if cluster.name.is_empty() {
        server.to_string()
    } else {
        cluster.name.clone()
    };
    let mut inventory = Inventory::new(cluster, listed_objects(values, &file));
    inventory.taken_at = taken_at;
    inventory.partial = gaps;
    Ok(inventory)
}

/// `GET /version`; a refusal is a gap (the report then lacks the version), not a failure.
async fn version(
    client: &kube::Client,
    server: &str,
    gaps: &mut Vec<Gap>,
) -> Result<Option<ServerVersion>, LiveError> {
    let what = "GET /version";
    let err = |message: String| LiveError::Request {
        server: server.to_string(),
        what: what.to_string(),
        message,
    };
    let req = ::http::Request::get("/version")
        .body(Vec::new())
        .map_err(|e| err(e.to_string()))?;
    match send(client, server, what, req, 1 << 20).await? {
        Reply::Ok(body) => serde_json::from_value(body)
            .map(Some)
            .map_err(|e| err(format!("not a version answer: {e}"))),
        Reply::Failed {
            code: code @ (403 | 404),
            message,
        } => {
            gaps.push(Gap {
                resource: "/version".into(),
                namespace: String::new(),
                reason: format!(
                    "HTTP {code}: needs \"get\" on nonResourceURL \"/version\": {message}"
                ),
            });
            Ok(None)
        }
        Reply::Failed { code, message } => Err(err(format!("HTTP {code}: {message}"))),
    }
}

/// Listed objects with their origin: `file` (the cluster, or the cluster and the
/// resource) as one document whose items they are, in the order listed.
fn listed_objects(values: Vec<serde_json::Value>, file: &str) -> Vec<Object> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Object {
            value,
            origin: Origin {
                file: file.into(),
                document: 1,
                item: Some(i + 1),
                helm_source: None,
            },
        })
        .collect()
}

fn now_rfc3339() -> Option<String> {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .ok()
}
