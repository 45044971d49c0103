//! OSV records (<https://ossf.github.io/osv-schema/>), JSON or YAML, to [`Advisory`].

use crate::model::{Advisory, Affected, Event, Range, RangeKind};
use crate::{normalize_name, version::Scheme};
use serde::Deserialize;
use vigil_core::Severity;

/// Why a record was not imported.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    /// Not valid JSON/YAML, or not shaped like an OSV record.
    #[error("not an OSV record: {0}")]
    Syntax(String),
    /// The record has no `id`.
    #[error("the record has no id")]
    NoId,
}

/// What one record turned into.
#[derive(Debug)]
pub enum Parsed {
    /// An advisory to store, with the ecosystems it named that Vigil does not know
    /// (those affected entries were left out, not guessed).
    Advisory(Box<Advisory>, Vec<String>),
    /// A withdrawn record: ignored.
    Withdrawn(String),
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: String,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    affected: Option<Vec<AffectedEntry>>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    score: String,
}

#[derive(Deserialize)]
struct AffectedEntry {
    #[serde(default)]
    package: Option<PackageEntry>,
    #[serde(default)]
    ranges: Option<Vec<RangeEntry>>,
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    severity: Option<Vec<SeverityEntry>>,
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PackageEntry {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RangeEntry {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    events: Vec<EventEntry>,
}

#[derive(Deserialize)]
struct EventEntry {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    url: String,
}

/// The database an OSV id comes from, as findings name it: `osv:GHSA`, `osv:PYSEC`,
/// `osv:GO`, `osv:RUSTSEC` (the id's prefix).
pub fn source_name(id: &str) -> String {
    let prefix = id.split('-').next().unwrap_or(id);
    format!("osv:{prefix}")
}

/// Parses one OSV record from JSON (`is_yaml` false) or YAML.
pub fn parse(bytes: &[u8], is_yaml: bool, source: &str) -> Result<Parsed, OsvError> {
    let record: Record = if is_yaml {
        let text = std::str::from_utf8(bytes).map_err(|e| OsvError::Syntax(e.to_string()))?;
        serde_saphyr::from_str(text).map_err(|e| OsvError::Syntax(e.to_string()))?
    } else {
        serde_json::from_slice(bytes).map_err(|e| OsvError::Syntax(e.to_string()))?
    };
    convert(record, source)
}

fn convert(record: Record, source: &str) -> Result<Parsed, OsvError> {
    if record.id.is_empty() {
        return Err(OsvError::NoId);
    }
    if record.withdrawn.as_deref().is_some_and(|w| !w.is_empty()) {
        return Ok(Parsed::Withdrawn(record.id));
    }
    let mut unknown = Vec::new();
    let mut affected = Vec::new();
    let mut cvss = cvss_vectors(record.severity.as_deref().unwrap_or_default());
    for entry in record.affected.unwrap_or_default() {
        let Some(package) = entry.package else {
            continue;
        };
        if Scheme::for_osv_ecosystem(&package.ecosystem).is_none() {
            unknown.push(package.ecosystem);
            continue;
        }
        for vector in cvss_vectors(entry.severity.as_deref().unwrap_or_default()) {
            if !cvss.contains(&vector) {
                cvss.push(vector);
            }
        }
        let ranges = entry
            .ranges
            .unwrap_or_default()
            .into_iter()
            .filter_map(convert_range)
            .collect();
        // Either object may carry it; Go's ecosystem_specific holds only import paths.
        let severity = [&entry.ecosystem_specific, &entry.database_specific]
            .into_iter()
            .flatten()
            .find_map(severity_field);
        affected.push(Affected {
            name: normalize_name(&package.ecosystem, &package.name),
            ecosystem: package.ecosystem,
            ranges,
            versions: entry.versions.unwrap_or_default(),
            status: None,
            severity,
        });
    }
    let references = record.references.unwrap_or_default();
    let url = references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or_else(|| references.first())
        .map(|r| r.url.clone())
        .or_else(|| {
            record
                .database_specific
                .as_ref()
                .and_then(|d| d.get("url"))
                .and_then(|u| u.as_str())
                .map(str::to_owned)
        });
    let summary = record
        .summary
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            record
                .details
                .as_deref()
                .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut aliases = record.aliases.unwrap_or_default();
    aliases.retain(|a| *a != record.id);
    aliases.sort();
    aliases.dedup();
    Ok(Parsed::Advisory(
        Box::new(Advisory {
            severity: record.database_specific.as_ref().and_then(severity_field),
            id: record.id,
            source: source.to_owned(),
            aliases,
            summary,
            cvss,
            url,
            published: record.published,
            modified: record.modified,
            affected,
        }),
        unknown,
    ))
}

/// CVSS v3 and v4 vectors (v2 is not scored: its scale does not map onto today's).
fn cvss_vectors(entries: &[SeverityEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "CVSS_V3" | "CVSS_V4"))
        .map(|e| e.score.trim().to_owned())
        .filter(|s| s.starts_with("CVSS:"))
        .collect()
}

/// GHSA's `database_specific.severity` (`MODERATE` is GitHub's word for medium), or a
/// Debian record's `urgency` (`unimportant` is reported as low, as Debian's tracker means
/// it).
fn severity_field(value: &serde_json::Value) -> Option<Severity> {
    if let Some(urgency) = value.get("urgency").and_then(|u| u.as_str()) {
        return match urgency.trim_end_matches('*') {
            "unimportant" | "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        };
    }
    let text = value.get("severity")?.as_str()?;
    match text.to_ascii_uppercase().as_str() {
        "MODERATE" => Some(Severity::Medium),
        other => other.parse().ok().filter(|s| *s != Severity::Unknown),
    }
}

fn convert_range(range: RangeEntry) -> Option<Range> {
    let kind = match range.kind.as_str() {
        "ECOSYSTEM" => RangeKind::Ecosystem,
        "SEMVER" => RangeKind::Semver,
        "GIT" => RangeKind::Git,
        _ => return None,
    };
    let events = range
        .events
        .into_iter()
        .filter_map(|e| {
            e.introduced
                .map(Event::Introduced)
                .or(e.fixed.map(Event::Fixed))
                .or(e.last_affected.map(Event::LastAffected))
                .or(e.limit.map(Event::Limit))
        })
        .collect();
    Some(Range { kind, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO: &str = r#"{"id":"GO-2022-0956","aliases":["CVE-2022-3064","GHSA-6q6q-88xp-6f2r"],
      "summary":"Excessive resource consumption in gopkg.in/yaml.v2",
      "affected":[{"package":{"name":"gopkg.in/yaml.v2","ecosystem":"Go"},
        "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.2.4"}]}]},
        {"package":{"name":"x","ecosystem":"Nowhere"}}],
      "database_specific":{"url":"https://pkg.go.dev/vuln/GO-2022-0956"}}"#;

    #[test]
    fn json_record_converts_and_reports_unknown_ecosystems() {
        let Parsed::Advisory(adv, unknown) = parse(GO.as_bytes(), false, "osv:Go").unwrap() else {
            panic!("withdrawn?")
        };
        assert_eq!(adv.id, "GO-2022-0956");
        assert_eq!(adv.aliases, ["CVE-2022-3064", "GHSA-6q6q-88xp-6f2r"]);
        assert_eq!(
            adv.url.as_deref(),
            Some("https://pkg.go.dev/vuln/GO-2022-0956")
        );
        assert_eq!(adv.affected.len(), 1);
        assert_eq!(
            adv.affected[0].ranges[0].events,
            [Event::Introduced("0".into()), Event::Fixed("2.2.4".into())]
        );
        assert_eq!(unknown, ["Nowhere"]);
    }

    #[test]
    fn yaml_record_with_pep503_names_and_severity() {
        let yaml = "id: PYSEC-1\nsummary: ''\ndetails: |\n\n  First line.\n  Second.\naffected:\n- package:\n    name: Foo_Bar\n    ecosystem: PyPI\n  versions: ['1.0']\nseverity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\ndatabase_specific:\n  severity: MODERATE\n";
        let Parsed::Advisory(adv, _) = parse(yaml.as_bytes(), true, "osv:PyPI").unwrap() else {
            panic!()
        };
        assert_eq!(adv.summary, "First line.");
        assert_eq!(adv.affected[0].name, "foo-bar");
        assert_eq!(adv.severity, Some(Severity::Medium));
        assert_eq!(adv.cvss.len(), 1);
    }

    #[test]
    fn affected_severity_is_read_from_either_specific_object() {
        let json = r#"{"id":"X-2","affected":[{"package":{"name":"p","ecosystem":"Go"},
          "ecosystem_specific":{"imports":[]},"database_specific":{"severity":"HIGH"}}]}"#;
        let Parsed::Advisory(adv, _) = parse(json.as_bytes(), false, "s").unwrap() else {
            panic!()
        };
        assert_eq!(adv.affected[0].severity, Some(Severity::High));
    }

    #[test]
    fn withdrawn_and_malformed_records() {
        let w = r#"{"id":"X-1","withdrawn":"2024-01-01T00:00:00Z","affected":[]}"#;
        assert!(matches!(
            parse(w.as_bytes(), false, "s"),
            Ok(Parsed::Withdrawn(_))
        ));
        assert!(parse(b"{\"affected\": 3}", false, "s").is_err());
        assert!(parse(b"{}", false, "s").is_err());
        assert!(parse(b"- [", true, "s").is_err());
    }
}
