//! The one advisory model every source is converted to.
//!
//! It follows the OSV schema (ranges of `introduced`/`fixed`/`last_affected`/`limit`
//! events, explicit version lists), widened with what distribution trackers add: a status
//! per affected package (Debian's `no-dsa`, `ignored`, ...) and the distribution's own
//! severity.

use serde::{Deserialize, Serialize};
use vigil_core::{Severity, VulnStatus};

/// One advisory from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The source's identifier (`PYSEC-2021-1`, `GO-2022-0956`, `CVE-2019-14904`).
    pub id: String,
    /// The database it came from (`osv:PyPI`, `alpine-secdb`, `debian-tracker`).
    pub source: String,
    /// Other identifiers of the same vulnerability (CVE, GHSA, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One-line summary (OSV `summary`, or the first line of `details`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// The source's own severity (GHSA `database_specific.severity`, Debian urgency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// CVSS vectors as published (`CVSS:3.1/...`, `CVSS:4.0/...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<String>,
    /// The advisory's web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// RFC 3339 publication time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// RFC 3339 time of the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// The packages and versions it affects.
    pub affected: Vec<Affected>,
}

/// The affected versions of one package in one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem, with the release for distributions (`PyPI`, `Debian:12`,
    /// `Alpine:v3.11`).
    pub ecosystem: String,
    /// Package name, normalized for lookup ([`crate::normalize_name`]); the source package
    /// for Debian and Ubuntu.
    pub name: String,
    /// Version ranges; a version is affected when any range or `versions` includes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Versions listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// A distribution's statement about this release when it is not "fixed in X"
    /// (not affected, will not fix, deferred, end of life, undetermined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VulnStatus>,
    /// A severity that applies to this package only (a distro's own rating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// How a range's versions are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// The ecosystem's own ordering.
    Ecosystem,
    /// SemVer 2.0 (Go's SEMVER ranges use Go's ordering, which agrees on valid input).
    Semver,
    /// Commit hashes; not comparable without the repository, so only `versions` count.
    Git,
}

/// One OSV range: events that open and close spans of affected versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// The ordering.
    pub kind: RangeKind,
    /// The events, in the order the source gave them.
    pub events: Vec<Event>,
}

/// A range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Versions from here on are affected (`0` means from the first version).
    Introduced(String),
    /// Versions from here on are fixed.
    Fixed(String),
    /// The last affected version; later ones are not.
    LastAffected(String),
    /// An upper bound on the whole range (`*` means none).
    Limit(String),
}

impl Event {
    /// The event's version.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}
