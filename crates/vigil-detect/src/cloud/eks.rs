//! EKS control-plane logs as CloudWatch Logs hands them out.
//!
//! EKS writes to the log group `/aws/eks/CLUSTER/cluster`, one log stream per component:
//! `kube-apiserver-audit-…` holds audit events (each message the plain Event JSON), while
//! `kube-apiserver-…`, `authenticator-…`, `kube-controller-manager-…`,
//! `cloud-controller-manager-…` and `kube-scheduler-…` hold text logs (Amazon EKS user
//! guide, "Send control plane logs to CloudWatch Logs"). Envelopes:
//! - `FilterLogEvents` output: `{"events":[{"logStreamName","timestamp","message",
//!   "ingestionTime","eventId"}],"searchedLogStreams":[…],"nextToken"}`; `GetLogEvents`:
//!   `{"events":[{"timestamp","message","ingestionTime"}],"nextForwardToken",
//!   "nextBackwardToken"}` (CloudWatch Logs API reference, FilteredLogEvent and
//!   OutputLogEvent).
//! - Subscription payloads: `{"messageType":"DATA_MESSAGE","owner","logGroup",
//!   "logStream","subscriptionFilters":[…],"logEvents":[{"id","timestamp","message"}]}`,
//!   `CONTROL_MESSAGE` for the destination checks; delivered to Lambda base64+gzip as
//!   `{"awslogs":{"data":…}}` (CloudWatch Logs user guide, "Subscription filters"; the
//!   Powertools `CloudWatchLogsEvent` schema).
//! - `GetQueryResults` output: `{"results":[[{"field":"@message","value":…},…]],
//!   "statistics","status"}` (CloudWatch Logs API reference, ResultField).

use super::{CLOUDWATCH_EVENT_LIMIT, CloudEvent, MAX_INFLATED_BYTES, Provider, Unwrapped, place};
use serde_json::{Map, Value};
use std::io::Read;

/// The log stream EKS writes audit events to starts with this.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit";

/// Streams of an EKS log group that hold text logs, never audit events.
const OTHER_STREAM_PREFIXES: &[&str] = &[
    "kube-apiserver-",
    "authenticator-",
    "kube-controller-manager-",
    "cloud-controller-manager-",
    "kube-scheduler-",
];

/// What a log stream's name says about its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    /// EKS's audit stream: every message must be an audit event.
    Audit,
    /// Another EKS component's stream: skipped.
    Other,
    /// No name, or a name EKS does not use (a self-managed cluster shipping its audit
    /// log to CloudWatch): audit events are taken, anything else is skipped.
    Unknown,
}

fn stream_kind(name: Option<&str>) -> Stream {
    match name {
        Some(n) if n.starts_with(AUDIT_STREAM_PREFIX) => Stream::Audit,
        Some(n) if OTHER_STREAM_PREFIXES.iter().any(|p| n.starts_with(p)) => Stream::Other,
        _ => Stream::Unknown,
    }
}

/// `CLUSTER` of an EKS log group name `/aws/eks/CLUSTER/cluster`, also when prefixed
/// by the account as Logs Insights' `@log` is (`123456789012:/aws/eks/…`).
pub fn cluster_of_log_group(group: &str) -> Option<String> {
    let path = group.rsplit_once(':').map_or(group, |(_, p)| p);
    let name = path.strip_prefix("/aws/eks/")?.strip_suffix("/cluster")?;
    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
}

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// A subscription payload (`messageType` present).
pub(super) fn subscription(o: &Map<String, Value>) -> Result<Unwrapped, String> {
    let mut out = Unwrapped::new(Provider::Eks);
    let events = match o.get("logEvents") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("CloudWatch Logs subscription: logEvents is not a list".into()),
        None => &[],
    };
    match o.get("messageType").and_then(Value::as_str) {
        Some("CONTROL_MESSAGE") => {
            out.skipped += events.len().max(1);
            return Ok(out);
        }
        Some("DATA_MESSAGE") => {}
        Some(other) => {
            return Err(format!(
                "CloudWatch Logs subscription: unknown messageType {other:?}"
            ));
        }
        None => return Err("CloudWatch Logs subscription: messageType is not text".into()),
    }
    if !o.contains_key("logEvents") {
        return Err("CloudWatch Logs DATA_MESSAGE without logEvents".into());
    }
    let stream = str_of(o, "logStream");
    let cluster = str_of(o, "logGroup").and_then(cluster_of_log_group);
    for (i, e) in events.iter().enumerate() {
        let at = format!("logEvents[{i}]");
        match e.as_object() {
            Some(r) => record(r, stream, cluster.as_deref(), &at, &mut out),
            None => out.errors.push(format!("{at}: not an object")),
        }
    }
    Ok(out)
}

/// `{"awslogs":{"data":"<base64 of gzip of a subscription payload>"}}`, the event a
/// Lambda subscriber receives.
pub(super) fn awslogs(aws: &Map<String, Value>) -> Result<Unwrapped, String> {
    let data = str_of(aws, "data").ok_or("awslogs without a data text")?;
    let gz = base64(data).ok_or("awslogs.data is not base64")?;
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(gz.as_slice())
        .take(MAX_INFLATED_BYTES as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("awslogs.data is not gzip: {e}"))?;
    if text.len() > MAX_INFLATED_BYTES {
        return Err(format!(
            "awslogs.data inflates to more than {} MiB",
            MAX_INFLATED_BYTES >> 20
        ));
    }
    let inner: Value =
        serde_json::from_slice(&text).map_err(|e| format!("awslogs.data is not JSON: {e}"))?;
    let Some(inner) = inner.as_object().filter(|i| i.contains_key("messageType")) else {
        return Err("awslogs.data is not a CloudWatch Logs subscription payload".into());
    };
    subscription(inner)
}

/// Standard base64 with or without padding; `None` on any other character.
fn base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// `FilterLogEvents` / `GetLogEvents` output: an `events` list, with the paging fields
/// the API returns (or, when a tool dropped those, log events in the list).
pub(super) fn is_api_output(o: &Map<String, Value>) -> bool {
    let Some(events) = o.get("events") else {
        return false;
    };
    [
        "searchedLogStreams",
        "nextToken",
        "nextForwardToken",
        "nextBackwardToken",
    ]
    .iter()
    .any(|k| o.contains_key(*k))
        || events
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_object)
            .is_some_and(is_log_event)
}

pub(super) fn api_output(o: &Map<String, Value>) -> Result<Unwrapped, String> {
    let Some(Value::Array(events)) = o.get("events") else {
        return Err("CloudWatch Logs output: events is not a list".into());
    };
    let mut out = Unwrapped::new(Provider::Eks);
    for (i, e) in events.iter().enumerate() {
        let at = format!("events[{i}]");
        match e.as_object() {
            Some(r) => record(r, None, None, &at, &mut out),
            None => out.errors.push(format!("{at}: not an object")),
        }
    }
    Ok(out)
}

/// `GetQueryResults` output: `results` (rows of field/value pairs) and `status`.
pub(super) fn is_query_results(o: &Map<String, Value>) -> bool {
    o.contains_key("results") && o.contains_key("status")
}

pub(super) fn query_results(o: &Map<String, Value>) -> Result<Unwrapped, String> {
    let Some(Value::Array(rows)) = o.get("results") else {
        return Err("CloudWatch Logs Insights results is not a list".into());
    };
    let mut out = Unwrapped::new(Provider::Eks);
    for (i, row) in rows.iter().enumerate() {
        let at = format!("results[{i}]");
        let Some(cells) = row.as_array() else {
            out.errors.push(format!("{at}: not a list of fields"));
            continue;
        };
        // Rebuild the row as a record with Logs Insights' field names.
        let mut r = Map::new();
        for cell in cells {
            if let (Some(f), Some(v)) =
                (cell.get("field").and_then(Value::as_str), cell.get("value"))
            {
                r.insert(f.to_string(), v.clone());
            }
        }
        if !r.contains_key("@message") {
            out.errors.push(format!(
                "{at}: no @message field (add it to the query's fields)"
            ));
            continue;
        }
        record(&r, None, None, &at, &mut out);
    }
    Ok(out)
}

/// One CloudWatch log event: a `message` (API, subscription and CLI records) or an
/// `@message` (Logs Insights), with at least one of the fields that come with it.
pub(super) fn is_log_event(o: &Map<String, Value>) -> bool {
    o.contains_key("@message")
        || (o.contains_key("message")
            && [
                "timestamp",
                "ingestionTime",
                "eventId",
                "id",
                "logStreamName",
                "logStream",
            ]
            .iter()
            .any(|k| o.contains_key(*k)))
}

/// Takes the audit event out of one log event record. `stream` and `cluster` come from
/// the envelope when it names them; the record's own names win.
pub(super) fn record(
    r: &Map<String, Value>,
    stream: Option<&str>,
    cluster: Option<&str>,
    at: &str,
    out: &mut Unwrapped,
) {
    let stream = ["logStreamName", "logStream", "@logStream"]
        .iter()
        .find_map(|k| str_of(r, k))
        .or(stream);
    let cluster = ["logGroup", "logGroupName", "@log"]
        .iter()
        .find_map(|k| str_of(r, k))
        .and_then(cluster_of_log_group)
        .or_else(|| cluster.map(String::from));
    let kind = stream_kind(stream);
    if kind == Stream::Other {
        out.skipped += 1;
        return;
    }
    let Some(message) = r.get("message").or_else(|| r.get("@message")) else {
        out.errors.push(place(at, "log event without a message"));
        return;
    };
    let parsed;
    let event = match message {
        Value::Object(_) => message,
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) if kind == Stream::Unknown && !text.trim_start().starts_with('{') => {
                // Text logs of a stream we cannot name: not an audit event.
                out.skipped += 1;
                return;
            }
            Err(e) => {
                let hint = if text.len() >= CLOUDWATCH_EVENT_LIMIT - 1024 {
                    " (CloudWatch Logs cuts events at 256 KB)"
                } else {
                    ""
                };
                out.errors
                    .push(place(at, &format!("message is not JSON: {e}{hint}")));
                return;
            }
        },
        _ => {
            out.errors
                .push(place(at, "message is neither text nor a JSON object"));
            return;
        }
    };
    let push = |out: &mut Unwrapped, e: &Value| {
        out.events.push(CloudEvent {
            event: e.clone(),
            cluster: cluster.clone(),
        });
    };
    match event.get("kind").and_then(Value::as_str) {
        Some("Event") => push(out, event),
        Some("EventList") => match event.get("items") {
            Some(Value::Array(items)) => {
                // The API server writes a list's items without kind and apiVersion (the
                // list has them); each event handed out carries its own.
                let api = event.get("apiVersion").cloned();
                for (j, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(o) if o.get("kind").is_none_or(|k| k == "Event") => {
                            let mut o = o.clone();
                            o.insert("kind".into(), "Event".into());
                            if let (false, Some(api)) = (o.contains_key("apiVersion"), &api) {
                                o.insert("apiVersion".into(), api.clone());
                            }
                            push(out, &Value::Object(o));
                        }
                        _ => out
                            .errors
                            .push(place(at, &format!("items[{j}] is not an audit Event"))),
                    }
                }
            }
            _ => out.errors.push(place(at, "EventList without items")),
        },
        _ if kind == Stream::Unknown => out.skipped += 1,
        Some(other) => out.errors.push(place(
            at,
            &format!("message of kind {other:?} is not an audit Event"),
        )),
        None => out
            .errors
            .push(place(at, "message has no kind: not an audit Event")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::events_from_envelope;
    use super::*;
    use serde_json::json;
    use std::io::Write;

    const AUDIT: &str = "kube-apiserver-audit-0f3c5e9a";
    const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get"}"#;

    fn run(doc: Value) -> Result<Unwrapped, String> {
        events_from_envelope(&doc).expect("an envelope")
    }

    fn data(events: Value) -> Value {
        json!({"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/aws/eks/prod/cluster",
               "logStream":AUDIT,"subscriptionFilters":["f"],"logEvents":events})
    }

    #[test]
    fn broken_envelopes_are_errors_not_panics() {
        for (doc, want) in [
            (
                json!({"messageType":"DATA_MESSAGE","logEvents":{"id":"1"}}),
                "CloudWatch Logs subscription: logEvents is not a list",
            ),
            (
                json!({"messageType":"DATA_MESSAGE","logStream":AUDIT}),
                "CloudWatch Logs DATA_MESSAGE without logEvents",
            ),
            (
                json!({"messageType":"HEARTBEAT","logEvents":[]}),
                "CloudWatch Logs subscription: unknown messageType \"HEARTBEAT\"",
            ),
            (
                json!({"messageType":3,"logEvents":[]}),
                "CloudWatch Logs subscription: messageType is not text",
            ),
            (
                json!({"events":"none","nextToken":"t"}),
                "CloudWatch Logs output: events is not a list",
            ),
            (
                json!({"results":{},"status":"Complete"}),
                "CloudWatch Logs Insights results is not a list",
            ),
            (json!({"awslogs":{}}), "awslogs without a data text"),
            (
                json!({"awslogs":{"data":"!!"}}),
                "awslogs.data is not base64",
            ),
            (
                json!({"awslogs":{"data":"aGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGd6aXA="}}),
                "awslogs.data is not gzip: invalid gzip header",
            ),
        ] {
            assert_eq!(run(doc.clone()), Err(want.to_string()), "{doc}");
        }
    }

    fn gzip_base64(bytes: &[u8]) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        let gz = gz.finish().unwrap();
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in gz.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        out
    }

    #[test]
    fn awslogs_payloads_are_checked_and_capped() {
        let good = data(json!([{"id":"1","timestamp":1,"message":EVENT}]));
        let u = run(json!({"awslogs":{"data":gzip_base64(good.to_string().as_bytes())}})).unwrap();
        assert_eq!(u.events.len(), 1);
        assert_eq!(u.events[0].cluster.as_deref(), Some("prod"));
        for (inner, want) in [
            (b"not json".to_vec(), "awslogs.data is not JSON"),
            (
                br#"{"kind":"Event"}"#.to_vec(),
                "awslogs.data is not a CloudWatch Logs subscription payload",
            ),
            (
                // Nested awslogs are not followed.
                format!(r#"{{"awslogs":{{"data":"{}"}}}}"#, gzip_base64(b"{}")).into_bytes(),
                "awslogs.data is not a CloudWatch Logs subscription payload",
            ),
            (
                vec![b' '; MAX_INFLATED_BYTES + 1],
                "awslogs.data inflates to more than 16 MiB",
            ),
        ] {
            let doc = json!({"awslogs":{"data":gzip_base64(&inner)}});
            let err = run(doc).unwrap_err();
            assert!(err.starts_with(want), "{err}");
        }
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64("").unwrap(), b"");
        assert_eq!(base64("/+/+").unwrap(), [0xff, 0xef, 0xfe]);
        assert_eq!(base64("aGV sbG8="), None);
    }

    #[test]
    fn bad_records_are_reported_and_the_rest_kept() {
        let long = format!(
            "{{\"kind\":\"Event\",\"x\":\"{}",
            "a".repeat(CLOUDWATCH_EVENT_LIMIT)
        );
        let u = run(data(json!([
            {"id":"1","timestamp":1,"message":"{\"kind\":\"Event\",\"apiVersion\":"},
            {"id":"2","timestamp":2,"message":EVENT},
            {"id":"3","timestamp":3,"message":"plain text"},
            {"id":"4","timestamp":4,"message":42},
            {"id":"5","timestamp":5},
            "text",
            {"id":"7","timestamp":7,"message":"{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}"},
            {"id":"8","timestamp":8,"message":"{\"verb\":\"get\"}"},
            {"id":"9","timestamp":9,"message":long},
            {"id":"10","timestamp":10,"message":{"kind":"Event","auditID":"b"}},
            {"id":"11","timestamp":11,"message":"{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{\"auditID\":\"c\"},{\"kind\":\"Pod\"},3]}"},
            {"id":"12","timestamp":12,"message":"{\"kind\":\"EventList\"}"},
        ])))
        .unwrap();
        let ids: Vec<&str> = u
            .events
            .iter()
            .map(|e| e.event["auditID"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(u.skipped, 0);
        assert_eq!(u.events[2].event["kind"], "Event");
        assert_eq!(u.events[2].event["apiVersion"], "audit.k8s.io/v1");
        let errors: Vec<&str> = u.errors.iter().map(String::as_str).collect();
        assert_eq!(errors.len(), 11, "{errors:#?}");
        assert!(errors[0].starts_with("logEvents[0]: message is not JSON: EOF"));
        assert!(!errors[0].contains("256 KB"));
        assert!(errors[1].starts_with("logEvents[2]: message is not JSON: expected value"));
        assert_eq!(
            errors[2],
            "logEvents[3]: message is neither text nor a JSON object"
        );
        assert_eq!(errors[3], "logEvents[4]: log event without a message");
        assert_eq!(errors[4], "logEvents[5]: not an object");
        assert_eq!(
            errors[5],
            "logEvents[6]: message of kind \"Pod\" is not an audit Event"
        );
        assert_eq!(
            errors[6],
            "logEvents[7]: message has no kind: not an audit Event"
        );
        assert!(errors[7].starts_with("logEvents[8]: message is not JSON"));
        assert!(errors[7].ends_with("(CloudWatch Logs cuts events at 256 KB)"));
        assert_eq!(errors[8], "logEvents[10]: items[1] is not an audit Event");
        assert_eq!(errors[9], "logEvents[10]: items[2] is not an audit Event");
        assert_eq!(errors[10], "logEvents[11]: EventList without items");
    }

    #[test]
    fn streams_decide_what_a_message_must_be() {
        let rec = |stream: &str, message: &str| {
            run(json!({"logStreamName":stream,"timestamp":1,"message":message,"eventId":"1"}))
                .unwrap()
        };
        // EKS's other components: skipped whatever they hold.
        for s in [
            "authenticator-0f3c",
            "kube-apiserver-0f3c",
            "kube-scheduler-0f3c",
            "kube-controller-manager-0f3c",
            "cloud-controller-manager-0f3c",
        ] {
            let u = rec(s, EVENT);
            assert_eq!(
                (u.events.len(), u.skipped, u.errors.len()),
                (0, 1, 0),
                "{s}"
            );
        }
        // The audit stream: anything but an audit event is an error.
        let u = rec(AUDIT, "I1129 12:00:00 text");
        assert_eq!((u.events.len(), u.skipped, u.errors.len()), (0, 0, 1));
        // A stream EKS does not name (a self-managed cluster's): audit events are taken,
        // other JSON and text are skipped, broken JSON is an error.
        let u = rec("apiserver/audit.log", EVENT);
        assert_eq!((u.events.len(), u.skipped), (1, 0));
        let u = rec("apiserver/audit.log", r#"{"level":"info","msg":"x"}"#);
        assert_eq!((u.events.len(), u.skipped, u.errors.len()), (0, 1, 0));
        let u = rec("apiserver/audit.log", "level=info msg=x");
        assert_eq!((u.events.len(), u.skipped, u.errors.len()), (0, 1, 0));
        let u = rec("apiserver/audit.log", r#"{"kind":"Ev"#);
        assert_eq!((u.events.len(), u.skipped, u.errors.len()), (0, 0, 1));
    }

    #[test]
    fn log_group_names() {
        for (group, want) in [
            ("/aws/eks/shop-prod/cluster", Some("shop-prod")),
            ("111122223333:/aws/eks/shop-prod/cluster", Some("shop-prod")),
            ("/aws/eks//cluster", None),
            ("/aws/eks/a/b/cluster", None),
            ("/aws/lambda/fn", None),
            ("", None),
        ] {
            assert_eq!(cluster_of_log_group(group).as_deref(), want, "{group}");
        }
    }

    #[test]
    fn a_control_message_without_events_counts_once() {
        let u = run(json!({"messageType":"CONTROL_MESSAGE"})).unwrap();
        assert_eq!((u.events.len(), u.skipped, u.errors.len()), (0, 1, 0));
    }
}
