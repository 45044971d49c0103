//! SARIF 2.1.0 for posture reports, as Kubescape and Trivy's misconfiguration scanner
//! write it for GitHub code scanning.
//!
//! One rule per check (its remediation as help, its controls as tags, a
//! `security-severity` standing for its severity), one result per finding. A finding read
//! from a manifest points at that file (line 1: a document's line is not tracked); every
//! result also names its resource as a logical location, and carries the finding's stable
//! id as a partial fingerprint so alerts follow the resource across scans.

use super::sarif::{SCHEMA_URI, level, severity_score, uri_path};
use crate::{Finding, PostureReport};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Writes `report` as a SARIF 2.1.0 log followed by a newline.
pub fn write(report: &PostureReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report))?;
    out.write_all(b"\n")
}

/// The log as a JSON value.
pub fn to_value(report: &PostureReport) -> Value {
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &report.findings {
        rules.entry(f.check_id.as_str()).or_insert(f);
    }
    let rule_index: BTreeMap<&str, usize> =
        rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rules: Vec<Value> = rules
        .values()
        .map(|f| {
            let mut tags = vec!["security".to_string(), "kubernetes".to_string()];
            tags.extend(f.controls.iter().cloned());
            json!({
                "id": f.check_id,
                "name": f.check_id,
                "shortDescription": {"text": f.check_id},
                "help": {"text": f.remediation, "markdown": f.remediation},
                "defaultConfiguration": {"level": level(f.severity)},
                "properties": {
                    "security-severity": format!("{:.1}", severity_score(f.severity)),
                    "precision": "very-high",
                    "tags": tags,
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut location = json!({
                "logicalLocations": [{
                    "fullyQualifiedName": f.resource.display_name(),
                    "kind": "resource",
                }],
            });
            if let Some(file) = &f.location {
                location["physicalLocation"] = json!({
                    "artifactLocation": {"uri": uri_path(file.trim_start_matches("./"))},
                    "region": {"startLine": 1},
                });
            }
            let evidence: Vec<String> = f
                .evidence
                .iter()
                .map(|e| format!("{} = {}", e.path, e.value))
                .collect();
            json!({
                "ruleId": f.check_id,
                "ruleIndex": rule_index.get(f.check_id.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", f.resource.display_name(), f.title)},
                "locations": [location],
                "partialFingerprints": {"vigilFindingId/v1": f.id},
                "properties": {"severity": f.severity, "evidence": evidence},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vigil",
                "fullName": "Vigil Kubernetes posture",
                "informationUri": super::sbom::HOME,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "columnKind": "utf16CodeUnits",
            "properties": {
                "target": report.target.name,
                "complete": report.complete(),
                "partial": report.partial,
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testdata::posture_report;

    #[test]
    fn rules_results_and_locations() {
        let v = to_value(&posture_report());
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["id"], "K8S-hygiene-no-digest");
        assert_eq!(rules[1]["properties"]["security-severity"], "9.5");
        let results = run["results"].as_array().unwrap();
        assert_eq!(results[0]["ruleId"], "K8S-rbac-cluster-admin");
        assert_eq!(results[0]["ruleIndex"], 1);
        assert_eq!(results[0]["level"], "error");
        assert!(results[0]["locations"][0].get("physicalLocation").is_none());
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "deploy/web%20app.yaml"
        );
        assert_eq!(run["properties"]["complete"], false);
    }
}
