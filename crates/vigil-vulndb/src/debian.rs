//! The Debian security tracker's JSON export
//! (<https://security-tracker.debian.org/tracker/data/json>) to [`Advisory`] records.
//!
//! The tracker is keyed by source package, then by issue, then by release codename. Its
//! states become statuses rather than silence: `no-dsa` with reason `postponed` is a
//! deferred fix, `ignored` will not be fixed, urgency `end-of-life` means the release is
//! out of support, `undetermined` is still under investigation, and a fixed version of
//! `0` says the release was never affected.

use crate::model::{Advisory, Affected, Event, Range, RangeKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigil_core::{Severity, VulnStatus};

/// The source name tracker advisories carry.
pub const SOURCE: &str = "debian-tracker";

type Tracker = BTreeMap<String, BTreeMap<String, Issue>>;

#[derive(Deserialize)]
struct Issue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: BTreeMap<String, Release>,
}

#[derive(Deserialize)]
struct Release {
    #[serde(default)]
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

/// The Debian release number of a codename; `sid` stays `sid`.
pub fn release_number(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "jessie" => "8",
        "stretch" => "9",
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        "duke" => "15",
        "sid" => "sid",
        _ => return None,
    })
}

/// Parses the tracker's JSON document into one advisory per issue.
pub fn parse(reader: impl std::io::Read) -> Result<Vec<Advisory>, String> {
    let tracker: Tracker =
        serde_json::from_reader(std::io::BufReader::new(reader)).map_err(|e| e.to_string())?;
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    for (package, issues) in tracker {
        for (id, issue) in issues {
            // Temporary ids (TEMP-0000000-XXXX) name unreported issues; keep them, they are
            // what the tracker publishes.
            let advisory = by_id.entry(id.clone()).or_insert_with(|| Advisory {
                url: Some(format!("https://security-tracker.debian.org/tracker/{id}")),
                id: id.clone(),
                source: SOURCE.into(),
                aliases: Vec::new(),
                summary: issue
                    .description
                    .as_deref()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                severity: None,
                cvss: Vec::new(),
                published: None,
                modified: None,
                affected: Vec::new(),
            });
            for (codename, release) in &issue.releases {
                let Some(number) = release_number(codename) else {
                    continue;
                };
                advisory.affected.push(affected(&package, number, release));
            }
        }
    }
    Ok(by_id.into_values().collect())
}

fn affected(package: &str, release_number: &str, release: &Release) -> Affected {
    let urgency = release
        .urgency
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('*');
    let severity = match urgency {
        "unimportant" | "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        _ => None,
    };
    let fixed = release.fixed_version.as_deref().filter(|v| !v.is_empty());
    let mut ranges = Vec::new();
    let status = match (release.status.as_str(), fixed) {
        (_, Some("0")) => Some(VulnStatus::NotAffected),
        ("resolved", Some(version)) => {
            ranges.push(Range {
                kind: RangeKind::Ecosystem,
                events: vec![Event::Introduced("0".into()), Event::Fixed(version.into())],
            });
            None
        }
        ("undetermined", _) => Some(VulnStatus::UnderInvestigation),
        _ if urgency == "end-of-life" => Some(VulnStatus::EndOfLife),
        _ => match release.nodsa_reason.as_deref() {
            Some("ignored") => Some(VulnStatus::WillNotFix),
            Some("postponed") => Some(VulnStatus::FixDeferred),
            _ if release.nodsa.is_some() => Some(VulnStatus::FixDeferred),
            _ => Some(VulnStatus::Affected),
        },
    };
    if status.is_some() && status != Some(VulnStatus::NotAffected) {
        // Open issues affect every version in the release.
        ranges.push(Range {
            kind: RangeKind::Ecosystem,
            events: vec![Event::Introduced("0".into())],
        });
    }
    Affected {
        ecosystem: format!("Debian:{release_number}"),
        name: package.to_owned(),
        ranges,
        versions: Vec::new(),
        status,
        severity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_states_become_statuses() {
        let json = r#"{
          "openssl": {"CVE-2023-0286": {"description": "X.400 type confusion",
            "releases": {
              "bookworm": {"status": "resolved", "fixed_version": "3.0.8-1", "urgency": "not yet assigned"},
              "bullseye": {"status": "resolved", "fixed_version": "1.1.1n-0+deb11u4", "urgency": "high"},
              "buster": {"status": "open", "urgency": "end-of-life"},
              "trixie": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"}}}},
          "tiff": {"CVE-2023-1": {"releases": {
              "bookworm": {"status": "open", "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "postponed"},
              "bullseye": {"status": "open", "urgency": "low", "nodsa": "", "nodsa_reason": "ignored"},
              "sid": {"status": "undetermined", "urgency": "not yet assigned"},
              "woody": {"status": "open"}}}}
        }"#;
        let advisories = parse(json.as_bytes()).unwrap();
        assert_eq!(advisories.len(), 2);
        let openssl = &advisories[0];
        assert_eq!(openssl.summary, "X.400 type confusion");
        let by_eco = |a: &Advisory, e: &str| a.affected.iter().find(|x| x.ecosystem == e).cloned();
        let bookworm = by_eco(openssl, "Debian:12").unwrap();
        assert_eq!(bookworm.status, None);
        assert_eq!(bookworm.ranges[0].events[1], Event::Fixed("3.0.8-1".into()));
        assert_eq!(
            by_eco(openssl, "Debian:11").unwrap().severity,
            Some(Severity::High)
        );
        assert_eq!(
            by_eco(openssl, "Debian:10").unwrap().status,
            Some(VulnStatus::EndOfLife)
        );
        assert_eq!(
            by_eco(openssl, "Debian:13").unwrap().status,
            Some(VulnStatus::NotAffected)
        );
        let tiff = &advisories[1];
        assert_eq!(tiff.affected.len(), 3, "woody is not a release Vigil knows");
        assert_eq!(
            by_eco(tiff, "Debian:12").unwrap().status,
            Some(VulnStatus::FixDeferred)
        );
        assert_eq!(
            by_eco(tiff, "Debian:11").unwrap().status,
            Some(VulnStatus::WillNotFix)
        );
        assert_eq!(
            by_eco(tiff, "Debian:sid").unwrap().status,
            Some(VulnStatus::UnderInvestigation)
        );
    }
}
