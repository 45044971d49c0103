//! Effective RBAC permissions: who can do what, where, and through which binding.
//!
//! Resolves every RoleBinding and ClusterRoleBinding in an inventory to the rules of the
//! role it names, with the ClusterRoles an `aggregationRule` selects folded in (a live
//! cluster's controller has already copied them into `rules`; manifests have not), and
//! indexes the result by subject. Matching follows the Kubernetes authorizer
//! (`pkg/apis/rbac/v1/evaluation_helpers.go`): `*` matches any verb, group or resource,
//! `*/sub` any resource's subresource `sub`, and rules limited by `resourceNames` grant
//! only those objects.

use crate::inventory::Inventory;
use crate::manifest::Object;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use vigil_core::ResourceRef;

const RBAC_API: &str = "rbac.authorization.k8s.io/v1";
/// Label the API server puts on the roles and bindings it creates itself.
const BOOTSTRAP_LABEL: &str = "kubernetes.io/bootstrapping";

/// Who a binding grants to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Subject {
    /// A user name.
    User {
        /// The name.
        name: String,
    },
    /// A group name (`system:authenticated`, `system:masters`, ...).
    Group {
        /// The name.
        name: String,
    },
    /// A service account.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl Subject {
    /// `User alice`, `Group system:masters`, `ServiceAccount ns/name`.
    pub fn display_name(&self) -> String {
        match self {
            Subject::User { name } => format!("User {name}"),
            Subject::Group { name } => format!("Group {name}"),
            Subject::ServiceAccount { namespace, name } => {
                format!("ServiceAccount {namespace}/{name}")
            }
        }
    }

    /// How findings name the subject.
    pub fn resource_ref(&self, cluster: &str) -> ResourceRef {
        let (api_version, kind, namespace, name) = match self {
            Subject::User { name } => (RBAC_API, "User", "", name),
            Subject::Group { name } => (RBAC_API, "Group", "", name),
            Subject::ServiceAccount { namespace, name } => {
                ("v1", "ServiceAccount", namespace.as_str(), name)
            }
        };
        ResourceRef {
            cluster: cluster.to_string(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.clone(),
            uid: String::new(),
        }
    }

    /// True for the parts Kubernetes runs itself: `system:` users and groups (nodes,
    /// controllers, `system:masters`) and service accounts in `kube-system`.
    pub fn is_system(&self) -> bool {
        match self {
            Subject::User { name } | Subject::Group { name } => name.starts_with("system:"),
            Subject::ServiceAccount { namespace, .. } => namespace == "kube-system",
        }
    }

    /// The group subjects every anonymous or every authenticated caller belongs to.
    pub fn is_public_group(&self) -> bool {
        matches!(self, Subject::Group { name } if matches!(name.as_str(), "system:anonymous" | "system:unauthenticated" | "system:authenticated"))
            || matches!(self, Subject::User { name } if name == "system:anonymous")
    }
}

/// One RBAC rule (`PolicyRule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    /// Verbs.
    pub verbs: Vec<String>,
    /// API groups (`""` is core).
    pub api_groups: Vec<String>,
    /// Resources, with `res/sub` for subresources.
    pub resources: Vec<String>,
    /// Object names the rule is limited to.
    pub resource_names: Vec<String>,
    /// Non-resource URLs (`/metrics`, `/healthz/*`).
    #[serde(rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    /// True if the rule allows `verb` on `group`/`resource` (`resource` may be `res/sub`),
    /// ignoring `resourceNames` (callers decide whether a rule limited to names counts).
    pub fn allows(&self, verb: &str, group: &str, resource: &str) -> bool {
        has(&self.verbs, verb)
            && has(&self.api_groups, group)
            && resource_matches(&self.resources, resource)
    }

    /// `verbs=[get,list] resources=[secrets]`, for evidence.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("verbs=[{}]", self.verbs.join(","))];
        if !self.api_groups.is_empty() {
            parts.push(format!("apiGroups=[{}]", self.api_groups.join(",")));
        }
        if !self.resources.is_empty() {
            parts.push(format!("resources=[{}]", self.resources.join(",")));
        }
        if !self.resource_names.is_empty() {
            parts.push(format!("resourceNames=[{}]", self.resource_names.join(",")));
        }
        if !self.non_resource_urls.is_empty() {
            parts.push(format!(
                "nonResourceURLs=[{}]",
                self.non_resource_urls.join(",")
            ));
        }
        parts.join(" ")
    }
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|v| v == "*" || v == want)
}

fn resource_matches(list: &[String], want: &str) -> bool {
    let sub = want.split_once('/').map(|(_, s)| s);
    list.iter()
        .any(|r| r == "*" || r == want || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s)))
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    /// Every namespace and cluster-scoped resources (a ClusterRoleBinding).
    Cluster,
    /// One namespace (a RoleBinding).
    Namespace(String),
}

/// One rule granted to a subject, with the binding and role it came through.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// Where it applies.
    pub scope: Scope,
    /// The rule.
    pub rule: Rule,
    /// The binding, e.g. `ClusterRoleBinding ops`.
    pub binding: String,
    /// The role, e.g. `ClusterRole admin`.
    pub role: String,
    /// Index of the rule in the role's `rules` (or in the aggregated role's, named in `role`).
    pub rule_index: usize,
    /// True when both the binding and the role are ones the API server made itself.
    pub bootstrap: bool,
}

impl Grant {
    /// `ClusterRoleBinding ops -> ClusterRole admin rules[2]`.
    pub fn path(&self) -> String {
        format!(
            "{} -> {} rules[{}]",
            self.binding, self.role, self.rule_index
        )
    }

    /// True if this grant lets its subject do `verb` on `group`/`resource` in `namespace`
    /// (`None` = cluster-wide, every namespace), on every object, not only named ones.
    pub fn allows_all(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> bool {
        let in_scope = match (&self.scope, namespace) {
            (Scope::Cluster, _) => true,
            (Scope::Namespace(ns), Some(want)) => ns == want,
            (Scope::Namespace(_), None) => false,
        };
        in_scope && self.rule.resource_names.is_empty() && self.rule.allows(verb, group, resource)
    }
}

/// A role's rules, with the role each came from (aggregated ClusterRoles name theirs).
#[derive(Debug, Clone)]
struct RoleRules {
    rules: Vec<(String, usize, Rule)>,
    bootstrap: bool,
}

/// Every subject's grants.
#[derive(Debug, Default)]
pub struct Permissions {
    by_subject: BTreeMap<Subject, Vec<Grant>>,
}

impl Permissions {
    /// Resolves the bindings of `inv`.
    pub fn resolve(inv: &Inventory) -> Permissions {
        let cluster_roles = cluster_roles(inv);
        let mut roles: HashMap<(&str, &str), RoleRules> = HashMap::new();
        for role in inv.of_kind("Role") {
            roles.insert((inv.namespace_of(role), role.name()), own_rules(role));
        }
        let mut by_subject: BTreeMap<Subject, Vec<Grant>> = BTreeMap::new();
        for kind in ["ClusterRoleBinding", "RoleBinding"] {
            for binding in inv.of_kind(kind) {
                let ns = inv.namespace_of(binding);
                let role_kind = str_at(&binding.value, &["roleRef", "kind"]);
                let role_name = str_at(&binding.value, &["roleRef", "name"]);
                let role = match role_kind {
                    "ClusterRole" => cluster_roles.get(role_name),
                    "Role" if kind == "RoleBinding" => roles.get(&(ns, role_name)),
                    _ => None,
                };
                // A binding to a role that does not exist grants nothing (yet).
                let Some(role) = role else { continue };
                let scope = if kind == "ClusterRoleBinding" {
                    Scope::Cluster
                } else {
                    Scope::Namespace(ns.to_string())
                };
                let binding_name = if kind == "RoleBinding" {
                    format!("RoleBinding {ns}/{}", binding.name())
                } else {
                    format!("ClusterRoleBinding {}", binding.name())
                };
                let bootstrap = role.bootstrap && is_bootstrap(binding);
                for subject in subjects(binding, ns) {
                    let grants = by_subject.entry(subject).or_default();
                    for (role_name, index, rule) in &role.rules {
                        grants.push(Grant {
                            scope: scope.clone(),
                            rule: rule.clone(),
                            binding: binding_name.clone(),
                            role: role_name.clone(),
                            rule_index: *index,
                            bootstrap,
                        });
                    }
                }
            }
        }
        Permissions { by_subject }
    }

    /// Every subject with its grants, in subject order.
    pub fn subjects(&self) -> impl Iterator<Item = (&Subject, &[Grant])> {
        self.by_subject.iter().map(|(s, g)| (s, g.as_slice()))
    }

    /// The grants of `subject`.
    pub fn grants(&self, subject: &Subject) -> &[Grant] {
        self.by_subject
            .get(subject)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The grants by which `subject` can do `verb` on `group`/`resource` on every object in
    /// `namespace` (`None`: everywhere).
    pub fn who_allows<'a>(
        &'a self,
        subject: &Subject,
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Grant> + 'a {
        self.grants(subject)
            .iter()
            .filter(move |g| g.allows_all(verb, group, resource, namespace))
    }

    /// True if `subject` can do anything to anything cluster-wide (`cluster-admin` or an
    /// equivalent wildcard rule).
    pub fn is_cluster_admin(&self, subject: &Subject) -> bool {
        self.grants(subject).iter().any(|g| {
            g.scope == Scope::Cluster
                && g.rule.resource_names.is_empty()
                && g.rule.verbs.iter().any(|v| v == "*")
                && g.rule.api_groups.iter().any(|v| v == "*")
                && g.rule.resources.iter().any(|v| v == "*")
        })
    }
}

/// ClusterRoles by name, with aggregated rules folded in.
fn cluster_roles(inv: &Inventory) -> HashMap<&str, RoleRules> {
    let all: Vec<&Object> = inv.of_kind("ClusterRole").collect();
    let mut out = HashMap::new();
    for role in &all {
        let mut rules = own_rules(role);
        let selectors = role
            .value
            .get("aggregationRule")
            .and_then(|a| a.get("clusterRoleSelectors"))
            .and_then(Value::as_array);
        if let Some(selectors) = selectors {
            for other in &all {
                if other.name() == role.name() || !selectors.iter().any(|s| selects(s, other)) {
                    continue;
                }
                for (_, i, rule) in own_rules(other).rules {
                    // A live cluster has these copied already; keep each rule once.
                    if !rules.rules.iter().any(|(_, _, r)| *r == rule) {
                        rules.rules.push((
                            format!("ClusterRole {} (aggregated)", other.name()),
                            i,
                            rule,
                        ));
                    }
                }
            }
        }
        out.insert(role.name(), rules);
    }
    out
}

fn own_rules(role: &Object) -> RoleRules {
    let label = format!("{} {}", role.kind(), role.name());
    let rules = role
        .value
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, r)| {
            Some((
                label.clone(),
                i,
                serde_json::from_value::<Rule>(r.clone()).ok()?,
            ))
        })
        .collect();
    RoleRules {
        rules,
        bootstrap: is_bootstrap(role),
    }
}

fn is_bootstrap(o: &Object) -> bool {
    str_at(&o.value, &["metadata", "labels", BOOTSTRAP_LABEL]) == "rbac-defaults"
}

/// A label selector (`matchLabels`, `matchExpressions`) against `o`'s labels.
pub fn selects(selector: &Value, o: &Object) -> bool {
    let labels = o.value.get("metadata").and_then(|m| m.get("labels"));
    label_selector_matches(selector, labels)
}

/// A label selector against a label map. An empty selector matches everything.
pub fn label_selector_matches(selector: &Value, labels: Option<&Value>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    if let Some(m) = match_labels
        && !m.iter().all(|(k, v)| label(k) == v.as_str())
    {
        return false;
    }
    let exprs = selector.get("matchExpressions").and_then(Value::as_array);
    exprs.into_iter().flatten().all(|e| {
        let key = str_at(e, &["key"]);
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match str_at(e, &["operator"]) {
            "In" => label(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(key).is_some(),
            "DoesNotExist" => label(key).is_none(),
            _ => false,
        }
    })
}

fn subjects(binding: &Object, binding_ns: &str) -> Vec<Subject> {
    binding
        .value
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let name = str_at(s, &["name"]).to_string();
            if name.is_empty() {
                return None;
            }
            Some(match str_at(s, &["kind"]) {
                "User" => Subject::User { name },
                "Group" => Subject::Group { name },
                "ServiceAccount" => Subject::ServiceAccount {
                    namespace: match str_at(s, &["namespace"]) {
                        "" => binding_ns.to_string(),
                        ns => ns.to_string(),
                    },
                    name,
                },
                _ => return None,
            })
        })
        .collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    crate::workload::str_at(v, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::inventory;

    const RBAC: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}}]
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader, labels: {rbac.example.com/aggregate-to-monitoring: "true"}}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mon}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
subjects: [{kind: ServiceAccount, name: prom, namespace: monitoring}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec, namespace: dev}
rules: [{apiGroups: [""], resources: ["*/exec", pods], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: exec}
subjects: [{kind: Group, name: developers}, {kind: ServiceAccount, name: ci}]
"#;

    #[test]
    fn aggregated_cluster_roles_and_namespaced_bindings() {
        let inv = inventory(RBAC);
        let p = Permissions::resolve(&inv);
        let prom = Subject::ServiceAccount {
            namespace: "monitoring".into(),
            name: "prom".into(),
        };
        let grants: Vec<&Grant> = p.who_allows(&prom, "list", "", "secrets", None).collect();
        assert_eq!(grants.len(), 1);
        assert_eq!(
            grants.first().unwrap().path(),
            "ClusterRoleBinding mon -> ClusterRole secret-reader (aggregated) rules[0]"
        );
        let devs = Subject::Group {
            name: "developers".into(),
        };
        assert_eq!(
            p.who_allows(&devs, "create", "", "pods/exec", Some("dev"))
                .count(),
            1
        );
        assert_eq!(
            p.who_allows(&devs, "create", "", "pods/exec", Some("prod"))
                .count(),
            0
        );
        assert_eq!(
            p.who_allows(&devs, "create", "", "pods/exec", None).count(),
            0
        );
        assert_eq!(
            p.who_allows(&devs, "get", "", "secrets", Some("dev"))
                .count(),
            0
        );
        // A service account subject without a namespace is in the binding's namespace.
        let ci = Subject::ServiceAccount {
            namespace: "dev".into(),
            name: "ci".into(),
        };
        assert_eq!(p.grants(&ci).len(), 1);
        assert!(!p.is_cluster_admin(&ci));
    }

    #[test]
    fn rule_matching_follows_the_authorizer() {
        let rule = Rule {
            verbs: vec!["get".into()],
            api_groups: vec!["".into()],
            resources: vec!["*/status".into(), "pods".into()],
            ..Rule::default()
        };
        assert!(rule.allows("get", "", "pods"));
        assert!(rule.allows("get", "", "nodes/status"));
        assert!(!rule.allows("get", "", "pods/exec"));
        assert!(!rule.allows("get", "apps", "pods"));
        assert!(!rule.allows("list", "", "pods"));
    }

    #[test]
    fn label_selectors() {
        let labels = serde_json::json!({"app": "web", "tier": "front"});
        let sel = |s: serde_json::Value| label_selector_matches(&s, Some(&labels));
        assert!(sel(serde_json::json!({})));
        assert!(sel(serde_json::json!({"matchLabels": {"app": "web"}})));
        assert!(!sel(serde_json::json!({"matchLabels": {"app": "db"}})));
        assert!(sel(
            serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]})
        ));
        assert!(!sel(
            serde_json::json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]})
        ));
        assert!(sel(
            serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]})
        ));
        assert!(!sel(
            serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "Exists"}]})
        ));
    }
}
