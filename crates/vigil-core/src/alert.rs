//! Alerts: what a detection rule says about an event (an audit log entry or a runtime
//! event), with the evidence and what an analyst needs to act.

use crate::Severity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who did what to which object, for alerts raised on Kubernetes audit events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetails {
    /// `user.username`.
    pub user: String,
    /// `user.groups`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// `verb`.
    pub verb: String,
    /// `requestURI`.
    pub uri: String,
    /// `sourceIPs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    /// `userAgent`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    /// `resource[/subresource] namespace/name` of `objectRef`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// `responseStatus.code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
    /// `auditID`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audit_id: String,
}

/// Where a runtime alert happened and which processes did it, for alerts raised on the
/// sensor's events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeDetails {
    /// The node the sensor runs on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// The container's full id; empty for a host process.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container_id: String,
    /// The container's name, when the runtime told.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container_name: String,
    /// The container's image reference, when the runtime told.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The pod, when the runtime told.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod: String,
    /// The process that acted, then its parent and further ancestors, as far as the
    /// sensor's process cache knows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessNode>,
}

/// One process of a runtime alert's process tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessNode {
    /// Process id (as the host sees it).
    pub pid: u32,
    /// Name (comm).
    pub name: String,
    /// Executable path, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exe: String,
    /// Command line (name and arguments), when the sensor saw the exec.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cmdline: String,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's stable id (e.g. `K8S-AUDIT-privileged-pod`), or its name when it has none.
    pub rule_id: String,
    /// The rule's name.
    pub rule: String,
    /// Severity (from the rule's priority).
    pub severity: Severity,
    /// MITRE ATT&CK tactic, when the rule names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitre_tactic: Option<String>,
    /// MITRE ATT&CK technique id, when the rule names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitre_technique: Option<String>,
    /// When the event happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The cluster the event came from, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// The namespace of the object or workload.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The rule's output with its fields filled in.
    pub output: String,
    /// What the rule detects (its `desc`), for readers of the alert away from the rules.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How to respond (the rule's `remediation`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remediation: String,
    /// The rule's tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Audit events: who did what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditDetails>,
    /// Runtime events: node, container, pod, image and process tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeDetails>,
    /// Same rule, same actor, same object: the same key, so repeats can be folded.
    pub dedup_key: String,
    /// The events that made the rule fire.
    pub evidence: Vec<serde_json::Value>,
}

impl Alert {
    /// A dedup key: hex SHA-256 (first 16 bytes) of the rule id and `parts`, each
    /// length-prefixed.
    pub fn dedup_key_of(rule_id: &str, parts: &[&str]) -> String {
        let mut h = Sha256::new();
        for part in std::iter::once(rule_id).chain(parts.iter().copied()) {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize().get(..16).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keys_are_stable_and_length_prefixed() {
        let a = Alert::dedup_key_of("r", &["alice", "pods/x"]);
        assert_eq!(a, Alert::dedup_key_of("r", &["alice", "pods/x"]));
        assert_ne!(a, Alert::dedup_key_of("r", &["alicepods", "/x"]));
        assert_eq!(a.len(), 32);
    }
}
