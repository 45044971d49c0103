//! Storage behind one trait, so the embedded SQLite default and a shared PostgreSQL (and,
//! past what one database absorbs, a distributed log) are each one implementation.
//!
//! The trait speaks in the server's records ([`crate::ingest::Batch`]) and the API's rows
//! (below); SQL stays inside the implementations. Calls block: the HTTP side runs them on
//! the blocking pool.

pub mod postgres;
pub mod sqlite;

use crate::auth::{Principal, Role};
use crate::correlate::Windows;
use crate::ingest::Batch;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigil_core::Severity;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is busy beyond the wait: try again later (503).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The request cannot be met (a name taken, a cluster unknown): the caller's fault.
    #[error("{0}")]
    Invalid(String),
    /// Anything else.
    #[error("database error: {0}")]
    Other(String),
}

/// What one ingest stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ingested {
    /// The batch had been stored before (a retry): nothing stored this time.
    pub duplicate: bool,
    /// Raw events stored.
    pub events: u64,
    /// Alerts received.
    pub alerts: u64,
    /// Of those, repeats folded into an earlier alert.
    pub deduplicated: u64,
    /// Images stored.
    pub images: u64,
    /// Posture findings stored.
    pub findings: u64,
}

/// How long each kind of data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Raw events, milliseconds.
    pub events_ms: i64,
    /// Alerts and incidents (by their last sighting), milliseconds.
    pub alerts_ms: i64,
    /// Posture scans other than each cluster's latest, milliseconds.
    pub scans_ms: i64,
}

impl Default for Retention {
    fn default() -> Retention {
        const DAY: i64 = 24 * 3600 * 1000;
        Retention {
            events_ms: 7 * DAY,
            alerts_ms: 180 * DAY,
            scans_ms: 90 * DAY,
        }
    }
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Raw events.
    pub events: u64,
    /// Alerts.
    pub alerts: u64,
    /// Incidents.
    pub incidents: u64,
    /// Posture scans.
    pub scans: u64,
}

/// Filters shared by the list endpoints; each endpoint uses those that apply to it.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this cluster's rows.
    pub cluster: Option<String>,
    /// Only rows at or above this severity (`critical`, `high`, ...).
    pub severity: Option<String>,
    /// Text to search for: a substring of rule, output, names and ids; for raw events, a
    /// node or pod name, or the start of a container id.
    pub q: Option<String>,
    /// Only rows at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only raw events of this kind (`exec`, `open`, ...) or rows of this check.
    pub kind: Option<String>,
    /// Only rows about this pod (`NAMESPACE/NAME`) or node.
    pub subject: Option<String>,
    /// Rows per page (default 50, at most 500).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u32>,
}

impl ListQuery {
    /// The page size, bounded.
    pub fn limit(&self) -> i64 {
        i64::from(self.limit.unwrap_or(50).clamp(1, 500))
    }

    /// The rows to skip.
    pub fn offset(&self) -> i64 {
        i64::from(self.offset.unwrap_or(0))
    }

    /// The minimum severity asked for, or an error naming the parameter.
    pub fn min_severity(&self) -> Result<Option<Severity>, StoreError> {
        self.severity
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<Severity>()
                    .map_err(|e| StoreError::Invalid(format!("severity: {e}")))
            })
            .transpose()
    }

    /// `since` in milliseconds, or an error naming the parameter.
    pub fn since_ms(&self) -> Result<Option<i64>, StoreError> {
        self.since
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                crate::ingest::parse_time(s).ok_or_else(|| {
                    StoreError::Invalid(format!("since: {s:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
    }
}

/// One page of rows and how many match in all.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// Rows matching the filters, all pages together.
    pub total: u64,
    /// This page.
    pub items: Vec<T>,
}

/// A cluster and what the server holds for it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterRow {
    /// Its name.
    pub name: String,
    /// When its first token was made.
    pub created: String,
    /// When it last sent anything.
    pub last_seen: Option<String>,
    /// Raw events held.
    pub events: u64,
    /// Alerts held (after folding repeats).
    pub alerts: u64,
    /// Images scanned.
    pub images: u64,
    /// Posture findings in its latest scan.
    pub findings: u64,
}

/// An alert, repeats folded in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertRow {
    /// Server id.
    pub id: i64,
    /// Cluster.
    pub cluster: String,
    /// Rule id.
    pub rule_id: String,
    /// Rule name.
    pub rule: String,
    /// Severity.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// How many times it fired within the window.
    pub count: u64,
    /// First sighting.
    pub first_seen: String,
    /// Last sighting.
    pub last_seen: String,
    /// Node.
    pub node: String,
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container id.
    pub container: String,
    /// Image.
    pub image: String,
    /// User (audit alerts).
    pub user: String,
    /// The rule's output.
    pub output: String,
    /// MITRE ATT&CK tactic.
    pub mitre_tactic: Option<String>,
    /// MITRE ATT&CK technique.
    pub mitre_technique: Option<String>,
    /// The incident it belongs to.
    pub incident_id: Option<i64>,
}

/// An alert with the alert as first received (evidence included).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertDetail {
    /// The row.
    #[serde(flatten)]
    pub row: AlertRow,
    /// The first alert as received: evidence events, process tree, audit details.
    #[schema(value_type = Object)]
    pub alert: serde_json::Value,
}

/// Alerts about one subject close in time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentRow {
    /// Server id.
    pub id: i64,
    /// Cluster.
    pub cluster: String,
    /// What it is about: `pod:NS/NAME`, `container:ID`, `user:NAME` or `node:NAME`.
    pub subject: String,
    /// A title: the worst rule and how many alerts.
    pub title: String,
    /// The worst alert's severity.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// Alerts, repeats counted.
    pub alert_count: u64,
    /// First alert.
    pub first_seen: String,
    /// Last alert.
    pub last_seen: String,
}

/// An incident with its timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetail {
    /// The row.
    #[serde(flatten)]
    pub row: IncidentRow,
    /// Its alerts, oldest first.
    pub timeline: Vec<AlertRow>,
}

/// A raw event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventRow {
    /// Server id.
    pub id: i64,
    /// Cluster.
    pub cluster: String,
    /// When.
    pub time: String,
    /// `runtime` or `audit`.
    pub source: String,
    /// Event type.
    pub kind: String,
    /// Node.
    pub node: String,
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container id.
    pub container: String,
    /// The event as sent.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// Vulnerability counts by severity.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
pub struct SeverityCounts {
    /// Critical.
    pub critical: u64,
    /// High.
    pub high: u64,
    /// Medium.
    pub medium: u64,
    /// Low.
    pub low: u64,
    /// Informational and unknown.
    pub other: u64,
}

impl SeverityCounts {
    /// Counts one more at `s`.
    pub fn add(&mut self, s: Severity, n: u64) {
        match s {
            Severity::Critical => self.critical += n,
            Severity::High => self.high += n,
            Severity::Medium => self.medium += n,
            Severity::Low => self.low += n,
            Severity::Informational | Severity::Unknown => self.other += n,
        }
    }
}

/// A scanned image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageRow {
    /// Server id.
    pub id: i64,
    /// Cluster.
    pub cluster: String,
    /// Display name.
    pub name: String,
    /// The target as scanned.
    pub reference: String,
    /// Manifest digest, when known.
    pub digest: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// When scanned.
    pub scanned: String,
    /// Packages.
    pub packages: u64,
    /// Actionable vulnerabilities by severity.
    pub vulnerabilities: SeverityCounts,
}

/// One vulnerability of an image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VulnRow {
    /// CVE or advisory id.
    pub id: String,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Fixed versions, comma-separated.
    pub fixed: String,
    /// Severity.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// `fixed`, `not_fixed`, `wont_fix`...
    pub status: String,
    /// Summary.
    pub title: String,
}

/// An image with its vulnerabilities.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageDetail {
    /// The row.
    #[serde(flatten)]
    pub row: ImageRow,
    /// Its vulnerabilities, most severe first.
    pub vulnerabilities_list: Vec<VulnRow>,
}

/// A posture finding from a cluster's latest scan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FindingRow {
    /// Server id.
    pub id: i64,
    /// Cluster.
    pub cluster: String,
    /// Stable id across scans.
    pub finding_id: String,
    /// Check id.
    pub check_id: String,
    /// Severity.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// What is wrong.
    pub title: String,
    /// Resource kind.
    pub kind: String,
    /// Resource namespace.
    pub namespace: String,
    /// Resource name.
    pub name: String,
    /// The finding as reported (evidence, remediation, controls).
    #[schema(value_type = Object)]
    pub finding: serde_json::Value,
}

/// A cluster's latest posture scan: its attack paths.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PostureRow {
    /// Cluster.
    pub cluster: String,
    /// When scanned.
    pub scanned: String,
    /// Whether everything was read.
    pub complete: bool,
    /// Findings.
    pub findings: u64,
    /// The attack paths, highest risk first.
    #[schema(value_type = Vec<Object>)]
    pub attack_paths: serde_json::Value,
}

/// Alerts in one hour.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Bucket {
    /// The hour's start.
    pub start: String,
    /// Alerts (repeats counted) last seen in it.
    pub count: u64,
}

/// The dashboard's first page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Overview {
    /// Clusters known.
    pub clusters: u64,
    /// Raw events held.
    pub events: u64,
    /// Alerts by severity.
    pub alerts: SeverityCounts,
    /// Incidents with an alert in the last day.
    pub active_incidents: u64,
    /// Images scanned.
    pub images: u64,
    /// Vulnerabilities across images by severity.
    pub vulnerabilities: SeverityCounts,
    /// Posture findings (latest scans) by severity.
    pub findings: SeverityCounts,
    /// Alerts per hour over the last 24 hours, oldest first.
    pub alerts_over_time: Vec<Bucket>,
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRow {
    /// Name.
    pub name: String,
    /// `admin` or `cluster`.
    pub role: String,
    /// The cluster a cluster token writes.
    pub cluster: Option<String>,
    /// When made.
    pub created: String,
}

/// The server's storage.
pub trait Store: Send + Sync + 'static {
    /// Stores a token's digest under `name` (unique) with its role; a cluster role
    /// registers the cluster.
    fn add_token(&self, name: &str, role: &Role, digest: &[u8; 32]) -> Result<(), StoreError>;
    /// Every token.
    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError>;
    /// Removes the token named `name`; false when there was none.
    fn revoke_token(&self, name: &str) -> Result<bool, StoreError>;
    /// Who holds the token with this digest.
    fn principal(&self, digest: &[u8; 32]) -> Result<Option<Principal>, StoreError>;

    /// Stores a batch for `cluster` in one transaction, folding repeated alerts and
    /// grouping them into incidents. A batch id seen before stores nothing.
    fn ingest(
        &self,
        cluster: &str,
        batch: &Batch,
        windows: Windows,
        received_ms: i64,
    ) -> Result<Ingested, StoreError>;

    /// The first page's figures.
    fn overview(&self, now_ms: i64) -> Result<Overview, StoreError>;
    /// Every cluster.
    fn clusters(&self) -> Result<Vec<ClusterRow>, StoreError>;
    /// Alerts, latest first.
    fn alerts(&self, q: &ListQuery) -> Result<Page<AlertRow>, StoreError>;
    /// One alert.
    fn alert(&self, id: i64) -> Result<Option<AlertDetail>, StoreError>;
    /// Incidents, latest first.
    fn incidents(&self, q: &ListQuery) -> Result<Page<IncidentRow>, StoreError>;
    /// One incident with its timeline.
    fn incident(&self, id: i64) -> Result<Option<IncidentDetail>, StoreError>;
    /// Raw events, latest first.
    fn events(&self, q: &ListQuery) -> Result<Page<EventRow>, StoreError>;
    /// Images, most vulnerable first.
    fn images(&self, q: &ListQuery) -> Result<Page<ImageRow>, StoreError>;
    /// One image with its vulnerabilities.
    fn image(&self, id: i64) -> Result<Option<ImageDetail>, StoreError>;
    /// Posture findings of each cluster's latest scan, most severe first.
    fn findings(&self, q: &ListQuery) -> Result<Page<FindingRow>, StoreError>;
    /// Each cluster's latest posture scan and its attack paths.
    fn posture(&self, q: &ListQuery) -> Result<Vec<PostureRow>, StoreError>;

    /// Stored image reports with their clusters: of `cluster` only when given, and only
    /// those not matched against the database version (`DatabaseInfo::version`)
    /// `not_matched_against` when given.
    fn image_reports(
        &self,
        cluster: Option<&str>,
        not_matched_against: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, vigil_core::VulnReport)>, StoreError>;
    /// Alerts `sink` has not delivered yet, oldest first, at most `limit`. A sink met for
    /// the first time starts after the newest alert.
    fn export_pending(&self, sink: &str, limit: usize) -> Result<Vec<AlertDetail>, StoreError>;
    /// Records that `sink` delivered every alert up to `alert_id`.
    fn export_delivered(&self, sink: &str, alert_id: i64) -> Result<(), StoreError>;

    /// Deletes what is older than `retention` allows.
    fn prune(&self, retention: &Retention, now_ms: i64) -> Result<Pruned, StoreError>;
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The rank a severity is stored as (higher is worse).
pub fn rank(s: Severity) -> i64 {
    s as i64
}

/// The severity of a stored rank.
pub fn severity_of(rank: i64) -> Severity {
    match rank {
        5 => Severity::Critical,
        4 => Severity::High,
        3 => Severity::Medium,
        2 => Severity::Low,
        1 => Severity::Informational,
        _ => Severity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_ranks_round_trip() {
        for s in Severity::ALL {
            assert_eq!(severity_of(rank(s)), s);
        }
        assert!(rank(Severity::Critical) > rank(Severity::Low));
    }

    #[test]
    fn times_render_as_rfc3339() {
        assert_eq!(rfc3339(1_795_990_931_697), "2026-11-29T22:22:11.697Z");
    }

    #[test]
    fn query_parameters_are_checked() {
        let q = ListQuery {
            severity: Some("bogus".into()),
            since: Some("yesterday".into()),
            limit: Some(100_000),
            ..ListQuery::default()
        };
        assert!(
            q.min_severity()
                .unwrap_err()
                .to_string()
                .starts_with("severity")
        );
        assert!(q.since_ms().unwrap_err().to_string().starts_with("since"));
        assert_eq!(q.limit(), 500);
    }
}
