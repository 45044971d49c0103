//! The objects that give Vigil read access to a cluster: a ClusterRole derived from
//! [`RESOURCES`] (so it asks for exactly what the lister reads), a ClusterRoleBinding to
//! Vigil's service account, and for `vigil k8s connect` the namespace and the account.

use super::resources::{NON_RESOURCE_URLS, RESOURCES};
use serde_json::{Value, json};

/// Name of the ClusterRole and of its ClusterRoleBinding.
pub const ROLE_NAME: &str = "vigil-reader";

fn labels() -> Value {
    json!({"app.kubernetes.io/name": "vigil", "app.kubernetes.io/component": "posture-reader"})
}

/// The read-only ClusterRole: `get`/`list` on every resource read (`list` only for
/// Secrets, read metadata-only), `get` on `/version`. One rule per API group and verb set,
/// in table order.
pub fn cluster_role() -> Value {
    let mut rules: Vec<(&str, &[&str], Vec<&str>)> = Vec::new();
    for r in RESOURCES {
        match rules
            .iter_mut()
            .find(|(g, v, _)| *g == r.group && *v == r.verbs())
        {
            Some((_, _, plurals)) => plurals.push(&r.plural),
            None => rules.push((&r.group, r.verbs(), vec![&r.plural])),
        }
    }
    let mut rules: Vec<Value> = rules
        .into_iter()
        .map(|(g, verbs, plurals)| json!({"apiGroups": [g], "resources": plurals, "verbs": verbs}))
        .collect();
    rules.push(json!({"nonResourceURLs": NON_RESOURCE_URLS, "verbs": ["get"]}));
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": ROLE_NAME, "labels": labels()},
        "rules": rules,
    })
}

/// The ClusterRoleBinding of [`cluster_role`] to `namespace/service_account`.
pub fn cluster_role_binding(namespace: &str, service_account: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": ROLE_NAME, "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ROLE_NAME},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    })
}

/// What `vigil k8s rbac` prints: the ClusterRole and its binding.
pub fn rbac_objects(namespace: &str, service_account: &str) -> Vec<Value> {
    vec![
        cluster_role(),
        cluster_role_binding(namespace, service_account),
    ]
}

/// What `vigil k8s connect` creates: the namespace, the service account, the ClusterRole
/// and its binding, in an order that applies cleanly.
pub fn connect_objects(namespace: &str, service_account: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": namespace, "labels": labels()}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": service_account, "namespace": namespace, "labels": labels()}}),
        cluster_role(),
        cluster_role_binding(namespace, service_account),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_covers_exactly_the_listed_resources() {
        let role = cluster_role();
        let rules = role["rules"].as_array().unwrap();
        for r in RESOURCES {
            let rule = rules
                .iter()
                .find(|rule| {
                    rule["apiGroups"][0] == *r.group
                        && rule["resources"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|p| *p == *r.plural)
                })
                .unwrap_or_else(|| panic!("{} missing", r.name()));
            let verbs: Vec<&str> = rule["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(verbs, r.verbs(), "{}", r.name());
        }
        let granted: usize = rules
            .iter()
            .filter_map(|r| r["resources"].as_array())
            .map(Vec::len)
            .sum();
        assert_eq!(granted, RESOURCES.len());
        let secrets = rules
            .iter()
            .find(|r| {
                r["resources"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p == "secrets"))
            })
            .unwrap();
        assert_eq!(secrets["verbs"], json!(["list"]));
        assert_eq!(secrets["resources"], json!(["secrets"]));
        assert_eq!(
            rules.last().unwrap(),
            &json!({"nonResourceURLs": ["/version"], "verbs": ["get"]})
        );
        assert!(!role.to_string().contains('*'));
    }
}
