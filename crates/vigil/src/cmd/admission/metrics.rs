//! The webhook's Prometheus metrics: requests by decision, latency, violations by policy,
//! policy failures, and reloads.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;
use vigil_kube::admission::{Action, Decision, Request};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    kind: String,
    /// `allowed`, `denied`, or `rejected` (malformed, oversized).
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    policy: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    policy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: String,
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histogram,
    violations: Family<PolicyLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    policies: Gauge,
    load_errors: Gauge,
}

impl Metrics {
    /// Registers the metrics under the `vigil_admission` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vigil_admission");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Admission requests answered, by operation, kind and decision",
            requests.clone(),
        );
        // 0.1 ms .. ~3.3 s: policy evaluation is sub-millisecond; the tail is what matters.
        let latency = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.0001, 2.0, 16,
        ));
        registry.register(
            "request_duration_seconds",
            "Time from a whole request body to its answer",
            latency.clone(),
        );
        let violations = Family::<PolicyLabels, Counter>::default();
        registry.register(
            "violations",
            "Violations found, by policy and enforcement action",
            violations.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "policy_failures",
            "Policies that could not judge a request (error or time limit)",
            failures.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "reloads",
            "Policy reloads after a file changed, by result",
            reloads.clone(),
        );
        let policies = Gauge::default();
        registry.register("policies", "Policies in force", policies.clone());
        let load_errors = Gauge::default();
        registry.register(
            "policy_load_errors",
            "Templates and constraints that did not load at the last (re)load",
            load_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            violations,
            failures,
            reloads,
            policies,
            load_errors,
        }
    }

    /// Counts one judged request.
    pub fn judged(&self, request: &Request, decision: &Decision, allowed: bool, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: request.operation.as_str().into(),
                kind: request.kind.clone(),
                decision: if allowed { "allowed" } else { "denied" }.into(),
            })
            .inc();
        self.latency.observe(took.as_secs_f64());
        for v in &decision.violations {
            self.violation(&v.policy, v.action);
        }
        for f in &decision.failures {
            self.failures
                .get_or_create(&FailureLabels {
                    policy: f.policy.clone(),
                })
                .inc();
        }
    }

    fn violation(&self, policy: &str, action: Action) {
        self.violations
            .get_or_create(&PolicyLabels {
                policy: policy.into(),
                action: action.as_str().into(),
            })
            .inc();
    }

    /// Counts a request refused before judging (malformed, oversized, wrong method).
    pub fn rejected(&self) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: String::new(),
                kind: String::new(),
                decision: "rejected".into(),
            })
            .inc();
    }

    /// Records a (re)load.
    pub fn loaded(&self, policies: usize, errors: usize, reload: Option<bool>) {
        self.policies.set(policies as i64);
        self.load_errors.set(errors as i64);
        if let Some(ok) = reload {
            self.reloads
                .get_or_create(&ReloadLabels {
                    result: if ok { "success" } else { "failure" }.into(),
                })
                .inc();
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_kube::admission::Violation;

    #[test]
    fn judged_requests_show_in_the_exposition() {
        let m = Metrics::new();
        let request = Request::create(
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
            "u",
        )
        .unwrap();
        let decision = Decision {
            violations: vec![Violation {
                policy: "must-have-owner".into(),
                kind: "K8sRequiredLabels".into(),
                action: Action::Deny,
                message: "no".into(),
                details: serde_json::Value::Null,
            }],
            failures: vec![],
        };
        m.judged(&request, &decision, false, Duration::from_micros(300));
        m.loaded(3, 1, Some(true));
        let text = m.encode();
        assert!(text.contains(
            r#"vigil_admission_requests_total{operation="CREATE",kind="Pod",decision="denied"} 1"#
        ), "{text}");
        assert!(text.contains(
            r#"vigil_admission_violations_total{policy="must-have-owner",action="deny"} 1"#
        ));
        assert!(
            text.contains("vigil_admission_request_duration_seconds_bucket{le=\"0.0004\"} 1"),
            "{text}"
        );
        assert!(text.contains("vigil_admission_policies 3"));
        assert!(text.contains(r#"vigil_admission_reloads_total{result="success"} 1"#));
    }
}
