//! Gatekeeper's policies in a live cluster, for a webhook that enforces what the cluster
//! declares: every ConstraintTemplate, every Constraint of the kinds the templates define,
//! and the objects Gatekeeper's sync configuration puts in `data.inventory`.
//!
//! Gatekeeper makes one CRD per template, named after `spec.crd.spec.names.kind`, in the
//! group `constraints.gatekeeper.sh` with the kind in lower case as its plural; that is
//! where each template's constraints are listed. What is synced comes from the `Config`
//! objects (`config.gatekeeper.sh/v1alpha1`, `spec.sync.syncOnly`) and `SyncSet`s
//! (`syncset.gatekeeper.sh/v1alpha1`, `spec.gvks`); Namespaces are always read, since
//! `namespaceSelector` needs their labels. A synced kind outside Vigil's resource table
//! (whose plural, and so whose URL, Vigil does not know) is a gap, as is a resource the
//! identity may not list; a template whose constraint CRD is not served yet has none.

use super::list::{Listed, list};
use super::resources::{RESOURCES, Resource};
use super::{Connection, LiveError, SnapshotOptions};
use crate::inventory::Gap;
use crate::manifest::Object;
use serde_json::Value;

/// What [`gatekeeper`] read.
#[derive(Debug, Default)]
pub struct GatekeeperObjects {
    /// ConstraintTemplates, then the Constraints of each, in the order read.
    pub policies: Vec<Object>,
    /// Namespaces and the synced kinds' objects, for `data.inventory`.
    pub inventory: Vec<Object>,
    /// What could not be read, and why.
    pub gaps: Vec<Gap>,
}

/// The API group of the constraint CRDs Gatekeeper generates.
pub const CONSTRAINTS_GROUP: &str = "constraints.gatekeeper.sh";

/// Most constraint kinds listed (one list request each).
const MAX_TEMPLATES: usize = 1000;

fn templates() -> Resource {
    Resource::new(
        "templates.gatekeeper.sh",
        "v1",
        "constrainttemplates",
        "ConstraintTemplate",
    )
}

/// Reads the policies and synced data of the cluster `conn` points at.
pub async fn gatekeeper(
    conn: &Connection,
    opts: &SnapshotOptions,
) -> Result<GatekeeperObjects, LiveError> {
    let mut opts = opts.clone();
    opts.page_size = opts.page_size.clamp(1, super::MAX_PAGE_SIZE);
    let mut reader = Reader {
        conn,
        opts: &opts,
        gaps: Vec::new(),
    };
    let mut policies = reader.read(&templates()).await?;
    let mut kinds: Vec<String> = policies.iter().filter_map(constraint_kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds.truncate(MAX_TEMPLATES);
    for kind in kinds {
        let plural = kind.to_ascii_lowercase();
        let resource = Resource::new(CONSTRAINTS_GROUP, "v1beta1", plural, kind);
        policies.extend(reader.read(&resource).await?);
    }
    let mut synced = Vec::new();
    for config in [
        Resource::new("config.gatekeeper.sh", "v1alpha1", "configs", "Config"),
        Resource::new("syncset.gatekeeper.sh", "v1alpha1", "syncsets", "SyncSet"),
    ] {
        // Either CRD may be absent (SyncSets are recent, Config optional): not a gap.
        for object in reader.read_optional(&config).await? {
            synced.extend(synced_kinds(&object));
        }
    }
    let mut inventory = Vec::new();
    for resource in RESOURCES {
        let wanted = resource.kind == "Namespace"
            || synced
                .iter()
                .any(|(group, kind)| *group == resource.group && *kind == resource.kind);
        if wanted {
            inventory.extend(reader.read(resource).await?);
        }
    }
    for (group, kind) in synced {
        let known = RESOURCES
            .iter()
            .any(|r| r.group == group.as_str() && r.kind == kind.as_str());
        if !known {
            reader.gaps.push(Gap {
                resource: if group.is_empty() {
                    kind.clone()
                } else {
                    format!("{kind}.{group}")
                },
                namespace: String::new(),
                reason: "synced by Gatekeeper's configuration, but not a kind Vigil reads; \
                         templates see no such objects in data.inventory"
                    .into(),
            });
        }
    }
    Ok(GatekeeperObjects {
        policies,
        inventory,
        gaps: reader.gaps,
    })
}

/// Lists resources for [`gatekeeper`], collecting gaps.
struct Reader<'a> {
    conn: &'a Connection,
    opts: &'a SnapshotOptions,
    gaps: Vec<Gap>,
}

impl Reader<'_> {
    /// Every object of `resource`; none (and a gap) when it cannot be listed.
    async fn read(&mut self, resource: &Resource) -> Result<Vec<Object>, LiveError> {
        self.read_listed(resource, true).await
    }

    /// [`Reader::read`], where a resource the server does not serve is no gap.
    async fn read_optional(&mut self, resource: &Resource) -> Result<Vec<Object>, LiveError> {
        self.read_listed(resource, false).await
    }

    async fn read_listed(
        &mut self,
        resource: &Resource,
        must_be_served: bool,
    ) -> Result<Vec<Object>, LiveError> {
        let server = self.conn.cluster.server.as_str();
        let mut values = Vec::new();
        let gap = match list(&self.conn.client, server, resource, self.opts, &mut values).await? {
            Listed::Complete => None,
            Listed::NotServed(_) if !must_be_served => return Ok(Vec::new()),
            Listed::Gap(gap) | Listed::NotServed(gap) => Some(gap),
        };
        if let Some(gap) = gap {
            tracing::debug!(resource = %gap.resource, reason = %gap.reason, "not read");
            self.gaps.push(gap);
            return Ok(Vec::new());
        }
        let file = format!("{} {}", self.conn.cluster.name, resource.name());
        Ok(super::listed_objects(values, &file))
    }
}

/// The constraint kind a ConstraintTemplate defines.
fn constraint_kind(template: &Object) -> Option<String> {
    let kind = template
        .value
        .pointer("/spec/crd/spec/names/kind")?
        .as_str()?;
    // A kind is a DNS-label-like identifier; anything else cannot name a CRD.
    let valid =
        !kind.is_empty() && kind.len() <= 63 && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| kind.to_string())
}

/// The (group, kind) pairs a `Config` (`spec.sync.syncOnly`) or `SyncSet` (`spec.gvks`)
/// asks Gatekeeper to sync.
fn synced_kinds(object: &Object) -> Vec<(String, String)> {
    let entries = object
        .value
        .pointer("/spec/sync/syncOnly")
        .or_else(|| object.value.pointer("/spec/gvks"))
        .and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
            let kind = text("kind");
            (!kind.is_empty()).then(|| (text("group").to_string(), kind.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Origin;
    use serde_json::json;

    fn object(value: Value) -> Object {
        Object {
            value,
            origin: Origin {
                file: "t".into(),
                document: 1,
                item: None,
                helm_source: None,
            },
        }
    }

    #[test]
    fn a_template_names_its_constraint_kind() {
        let t =
            object(json!({"spec": {"crd": {"spec": {"names": {"kind": "K8sRequiredLabels"}}}}}));
        assert_eq!(constraint_kind(&t).as_deref(), Some("K8sRequiredLabels"));
        let bad = object(json!({"spec": {"crd": {"spec": {"names": {"kind": "../x"}}}}}));
        assert_eq!(constraint_kind(&bad), None);
        assert_eq!(constraint_kind(&object(json!({}))), None);
    }

    #[test]
    fn config_and_syncset_name_the_synced_kinds() {
        let config = object(json!({"spec": {"sync": {"syncOnly": [
            {"group": "", "version": "v1", "kind": "Namespace"},
            {"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"},
            {"group": "x"}]}}}));
        assert_eq!(
            synced_kinds(&config),
            [
                ("".to_string(), "Namespace".to_string()),
                ("networking.k8s.io".into(), "Ingress".into())
            ]
        );
        let syncset =
            object(json!({"spec": {"gvks": [{"group": "", "version": "v1", "kind": "Service"}]}}));
        assert_eq!(synced_kinds(&syncset), [("".into(), "Service".into())]);
    }
}
