//! The image vulnerability gate: refuse (or warn about) a pod whose images have
//! vulnerabilities at or above a severity, from `vigil image` results.
//!
//! Results are looked up by the manifest digest when the pod names its image by digest,
//! and otherwise by the normalised reference (`nginx` is `docker.io/library/nginx:latest`).
//! An image with no result follows the configured policy for unscanned images.

use crate::admission::{Action, Operation, Policy, Request, Violation};
use crate::pss::spec::pod_template_path;
use serde_json::{Value, json};
use std::collections::HashMap;
use vigil_core::{Severity, VulnReport};

/// How many advisory ids a message names before it says "and N more".
const IDS_SHOWN: usize = 5;

/// What a scan found in one image, at or above the gate's severity.
#[derive(Debug, Clone)]
struct Summary {
    counts: Vec<(Severity, usize)>,
    ids: Vec<String>,
    total: usize,
}

/// The built-in image vulnerability gate.
pub struct ImageGate {
    by_digest: HashMap<String, Summary>,
    by_reference: HashMap<String, Summary>,
    threshold: Severity,
    action: Action,
    unscanned: Option<Action>,
}

impl ImageGate {
    /// A gate over `reports`: images with findings at or above `threshold` get `action`;
    /// images with no report get `unscanned` (`None` lets them through).
    pub fn new(
        reports: &[VulnReport],
        threshold: Severity,
        action: Action,
        unscanned: Option<Action>,
    ) -> ImageGate {
        let mut gate = ImageGate {
            by_digest: HashMap::new(),
            by_reference: HashMap::new(),
            threshold,
            action,
            unscanned,
        };
        for report in reports {
            let summary = gate.summarise(report);
            if let Some(d) = &report.inventory.manifest_digest {
                gate.by_digest.insert(d.clone(), summary.clone());
            }
            // Only registry targets have the name pods use; a layout or archive is known
            // by its digest alone.
            if report.inventory.target.kind == "registry" {
                let reference = report.inventory.target.reference.as_str();
                let reference = reference.strip_prefix("registry:").unwrap_or(reference);
                gate.by_reference.insert(normalise(reference), summary);
            }
        }
        gate
    }

    fn summarise(&self, report: &VulnReport) -> Summary {
        let found: Vec<_> = report
            .actionable()
            .into_iter()
            .filter(|m| m.severity >= self.threshold)
            .collect();
        let counts = Severity::ALL
            .iter()
            .filter(|s| **s >= self.threshold)
            .map(|s| (*s, found.iter().filter(|m| m.severity == *s).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut ids: Vec<String> = Vec::new();
        for m in &found {
            if !ids.contains(&m.id) {
                ids.push(m.id.clone());
            }
        }
        Summary {
            counts,
            total: found.len(),
            ids,
        }
    }

    fn judge(&self, image: &str) -> Option<(Action, String, Value)> {
        let digest = image.split_once('@').map(|(_, d)| d);
        let summary = digest
            .and_then(|d| self.by_digest.get(d))
            .or_else(|| self.by_reference.get(&normalise(image)));
        let Some(summary) = summary else {
            return self.unscanned.map(|a| {
                (
                    a,
                    format!("image {image:?} has not been scanned"),
                    json!({"image": image, "scanned": false}),
                )
            });
        };
        if summary.total == 0 {
            return None;
        }
        let counts: Vec<String> = summary
            .counts
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let mut ids = summary
            .ids
            .iter()
            .take(IDS_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if summary.ids.len() > IDS_SHOWN {
            ids.push_str(&format!(" and {} more", summary.ids.len() - IDS_SHOWN));
        }
        Some((
            self.action,
            format!(
                "image {image:?} has {} vulnerabilities at or above {} ({}): {ids}",
                summary.total,
                self.threshold,
                counts.join(", ")
            ),
            json!({"image": image, "scanned": true, "findings": summary.total, "ids": summary.ids}),
        ))
    }
}

impl Policy for ImageGate {
    fn name(&self) -> &str {
        "image-vulnerabilities"
    }

    fn kind(&self) -> &str {
        "ImageVulnerabilities"
    }

    fn evaluate(&self, request: &Request) -> Result<Vec<Violation>, String> {
        if !matches!(request.operation, Operation::Create | Operation::Update)
            || !(request.sub_resource.is_empty() || request.sub_resource == "ephemeralcontainers")
        {
            return Ok(Vec::new());
        }
        let (Some(object), Some(path)) = (request.object(), pod_template_path(&request.kind))
        else {
            return Ok(Vec::new());
        };
        let mut spec = object;
        for key in path {
            match spec.get(key) {
                Some(v) => spec = v,
                None => return Ok(Vec::new()),
            }
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let containers = spec
                .pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array);
            for image in containers
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("image")?.as_str())
            {
                if seen.contains(&image) {
                    continue;
                }
                seen.push(image);
                if let Some((action, message, details)) = self.judge(image) {
                    out.push(Violation {
                        policy: self.name().into(),
                        kind: self.kind().into(),
                        action,
                        message,
                        details,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// `nginx` -> `docker.io/library/nginx:latest`, `ghcr.io/a/b` -> `ghcr.io/a/b:latest`;
/// a digest reference keeps only its name and digest.
pub fn normalise(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let first = repo.split('/').next().unwrap_or_default();
    let has_registry =
        repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_registry {
        repo.to_string()
    } else if repo.contains('/') {
        format!("docker.io/{repo}")
    } else {
        format!("docker.io/library/{repo}")
    };
    if let Some(d) = digest {
        full.push('@');
        full.push_str(d);
    } else {
        full.push(':');
        full.push_str(tag.unwrap_or("latest"));
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_docker() {
        assert_eq!(normalise("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalise("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(normalise("localhost:5000/app:1"), "localhost:5000/app:1");
        assert_eq!(normalise("ghcr.io/a/b"), "ghcr.io/a/b:latest");
        assert_eq!(normalise("r.io/a@sha256:ab"), "r.io/a@sha256:ab");
        assert_eq!(normalise("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
    }
}
