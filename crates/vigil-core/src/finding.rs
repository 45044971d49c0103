//! Posture findings: what a check says about one Kubernetes resource.
//!
//! A [`Finding`] names the check that raised it, the resource it is about ([`ResourceRef`]),
//! the exact fields that made it fire ([`Evidence`]), how to fix it, and the control ids of
//! the standards it maps to (Pod Security Standards, CIS Kubernetes Benchmark, NSA/CISA,
//! MITRE ATT&CK). The same type serves manifests, snapshots and live clusters, so the
//! server can store and compare findings whatever produced them.

use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Which Kubernetes object a finding is about.
///
/// For manifests read from files, `cluster` and `uid` are empty: the object does not exist
/// in any cluster yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// The cluster's name as Vigil knows it (kubeconfig context or discovery name); empty
    /// for manifests.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// `apiVersion` of the object, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind` of the object, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid` when the object came from a cluster; empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ResourceRef {
    /// `KIND NAMESPACE/NAME`, or `KIND NAME` for cluster-scoped objects: how reports name it.
    pub fn display_name(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One field that made a check fire, with the value it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The field's path in the object, in `kubectl explain` form with list indexes, e.g.
    /// `spec.template.spec.containers[1].securityContext.privileged`.
    pub path: String,
    /// The value found there, rendered as text (`true`, `"Unconfined"`, `<unset>` when the
    /// problem is that the field is missing).
    pub value: String,
}

/// A posture problem found on one resource by one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: the same check on the same resource gives the same id in every scan,
    /// so findings can be tracked, suppressed and diffed across scans. See [`Finding::stable_id`].
    pub id: String,
    /// The check's id, e.g. `PSS-baseline-privileged`.
    pub check_id: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// The resource the finding is about.
    pub resource: ResourceRef,
    /// The fields that made the check fire.
    pub evidence: Vec<Evidence>,
    /// How to fix it.
    pub remediation: String,
    /// Control ids of the standards this check maps to, e.g. `PSS:baseline`, `CIS-5.2.2`,
    /// `MITRE-T1611`.
    pub controls: Vec<String>,
    /// The manifest file the resource was read from, when it came from one (so SARIF
    /// readers can point at it); `None` for clusters and snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Finding {
    /// The stable id of `check_id` on `resource`: hex SHA-256 (first 16 bytes) of the check
    /// id, cluster, kind, namespace and name.
    ///
    /// `apiVersion` and `uid` are left out on purpose: a Deployment moved from
    /// `extensions/v1beta1` to `apps/v1`, or deleted and recreated, is the same workload to
    /// the person tracking its findings.
    pub fn stable_id(check_id: &str, resource: &ResourceRef) -> String {
        let mut h = Sha256::new();
        for part in [
            check_id,
            &resource.cluster,
            &resource.kind,
            &resource.namespace,
            &resource.name,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        hex::encode(digest.get(..16).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(name: &str) -> ResourceRef {
        ResourceRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "prod".into(),
            name: name.into(),
            ..ResourceRef::default()
        }
    }

    #[test]
    fn stable_id_is_deterministic_and_distinguishes_inputs() {
        let a = Finding::stable_id("PSS-baseline-privileged", &deployment("web"));
        assert_eq!(a.len(), 32);
        assert_eq!(
            a,
            Finding::stable_id("PSS-baseline-privileged", &deployment("web"))
        );
        assert_ne!(
            a,
            Finding::stable_id("PSS-baseline-privileged", &deployment("api"))
        );
        assert_ne!(
            a,
            Finding::stable_id("PSS-baseline-host-ports", &deployment("web"))
        );
        // Field boundaries are length-prefixed: "ab"+"c" differs from "a"+"bc".
        let mut x = deployment("c");
        x.namespace = "ab".into();
        let mut y = deployment("bc");
        y.namespace = "a".into();
        assert_ne!(Finding::stable_id("k", &x), Finding::stable_id("k", &y));
    }

    #[test]
    fn stable_id_ignores_api_version_and_uid() {
        let mut moved = deployment("web");
        moved.api_version = "extensions/v1beta1".into();
        moved.uid = "1234".into();
        assert_eq!(
            Finding::stable_id("c", &deployment("web")),
            Finding::stable_id("c", &moved)
        );
    }

    #[test]
    fn display_name_and_json() {
        assert_eq!(deployment("web").display_name(), "Deployment prod/web");
        let f = Finding {
            id: "x".into(),
            check_id: "PSS-baseline-privileged".into(),
            severity: Severity::High,
            title: "t".into(),
            resource: deployment("web"),
            evidence: vec![Evidence {
                path: "spec.template.spec.containers[0].securityContext.privileged".into(),
                value: "true".into(),
            }],
            remediation: "r".into(),
            controls: vec!["PSS:baseline".into()],
            location: None,
        };
        let json = serde_json::to_value(&f).unwrap_or_default();
        assert_eq!(json["severity"], "HIGH");
        assert_eq!(json["resource"]["kind"], "Deployment");
        assert!(json["resource"].get("uid").is_none());
        let back: Finding = serde_json::from_value(json).unwrap_or_else(|_| f.clone());
        assert_eq!(back, f);
    }
}
