//! A Gatekeeper Constraint: which requests a template judges (`spec.match`), with which
//! `parameters`, and what a violation does (`enforcementAction`).

use super::cluster::ClusterData;
use super::template::{Parameters, Template};
use crate::admission::selector::{LabelSelector, name_matches};
use crate::admission::{Action, Operation, Policy, Request, Violation};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Gatekeeper's `match` block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Match {
    /// Groups and kinds; empty matches every kind.
    #[serde(default)]
    pub kinds: Vec<KindMatch>,
    /// `*` (default), `Cluster` or `Namespaced`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Only these namespaces (name globs).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Never these namespaces (name globs).
    #[serde(default)]
    pub excluded_namespaces: Vec<String>,
    /// On the object's labels.
    #[serde(default)]
    pub label_selector: Option<LabelSelector>,
    /// On the labels of the object's namespace.
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    /// The object's name (a name glob).
    #[serde(default)]
    pub name: Option<String>,
    /// `All` (default), `Original` or `Generated` (Gatekeeper's expansion of workloads
    /// into pods; admission requests are always originals).
    #[serde(default)]
    pub source: Option<String>,
}

/// One `kinds` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindMatch {
    /// API groups (`""` is the core group, `*` or none: any).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Kinds (`*` or none: any).
    #[serde(default)]
    pub kinds: Vec<String>,
}

impl Match {
    /// Checks the values Gatekeeper's CRD would refuse.
    pub fn validate(&self) -> Result<(), String> {
        match self.scope.as_deref() {
            None | Some("*" | "Cluster" | "Namespaced") => {}
            Some(s) => return Err(format!("match.scope {s:?} is not *, Cluster or Namespaced")),
        }
        match self.source.as_deref() {
            None | Some("All" | "Original" | "Generated") => {}
            Some(s) => {
                return Err(format!(
                    "match.source {s:?} is not All, Original or Generated"
                ));
            }
        }
        for s in [&self.label_selector, &self.namespace_selector]
            .into_iter()
            .flatten()
        {
            s.validate()?;
        }
        Ok(())
    }

    /// True when the constraint applies to `request`.
    pub fn matches(&self, request: &Request, cluster: &ClusterData) -> bool {
        let is_namespace = request.group.is_empty() && request.kind == "Namespace";
        // A Namespace is matched as if it were inside itself, as Gatekeeper does.
        let namespace = if is_namespace {
            request.name.as_str()
        } else {
            request.namespace.as_str()
        };
        let object = request.object();
        let old = request.old_object();
        fn labels_of(o: Option<&Value>) -> Option<&Map<String, Value>> {
            o.and_then(|o| o.pointer("/metadata/labels"))
                .and_then(Value::as_object)
        }
        self.kinds_match(request)
            // A Namespace is cluster-scoped, though the API server puts its name in the
            // request's namespace (Kubernetes 1.20+).
            && match self.scope.as_deref() {
                Some("Cluster") => is_namespace || request.namespace.is_empty(),
                Some("Namespaced") => !is_namespace && !request.namespace.is_empty(),
                _ => true,
            }
            && (self.namespaces.is_empty()
                || namespace.is_empty()
                || self.namespaces.iter().any(|p| name_matches(p, namespace)))
            && (namespace.is_empty()
                || !self
                    .excluded_namespaces
                    .iter()
                    .any(|p| name_matches(p, namespace)))
            && self
                .name
                .as_deref()
                .is_none_or(|p| name_matches(p, &request.name))
            && self.label_selector.as_ref().is_none_or(|s| {
                // On UPDATE either version of the object may match, so a label change
                // cannot slip an object out of its constraints.
                (object.is_some() && s.matches(labels_of(object)))
                    || (request.operation == Operation::Update
                        && old.is_some()
                        && s.matches(labels_of(old)))
            })
            && self.namespace_selector.as_ref().is_none_or(|s| {
                if is_namespace {
                    s.matches(labels_of(object))
                } else if namespace.is_empty() {
                    true
                } else {
                    s.matches(Some(&cluster.namespace_labels(namespace)))
                }
            })
            && self.source.as_deref() != Some("Generated")
    }

    fn kinds_match(&self, request: &Request) -> bool {
        // An empty list (apiGroups or kinds left out) matches anything, as in Gatekeeper.
        let any_or = |list: &[String], want: &str| {
            list.is_empty() || list.iter().any(|x| x == "*" || x == want)
        };
        self.kinds.is_empty()
            || self
                .kinds
                .iter()
                .any(|k| any_or(&k.api_groups, &request.group) && any_or(&k.kinds, &request.kind))
    }
}

/// A loaded Constraint.
pub struct Constraint {
    name: String,
    template: Arc<Template>,
    matcher: Match,
    parameters: Parameters,
    action: Action,
    cluster: Arc<ClusterData>,
}

/// The enforcement point Vigil's webhook answers for in `scopedEnforcementActions`
/// (Gatekeeper's own name, so constraints written for Gatekeeper keep their meaning).
const ENFORCEMENT_POINT: &str = "validation.gatekeeper.sh";

impl Constraint {
    /// Builds a Constraint object for `template`.
    pub fn new(
        object: &Value,
        template: Arc<Template>,
        cluster: Arc<ClusterData>,
    ) -> Result<Constraint, String> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("metadata.name is missing")?
            .to_string();
        let spec = object.get("spec").cloned().unwrap_or(Value::Null);
        let matcher: Match = match spec.get("match") {
            None | Some(Value::Null) => Match::default(),
            Some(m) => Match::deserialize(m).map_err(|e| format!("spec.match: {e}"))?,
        };
        matcher.validate()?;
        let parameters = match spec.get("parameters") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(p @ Value::Object(_)) => p.clone(),
            Some(_) => return Err("spec.parameters is not an object".into()),
        };
        template.check_parameters(&parameters)?;
        let action = enforcement_action(&spec)?;
        Ok(Constraint {
            name,
            template,
            matcher,
            parameters: Parameters::new(parameters),
            action,
            cluster,
        })
    }
}

/// `spec.enforcementAction`, with `scoped` resolved for the admission webhook: the
/// strongest action whose enforcement points include the webhook (or `*`).
fn enforcement_action(spec: &Value) -> Result<Action, String> {
    let action = spec
        .get("enforcementAction")
        .and_then(Value::as_str)
        .unwrap_or("deny");
    if !action.eq_ignore_ascii_case("scoped") {
        return action.parse();
    }
    let mut actions = Vec::new();
    for scoped in spec
        .get("scopedEnforcementActions")
        .and_then(Value::as_array)
        .ok_or("enforcementAction scoped needs scopedEnforcementActions")?
    {
        let action: Action = scoped
            .get("action")
            .and_then(Value::as_str)
            .ok_or("scopedEnforcementActions[].action is missing")?
            .parse()?;
        let points = scoped.get("enforcementPoints").and_then(Value::as_array);
        if points.into_iter().flatten().any(|p| {
            matches!(
                p.get("name").and_then(Value::as_str),
                Some("*" | ENFORCEMENT_POINT)
            )
        }) {
            actions.push(action);
        }
    }
    actions
        .into_iter()
        .min()
        .ok_or_else(|| format!("no scopedEnforcementActions entry names {ENFORCEMENT_POINT}"))
}

impl Policy for Constraint {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        &self.template.kind
    }

    fn evaluate(&self, request: &Request) -> Result<Vec<Violation>, String> {
        if !self.matcher.matches(request, &self.cluster) {
            return Ok(Vec::new());
        }
        let found = self.template.violations(request, &self.parameters)?;
        Ok(found
            .into_iter()
            .map(|(message, details)| Violation {
                policy: self.name.clone(),
                kind: self.template.kind.clone(),
                action: self.action,
                message,
                details,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(kind: &str, group: &str, ns: &str, name: &str, labels: Value) -> Request {
        let body = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u", "kind": {"group": group, "version": "v1", "kind": kind},
                "operation": "CREATE", "namespace": ns, "name": name,
                "object": {"metadata": {"name": name, "labels": labels}}
            }
        });
        Request::from_review(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    fn matcher(v: Value) -> Match {
        let m: Match = serde_json::from_value(v).unwrap();
        m.validate().unwrap();
        m
    }

    #[test]
    fn match_follows_gatekeeper() {
        let cluster = ClusterData::default();
        let pod = request("Pod", "", "prod", "web-1", json!({"app": "web"}));
        let ns = request("Namespace", "", "", "prod", json!({"env": "prod"}));
        let role = request(
            "ClusterRole",
            "rbac.authorization.k8s.io",
            "",
            "admin",
            json!({}),
        );
        assert!(Match::default().matches(&pod, &cluster));
        let kinds = matcher(json!({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}));
        assert!(kinds.matches(&pod, &cluster));
        assert!(!kinds.matches(&role, &cluster));
        assert!(
            matcher(json!({"kinds": [{"apiGroups": ["*"], "kinds": ["ClusterRole"]}]}))
                .matches(&role, &cluster)
        );
        assert!(matcher(json!({"scope": "Cluster"})).matches(&role, &cluster));
        assert!(!matcher(json!({"scope": "Cluster"})).matches(&pod, &cluster));
        let only = matcher(json!({"namespaces": ["pro*"]}));
        assert!(only.matches(&pod, &cluster));
        assert!(only.matches(&ns, &cluster), "a Namespace is inside itself");
        assert!(
            only.matches(&role, &cluster),
            "cluster-scoped objects pass namespace filters"
        );
        assert!(!matcher(json!({"excludedNamespaces": ["prod"]})).matches(&pod, &cluster));
        assert!(!matcher(json!({"excludedNamespaces": ["prod"]})).matches(&ns, &cluster));
        assert!(matcher(json!({"name": "web-*"})).matches(&pod, &cluster));
        assert!(!matcher(json!({"name": "db-*"})).matches(&pod, &cluster));
        assert!(
            matcher(json!({"labelSelector": {"matchLabels": {"app": "web"}}}))
                .matches(&pod, &cluster)
        );
        assert!(
            !matcher(json!({"labelSelector": {"matchLabels": {"app": "db"}}}))
                .matches(&pod, &cluster)
        );
        assert!(
            matcher(json!({"namespaceSelector": {"matchLabels": {"env": "prod"}}}))
                .matches(&ns, &cluster)
        );
        // The namespace's own name label is known even when the namespace is not.
        let by_name = matcher(
            json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "prod"}}}),
        );
        assert!(by_name.matches(&pod, &cluster));
        assert!(!matcher(json!({"source": "Generated"})).matches(&pod, &cluster));
        assert!(serde_json::from_value::<Match>(json!({"excludeNamespaces": []})).is_err());
        assert!(matcher_err(json!({"scope": "Everywhere"})));
    }

    #[test]
    fn kinds_entries_without_groups_or_kinds_match_any() {
        let cluster = ClusterData::default();
        let pod = request("Pod", "", "prod", "web-1", json!({}));
        let deploy = request("Deployment", "apps", "prod", "web", json!({}));
        let kinds_only = matcher(json!({"kinds": [{"kinds": ["Deployment"]}]}));
        assert!(kinds_only.matches(&deploy, &cluster));
        assert!(!kinds_only.matches(&pod, &cluster));
        let groups_only = matcher(json!({"kinds": [{"apiGroups": ["apps"]}]}));
        assert!(groups_only.matches(&deploy, &cluster));
        assert!(!groups_only.matches(&pod, &cluster));
        assert!(matcher(json!({"kinds": [{}]})).matches(&pod, &cluster));
    }

    #[test]
    fn a_namespace_is_cluster_scoped_even_with_its_name_as_request_namespace() {
        let cluster = ClusterData::default();
        // What the API server sends since Kubernetes 1.20: namespace = the name.
        let body = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Namespace"},
                "operation": "CREATE", "namespace": "prod", "name": "prod",
                "object": {"metadata": {"name": "prod"}}
            }
        });
        let ns = Request::from_review(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert!(matcher(json!({"scope": "Cluster"})).matches(&ns, &cluster));
        assert!(!matcher(json!({"scope": "Namespaced"})).matches(&ns, &cluster));
        let created = request("Namespace", "", "", "prod", json!({}));
        assert!(matcher(json!({"scope": "Cluster"})).matches(&created, &cluster));
        assert!(!matcher(json!({"scope": "Namespaced"})).matches(&created, &cluster));
    }

    fn matcher_err(v: Value) -> bool {
        serde_json::from_value::<Match>(v)
            .unwrap()
            .validate()
            .is_err()
    }

    #[test]
    fn enforcement_actions_resolve_for_the_webhook() {
        assert_eq!(enforcement_action(&json!({})).unwrap(), Action::Deny);
        assert_eq!(
            enforcement_action(&json!({"enforcementAction": "warn"})).unwrap(),
            Action::Warn
        );
        assert_eq!(
            enforcement_action(&json!({"enforcementAction": "dryrun"})).unwrap(),
            Action::Dryrun
        );
        assert!(enforcement_action(&json!({"enforcementAction": "block"})).is_err());
        let scoped = json!({"enforcementAction": "scoped", "scopedEnforcementActions": [
            {"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]},
            {"action": "deny", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}
        ]});
        assert_eq!(enforcement_action(&scoped).unwrap(), Action::Warn);
    }
}
