//! The resources Vigil reads from a cluster: one table that the lister walks and that
//! `vigil k8s rbac` turns into the ClusterRole, so the permissions asked for and the
//! requests made cannot drift apart.

use std::borrow::Cow;

/// What the lister keeps of a resource's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The whole object (minus `metadata.managedFields`).
    All,
    /// Metadata only, fetched with a metadata-only request: the values never leave the
    /// API server. Used for Secrets.
    MetadataOnly,
    /// The object with every `data`/`binaryData` value replaced by an empty string: names
    /// and keys stay visible to checks, values are never stored. Used for ConfigMaps.
    KeysOnly,
}

/// One resource type listed cluster-wide. The names are borrowed for the fixed table and
/// owned for resources found at run time (Gatekeeper's constraint kinds, one per template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group; empty for the core group.
    pub group: Cow<'static, str>,
    /// API version within the group.
    pub version: Cow<'static, str>,
    /// Plural resource name, as in URLs and RBAC rules.
    pub plural: Cow<'static, str>,
    /// The `kind` of its objects (list items carry none, so the lister sets it).
    pub kind: Cow<'static, str>,
    /// What is kept of each object.
    pub keep: Keep,
}

impl Resource {
    /// A resource whose objects are kept whole.
    pub fn new(
        group: impl Into<Cow<'static, str>>,
        version: impl Into<Cow<'static, str>>,
        plural: impl Into<Cow<'static, str>>,
        kind: impl Into<Cow<'static, str>>,
    ) -> Resource {
        Resource {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            kind: kind.into(),
            keep: Keep::All,
        }
    }

    /// `apiVersion` of the objects, e.g. `v1`, `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// URL path of the cluster-wide collection, e.g. `/api/v1/pods`, `/apis/apps/v1/deployments`.
    pub fn path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}/{}", self.version, self.plural)
        } else {
            format!("/apis/{}/{}/{}", self.group, self.version, self.plural)
        }
    }

    /// The name gaps and errors use: the plural, with the group when not core
    /// (`secrets`, `clusterroles.rbac.authorization.k8s.io`), as kubectl spells it.
    pub fn name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The RBAC verbs reading this resource needs: `list` is enough for metadata-only
    /// lists, and Vigil never gets one Secret by name.
    pub fn verbs(&self) -> &'static [&'static str] {
        match self.keep {
            Keep::MetadataOnly => &["list"],
            Keep::All | Keep::KeysOnly => &["get", "list"],
        }
    }
}

const fn r(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
) -> Resource {
    keep(group, version, plural, kind, Keep::All)
}

const fn keep(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    keep: Keep,
) -> Resource {
    Resource {
        group: Cow::Borrowed(group),
        version: Cow::Borrowed(version),
        plural: Cow::Borrowed(plural),
        kind: Cow::Borrowed(kind),
        keep,
    }
}

/// Every resource a snapshot reads, in the order read.
pub const RESOURCES: &[Resource] = &[
    r("", "v1", "namespaces", "Namespace"),
    r("", "v1", "nodes", "Node"),
    r("", "v1", "pods", "Pod"),
    r("apps", "v1", "deployments", "Deployment"),
    r("apps", "v1", "statefulsets", "StatefulSet"),
    r("apps", "v1", "daemonsets", "DaemonSet"),
    r("apps", "v1", "replicasets", "ReplicaSet"),
    r("batch", "v1", "jobs", "Job"),
    r("batch", "v1", "cronjobs", "CronJob"),
    r("", "v1", "services", "Service"),
    r("networking.k8s.io", "v1", "ingresses", "Ingress"),
    r(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
    ),
    r("", "v1", "serviceaccounts", "ServiceAccount"),
    r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
    ),
    keep("", "v1", "configmaps", "ConfigMap", Keep::KeysOnly),
    keep("", "v1", "secrets", "Secret", Keep::MetadataOnly),
    r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
    ),
    r(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
    ),
];

/// Non-resource URLs read (`GET`), for the ClusterRole.
pub const NON_RESOURCE_URLS: &[&str] = &["/version"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names_follow_the_api_conventions() {
        let pods = RESOURCES.iter().find(|r| r.kind == "Pod").unwrap();
        assert_eq!(pods.path(), "/api/v1/pods");
        assert_eq!(pods.api_version(), "v1");
        assert_eq!(pods.name(), "pods");
        let ing = RESOURCES.iter().find(|r| r.kind == "Ingress").unwrap();
        assert_eq!(ing.path(), "/apis/networking.k8s.io/v1/ingresses");
        assert_eq!(ing.api_version(), "networking.k8s.io/v1");
        assert_eq!(ing.name(), "ingresses.networking.k8s.io");
        let secrets = RESOURCES.iter().find(|r| r.kind == "Secret").unwrap();
        assert_eq!(secrets.keep, Keep::MetadataOnly);
        assert_eq!(secrets.verbs(), ["list"]);
        assert_eq!(RESOURCES.len(), 21);
    }
}
