//! Vulnerability findings: what the matcher says about one package, and the report of a
//! whole image.

use crate::inventory::Inventory;
use crate::package::{Ecosystem, Location};
use crate::severity::Severity;
use serde::{Deserialize, Serialize};

/// Where a finding stands, in the vocabulary of the distributions that publish it.
///
/// Distro trackers say more than "affected": Debian marks issues `no-dsa` or `ignored`,
/// Red Hat says "will not fix". Those are statuses of a finding, not reasons to drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VulnStatus {
    /// A fixed version exists; upgrading to it removes the finding.
    Fixed,
    /// Affected, and no fixed version is known yet.
    Affected,
    /// The maintainers decided to fix it later (Debian `no-dsa`, `postponed`).
    FixDeferred,
    /// The maintainers will not fix it (Debian `ignored`, Red Hat "Will not fix").
    WillNotFix,
    /// The release is out of support (Debian `end-of-life`).
    EndOfLife,
    /// The distribution says this release is not affected; reported so nothing is
    /// silently hidden, filtered out of the default table.
    NotAffected,
    /// Still being assessed (Debian `undetermined`).
    UnderInvestigation,
}

impl VulnStatus {
    /// The snake-case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            VulnStatus::Fixed => "fixed",
            VulnStatus::Affected => "affected",
            VulnStatus::FixDeferred => "fix_deferred",
            VulnStatus::WillNotFix => "will_not_fix",
            VulnStatus::EndOfLife => "end_of_life",
            VulnStatus::NotAffected => "not_affected",
            VulnStatus::UnderInvestigation => "under_investigation",
        }
    }
}

impl std::fmt::Display for VulnStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CVSS vector with the base score computed from it (never copied from the source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `3.0`, `3.1` or `4.0`.
    pub version: String,
    /// The vector string, `CVSS:3.1/AV:N/...`.
    pub vector: String,
    /// Base score, 0.0 to 10.0.
    pub score: f64,
    /// Who published the vector (`nvd`, `ghsa`, the OSV database that carried it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

/// The package a finding is about, as the inventory recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedPackage {
    /// Packaging system.
    pub ecosystem: Ecosystem,
    /// Name as the inventory spells it.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// The source package the advisory named, for distro advisories keyed by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Where it was found (the layer that introduced it and the path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
}

/// One advisory matched against one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnMatch {
    /// The package.
    pub package: MatchedPackage,
    /// The finding's identifier: the CVE when one is known, else the advisory's own id.
    pub id: String,
    /// Every other identifier of the same vulnerability (GHSA, PYSEC, GO, RUSTSEC, DSA...),
    /// sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Severity: the distribution's own rating where given, else from the highest CVSS
    /// base score, else `Unknown`.
    pub severity: Severity,
    /// CVSS vectors with computed base scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<Cvss>,
    /// Versions that fix it (lowest first); empty when none is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// Where the finding stands.
    pub status: VulnStatus,
    /// The databases that reported it (`osv:PyPI`, `alpine-secdb`, `debian-tracker`).
    pub sources: Vec<String>,
    /// The advisory's primary web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the advisory was published, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

impl VulnMatch {
    /// The highest CVSS base score of the finding, if it has any vector.
    pub fn max_cvss_score(&self) -> Option<f64> {
        self.cvss.iter().map(|c| c.score).reduce(f64::max)
    }
}

/// What was known when the matching ran: which database, how old.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// The sources in the database (`osv:PyPI`, `alpine-secdb`, ...).
    pub sources: Vec<String>,
    /// When the database was last imported or updated, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

impl DatabaseInfo {
    /// What tells one state of a database from another: its sources and when it was last
    /// written. Reports matched against the same state carry the same version.
    pub fn version(&self) -> String {
        format!(
            "{}|{}",
            self.updated.as_deref().unwrap_or(""),
            self.sources.join(",")
        )
    }
}

/// An image's inventory with its vulnerability findings: the result of `vigil image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnReport {
    /// Version of this JSON schema ([`crate::VULN_REPORT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The inventory the findings refer to.
    pub inventory: Inventory,
    /// Findings, most severe first, then by package and id.
    pub matches: Vec<VulnMatch>,
    /// The database used.
    pub database: DatabaseInfo,
}

impl VulnReport {
    /// The findings to act on (all but `not_affected`), most severe first, then by
    /// package name, version and id: the order every report lists them in.
    pub fn actionable(&self) -> Vec<&VulnMatch> {
        let mut findings: Vec<&VulnMatch> = self
            .matches
            .iter()
            .filter(|m| m.status != VulnStatus::NotAffected)
            .collect();
        findings.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                &a.package.name,
                &a.package.version,
                &a.id,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    &b.package.name,
                    &b.package.version,
                    &b.id,
                ))
        });
        findings
    }

    /// Counts of findings per severity, most severe first, including zeros.
    pub fn counts(&self) -> [(Severity, usize); 6] {
        Severity::ALL.map(|s| (s, self.matches.iter().filter(|m| m.severity == s).count()))
    }
}
