//! The Pod Security Standards, evaluated the way Kubernetes' pod-security-admission does.
//!
//! Each upstream check (`staging/src/k8s.io/pod-security-admission/policy/check_*.go`) is
//! one Rust function here with the same logic and the same forbidden reason and detail
//! text, so `vigil k8s pss` prints what `kubectl apply` would warn. Checks carry their
//! upstream id, level, and the policy versions at which their behaviour changed; a policy
//! version picks, for every check, its newest revision not newer than the version, and
//! Restricted runs every Baseline check except those a Restricted check overrides — the
//! rules of upstream's `registry.go`. Violations are reported in upstream's order: Baseline
//! checks sorted by id, then Restricted checks sorted by id.
//!
//! Policy versions modelled: v1.0 to v1.37 (`latest` = v1.37). The revisions:
//!
//! | check | revisions |
//! |---|---|
//! | seccompProfile_baseline | 1.0 (annotations), 1.19 (fields) |
//! | seLinuxOptions | 1.0, 1.31 (`container_engine_t`) |
//! | sysctls | 1.0, 1.27, 1.29, 1.32, 1.37 (safe list grows) |
//! | hostProbesAndHostLifecycle | 1.34 (new) |
//! | procMount | 1.0, 1.35 (relaxed for `hostUsers: false`) |
//! | allowPrivilegeEscalation | 1.8, 1.25 (Windows pods exempt) |
//! | capabilities_restricted | 1.22, 1.25 (Windows pods exempt) |
//! | seccompProfile_restricted | 1.19, 1.25 (Windows pods exempt) |
//! | runAsNonRoot | 1.0, 1.35 (skipped for `hostUsers: false`) |
//! | runAsUser | 1.23, 1.35 (skipped for `hostUsers: false`) |
//! | procMount_restricted | 1.35 (new, keeps `procMount` strict in Restricted) |
//!
//! The other checks have one revision at 1.0; like upstream, changes made in place in those
//! (the AppArmor fields next to the annotations, `image` volumes allowed in Restricted)
//! apply at every policy version. Sources: the upstream check files (read at the revisions
//! up to v1.36) and the sysctl documentation; the v1.37 sysctl additions
//! (`net.ipv4.tcp_slow_start_after_idle`, `net.ipv4.tcp_notsent_lowat`) come from a
//! dated record of the release-1.37 branch, not from the check file itself.

mod baseline;
mod restricted;
pub mod spec;

use crate::manifest::Object;
use serde::{Deserialize, Serialize};
use spec::{ObjectMeta, PodSpec};
use std::fmt;
use std::str::FromStr;
use vigil_core::{Evidence, Finding, ResourceRef};

/// The newest policy minor version modelled; `latest` means this.
pub const LATEST_MINOR: u32 = 37;

/// A Pod Security Standards level that restricts something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Prevents known privilege escalations.
    Baseline,
    /// Pod hardening best practices, on top of Baseline.
    Restricted,
}

impl Level {
    /// `baseline` or `restricted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(format!(
                "unknown level {s:?} (expected baseline or restricted)"
            )),
        }
    }
}

/// A policy version: `latest` or `v1.N`, as in the
/// `pod-security.kubernetes.io/enforce-version` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The newest version modelled.
    Latest,
    /// `v1.N`.
    Minor(u32),
}

impl Version {
    /// The minor version the checks run at: versions newer than the newest modelled one
    /// behave as it does (upstream clamps the same way).
    pub fn effective_minor(self) -> u32 {
        match self {
            Version::Latest => LATEST_MINOR,
            Version::Minor(m) => m.min(LATEST_MINOR),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let bad = || format!("invalid policy version {s:?} (expected latest or v1.N)");
        let rest = s.strip_prefix('v').unwrap_or(s);
        let minor = rest.strip_prefix("1.").ok_or_else(bad)?;
        if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) || minor.len() > 4 {
            return Err(bad());
        }
        minor.parse().map(Version::Minor).map_err(|_| bad())
    }
}

/// The pod under evaluation, with the paths of its metadata and spec in the object.
pub struct Pod<'a> {
    /// The pod's metadata (annotations).
    pub meta: &'a ObjectMeta,
    /// The pod's spec.
    pub spec: &'a PodSpec,
    /// Path of the metadata, e.g. `spec.template.metadata`.
    pub meta_path: String,
    /// Path of the spec, e.g. `spec.template.spec`.
    pub spec_path: String,
}

impl Pod<'_> {
    /// `<spec path>.<rel>`.
    fn at(&self, rel: &str) -> String {
        format!("{}.{rel}", self.spec_path)
    }
}

/// What one check says about a pod it does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Upstream's `ForbiddenReason`, e.g. `privileged`.
    pub reason: String,
    /// Upstream's `ForbiddenDetail`, e.g. `container "app" must not set securityContext.privileged=true`.
    pub detail: String,
    /// The fields that made the check fail.
    pub evidence: Vec<Evidence>,
}

type CheckFn = fn(&Pod<'_>) -> Option<CheckResult>;

/// How a check maps to Vigil's findings (the shared check metadata).
pub use crate::checks::CheckInfo as Control;

/// One upstream check with its revisions.
pub struct Check {
    /// Upstream check id, e.g. `capabilities_baseline`.
    pub id: &'static str,
    /// The level it belongs to.
    pub level: Level,
    /// `(first minor version, function)`, oldest first.
    versions: &'static [(u32, CheckFn)],
    /// Baseline check ids this Restricted check replaces whenever it applies.
    pub overrides: &'static [&'static str],
    /// Finding metadata.
    pub control: Control,
}

impl Check {
    fn at(&self, minor: u32) -> Option<CheckFn> {
        self.versions
            .iter()
            .rev()
            .find(|(min, _)| *min <= minor)
            .map(|(_, f)| *f)
    }
}

/// Every check, in upstream's reporting order (Baseline ids sorted, then Restricted ids
/// sorted, byte-wise as Go sorts strings).
pub fn checks() -> Vec<&'static Check> {
    let mut all: Vec<&'static Check> = baseline::CHECKS
        .iter()
        .chain(restricted::CHECKS.iter())
        .collect();
    all.sort_by(|a, b| a.level.cmp(&b.level).then(a.id.cmp(b.id)));
    all
}

/// The checks that run for `level` at `version`, in reporting order.
pub fn checks_for(level: Level, version: Version) -> Vec<(&'static Check, CheckFn)> {
    let minor = version.effective_minor();
    let all = checks();
    let overridden: Vec<&str> = if level == Level::Restricted {
        all.iter()
            .filter(|c| c.level == Level::Restricted && c.at(minor).is_some())
            .flat_map(|c| c.overrides.iter().copied())
            .collect()
    } else {
        Vec::new()
    };
    all.into_iter()
        .filter(|c| c.level <= level && !overridden.contains(&c.id))
        .filter_map(|c| c.at(minor).map(|f| (c, f)))
        .collect()
}

/// One violated check.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// Upstream check id.
    pub check: &'static str,
    /// Vigil check id.
    pub check_id: &'static str,
    /// Forbidden reason.
    pub reason: String,
    /// Forbidden detail (may be empty).
    pub detail: String,
    /// The fields that made it fail.
    #[serde(skip)]
    pub evidence: Vec<Evidence>,
}

impl Violation {
    /// `reason (detail)`, or `reason` when there is no detail.
    pub fn message(&self) -> String {
        if self.detail.is_empty() {
            self.reason.clone()
        } else {
            format!("{} ({})", self.reason, self.detail)
        }
    }
}

/// Evaluates one pod at `level` and `version`.
pub fn evaluate_pod(level: Level, version: Version, pod: &Pod<'_>) -> Vec<Violation> {
    checks_for(level, version)
        .into_iter()
        .filter_map(|(check, f)| {
            f(pod).map(|r| Violation {
                check: check.id,
                check_id: check.control.id,
                reason: if r.reason.is_empty() {
                    "unknown forbidden reason".into()
                } else {
                    r.reason
                },
                detail: r.detail,
                evidence: r.evidence,
            })
        })
        .collect()
}

/// The result for one object that carries a pod.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The object.
    pub resource: ResourceRef,
    /// Violated checks, in upstream order; empty when allowed.
    pub violations: Vec<Violation>,
    /// The level and version evaluated.
    pub level: Level,
    /// The policy version as given (`latest` or `v1.N`).
    #[serde(serialize_with = "serialize_display")]
    pub version: Version,
}

fn serialize_display<S: serde::Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Evaluation {
    /// True when no check failed.
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    /// `restricted:latest`, as pod-security-admission names the policy.
    pub fn policy(&self) -> String {
        format!("{}:{}", self.level, self.version)
    }

    /// `allowed`, or `violates PodSecurity "restricted:latest": reason (detail), ...` in
    /// pod-security-admission's wording.
    pub fn verdict(&self) -> String {
        if self.allowed() {
            return "allowed".into();
        }
        let reasons: Vec<String> = self.violations.iter().map(Violation::message).collect();
        format!(
            "violates PodSecurity {:?}: {}",
            self.policy(),
            reasons.join(", ")
        )
    }

    /// One finding per violated check.
    pub fn findings(&self) -> Vec<Finding> {
        let all = checks();
        self.violations
            .iter()
            .filter_map(|v| {
                let check = all.iter().find(|c| c.id == v.check)?;
                let c = &check.control;
                Some(c.finding(
                    &self.resource,
                    format!("{}: {}", c.title, v.message()),
                    v.evidence.clone(),
                ))
            })
            .collect()
    }
}

/// Evaluates `object` if it carries a pod (Pod, PodTemplate, or a workload's template);
/// `Ok(None)` for other kinds. An error when the pod fields have the wrong shape.
///
/// Objects without a namespace are placed in `default_namespace` (what `kubectl apply`
/// does with the current context's namespace).
pub fn evaluate_object(
    object: &Object,
    level: Level,
    version: Version,
    default_namespace: &str,
) -> Result<Option<Evaluation>, String> {
    Ok(
        evaluate_object_levels(object, &[level], version, default_namespace)?
            .and_then(|mut v| v.pop()),
    )
}

/// [`evaluate_object`] at several levels, decoding the pod once.
pub fn evaluate_object_levels(
    object: &Object,
    levels: &[Level],
    version: Version,
    default_namespace: &str,
) -> Result<Option<Vec<Evaluation>>, String> {
    let kind = object.kind();
    let Some(template_path) = spec::pod_template_path(kind) else {
        return Ok(None);
    };
    let mut node = &object.value;
    for key in template_path {
        node = match node.get(key) {
            Some(v) if !v.is_null() => v,
            _ => return Err(format!("{kind} has no {}", template_path.join("."))),
        };
    }
    let prefix = if template_path.is_empty() {
        String::new()
    } else {
        format!("{}.", template_path.join("."))
    };
    let field = |name: &str| node.get(name).filter(|v| !v.is_null());
    let meta: ObjectMeta = match field("metadata") {
        Some(v) => {
            ObjectMeta::deserialize(v).map_err(|e| format!("{kind}: {prefix}metadata: {e}"))?
        }
        None => ObjectMeta::default(),
    };
    let pod_spec: PodSpec = match field("spec") {
        Some(v) => PodSpec::deserialize(v).map_err(|e| format!("{kind}: {prefix}spec: {e}"))?,
        None => return Err(format!("{kind} has no {prefix}spec")),
    };
    let pod = Pod {
        meta: &meta,
        spec: &pod_spec,
        meta_path: format!("{prefix}metadata"),
        spec_path: format!("{prefix}spec"),
    };
    let namespace = match object.namespace() {
        "" => default_namespace,
        ns => ns,
    };
    let resource = ResourceRef {
        cluster: String::new(),
        api_version: object.api_version().to_string(),
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: object.name().to_string(),
        uid: object.uid().to_string(),
    };
    Ok(Some(
        levels
            .iter()
            .map(|&level| Evaluation {
                resource: resource.clone(),
                violations: evaluate_pod(level, version, &pod),
                level,
                version,
            })
            .collect(),
    ))
}

// Helpers shared by the check files, named after upstream's.

/// `"a", "b"`.
fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", inner.join("\", \""))
}

fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 { singular } else { plural }
}

/// `container "a"` / `containers "a", "b"`.
fn containers_phrase(names: &[String]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// Go's `%q` for the strings manifests hold (printable text): a double-quoted string with
/// `"` and `\` escaped and control characters written as escapes.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ev(path: impl Into<String>, value: impl fmt::Display) -> Evidence {
    Evidence {
        path: path.into(),
        value: value.to_string(),
    }
}

/// Evidence value for a field whose absence is the problem.
const UNSET: &str = "<unset>";

#[cfg(test)]
mod tests;
