//! Server-side apply of the objects `vigil k8s connect --apply` creates.
//!
//! Each object is sent as `PATCH <object URL>?fieldManager=vigil` with
//! `Content-Type: application/apply-patch+yaml`, so running it again changes nothing and
//! objects that exist are updated in place. No `force`: a field another manager owns is
//! reported as a conflict rather than taken over.

use super::error::LiveError;
use super::http::{Reply, send};
use kube::api::{Patch, PatchParams};
use serde_json::Value;

/// The field manager Vigil applies as.
pub const FIELD_MANAGER: &str = "vigil";

/// Applies `objects` (Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding) in
/// order; returns `Kind name` of each applied object.
pub async fn apply(
    client: &kube::Client,
    server: &str,
    objects: &[Value],
) -> Result<Vec<String>, LiveError> {
    let mut done = Vec::new();
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
        let what = format!("applying {kind} {name}");
        let err = |message: String| LiveError::Request {
            server: server.to_string(),
            what: what.clone(),
            message,
        };
        let collection = match kind {
            "Namespace" => "/api/v1/namespaces".to_string(),
            "ServiceAccount" => format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
            "ClusterRole" => "/apis/rbac.authorization.k8s.io/v1/clusterroles".to_string(),
            "ClusterRoleBinding" => {
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings".to_string()
            }
            other => return Err(err(format!("Vigil does not apply {other:?} objects"))),
        };
        let req = kube::core::Request::new(collection)
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Apply(object),
            )
            .map_err(|e| err(e.to_string()))?;
        match send(client, server, &what, req, 4 << 20).await? {
            Reply::Ok(_) => done.push(format!("{kind} {name}")),
            Reply::Failed { code, message } => {
                return Err(err(format!("HTTP {code}: {message}")));
            }
        }
    }
    Ok(done)
}
