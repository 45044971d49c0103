//! Correlation: repeats of one alert fold into one row with a count, and alerts about the
//! same pod, node or user close together in time form one incident with a timeline.
//!
//! The decisions are here as plain functions; the store applies them inside the ingest
//! transaction, so replicas sharing one database correlate the same way.

use crate::ingest::AlertRecord;

/// The windows correlation works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Same rule, same resource, within this many milliseconds of the last repeat: one
    /// alert with a count.
    pub dedup_ms: i64,
    /// Same pod (else node, else user) within this many milliseconds of the incident's
    /// last alert: the same incident.
    pub incident_ms: i64,
}

impl Default for Windows {
    fn default() -> Windows {
        Windows {
            dedup_ms: 10 * 60 * 1000,
            incident_ms: 30 * 60 * 1000,
        }
    }
}

/// What an incident is about: `pod:NAMESPACE/NAME`, `container:ID`, `node:NAME` or
/// `user:NAME`, the most specific the alert names; `None` when it names none of them.
pub fn subject(alert: &AlertRecord) -> Option<String> {
    let p = &alert.place;
    if !p.pod.is_empty() {
        Some(format!("pod:{}/{}", p.namespace, p.pod))
    } else if !p.container.is_empty() {
        Some(format!("container:{}", p.container))
    } else if !p.user.is_empty() {
        Some(format!("user:{}", p.user))
    } else if !p.node.is_empty() {
        Some(format!("node:{}", p.node))
    } else {
        None
    }
}

/// The key repeats of an alert share: the rule's own dedup key (same rule, same actor,
/// same object), scoped to where it happened.
pub fn dedup_key(alert: &AlertRecord) -> String {
    let p = &alert.place;
    format!(
        "{}|{}|{}|{}|{}|{}",
        alert.alert.rule_id, alert.alert.dedup_key, p.node, p.namespace, p.pod, p.container
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Place;

    fn record(place: Place) -> AlertRecord {
        AlertRecord {
            // Built from JSON so new optional fields of `Alert` need no change here.
            alert: serde_json::from_value(serde_json::json!({
                "rule_id": "R", "rule": "r", "severity": "HIGH", "output": "",
                "dedup_key": "k", "evidence": []
            }))
            .unwrap(),
            time_ms: 0,
            place,
        }
    }

    #[test]
    fn the_most_specific_subject_wins() {
        let mut p = Place {
            node: "n1".into(),
            ..Place::default()
        };
        assert_eq!(subject(&record(p.clone())).as_deref(), Some("node:n1"));
        p.user = "alice".into();
        assert_eq!(subject(&record(p.clone())).as_deref(), Some("user:alice"));
        p.container = "c1".into();
        assert_eq!(subject(&record(p.clone())).as_deref(), Some("container:c1"));
        p.namespace = "shop".into();
        p.pod = "web-1".into();
        assert_eq!(subject(&record(p)).as_deref(), Some("pod:shop/web-1"));
        assert_eq!(subject(&record(Place::default())), None);
    }

    #[test]
    fn dedup_keys_differ_by_place() {
        let a = record(Place {
            container: "c1".into(),
            ..Place::default()
        });
        let b = record(Place {
            container: "c2".into(),
            ..Place::default()
        });
        assert_ne!(dedup_key(&a), dedup_key(&b));
        assert_eq!(dedup_key(&a), dedup_key(&a.clone()));
    }
}
