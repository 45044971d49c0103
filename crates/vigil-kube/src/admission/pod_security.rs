//! The Pod Security Standards as an admission policy: the checks of [`crate::pss`] (the
//! ones `vigil k8s pss` runs), applied the way pod-security-admission applies them.
//!
//! Pods are judged with the configured action; workloads that carry a pod template
//! (Deployment, CronJob, ...) only ever get a warning, because the pods they create are
//! judged when they are created — upstream's behaviour, which keeps a controller from
//! being blocked on an update that does not touch its pods.

use crate::admission::selector::name_matches;
use crate::admission::{Action, Operation, Policy, Request, Violation};
use crate::manifest::{Object, Origin};
use crate::pss::{self, Level, Version};
use serde_json::json;

/// The built-in Pod Security policy.
pub struct PodSecurity {
    level: Level,
    version: Version,
    action: Action,
    exempt_namespaces: Vec<String>,
    name: String,
}

impl PodSecurity {
    /// Enforces `level` at `version`; violations by pods take `action`. Namespaces
    /// matching `exempt_namespaces` (name globs) are not judged.
    pub fn new(
        level: Level,
        version: Version,
        action: Action,
        exempt_namespaces: Vec<String>,
    ) -> PodSecurity {
        PodSecurity {
            level,
            version,
            action,
            exempt_namespaces,
            name: format!("pod-security-{level}"),
        }
    }
}

impl Policy for PodSecurity {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &str {
        "PodSecurity"
    }

    fn evaluate(&self, request: &Request) -> Result<Vec<Violation>, String> {
        let judged_subresource = request.sub_resource.is_empty()
            || (request.kind == "Pod" && request.sub_resource == "ephemeralcontainers");
        if !matches!(request.operation, Operation::Create | Operation::Update)
            || !judged_subresource
            || !request.group.is_empty() && !matches!(request.group.as_str(), "apps" | "batch")
            || self
                .exempt_namespaces
                .iter()
                .any(|p| name_matches(p, &request.namespace))
        {
            return Ok(Vec::new());
        }
        let Some(object) = request.object() else {
            return Ok(Vec::new());
        };
        let object = Object {
            value: object.clone(),
            origin: Origin {
                file: "admission-request".into(),
                document: 1,
                item: None,
                helm_source: None,
            },
        };
        let Some(evaluation) =
            pss::evaluate_object(&object, self.level, self.version, &request.namespace)?
        else {
            return Ok(Vec::new());
        };
        if evaluation.allowed() {
            return Ok(Vec::new());
        }
        let action = if request.kind == "Pod" {
            self.action
        } else {
            Action::Warn.max(self.action)
        };
        let details: Vec<_> = evaluation
            .violations
            .iter()
            .map(|v| json!({"check": v.check, "reason": v.reason, "detail": v.detail}))
            .collect();
        Ok(vec![Violation {
            policy: self.name.clone(),
            kind: "PodSecurity".into(),
            action,
            message: evaluation.verdict(),
            details: json!(details),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn review(kind: &str, group: &str, op: &str, object: Value) -> Request {
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u", "kind": {"group": group, "version": "v1", "kind": kind},
            "operation": op, "namespace": "apps", "name": "x", "object": object}});
        Request::from_review(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    fn privileged_pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
               "spec": {"containers": [{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]}})
    }

    #[test]
    fn pods_take_the_action_and_workloads_are_warned() {
        let policy = PodSecurity::new(
            Level::Baseline,
            Version::Latest,
            Action::Deny,
            vec!["kube-*".into()],
        );
        let v = policy
            .evaluate(&review("Pod", "", "CREATE", privileged_pod()))
            .unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].action, Action::Deny);
        assert!(
            v[0].message
                .starts_with("violates PodSecurity \"baseline:latest\": privileged"),
            "{}",
            v[0].message
        );
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"metadata": {}, "spec": privileged_pod()["spec"]}}});
        let v = policy
            .evaluate(&review("Deployment", "apps", "CREATE", deployment))
            .unwrap();
        assert_eq!(v[0].action, Action::Warn);
        assert!(
            policy
                .evaluate(&review("Pod", "", "DELETE", privileged_pod()))
                .unwrap()
                .is_empty()
        );
        let fine = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}});
        assert!(
            policy
                .evaluate(&review("Pod", "", "CREATE", fine))
                .unwrap()
                .is_empty()
        );
    }
}
