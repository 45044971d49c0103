//! The resources of one cluster (or one set of manifests) that checks read, and the
//! snapshot file that stores them.
//!
//! Every source ends here: manifests ([`Inventory::from_manifests`]), a snapshot file
//! ([`Inventory::read_snapshot`]) and a live cluster (the `live` module) all give an
//! [`Inventory`], so the checks have one input whatever produced it. A snapshot is one JSON
//! document:
//!
//! ```json
//! { "apiVersion": "vigil.dev/v1", "kind": "ClusterSnapshot",
//!   "cluster": { "name": "prod", "server": "https://...", "version": { "gitVersion": "v1.31.2", ... } },
//!   "takenAt": "2026-11-29T12:00:00Z",
//!   "partial": [ { "resource": "secrets", "reason": "forbidden: ..." } ],
//!   "items": [ { "apiVersion": "v1", "kind": "Pod", ... }, ... ] }
//! ```
//!
//! `partial` lists what could not be read; a scan of a partial inventory says so and never
//! reports itself complete.

use crate::manifest::{Object, Origin};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use vigil_core::ResourceRef;

/// `apiVersion` of snapshot documents.
pub const SNAPSHOT_API_VERSION: &str = "vigil.dev/v1";
/// `kind` of snapshot documents.
pub const SNAPSHOT_KIND: &str = "ClusterSnapshot";
/// Largest snapshot file read: a 10,000-pod cluster is about 100 MiB.
pub const MAX_SNAPSHOT_BYTES: u64 = 2 << 30;

/// Which cluster an inventory describes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// The name Vigil knows it by (kubeconfig context, discovery name); empty for manifests.
    #[serde(default)]
    pub name: String,
    /// The API server URL; empty for manifests.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server: String,
    /// What `/version` answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ServerVersion>,
}

/// The fields of the API server's `/version` answer that reports use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    /// `major`, e.g. `1`.
    #[serde(default)]
    pub major: String,
    /// `minor`, e.g. `31` (providers append `+`).
    #[serde(default)]
    pub minor: String,
    /// `gitVersion`, e.g. `v1.31.2-eks-7f9249a`.
    #[serde(default)]
    pub git_version: String,
    /// `platform`, e.g. `linux/amd64`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub platform: String,
}

impl ServerVersion {
    /// The minor version as a number (`"31+"` is 31), when the major version is 1.
    pub fn minor_number(&self) -> Option<u32> {
        if self.major.trim_end_matches('+') != "1" {
            return None;
        }
        self.minor.trim_end_matches('+').parse().ok()
    }
}

/// Something the source could not read, so the inventory lacks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// The resource (plural, with group when not core), e.g. `secrets`,
    /// `clusterroles.rbac.authorization.k8s.io`.
    pub resource: String,
    /// The namespace when only one namespace was refused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Why, e.g. the API server's `forbidden` message naming the missing permission.
    pub reason: String,
}

/// The snapshot document, as written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotDocument {
    api_version: String,
    kind: String,
    cluster: ClusterInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    taken_at: Option<String>,
    partial: Vec<Gap>,
    items: Vec<Value>,
}

/// The snapshot document, as read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotInput {
    api_version: String,
    kind: String,
    #[serde(default)]
    cluster: ClusterInfo,
    #[serde(default)]
    taken_at: Option<String>,
    #[serde(default)]
    partial: Vec<Gap>,
    #[serde(default, deserialize_with = "lean_items")]
    items: Vec<Item>,
}

/// One snapshot item as read: decoded, or kept as text because a workload controls it.
#[derive(Debug)]
enum Item {
    Decoded(Value),
    /// A pod-carrying object (Pod, ReplicaSet, Job) with a controller: checks judge it
    /// through its owner, so unless the owner turns out to be missing it is never decoded.
    /// Its text is a tenth of its decoded size, which keeps a 10,000-pod snapshot in
    /// budget.
    Controlled {
        raw: Box<serde_json::value::RawValue>,
        ids: ControlIds,
    },
}

/// Who a controlled item is and who controls it, read from its text without decoding it.
#[derive(Debug)]
struct ControlIds {
    kind: String,
    namespace: String,
    name: String,
    uid: String,
    owner_kind: String,
    owner_name: String,
    owner_uid: String,
}

/// What [`lean_items`] reads of an item before deciding whether to decode it.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(default, borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: PeekMeta<'a>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeekMeta<'a> {
    #[serde(default, borrow)]
    namespace: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    name: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    uid: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    owner_references: Vec<PeekOwner<'a>>,
}

#[derive(Deserialize)]
struct PeekOwner<'a> {
    #[serde(default, borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    name: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    uid: std::borrow::Cow<'a, str>,
    #[serde(default)]
    controller: Option<bool>,
}

/// Reads `items` object by object, dropping what no check reads and what makes a
/// 10,000-pod snapshot several times larger in memory: `status` (except Nodes', which
/// says what runs there) and `metadata.managedFields`; controlled pod carriers stay text
/// (see [`Item::Controlled`]).
fn lean_items<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Item>, D::Error> {
    struct Items;
    impl<'de> serde::de::Visitor<'de> for Items {
        type Value = Vec<Item>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of Kubernetes objects")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Item>, A::Error> {
            use serde::de::Error;
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(raw) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
                let controlled = serde_json::from_str::<Peek<'_>>(raw.get())
                    .ok()
                    .filter(|p| crate::pss::spec::pod_template_path(&p.kind).is_some())
                    .and_then(|p| {
                        let owner = p
                            .metadata
                            .owner_references
                            .iter()
                            .find(|o| o.controller == Some(true))?;
                        Some(ControlIds {
                            kind: p.kind.to_string(),
                            namespace: p.metadata.namespace.to_string(),
                            name: p.metadata.name.to_string(),
                            uid: p.metadata.uid.to_string(),
                            owner_kind: owner.kind.to_string(),
                            owner_name: owner.name.to_string(),
                            owner_uid: owner.uid.to_string(),
                        })
                    });
                out.push(match controlled {
                    Some(ids) => Item::Controlled { raw, ids },
                    None => Item::Decoded(lean(
                        serde_json::from_str(raw.get()).map_err(A::Error::custom)?,
                    )),
                });
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Items)
}

/// `v` without `status` (but for Nodes) and `metadata.managedFields`.
fn lean(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        if map.get("kind").and_then(Value::as_str) != Some("Node") {
            map.remove("status");
        }
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
    }
    v
}

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a snapshot, or a damaged one.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Resources to check, with the cluster they came from.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The cluster (empty for manifests).
    pub cluster: ClusterInfo,
    /// When the resources were read (RFC 3339), for snapshots and live clusters.
    pub taken_at: Option<String>,
    /// What could not be read.
    pub partial: Vec<Gap>,
    /// The objects.
    pub objects: Vec<Object>,
    /// Namespace given to namespaced objects that name none (manifests).
    pub default_namespace: String,
    /// Objects of a snapshot left out of `objects` because a workload in the same
    /// snapshot controls them (a Deployment's ReplicaSets and their pods): every check
    /// judges them through their owner, and not decoding them keeps memory in bounds.
    pub controlled: usize,
    /// Index of `objects` by kind.
    by_kind: HashMap<String, Vec<usize>>,
}

impl Inventory {
    /// An inventory of `objects` from `cluster`.
    pub fn new(cluster: ClusterInfo, objects: Vec<Object>) -> Inventory {
        let mut by_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            by_kind.entry(o.kind().to_string()).or_default().push(i);
        }
        Inventory {
            cluster,
            taken_at: None,
            partial: Vec::new(),
            objects,
            default_namespace: "default".into(),
            controlled: 0,
            by_kind,
        }
    }

    /// Manifests read from files; objects without a namespace go to `default_namespace`.
    pub fn from_manifests(objects: Vec<Object>, default_namespace: &str) -> Inventory {
        let mut inv = Inventory::new(ClusterInfo::default(), objects);
        inv.default_namespace = default_namespace.to_string();
        inv
    }

    /// True when some resources could not be read.
    pub fn is_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    /// The objects of `kind`, in the order read.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Object> + 'a {
        self.by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| self.objects.get(i))
    }

    /// The namespace `object` lives in: its own, or the default for namespaced objects read
    /// without one; empty for cluster-scoped kinds.
    pub fn namespace_of<'a>(&'a self, object: &'a Object) -> &'a str {
        match object.namespace() {
            "" if is_namespaced(object.kind()) => &self.default_namespace,
            ns => ns,
        }
    }

    /// How findings name `object`.
    pub fn resource_ref(&self, object: &Object) -> ResourceRef {
        ResourceRef {
            cluster: self.cluster.name.clone(),
            api_version: object.api_version().to_string(),
            kind: object.kind().to_string(),
            namespace: self.namespace_of(object).to_string(),
            name: object.name().to_string(),
            uid: object.uid().to_string(),
        }
    }

    /// Reads a snapshot written by [`Inventory::write_snapshot`] (or `vigil k8s snapshot`).
    pub fn read_snapshot(path: &Path) -> Result<Inventory, SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_SNAPSHOT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Inventory::parse_snapshot(bytes, path)
    }

    /// Parses snapshot `bytes` as if read from `path` (which errors and origins name).
    pub fn parse_snapshot(bytes: Vec<u8>, path: &Path) -> Result<Inventory, SnapshotError> {
        let invalid = |message: String| SnapshotError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if bytes.len() as u64 > MAX_SNAPSHOT_BYTES {
            return Err(invalid(format!(
                "larger than {} MiB",
                MAX_SNAPSHOT_BYTES >> 20
            )));
        }
        let doc: SnapshotInput = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("not a Vigil cluster snapshot: {e}")))?;
        drop(bytes);
        if doc.kind != SNAPSHOT_KIND || doc.api_version != SNAPSHOT_API_VERSION {
            return Err(invalid(format!(
                "not a Vigil cluster snapshot (apiVersion {:?}, kind {:?}; expected {SNAPSHOT_API_VERSION} {SNAPSHOT_KIND})",
                doc.api_version, doc.kind
            )));
        }
        // Every object that can own pods, decoded or not, by uid and by kind/namespace/name.
        let mut owner_uids: HashSet<String> = HashSet::new();
        let mut owner_names: HashSet<(String, String, String)> = HashSet::new();
        for item in &doc.items {
            match item {
                Item::Decoded(v) => {
                    let meta = v.get("metadata");
                    let field = |k: &str| {
                        meta.and_then(|m| m.get(k))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
                    owner_uids.insert(field("uid"));
                    owner_names.insert((kind.to_string(), field("namespace"), field("name")));
                }
                // A controlled object can own others (a ReplicaSet its pods).
                Item::Controlled { ids, .. } => {
                    owner_uids.insert(ids.uid.clone());
                    owner_names.insert((ids.kind.clone(), ids.namespace.clone(), ids.name.clone()));
                }
            }
        }
        owner_uids.remove("");
        let mut objects = Vec::with_capacity(doc.items.len());
        let mut controlled = 0usize;
        for (i, item) in doc.items.into_iter().enumerate() {
            let value = match item {
                Item::Decoded(v) => v,
                Item::Controlled { raw, ids } => {
                    if owner_uids.contains(&ids.owner_uid)
                        || owner_names.contains(&(ids.owner_kind, ids.namespace, ids.owner_name))
                    {
                        controlled += 1;
                        continue;
                    }
                    lean(
                        serde_json::from_str(raw.get())
                            .map_err(|e| invalid(format!("items[{i}]: {e}")))?,
                    )
                }
            };
            if !value.is_object() || value.get("kind").and_then(Value::as_str).is_none() {
                return Err(invalid(format!("items[{i}] is not a Kubernetes object")));
            }
            objects.push(Object {
                value,
                origin: Origin {
                    file: path.to_path_buf(),
                    document: 1,
                    item: Some(i + 1),
                    helm_source: None,
                },
            });
        }
        let mut inv = Inventory::new(doc.cluster, objects);
        inv.taken_at = doc.taken_at;
        inv.partial = doc.partial;
        inv.controlled = controlled;
        Ok(inv)
    }

    /// The snapshot document of this inventory.
    pub fn to_snapshot_json(&self) -> Value {
        let doc = SnapshotDocument {
            api_version: SNAPSHOT_API_VERSION.into(),
            kind: SNAPSHOT_KIND.into(),
            cluster: self.cluster.clone(),
            taken_at: self.taken_at.clone(),
            partial: self.partial.clone(),
            items: self.objects.iter().map(|o| o.value.clone()).collect(),
        };
        serde_json::to_value(doc).unwrap_or(Value::Null)
    }

    /// Writes the snapshot to `path` through a temporary file renamed into place, so a
    /// failed write never leaves half a snapshot under the name.
    pub fn write_snapshot(&self, path: &Path) -> Result<(), SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            serde_json::to_writer(&mut w, &self.to_snapshot_json())
                .map_err(|e| io(std::io::Error::other(e)))?;
            std::io::Write::flush(&mut w).map_err(io)?;
        }
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

/// True for kinds that live in a namespace. Unknown kinds (custom resources) are taken as
/// namespaced, as most are.
pub fn is_namespaced(kind: &str) -> bool {
    !matches!(
        kind,
        "Namespace"
            | "Node"
            | "PersistentVolume"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "StorageClass"
            | "PriorityClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "APIService"
            | "CertificateSigningRequest"
            | "RuntimeClass"
            | "IngressClass"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        Object {
            value,
            origin: Origin {
                file: "t.yaml".into(),
                document: 1,
                item: None,
                helm_source: None,
            },
        }
    }

    #[test]
    fn snapshot_round_trip_keeps_cluster_gaps_and_items() {
        let mut inv = Inventory::new(
            ClusterInfo {
                name: "prod".into(),
                server: "https://10.0.0.1".into(),
                version: Some(ServerVersion {
                    major: "1".into(),
                    minor: "31+".into(),
                    git_version: "v1.31.2-eks-7f9249a".into(),
                    platform: "linux/amd64".into(),
                }),
            },
            vec![
                object(
                    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}}),
                ),
                object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})),
            ],
        );
        inv.taken_at = Some("2026-11-29T12:00:00Z".into());
        inv.partial.push(Gap {
            resource: "secrets".into(),
            namespace: String::new(),
            reason: "forbidden".into(),
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        inv.write_snapshot(&path).unwrap();
        let back = Inventory::read_snapshot(&path).unwrap();
        assert_eq!(back.cluster, inv.cluster);
        assert_eq!(
            back.cluster.version.as_ref().unwrap().minor_number(),
            Some(31)
        );
        assert_eq!(back.taken_at, inv.taken_at);
        assert_eq!(back.partial, inv.partial);
        assert!(back.is_partial());
        assert_eq!(back.of_kind("Pod").count(), 1);
        assert_eq!(back.of_kind("Namespace").next().unwrap().name(), "x");
        assert_eq!(back.of_kind("Pod").next().unwrap().origin.item, Some(1));
        let r = back.resource_ref(back.of_kind("Pod").next().unwrap());
        assert_eq!(r.cluster, "prod");
        assert_eq!(r.namespace, "x");
    }

    #[test]
    fn controlled_objects_stay_undecoded_unless_their_owner_is_missing() {
        let owner = |kind: &str, name: &str, uid: &str| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": true}]);
        let template = json!({"spec": {"containers": [{"name": "c", "image": "x"}]}});
        let doc = json!({
            "apiVersion": SNAPSHOT_API_VERSION, "kind": SNAPSHOT_KIND,
            "items": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a", "uid": "d1"},
                 "spec": {"template": template}},
                {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": "web-1", "namespace": "a", "uid": "r1", "ownerReferences": owner("Deployment", "web", "d1")},
                 "spec": {"template": template}},
                // Owned by the ReplicaSet, itself controlled: judged through the Deployment.
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "web-1-x", "namespace": "a", "ownerReferences": owner("ReplicaSet", "web-1", "r1")},
                 "spec": template["spec"], "status": {"phase": "Running"}},
                // Owned by an operator's resource the snapshot does not hold: kept.
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "db-0", "namespace": "a", "ownerReferences": owner("PostgresCluster", "db", "p1")},
                 "spec": template["spec"], "status": {"phase": "Running"}},
                {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "managedFields": [{"manager": "kubelet"}]},
                 "status": {"nodeInfo": {"kubeletVersion": "v1.31.2"}}},
            ]
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.json");
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let inv = Inventory::read_snapshot(&path).unwrap();
        let names: Vec<&str> = inv.objects.iter().map(Object::name).collect();
        assert_eq!(names, ["web", "db-0", "n1"]);
        assert_eq!(inv.controlled, 2);
        let db = inv.of_kind("Pod").next().unwrap();
        assert!(db.value.get("status").is_none(), "status is dropped");
        assert_eq!(db.origin.item, Some(4));
        let node = inv.of_kind("Node").next().unwrap();
        assert!(
            node.value.get("status").is_some(),
            "a Node keeps its status"
        );
        assert!(node.value["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn bad_snapshots_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        for (body, want) in [
            ("{}", "not a Vigil cluster snapshot"),
            ("[1,2]", "not a Vigil cluster snapshot"),
            (
                r#"{"apiVersion":"v1","kind":"List","items":[]}"#,
                "expected vigil.dev/v1 ClusterSnapshot",
            ),
            (
                r#"{"apiVersion":"vigil.dev/v1","kind":"ClusterSnapshot","items":[{"a":1}]}"#,
                "items[0] is not a Kubernetes object",
            ),
        ] {
            let path = dir.path().join("bad.json");
            std::fs::write(&path, body).unwrap();
            let err = Inventory::read_snapshot(&path).unwrap_err().to_string();
            assert!(err.contains(want), "{body}: {err}");
            assert!(err.contains("bad.json"), "{err}");
        }
    }

    #[test]
    fn manifests_without_namespace_take_the_default_but_cluster_kinds_do_not() {
        let inv = Inventory::from_manifests(
            vec![
                object(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
                ),
                object(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
                ),
            ],
            "team",
        );
        let names: Vec<String> = inv
            .objects
            .iter()
            .map(|o| inv.resource_ref(o).display_name())
            .collect();
        assert_eq!(names, ["Deployment team/web", "ClusterRole r"]);
    }
}
