//! Kubernetes label selectors and Gatekeeper's name globs, as constraints' `match` uses them.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A `metav1.LabelSelector`: every `matchLabels` pair and every expression must hold.
/// An empty selector matches everything, as in Kubernetes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Labels that must be present with these values.
    #[serde(default)]
    pub match_labels: std::collections::BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: SelectorOp,
    /// The values for `In` and `NotIn`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A `matchExpressions` operator.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum SelectorOp {
    /// The label is one of the values.
    In,
    /// The label is absent or none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl LabelSelector {
    /// Checks the selector's own consistency, as the API server does when it stores one.
    pub fn validate(&self) -> Result<(), String> {
        for r in &self.match_expressions {
            match r.operator {
                SelectorOp::In | SelectorOp::NotIn if r.values.is_empty() => {
                    return Err(format!(
                        "matchExpressions key {:?}: values must be non-empty for {:?}",
                        r.key, r.operator
                    ));
                }
                SelectorOp::Exists | SelectorOp::DoesNotExist if !r.values.is_empty() => {
                    return Err(format!(
                        "matchExpressions key {:?}: values must be empty for {:?}",
                        r.key, r.operator
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// True when `labels` (an object's `metadata.labels`, absent = none) satisfy the selector.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.match_labels
            .iter()
            .all(|(k, v)| get(k) == Some(v.as_str()))
            && self.match_expressions.iter().all(|r| {
                let value = get(&r.key);
                match r.operator {
                    SelectorOp::In => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                    SelectorOp::NotIn => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                    SelectorOp::Exists => value.is_some(),
                    SelectorOp::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// Gatekeeper's wildcard for namespace and object names: a `*` at the start, the end, or
/// both (`kube-*`, `*-system`, `*gatekeeper*`); any other pattern matches itself only.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let (leading, rest) = match pattern.strip_prefix('*') {
        Some(r) => (true, r),
        None => (false, pattern),
    };
    let (trailing, core) = match rest.strip_suffix('*') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    match (leading, trailing) {
        (false, false) => name == core,
        (false, true) => name.starts_with(core),
        (true, false) => name.ends_with(core),
        (true, true) => name.contains(core),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selector(v: Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let labels = json!({"app": "web", "tier": "front"});
        let labels = labels.as_object();
        assert!(LabelSelector::default().matches(None));
        assert!(selector(json!({"matchLabels": {"app": "web"}})).matches(labels));
        assert!(!selector(json!({"matchLabels": {"app": "db"}})).matches(labels));
        let expr = |op: &str, values: &[&str]| {
            selector(
                json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]}),
            )
        };
        assert!(expr("In", &["front", "back"]).matches(labels));
        assert!(!expr("In", &["back"]).matches(labels));
        assert!(expr("NotIn", &["back"]).matches(labels));
        assert!(expr("NotIn", &["back"]).matches(None));
        assert!(expr("Exists", &[]).matches(labels));
        assert!(!expr("DoesNotExist", &[]).matches(labels));
        assert!(expr("In", &[]).validate().is_err());
        assert!(expr("Exists", &["x"]).validate().is_err());
        assert!(serde_json::from_value::<LabelSelector>(json!({"matchLabel": {}})).is_err());
    }

    #[test]
    fn name_globs_take_a_star_at_either_end() {
        assert!(name_matches("kube-*", "kube-system"));
        assert!(!name_matches("kube-*", "my-kube-system"));
        assert!(name_matches("*-system", "kube-system"));
        assert!(name_matches("*gate*", "gatekeeper-system"));
        assert!(name_matches("prod", "prod"));
        assert!(!name_matches("prod", "production"));
        assert!(name_matches("*", "anything"));
    }
}
