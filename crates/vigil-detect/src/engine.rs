//! The engine: rules compiled once, events judged one at a time, alerts out.
//!
//! One engine serves every event source. A [`Source`] names the rules it takes (Falco's
//! `source:`), the field table they compile against, the field rules are indexed by
//! (`ka.verb` for audit events, `evt.type` for runtime events: Falco's rulesets by event
//! type, so an event only meets the rules that can match it) and how an alert on one of
//! its events is made. [`Engine::compile`] compiles every enabled rule of a [`RuleSet`]
//! for a source — conditions and the `%field` placeholders of outputs alike, so a typo in
//! a rules file fails at load — and [`Engine::evaluate`] turns each matching rule into an
//! [`Alert`] carrying the event as evidence. [`Audit`] is the Kubernetes audit source;
//! the runtime source lives with the sensor, which owns its events.

use crate::audit::{AuditEvent, AuditFields};
use crate::eval::{self, Event, Field, FieldTable, Predicate, Scalar};
use crate::rules::{Priority, RuleSet, RulesError};
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::ops::ControlFlow;
use vigil_core::{Alert, AuditDetails, Severity};

/// An event source the engine judges.
pub trait Source {
    /// Falco's `source:` of the rules for it (`k8s_audit`, `syscall`).
    const NAME: &'static str;
    /// The single-valued text field rules are indexed by: a rule that requires values of
    /// it (`ka.verb in (create, update)`, `evt.type = execve`) meets only events with one
    /// of them.
    const INDEX_FIELD: &'static str;
    /// The field table rules compile against.
    type Fields: FieldTable + Default;
    /// The events judged.
    type Event<'e>: Event;
    /// What every alert on one event shares, made once for the first matching rule.
    type Details: Clone;
    /// The event's value of [`Source::INDEX_FIELD`].
    fn index_value<'a>(event: &'a Self::Event<'_>) -> &'a str;
    /// The shared part of alerts on `event`.
    fn details(event: &Self::Event<'_>) -> Self::Details;
    /// The alert `meta`'s rule raises on `event`, saying `output`.
    fn alert(
        meta: &RuleMeta,
        event: &Self::Event<'_>,
        details: Self::Details,
        output: String,
    ) -> Alert;
}

/// Kubernetes audit events (`source: k8s_audit`, the `ka.*` fields).
#[derive(Debug, Default, Clone, Copy)]
pub struct Audit;

impl Source for Audit {
    const NAME: &'static str = "k8s_audit";
    const INDEX_FIELD: &'static str = "ka.verb";
    type Fields = AuditFields;
    type Event<'e> = AuditEvent<'e>;
    type Details = AuditDetails;

    fn index_value<'a>(event: &'a AuditEvent<'_>) -> &'a str {
        event.verb()
    }

    fn details(event: &AuditEvent<'_>) -> AuditDetails {
        audit_details(event)
    }

    fn alert(
        meta: &RuleMeta,
        event: &AuditEvent<'_>,
        details: AuditDetails,
        output: String,
    ) -> Alert {
        meta.alert(event, details, output)
    }
}

/// A piece of a rule's output.
#[derive(Debug)]
enum Part {
    Text(String),
    Field(Field),
}

/// A rule ready to run.
#[derive(Debug)]
struct Compiled {
    meta: RuleMeta,
    predicate: Predicate,
    output: Vec<Part>,
}

/// What an alert says about the rule that raised it.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    /// Stable id (`K8S-AUDIT-...`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// Tags.
    pub tags: Vec<String>,
    /// MITRE ATT&CK tactic.
    pub tactic: Option<String>,
    /// MITRE ATT&CK technique id.
    pub technique: Option<String>,
    /// What it detects.
    pub description: String,
    /// How to respond.
    pub remediation: String,
}

impl RuleMeta {
    /// The alert this rule raises on the audit event `event`, saying `output`.
    pub fn alert(&self, event: &AuditEvent<'_>, details: AuditDetails, output: String) -> Alert {
        let mut alert = self.alert_base(output);
        alert.dedup_key =
            Alert::dedup_key_of(&self.id, &[&details.user, &details.verb, &details.object]);
        alert.time = event.time().map(String::from);
        alert.cluster = event.cluster().unwrap_or_default().to_string();
        alert.namespace = event.namespace().to_string();
        alert.audit = Some(details);
        alert.evidence = vec![event.to_value()];
        alert
    }

    /// An alert of this rule saying `output`, with what the rule says filled in and what
    /// the event says (time, place, details, evidence, dedup key) left for the source.
    pub fn alert_base(&self, output: String) -> Alert {
        Alert {
            dedup_key: String::new(),
            rule_id: self.id.clone(),
            rule: self.name.clone(),
            severity: self.severity,
            mitre_tactic: self.tactic.clone(),
            mitre_technique: self.technique.clone(),
            time: None,
            cluster: String::new(),
            namespace: String::new(),
            output,
            description: self.description.clone(),
            remediation: self.remediation.clone(),
            tags: self.tags.clone(),
            audit: None,
            runtime: None,
            evidence: Vec::new(),
        }
    }
}

/// Compiled rules for one event source (audit events unless said otherwise).
pub struct Engine<S: Source = Audit> {
    rules: Vec<Compiled>,
    /// The rules an event with each value of the source's index field can match, in
    /// rule order, for the values some rule names; an event with any other value meets
    /// only [`Engine::any_value`].
    by_value: HashMap<String, Vec<usize>, foldhash::fast::RandomState>,
    /// The rules that do not require a value of the index field.
    any_value: Vec<usize>,
    source: PhantomData<fn() -> S>,
}

impl<S: Source> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("source", &S::NAME)
            .field("rules", &self.rules)
            .field("by_value", &self.by_value)
            .field("any_value", &self.any_value)
            .finish()
    }
}

/// The severity of a Falco priority.
pub fn severity(p: Priority) -> Severity {
    match p {
        Priority::Emergency | Priority::Alert | Priority::Critical => Severity::Critical,
        Priority::Error => Severity::High,
        Priority::Warning => Severity::Medium,
        Priority::Notice => Severity::Low,
        Priority::Informational | Priority::Debug => Severity::Informational,
    }
}

/// MITRE ATT&CK tactic and technique from Falco-style tags: `mitre_privilege_escalation`
/// → `Privilege Escalation`; `T1611` or `T1552.007` → the technique.
pub fn mitre(tags: &[String]) -> (Option<String>, Option<String>) {
    let tactic = tags.iter().find_map(|t| t.strip_prefix("mitre_")).map(|t| {
        t.split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    });
    let technique = tags
        .iter()
        .find(|t| {
            let rest = t.strip_prefix('T').unwrap_or_default();
            let (main, sub) = rest.split_once('.').unwrap_or((rest, "000"));
            main.len() == 4
                && main.chars().all(|c| c.is_ascii_digit())
                && sub.len() == 3
                && sub.chars().all(|c| c.is_ascii_digit())
        })
        .cloned();
    (tactic, technique)
}

/// Splits an output at its `%field` / `%field[arg]` placeholders, resolving each.
fn compile_output(text: &str, table: &dyn FieldTable) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        let (before, after) = rest.split_at(i);
        let after = after.get(1..).unwrap_or_default();
        let mut end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .unwrap_or(after.len());
        let name = after.get(..end).unwrap_or_default();
        if name.is_empty() {
            parts.push(Part::Text(format!("{before}%")));
            rest = after;
            continue;
        }
        let mut arg = None;
        if after.get(end..).is_some_and(|s| s.starts_with('['))
            && let Some(close) = after.get(end..).and_then(|s| s.find(']'))
        {
            arg = after.get(end + 1..end + close);
            end += close + 1;
        }
        parts.push(Part::Text(before.to_string()));
        parts.push(Part::Field(
            table
                .resolve(name, arg)
                .map_err(|e| format!("output: {e}"))?,
        ));
        rest = after.get(end..).unwrap_or_default();
    }
    parts.push(Part::Text(rest.to_string()));
    Ok(parts)
}

fn render(parts: &[Part], event: &dyn Event) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Field(f) => {
                let mut values = Vec::new();
                event.values(f, &mut |v| {
                    values.push(match v {
                        Scalar::Str(s) => s.to_string(),
                        Scalar::Int(n) => n.to_string(),
                        Scalar::Bool(b) => b.to_string(),
                    });
                    ControlFlow::Continue(())
                });
                if values.is_empty() {
                    out.push_str("<NA>");
                } else {
                    out.push_str(&values.join(","));
                }
            }
        }
    }
    out
}

impl Engine<Audit> {
    /// Compiles the enabled `k8s_audit` rules of `set`.
    pub fn audit(set: &RuleSet) -> Result<Engine<Audit>, RulesError> {
        Engine::compile(set)
    }
}

impl<S: Source> Engine<S> {
    /// Compiles the enabled rules of `set` whose source is `S`'s.
    pub fn compile(set: &RuleSet) -> Result<Engine<S>, RulesError> {
        let table = S::Fields::default();
        let mut rules = Vec::new();
        for (rule, expr) in set.conditions()? {
            if rule.source != S::NAME {
                continue;
            }
            let fail = |message: String| RulesError {
                place: rule.condition_place.clone(),
                message: format!("rule {}: {message}", rule.name),
            };
            let predicate = eval::compile(&expr, &table).map_err(|e| fail(e.message))?;
            let output = compile_output(&rule.output, &table).map_err(fail)?;
            let (tactic, technique) = mitre(&rule.tags);
            rules.push(Compiled {
                meta: RuleMeta {
                    id: if rule.id.is_empty() {
                        rule.name.clone()
                    } else {
                        rule.id.clone()
                    },
                    name: rule.name.clone(),
                    severity: severity(rule.priority),
                    tags: rule.tags.clone(),
                    tactic,
                    technique,
                    description: rule.desc.trim().to_string(),
                    remediation: rule.remediation.trim().to_string(),
                },
                predicate,
                output,
            });
        }
        Ok(Engine::indexed(rules, &table))
    }

    /// Indexes `rules` by the values of the source's index field their conditions
    /// require.
    fn indexed(rules: Vec<Compiled>, table: &S::Fields) -> Engine<S> {
        let index = table
            .resolve(S::INDEX_FIELD, None)
            .map(|f| f.id)
            .unwrap_or(u32::MAX);
        let required: Vec<Option<HashSet<String>>> = rules
            .iter()
            .map(|r| r.predicate.required_values(index))
            .collect();
        let any_value: Vec<usize> = (0..rules.len())
            .filter(|&i| required.get(i).is_some_and(Option::is_none))
            .collect();
        let mut by_value: HashMap<String, Vec<usize>, _> = HashMap::default();
        for values in required.iter().flatten() {
            for v in values {
                by_value.entry(v.clone()).or_default();
            }
        }
        for (v, list) in &mut by_value {
            *list = (0..rules.len())
                .filter(|&i| match required.get(i) {
                    Some(Some(values)) => values.contains(v),
                    _ => true,
                })
                .collect();
        }
        Engine {
            rules,
            by_value,
            any_value,
            source: PhantomData,
        }
    }

    /// How many rules are loaded.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// How many rules an event with `value` in the index field meets.
    pub fn candidates(&self, value: &str) -> usize {
        self.by_value.get(value).unwrap_or(&self.any_value).len()
    }

    /// Judges one event, appending an alert per matching rule.
    pub fn evaluate(&self, event: &S::Event<'_>, out: &mut Vec<Alert>) {
        let candidates = self
            .by_value
            .get(S::index_value(event))
            .unwrap_or(&self.any_value);
        let mut details: Option<S::Details> = None;
        for rule in candidates.iter().filter_map(|&i| self.rules.get(i)) {
            if !rule.predicate.matches(event) {
                continue;
            }
            let d = details.get_or_insert_with(|| S::details(event)).clone();
            out.push(S::alert(&rule.meta, event, d, render(&rule.output, event)));
        }
    }
}

/// Who did what to which object, as alerts on audit events say it.
pub fn audit_details(e: &AuditEvent<'_>) -> AuditDetails {
    let (resource, sub, ns, name) = (e.resource(), e.subresource(), e.namespace(), e.name());
    let mut object = resource.to_string();
    if !sub.is_empty() {
        object.push('/');
        object.push_str(sub);
    }
    if !name.is_empty() {
        object.push(' ');
        if !ns.is_empty() {
            object.push_str(ns);
            object.push('/');
        }
        object.push_str(name);
    }
    AuditDetails {
        user: e.user().to_string(),
        groups: e.groups().map(String::from).collect(),
        verb: e.verb().to_string(),
        uri: e.uri().to_string(),
        source_ips: e.source_ips().map(String::from).collect(),
        user_agent: e.user_agent().to_string(),
        object,
        response_code: e.response_code(),
        audit_id: e.audit_id().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const RULES: &str = r#"
- rule: Exec into pod
  id: K8S-AUDIT-test-exec
  desc: exec
  condition: ka.target.subresource in (exec, attach) and ka.verb in (create, get)
  output: "%ka.user.name ran exec in %ka.target.namespace/%ka.target.name (uri=%ka.uri groups=%ka.user.groups missing=%ka.req.binding.role) 100%"
  priority: NOTICE
  source: k8s_audit
  tags: [k8s, mitre_execution, T1609]
- rule: Syscall rule
  desc: not for audit
  condition: evt.type = execve
  output: x
  priority: ERROR
"#;

    const EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"1","stage":"ResponseComplete",
      "requestURI":"/api/v1/namespaces/shop/pods/web-0/exec?command=sh&stdin=true","verb":"create",
      "user":{"username":"mallory","groups":["devs","system:authenticated"]},"sourceIPs":["198.51.100.4"],
      "objectRef":{"resource":"pods","namespace":"shop","name":"web-0","subresource":"exec"},
      "responseStatus":{"code":101},"stageTimestamp":"2026-11-29T12:00:01Z"}"#;

    #[test]
    fn alerts_carry_output_mitre_details_and_evidence() {
        let mut set = RuleSet::default();
        set.load(RULES, Path::new("r.yaml")).unwrap();
        let engine = Engine::audit(&set).unwrap();
        assert_eq!(engine.len(), 1, "only k8s_audit rules");
        let event = AuditEvent::parse(EXEC).unwrap();
        let mut out = Vec::new();
        engine.evaluate(&event, &mut out);
        assert_eq!(out.len(), 1);
        let a = &out[0];
        assert_eq!(a.rule_id, "K8S-AUDIT-test-exec");
        assert_eq!(a.severity, Severity::Low);
        assert_eq!(a.mitre_tactic.as_deref(), Some("Execution"));
        assert_eq!(a.mitre_technique.as_deref(), Some("T1609"));
        assert_eq!(
            a.output,
            "mallory ran exec in shop/web-0 (uri=/api/v1/namespaces/shop/pods/web-0/exec?command=sh&stdin=true groups=devs,system:authenticated missing=<NA>) 100%"
        );
        let d = a.audit.as_ref().unwrap();
        assert_eq!(d.object, "pods/exec shop/web-0");
        assert_eq!(d.source_ips, ["198.51.100.4"]);
        assert_eq!(d.response_code, Some(101));
        assert_eq!(a.time.as_deref(), Some("2026-11-29T12:00:01Z"));
        assert_eq!(a.evidence.len(), 1);
        // A get on the pod itself is a near miss.
        let benign_text = EXEC.replace(r#","subresource":"exec""#, "");
        let benign = AuditEvent::parse(&benign_text).unwrap();
        let mut out = Vec::new();
        engine.evaluate(&benign, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn bad_fields_fail_at_load() {
        for (cond, output, want) in [
            (
                "ka.verb = get",
                "%ka.nope",
                "rule R: output: unknown audit field ka.nope",
            ),
            (
                "ka.verbb = get",
                "x",
                "rule R: unknown audit field ka.verbb",
            ),
        ] {
            let text = format!(
                "- rule: R\n  desc: d\n  condition: {cond}\n  output: \"{output}\"\n  priority: INFO\n  source: k8s_audit\n"
            );
            let mut set = RuleSet::default();
            set.load(&text, Path::new("r.yaml")).unwrap();
            let err = Engine::audit(&set).unwrap_err().to_string();
            assert!(err.starts_with("r.yaml:3:"), "{err}");
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn builtin_rules_are_indexed_by_verb() {
        let mut set = RuleSet::default();
        set.load(crate::BUILTIN_AUDIT_RULES, Path::new("k8s_audit.yaml"))
            .unwrap();
        let engine = Engine::audit(&set).unwrap();
        // Reads meet only the rules that can match them...
        assert!(engine.candidates("get") < engine.len() / 2);
        // ...and every verb's rules include those that take any verb, in rule order.
        for list in engine.by_value.values() {
            assert!(engine.any_value.iter().all(|i| list.contains(i)));
            assert!(list.is_sorted());
        }
    }
}
