//! Posture reports: the findings of one `vigil k8s scan` and the attack paths that join
//! them, with what was scanned and whether it was read completely.

use crate::{Finding, ResourceRef, Severity};
use serde::{Deserialize, Serialize};

/// Version of the posture report JSON; raised when a field changes meaning.
pub const POSTURE_REPORT_SCHEMA_VERSION: u32 = 1;

/// What a scan read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureTarget {
    /// `cluster`, `snapshot` or `manifests`.
    pub source: String,
    /// Cluster name (context), snapshot file, or manifest paths.
    pub name: String,
    /// The API server's `gitVersion`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// When the resources were read (RFC 3339), for clusters and snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<String>,
    /// How many objects were read.
    pub objects: usize,
}

/// One step of an attack path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    /// The resource this step is on.
    pub resource: ResourceRef,
    /// What an attacker gains or does here.
    pub description: String,
    /// Ids of the findings (posture findings, or vulnerability ids) this step rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

/// Findings joined into a way in: from an entry point, through a weakness, to an impact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackPath {
    /// Stable id (hash of the steps' resources and the path's kind).
    pub id: String,
    /// One line: entry → impact.
    pub title: String,
    /// Severity of the whole path.
    pub severity: Severity,
    /// Risk score, 0 to 10: how likely the entry is reached times how bad the impact is.
    pub risk: f64,
    /// The steps, entry first.
    pub steps: Vec<PathStep>,
}

/// The result of one posture scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostureReport {
    /// [`POSTURE_REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What was scanned.
    pub target: PostureTarget,
    /// What could not be read; non-empty means findings may be missing.
    #[serde(default)]
    pub partial: Vec<String>,
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
    /// The attack paths, highest risk first.
    #[serde(default)]
    pub attack_paths: Vec<AttackPath>,
}

impl PostureReport {
    /// True when everything the scan needed was read.
    pub fn complete(&self) -> bool {
        self.partial.is_empty()
    }

    /// Findings per severity, most severe first, every severity listed.
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .iter()
            .map(|s| {
                (
                    *s,
                    self.findings.iter().filter(|f| f.severity == *s).count(),
                )
            })
            .collect()
    }

    /// Keeps the findings (and attack paths) at or above `min`.
    pub fn retain_severity(&mut self, min: Severity) {
        self.findings.retain(|f| f.severity >= min);
        self.attack_paths.retain(|p| p.severity >= min);
    }
}
