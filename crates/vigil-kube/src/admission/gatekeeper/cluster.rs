//! What policies know about the cluster beyond the request: Gatekeeper's synced
//! `data.inventory`, and the labels of namespaces for `namespaceSelector`.

use crate::inventory::is_namespaced;
use crate::manifest::Object;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// The label every namespace carries since Kubernetes 1.22, set from its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Cluster objects as policies see them.
#[derive(Debug, Clone)]
pub struct ClusterData {
    namespace_labels: HashMap<String, Map<String, Value>>,
    inventory: regorus::Value,
}

impl Default for ClusterData {
    fn default() -> ClusterData {
        ClusterData::from_objects([])
    }
}

impl ClusterData {
    /// Builds `data.inventory` the way Gatekeeper's sync lays it out:
    /// `cluster[apiVersion][kind][name]` for cluster-scoped objects and
    /// `namespace[ns][apiVersion][kind][name]` for namespaced ones.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Object>) -> ClusterData {
        // apiVersion -> kind -> name -> object
        type ByKind = BTreeMap<String, BTreeMap<String, Map<String, Value>>>;
        let mut cluster = ByKind::new();
        let mut namespaced: BTreeMap<String, ByKind> = BTreeMap::new();
        let mut namespace_labels = HashMap::new();
        for o in objects {
            let (api_version, kind, name) = (o.api_version(), o.kind(), o.name());
            if kind.is_empty() || name.is_empty() {
                continue;
            }
            if kind == "Namespace" && !api_version.contains('/') {
                let labels = o
                    .value
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                namespace_labels.insert(name.to_string(), labels);
            }
            let root = if is_namespaced(kind) {
                let ns = match o.namespace() {
                    "" => "default",
                    ns => ns,
                };
                namespaced.entry(ns.to_string()).or_default()
            } else {
                &mut cluster
            };
            root.entry(api_version.to_string())
                .or_default()
                .entry(kind.to_string())
                .or_default()
                .insert(name.to_string(), o.value.clone());
        }
        let inventory = serde_json::json!({"cluster": cluster, "namespace": namespaced});
        ClusterData {
            namespace_labels,
            inventory: regorus::Value::from(inventory),
        }
    }

    /// `data.inventory` as a Rego value.
    pub fn inventory(&self) -> &regorus::Value {
        &self.inventory
    }

    /// The labels of namespace `name`: its stored labels when the namespace is known, and
    /// always `kubernetes.io/metadata.name` (the API server sets it on every namespace).
    pub fn namespace_labels(&self, name: &str) -> Map<String, Value> {
        let mut labels = self.namespace_labels.get(name).cloned().unwrap_or_default();
        labels.insert(NAME_LABEL.into(), Value::String(name.to_string()));
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Origin;
    use serde_json::json;

    fn object(v: Value) -> Object {
        Object {
            value: v,
            origin: Origin {
                file: "cluster.yaml".into(),
                document: 1,
                item: None,
                helm_source: None,
            },
        }
    }

    #[test]
    fn inventory_is_laid_out_as_gatekeeper_syncs_it() {
        let data = ClusterData::from_objects(&[
            object(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"env": "prod"}}}),
            ),
            object(
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "prod"}}),
            ),
        ]);
        let inv = serde_json::to_value(data.inventory()).unwrap();
        assert_eq!(
            inv["cluster"]["v1"]["Namespace"]["prod"]["metadata"]["labels"]["env"],
            "prod"
        );
        assert_eq!(
            inv["namespace"]["prod"]["networking.k8s.io/v1"]["Ingress"]["web"]["metadata"]["name"],
            "web"
        );
        let labels = data.namespace_labels("prod");
        assert_eq!(labels["env"], "prod");
        assert_eq!(labels[NAME_LABEL], "prod");
        assert_eq!(data.namespace_labels("other")[NAME_LABEL], "other");
    }
}
