//! CycloneDX 1.6 JSON with vulnerabilities: the inventory document [`super::cyclonedx`]
//! writes (same components, same bom-refs), plus a top-level `vulnerabilities` array.
//!
//! One `vulnerabilities` entry per finding, as Grype writes them, rather than one per id as
//! Trivy does: status, severity and fixed versions belong to a finding, and one id on two
//! packages can differ in all three. Each entry has:
//! - `id`, and `source` (the database that reported it, with the advisory's page);
//! - `references`: the aliases, each with the publisher its prefix names;
//! - `ratings`: one per CVSS vector (`score`, the CVSS qualitative `severity`, `method`
//!   `CVSSv2`/`CVSSv3`/`CVSSv31`/`CVSSv4`, `vector`), plus the finding's own severity as a
//!   `method: other` rating when there is no vector or the distribution's rating differs
//!   from what the highest score implies;
//! - `description` (the title), `advisories` (the page), `recommendation` (the fixed
//!   versions), `published`;
//! - `affects`: the bom-ref of each component the finding is about (the package at each
//!   path the finding names), with the installed version;
//! - `analysis`: the status, mapped below; the status itself is kept verbatim in the
//!   `vigil:vuln:status` property.
//!
//! Status mapping. CycloneDX's `impactAnalysisState` describes the product (the image), and
//! its VEX guidance pairs the CISA VEX statuses with it: `affected` with `exploitable`,
//! `not_affected` with `not_affected`, `fixed` (the product ships the fix) with `resolved`,
//! `under_investigation` with `in_triage`. Every Vigil status but two is an "affected"
//! finding, so:
//!
//! | Vigil status          | `analysis.state` | `analysis.response` | `affects[].versions[].status` |
//! |-----------------------|------------------|---------------------|-------------------------------|
//! | `fixed`               | `exploitable`    | `update`            | `affected`                    |
//! | `affected`            | `exploitable`    | (none known)        | `affected`                    |
//! | `fix_deferred`        | `exploitable`    | (none yet)          | `affected`                    |
//! | `will_not_fix`        | `exploitable`    | `will_not_fix`      | `affected`                    |
//! | `end_of_life`         | `exploitable`    | `will_not_fix`      | `affected`                    |
//! | `not_affected`        | `not_affected`   |                     | `unaffected`                  |
//! | `under_investigation` | `in_triage`      |                     | `unknown`                     |
//!
//! Vigil's `fixed` means "a fixed version exists", not that the image has it, so it is not
//! `resolved`. `not_affected` has no `justification`: the distributions do not say which of
//! CycloneDX's reasons applies. `analysis.detail` says each in words.

use super::cyclonedx;
use super::{DocumentInfo, advisory};
use crate::{Severity, VulnMatch, VulnReport, VulnStatus};
use serde::Serialize;
use std::io::{self, Write};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Writes `report` as a CycloneDX 1.6 JSON document with vulnerabilities, followed by a
/// newline.
pub fn write(report: &VulnReport, info: &DocumentInfo, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(report, info))?;
    out.write_all(b"\n")
}

/// Builds the document as a JSON value (for callers that embed or inspect it).
pub fn to_value(report: &VulnReport, info: &DocumentInfo) -> serde_json::Value {
    serde_json::to_value(build(report, info)).unwrap_or(serde_json::Value::Null)
}

/// One entry of the `vulnerabilities` array.
#[derive(Serialize)]
pub(super) struct Vulnerability {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ratings: Vec<Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<Advisory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<String>,
    analysis: Analysis,
    affects: Vec<Affect>,
    properties: Vec<Property>,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct Source {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Reference {
    id: String,
    source: Source,
}

#[derive(Serialize)]
struct Rating {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<String>,
}

#[derive(Serialize)]
struct Advisory {
    url: String,
}

#[derive(Serialize)]
struct Analysis {
    state: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    response: Vec<&'static str>,
    detail: String,
}

#[derive(Serialize)]
struct Affect {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    versions: Vec<AffectedVersion>,
}

#[derive(Serialize)]
struct AffectedVersion {
    version: String,
    status: &'static str,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

fn build(report: &VulnReport, info: &DocumentInfo) -> cyclonedx::Bom {
    let (mut bom, refs) = cyclonedx::build_with_refs(&report.inventory, info);
    // Not the inventory document's serial number: this is another document.
    bom.serial_number = format!(
        "urn:uuid:{}",
        info.document_uuid("cyclonedx-vulnerabilities", report)
    );
    bom.vulnerabilities = report
        .matches
        .iter()
        .map(|m| vulnerability(m, report, &refs))
        .collect();
    bom
}

fn vulnerability(m: &VulnMatch, report: &VulnReport, refs: &cyclonedx::Refs) -> Vulnerability {
    let url = advisory::url(&m.id, m.url.as_deref());
    let source_name = m
        .sources
        .first()
        .cloned()
        .unwrap_or_else(|| advisory::source(&m.id).0);
    let (state, response, detail, version_status) = analysis(m);

    let mut properties = vec![Property {
        name: "vigil:vuln:status",
        value: m.status.as_str().to_string(),
    }];
    for s in &m.sources {
        properties.push(Property {
            name: "vigil:vuln:source",
            value: s.clone(),
        });
    }
    if let Some(src) = &m.package.source_name {
        properties.push(Property {
            name: "vigil:package:source-name",
            value: src.clone(),
        });
    }

    Vulnerability {
        id: m.id.clone(),
        source: Some(Source {
            name: source_name.clone(),
            url: url.clone(),
        }),
        references: m
            .aliases
            .iter()
            .filter(|a| **a != m.id)
            .map(|a| {
                let (name, url) = advisory::source(a);
                Reference {
                    id: a.clone(),
                    source: Source { name, url },
                }
            })
            .collect(),
        ratings: ratings(m, &source_name),
        description: (!m.title.trim().is_empty()).then(|| m.title.trim().to_string()),
        recommendation: recommendation(m),
        advisories: url.into_iter().map(|url| Advisory { url }).collect(),
        published: m.published.as_deref().and_then(date_time),
        analysis: Analysis {
            state,
            response,
            detail,
        },
        affects: affected_refs(m, report, refs)
            .into_iter()
            .map(|reference| Affect {
                reference,
                versions: (!m.package.version.is_empty())
                    .then(|| AffectedVersion {
                        version: m.package.version.clone(),
                        status: version_status,
                    })
                    .into_iter()
                    .collect(),
            })
            .collect(),
        properties,
    }
}

/// `(state, response, detail, affected status)` for the finding's status (see the table
/// at the top of this file).
fn analysis(m: &VulnMatch) -> (&'static str, Vec<&'static str>, String, &'static str) {
    let fixed = m.fixed_versions.join(", ");
    match m.status {
        VulnStatus::Fixed => (
            "exploitable",
            vec!["update"],
            if fixed.is_empty() {
                "A fixed version exists.".to_string()
            } else {
                format!("Fixed in {fixed}; the installed version is affected.")
            },
            "affected",
        ),
        VulnStatus::Affected => (
            "exploitable",
            Vec::new(),
            "Affected; no fixed version is known yet.".to_string(),
            "affected",
        ),
        VulnStatus::FixDeferred => (
            "exploitable",
            Vec::new(),
            "Affected; the distribution has deferred the fix (no-dsa, postponed).".to_string(),
            "affected",
        ),
        VulnStatus::WillNotFix => (
            "exploitable",
            vec!["will_not_fix"],
            "Affected; the distribution will not fix it.".to_string(),
            "affected",
        ),
        VulnStatus::EndOfLife => (
            "exploitable",
            vec!["will_not_fix"],
            "Affected; the release is end of life, so no fix will be published for it.".to_string(),
            "affected",
        ),
        VulnStatus::NotAffected => (
            "not_affected",
            Vec::new(),
            "The distribution states that this release is not affected.".to_string(),
            "unaffected",
        ),
        VulnStatus::UnderInvestigation => (
            "in_triage",
            Vec::new(),
            "The distribution is still assessing whether this release is affected.".to_string(),
            "unknown",
        ),
    }
}

/// The CVSS method name for a vector's version.
fn method(version: &str, vector: &str) -> &'static str {
    let v = if version.is_empty() {
        vector
            .strip_prefix("CVSS:")
            .and_then(|r| r.split('/').next())
            .unwrap_or("2.0")
    } else {
        version
    };
    match v {
        "2" | "2.0" => "CVSSv2",
        "3" | "3.0" => "CVSSv3",
        "3.1" => "CVSSv31",
        "4" | "4.0" => "CVSSv4",
        _ => "other",
    }
}

/// The CVSS qualitative rating of a base score (version 2 has no critical band).
fn cvss_severity(score: f64, method: &str) -> &'static str {
    if method == "CVSSv2" {
        return match score {
            s if s >= 7.0 => "high",
            s if s >= 4.0 => "medium",
            _ => "low",
        };
    }
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "none",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Informational => "info",
        Severity::Unknown => "unknown",
    }
}

fn ratings(m: &VulnMatch, source_name: &str) -> Vec<Rating> {
    let mut out: Vec<Rating> = m
        .cvss
        .iter()
        .map(|c| {
            let method = method(&c.version, &c.vector);
            Rating {
                source: (!c.source.is_empty()).then(|| Source {
                    name: c.source.clone(),
                    url: None,
                }),
                score: Some(c.score),
                severity: cvss_severity(c.score, method),
                method,
                vector: (!c.vector.is_empty()).then(|| c.vector.clone()),
            }
        })
        .collect();
    // The highest-scoring vector's rating; when the finding's severity says otherwise,
    // someone (the distribution) rated it, and that rating is kept too.
    let implied = out
        .iter()
        .filter_map(|r| r.score.map(|s| (s, r.severity)))
        .reduce(|a, b| if b.0 > a.0 { b } else { a })
        .map(|(_, s)| s);
    let own = severity_name(m.severity);
    if implied != Some(own) {
        out.push(Rating {
            source: Some(Source {
                name: source_name.to_string(),
                url: None,
            }),
            score: None,
            severity: own,
            method: "other",
            vector: None,
        });
    }
    out
}

fn recommendation(m: &VulnMatch) -> Option<String> {
    match m.fixed_versions.as_slice() {
        [] => None,
        [one] => Some(format!(
            "Upgrade {} from {} to {one} or later.",
            m.package.name, m.package.version
        )),
        many => Some(format!(
            "Upgrade {} from {} to a fixed version: {}.",
            m.package.name,
            m.package.version,
            many.join(", ")
        )),
    }
}

/// `published` as the schema's `date-time`: RFC 3339 as given, a bare date at midnight
/// UTC, anything else dropped.
fn date_time(s: &str) -> Option<String> {
    let s = s.trim();
    if OffsetDateTime::parse(s, &Rfc3339).is_ok() {
        return Some(s.to_string());
    }
    let with_time = format!("{s}T00:00:00Z");
    OffsetDateTime::parse(&with_time, &Rfc3339)
        .is_ok()
        .then_some(with_time)
}

/// The bom-refs of the inventory packages the finding is about: same purl (or the same
/// ecosystem, name and version when there is none) at one of the finding's paths, or at
/// any path when it names none. A finding whose package is not in the inventory points at
/// the image, so nothing is dropped.
fn affected_refs(m: &VulnMatch, report: &VulnReport, refs: &cyclonedx::Refs) -> Vec<String> {
    let p = &m.package;
    let mut out: Vec<String> = report
        .inventory
        .packages
        .iter()
        .zip(&refs.packages)
        .filter(|(q, _)| {
            let same = if p.purl.is_empty() || q.purl.is_empty() {
                q.ecosystem == p.ecosystem && q.name == p.name && q.version == p.version
            } else {
                q.purl == p.purl
            };
            same && (p.locations.is_empty()
                || p.locations.iter().any(|l| l.path == q.location.path))
        })
        .map(|(_, r)| r.clone())
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(refs.image.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testdata::report;
    use serde_json::{Value, json};

    fn doc() -> Value {
        to_value(
            &report(),
            &DocumentInfo::reproducible(OffsetDateTime::UNIX_EPOCH),
        )
    }

    fn vulns(d: &Value) -> Vec<Value> {
        d["vulnerabilities"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn same_components_as_the_inventory_document() {
        let r = report();
        let info = DocumentInfo::reproducible(OffsetDateTime::UNIX_EPOCH);
        let d = to_value(&r, &info);
        let inv = cyclonedx::to_value(&r.inventory, &info);
        assert_eq!(d["components"], inv["components"]);
        assert_eq!(d["metadata"], inv["metadata"]);
        assert_eq!(d["dependencies"], inv["dependencies"]);
        assert_ne!(d["serialNumber"], inv["serialNumber"]);
        assert!(inv.get("vulnerabilities").is_none());
        assert_eq!(vulns(&d).len(), r.matches.len());
    }

    #[test]
    fn a_fixed_finding() {
        let v = &vulns(&doc())[0];
        assert_eq!(v["id"], "CVE-2024-0001");
        assert_eq!(
            v["source"],
            json!({"name": "debian-tracker", "url": "https://security-tracker.debian.org/tracker/CVE-2024-0001"})
        );
        assert_eq!(
            v["ratings"],
            json!([{
                "source": {"name": "nvd"},
                "score": 9.8,
                "severity": "critical",
                "method": "CVSSv31",
                "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
            }])
        );
        assert_eq!(
            v["recommendation"],
            "Upgrade libssl3 from 3.0.11-1~deb12u2 to 3.0.13-1~deb12u1 or later."
        );
        assert_eq!(v["published"], "2024-01-26T09:15:00Z");
        assert_eq!(v["analysis"]["state"], "exploitable");
        assert_eq!(v["analysis"]["response"], json!(["update"]));
        assert_eq!(
            v["affects"],
            json!([{
                "ref": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
                "versions": [{"version": "3.0.11-1~deb12u2", "status": "affected"}]
            }])
        );
        assert!(
            v["properties"].as_array().is_some_and(
                |p| p.contains(&json!({"name": "vigil:vuln:status", "value": "fixed"}))
            )
        );
    }

    #[test]
    fn refs_aliases_ratings_and_statuses() {
        let d = doc();
        let component_refs: Vec<&Value> = d["components"]
            .as_array()
            .map(|a| a.iter().map(|c| &c["bom-ref"]).collect())
            .unwrap_or_default();
        let v = vulns(&d);
        for x in &v {
            for a in x["affects"].as_array().cloned().unwrap_or_default() {
                assert!(component_refs.contains(&&a["ref"]), "{a}");
            }
        }
        // lodash at two paths: both components.
        assert_eq!(v[2]["affects"].as_array().map(Vec::len), Some(2));
        assert_eq!(v[2]["published"], "2021-02-15T00:00:00Z");
        assert_eq!(
            v[2]["references"],
            json!([{"id": "GHSA-35jh-r3h4-6jhm", "source": {"name": "GitHub Advisory Database", "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm"}}])
        );
        // CVSS 3.1 and 4.0; the medium severity is what the highest score implies.
        let methods: Vec<&str> = v[3]["ratings"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["method"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(methods, ["CVSSv31", "CVSSv4"]);
        // The distribution's low beside a CVSS high: kept as an `other` rating.
        assert_eq!(
            v[4]["ratings"][1],
            json!({"source": {"name": "debian-tracker"}, "severity": "low", "method": "other"})
        );
        assert_eq!(v[4]["analysis"]["response"], json!(["will_not_fix"]));
        // No CVSS at all: only the `other` rating.
        assert_eq!(
            v[5]["ratings"],
            json!([{"source": {"name": "debian-tracker"}, "severity": "unknown", "method": "other"}])
        );
        assert_eq!(v[5]["analysis"]["state"], "in_triage");
        assert_eq!(v[5]["affects"][0]["versions"][0]["status"], "unknown");
        assert!(v[5].get("description").is_none());
        assert_eq!(v[6]["analysis"]["state"], "not_affected");
        assert!(v[6]["analysis"].get("response").is_none());
        assert_eq!(v[6]["affects"][0]["versions"][0]["status"], "unaffected");
    }

    #[test]
    fn every_status_maps_into_the_schema_enums() {
        use VulnStatus::*;
        for s in [
            Fixed,
            Affected,
            FixDeferred,
            WillNotFix,
            EndOfLife,
            NotAffected,
            UnderInvestigation,
        ] {
            let mut m = report().matches[0].clone();
            m.status = s;
            let (state, response, detail, status) = analysis(&m);
            assert!(
                [
                    "resolved",
                    "resolved_with_pedigree",
                    "exploitable",
                    "in_triage",
                    "false_positive",
                    "not_affected"
                ]
                .contains(&state)
            );
            assert!(response.iter().all(|r| {
                [
                    "can_not_fix",
                    "will_not_fix",
                    "update",
                    "rollback",
                    "workaround_available",
                ]
                .contains(r)
            }));
            assert!(["affected", "unaffected", "unknown"].contains(&status));
            assert!(!detail.is_empty());
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(method("", "CVSS:3.0/AV:N"), "CVSSv3");
        assert_eq!(method("", "AV:N/AC:L/Au:N/C:P/I:P/A:P"), "CVSSv2");
        assert_eq!(method("4.0", ""), "CVSSv4");
        assert_eq!(cvss_severity(9.0, "CVSSv2"), "high");
        assert_eq!(cvss_severity(0.0, "CVSSv31"), "none");
        assert_eq!(cvss_severity(3.9, "CVSSv4"), "low");
        assert_eq!(date_time("2024-02-30"), None);
        assert_eq!(date_time("yesterday"), None);
        assert_eq!(
            date_time("2024-01-02T03:04:05+01:00").as_deref(),
            Some("2024-01-02T03:04:05+01:00")
        );
    }

    #[test]
    fn unknown_packages_point_at_the_image() {
        let mut r = report();
        r.matches[0].package.purl = "pkg:deb/debian/gone@1".into();
        let d = to_value(&r, &DocumentInfo::now());
        assert_eq!(
            vulns(&d)[0]["affects"][0]["ref"],
            d["metadata"]["component"]["bom-ref"]
        );
    }
}
