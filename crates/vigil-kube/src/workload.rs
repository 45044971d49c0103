//! Workloads: the objects that run pods, with their pod template and its path.
//!
//! Checks report a problem once, on the object its owner edits: a Deployment, not its
//! ReplicaSets and pods. So an object controlled by another workload present in the same
//! inventory (a ReplicaSet of a Deployment, a Job of a CronJob, a pod of either) is left out,
//! as Kubescape does; a pod whose controller is not in the inventory (an operator's custom
//! resource, or a cluster read without that kind) is kept, so nothing goes unchecked.

use crate::inventory::Inventory;
use crate::manifest::Object;
use crate::pss::spec::pod_template_path;
use serde_json::Value;
use std::collections::HashSet;

/// One workload and its pod template.
#[derive(Debug, Clone, Copy)]
pub struct Workload<'a> {
    /// The object (Pod, Deployment, CronJob, ...).
    pub object: &'a Object,
    /// Path of the pod template in the object, e.g. `["spec", "template"]`; empty for a Pod.
    pub template_path: &'static [&'static str],
    /// The pod template (`metadata` and `spec`), or the Pod itself.
    pub template: &'a Value,
}

/// One container of a pod spec, with its path.
#[derive(Debug, Clone)]
pub struct ContainerRef<'a> {
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    /// The container.
    pub value: &'a Value,
    /// Path of the container, e.g. `spec.template.spec.containers[1]`.
    pub path: String,
}

impl ContainerRef<'_> {
    /// `name`, or empty.
    pub fn name(&self) -> &str {
        str_at(self.value, &["name"])
    }

    /// `image`, or empty.
    pub fn image(&self) -> &str {
        str_at(self.value, &["image"])
    }
}

impl<'a> Workload<'a> {
    /// `spec.template.` (the prefix of paths into the pod template), or empty for a Pod.
    pub fn prefix(&self) -> String {
        if self.template_path.is_empty() {
            String::new()
        } else {
            format!("{}.", self.template_path.join("."))
        }
    }

    /// Path of `rel` inside the pod spec, e.g. `spec.template.spec.hostNetwork`.
    pub fn spec_path(&self, rel: &str) -> String {
        format!("{}spec.{rel}", self.prefix())
    }

    /// The pod spec, or `Value::Null` when missing.
    pub fn spec(&self) -> &'a Value {
        self.template.get("spec").unwrap_or(&Value::Null)
    }

    /// The pod template's labels (what Services and NetworkPolicies select).
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.template
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }

    /// The pod template's label `key`.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.template
            .get("metadata")?
            .get("labels")?
            .get(key)?
            .as_str()
    }

    /// The service account the pods run as (`default` when unset).
    pub fn service_account(&self) -> &'a str {
        let spec = self.spec();
        match str_at(spec, &["serviceAccountName"]) {
            "" => match str_at(spec, &["serviceAccount"]) {
                "" => "default",
                sa => sa,
            },
            sa => sa,
        }
    }

    /// Every container (init, regular and ephemeral), in that order.
    pub fn containers(&self) -> Vec<ContainerRef<'a>> {
        let spec = self.spec();
        let prefix = self.spec_path("");
        let mut out = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let Some(items) = spec.get(list).and_then(Value::as_array) else {
                continue;
            };
            for (i, value) in items.iter().enumerate() {
                out.push(ContainerRef {
                    list,
                    value,
                    path: format!("{prefix}{list}[{i}]"),
                });
            }
        }
        out
    }

    /// The volumes, with their paths.
    pub fn volumes(&self) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        let prefix = self.spec_path("volumes");
        self.spec()
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(i, v)| (format!("{prefix}[{i}]"), v))
    }
}

/// The top-level workloads of `inv`: every object carrying a pod, except those controlled
/// by another workload in the inventory.
pub fn workloads(inv: &Inventory) -> Vec<Workload<'_>> {
    let mut owners: HashSet<(&str, &str, &str)> = HashSet::new();
    let mut owner_uids: HashSet<&str> = HashSet::new();
    for o in &inv.objects {
        if pod_template_path(o.kind()).is_some() {
            owners.insert((o.kind(), inv.namespace_of(o), o.name()));
            if !o.uid().is_empty() {
                owner_uids.insert(o.uid());
            }
        }
    }
    let controlled = |o: &Object| {
        controller(o).is_some_and(|(kind, name, uid)| {
            (!uid.is_empty() && owner_uids.contains(uid))
                || owners.contains(&(kind, inv.namespace_of(o), name))
        })
    };
    inv.objects
        .iter()
        .filter_map(|object| {
            let template_path = pod_template_path(object.kind())?;
            if controlled(object) {
                return None;
            }
            let mut template = &object.value;
            for key in template_path {
                template = template.get(key)?;
            }
            template.is_object().then_some(Workload {
                object,
                template_path,
                template,
            })
        })
        .collect()
}

/// The `(kind, name, uid)` of the owner reference marked `controller: true`.
fn controller(o: &Object) -> Option<(&str, &str, &str)> {
    o.value
        .get("metadata")?
        .get("ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| {
            (
                str_at(r, &["kind"]),
                str_at(r, &["name"]),
                str_at(r, &["uid"]),
            )
        })
}

/// The string at `path` under `v`, or empty.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut node = v;
    for key in path {
        match node.get(key) {
            Some(n) => node = n,
            None => return "",
        }
    }
    node.as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;
    use std::path::Path;

    const CLUSTER: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web-sa
      initContainers: [{name: init, image: busybox}]
      containers: [{name: app, image: nginx}, {name: side, image: envoy}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  uid: r1
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec: {template: {spec: {containers: [{name: app, image: nginx}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-x
  namespace: shop
  ownerReferences: [{kind: ReplicaSet, name: web-5d8f, uid: r1, controller: true}]
spec: {containers: [{name: app, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: shop
  ownerReferences: [{kind: PostgresCluster, name: db, uid: p1, controller: true}]
spec: {containers: [{name: pg, image: postgres}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
"#;

    #[test]
    fn controlled_objects_are_left_to_their_owner() {
        let objects =
            manifest::parse(CLUSTER.as_bytes(), Path::new("c.yaml"), &Default::default()).unwrap();
        let inv = Inventory::from_manifests(objects, "default");
        let names: Vec<String> = workloads(&inv)
            .iter()
            .map(|w| format!("{} {}", w.object.kind(), w.object.name()))
            .collect();
        // The pod of an operator's resource stays: nothing else would check it.
        assert_eq!(names, ["Deployment web", "Pod db-0"]);
    }

    #[test]
    fn containers_and_paths() {
        let objects =
            manifest::parse(CLUSTER.as_bytes(), Path::new("c.yaml"), &Default::default()).unwrap();
        let inv = Inventory::from_manifests(objects, "default");
        let all = workloads(&inv);
        let web = all.first().unwrap();
        let containers = web.containers();
        let got: Vec<(String, &str)> = containers
            .iter()
            .map(|c| (c.path.clone(), c.name()))
            .collect();
        assert_eq!(
            got,
            [
                ("spec.template.spec.initContainers[0]".to_string(), "init"),
                ("spec.template.spec.containers[0]".to_string(), "app"),
                ("spec.template.spec.containers[1]".to_string(), "side"),
            ]
        );
        assert_eq!(web.service_account(), "web-sa");
        assert_eq!(web.labels().collect::<Vec<_>>(), [("app", "web")]);
        let pod = all.get(1).unwrap();
        assert_eq!(pod.spec_path("hostPID"), "spec.hostPID");
        assert_eq!(pod.service_account(), "default");
    }
}
