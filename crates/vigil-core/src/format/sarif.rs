//! SARIF 2.1.0, as Trivy and Grype write it for GitHub code scanning.
//!
//! One `run` whose `tool.driver` (`vigil`) carries one `rule` per vulnerability id and one
//! `result` per finding:
//! - a rule's `properties.security-severity` is the highest CVSS base score among its
//!   findings (GitHub ranks alerts by it: 9.0 and up critical, 7.0 high, 4.0 medium, above
//!   0 low); a finding without any CVSS vector gets a score standing for its severity
//!   instead, as Trivy does, so it is still ranked;
//! - its tags are `vulnerability`, `security` and the highest severity;
//! - a result's `level` is `error` for CRITICAL and HIGH, `warning` for MEDIUM and `note`
//!   below; its location is the file the package was read from (the path without its
//!   leading `/`, percent-encoded into a URI reference), or the image name when the
//!   package has no path, at line 1.
//!
//! Findings the distribution marks `not_affected` are not results (they would open code
//! scanning alerts); `run.properties.notAffected` counts them. Rules are sorted by id and
//! results by severity, package, version and id, whatever the order of the report.
//! `tests/sbom_schemas.rs` validates the output against the OASIS 2.1.0 JSON schema.

use super::{advisory, sbom};
use crate::{Severity, VulnMatch, VulnReport, VulnStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The schema URI written as `$schema`: the OASIS 2.1.0 standard with its errata.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Writes `report` as a SARIF 2.1.0 log followed by a newline.
pub fn write(report: &VulnReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &build(report))?;
    out.write_all(b"\n")
}

/// Builds the log as a JSON value (for callers that embed or inspect it).
pub fn to_value(report: &VulnReport) -> serde_json::Value {
    serde_json::to_value(build(report)).unwrap_or(serde_json::Value::Null)
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    results: Vec<SarifResult>,
    column_kind: &'static str,
    properties: RunProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties {
    image_name: String,
    image_reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_digest: Option<String>,
    #[serde(rename = "imageID", skip_serializing_if = "Option::is_none")]
    image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<String>,
    inventory_complete: bool,
    not_affected: usize,
    database_sources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_updated: Option<String>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    full_name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    /// Trivy's rule names, so GitHub groups the alerts the same way.
    name: &'static str,
    short_description: Text,
    full_description: Text,
    default_configuration: Configuration,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    help: Text,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Text {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
}

#[derive(Serialize)]
struct RuleProperties {
    precision: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: String,
    tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<ResultLocation>,
    properties: ResultProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLocation {
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    package_name: String,
    package_type: &'static str,
    installed_version: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixed_versions: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    purl: String,
    severity: Severity,
    status: VulnStatus,
}

/// `error`, `warning` or `note`, as Trivy maps severities.
pub(crate) fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Informational | Severity::Unknown => "note",
    }
}

/// A score in the band GitHub shows as `s`, for findings without CVSS (Trivy's values).
pub(crate) fn severity_score(s: Severity) -> f64 {
    match s {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Informational | Severity::Unknown => 0.0,
    }
}

fn score(m: &VulnMatch) -> f64 {
    m.max_cvss_score()
        .unwrap_or_else(|| severity_score(m.severity))
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/`, so any path
/// (spaces, `@`, `:` in the first segment) is a relative URI reference.
pub(crate) fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URIs of the files the package was found in (each once), else the image name.
fn artifact_uris(m: &VulnMatch, image: &str) -> Vec<String> {
    let mut uris: Vec<String> = Vec::new();
    for l in &m.package.locations {
        let p = l.path.trim_start_matches('/');
        if !p.is_empty() {
            let u = uri_path(p);
            if !uris.contains(&u) {
                uris.push(u);
            }
        }
    }
    if uris.is_empty() {
        uris.push(uri_path(image.trim_start_matches('/')));
    }
    uris
}

fn fixed_text(m: &VulnMatch) -> String {
    if m.fixed_versions.is_empty() {
        String::new()
    } else {
        m.fixed_versions.join(", ")
    }
}

fn image_name(report: &VulnReport) -> String {
    let t = &report.inventory.target;
    [t.name.as_str(), t.reference.as_str()]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("image")
        .to_string()
}

fn build(report: &VulnReport) -> Log {
    let image = image_name(report);
    let findings = report.actionable();

    let mut by_id: BTreeMap<&str, Vec<&VulnMatch>> = BTreeMap::new();
    for m in &findings {
        by_id.entry(m.id.as_str()).or_default().push(m);
    }
    let index: BTreeMap<&str, usize> = by_id.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Rule> = by_id.iter().map(|(id, ms)| rule(id, ms)).collect();

    let results = findings
        .iter()
        .map(|m| {
            let fixed = fixed_text(m);
            let fix = if fixed.is_empty() {
                format!("No fixed version is known (status: {}).", m.status)
            } else {
                format!("Fixed in {fixed}.")
            };
            let title = if m.title.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", m.title.trim())
            };
            let text = format!(
                "Package {} {} is affected by {} ({}){title}. Installed version: {}. {fix}",
                m.package.name, m.package.version, m.id, m.severity, m.package.version
            );
            SarifResult {
                rule_id: m.id.clone(),
                rule_index: index.get(m.id.as_str()).copied().unwrap_or_default(),
                level: level(m.severity),
                message: Text {
                    text,
                    markdown: None,
                },
                locations: artifact_uris(m, &image)
                    .into_iter()
                    .map(|uri| ResultLocation {
                        physical_location: PhysicalLocation {
                            artifact_location: ArtifactLocation { uri },
                            region: Region {
                                start_line: 1,
                                start_column: 1,
                                end_line: 1,
                                end_column: 1,
                            },
                        },
                        logical_locations: (!m.package.purl.is_empty())
                            .then(|| LogicalLocation {
                                fully_qualified_name: m.package.purl.clone(),
                                kind: "package",
                            })
                            .into_iter()
                            .collect(),
                    })
                    .collect(),
                properties: ResultProperties {
                    package_name: m.package.name.clone(),
                    package_type: m.package.ecosystem.as_str(),
                    installed_version: m.package.version.clone(),
                    fixed_versions: m.fixed_versions.clone(),
                    purl: m.package.purl.clone(),
                    severity: m.severity,
                    status: m.status,
                },
            }
        })
        .collect();

    let inv = &report.inventory;
    Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: sbom::TOOL_NAME,
                    full_name: "Vigil container security scanner",
                    version: sbom::TOOL_VERSION,
                    semantic_version: sbom::TOOL_VERSION,
                    information_uri: sbom::HOME,
                    rules,
                },
            },
            results,
            column_kind: "utf16CodeUnits",
            properties: RunProperties {
                image_name: image,
                image_reference: inv.target.reference.clone(),
                manifest_digest: inv.manifest_digest.clone(),
                image_id: inv.image_id.clone(),
                os: inv
                    .os
                    .as_ref()
                    .map(|o| format!("{} {}", o.id, o.version_id).trim().to_string()),
                inventory_complete: inv.complete,
                not_affected: report.matches.len() - findings.len(),
                database_sources: report.database.sources.clone(),
                database_updated: report.database.updated.clone(),
            },
        }],
    }
}

/// One rule for every finding of `id` (`ms` holds them, most severe first).
fn rule(id: &str, ms: &[&VulnMatch]) -> Rule {
    let severity = ms
        .iter()
        .map(|m| m.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let max_score = ms.iter().map(|m| score(m)).fold(0.0_f64, f64::max);
    let title = ms
        .iter()
        .map(|m| m.title.trim())
        .find(|t| !t.is_empty())
        .unwrap_or(id);
    let url = ms.iter().find_map(|m| advisory::url(id, m.url.as_deref()));
    let aliases: Vec<&str> = {
        let mut a: Vec<&str> = ms
            .iter()
            .flat_map(|m| m.aliases.iter().map(String::as_str))
            .collect();
        a.sort_unstable();
        a.dedup();
        a
    };
    let full = if aliases.is_empty() {
        title.to_string()
    } else {
        format!("{title} (also known as {})", aliases.join(", "))
    };

    let mut text = format!("Vulnerability {id}\nSeverity: {severity}\n");
    let mut markdown = format!(
        "**Vulnerability {id}**\n\n{}\n\n| Package | Installed Version | Fixed Version | Severity | Status |\n| --- | --- | --- | --- | --- |\n",
        md_escape(&full)
    );
    for m in ms {
        let fixed = fixed_text(m);
        text.push_str(&format!(
            "Package: {}\nInstalled Version: {}\nFixed Version: {}\nStatus: {}\n",
            m.package.name,
            m.package.version,
            if fixed.is_empty() { "none" } else { &fixed },
            m.status
        ));
        markdown.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md_escape(&m.package.name),
            md_escape(&m.package.version),
            md_escape(&fixed),
            m.severity,
            m.status
        ));
    }
    if let Some(u) = &url {
        text.push_str(&format!("Link: {u}\n"));
        markdown.push_str(&format!("\n[{id}]({u})\n"));
    }

    Rule {
        id: id.to_string(),
        name: if ms.iter().any(|m| m.package.ecosystem.is_os()) {
            "OsPackageVulnerability"
        } else {
            "LanguageSpecificPackageVulnerability"
        },
        short_description: Text {
            text: format!("{id}: {title}"),
            markdown: None,
        },
        full_description: Text {
            text: full,
            markdown: None,
        },
        default_configuration: Configuration {
            level: level(severity),
        },
        help_uri: url,
        help: Text {
            text,
            markdown: Some(markdown),
        },
        properties: RuleProperties {
            precision: "very-high",
            security_severity: format!("{max_score:.1}"),
            tags: vec![
                "vulnerability".to_string(),
                "security".to_string(),
                severity.to_string(),
            ],
        },
    }
}

/// Escapes the characters that would break a Markdown table cell or add formatting.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testdata::report;
    use serde_json::{Value, json};

    fn doc() -> Value {
        to_value(&report())
    }

    #[test]
    fn log_and_driver() {
        let d = doc();
        assert_eq!(d["version"], "2.1.0");
        assert_eq!(d["$schema"], SCHEMA_URI);
        let runs = d["runs"].as_array().cloned().unwrap_or_default();
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "vigil");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            driver["informationUri"],
            "https://github.com/vigil-sec/vigil"
        );
        assert_eq!(runs[0]["properties"]["notAffected"], 1);
        assert_eq!(runs[0]["properties"]["imageName"], "localhost:5000/app:1");
    }

    #[test]
    fn one_rule_per_id_sorted() {
        let d = doc();
        let rules = d["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(
            ids,
            [
                "CVE-2021-23337",
                "CVE-2023-9999",
                "CVE-2024-0001",
                "CVE-2024-35195",
                "TEMP-0000000-ABCDEF"
            ]
        );
        let crit = &rules[2];
        assert_eq!(crit["properties"]["security-severity"], "9.8");
        assert_eq!(
            crit["properties"]["tags"],
            json!(["vulnerability", "security", "CRITICAL"])
        );
        assert_eq!(
            crit["helpUri"],
            "https://security-tracker.debian.org/tracker/CVE-2024-0001"
        );
        let md = crit["help"]["markdown"].as_str().unwrap_or_default();
        assert!(
            md.contains("| libssl3 | 3.0.11-1~deb12u2 | 3.0.13-1~deb12u1 | CRITICAL | fixed |"),
            "{md}"
        );
        assert!(md.contains("| openssl |"), "{md}");
        // The distro rates CVE-2023-9999 LOW; its CVSS 7.5 is still the security-severity.
        assert_eq!(rules[1]["properties"]["security-severity"], "7.5");
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "note");
        // No CVSS: the score standing for the severity; no URL: the one the id implies.
        assert_eq!(rules[4]["properties"]["security-severity"], "0.0");
        assert_eq!(
            rules[4]["helpUri"],
            "https://security-tracker.debian.org/tracker/TEMP-0000000-ABCDEF"
        );
        assert_eq!(
            rules[4]["shortDescription"]["text"],
            "TEMP-0000000-ABCDEF: TEMP-0000000-ABCDEF"
        );
        // Aliases are named in the full description, the NVD page for a CVE without URL.
        assert_eq!(
            rules[3]["fullDescription"]["text"],
            "Requests `Session` object does not verify requests after making first request \
             with verify=False (also known as GHSA-9wx4-h78v-vm56, PYSEC-2024-60)"
        );
        assert_eq!(
            rules[3]["helpUri"],
            "https://nvd.nist.gov/vuln/detail/CVE-2024-35195"
        );
        assert_eq!(rules[3]["properties"]["security-severity"], "6.8");
    }

    #[test]
    fn one_result_per_finding() {
        let d = doc();
        let rules = d["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let results = d["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(results.len(), 6);
        for r in &results {
            let i = r["ruleIndex"].as_u64().unwrap_or(99) as usize;
            assert_eq!(rules[i]["id"], r["ruleId"]);
            assert_eq!(
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
                1
            );
        }
        let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
        assert_eq!(
            levels,
            ["error", "error", "error", "warning", "note", "note"]
        );
        assert_eq!(results[0]["properties"]["packageName"], "libssl3");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "var/lib/dpkg/status"
        );
        let msg = results[0]["message"]["text"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(
                "Package libssl3 3.0.11-1~deb12u2 is affected by CVE-2024-0001 (CRITICAL)"
            ),
            "{msg}"
        );
        assert!(msg.ends_with("Fixed in 3.0.13-1~deb12u1."), "{msg}");
        // lodash at two paths: two locations, the space percent-encoded.
        let lodash = &results[2];
        assert_eq!(lodash["ruleId"], "CVE-2021-23337");
        let uris: Vec<&str> = lodash["locations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l["physicalLocation"]["artifactLocation"]["uri"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            uris,
            [
                "srv/app/node_modules/lodash/package.json",
                "srv/other%20app/node_modules/lodash/package.json"
            ]
        );
        let wnf = results[4]["message"]["text"].as_str().unwrap_or_default();
        assert!(
            wnf.ends_with("No fixed version is known (status: will_not_fix)."),
            "{wnf}"
        );
    }

    #[test]
    fn packages_without_a_path_point_at_the_image_and_order_is_canonical() {
        let mut r = report();
        for m in &mut r.matches {
            m.package.locations.clear();
        }
        let d = to_value(&r);
        assert_eq!(
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "localhost%3A5000/app%3A1"
        );
        let mut reversed = report();
        reversed.matches.reverse();
        assert_eq!(to_value(&reversed), doc());
    }
}
