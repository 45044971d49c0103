//! Vigil's OCSF output (`vigil audit scan --format ocsf`), validated against the JSON
//! Schema of the OCSF 1.3.0 Detection Finding class (draft 2020-12, every object
//! embedded, unknown attributes refused), with the `jsonschema` crate and no network.
//!
//! The schema is generated from the OCSF project's schema export by PyPI's
//! `ocsf-json-schema` (`scripts/fixtures/ocsf-schema`, run by `scripts/test`, writes it
//! under `$VIGIL_FIXTURES/ocsf-schema-v1`, default `/var/cache/vigil-fixtures`). Without it
//! the test says it is skipped and why, and fails where `scripts/test` has run the set-up
//! (`VIGIL_REQUIRE_SERVICES=1` or `CI=true`).
//!
//! Python's `jsonschema` (installed for the SBOM schema tests by
//! `scripts/fixtures/sbom-schemas`) checks the same findings a second time, an
//! implementation independent of the crate's.
//!
//! The alerts are real engine output: `tests/fixtures/alerts/audit-alerts.jsonl` holds the
//! JSON lines `vigil audit scan --format json` wrote for the built-in detections (see the
//! README beside it), plus hand-made alerts at the edges (no evidence, no MITRE tags,
//! odd addresses, every severity).

use serde_json::{Value, json};
use std::path::PathBuf;
use vigil_core::format::ocsf::{self, Product};
use vigil_core::{Alert, Severity};

fn fixtures() -> PathBuf {
    std::env::var_os("VIGIL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/vigil-fixtures"))
}

fn schema_path() -> PathBuf {
    fixtures().join("ocsf-schema-v1/detection_finding-1.3.0.schema.json")
}

fn schema() -> Option<Value> {
    let root = fixtures().join("ocsf-schema-v1");
    if !root.join(".complete").is_file() {
        let why = format!(
            "the OCSF 1.3.0 Detection Finding schema is not installed at {} \
             (scripts/fixtures/ocsf-schema generates it from PyPI's ocsf-json-schema)",
            root.display()
        );
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
            || std::env::var("CI").is_ok_and(|v| v == "true")
        {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
        return None;
    }
    let text = std::fs::read_to_string(schema_path()).unwrap();
    Some(serde_json::from_str(&text).unwrap())
}

/// The alerts the engine wrote, and edge cases made from them.
fn alerts() -> Vec<Alert> {
    let text = include_str!("fixtures/alerts/audit-alerts.jsonl");
    let mut alerts: Vec<Alert> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(alerts.len() >= 5, "the fixture holds the built-ins' alerts");
    let first = alerts[0].clone();
    for (i, severity) in Severity::ALL.into_iter().enumerate() {
        let mut a = first.clone();
        a.severity = severity;
        match i {
            0 => {
                a.evidence.clear();
                a.mitre_tactic = None;
                a.mitre_technique = None;
                a.description.clear();
                a.remediation.clear();
                a.tags.clear();
                a.time = None;
            }
            1 => {
                a.mitre_tactic = Some("Command And Control".into());
                a.mitre_technique = Some("T1071.001".into());
                a.cluster = "prod-eu".into();
            }
            2 => {
                // Addresses that are not addresses are left out, IPv6 kept.
                a.evidence[0]["sourceIPs"] = json!(["2001:db8::7", "unknown", "10.0.0.1"]);
                a.evidence[0]["user"] = json!({"username": "system:anonymous"});
                a.evidence.push(a.evidence[0].clone());
            }
            3 => {
                a.evidence[0] = json!({"kind": "Event"});
                a.output = "x".repeat(70_000);
            }
            _ => {}
        }
        alerts.push(a);
    }
    alerts
}

#[test]
fn detection_findings_are_valid_ocsf_1_3_0() {
    let Some(schema) = schema() else { return };
    assert_eq!(
        schema["$id"],
        "https://schema.ocsf.io/schema/1.3.0/classes/detection_finding"
    );
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling the OCSF schema: {e}"));
    let product = Product::vigil(env!("CARGO_PKG_VERSION"), "audit");
    let mut failures = Vec::new();
    let alerts = alerts();
    let mut lines = Vec::new();
    for a in &alerts {
        let finding = ocsf::detection_finding(a, &product);
        for e in validator.iter_errors(&finding) {
            failures.push(format!("{}: {} at {}", a.rule_id, e, e.instance_path()));
        }
        lines.push(finding.to_string());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    python_check(&lines);
    // The validator does refuse what OCSF does not define, so the pass above means
    // something.
    let mut bad = ocsf::detection_finding(&alerts[0], &product);
    bad["finding_info"]["made_up"] = json!(1);
    bad["type_uid"] = json!(200499);
    bad["evidences"][0]["src_endpoint"]["ip"] = json!("not-an-ip");
    let errors: Vec<String> = validator.iter_errors(&bad).map(|e| e.to_string()).collect();
    assert!(errors.len() >= 2, "{errors:?}");
}

#[test]
fn required_attributes_without_the_schema() {
    // What the OCSF 1.3.0 Detection Finding class requires, checked by hand so the
    // mapping is held even where the schema is not installed.
    let product = Product::vigil("0.1.0", "audit");
    for a in alerts() {
        let f = ocsf::detection_finding(&a, &product);
        for key in [
            "activity_id",
            "category_uid",
            "class_uid",
            "finding_info",
            "metadata",
            "severity_id",
            "time",
            "type_uid",
        ] {
            assert!(f.get(key).is_some(), "{}: no {key}", a.rule_id);
        }
        assert_eq!(f["type_uid"], 200401);
        assert!(f["finding_info"]["uid"].is_string() && f["finding_info"]["title"].is_string());
        assert!(f["metadata"]["product"]["vendor_name"].is_string());
        assert_eq!(f["metadata"]["version"], "1.3.0");
        assert!(f["time"].is_i64());
    }
}

/// Python's `jsonschema` (Draft 2020-12, formats checked) on every finding, when the SBOM
/// schema fixtures brought it.
fn python_check(findings: &[String]) {
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
with open(sys.argv[1]) as fh:
    v = Draft202012Validator(json.load(fh), format_checker=Draft202012Validator.FORMAT_CHECKER)
n = 0
with open(sys.argv[2]) as fh:
    for line in fh:
        n += 1
        for e in v.iter_errors(json.loads(line)):
            print("INVALID line %d: %s: %s" % (n, "/".join(map(str, e.absolute_path)), e.message))
print("CHECKED %d" % n)
"#;
    let validators = fixtures().join("sbom-schemas-v2/validators");
    if !validators.join("jsonschema").is_dir() {
        eprintln!(
            "skipped the Python cross-check: no jsonschema under {}",
            validators.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("findings.jsonl");
    std::fs::write(&file, findings.join("\n")).unwrap();
    let out = std::process::Command::new("python3")
        .env("PYTHONPATH", &validators)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg("-c")
        .arg(SCRIPT)
        .arg(schema_path())
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python jsonschema failed to run:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("CHECKED {}", findings.len()),
        "python jsonschema"
    );
}
