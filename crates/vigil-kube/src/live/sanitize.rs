//! What is kept of each listed object.
//!
//! List items come without `apiVersion` and `kind`; both are set from the resource
//! table. `metadata.managedFields` is dropped (server-side apply bookkeeping, often half
//! an object's size, never used by checks). Secrets keep `apiVersion`, `kind` and
//! `metadata` only, whatever the server sent; ConfigMaps keep their keys with every value
//! replaced by `""`. For both, the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation is removed, since it holds a copy of the data.

use super::resources::{Keep, Resource};
use serde_json::{Map, Value};

/// The annotation `kubectl apply` stores the whole applied object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The object as stored, or `None` when `item` is not a JSON object.
pub(crate) fn sanitize(resource: &Resource, item: Value) -> Option<Value> {
    let Value::Object(mut obj) = item else {
        return None;
    };
    if resource.keep == Keep::MetadataOnly {
        let metadata = obj.remove("metadata").unwrap_or(Value::Object(Map::new()));
        obj = Map::new();
        obj.insert("metadata".into(), metadata);
    }
    obj.insert("apiVersion".into(), Value::String(resource.api_version()));
    obj.insert("kind".into(), Value::String(resource.kind.to_string()));
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.remove("managedFields");
        if resource.keep != Keep::All
            && let Some(Value::Object(annotations)) = meta.get_mut("annotations")
        {
            annotations.remove(LAST_APPLIED);
        }
    }
    if resource.keep == Keep::KeysOnly {
        for field in ["data", "binaryData"] {
            if let Some(Value::Object(values)) = obj.get_mut(field) {
                for v in values.values_mut() {
                    *v = Value::String(String::new());
                }
            }
        }
    }
    Some(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::resources::RESOURCES;
    use serde_json::json;

    fn res(kind: &str) -> &'static Resource {
        RESOURCES.iter().find(|r| r.kind == kind).unwrap()
    }

    #[test]
    fn secrets_keep_metadata_only_and_lose_last_applied() {
        let item = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"name": "s", "annotations": {LAST_APPLIED: "{\"data\":{\"k\":\"djE=\"}}", "a": "b"},
                         "managedFields": [{}]},
            "data": {"k": "djE="}, "stringData": {"x": "y"}, "type": "Opaque"});
        let out = sanitize(res("Secret"), item).unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "s", "annotations": {"a": "b"}}})
        );
    }

    #[test]
    fn configmaps_keep_keys_not_values() {
        let item = json!({"metadata": {"name": "c", "annotations": {LAST_APPLIED: "{}"}},
            "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AAE="}});
        let out = sanitize(res("ConfigMap"), item).unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {}},
                   "data": {"a": "", "b": ""}, "binaryData": {"c": ""}})
        );
    }

    #[test]
    fn other_objects_are_whole_minus_managed_fields() {
        let item = json!({"metadata": {"name": "d", "managedFields": [{"manager": "kubectl"}],
            "annotations": {LAST_APPLIED: "{}"}}, "spec": {"replicas": 2}});
        let out = sanitize(res("Deployment"), item).unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "d", "annotations": {LAST_APPLIED: "{}"}}, "spec": {"replicas": 2}})
        );
        assert!(sanitize(res("Pod"), json!([1])).is_none());
    }
}
