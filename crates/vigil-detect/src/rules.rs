//! Rules files in Falco's format: `list`, `macro` and `rule` items, loaded in order, with
//! `append: true` and `override:` changing what earlier files defined, so users add their
//! own files and disable or override built-ins.
//!
//! [`RuleSet::load`] reads one file into the set; [`RuleSet::conditions`] then parses every
//! enabled rule's condition (exceptions folded in as `and not (...)`) and expands macros
//! and lists, reporting any error with the file, the line and column of the condition and
//! the place inside it. Nothing is evaluated here: a bad rules file fails at load, never
//! at evaluation.

use crate::condition::ast::Expr;
use crate::condition::{self, Definitions};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest rules file read.
pub const MAX_RULES_FILE_BYTES: usize = 16 << 20;

/// How urgent a rule's alerts are, Falco's priorities (syslog's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// `DEBUG`.
    Debug,
    /// `INFORMATIONAL` / `INFO`.
    Informational,
    /// `NOTICE`.
    Notice,
    /// `WARNING` / `WARN`.
    Warning,
    /// `ERROR`.
    Error,
    /// `CRITICAL`.
    Critical,
    /// `ALERT`.
    Alert,
    /// `EMERGENCY`.
    Emergency,
}

impl Priority {
    /// Parses a priority name, case-insensitively.
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.to_ascii_uppercase().as_str() {
            "DEBUG" => Priority::Debug,
            "INFORMATIONAL" | "INFO" => Priority::Informational,
            "NOTICE" => Priority::Notice,
            "WARNING" | "WARN" => Priority::Warning,
            "ERROR" => Priority::Error,
            "CRITICAL" => Priority::Critical,
            "ALERT" => Priority::Alert,
            "EMERGENCY" => Priority::Emergency,
            _ => return None,
        })
    }
}

/// Where something was defined: file, line, column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    /// The rules file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A rules-file error, naming where it is.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {message}")]
pub struct RulesError {
    /// Where.
    pub place: Place,
    /// What is wrong.
    pub message: String,
}

/// One value of an exception tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionValue {
    /// A value (for `in`, `intersects` and `pmatch`: a list's name, or a single item).
    One(String),
    /// Inline list items, for `in`, `intersects` and `pmatch`: `[[alice, bob], shop]`.
    List(Vec<String>),
}

/// An exception: field values under which the rule does not fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Its name.
    pub name: String,
    /// The fields compared.
    pub fields: Vec<String>,
    /// The operator per field (`=` by default; `in` for a single field with a list).
    pub comps: Vec<String>,
    /// Value tuples, one value per field.
    pub values: Vec<Vec<ExceptionValue>>,
    /// True when `fields` was a single field name, not a list.
    pub single: bool,
}

/// A rule as the files define it, before compiling.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name (its id).
    pub name: String,
    /// What it detects.
    pub desc: String,
    /// The condition text, appends included.
    pub condition: String,
    /// Where the condition was (first) written.
    pub condition_place: Place,
    /// The alert text, with `%field` placeholders.
    pub output: String,
    /// Priority.
    pub priority: Priority,
    /// Tags (`mitre_execution`, `T1059`, ...).
    pub tags: Vec<String>,
    /// False when disabled.
    pub enabled: bool,
    /// The event source: `k8s_audit` or `syscall`.
    pub source: String,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Vigil's stable id for the rule (`id:`, an addition to Falco's format); empty for
    /// rules that have none, which are known by name.
    pub id: String,
    /// How to respond (`remediation:`, an addition to Falco's format).
    pub remediation: String,
}

#[derive(Debug, Clone)]
struct MacroDef {
    condition: String,
    place: Place,
}

/// Lists, macros and rules, in the order the files defined them.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    lists: HashMap<String, Vec<String>>,
    macros: HashMap<String, MacroDef>,
    /// Rules in definition order.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawItem {
    list: Option<Spanned<String>>,
    #[serde(rename = "macro")]
    macro_: Option<Spanned<String>>,
    rule: Option<Spanned<String>>,
    items: Option<Vec<ScalarText>>,
    condition: Option<Spanned<String>>,
    desc: Option<String>,
    output: Option<String>,
    priority: Option<Spanned<String>>,
    tags: Option<Vec<String>>,
    enabled: Option<bool>,
    source: Option<String>,
    exceptions: Option<Vec<RawException>>,
    append: Option<bool>,
    #[serde(rename = "override")]
    override_: Option<HashMap<String, String>>,
    id: Option<String>,
    remediation: Option<String>,
    required_engine_version: Option<ignored::Any>,
    required_plugin_versions: Option<ignored::Any>,
}

/// Accepts any YAML value and ignores it (version requirements Vigil does not check).
mod ignored {
    /// Anything.
    #[derive(Debug)]
    pub struct Any;
    impl<'de> serde::Deserialize<'de> for Any {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Any, D::Error> {
            serde::de::IgnoredAny::deserialize(d).map(|_| Any)
        }
    }
}

/// A list item or exception value: strings, numbers and booleans as their text.
#[derive(Debug, Clone)]
struct ScalarText(String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ScalarText, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Bool(bool),
            Int(i64),
            Float(f64),
            Text(String),
        }
        Ok(ScalarText(match Scalar::deserialize(d)? {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawException {
    name: String,
    fields: Option<OneOrMany>,
    comps: Option<OneOrMany>,
    values: Vec<ExceptionValues>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ExceptionValues {
    Tuple(Vec<TupleItem>),
    One(ScalarText),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TupleItem {
    One(ScalarText),
    List(Vec<ScalarText>),
}

/// What `override:` says for one property.
fn overrides<'a>(raw: &'a RawItem, key: &str) -> Option<&'a str> {
    raw.override_.as_ref()?.get(key).map(String::as_str)
}

impl RuleSet {
    /// Appends `items` to the list `name`, defining it when no file did: how a list is fed
    /// from outside the rules files (`vigil audit scan --threat-intel FILE` fills
    /// `threat_intel_ips`). Items are taken as written; the operators that use the list
    /// check them when the rules compile.
    pub fn extend_list(&mut self, name: &str, items: impl IntoIterator<Item = String>) {
        self.lists
            .entry(name.to_string())
            .or_default()
            .extend(items);
    }

    /// Reads `path` into the set.
    pub fn load_file(&mut self, path: &Path) -> Result<(), RulesError> {
        let err = |message: String| RulesError {
            place: Place {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
            },
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_RULES_FILE_BYTES as u64 {
            return Err(err(format!(
                "larger than {} MiB",
                MAX_RULES_FILE_BYTES >> 20
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        self.load(&text, path)
    }

    /// Reads rules-file `text` (named `path` in errors) into the set.
    pub fn load(&mut self, text: &str, path: &Path) -> Result<(), RulesError> {
        let place = |loc: &serde_saphyr::Location| Place {
            file: path.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
        };
        let fail = |p: Place, message: String| RulesError { place: p, message };
        if text.trim().is_empty() {
            return Ok(());
        }
        let items: Vec<RawItem> = serde_saphyr::from_str(text).map_err(|e| {
            fail(
                Place {
                    file: path.to_path_buf(),
                    line: 0,
                    column: 0,
                },
                format!("not a rules file (a YAML list of list/macro/rule items): {e}"),
            )
        })?;
        for raw in items {
            if let Some(name) = &raw.list {
                let at = place(&name.referenced);
                let items: Vec<String> = raw
                    .items
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| s.0)
                    .collect();
                if raw.items.is_none() && raw.append != Some(true) {
                    return Err(fail(at, format!("list {}: no items", name.value)));
                }
                let append = raw.append == Some(true) || overrides(&raw, "items") == Some("append");
                match (append, self.lists.get_mut(&name.value)) {
                    (true, Some(existing)) => existing.extend(items),
                    (true, None) => {
                        return Err(fail(
                            at,
                            format!("list {}: append to a list that is not defined", name.value),
                        ));
                    }
                    (false, _) => {
                        self.lists.insert(name.value.clone(), items);
                    }
                }
            } else if let Some(name) = &raw.macro_ {
                let at = place(&name.referenced);
                let Some(cond) = &raw.condition else {
                    return Err(fail(at, format!("macro {}: no condition", name.value)));
                };
                let append =
                    raw.append == Some(true) || overrides(&raw, "condition") == Some("append");
                match (append, self.macros.get_mut(&name.value)) {
                    (true, Some(existing)) => {
                        existing.condition = format!("{} {}", existing.condition, cond.value);
                    }
                    (true, None) => {
                        return Err(fail(
                            at,
                            format!(
                                "macro {}: append to a macro that is not defined",
                                name.value
                            ),
                        ));
                    }
                    (false, _) => {
                        self.macros.insert(
                            name.value.clone(),
                            MacroDef {
                                condition: cond.value.clone(),
                                place: place(&cond.referenced),
                            },
                        );
                    }
                }
            } else if let Some(name) = &raw.rule {
                self.load_rule(&raw, name, place(&name.referenced), &place)?;
            } else if raw.required_engine_version.is_none()
                && raw.required_plugin_versions.is_none()
            {
                return Err(fail(
                    Place {
                        file: path.to_path_buf(),
                        line: 0,
                        column: 0,
                    },
                    "an item that is neither a list, a macro nor a rule".into(),
                ));
            }
        }
        Ok(())
    }

    fn load_rule(
        &mut self,
        raw: &RawItem,
        name: &Spanned<String>,
        at: Place,
        place: &dyn Fn(&serde_saphyr::Location) -> Place,
    ) -> Result<(), RulesError> {
        let fail = |message: String| RulesError {
            place: at.clone(),
            message: format!("rule {}: {message}", name.value),
        };
        let exceptions = raw
            .exceptions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(exception)
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        let priority = match &raw.priority {
            Some(p) => Some(
                Priority::parse(&p.value)
                    .ok_or_else(|| fail(format!("unknown priority {:?}", p.value)))?,
            ),
            None => None,
        };
        let existing = self.rules.iter_mut().find(|r| r.name == name.value);
        let is_change = raw.append == Some(true) || raw.override_.is_some();
        // `- rule: X\n  enabled: false` alone: Falco's way to switch a built-in off.
        let only_enabled =
            raw.condition.is_none() && raw.output.is_none() && raw.enabled.is_some() && !is_change;
        if is_change || only_enabled {
            let Some(rule) = existing else {
                return Err(fail(
                    "appends to or overrides a rule that is not defined".into(),
                ));
            };
            if only_enabled {
                rule.enabled = raw.enabled.unwrap_or(true);
                return Ok(());
            }
            let mode = |key: &str| {
                if raw.append == Some(true) {
                    Some("append")
                } else {
                    overrides(raw, key)
                }
            };
            if let Some(c) = &raw.condition {
                match mode("condition") {
                    Some("append") => rule.condition = format!("{} {}", rule.condition, c.value),
                    Some("replace") => {
                        rule.condition = c.value.clone();
                        rule.condition_place = place(&c.referenced);
                    }
                    _ => return Err(fail("condition given without append or override".into())),
                }
            }
            if !exceptions.is_empty() {
                match mode("exceptions") {
                    Some("append") => rule.exceptions.extend(exceptions),
                    Some("replace") => rule.exceptions = exceptions,
                    _ => return Err(fail("exceptions given without append or override".into())),
                }
            }
            if let Some(o) = &raw.output {
                match mode("output") {
                    Some("append") => rule.output = format!("{} {o}", rule.output),
                    Some("replace") => rule.output = o.clone(),
                    _ => {}
                }
            }
            if let (Some(p), Some("replace")) = (priority, overrides(raw, "priority")) {
                rule.priority = p;
            }
            if let (Some(d), Some("replace")) = (&raw.desc, overrides(raw, "desc")) {
                rule.desc = d.clone();
            }
            if let Some(tags) = &raw.tags {
                match overrides(raw, "tags") {
                    Some("append") => rule.tags.extend(tags.iter().cloned()),
                    Some("replace") => rule.tags = tags.clone(),
                    _ => {}
                }
            }
            if let (Some(e), Some("replace")) = (raw.enabled, overrides(raw, "enabled")) {
                rule.enabled = e;
            }
            return Ok(());
        }
        let Some(cond) = &raw.condition else {
            return Err(fail("no condition".into()));
        };
        let Some(output) = &raw.output else {
            return Err(fail("no output".into()));
        };
        let Some(priority) = priority else {
            return Err(fail("no priority".into()));
        };
        let rule = Rule {
            name: name.value.clone(),
            desc: raw.desc.clone().unwrap_or_default(),
            condition: cond.value.clone(),
            condition_place: place(&cond.referenced),
            output: output.clone(),
            priority,
            tags: raw.tags.clone().unwrap_or_default(),
            enabled: raw.enabled.unwrap_or(true),
            source: raw.source.clone().unwrap_or_else(|| "syscall".into()),
            exceptions,
            id: raw.id.clone().unwrap_or_default(),
            remediation: raw.remediation.clone().unwrap_or_default(),
        };
        match existing {
            // A rule defined again replaces the earlier one, as in Falco.
            Some(old) => *old = rule,
            None => self.rules.push(rule),
        }
        Ok(())
    }

    /// Parses and expands the condition of every enabled rule (exceptions folded in):
    /// `(rule name, condition)` in definition order, or the first error, with the rule's
    /// name, file, line and column.
    pub fn conditions(&self) -> Result<Vec<(&Rule, Expr)>, RulesError> {
        let mut defs = Definitions {
            lists: self.lists.clone(),
            macros: HashMap::new(),
        };
        for (name, m) in &self.macros {
            let expr = condition::parse(&m.condition).map_err(|e| {
                at_condition(
                    &m.place,
                    &m.condition,
                    e.offset,
                    format!("macro {name}: {}", e.message),
                )
            })?;
            defs.macros.insert(name.clone(), expr);
        }
        let mut out = Vec::new();
        for rule in self.rules.iter().filter(|r| r.enabled) {
            let text = with_exceptions(rule);
            let expr = condition::parse(&text).map_err(|e| {
                at_condition(
                    &rule.condition_place,
                    &text,
                    e.offset,
                    format!("rule {}: {}", rule.name, e.message),
                )
            })?;
            let expr = condition::expand(&expr, &defs).map_err(|e| {
                at_condition(
                    &rule.condition_place,
                    &text,
                    e.span().start,
                    format!("rule {}: {e}", rule.name),
                )
            })?;
            out.push((rule, expr));
        }
        Ok(out)
    }
}

/// An error at byte `offset` of a condition written at `place`: the position in the file
/// when the condition is on the line where it starts, and always the place inside it.
fn at_condition(place: &Place, text: &str, offset: usize, message: String) -> RulesError {
    let (line, col) = condition::line_col(text, offset);
    let mut p = place.clone();
    if line == 1 {
        p.column += (col as u64).saturating_sub(1);
    }
    RulesError {
        place: p,
        message: format!("{message} (condition line {line}, column {col})"),
    }
}

fn exception(raw: &RawException) -> Result<Exception, String> {
    let (fields, single) = match &raw.fields {
        Some(OneOrMany::One(f)) => (vec![f.clone()], true),
        Some(OneOrMany::Many(f)) => (f.clone(), false),
        None => return Err(format!("exception {}: no fields", raw.name)),
    };
    let comps = match &raw.comps {
        Some(OneOrMany::One(c)) => vec![c.clone()],
        Some(OneOrMany::Many(c)) => c.clone(),
        None if single => vec!["in".into()],
        None => vec!["=".into(); fields.len()],
    };
    if comps.len() != fields.len() {
        return Err(format!(
            "exception {}: {} fields but {} comps",
            raw.name,
            fields.len(),
            comps.len()
        ));
    }
    let mut values = Vec::new();
    for v in &raw.values {
        let tuple: Vec<ExceptionValue> = match v {
            ExceptionValues::Tuple(t) => t
                .iter()
                .map(|item| match item {
                    TupleItem::One(s) => ExceptionValue::One(s.0.clone()),
                    TupleItem::List(l) => {
                        ExceptionValue::List(l.iter().map(|s| s.0.clone()).collect())
                    }
                })
                .collect(),
            ExceptionValues::One(s) => vec![ExceptionValue::One(s.0.clone())],
        };
        let listy = |c: &str| matches!(c, "in" | "intersects" | "pmatch");
        for (i, value) in tuple.iter().enumerate() {
            let comp = comps.get(i).or(comps.first()).map(String::as_str);
            if matches!(value, ExceptionValue::List(_)) && !comp.is_some_and(listy) {
                return Err(format!(
                    "exception {}: a list of values needs comp in, intersects or pmatch, not {}",
                    raw.name,
                    comp.unwrap_or_default()
                ));
            }
        }
        if !single && tuple.len() != fields.len() {
            return Err(format!(
                "exception {}: a value has {} items for {} fields",
                raw.name,
                tuple.len(),
                fields.len()
            ));
        }
        values.push(tuple);
    }
    Ok(Exception {
        name: raw.name.clone(),
        fields,
        comps,
        values,
        single,
    })
}

/// Quotes a value for a condition.
fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The rule's condition with its exceptions as `and not (...)`, as Falco builds it.
fn with_exceptions(rule: &Rule) -> String {
    let mut text = format!("({})", rule.condition);
    for e in rule.exceptions.iter().filter(|e| !e.values.is_empty()) {
        let alternatives: Vec<String> = if e.single {
            let field = e.fields.first().map(String::as_str).unwrap_or_default();
            let comp = e.comps.first().map(String::as_str).unwrap_or("in");
            let items: Vec<String> = e
                .values
                .iter()
                .flatten()
                .flat_map(|v| match v {
                    ExceptionValue::One(v) => vec![quote(v)],
                    ExceptionValue::List(l) => l.iter().map(|v| quote(v)).collect(),
                })
                .collect();
            vec![format!("{field} {comp} ({})", items.join(", "))]
        } else {
            e.values
                .iter()
                .map(|tuple| {
                    let parts: Vec<String> = e
                        .fields
                        .iter()
                        .zip(&e.comps)
                        .zip(tuple)
                        .map(|((f, c), v)| match v {
                            ExceptionValue::List(l) => {
                                let items: Vec<String> = l.iter().map(|v| quote(v)).collect();
                                format!("{f} {c} ({})", items.join(", "))
                            }
                            ExceptionValue::One(v)
                                if matches!(c.as_str(), "in" | "intersects" | "pmatch") =>
                            {
                                format!("{f} {c} ({v})")
                            }
                            ExceptionValue::One(v) => format!("{f} {c} {}", quote(v)),
                        })
                        .collect();
                    format!("({})", parts.join(" and "))
                })
                .collect()
        };
        text.push_str(&format!(" and not ({})", alternatives.join(" or ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::ast::{Expr, Op, Operand};

    const BUILTIN: &str = r#"
- required_engine_version: 15
- list: sensitive_images
  items: [falco, "docker.io/calico/node"]
- macro: kevt
  condition: (jevt.value[/stage] in (k8s_audit_stages))
- list: k8s_audit_stages
  items: ["ResponseComplete"]
- macro: kcreate
  condition: ka.verb=create
- macro: pod
  condition: ka.target.resource=pods and not ka.target.subresource exists
- rule: Create Privileged Pod
  desc: Detect an attempt to start a pod with a privileged container
  condition: >
    kevt and pod and kcreate and ka.req.pod.containers.privileged intersects (true)
    and not ka.req.pod.containers.image.repository in (sensitive_images)
  output: Pod started with privileged container (user=%ka.user.name pod=%ka.resp.name)
  priority: WARNING
  source: k8s_audit
  tags: [k8s, mitre_privilege_escalation]
  exceptions:
    - name: trusted_users
      fields: [ka.user.name, ka.target.namespace]
      comps: [=, startswith]
      values:
        - [admin, kube-]
- rule: Anonymous Request Allowed
  desc: anonymous
  condition: kevt and ka.user.name=system:anonymous
  output: x
  priority: WARNING
  source: k8s_audit
"#;

    fn load(files: &[&str]) -> Result<RuleSet, RulesError> {
        let mut set = RuleSet::default();
        for (i, f) in files.iter().enumerate() {
            set.load(f, Path::new(&format!("rules-{i}.yaml")))?;
        }
        Ok(set)
    }

    #[test]
    fn falco_style_rules_load_and_expand() {
        let set = load(&[BUILTIN]).unwrap();
        let conds = set.conditions().unwrap();
        assert_eq!(conds.len(), 2);
        let (rule, expr) = &conds[0];
        assert_eq!(rule.name, "Create Privileged Pod");
        assert_eq!(rule.priority, Priority::Warning);
        assert_eq!(rule.source, "k8s_audit");
        assert_eq!(rule.condition_place.line, 16);
        // (condition) and not (exception)
        let Expr::And(parts) = expr else {
            panic!("{expr:?}")
        };
        assert!(matches!(parts.last(), Some(Expr::Not(_))));
        let text = format!("{expr:?}");
        assert!(
            text.contains("ResponseComplete"),
            "lists inside macros expand"
        );
        assert!(text.contains("docker.io/calico/node"));
    }

    #[test]
    fn appends_overrides_and_disabling() {
        let user = r#"
- list: sensitive_images
  items: [my/agent]
  append: true
- rule: Create Privileged Pod
  condition: and ka.target.namespace != ci
  override:
    condition: append
- rule: Create Privileged Pod
  priority: CRITICAL
  override:
    priority: replace
- rule: Anonymous Request Allowed
  enabled: false
"#;
        let set = load(&[BUILTIN, user]).unwrap();
        let conds = set.conditions().unwrap();
        assert_eq!(conds.len(), 1, "the disabled rule is not compiled");
        let (rule, expr) = &conds[0];
        assert_eq!(rule.priority, Priority::Critical);
        assert!(rule.condition.ends_with("and ka.target.namespace != ci"));
        let text = format!("{expr:?}");
        assert!(text.contains("my/agent"));
        let Expr::And(parts) = expr else { panic!() };
        // Exception tuple: (ka.user.name = "admin" and ka.target.namespace startswith "kube-")
        let Some(Expr::Not(inner)) = parts.last() else {
            panic!()
        };
        let Expr::And(tuple) = inner.as_ref() else {
            panic!("{inner:?}")
        };
        let Expr::Check(c) = &tuple[1] else { panic!() };
        assert_eq!(c.op, Op::StartsWith);
        assert!(matches!(&c.operand, Operand::Value(v) if v.text == "kube-"));
    }

    #[test]
    fn exception_tuples_may_hold_inline_lists() {
        let rule = |comps: &str| {
            format!(
                "- rule: R\n  desc: d\n  condition: ka.verb = create\n  output: o\n  priority: WARNING\n  source: k8s_audit\n  exceptions:\n    - name: users_in_ns\n      fields: [ka.user.name, ka.target.namespace]\n      comps: {comps}\n      values:\n        - [[alice, \"bob smith\"], shop]\n"
            )
        };
        let set = load(&[&rule("[in, =]")]).unwrap();
        let conds = set.conditions().unwrap();
        let (_, expr) = &conds[0];
        let Expr::And(parts) = expr else {
            panic!("{expr:?}")
        };
        let Some(Expr::Not(inner)) = parts.last() else {
            panic!("{expr:?}")
        };
        let Expr::And(tuple) = inner.as_ref() else {
            panic!("{inner:?}")
        };
        let Expr::Check(c) = &tuple[0] else { panic!() };
        assert_eq!(c.op, Op::In);
        let Operand::List(items) = &c.operand else {
            panic!("{c:?}")
        };
        let items: Vec<&str> = items.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(items, ["alice", "bob smith"]);
        // A list where the comparison takes one value is refused at load.
        let err = load(&[&rule("[=, =]")]).unwrap_err().to_string();
        assert!(err.contains("a list of values needs comp in"), "{err}");
    }

    #[test]
    fn errors_name_file_line_and_place() {
        let bad = "- rule: R\n  desc: d\n  condition: ka.verb = create and and\n  output: o\n  priority: WARNING\n";
        let set = load(&[bad]).unwrap();
        let err = set.conditions().unwrap_err().to_string();
        assert!(err.starts_with("rules-0.yaml:3:"), "{err}");
        assert!(
            err.contains("rule R: `and` needs a check before it"),
            "{err}"
        );
        let undefined =
            "- rule: R\n  desc: d\n  condition: nope\n  output: o\n  priority: WARNING\n";
        let err = load(&[undefined])
            .unwrap()
            .conditions()
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule R: undefined macro `nope`"), "{err}");
        for (text, want) in [
            (
                "- rule: R\n  condition: a = 1\n  output: o\n  priority: LOUD\n",
                "unknown priority \"LOUD\"",
            ),
            (
                "- rule: R\n  condition: a = 1\n  priority: INFO\n",
                "rule R: no output",
            ),
            (
                "- list: l\n  items: [a]\n- list: m\n  items: [b]\n  append: true\n",
                "append to a list that is not defined",
            ),
            (
                "- rule: X\n  enabled: false\n",
                "overrides a rule that is not defined",
            ),
            ("- foo: bar\n", "neither a list, a macro nor a rule"),
            ("rule: R\n", "not a rules file"),
        ] {
            let err = load(&[text]).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("rules-0.yaml:"), "{err}");
        }
    }
}
