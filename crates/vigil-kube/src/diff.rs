//! What changed between two inventories (two snapshots of a cluster): objects added,
//! removed and changed, and — what matters to its owner — the findings that appeared and
//! the ones that went away (a new privileged workload, a new binding to cluster-admin).
//!
//! Objects are matched by kind, namespace and name; "changed" compares them without the
//! fields the API server rewrites on its own (`status`, `resourceVersion`, `generation`,
//! `managedFields`, timestamps). Findings are matched by their stable id, which holds
//! across scans.

use crate::checks;
use crate::inventory::Inventory;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use vigil_core::{Finding, ResourceRef};

/// The difference between an old and a new inventory.
#[derive(Debug, Serialize)]
pub struct Diff {
    /// Objects only in the new inventory.
    pub added: Vec<ResourceRef>,
    /// Objects only in the old inventory.
    pub removed: Vec<ResourceRef>,
    /// Objects in both whose content changed.
    pub changed: Vec<ResourceRef>,
    /// Findings only in the new inventory, most severe first.
    pub new_findings: Vec<Finding>,
    /// Findings only in the old inventory, most severe first.
    pub resolved_findings: Vec<Finding>,
}

impl Diff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.new_findings.is_empty()
            && self.resolved_findings.is_empty()
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &Inventory, new: &Inventory) -> Diff {
    let index = |inv: &Inventory| -> BTreeMap<(String, String, String), (ResourceRef, Value)> {
        inv.objects
            .iter()
            .map(|o| {
                let r = inv.resource_ref(o);
                (
                    (r.kind.clone(), r.namespace.clone(), r.name.clone()),
                    (r, comparable(&o.value)),
                )
            })
            .collect()
    };
    let (a, b) = (index(old), index(new));
    let mut out = Diff {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        new_findings: Vec::new(),
        resolved_findings: Vec::new(),
    };
    for (key, (r, v)) in &b {
        match a.get(key) {
            None => out.added.push(r.clone()),
            Some((_, old_v)) if old_v != v => out.changed.push(r.clone()),
            Some(_) => {}
        }
    }
    out.removed = a
        .iter()
        .filter(|(k, _)| !b.contains_key(*k))
        .map(|(_, (r, _))| r.clone())
        .collect();
    let (fa, fb) = (checks::run_all(old), checks::run_all(new));
    let ids_a: HashSet<&str> = fa.iter().map(|f| f.id.as_str()).collect();
    let ids_b: HashSet<&str> = fb.iter().map(|f| f.id.as_str()).collect();
    out.new_findings = fb
        .iter()
        .filter(|f| !ids_a.contains(f.id.as_str()))
        .cloned()
        .collect();
    out.resolved_findings = fa
        .iter()
        .filter(|f| !ids_b.contains(f.id.as_str()))
        .cloned()
        .collect();
    out
}

/// The object without what the API server changes by itself.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "resourceVersion",
                "generation",
                "managedFields",
                "creationTimestamp",
                "uid",
                "selfLink",
            ] {
                meta.remove(key);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::inventory;

    const OLD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, resourceVersion: "1"}
spec: {template: {spec: {automountServiceAccountToken: false, containers: [{name: c, image: "nginx:1.27"}]}}}
status: {replicas: 1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: old, namespace: shop}
"#;

    const NEW: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, resourceVersion: "7"}
spec: {template: {spec: {automountServiceAccountToken: false, containers: [{name: c, image: "nginx:1.27", securityContext: {privileged: true}}]}}}
status: {replicas: 3}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: oops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin-all}
subjects: [{kind: User, name: mallory}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admin-all}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
"#;

    #[test]
    fn new_privileged_workload_and_new_admin_binding() {
        let d = diff(&inventory(OLD), &inventory(NEW));
        let names = |v: &[ResourceRef]| v.iter().map(ResourceRef::display_name).collect::<Vec<_>>();
        assert_eq!(
            names(&d.added),
            ["ClusterRole admin-all", "ClusterRoleBinding oops"]
        );
        assert_eq!(names(&d.removed), ["ConfigMap shop/old"]);
        assert_eq!(names(&d.changed), ["Deployment shop/web"]);
        let new: Vec<String> = d
            .new_findings
            .iter()
            .map(|f| format!("{} {}", f.check_id, f.resource.display_name()))
            .collect();
        assert!(
            new.contains(&"K8S-rbac-cluster-admin User mallory".to_string()),
            "{new:?}"
        );
        assert!(
            new.contains(&"PSS-baseline-privileged Deployment shop/web".to_string()),
            "{new:?}"
        );
        assert!(d.resolved_findings.is_empty(), "{:?}", d.resolved_findings);
        // Only the server's own fields changed: no difference.
        let same = diff(
            &inventory(OLD),
            &inventory(&OLD.replace("resourceVersion: \"1\"", "resourceVersion: \"9\"")),
        );
        assert!(same.is_empty());
        // And the other way round, the findings are resolved.
        let back = diff(&inventory(NEW), &inventory(OLD));
        assert_eq!(back.resolved_findings.len(), d.new_findings.len());
    }
}
