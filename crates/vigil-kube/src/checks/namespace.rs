//! Pod Security Admission labels on namespaces, compared with what the namespace's
//! workloads need.
//!
//! For every Namespace in the inventory, the strictest level all its workloads meet
//! (restricted, baseline or privileged, judged at `latest`) is compared with the
//! `pod-security.kubernetes.io/enforce` label: a missing or invalid label, a label weaker
//! than the workloads need, and workloads that the label would refuse are findings. The
//! namespaces Kubernetes runs its own parts in (`kube-system`, `kube-public`,
//! `kube-node-lease`) are left out, as pod-security-admission's own exemptions usually are.

use super::{CheckInfo, Context, Family, ev};
use crate::workload::Workload;
use std::collections::BTreeMap;
use vigil_core::{Finding, Severity};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

const MISSING: CheckInfo = CheckInfo {
    id: "K8S-ns-psa-missing",
    title: "Namespace without a Pod Security enforce level",
    severity: Severity::Medium,
    remediation: "Label the namespace with pod-security.kubernetes.io/enforce set to the strictest level its workloads meet (restricted, else baseline).",
    controls: &["CIS-5.2.1", "NSA-pod-security", "PSS:baseline"],
};

const WEAKER: CheckInfo = CheckInfo {
    id: "K8S-ns-psa-weaker",
    title: "Namespace enforces a weaker Pod Security level than its workloads meet",
    severity: Severity::Low,
    remediation: "Raise pod-security.kubernetes.io/enforce to the level every workload already meets, so a new privileged pod is refused.",
    controls: &["CIS-5.2.1", "NSA-pod-security"],
};

const REFUSED: CheckInfo = CheckInfo {
    id: "K8S-ns-psa-refused",
    title: "Workload violates its namespace's enforced Pod Security level",
    severity: Severity::Medium,
    remediation: "Fix the workload's pod template to meet the namespace's level; until then its new pods are refused (running pods are kept).",
    controls: &["CIS-5.2.1", "NSA-pod-security"],
};

/// The namespace family.
pub struct Namespaces;

/// The strictest level a workload meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Meets {
    Privileged,
    Baseline,
    Restricted,
}

impl Meets {
    fn as_str(self) -> &'static str {
        match self {
            Meets::Privileged => "privileged",
            Meets::Baseline => "baseline",
            Meets::Restricted => "restricted",
        }
    }

    fn parse(label: &str) -> Option<Meets> {
        match label {
            "privileged" => Some(Meets::Privileged),
            "baseline" => Some(Meets::Baseline),
            "restricted" => Some(Meets::Restricted),
            _ => None,
        }
    }
}

fn meets(ctx: &Context<'_>, i: usize) -> Option<Meets> {
    let [baseline, restricted] = ctx.pss(i)?;
    Some(if restricted.allowed() {
        Meets::Restricted
    } else if baseline.allowed() {
        Meets::Baseline
    } else {
        Meets::Privileged
    })
}

impl Family for Namespaces {
    fn name(&self) -> &'static str {
        "namespaces"
    }

    fn checks(&self) -> Vec<&'static CheckInfo> {
        vec![&MISSING, &WEAKER, &REFUSED]
    }

    fn run(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        // Per namespace: the strictest level all workloads meet, and each workload's.
        let mut by_ns: BTreeMap<&str, Vec<(&Workload<'_>, Meets)>> = BTreeMap::new();
        for (i, w) in ctx.workloads.iter().enumerate() {
            if let Some(m) = meets(ctx, i) {
                by_ns
                    .entry(ctx.inv.namespace_of(w.object))
                    .or_default()
                    .push((w, m));
            }
        }
        for ns in ctx.inv.of_kind("Namespace") {
            let name = ns.name();
            if matches!(name, "kube-system" | "kube-public" | "kube-node-lease") {
                continue;
            }
            let workloads = by_ns.get(name).map(Vec::as_slice).unwrap_or_default();
            let needed = workloads
                .iter()
                .map(|(_, m)| *m)
                .min()
                .unwrap_or(Meets::Restricted);
            let resource = ctx.inv.resource_ref(ns);
            let path = format!("metadata.labels[\"{ENFORCE}\"]");
            let label = ns
                .value
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(ENFORCE))
                .and_then(|v| v.as_str());
            let Some(enforced) = label.and_then(Meets::parse) else {
                let title = match label {
                    None => format!(
                        "Namespace {name} has no Pod Security enforce label; its workloads meet {}",
                        needed.as_str()
                    ),
                    Some(bad) => format!(
                        "Namespace {name} has an invalid Pod Security enforce label {bad:?}; its workloads meet {}",
                        needed.as_str()
                    ),
                };
                out.push(MISSING.finding(
                    &resource,
                    title,
                    vec![ev(path, label.unwrap_or("<unset>"))],
                ));
                continue;
            };
            // An empty namespace meets every level; it says nothing about what it needs.
            if enforced < needed && !workloads.is_empty() {
                out.push(WEAKER.finding(
                    &resource,
                    format!(
                        "Namespace {name} enforces {} but every workload in it meets {}",
                        enforced.as_str(),
                        needed.as_str()
                    ),
                    vec![ev(path.clone(), enforced.as_str())],
                ));
            }
            for (w, m) in workloads {
                if *m < enforced {
                    out.push(REFUSED.finding(
                        &ctx.inv.resource_ref(w.object),
                        format!(
                            "{} meets only {} but namespace {name} enforces {}; its new pods are refused",
                            w.object.kind(),
                            m.as_str(),
                            enforced.as_str()
                        ),
                        vec![ev(format!("Namespace {name} {path}"), enforced.as_str())],
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{findings, fired};

    const PRIVILEGED_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: NS}
spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}
"#;
    const RESTRICTED_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: tight, namespace: NS}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]
"#;

    fn ns(name: &str, label: Option<&str>) -> String {
        match label {
            Some(l) => format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{pod-security.kubernetes.io/enforce: {l}}}}}\n"
            ),
            None => format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"),
        }
    }

    fn docs(parts: &[String]) -> String {
        parts.join("---\n")
    }

    #[test]
    fn missing_label_names_the_level_the_workloads_meet() {
        let yaml = docs(&[
            ns("a", None),
            RESTRICTED_POD.replace("NS", "a"),
            ns("kube-system", None),
        ]);
        let f = findings(&Namespaces, &yaml);
        assert_eq!(f.len(), 1, "{f:?}");
        let f = f.first().unwrap();
        assert_eq!(f.check_id, "K8S-ns-psa-missing");
        assert!(f.title.contains("meet restricted"), "{}", f.title);
        assert_eq!(f.evidence.first().unwrap().value, "<unset>");
    }

    #[test]
    fn weaker_label_and_refused_workloads() {
        let yaml = docs(&[
            ns("loose", Some("privileged")),
            RESTRICTED_POD.replace("NS", "loose"),
            ns("tight", Some("restricted")),
            PRIVILEGED_POD.replace("NS", "tight"),
            ns("exact", Some("baseline")),
            ns("bad", Some("strict")),
        ]);
        assert_eq!(
            fired(&Namespaces, &yaml),
            [
                "K8S-ns-psa-missing Namespace bad",
                "K8S-ns-psa-refused Pod tight/priv",
                "K8S-ns-psa-weaker Namespace loose",
            ]
        );
    }

    #[test]
    fn matching_labels_pass() {
        let yaml = docs(&[
            ns("p", Some("privileged")),
            PRIVILEGED_POD.replace("NS", "p"),
            ns("r", Some("restricted")),
            RESTRICTED_POD.replace("NS", "r"),
        ]);
        assert_eq!(fired(&Namespaces, &yaml), Vec::<String>::new());
    }
}
