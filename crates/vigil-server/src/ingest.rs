//! What clusters send, read into the records the store keeps.
//!
//! Each ingest endpoint's body becomes one [`Batch`]: the raw events to keep for days,
//! the alerts to correlate, the image results and posture scans to show. Bodies are
//! untrusted: a malformed one is refused whole with the path of the field at fault, so
//! nothing half-read is stored and the client knows what to fix.

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use vigil_core::{Alert, PostureReport, Severity, VulnReport};

/// Most events or alerts one batch may carry.
pub const MAX_BATCH_ITEMS: usize = 100_000;

/// A body that cannot be stored, with the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct BadBatch {
    /// Where in the body, e.g. `events[3].time`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl BadBatch {
    fn new(path: impl Into<String>, message: impl Into<String>) -> BadBatch {
        BadBatch {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A batch from a node's sensor: its events and the alerts its rules raised.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SensorBatch {
    /// The sender's id for this batch; a batch sent again with the same id (a retry after
    /// a lost answer) is acknowledged without being stored twice.
    pub batch_id: String,
    /// The cluster, when the sender names it; must be the token's cluster.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The node the sensor runs on.
    #[serde(default)]
    pub node: String,
    /// Raw events (`vigil sensor` JSON lines), oldest first.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Box<RawValue>>,
    /// Alerts raised on those events.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<Alert>,
}

/// One raw event to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// When it happened, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// `runtime` or `audit`.
    pub source: &'static str,
    /// The event's type (`exec`, `open`, `connect`, an audit verb...).
    pub kind: String,
    /// Node, namespace, pod and container, where known.
    pub place: Place,
    /// The event as it came, JSON.
    pub body: String,
}

/// Where something happened: each part empty when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// Node name.
    pub node: String,
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container id.
    pub container: String,
    /// Image reference.
    pub image: String,
    /// User (audit events: `user.username`).
    pub user: String,
}

/// One alert to correlate.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// The alert.
    pub alert: Alert,
    /// When it happened, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Where, from the alert and its evidence.
    pub place: Place,
}

/// Everything one request brings, stored in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// The sender's batch id, for retries.
    pub id: Option<String>,
    /// Raw events.
    pub events: Vec<EventRecord>,
    /// Alerts.
    pub alerts: Vec<AlertRecord>,
    /// Image vulnerability reports.
    pub images: Vec<VulnReport>,
    /// A posture scan.
    pub posture: Option<PostureReport>,
}

/// The fields of a sensor event the store indexes (the rest stays in the body).
#[derive(Deserialize)]
struct SensorEventHead {
    kind: Option<String>,
    time: Option<String>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    container_id: Option<String>,
    #[serde(default)]
    container: Option<Named>,
    #[serde(default)]
    k8s: Option<K8sHead>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

#[derive(Deserialize)]
struct K8sHead {
    #[serde(default, alias = "ns")]
    namespace: Option<String>,
    #[serde(default)]
    pod: Option<String>,
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// One raw sensor event (a `vigil sensor` JSON line), indexed; `index` names it in errors.
pub fn sensor_event(raw: &str, batch_node: &str, index: usize) -> Result<EventRecord, BadBatch> {
    let head: SensorEventHead = serde_json::from_str(raw)
        .map_err(|e| BadBatch::new(format!("events[{index}]"), e.to_string()))?;
    let kind = head
        .kind
        .filter(|k| !k.is_empty())
        .ok_or_else(|| BadBatch::new(format!("events[{index}].kind"), "missing"))?;
    let time = head
        .time
        .ok_or_else(|| BadBatch::new(format!("events[{index}].time"), "missing"))?;
    let time_ms = parse_time(&time).ok_or_else(|| {
        BadBatch::new(
            format!("events[{index}].time"),
            format!("{time:?} is not an RFC 3339 time"),
        )
    })?;
    let container = head.container.as_ref();
    let place = Place {
        node: head.node.unwrap_or_else(|| batch_node.to_string()),
        namespace: head
            .k8s
            .as_ref()
            .and_then(|k| k.namespace.clone())
            .unwrap_or_default(),
        pod: head
            .k8s
            .as_ref()
            .and_then(|k| k.pod.clone())
            .unwrap_or_default(),
        container: head
            .container_id
            .or_else(|| container.and_then(|c| c.id.clone()))
            .unwrap_or_default(),
        image: container.and_then(|c| c.image.clone()).unwrap_or_default(),
        user: String::new(),
    };
    Ok(EventRecord {
        time_ms,
        source: "runtime",
        kind,
        place,
        body: raw.to_string(),
    })
}

/// Where an alert happened: its own fields, then its first evidence event's.
pub fn alert_place(alert: &Alert, fallback_node: &str) -> Place {
    let mut place = alert
        .evidence
        .first()
        .and_then(|e| serde_json::from_value::<SensorEventHead>(e.clone()).ok())
        .map(|h| Place {
            node: h.node.unwrap_or_default(),
            namespace: h
                .k8s
                .as_ref()
                .and_then(|k| k.namespace.clone())
                .unwrap_or_default(),
            pod: h
                .k8s
                .as_ref()
                .and_then(|k| k.pod.clone())
                .unwrap_or_default(),
            container: h
                .container_id
                .or_else(|| h.container.as_ref().and_then(|c| c.id.clone()))
                .unwrap_or_default(),
            image: h
                .container
                .as_ref()
                .and_then(|c| c.image.clone())
                .unwrap_or_default(),
            user: String::new(),
        })
        .unwrap_or_default();
    if place.node.is_empty() {
        place.node = fallback_node.to_string();
    }
    if !alert.namespace.is_empty() {
        place.namespace = alert.namespace.clone();
    }
    if let Some(audit) = &alert.audit {
        place.user = audit.user.clone();
    }
    place
}

/// The alert, checked and placed.
pub fn alert_record(
    alert: Alert,
    node: &str,
    received_ms: i64,
    path: &str,
) -> Result<AlertRecord, BadBatch> {
    if alert.rule_id.is_empty() {
        return Err(BadBatch::new(format!("{path}.rule_id"), "empty"));
    }
    let time_ms = match &alert.time {
        Some(t) => parse_time(t).ok_or_else(|| {
            BadBatch::new(
                format!("{path}.time"),
                format!("{t:?} is not an RFC 3339 time"),
            )
        })?,
        None => received_ms,
    };
    let place = alert_place(&alert, node);
    Ok(AlertRecord {
        alert,
        time_ms,
        place,
    })
}

fn check_cluster(named: Option<&str>, cluster: &str) -> Result<(), ClusterMismatch> {
    match named {
        Some(n) if !n.is_empty() && n != cluster => Err(ClusterMismatch {
            named: n.to_string(),
            token: cluster.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The body names another cluster than the token's: refused (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this token writes cluster {token:?} only; the data names cluster {named:?}")]
pub struct ClusterMismatch {
    /// The cluster the body names.
    pub named: String,
    /// The token's cluster.
    pub token: String,
}

/// Why a batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Malformed (400).
    #[error(transparent)]
    Bad(#[from] BadBatch),
    /// Another cluster's data (403).
    #[error(transparent)]
    Forbidden(#[from] ClusterMismatch),
}

impl SensorBatch {
    /// The records to store for `cluster`, or why not.
    pub fn into_batch(self, cluster: &str, received_ms: i64) -> Result<Batch, Refused> {
        check_cluster(self.cluster.as_deref(), cluster)?;
        if self.batch_id.is_empty() || self.batch_id.len() > 200 {
            return Err(BadBatch::new("batch_id", "must be 1 to 200 characters").into());
        }
        if self.events.len() > MAX_BATCH_ITEMS || self.alerts.len() > MAX_BATCH_ITEMS {
            return Err(BadBatch::new(
                "events",
                format!("more than {MAX_BATCH_ITEMS} events or alerts in one batch"),
            )
            .into());
        }
        let events = self
            .events
            .iter()
            .enumerate()
            .map(|(i, raw)| sensor_event(raw.get(), &self.node, i))
            .collect::<Result<Vec<_>, _>>()?;
        let alerts = self
            .alerts
            .into_iter()
            .enumerate()
            .map(|(i, a)| alert_record(a, &self.node, received_ms, &format!("alerts[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch {
            id: Some(self.batch_id),
            events,
            alerts,
            ..Batch::default()
        })
    }
}

/// An image scan result (the token names the cluster it belongs to).
pub fn image_batch(report: VulnReport) -> Result<Batch, Refused> {
    if report.inventory.target.name.is_empty() {
        return Err(BadBatch::new("inventory.target.name", "empty").into());
    }
    Ok(Batch {
        images: vec![report],
        ..Batch::default()
    })
}

/// A posture scan. The token names the cluster; the report's own cluster name is the
/// scanner's kubeconfig context, a label that need not match the server's name for it.
pub fn posture_batch(report: PostureReport) -> Batch {
    Batch {
        posture: Some(report),
        ..Batch::default()
    }
}

/// Highest severity among `alerts` (for incident titles).
pub fn worst(alerts: &[AlertRecord]) -> Severity {
    alerts
        .iter()
        .map(|a| a.alert.severity)
        .max()
        .unwrap_or(Severity::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(json: &str) -> SensorBatch {
        serde_json::from_str(json).unwrap()
    }

    const EXEC: &str = r#"{"kind":"exec","time":"2026-11-29T22:22:11.697758014Z","node":"n1",
        "container_id":"abc","process":{"pid":1,"name":"sh"}}"#;

    #[test]
    fn sensor_events_are_indexed_and_kept_verbatim() {
        let b = batch(&format!(
            r#"{{"batch_id":"b1","node":"n0","events":[{EXEC}]}}"#
        ));
        let b = b.into_batch("prod", 0).unwrap();
        assert_eq!(b.id.as_deref(), Some("b1"));
        let e = &b.events[0];
        assert_eq!(e.kind, "exec");
        assert_eq!(e.time_ms, 1_795_990_931_697);
        assert_eq!(e.place.node, "n1");
        assert_eq!(e.place.container, "abc");
        assert!(e.body.contains("\"pid\":1"));
    }

    #[test]
    fn a_bad_event_names_its_field() {
        let b = batch(r#"{"batch_id":"b1","events":[{"kind":"exec","time":"yesterday"}]}"#);
        match b.into_batch("prod", 0) {
            Err(Refused::Bad(e)) => assert_eq!(e.path, "events[0].time"),
            other => panic!("{other:?}"),
        }
        let b = batch(r#"{"batch_id":"b1","events":[{"time":"2026-11-29T22:22:11Z"}]}"#);
        match b.into_batch("prod", 0) {
            Err(Refused::Bad(e)) => assert_eq!(e.to_string(), "events[0].kind: missing"),
            other => panic!("{other:?}"),
        }
        let b = batch(r#"{"batch_id":"","events":[]}"#);
        assert!(matches!(b.into_batch("prod", 0), Err(Refused::Bad(_))));
    }

    #[test]
    fn another_clusters_batch_is_forbidden() {
        let b = batch(r#"{"batch_id":"b1","cluster":"staging"}"#);
        assert!(matches!(
            b.into_batch("prod", 0),
            Err(Refused::Forbidden(_))
        ));
        let b = batch(r#"{"batch_id":"b1","cluster":"prod"}"#);
        assert!(b.into_batch("prod", 0).is_ok());
    }

    #[test]
    fn alerts_take_their_place_from_the_evidence() {
        let alert: Alert = serde_json::from_str(&format!(
            r#"{{"rule_id":"R1","rule":"Shell","severity":"HIGH","output":"o","dedup_key":"k",
                "evidence":[{EXEC}]}}"#
        ))
        .unwrap();
        let r = alert_record(alert, "n0", 42, "alerts[0]").unwrap();
        assert_eq!(r.time_ms, 42);
        assert_eq!(r.place.node, "n1");
        assert_eq!(r.place.container, "abc");
    }
}
