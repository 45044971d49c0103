//! Attack paths: findings joined into a way from the internet to a node or the cluster.
//!
//! A path has three steps, as the paths of commercial defenders for containers do:
//! 1. **entry**: a LoadBalancer or NodePort Service or an Ingress that reaches a workload
//!    ([`crate::checks::exposure::exposures`]);
//! 2. **foothold**: what lets an outsider run code in that workload — a critical or high
//!    vulnerability in one of its images (from `vigil image` results, joined by digest or
//!    by normalised reference), or an exposed application without authentication;
//! 3. **impact**: what the workload can reach from there — a container escape to its node
//!    (privileged, host namespaces, a sensitive hostPath, dangerous capabilities) or the
//!    permissions of its mounted service account token (cluster-admin, every secret,
//!    workloads in other namespaces).
//!
//! Risk is `impact × foothold × entry` on a 0–10 scale (impact 10 for cluster-admin down
//! to 8 for lateral movement; foothold 1.0 for a critical vulnerability or no
//! authentication, 0.8 for a high one, 0.6 for an exposed sensitive application; entry 1.0,
//! 0.9 for NodePort), and the severity follows CVSS bands. Paths are sorted by risk.

use crate::checks::Context;
use crate::checks::exposure::{Exposed, exposures};
use crate::inventory::Inventory;
use crate::workload::Workload;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use vigil_core::{AttackPath, Finding, PathStep, ResourceRef, Severity, VulnReport, VulnStatus};

/// Host paths whose mount gives the node away.
const SENSITIVE_HOST_PATHS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/var/lib/kubelet",
    "/var/run/docker.sock",
    "/run/containerd",
    "/run/containerd/containerd.sock",
    "/var/run",
    "/run",
    "/proc",
    "/dev",
    "/var/lib/docker",
];

/// Capabilities that break out of a container.
const ESCAPE_CAPS: &[&str] = &[
    "SYS_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "ALL",
];

/// What a foothold rests on.
struct Foothold {
    description: String,
    findings: Vec<String>,
    weight: f64,
}

/// What the workload can reach.
struct Impact {
    resource: ResourceRef,
    description: String,
    findings: Vec<String>,
    weight: f64,
    name: &'static str,
}

/// The attack paths of `inv`, highest risk first.
pub fn paths(inv: &Inventory, findings: &[Finding], images: &[VulnReport]) -> Vec<AttackPath> {
    let ctx = Context::new(inv);
    let images = ImageIndex::new(images);
    let by_resource: HashMap<(&str, &str, &str), Vec<&Finding>> =
        findings.iter().fold(HashMap::new(), |mut m, f| {
            m.entry((
                f.resource.kind.as_str(),
                f.resource.namespace.as_str(),
                f.resource.name.as_str(),
            ))
            .or_default()
            .push(f);
            m
        });
    let mut out = Vec::new();
    for exposed in exposures(&ctx) {
        let w = &exposed.workload;
        let resource = inv.resource_ref(w.object);
        let own: &[&Finding] = by_resource
            .get(&(
                resource.kind.as_str(),
                resource.namespace.as_str(),
                resource.name.as_str(),
            ))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(foothold) = foothold(w, own, &images) else {
            continue;
        };
        for impact in impacts(inv, w, &resource, &by_resource) {
            out.push(build(&exposed, &resource, &foothold, impact));
        }
    }
    out.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then_with(|| a.title.cmp(&b.title))
    });
    out.dedup_by(|a, b| a.id == b.id);
    out
}

fn build(
    exposed: &Exposed<'_>,
    workload: &ResourceRef,
    foothold: &Foothold,
    impact: Impact,
) -> AttackPath {
    let entry_weight = if exposed.how.starts_with("NodePort") {
        0.9
    } else {
        1.0
    };
    let risk = ((impact.weight * foothold.weight * entry_weight) * 10.0).round() / 10.0;
    let severity = match risk {
        r if r >= 9.0 => Severity::Critical,
        r if r >= 7.0 => Severity::High,
        r if r >= 4.0 => Severity::Medium,
        _ => Severity::Low,
    };
    let mut steps = vec![
        PathStep {
            resource: exposed.via.clone(),
            description: format!("reachable from outside the cluster ({})", exposed.how),
            findings: Vec::new(),
        },
        PathStep {
            resource: workload.clone(),
            description: foothold.description.clone(),
            findings: foothold.findings.clone(),
        },
    ];
    if impact.resource != *workload {
        steps.push(PathStep {
            resource: impact.resource.clone(),
            description: impact.description.clone(),
            findings: impact.findings.clone(),
        });
    } else if let Some(last) = steps.last_mut() {
        last.description = format!("{}; {}", last.description, impact.description);
        last.findings.extend(impact.findings.iter().cloned());
    }
    let mut h = Sha256::new();
    h.update(impact.name.as_bytes());
    for s in &steps {
        h.update(Finding::stable_id("attack-path-step", &s.resource).as_bytes());
    }
    AttackPath {
        id: hex::encode(h.finalize().get(..16).unwrap_or_default()),
        title: format!(
            "{} exposes {} {} → {}",
            exposed.via.display_name(),
            workload.kind,
            workload.name,
            impact.name
        ),
        severity,
        risk,
        steps,
    }
}

fn foothold(w: &Workload<'_>, own: &[&Finding], images: &ImageIndex<'_>) -> Option<Foothold> {
    let mut best: Option<Foothold> = None;
    let mut consider = |f: Foothold| {
        if best.as_ref().is_none_or(|b| f.weight > b.weight) {
            best = Some(f);
        }
    };
    for c in w.containers() {
        let Some(report) = images.find(c.image()) else {
            continue;
        };
        for (severity, weight) in [(Severity::Critical, 1.0), (Severity::High, 0.8)] {
            let mut ids: Vec<&str> = report
                .matches
                .iter()
                .filter(|m| m.severity == severity && m.status != VulnStatus::NotAffected)
                .map(|m| m.id.as_str())
                .collect();
            ids.sort();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            let shown: Vec<&str> = ids.iter().take(3).copied().collect();
            consider(Foothold {
                description: format!(
                    "image {} has {} {} vulnerabilit{} ({}{})",
                    c.image(),
                    ids.len(),
                    severity.to_string().to_lowercase(),
                    if ids.len() == 1 { "y" } else { "ies" },
                    shown.join(", "),
                    if ids.len() > shown.len() { ", ..." } else { "" }
                ),
                findings: ids.iter().map(|s| s.to_string()).collect(),
                weight,
            });
            break;
        }
    }
    for f in own {
        let weight = match f.check_id.as_str() {
            "K8S-exposure-unauthenticated-app" => 1.0,
            "K8S-exposure-sensitive-app" => 0.6,
            _ => continue,
        };
        consider(Foothold {
            description: f.title.clone(),
            findings: vec![f.id.clone()],
            weight,
        });
    }
    best
}

fn impacts(
    inv: &Inventory,
    w: &Workload<'_>,
    workload: &ResourceRef,
    by_resource: &HashMap<(&str, &str, &str), Vec<&Finding>>,
) -> Vec<Impact> {
    let mut out = Vec::new();
    if let Some((why, ids)) = escape(w, by_resource, workload) {
        out.push(Impact {
            resource: workload.clone(),
            description: format!("can take over its node: {why}"),
            findings: ids,
            weight: 9.0,
            name: "node takeover",
        });
    }
    if token_mounted(inv, w, &workload.namespace) {
        let sa = w.service_account();
        let sa_key = ("ServiceAccount", workload.namespace.as_str(), sa);
        let sa_findings = by_resource
            .get(&sa_key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let sa_ref = ResourceRef {
            cluster: inv.cluster.name.clone(),
            api_version: "v1".into(),
            kind: "ServiceAccount".into(),
            namespace: workload.namespace.clone(),
            name: sa.to_string(),
            uid: String::new(),
        };
        // The strongest permission decides the impact.
        for (check, weight, name, what) in [
            (
                "K8S-rbac-cluster-admin",
                10.0,
                "cluster takeover",
                "its token holds cluster-admin",
            ),
            (
                "K8S-rbac-escalate-bind",
                9.5,
                "cluster takeover",
                "its token can grant itself any role",
            ),
            (
                "K8S-rbac-impersonate",
                9.5,
                "cluster takeover",
                "its token can impersonate other users",
            ),
            (
                "K8S-rbac-approve-csr",
                9.0,
                "cluster takeover",
                "its token can approve certificates for any user",
            ),
            (
                "K8S-rbac-nodes-proxy",
                9.0,
                "node takeover",
                "its token reaches every kubelet API",
            ),
            (
                "K8S-rbac-read-secrets",
                8.5,
                "all secrets",
                "its token reads every secret in the cluster",
            ),
            (
                "K8S-rbac-create-token",
                8.5,
                "lateral movement",
                "its token can mint tokens for other service accounts",
            ),
            (
                "K8S-rbac-create-workloads",
                8.0,
                "lateral movement",
                "its token can start pods in other namespaces",
            ),
            (
                "K8S-rbac-exec",
                8.0,
                "lateral movement",
                "its token can run commands in pods of other namespaces",
            ),
        ] {
            if let Some(f) = sa_findings.iter().find(|f| f.check_id == check) {
                out.push(Impact {
                    resource: sa_ref,
                    description: what.to_string(),
                    findings: vec![f.id.clone()],
                    weight,
                    name,
                });
                break;
            }
        }
    }
    out
}

/// Why the workload's pods can leave their containers, with the findings that say so.
fn escape(
    w: &Workload<'_>,
    by_resource: &HashMap<(&str, &str, &str), Vec<&Finding>>,
    workload: &ResourceRef,
) -> Option<(String, Vec<String>)> {
    let mut reasons = Vec::new();
    let spec = w.spec();
    for c in w.containers() {
        let sc = c.value.get("securityContext");
        if sc
            .and_then(|s| s.get("privileged"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            reasons.push(format!("container {:?} is privileged", c.name()));
        }
        let caps: Vec<&str> = sc
            .and_then(|s| s.get("capabilities"))
            .and_then(|c| c.get("add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|cap| ESCAPE_CAPS.contains(&cap.trim_start_matches("CAP_")))
            .collect();
        if !caps.is_empty() {
            reasons.push(format!("container {:?} adds {}", c.name(), caps.join(", ")));
        }
    }
    if spec.get("hostPID").and_then(Value::as_bool) == Some(true) {
        reasons.push("hostPID".to_string());
    }
    for (_, v) in w.volumes() {
        if let Some(path) = v
            .get("hostPath")
            .and_then(|h| h.get("path"))
            .and_then(Value::as_str)
        {
            let normal = path.trim_end_matches('/');
            let normal = if normal.is_empty() { "/" } else { normal };
            if SENSITIVE_HOST_PATHS.contains(&normal) {
                reasons.push(format!("mounts host path {path}"));
            }
        }
    }
    if reasons.is_empty() {
        return None;
    }
    let ids = by_resource
        .get(&(
            workload.kind.as_str(),
            workload.namespace.as_str(),
            workload.name.as_str(),
        ))
        .into_iter()
        .flatten()
        .filter(|f| {
            matches!(
                f.check_id.as_str(),
                "PSS-baseline-privileged"
                    | "PSS-baseline-host-path-volumes"
                    | "PSS-baseline-host-namespaces"
                    | "PSS-baseline-capabilities"
            )
        })
        .map(|f| f.id.clone())
        .collect();
    Some((reasons.join(", "), ids))
}

/// True when the pods get their service account's token (pod field, else the service
/// account's, else the default: mounted).
fn token_mounted(inv: &Inventory, w: &Workload<'_>, namespace: &str) -> bool {
    if let Some(b) = w
        .spec()
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
    {
        return b;
    }
    let sa = w.service_account();
    inv.of_kind("ServiceAccount")
        .find(|o| o.name() == sa && inv.namespace_of(o) == namespace)
        .and_then(|o| {
            o.value
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool)
        })
        .unwrap_or(true)
}

/// `vigil image` results by digest and by normalised reference.
struct ImageIndex<'a> {
    by_digest: HashMap<&'a str, &'a VulnReport>,
    by_reference: HashMap<String, &'a VulnReport>,
}

impl<'a> ImageIndex<'a> {
    fn new(reports: &'a [VulnReport]) -> ImageIndex<'a> {
        let mut by_digest = HashMap::new();
        let mut by_reference = HashMap::new();
        for r in reports {
            let inv = &r.inventory;
            for d in [&inv.manifest_digest, &inv.image_id].into_iter().flatten() {
                by_digest.insert(d.as_str(), r);
            }
            for name in [&inv.target.reference, &inv.target.name] {
                if let Some(n) = normalize(name) {
                    by_reference.insert(n, r);
                }
            }
        }
        ImageIndex {
            by_digest,
            by_reference,
        }
    }

    fn find(&self, image: &str) -> Option<&'a VulnReport> {
        if let Some((_, digest)) = image.split_once('@')
            && let Some(r) = self.by_digest.get(digest)
        {
            return Some(r);
        }
        normalize(image).and_then(|n| self.by_reference.get(&n).copied())
    }
}

/// `docker.io/library/nginx:latest` for `nginx`; transport prefixes (`registry:`,
/// `docker://`) and digests dropped. `None` for references that are not registry images
/// (archives, directories).
fn normalize(reference: &str) -> Option<String> {
    let r = reference
        .strip_prefix("registry:")
        .or_else(|| reference.strip_prefix("docker://"))
        .unwrap_or(reference);
    if r.is_empty()
        || r.starts_with('/')
        || r.contains(' ')
        || ["oci:", "oci-archive:", "docker-archive:", "dir:", "sbom:"]
            .iter()
            .any(|p| r.starts_with(p))
    {
        return None;
    }
    let r = r.split_once('@').map_or(r, |(n, _)| n);
    let (host, rest) = match r.split_once('/') {
        Some((h, rest)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h, rest.to_string())
        }
        _ => ("docker.io", r.to_string()),
    };
    let rest = if host == "docker.io" && !rest.contains('/') {
        format!("library/{rest}")
    } else {
        rest
    };
    let last = rest.rsplit('/').next().unwrap_or_default();
    let tagged = if last.contains(':') {
        rest.clone()
    } else {
        format!("{rest}:latest")
    };
    Some(format!("{host}/{tagged}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{run_all, test_support::inventory};
    use vigil_core::{DatabaseInfo, Ecosystem, MatchedPackage, VulnMatch};

    #[test]
    fn references_normalise() {
        assert_eq!(
            normalize("nginx").as_deref(),
            Some("docker.io/library/nginx:latest")
        );
        assert_eq!(
            normalize("registry:localhost:5000/app:1").as_deref(),
            Some("localhost:5000/app:1")
        );
        assert_eq!(
            normalize("bitnami/redis:7@sha256:ab").as_deref(),
            Some("docker.io/bitnami/redis:7")
        );
        assert_eq!(normalize("docker-archive:app.tar"), None);
    }

    fn report(reference: &str, digest: &str, vulns: &[(&str, Severity)]) -> VulnReport {
        let mut inv = vigil_core::Inventory::default();
        inv.target.reference = reference.into();
        inv.target.name = reference.into();
        inv.manifest_digest = Some(digest.into());
        VulnReport {
            schema_version: vigil_core::VULN_REPORT_SCHEMA_VERSION,
            matches: vulns
                .iter()
                .map(|(id, s)| VulnMatch {
                    package: MatchedPackage {
                        ecosystem: Ecosystem::Deb,
                        name: "openssl".into(),
                        version: "3.0.11-1".into(),
                        purl: String::new(),
                        source_name: None,
                        locations: Vec::new(),
                    },
                    id: id.to_string(),
                    aliases: Vec::new(),
                    title: String::new(),
                    severity: *s,
                    cvss: Vec::new(),
                    fixed_versions: Vec::new(),
                    status: VulnStatus::Fixed,
                    sources: Vec::new(),
                    url: None,
                    published: None,
                })
                .collect(),
            inventory: inv,
            database: DatabaseInfo::default(),
        }
    }

    const CLUSTER: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      serviceAccountName: deployer
      volumes: [{name: host, hostPath: {path: /}}]
      containers: [{name: api, image: "registry.example/api:2@sha256:aaa"}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {type: LoadBalancer, selector: {app: api}, ports: [{port: 443}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: internal, namespace: shop}
spec:
  template:
    metadata: {labels: {app: internal}}
    spec:
      serviceAccountName: deployer
      containers: [{name: c, image: "registry.example/api:2@sha256:aaa", securityContext: {privileged: true}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: shop}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-admin}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
"#;

    #[test]
    fn exposed_vulnerable_workload_with_admin_token_and_host_root() {
        let inv = inventory(CLUSTER);
        let findings = run_all(&inv);
        let images = [report(
            "registry:registry.example/api:2",
            "sha256:aaa",
            &[
                ("CVE-2024-0001", Severity::Critical),
                ("CVE-2024-0002", Severity::High),
            ],
        )];
        let paths = paths(&inv, &findings, &images);
        let titles: Vec<(&str, f64, Severity)> = paths
            .iter()
            .map(|p| (p.title.as_str(), p.risk, p.severity))
            .collect();
        assert_eq!(
            titles,
            [
                (
                    "Service shop/api exposes Deployment api → cluster takeover",
                    10.0,
                    Severity::Critical
                ),
                (
                    "Service shop/api exposes Deployment api → node takeover",
                    9.0,
                    Severity::Critical
                ),
            ]
        );
        let top = paths.first().unwrap();
        assert_eq!(top.steps.len(), 3);
        assert!(
            top.steps[1]
                .description
                .contains("1 critical vulnerability (CVE-2024-0001)"),
            "{:?}",
            top.steps[1]
        );
        assert_eq!(
            top.steps[2].resource.display_name(),
            "ServiceAccount shop/deployer"
        );
        assert!(!top.steps[2].findings.is_empty());
        // The privileged but internal workload is no path: nothing reaches it from outside.
        assert!(paths.iter().all(|p| !p.title.contains("internal")));
    }

    #[test]
    fn no_foothold_no_path() {
        let inv = inventory(CLUSTER);
        let findings = run_all(&inv);
        let clean = [report(
            "registry.example/api:2",
            "sha256:aaa",
            &[("CVE-2024-9", Severity::Medium)],
        )];
        assert!(paths(&inv, &findings, &clean).is_empty());
        assert!(paths(&inv, &findings, &[]).is_empty());
    }

    #[test]
    fn high_vulnerability_by_reference_gives_a_lower_risk() {
        let inv = inventory(&CLUSTER.replace("@sha256:aaa", ""));
        let findings = run_all(&inv);
        let images = [report(
            "registry.example/api:2",
            "sha256:zzz",
            &[("CVE-2024-0002", Severity::High)],
        )];
        let paths = paths(&inv, &findings, &images);
        assert_eq!(
            paths.first().map(|p| (p.risk, p.severity)),
            Some((8.0, Severity::High))
        );
    }
}
