//! One posture scan, from inventory to report: the check families, then the attack paths
//! that join their findings with image vulnerability results.

use crate::attack;
use crate::checks;
use crate::inventory::Inventory;
use vigil_core::posture::POSTURE_REPORT_SCHEMA_VERSION;
use vigil_core::{PostureReport, PostureTarget, VulnReport};

/// Scans `inv`. `source` and `name` say what it was read from (`cluster prod`,
/// `snapshot snap.json`, `manifests deploy/`); `images` are `vigil image` results whose
/// findings attack paths may use (joined by image digest or reference).
pub fn scan(inv: &Inventory, source: &str, name: &str, images: &[VulnReport]) -> PostureReport {
    let findings = checks::run_all(inv);
    let attack_paths = attack::paths(inv, &findings, images);
    PostureReport {
        schema_version: POSTURE_REPORT_SCHEMA_VERSION,
        target: PostureTarget {
            source: source.to_string(),
            name: name.to_string(),
            server_version: inv.cluster.version.as_ref().map(|v| v.git_version.clone()),
            taken_at: inv.taken_at.clone(),
            objects: inv.objects.len() + inv.controlled,
        },
        partial: inv
            .partial
            .iter()
            .map(|g| {
                if g.namespace.is_empty() {
                    format!("{}: {}", g.resource, g.reason)
                } else {
                    format!("{} in {}: {}", g.resource, g.namespace, g.reason)
                }
            })
            .collect(),
        findings,
        attack_paths,
    }
}
