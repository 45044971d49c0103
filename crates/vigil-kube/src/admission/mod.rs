//! Admission control: policies that judge an `AdmissionReview` and the verdict the
//! webhook returns.
//!
//! `AdmissionReview -> Request -> every Policy -> Decision -> Verdict`:
//! - [`review`] checks the request and builds the response;
//! - [`gatekeeper`] runs Gatekeeper ConstraintTemplates (Rego, with `regorus`) and their
//!   Constraints unchanged: match, parameters, `data.inventory`, enforcement actions;
//! - [`pod_security`] enforces the Pod Security Standards with the same checks as
//!   `vigil k8s pss` ([`crate::pss`]);
//! - [`image_gate`] refuses pods whose images have vulnerabilities at or above a severity,
//!   from `vigil image` results.
//!
//! A policy that fails to evaluate does not decide on its own: the [`FailureMode`] says
//! whether that denies the request (fail closed) or lets it through with a warning.

pub mod gatekeeper;
pub mod image_gate;
pub mod pod_security;
pub mod review;
pub mod selector;

pub use review::{Operation, Request, ReviewError, Verdict};

use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// What a policy's violation does to the request (Gatekeeper's `enforcementAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Refuse the request.
    Deny,
    /// Let it through with a warning shown to the user.
    Warn,
    /// Let it through silently; record the violation (audit annotation, log, metrics).
    Dryrun,
}

impl Action {
    /// The name in policies and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Warn => "warn",
            Action::Dryrun => "dryrun",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Action, String> {
        match s.to_ascii_lowercase().as_str() {
            "deny" => Ok(Action::Deny),
            "warn" => Ok(Action::Warn),
            "dryrun" => Ok(Action::Dryrun),
            _ => Err(format!(
                "unknown enforcement action {s:?} (expected deny, warn or dryrun)"
            )),
        }
    }
}

/// One thing a policy does not allow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The policy's name (a Constraint's `metadata.name`, `pod-security`, ...), the
    /// `[name]` that prefixes the message as in Gatekeeper.
    pub policy: String,
    /// The policy's kind (the Constraint kind, `PodSecurity`, `ImageVulnerabilities`).
    pub kind: String,
    /// What it does to the request.
    pub action: Action,
    /// The message for the user.
    pub message: String,
    /// Structured details, when the policy gives some (Gatekeeper's `details`).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl Violation {
    /// `[policy] message`, Gatekeeper's wording.
    pub fn line(&self) -> String {
        format!("[{}] {}", self.policy, self.message)
    }
}

/// A policy that could not judge a request (Rego error, time limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyFailure {
    /// The policy's name.
    pub policy: String,
    /// What went wrong.
    pub error: String,
}

/// What to do with a request a policy failed to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// Deny it (fail closed), naming the failed policy.
    #[default]
    Fail,
    /// Allow it with a warning (fail open).
    Ignore,
}

impl FromStr for FailureMode {
    type Err = String;
    fn from_str(s: &str) -> Result<FailureMode, String> {
        match s {
            "Fail" | "fail" => Ok(FailureMode::Fail),
            "Ignore" | "ignore" => Ok(FailureMode::Ignore),
            _ => Err(format!(
                "unknown failure mode {s:?} (expected Fail or Ignore)"
            )),
        }
    }
}

/// One admission policy.
pub trait Policy: Send + Sync {
    /// The name violations carry.
    fn name(&self) -> &str;
    /// The kind violations carry.
    fn kind(&self) -> &str;
    /// The violations of `request`; `Ok(vec![])` when the policy does not apply or allows it.
    fn evaluate(&self, request: &Request) -> Result<Vec<Violation>, String>;
}

/// The outcome of every policy for one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    /// Every violation, in policy order.
    pub violations: Vec<Violation>,
    /// Policies that could not judge the request.
    pub failures: Vec<PolicyFailure>,
}

impl Decision {
    /// The violations with `action`.
    pub fn with_action(&self, action: Action) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(move |v| v.action == action)
    }

    /// True when the request may proceed under `failure`.
    pub fn allowed(&self, failure: FailureMode) -> bool {
        self.with_action(Action::Deny).next().is_none()
            && (failure == FailureMode::Ignore || self.failures.is_empty())
    }

    /// The webhook's answer: denials (and, failing closed, failures) in the status
    /// message one per line, warnings as warnings, everything as an audit annotation.
    pub fn verdict(&self, failure: FailureMode) -> Verdict {
        let failed = |f: &PolicyFailure| format!("[{}] policy failed: {}", f.policy, f.error);
        let mut lines: Vec<String> = self
            .with_action(Action::Deny)
            .map(Violation::line)
            .collect();
        let mut warnings: Vec<String> = self
            .with_action(Action::Warn)
            .map(Violation::line)
            .collect();
        match failure {
            FailureMode::Fail => lines.extend(self.failures.iter().map(failed)),
            FailureMode::Ignore => warnings.extend(self.failures.iter().map(failed)),
        }
        let allowed = self.allowed(failure);
        let mut audit_annotations = Vec::new();
        if !self.violations.is_empty() {
            let summary: Vec<Value> = self
                .violations
                .iter()
                .map(|v| {
                    serde_json::json!({"policy": v.policy, "kind": v.kind, "action": v.action, "message": v.message})
                })
                .collect();
            audit_annotations.push(("violations".into(), Value::Array(summary).to_string()));
        }
        Verdict {
            allowed,
            code: if allowed { 200 } else { 403 },
            message: if allowed {
                String::new()
            } else {
                lines.join("\n")
            },
            warnings,
            audit_annotations,
        }
    }
}

/// The policies a webhook runs, in the order violations are reported.
#[derive(Default)]
pub struct PolicySet {
    policies: Vec<Box<dyn Policy>>,
}

impl PolicySet {
    /// An empty set (allows everything).
    pub fn new() -> PolicySet {
        PolicySet::default()
    }

    /// Adds a policy at the end.
    pub fn push(&mut self, policy: Box<dyn Policy>) {
        self.policies.push(policy);
    }

    /// Adds several.
    pub fn extend(&mut self, policies: impl IntoIterator<Item = Box<dyn Policy>>) {
        self.policies.extend(policies);
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Runs every policy on `request`.
    pub fn decide(&self, request: &Request) -> Decision {
        let mut decision = Decision::default();
        for policy in &self.policies {
            match policy.evaluate(request) {
                Ok(v) => decision.violations.extend(v),
                Err(error) => decision.failures.push(PolicyFailure {
                    policy: policy.name().to_string(),
                    error,
                }),
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(policy: &str, action: Action) -> Violation {
        Violation {
            policy: policy.into(),
            kind: "K".into(),
            action,
            message: format!("{policy} says no"),
            details: Value::Null,
        }
    }

    #[test]
    fn only_deny_refuses_and_failures_follow_the_failure_mode() {
        let d = Decision {
            violations: vec![violation("a", Action::Warn), violation("b", Action::Dryrun)],
            failures: vec![],
        };
        let v = d.verdict(FailureMode::Fail);
        assert!(v.allowed);
        assert_eq!(v.warnings, ["[a] a says no"]);
        assert!(v.audit_annotations[0].1.contains("\"dryrun\""));

        let d = Decision {
            violations: vec![violation("a", Action::Deny), violation("c", Action::Deny)],
            failures: vec![],
        };
        let v = d.verdict(FailureMode::Ignore);
        assert!(!v.allowed);
        assert_eq!(v.code, 403);
        assert_eq!(v.message, "[a] a says no\n[c] c says no");

        let d = Decision {
            violations: vec![],
            failures: vec![PolicyFailure {
                policy: "slow".into(),
                error: "time limit".into(),
            }],
        };
        assert!(!d.verdict(FailureMode::Fail).allowed);
        assert!(
            d.verdict(FailureMode::Fail)
                .message
                .contains("[slow] policy failed")
        );
        let open = d.verdict(FailureMode::Ignore);
        assert!(open.allowed);
        assert_eq!(open.warnings.len(), 1);
    }
}
