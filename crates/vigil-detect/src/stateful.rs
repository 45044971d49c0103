//! Detections that need memory of the stream, not one event: an identity doing a
//! sensitive operation it was never seen doing (a per-identity baseline), and bursts of
//! enumeration (many reads of secrets or RBAC objects in a short time).
//!
//! Time is the events' own (`stageTimestamp`), so a week-old log read today is judged as
//! it happened. Memory is bounded by [`Limits`]: at most `max_identities` identities per
//! detection and `max_operations` operations per identity are remembered, and what does
//! not fit is counted (in [`Stateful::untracked`]), not stored — so the worst case is
//! about `max_identities × (256 + 8 × max_operations + 8 × burst_count)` bytes plus
//! hash-table overhead: 10,000 identities at the defaults, about 30 MiB.

use crate::audit::AuditEvent;
use crate::engine::{RuleMeta, audit_details};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use vigil_core::Severity;

/// How long and how much the stateful detections remember.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long after an identity is first seen its operations are learned, not judged
    /// (seconds).
    pub learn_secs: i64,
    /// Reads of secrets or RBAC objects by one identity within `burst_secs` that make a
    /// burst.
    pub burst_count: usize,
    /// The burst window (seconds).
    pub burst_secs: i64,
    /// Identities remembered, per detection.
    pub max_identities: usize,
    /// Operations remembered per identity.
    pub max_operations: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            learn_secs: 3600,
            burst_count: 50,
            burst_secs: 60,
            max_identities: 10_000,
            max_operations: 256,
        }
    }
}

/// Longest identity name remembered as it is; longer ones are remembered by hash.
const MAX_NAME: usize = 256;

/// Control-plane components whose reads of secrets come in bursts by design (the token
/// and garbage collectors, the API server itself).
const BURSTY_COMPONENTS: &[&str] = &[
    "system:kube-controller-manager",
    "system:apiserver",
    "system:kube-scheduler",
];

/// An identity's learned operations.
#[derive(Debug)]
struct Baseline {
    /// Micros since the epoch when learning ends.
    learn_until: i64,
    operations: HashSet<u64>,
}

/// An identity's recent enumerating reads.
#[derive(Debug, Default)]
struct Reads {
    times: VecDeque<i64>,
    /// No new burst alert before this (micros): one alert per burst window.
    quiet_until: i64,
}

/// The stateful detections over one stream of audit events.
#[derive(Debug)]
pub struct Stateful {
    limits: Limits,
    first_seen: RuleMeta,
    burst: RuleMeta,
    hasher: foldhash::quality::RandomState,
    baselines: HashMap<String, Baseline>,
    reads: HashMap<String, Reads>,
    /// Identities or operations not remembered because a limit was reached.
    pub untracked: usize,
}

fn meta(id: &str, name: &str, severity: Severity, tactic: &str, technique: &str) -> RuleMeta {
    RuleMeta {
        id: id.into(),
        name: name.into(),
        severity,
        tags: vec!["k8s".into(), "stateful".into()],
        tactic: Some(tactic.into()),
        technique: Some(technique.into()),
        description: String::new(),
        remediation: String::new(),
    }
}

/// The ids of the stateful detections, for catalogues.
pub const RULE_IDS: [&str; 2] = [
    "K8S-AUDIT-first-seen-operation",
    "K8S-AUDIT-enumeration-burst",
];

impl Stateful {
    /// Stateful detections within `limits`.
    pub fn new(limits: Limits) -> Stateful {
        let mut first_seen = meta(
            RULE_IDS[0],
            "Identity performs an operation never seen before",
            Severity::Low,
            "Privilege Escalation",
            "T1078",
        );
        first_seen.description = format!(
            "An identity did a sensitive operation (a write, a read of secrets, exec/attach/\
             port-forward, a token request) that it did not do in its first {} minutes in \
             the log; a stolen credential used for something new looks like this.",
            limits.learn_secs / 60
        );
        first_seen.remediation = "Confirm with the identity's owner that the operation is \
            expected; if not, revoke its credentials and review what it changed."
            .into();
        let mut burst = meta(
            RULE_IDS[1],
            "Burst of secret or RBAC enumeration",
            Severity::Medium,
            "Discovery",
            "T1613",
        );
        burst.description = format!(
            "One identity listed or read secrets or RBAC objects {} times within {} \
             seconds, as discovery tools and attackers mapping their access do.",
            limits.burst_count, limits.burst_secs
        );
        burst.remediation = "Find the client by its source address and user agent; if it \
            is not an expected tool, revoke the identity's credentials and review its \
            permissions."
            .into();
        Stateful {
            limits,
            first_seen,
            burst,
            hasher: foldhash::quality::RandomState::default(),
            baselines: HashMap::new(),
            reads: HashMap::new(),
            untracked: 0,
        }
    }

    /// Learns from `event` and appends an alert when it stands out.
    pub fn observe(&mut self, event: &AuditEvent<'_>, out: &mut Vec<vigil_core::Alert>) {
        // Most events are neither (controllers reading): decide that before anything
        // costs — the time is parsed only for the events that count.
        let operation = sensitive_operation(event);
        let user = event.user();
        let enumerates = enumerating(event) && !BURSTY_COMPONENTS.contains(&user);
        if (operation.is_none() && !enumerates) || user.is_empty() {
            return;
        }
        let Some(now) = event.time().and_then(micros) else {
            return;
        };
        let identity = identity(user);
        if let Some(operation) = operation {
            self.first_seen(event, &identity, &operation, now, out);
        }
        if enumerates {
            self.burst(event, &identity, now, out);
        }
    }

    fn first_seen(
        &mut self,
        event: &AuditEvent<'_>,
        identity: &str,
        operation: &str,
        now: i64,
        out: &mut Vec<vigil_core::Alert>,
    ) {
        let key = self.hasher.hash_one(operation);
        let learn_for = self.limits.learn_secs.saturating_mul(1_000_000);
        let full = self.baselines.len() >= self.limits.max_identities;
        let baseline = match self.baselines.get_mut(identity) {
            Some(b) => b,
            None if full => {
                self.untracked += 1;
                return;
            }
            None => self
                .baselines
                .entry(identity.to_string())
                .or_insert(Baseline {
                    learn_until: now.saturating_add(learn_for),
                    operations: HashSet::new(),
                }),
        };
        if baseline.operations.contains(&key) {
            return;
        }
        if baseline.operations.len() >= self.limits.max_operations {
            self.untracked += 1;
            return;
        }
        baseline.operations.insert(key);
        if now >= baseline.learn_until {
            let output = format!(
                "{} did {operation} for the first time (object={} ns={} sourceips={})",
                event.user(),
                event.name(),
                event.namespace(),
                event.source_ips().collect::<Vec<_>>().join(",")
            );
            out.push(self.first_seen.alert(event, audit_details(event), output));
        }
    }

    fn burst(
        &mut self,
        event: &AuditEvent<'_>,
        identity: &str,
        now: i64,
        out: &mut Vec<vigil_core::Alert>,
    ) {
        let window = self.limits.burst_secs.saturating_mul(1_000_000);
        if !self.reads.contains_key(identity) && self.reads.len() >= self.limits.max_identities {
            // Make room by forgetting identities with nothing in the window.
            self.reads
                .retain(|_, r| r.times.back().is_some_and(|&t| now - t <= window));
            if self.reads.len() >= self.limits.max_identities {
                self.untracked += 1;
                return;
            }
        }
        let reads = self.reads.entry(identity.to_string()).or_default();
        reads.times.push_back(now);
        while reads
            .times
            .front()
            .is_some_and(|&t| now.saturating_sub(t) > window)
            || reads.times.len() > self.limits.burst_count
        {
            reads.times.pop_front();
        }
        if reads.times.len() >= self.limits.burst_count && now >= reads.quiet_until {
            reads.quiet_until = now.saturating_add(window);
            reads.times.clear();
            let output = format!(
                "{} read secrets or RBAC objects {} times within {} s (last: {} {}/{} sourceips={} useragent={})",
                event.user(),
                self.limits.burst_count,
                self.limits.burst_secs,
                event.verb(),
                event.resource(),
                event.name(),
                event.source_ips().collect::<Vec<_>>().join(","),
                event.user_agent()
            );
            out.push(self.burst.alert(event, audit_details(event), output));
        }
    }
}

/// The identity a baseline is kept for: nodes share one (each node's kubelet does the
/// same things), and an over-long name is cut so memory stays bounded.
fn identity(user: &str) -> String {
    if user.starts_with("system:node:") {
        return "system:node:*".into();
    }
    let mut end = user.len().min(MAX_NAME);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user.get(..end).unwrap_or_default().to_string()
}

/// `verb resource[/subresource]` when the request is one a baseline is kept for:
/// writes, reads of secrets, exec/attach/port-forward/proxy, token requests.
fn sensitive_operation(event: &AuditEvent<'_>) -> Option<String> {
    let (verb, resource, sub) = (event.verb(), event.resource(), event.subresource());
    let write = matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    );
    let secret_read = resource == "secrets" && matches!(verb, "get" | "list" | "watch");
    let sensitive_sub = matches!(sub, "exec" | "attach" | "portforward" | "proxy" | "token");
    // Status updates and leases are controllers' heartbeat, not operations to learn.
    let heartbeat = sub == "status" || resource == "leases" || resource == "events";
    if !(write || secret_read || sensitive_sub) || heartbeat || resource.is_empty() {
        return None;
    }
    if !event
        .response_code()
        .is_some_and(|c| (200..300).contains(&c) || c == 101)
    {
        return None;
    }
    Some(if sub.is_empty() {
        format!("{verb} {resource}")
    } else {
        format!("{verb} {resource}/{sub}")
    })
}

/// A read that maps access: get or list of secrets or RBAC objects.
fn enumerating(event: &AuditEvent<'_>) -> bool {
    matches!(event.verb(), "get" | "list")
        && event.subresource().is_empty()
        && matches!(
            event.resource(),
            "secrets" | "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings"
        )
}

/// Micros since the epoch of an RFC 3339 time.
fn micros(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(user: &str, verb: &str, resource: &str, sub: &str, secs: u32) -> String {
        let sub = if sub.is_empty() {
            String::new()
        } else {
            format!(r#","subresource":"{sub}""#)
        };
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{secs}","stage":"ResponseComplete","verb":"{verb}","user":{{"username":"{user}"}},"sourceIPs":["10.1.2.3"],"objectRef":{{"resource":"{resource}","namespace":"shop","name":"x"{sub}}},"responseStatus":{{"code":200}},"stageTimestamp":"2026-11-29T{:02}:{:02}:{:02}.000000Z"}}"#,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }

    fn run(s: &mut Stateful, events: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for e in events {
            s.observe(&AuditEvent::parse(e).unwrap(), &mut out);
        }
        out.into_iter().map(|a| a.output).collect()
    }

    #[test]
    fn a_new_operation_after_learning_is_raised_once() {
        let mut s = Stateful::new(Limits {
            learn_secs: 600,
            ..Limits::default()
        });
        let alerts = run(
            &mut s,
            &[
                event("ci-bot", "create", "deployments", "", 0),
                event("ci-bot", "patch", "deployments", "", 300),
                // Learned: nothing new.
                event("ci-bot", "create", "deployments", "", 4000),
                // Reads other than secrets are not operations to learn.
                event("ci-bot", "get", "pods", "", 4100),
                // New after learning: raised once.
                event("ci-bot", "create", "pods", "exec", 4200),
                event("ci-bot", "create", "pods", "exec", 4300),
                // Another identity starts its own learning period.
                event("dev", "get", "secrets", "", 4400),
                // Nodes share one baseline.
                event("system:node:a", "create", "pods", "", 0),
                event("system:node:b", "create", "pods", "", 5000),
                event("system:node:b", "delete", "configmaps", "", 5000),
            ],
        );
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert!(
            alerts[0].starts_with("ci-bot did create pods/exec for the first time"),
            "{alerts:?}"
        );
        assert!(alerts[1].starts_with("system:node:b did delete configmaps"));
    }

    #[test]
    fn enumeration_bursts_within_the_window() {
        let mut s = Stateful::new(Limits {
            burst_count: 5,
            burst_secs: 10,
            ..Limits::default()
        });
        let mut events: Vec<String> = (0..4)
            .map(|i| event("mallory", "get", "secrets", "", i * 20))
            .collect();
        // Spread out: no burst. Then five within ten seconds: one alert, not two.
        events.extend((0..9).map(|i| event("mallory", "list", "clusterroles", "", 200 + i)));
        // The controller manager reads secrets in bursts by design.
        events.extend((0..9).map(|i| {
            event(
                "system:kube-controller-manager",
                "get",
                "secrets",
                "",
                300 + i,
            )
        }));
        let alerts = run(&mut s, &events);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].starts_with("mallory read secrets or RBAC objects 5 times within 10 s"));
    }

    #[test]
    fn memory_stays_within_the_limits() {
        let mut s = Stateful::new(Limits {
            max_identities: 3,
            max_operations: 2,
            burst_count: 2,
            ..Limits::default()
        });
        let mut events: Vec<String> = (0..10)
            .map(|i| event(&format!("user-{i}"), "get", "secrets", "", 0))
            .collect();
        events.extend(
            ["create", "update", "patch", "delete"]
                .iter()
                .map(|v| event("user-0", v, "configmaps", "", 1)),
        );
        run(&mut s, &events);
        assert_eq!(s.baselines.len(), 3);
        assert!(s.baselines.values().all(|b| b.operations.len() <= 2));
        assert!(s.reads.len() <= 3);
        assert!(s.untracked >= 7 + 7 + 3, "{}", s.untracked);
        // A huge name is cut.
        assert_eq!(identity(&"é".repeat(400)).len(), 256);
    }
}
