//! Kubernetes audit events inside cloud providers' log envelopes, turned into plain
//! `audit.k8s.io/v1` Event JSON so the log reader and the rules see one shape.
//!
//! Managed clusters do not hand out the API server's audit log file: EKS ships it to
//! CloudWatch Logs, GKE to Cloud Logging, and users export it from there in the wrapper
//! of whatever tool they used. The functions here are pure (JSON in, JSON out) so the
//! reader can call them on any decoded document and stay in charge of line numbers,
//! stages and deduplication. Every input is untrusted: nothing here panics, recursion is
//! one fixed level (an envelope holds records, a record holds one event or an EventList),
//! and the only decoder that can grow its input, gzip inside a Lambda `awslogs` payload, is
//! capped at [`MAX_INFLATED_BYTES`].
//!
//! Shapes handled by [`events_from_envelope`] (sources in the comments of each part):
//! - EKS through CloudWatch Logs: `aws logs filter-log-events` / `get-log-events` output,
//!   subscription payloads (Firehose, Kinesis, Lambda; `DATA_MESSAGE` and
//!   `CONTROL_MESSAGE`, also still base64+gzip inside `{"awslogs":{"data":…}}`),
//!   `aws logs get-query-results` output, and single log event records (`--output json`
//!   items, Logs Insights exports with `@message`).
//! - GKE through Cloud Logging: `LogEntry`s whose `protoPayload` is an `AuditLog` on a
//!   `k8s_cluster` resource, alone (one per line, as sinks to GCS, BigQuery and Pub/Sub
//!   write them) or in a JSON array (`gcloud logging read --format=json`).
//!
//! Line-level shapes, which a reader meets before it has a document, have their own
//! helpers: [`strip_cloudwatch_timestamp`] (CloudWatch's export to S3 writes
//! `2026-11-29T12:00:00.000Z {…}`) and [`concatenated_documents`] (Firehose writes records
//! back to back with no separator by default).

use serde_json::{Map, Value};

/// Largest payload a base64+gzip `awslogs.data` field may inflate to; a larger one is an
/// error, so a small compressed bomb cannot exhaust memory.
pub const MAX_INFLATED_BYTES: usize = 16 << 20;

/// CloudWatch Logs cuts a log event at 256 KB; EKS audit events larger than that arrive
/// truncated. Used to explain why a long message is not JSON.
const CLOUDWATCH_EVENT_LIMIT: usize = 256 * 1024;

/// The cloud whose envelope a document was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Amazon EKS control-plane logs through CloudWatch Logs.
    Eks,
    /// Google Kubernetes Engine audit logs through Cloud Logging.
    Gke,
}

/// One audit event out of an envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    /// `audit.k8s.io` Event JSON (`kind: Event`); stage and apiVersion are left for the
    /// reader to judge, as for any other event.
    pub event: Value,
    /// The cluster's name when the envelope says it: the EKS log group
    /// `/aws/eks/NAME/cluster`, or GKE's `resource.labels.cluster_name`. Audit events do
    /// not name their cluster, and alerts should.
    pub cluster: Option<String>,
}

/// What one envelope held.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrapped {
    /// Which cloud's envelope it was.
    pub provider: Provider,
    /// The audit events, in the envelope's order.
    pub events: Vec<CloudEvent>,
    /// Records that carry no audit event and are not meant to: messages of other EKS
    /// log streams (authenticator, scheduler, ...), `CONTROL_MESSAGE`s, Cloud Logging
    /// entries of other payload types or resources. Counted so a reader can say how much
    /// it passed over, never reported as malformed.
    pub skipped: usize,
    /// Records that should have held an audit event and could not be read, each as
    /// `where: why` (`logEvents[3]: message is not JSON: …`). One bad record does not
    /// lose the others.
    pub errors: Vec<String>,
}

impl Unwrapped {
    fn new(provider: Provider) -> Unwrapped {
        Unwrapped {
            provider,
            events: Vec::new(),
            skipped: 0,
            errors: Vec::new(),
        }
    }
}

/// The audit events inside a cloud provider's log envelope, converted to
/// `audit.k8s.io/v1` Event JSON; `None` when `doc` is not an envelope this module knows
/// (a plain audit Event or EventList, an AKS record, anything else), so the caller reads
/// it as before. `Err` says why a recognised envelope as a whole is unusable (its list
/// of records is not a list, a payload does not decode); a bad record inside a good
/// envelope goes to [`Unwrapped::errors`] instead.
pub fn events_from_envelope(doc: &Value) -> Option<Result<Unwrapped, String>> {
    match doc {
        Value::Object(o) => object_envelope(o),
        Value::Array(items) => array_envelope(items),
        _ => None,
    }
}

fn object_envelope(o: &Map<String, Value>) -> Option<Result<Unwrapped, String>> {
    if o.contains_key("kind") && o.contains_key("apiVersion") {
        // A Kubernetes object (an audit Event or EventList): not an envelope.
        return None;
    }
    if o.contains_key("messageType") {
        return Some(eks::subscription(o));
    }
    if let Some(Value::Object(aws)) = o.get("awslogs") {
        return Some(eks::awslogs(aws));
    }
    if eks::is_api_output(o) {
        return Some(eks::api_output(o));
    }
    if eks::is_query_results(o) {
        return Some(eks::query_results(o));
    }
    if eks::is_log_event(o) {
        let mut out = Unwrapped::new(Provider::Eks);
        eks::record(o, None, None, "", &mut out);
        return Some(Ok(out));
    }
    if gke::is_log_entry(o) {
        let mut out = Unwrapped::new(Provider::Gke);
        gke::entry(o, "", &mut out);
        return Some(Ok(out));
    }
    None
}

/// A JSON array is an envelope when its first object is a Cloud Logging entry or a
/// CloudWatch log event (`gcloud logging read --format=json`, a Logs Insights JSON
/// download); anything else in it is then an error of that record.
fn array_envelope(items: &[Value]) -> Option<Result<Unwrapped, String>> {
    let first = items.iter().find_map(Value::as_object)?;
    let provider = if gke::is_log_entry(first) {
        Provider::Gke
    } else if eks::is_log_event(first) {
        Provider::Eks
    } else {
        return None;
    };
    let mut out = Unwrapped::new(provider);
    for (i, item) in items.iter().enumerate() {
        let at = format!("[{i}]");
        let Some(o) = item.as_object() else {
            out.errors.push(format!("{at}: not an object"));
            continue;
        };
        match provider {
            Provider::Gke if gke::is_log_entry(o) => gke::entry(o, &at, &mut out),
            Provider::Eks if eks::is_log_event(o) => eks::record(o, None, None, &at, &mut out),
            Provider::Gke => out.errors.push(format!("{at}: not a Cloud Logging entry")),
            Provider::Eks => out.errors.push(format!("{at}: not a CloudWatch log event")),
        }
    }
    Some(Ok(out))
}

/// `at` followed by `: `, or nothing for a record that is the whole document.
fn place(at: &str, what: &str) -> String {
    if at.is_empty() {
        what.to_string()
    } else {
        format!("{at}: {what}")
    }
}

/// The JSON text of a line of CloudWatch Logs' export to S3, which prefixes each log
/// event with its RFC 3339 timestamp and a space (`2026-11-29T12:00:00.000Z {…}`). The
/// export task's objects hold one log stream each, so lines of other streams (plain-text
/// authenticator or scheduler logs) give `None`, as does any line that does not start
/// with such a timestamp or has no JSON object after it.
///
/// The format is the one the CloudWatch Logs user guide's "Exporting log data to Amazon
/// S3" relies on when it sorts exported lines by their leading timestamp.
pub fn strip_cloudwatch_timestamp(line: &str) -> Option<&str> {
    let (stamp, rest) = line.split_once(' ')?;
    if !is_rfc3339(stamp) {
        return None;
    }
    let rest = rest.trim_start();
    rest.starts_with('{').then_some(rest)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, checked by shape (digits where digits go),
/// which is all that is needed to tell a timestamp prefix from JSON or text.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r)
            .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt ")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(i + 1..i + 3) && at(i + 3, b":") && digits(i + 4..i + 6) && i + 6 == b.len()
        }
        _ => false,
    }
}

/// The JSON objects of `text` when it holds two or more back to back (`{…}{…}` or
/// `{…} {…}`), as Amazon Data Firehose writes CloudWatch Logs records to S3 unless a
/// newline delimiter is configured; `None` when `text` is not such a sequence (one value,
/// anything that does not parse, or values other than objects), so the caller reports
/// the line as it would have.
pub fn concatenated_documents(text: &str) -> Option<Vec<Value>> {
    let mut values = Vec::new();
    for v in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        values.push(v.ok().filter(Value::is_object)?);
    }
    (values.len() >= 2).then_some(values)
}

pub mod eks;
pub mod gke;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../tests/fixtures/cloud/", $name))
        };
    }

    fn unwrap(text: &str) -> Unwrapped {
        let doc: Value = serde_json::from_str(text).unwrap();
        events_from_envelope(&doc).expect("an envelope").unwrap()
    }

    fn ids(u: &Unwrapped) -> Vec<&str> {
        u.events
            .iter()
            .map(|e| e.event["auditID"].as_str().unwrap())
            .collect()
    }

    const EXEC: &str = "5d0b8f4e-2f7a-4c1e-9b3a-6e2d1c0f9a81";
    const LEASE: &str = "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b";
    const SECRETS: &str = "9a7c3b1d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
    const BINDING: &str = "c4e2a9f0-7b1d-4f3e-a5c6-d7e8f9a0b1c2";

    #[test]
    fn filter_log_events_output_keeps_the_audit_stream_and_skips_the_others() {
        let u = unwrap(fixture!("eks-filter-log-events.json"));
        assert_eq!(u.provider, Provider::Eks);
        assert_eq!(ids(&u), [EXEC, LEASE, SECRETS, BINDING]);
        assert_eq!(u.skipped, 2, "authenticator and scheduler messages");
        assert_eq!(u.errors, Vec::<String>::new());
        // filter-log-events does not say which log group it read.
        assert_eq!(u.events[0].cluster, None);
        assert_eq!(u.events[0].event["objectRef"]["subresource"], "exec");
        assert_eq!(
            u.events[3].event["requestObject"]["roleRef"]["name"],
            "cluster-admin"
        );
    }

    #[test]
    fn get_log_events_output_has_no_stream_names_and_is_judged_by_content() {
        let u = unwrap(fixture!("eks-get-log-events.json"));
        assert_eq!(ids(&u), [EXEC, LEASE, SECRETS, BINDING]);
        assert_eq!((u.skipped, u.errors.len()), (0, 0));
    }

    #[test]
    fn subscription_payloads_data_and_control_messages() {
        let lines: Vec<Unwrapped> = fixture!("eks-subscription.jsonl")
            .lines()
            .map(unwrap)
            .collect();
        let [control, audit, authn] = lines.as_slice() else {
            panic!("three payloads")
        };
        assert_eq!((control.events.len(), control.skipped), (0, 1));
        assert_eq!(ids(audit), [EXEC, LEASE, SECRETS, BINDING]);
        assert!(
            audit
                .events
                .iter()
                .all(|e| e.cluster.as_deref() == Some("shop-prod"))
        );
        assert_eq!((authn.events.len(), authn.skipped), (0, 1));
        assert!(audit.errors.is_empty() && authn.errors.is_empty());
    }

    #[test]
    fn firehose_objects_hold_payloads_back_to_back() {
        let text = fixture!("eks-firehose-s3.txt").trim_end();
        assert!(serde_json::from_str::<Value>(text).is_err());
        let docs = concatenated_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        let u = events_from_envelope(&docs[0]).unwrap().unwrap();
        assert_eq!(ids(&u), [EXEC, LEASE, SECRETS, BINDING]);
        let u = events_from_envelope(&docs[1]).unwrap().unwrap();
        assert_eq!((u.events.len(), u.skipped), (0, 1));
        // One document, or text that does not parse throughout, is not such a sequence.
        assert_eq!(concatenated_documents(r#"{"a":1}"#), None);
        assert_eq!(concatenated_documents(r#"{"a":1}{"b":"#), None);
        assert_eq!(concatenated_documents(""), None);
        assert_eq!(concatenated_documents("{} {}").map(|d| d.len()), Some(2));
        assert_eq!(concatenated_documents("1 2"), None);
        assert_eq!(concatenated_documents("{} []"), None);
    }

    #[test]
    fn lambda_awslogs_payload_is_decoded() {
        let u = unwrap(fixture!("eks-lambda-awslogs.json"));
        assert_eq!(ids(&u), [EXEC, LEASE, SECRETS, BINDING]);
        assert_eq!(u.events[0].cluster.as_deref(), Some("shop-prod"));
    }

    #[test]
    fn single_log_event_records() {
        let all: Vec<Unwrapped> = fixture!("eks-log-events.jsonl")
            .lines()
            .map(unwrap)
            .collect();
        assert_eq!(all.len(), 7);
        let taken: Vec<&str> = all.iter().flat_map(ids).collect();
        // The last record has no stream name: its content says it is an audit event.
        assert_eq!(taken, [EXEC, LEASE, SECRETS, BINDING, EXEC]);
        assert_eq!(all.iter().map(|u| u.skipped).sum::<usize>(), 2);
        assert!(all.iter().all(|u| u.errors.is_empty()));
    }

    #[test]
    fn s3_export_lines_after_their_timestamp() {
        let mut taken = Vec::new();
        for line in fixture!("eks-s3-export.txt").lines() {
            assert!(serde_json::from_str::<Value>(line).is_err());
            let json = strip_cloudwatch_timestamp(line).unwrap();
            let event: Value = serde_json::from_str(json).unwrap();
            // A plain audit Event: the reader takes it as it is.
            assert!(events_from_envelope(&event).is_none());
            taken.push(event["auditID"].as_str().unwrap().to_string());
        }
        assert_eq!(taken, [EXEC, LEASE, SECRETS, BINDING]);
    }

    #[test]
    fn cloudwatch_timestamp_shapes() {
        for (line, want) in [
            ("2026-11-29T12:00:00.000Z {\"a\":1}", Some("{\"a\":1}")),
            ("2026-11-29T12:00:00Z {}", Some("{}")),
            ("2026-11-29T12:00:00.123456789+01:00 {}", Some("{}")),
            ("2026-11-29t12:00:00z  {}", Some("{}")),
            ("2026-11-29T12:00:00.000Z text log line", None),
            ("2026-11-29T12:00:00.000Z", None),
            ("2026-11-29 12:00:00.000Z {}", None),
            ("2026-11-29T12:00:00. {}", None),
            ("2026-11-29T12:00:00+0100 {}", None),
            ("2026-11-29T12:00:00.000ZZ {}", None),
            ("26-11-29T12:00:00Z {}", None),
            ("{\"kind\":\"Event\"}", None),
            ("", None),
            ("é2026-11-29T12:00:00Z {}", None),
        ] {
            assert_eq!(strip_cloudwatch_timestamp(line), want, "{line:?}");
        }
    }

    #[test]
    fn logs_insights_query_results() {
        let u = unwrap(fixture!("eks-insights-query-results.json"));
        assert_eq!(ids(&u), [EXEC, LEASE, SECRETS, BINDING]);
        assert_eq!(u.skipped, 2);
        assert!(u.errors.is_empty());
        assert_eq!(u.events[0].cluster.as_deref(), Some("shop-prod"));
        // A query that left @message out cannot give events, and says so.
        let u = unwrap(
            r#"{"results":[[{"field":"@timestamp","value":"2026-11-29 12:00:00.000"}]],"status":"Complete"}"#,
        );
        assert_eq!(
            u.errors,
            ["results[0]: no @message field (add it to the query's fields)"]
        );
    }

    #[test]
    fn gcloud_logging_read_array_and_sink_lines() {
        let u = unwrap(fixture!("gke-logging-read.json"));
        assert_eq!(u.provider, Provider::Gke);
        assert_eq!(u.events.len(), 7);
        assert_eq!(u.skipped, 1, "the GKE cluster-management entry");
        assert!(u.errors.is_empty(), "{:?}", u.errors);
        assert!(
            u.events
                .iter()
                .all(|e| e.cluster.as_deref() == Some("shop-gke"))
        );
        let lines: Vec<Unwrapped> = fixture!("gke-sink.jsonl").lines().map(unwrap).collect();
        let events: Vec<&CloudEvent> = lines.iter().flat_map(|u| &u.events).collect();
        assert_eq!(events, u.events.iter().collect::<Vec<_>>());
        assert_eq!(lines.iter().map(|u| u.skipped).sum::<usize>(), 1);
    }

    #[test]
    fn documents_that_are_not_envelopes() {
        for doc in [
            json!({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete"}),
            json!({"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}),
            // An AKS diagnostic record: the reader's own business.
            json!({"category":"kube-audit","properties":{"log":"{}"},"time":"2025-10-07T16:19:19Z"}),
            // Audit events that carry a message field stay audit events.
            json!({"kind":"Event","apiVersion":"audit.k8s.io/v1","message":"x","timestamp":1}),
            json!({"message": "hello"}),
            json!([1, 2, 3]),
            json!([{"kind":"Event"}]),
            json!([]),
            json!("text"),
            json!(42),
            Value::Null,
        ] {
            assert!(events_from_envelope(&doc).is_none(), "{doc}");
        }
    }

    #[test]
    fn arrays_report_records_of_another_shape() {
        let u = unwrap(
            r#"[{"logName":"projects/p/logs/x","textPayload":"hi"},7,{"message":"m","timestamp":1}]"#,
        );
        assert_eq!(u.provider, Provider::Gke);
        assert_eq!(u.skipped, 1);
        assert_eq!(
            u.errors,
            ["[1]: not an object", "[2]: not a Cloud Logging entry"]
        );
        let u =
            unwrap(r#"[{"message":"{\"kind\":\"Event\"}","timestamp":1},{"logName":"l"},null]"#);
        assert_eq!(u.provider, Provider::Eks);
        assert_eq!(u.events.len(), 1);
        assert_eq!(
            u.errors,
            ["[1]: not a CloudWatch log event", "[2]: not an object"]
        );
    }
}
