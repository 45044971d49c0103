//! Alerts as OCSF 1.3.0 Detection Findings (class 2004), one JSON object per line, for
//! SIEMs and data lakes that read the Open Cybersecurity Schema Framework (Amazon Security
//! Lake, Splunk, Sentinel's OCSF parsers, ...).
//!
//! The mapping:
//! - class `Detection Finding` (2004) in category `Findings` (2), activity `Create` (1),
//!   so `type_uid` 200401; `status_id` 1 New; `severity_id` from Vigil's severity;
//!   `time` the event's time in epoch milliseconds (the time of writing when the event has
//!   none), `message` the rule's output.
//! - `finding_info`: `uid` the alert's dedup key (same rule, actor and object: same uid, so
//!   consumers can fold repeats), `title` the rule's name, `desc` its description,
//!   `types` its tags that are not MITRE tags, `analytic` the rule (type 1 Rule, uid the
//!   rule id), `attacks` the MITRE ATT&CK tactic (with its TA id) and technique (a
//!   sub-technique such as T1552.007 gives both the technique and the sub-technique).
//! - `resources`: the Kubernetes object of the audit event (name, namespace, type =
//!   resource[/subresource], uid).
//! - `evidences`: one per evidence event, with `actor.user` (name, groups), `src_endpoint`
//!   (the first source IP; the others, proxies of X-Forwarded-For, as `intermediate_ips`),
//!   `api` (operation = verb, request uid = auditID, response code) and `data` = the event
//!   itself. In OCSF 1.3 a Detection Finding has no top-level `src_endpoint`, and `actor`
//!   only through the `host` profile, which does not describe an API-server event; the
//!   evidence object is where both belong.
//! - `remediation.desc` the rule's remediation; `unmapped` Vigil's own fields (rule id,
//!   tags, cluster).
//!
//! Strings the schema bounds (65,535 characters) are cut at a character boundary.

use crate::{Alert, Severity};
use serde_json::{Map, Value, json};
use std::io::{self, Write};
use std::net::IpAddr;

/// The OCSF version written in `metadata.version`.
pub const OCSF_VERSION: &str = "1.3.0";

/// Longest string the OCSF schema allows for most attributes.
const MAX_STRING: usize = 65_535;

/// Who is writing: `metadata.product`.
#[derive(Debug, Clone)]
pub struct Product {
    /// `product.name`.
    pub name: String,
    /// `product.vendor_name`.
    pub vendor_name: String,
    /// `product.version`.
    pub version: String,
    /// `product.feature.name`: the part of the product that raised the alert (e.g.
    /// `audit`).
    pub feature: String,
}

impl Product {
    /// Vigil at `version`, for `feature`.
    pub fn vigil(version: &str, feature: &str) -> Product {
        Product {
            name: "Vigil".into(),
            vendor_name: "Vigil".into(),
            version: version.into(),
            feature: feature.into(),
        }
    }
}

/// The OCSF `severity_id` and `severity` of a Vigil severity.
pub fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Unknown => (0, "Unknown"),
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// MITRE ATT&CK Enterprise tactics: canonical name and id. Matched case-insensitively, with
/// `_` as a space, so `mitre_command_and_control` (`Command And Control`) finds TA0011.
const TACTICS: &[(&str, &str)] = &[
    ("Reconnaissance", "TA0043"),
    ("Resource Development", "TA0042"),
    ("Initial Access", "TA0001"),
    ("Execution", "TA0002"),
    ("Persistence", "TA0003"),
    ("Privilege Escalation", "TA0004"),
    ("Defense Evasion", "TA0005"),
    ("Credential Access", "TA0006"),
    ("Discovery", "TA0007"),
    ("Lateral Movement", "TA0008"),
    ("Collection", "TA0009"),
    ("Exfiltration", "TA0010"),
    ("Command and Control", "TA0011"),
    ("Impact", "TA0040"),
];

/// The canonical name and TA id of a tactic name.
pub fn tactic(name: &str) -> Option<(&'static str, &'static str)> {
    let wanted = name.trim().replace('_', " ");
    TACTICS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&wanted))
        .copied()
}

/// Names of the techniques Vigil's built-in rules use (ids without a name are written
/// with their id alone, which OCSF allows).
const TECHNIQUES: &[(&str, &str)] = &[
    ("T1068", "Exploitation for Privilege Escalation"),
    ("T1070", "Indicator Removal"),
    ("T1078", "Valid Accounts"),
    ("T1078.001", "Default Accounts"),
    ("T1098", "Account Manipulation"),
    ("T1133", "External Remote Services"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1496", "Resource Hijacking"),
    ("T1525", "Implant Internal Image"),
    ("T1528", "Steal Application Access Token"),
    ("T1552", "Unsecured Credentials"),
    ("T1552.007", "Container API"),
    ("T1557", "Adversary-in-the-Middle"),
    ("T1562", "Impair Defenses"),
    ("T1609", "Container Administration Command"),
    ("T1610", "Deploy Container"),
    ("T1611", "Escape to Host"),
    ("T1613", "Container and Resource Discovery"),
    ("T1649", "Steal or Forge Authentication Certificates"),
];

fn technique_name(id: &str) -> Option<&'static str> {
    TECHNIQUES.iter().find(|(t, _)| *t == id).map(|(_, n)| *n)
}

/// `{"uid": id, "name": ...}` (name when known).
fn technique_object(id: &str) -> Value {
    let mut t = json!({ "uid": id });
    if let Some(name) = technique_name(id) {
        t["name"] = json!(name);
    }
    t
}

/// `s`, cut to the schema's bound at a character boundary.
fn clip(s: &str) -> &str {
    if s.len() <= MAX_STRING {
        return s;
    }
    let mut end = MAX_STRING;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Epoch milliseconds of an RFC 3339 time.
fn epoch_ms(time: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |node, k| node.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The MITRE ATT&CK entry of an alert, if it names a tactic or a technique.
fn attack(alert: &Alert) -> Option<Value> {
    let mut a = Map::new();
    if let Some(name) = alert.mitre_tactic.as_deref() {
        a.insert(
            "tactic".into(),
            match tactic(name) {
                Some((name, uid)) => json!({ "name": name, "uid": uid }),
                None => json!({ "name": clip(name) }),
            },
        );
    }
    if let Some(id) = alert.mitre_technique.as_deref() {
        match id.split_once('.') {
            Some((parent, _)) => {
                a.insert("technique".into(), technique_object(parent));
                a.insert("sub_technique".into(), technique_object(id));
            }
            None => {
                a.insert("technique".into(), technique_object(id));
            }
        }
    }
    (!a.is_empty()).then_some(Value::Object(a))
}

/// The evidence object for one audit event.
fn evidence(event: &Value) -> Value {
    let mut e = Map::new();
    let user = str_at(event, &["user", "username"]);
    if !user.is_empty() {
        let groups: Vec<Value> = event
            .get("user")
            .and_then(|u| u.get("groups"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|g| json!({ "name": clip(g) }))
            .collect();
        let mut u = json!({ "name": clip(user) });
        if !groups.is_empty() {
            u["groups"] = Value::Array(groups);
        }
        let uid = str_at(event, &["user", "uid"]);
        if !uid.is_empty() {
            u["uid"] = json!(clip(uid));
        }
        e.insert("actor".into(), json!({ "user": u }));
    }
    // sourceIPs: the client first, then the proxies that forwarded the request. Only real
    // addresses are written (the schema checks their form).
    let ips: Vec<String> = event
        .get("sourceIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string())
        .collect();
    if let Some((first, rest)) = ips.split_first() {
        let mut ep = json!({ "ip": first });
        if !rest.is_empty() {
            ep["intermediate_ips"] = json!(rest);
        }
        e.insert("src_endpoint".into(), ep);
    }
    let verb = str_at(event, &["verb"]);
    if !verb.is_empty() {
        let mut api = json!({ "operation": clip(verb) });
        let audit_id = str_at(event, &["auditID"]);
        if !audit_id.is_empty() {
            api["request"] = json!({ "uid": clip(audit_id) });
        }
        if let Some(code) = event
            .get("responseStatus")
            .and_then(|r| r.get("code"))
            .and_then(Value::as_i64)
        {
            api["response"] = json!({ "code": code });
        }
        let group = str_at(event, &["objectRef", "apiGroup"]);
        if !group.is_empty() {
            api["group"] = json!({ "name": clip(group) });
        }
        let version = str_at(event, &["objectRef", "apiVersion"]);
        if !version.is_empty() {
            api["version"] = json!(clip(version));
        }
        e.insert("api".into(), api);
    }
    e.insert("data".into(), event.clone());
    Value::Object(e)
}

/// The Kubernetes object of an audit event as an OCSF resource, when it names one.
fn resource(event: &Value) -> Option<Value> {
    let name = str_at(event, &["objectRef", "name"]);
    let resource = str_at(event, &["objectRef", "resource"]);
    if name.is_empty() && resource.is_empty() {
        return None;
    }
    let mut kind = resource.to_string();
    let sub = str_at(event, &["objectRef", "subresource"]);
    if !sub.is_empty() {
        kind.push('/');
        kind.push_str(sub);
    }
    let mut r = Map::new();
    if !name.is_empty() {
        r.insert("name".into(), json!(clip(name)));
    }
    for (key, path) in [
        ("namespace", "namespace"),
        ("uid", "uid"),
        ("version", "resourceVersion"),
    ] {
        let v = str_at(event, &["objectRef", path]);
        if !v.is_empty() {
            r.insert(key.into(), json!(clip(v)));
        }
    }
    if !kind.is_empty() {
        r.insert("type".into(), json!(clip(&kind)));
    }
    // The schema wants a name or a uid; a collection (`list secrets`) has neither, so it
    // is named by its type.
    if !r.contains_key("name") && !r.contains_key("uid") {
        r.insert("name".into(), json!(clip(&kind)));
    }
    Some(Value::Object(r))
}

/// One alert as an OCSF Detection Finding.
pub fn detection_finding(alert: &Alert, product: &Product) -> Value {
    let (severity_id, severity_name) = severity(alert.severity);
    let time = alert.time.as_deref().and_then(epoch_ms);
    let mut analytic = json!({
        "type_id": 1,
        "type": "Rule",
        "name": clip(&alert.rule),
        "uid": clip(&alert.rule_id),
    });
    if !alert.description.is_empty() {
        analytic["desc"] = json!(clip(&alert.description));
    }
    let mut info = json!({
        "uid": alert.dedup_key,
        "title": clip(&alert.rule),
        "analytic": analytic,
        "data_sources": [if alert.runtime.is_some() { "eBPF runtime sensor" } else { "Kubernetes audit log" }],
    });
    if !alert.description.is_empty() {
        info["desc"] = json!(clip(&alert.description));
    }
    let types: Vec<&str> = alert
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("mitre_") && Some(*t) != alert.mitre_technique.as_deref())
        .map(clip)
        .collect();
    if !types.is_empty() {
        info["types"] = json!(types);
    }
    if let Some(a) = attack(alert) {
        info["attacks"] = json!([a]);
    }
    if let Some(t) = time {
        info["created_time"] = json!(t);
    }
    let mut metadata = json!({
        "version": OCSF_VERSION,
        "product": {
            "name": product.name,
            "vendor_name": product.vendor_name,
            "version": product.version,
            "feature": { "name": product.feature },
        },
    });
    if let Some(t) = alert.time.as_deref() {
        metadata["original_time"] = json!(clip(t));
    }
    let mut f = json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": 1,
        "status": "New",
        "time": time.unwrap_or_else(now_ms),
        "message": clip(&alert.output),
        "metadata": metadata,
        "finding_info": info,
    });
    let resources: Vec<Value> = alert
        .evidence
        .first()
        .and_then(resource)
        .into_iter()
        .collect();
    if !resources.is_empty() {
        f["resources"] = json!(resources);
    }
    if !alert.evidence.is_empty() {
        f["evidences"] = Value::Array(alert.evidence.iter().map(evidence).collect());
    }
    if !alert.remediation.is_empty() {
        f["remediation"] = json!({ "desc": clip(&alert.remediation) });
    }
    let mut unmapped = json!({ "rule_id": alert.rule_id });
    if !alert.tags.is_empty() {
        unmapped["tags"] = json!(alert.tags);
    }
    if !alert.cluster.is_empty() {
        unmapped["cluster"] = json!(alert.cluster);
    }
    f["unmapped"] = unmapped;
    f
}

/// Writes `alerts` as OCSF Detection Findings, one JSON object per line.
pub fn write(alerts: &[Alert], product: &Product, out: &mut dyn Write) -> io::Result<()> {
    for a in alerts {
        serde_json::to_writer(&mut *out, &detection_finding(a, product))?;
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditDetails;

    fn alert() -> Alert {
        Alert {
            rule_id: "K8S-AUDIT-secrets-listed".into(),
            rule: "Secrets Listed Cluster-Wide".into(),
            severity: Severity::Medium,
            mitre_tactic: Some("Credential Access".into()),
            mitre_technique: Some("T1552.007".into()),
            time: Some("2026-11-29T12:00:01.250Z".into()),
            cluster: "prod".into(),
            namespace: String::new(),
            output: "Secrets listed cluster-wide (user=mallory)".into(),
            description: "Secrets were listed across all namespaces.".into(),
            remediation: "Limit secret access.".into(),
            tags: vec![
                "k8s".into(),
                "mitre_credential_access".into(),
                "T1552.007".into(),
            ],
            audit: Some(AuditDetails::default()),
            runtime: None,
            dedup_key: "0123456789abcdef0123456789abcdef".into(),
            evidence: vec![json!({
                "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a1", "verb": "list",
                "user": {"username": "mallory", "uid": "u-1", "groups": ["devs", "system:authenticated"]},
                "sourceIPs": ["203.0.113.7", "10.0.0.4", "garbage"],
                "objectRef": {"resource": "secrets", "apiVersion": "v1"},
                "responseStatus": {"code": 200}
            })],
        }
    }

    #[test]
    fn a_detection_finding_with_attack_evidence_and_resource() {
        let f = detection_finding(&alert(), &Product::vigil("0.1.0", "audit"));
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["category_uid"], 2);
        assert_eq!(f["activity_id"], 1);
        assert_eq!(f["type_uid"], 200401);
        assert_eq!(f["severity_id"], 3);
        assert_eq!(f["status_id"], 1);
        assert_eq!(f["time"], 1_795_953_601_250_i64);
        assert_eq!(f["metadata"]["version"], "1.3.0");
        assert_eq!(f["metadata"]["product"]["name"], "Vigil");
        let info = &f["finding_info"];
        assert_eq!(info["uid"], "0123456789abcdef0123456789abcdef");
        assert_eq!(info["analytic"]["uid"], "K8S-AUDIT-secrets-listed");
        assert_eq!(info["analytic"]["type_id"], 1);
        assert_eq!(info["types"], json!(["k8s"]));
        assert_eq!(
            info["attacks"],
            json!([{
                "tactic": {"name": "Credential Access", "uid": "TA0006"},
                "technique": {"uid": "T1552", "name": "Unsecured Credentials"},
                "sub_technique": {"uid": "T1552.007", "name": "Container API"}
            }])
        );
        let ev = &f["evidences"][0];
        assert_eq!(ev["actor"]["user"]["name"], "mallory");
        assert_eq!(
            ev["actor"]["user"]["groups"][1]["name"],
            "system:authenticated"
        );
        assert_eq!(
            ev["src_endpoint"],
            json!({"ip": "203.0.113.7", "intermediate_ips": ["10.0.0.4"]})
        );
        assert_eq!(ev["api"]["operation"], "list");
        assert_eq!(ev["api"]["request"]["uid"], "a1");
        assert_eq!(ev["api"]["response"]["code"], 200);
        assert_eq!(ev["data"]["auditID"], "a1");
        // A cluster-wide list names no object: the resource is named by its type.
        assert_eq!(
            f["resources"],
            json!([{"name": "secrets", "type": "secrets"}])
        );
        assert_eq!(f["remediation"]["desc"], "Limit secret access.");
        assert_eq!(f["unmapped"]["cluster"], "prod");
    }

    #[test]
    fn tactics_severities_and_bounds() {
        assert_eq!(
            tactic("Command And Control"),
            Some(("Command and Control", "TA0011"))
        );
        assert_eq!(
            tactic("privilege_escalation"),
            Some(("Privilege Escalation", "TA0004"))
        );
        assert_eq!(tactic("Impact").map(|t| t.1), Some("TA0040"));
        assert_eq!(tactic("Lateral Movement").map(|t| t.1), Some("TA0008"));
        assert_eq!(tactic("Daydreaming"), None);
        assert_eq!(severity(Severity::Critical), (5, "Critical"));
        assert_eq!(severity(Severity::Unknown), (0, "Unknown"));
        let mut a = alert();
        a.mitre_tactic = Some("Daydreaming".into());
        a.mitre_technique = Some("T9999".into());
        a.time = Some("not a time".into());
        a.output = "é".repeat(MAX_STRING);
        let f = detection_finding(&a, &Product::vigil("0.1.0", "audit"));
        assert_eq!(
            f["finding_info"]["attacks"],
            json!([{"tactic": {"name": "Daydreaming"}, "technique": {"uid": "T9999"}}])
        );
        assert!(f["time"].as_i64().unwrap() > 1_700_000_000_000);
        assert!(f["message"].as_str().unwrap().len() <= MAX_STRING);
        // No MITRE tags, no evidence: the finding still has what the class requires.
        a.mitre_tactic = None;
        a.mitre_technique = None;
        a.evidence.clear();
        let f = detection_finding(&a, &Product::vigil("0.1.0", "audit"));
        assert!(f["finding_info"].get("attacks").is_none());
        assert!(f.get("evidences").is_none() && f.get("resources").is_none());
    }

    #[test]
    fn one_line_per_alert() {
        let mut out = Vec::new();
        write(
            &[alert(), alert()],
            &Product::vigil("0.1.0", "audit"),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["class_uid"], 2004);
        }
    }
}
