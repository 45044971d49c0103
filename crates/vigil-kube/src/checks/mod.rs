//! Posture checks: what `vigil k8s scan` runs over an [`Inventory`].
//!
//! Checks come in families, one file each (Pod Security Standards, namespaces, workload
//! hygiene, RBAC, exposure). A family sees the whole inventory in one call rather than one
//! resource at a time, because many checks are joins (a binding and its role, a Service
//! and the pods it selects) and a family can build its index once. Each family lists the
//! [`CheckInfo`] of every check it can raise, so the catalogue (`vigil k8s checks`, the
//! docs) and the findings come from the same table. The families run in [`families`]
//! order; adding one is a file plus a line there.

pub mod exposure;
pub mod hygiene;
pub mod namespace;
pub mod pss;
pub mod rbac;

use crate::inventory::Inventory;
use crate::workload::{Workload, workloads};
use serde::Serialize;
use std::cell::OnceCell;
use std::collections::HashMap;
use vigil_core::{Evidence, Finding, ResourceRef, Severity};

/// What a check is, whatever resource it fires on.
#[derive(Debug, Serialize)]
pub struct CheckInfo {
    /// Stable check id, e.g. `K8S-hygiene-latest-tag`.
    pub id: &'static str,
    /// Short name of the check.
    pub title: &'static str,
    /// Severity of a finding.
    pub severity: Severity,
    /// How to fix a finding.
    pub remediation: &'static str,
    /// Control ids of the standards the check maps to (`PSS:baseline`, `CIS-5.2.2`,
    /// `NSA-pod-security`, `MITRE-T1611`); see docs/k8s-checks.md.
    pub controls: &'static [&'static str],
}

impl CheckInfo {
    /// A finding of this check on `resource`.
    pub fn finding(
        &self,
        resource: &ResourceRef,
        title: String,
        evidence: Vec<Evidence>,
    ) -> Finding {
        Finding {
            id: Finding::stable_id(self.id, resource),
            check_id: self.id.to_string(),
            severity: self.severity,
            title,
            resource: resource.clone(),
            evidence,
            remediation: self.remediation.to_string(),
            controls: self.controls.iter().map(|c| c.to_string()).collect(),
            location: None,
        }
    }
}

/// What every family gets: the inventory and what several families need from it.
pub struct Context<'a> {
    /// The inventory.
    pub inv: &'a Inventory,
    /// Its top-level workloads (see [`crate::workload`]).
    pub workloads: Vec<Workload<'a>>,
    /// Indexes into `workloads` by namespace, for the joins that stay in one namespace
    /// (Service selectors), which would otherwise be quadratic.
    by_namespace: HashMap<&'a str, Vec<usize>>,
    /// Each workload's Pod Security evaluation at baseline and restricted (latest),
    /// computed once for the families that need it.
    pss: OnceCell<Vec<Option<PssResult>>>,
}

/// A workload's Pod Security evaluations: `[baseline, restricted]` at `latest`.
pub type PssResult = [crate::pss::Evaluation; 2];

impl<'a> Context<'a> {
    /// The context of `inv`.
    pub fn new(inv: &'a Inventory) -> Context<'a> {
        let workloads = workloads(inv);
        let mut by_namespace: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, w) in workloads.iter().enumerate() {
            by_namespace
                .entry(inv.namespace_of(w.object))
                .or_default()
                .push(i);
        }
        Context {
            inv,
            workloads,
            by_namespace,
            pss: OnceCell::new(),
        }
    }

    /// The Pod Security evaluations of `workloads[i]`; `None` when its pod spec could not
    /// be decoded (logged once).
    pub fn pss(&self, i: usize) -> Option<&PssResult> {
        let all = self.pss.get_or_init(|| {
            self.workloads
                .iter()
                .map(|w| {
                    let levels = [crate::pss::Level::Baseline, crate::pss::Level::Restricted];
                    match crate::pss::evaluate_object_levels(
                        w.object,
                        &levels,
                        crate::pss::Version::Latest,
                        &self.inv.default_namespace,
                    ) {
                        Ok(Some(v)) => <PssResult>::try_from(v).ok(),
                        Ok(None) => None,
                        Err(e) => {
                            tracing::warn!(object = %w.object.origin, "pod spec not checked: {e}");
                            None
                        }
                    }
                })
                .collect()
        });
        all.get(i)?.as_ref()
    }

    /// The workloads in `namespace`.
    pub fn workloads_in(&self, namespace: &str) -> impl Iterator<Item = &Workload<'a>> {
        self.by_namespace
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.workloads.get(i))
    }
}

/// A family of checks.
pub trait Family: Sync {
    /// The family's name, e.g. `rbac`.
    fn name(&self) -> &'static str;
    /// Every check the family can raise.
    fn checks(&self) -> Vec<&'static CheckInfo>;
    /// Runs the family's checks over the inventory.
    fn run(&self, ctx: &Context<'_>, out: &mut Vec<Finding>);
}

/// Every family, in the order they run.
pub fn families() -> [&'static dyn Family; 5] {
    [
        &pss::PodSecurity,
        &namespace::Namespaces,
        &hygiene::Hygiene,
        &rbac::Rbac,
        &exposure::Exposure,
    ]
}

/// The findings of every family on `inv`, most severe first, then by check and resource.
pub fn run_all(inv: &Inventory) -> Vec<Finding> {
    let ctx = Context::new(inv);
    let mut out = Vec::new();
    for family in families() {
        family.run(&ctx, &mut out);
    }
    if inv.cluster.name.is_empty() {
        locate(inv, &mut out);
    }
    sort_findings(&mut out);
    out
}

/// Sets each finding's `location` to the manifest file its resource was read from.
fn locate(inv: &Inventory, findings: &mut [Finding]) {
    let files: HashMap<(&str, &str, &str), String> = inv
        .objects
        .iter()
        .map(|o| {
            let key = (o.kind(), inv.namespace_of(o), o.name());
            (key, o.origin.file.display().to_string())
        })
        .collect();
    for f in findings {
        let r = &f.resource;
        let key = (r.kind.as_str(), r.namespace.as_str(), r.name.as_str());
        f.location = files.get(&key).cloned();
    }
}

/// Most severe first, then by check id, resource and first evidence path.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check_id.cmp(&b.check_id))
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| {
                let path = |f: &Finding| f.evidence.first().map(|e| e.path.clone());
                path(a).cmp(&path(b))
            })
    });
}

/// Evidence of `value` at `path`.
pub(crate) fn ev(path: impl Into<String>, value: impl std::fmt::Display) -> Evidence {
    Evidence {
        path: path.into(),
        value: value.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::inventory::Inventory;
    use crate::manifest;
    use std::path::Path;
    use vigil_core::Finding;

    /// The inventory of a YAML stream.
    pub fn inventory(yaml: &str) -> Inventory {
        let objects = manifest::parse(yaml.as_bytes(), Path::new("t.yaml"), &Default::default())
            .unwrap_or_else(|e| panic!("fixture: {e}"));
        Inventory::from_manifests(objects, "default")
    }

    /// `check_id resource` of each finding of `family` on `yaml`, sorted.
    pub fn fired(family: &dyn super::Family, yaml: &str) -> Vec<String> {
        findings(family, yaml)
            .iter()
            .map(|f| format!("{} {}", f.check_id, f.resource.display_name()))
            .collect()
    }

    /// The findings of `family` on `yaml`, sorted.
    pub fn findings(family: &dyn super::Family, yaml: &str) -> Vec<Finding> {
        let inv = inventory(yaml);
        let ctx = super::Context::new(&inv);
        let mut out = Vec::new();
        family.run(&ctx, &mut out);
        super::sort_findings(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn check_ids_are_unique_and_every_check_maps_to_a_standard() {
        let mut seen = HashSet::new();
        for family in families() {
            for c in family.checks() {
                assert!(seen.insert(c.id), "duplicate check id {}", c.id);
                assert!(!c.controls.is_empty(), "{} maps to no control", c.id);
                assert!(!c.remediation.is_empty(), "{} has no remediation", c.id);
            }
        }
        assert!(seen.len() > 40, "{} checks", seen.len());
    }
}
