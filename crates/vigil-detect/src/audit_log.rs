//! Reading audit logs: JSON lines of `audit.k8s.io` Events (v1 and v1beta1), `EventList`
//! documents (one per line or pretty-printed over many), gzip-compressed or not, and AKS
//! diagnostic-log records (`category: kube-audit` / `kube-audit-admin`, the event JSON as
//! a string in `properties.log`), all turned into the same [`AuditEvent`].
//!
//! The log is untrusted and can be huge, so it is streamed line by line: a malformed line
//! is counted and reported with its line number and reading goes on; a document is capped
//! at [`MAX_DOCUMENT_BYTES`]. Only the stages rules judge are kept (`ResponseComplete`
//! and `Panic`; a `RequestReceived` copy of the same request is dropped), and events are
//! deduplicated by `auditID` and stage over the last [`DEDUP_WINDOW`] events, so memory is
//! bounded whatever the log's length.

use crate::audit::AuditEvent;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read};

/// Largest single JSON document (one line, or a multi-line document) read.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;
/// How many recent `(auditID, stage)` pairs are remembered to drop duplicates.
pub const DEDUP_WINDOW: usize = 100_000;

/// A line that could not be read as an audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line where the document starts.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// What a read saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed out.
    pub events: usize,
    /// Events of other stages (`RequestReceived`, `ResponseStarted`) left out.
    pub other_stages: usize,
    /// Events seen again (same `auditID` and stage) and left out.
    pub duplicates: usize,
    /// Lines that were not audit events.
    pub malformed: Vec<Malformed>,
}

/// Streams the audit events of a log.
pub struct AuditLog<R> {
    reader: BufReader<R>,
    line: usize,
    pending: VecDeque<AuditEvent>,
    seen: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
    /// What has been seen so far.
    pub stats: Stats,
}

/// Opens `reader` as an audit log, inflating it when it starts with the gzip magic.
pub fn open(reader: impl Read + 'static) -> std::io::Result<AuditLog<Box<dyn Read>>> {
    let mut buffered = BufReader::new(reader);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    Ok(AuditLog::new(inner))
}

impl<R: Read> AuditLog<R> {
    /// Reads an uncompressed log.
    pub fn new(reader: R) -> AuditLog<R> {
        AuditLog {
            reader: BufReader::new(reader),
            line: 0,
            pending: VecDeque::new(),
            seen: HashSet::new(),
            order: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    fn malformed(&mut self, line: usize, reason: String) {
        self.stats.malformed.push(Malformed { line, reason });
    }

    /// The next line, of which at most [`MAX_DOCUMENT_BYTES`] are kept: a longer line is
    /// read to its end and discarded, so one huge line cannot exhaust memory. The inner
    /// `Err` says why a line is unusable (too long, not UTF-8).
    fn next_line(&mut self) -> Option<std::io::Result<Result<String, String>>> {
        let mut buf = Vec::new();
        let limit = MAX_DOCUMENT_BYTES as u64 + 1;
        match (&mut self.reader).take(limit).read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        self.line += 1;
        if buf.len() > MAX_DOCUMENT_BYTES && !buf.ends_with(b"\n") {
            // Skip the rest of the line without keeping it.
            loop {
                let chunk = match self.reader.fill_buf() {
                    Ok(c) => c,
                    Err(e) => return Some(Err(e)),
                };
                if chunk.is_empty() {
                    break;
                }
                let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                self.reader.consume(used);
                if done {
                    break;
                }
            }
            let reason = format!("line longer than {} MiB", MAX_DOCUMENT_BYTES >> 20);
            return Some(Ok(Err(reason)));
        }
        while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            buf.pop();
        }
        Some(Ok(
            String::from_utf8(buf).map_err(|e| format!("not UTF-8: {e}"))
        ))
    }

    /// Reads and decodes the next JSON document: a line, or lines until a document is
    /// complete. Each document is decoded once: an incomplete one (a pretty-printed
    /// EventList) is only retried with the next line appended.
    #[allow(clippy::type_complexity)]
    fn next_document(&mut self) -> Option<std::io::Result<(usize, Result<Value, String>)>> {
        loop {
            let text = match self.next_line()? {
                Ok(Ok(t)) => t,
                Ok(Err(reason)) => return Some(Ok((self.line, Err(reason)))),
                Err(e) => return Some(Err(e)),
            };
            if text.trim().is_empty() {
                continue;
            }
            let start = self.line;
            let mut doc = text;
            loop {
                if doc.len() > MAX_DOCUMENT_BYTES {
                    let message = format!("document larger than {} MiB", MAX_DOCUMENT_BYTES >> 20);
                    return Some(Ok((start, Err(message))));
                }
                let e = match serde_json::from_str::<Value>(&doc) {
                    Ok(v) => return Some(Ok((start, Ok(v)))),
                    Err(e) => e,
                };
                if !e.is_eof() {
                    return Some(Ok((start, Err(format!("not JSON: {e}")))));
                }
                match self.next_line() {
                    Some(Ok(Ok(more))) => {
                        doc.push('\n');
                        doc.push_str(&more);
                    }
                    Some(Ok(Err(reason))) => return Some(Ok((start, Err(reason)))),
                    Some(Err(e)) => return Some(Err(e)),
                    None => return Some(Ok((start, Err(format!("not JSON: {e}"))))),
                }
            }
        }
    }

    /// Queues the events of one decoded document, or records why it has none.
    fn take(&mut self, line: usize, value: Value) {
        // AKS diagnostic logs: the event is a JSON string inside the record.
        let value = match value.get("category").and_then(Value::as_str) {
            Some("kube-audit" | "kube-audit-admin") => {
                let Some(log) = value
                    .get("properties")
                    .and_then(|p| p.get("log"))
                    .and_then(Value::as_str)
                else {
                    return self
                        .malformed(line, "AKS kube-audit record without properties.log".into());
                };
                match serde_json::from_str(log) {
                    Ok(v) => v,
                    Err(e) => {
                        return self
                            .malformed(line, format!("AKS properties.log is not JSON: {e}"));
                    }
                }
            }
            Some(other) => {
                return self.malformed(
                    line,
                    format!("AKS record of category {other:?}, not kube-audit"),
                );
            }
            None => value,
        };
        match value.get("kind").and_then(Value::as_str) {
            Some("Event") => self.push(line, value),
            Some("EventList") => {
                let Some(Value::Array(items)) = value.get("items").cloned() else {
                    return self.malformed(line, "EventList without items".into());
                };
                for item in items {
                    self.push(line, item);
                }
            }
            Some(kind) => self.malformed(
                line,
                format!("kind {kind:?} is not an audit Event or EventList"),
            ),
            None => self.malformed(line, "no kind: not an audit event".into()),
        }
    }

    fn push(&mut self, line: usize, event: Value) {
        let api = event
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !matches!(api, "audit.k8s.io/v1" | "audit.k8s.io/v1beta1") {
            return self.malformed(
                line,
                format!("apiVersion {api:?} is not audit.k8s.io/v1 or v1beta1"),
            );
        }
        let stage = event
            .get("stage")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !matches!(stage.as_str(), "ResponseComplete" | "Panic") {
            self.stats.other_stages += 1;
            return;
        }
        let id = event
            .get("auditID")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !id.is_empty() {
            let key = (id, stage);
            if !self.seen.insert(key.clone()) {
                self.stats.duplicates += 1;
                return;
            }
            self.order.push_back(key);
            if self.order.len() > DEDUP_WINDOW
                && let Some(old) = self.order.pop_front()
            {
                self.seen.remove(&old);
            }
        }
        self.stats.events += 1;
        self.pending.push_back(AuditEvent { value: event });
    }
}

impl<R: Read> Iterator for AuditLog<R> {
    type Item = std::io::Result<AuditEvent>;

    /// The next event; an I/O error (a truncated gzip stream) ends the log.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(Ok(e));
            }
            match self.next_document()? {
                Ok((line, Ok(value))) => self.take(line, value),
                Ok((line, Err(reason))) => self.malformed(line, reason),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn event(id: &str, stage: &str, verb: &str) -> String {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","verb":"{verb}","requestURI":"/api/v1/pods","user":{{"username":"u"}}}}"#
        )
    }

    fn read(text: &str) -> (Vec<String>, Stats) {
        let mut log = AuditLog::new(text.as_bytes());
        let ids = log
            .by_ref()
            .map(|e| {
                e.unwrap().value["auditID"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        (ids, log.stats)
    }

    #[test]
    fn lines_lists_stages_duplicates_and_bad_lines() {
        let list = format!(
            "{{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n    {},\n    {}\n  ]\n}}",
            event("b", "ResponseComplete", "get"),
            event("c", "Panic", "get")
        );
        let text = [
            event("a", "RequestReceived", "create"),
            event("a", "ResponseComplete", "create"),
            "not json at all".to_string(),
            String::new(),
            event("a", "ResponseComplete", "create"),
            list,
            r#"{"kind":"Pod","apiVersion":"v1"}"#.to_string(),
            event("d", "ResponseComplete", "list")
                .replace("audit.k8s.io/v1", "audit.k8s.io/v1beta1"),
        ]
        .join("\n");
        let (ids, stats) = read(&text);
        assert_eq!(ids, ["a", "b", "c", "d"]);
        assert_eq!(stats.events, 4);
        assert_eq!(stats.other_stages, 1);
        assert_eq!(stats.duplicates, 1);
        let bad: Vec<(usize, &str)> = stats
            .malformed
            .iter()
            .map(|m| (m.line, m.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[0].0, 3);
        assert!(bad[0].1.starts_with("not JSON"));
        assert_eq!(bad[1].0, 14, "{bad:?}");
        assert!(bad[1].1.contains("\"Pod\" is not an audit Event"));
    }

    #[test]
    fn an_overlong_line_is_reported_and_skipped_without_being_kept() {
        let long = format!("{{\"kind\":\"{}\"}}", "x".repeat(MAX_DOCUMENT_BYTES + 10));
        let text = [
            event("a", "ResponseComplete", "get"),
            long,
            event("b", "ResponseComplete", "get"),
        ]
        .join("\n");
        let (ids, stats) = read(&text);
        assert_eq!(ids, ["a", "b"]);
        let bad: Vec<(usize, &str)> = stats
            .malformed
            .iter()
            .map(|m| (m.line, m.reason.as_str()))
            .collect();
        assert_eq!(bad, [(2, "line longer than 16 MiB")]);
    }

    #[test]
    fn gzip_and_a_truncated_document() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(
            format!(
                "{}\n{}\n",
                event("x", "ResponseComplete", "get"),
                "{\"kind\": \"Event\","
            )
            .as_bytes(),
        )
        .unwrap();
        let bytes = gz.finish().unwrap();
        let mut log = open(std::io::Cursor::new(bytes)).unwrap();
        let events: Vec<AuditEvent> = log.by_ref().map(Result::unwrap).collect();
        assert_eq!(events.len(), 1);
        assert_eq!(log.stats.malformed.len(), 1);
        assert_eq!(log.stats.malformed[0].line, 2);
    }

    #[test]
    fn the_real_aks_record() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/audit/aks-diagnostic-kube-audit.jsonl");
        let Ok(file) = std::fs::File::open(&path) else {
            eprintln!(
                "skipped: {} is absent (the shared real data sets are not in a user's checkout)",
                path.display()
            );
            return;
        };
        let mut log = open(file).unwrap();
        let events: Vec<AuditEvent> = log.by_ref().map(Result::unwrap).collect();
        assert_eq!(log.stats.malformed, []);
        assert_eq!(events.len(), 1);
        let e = &events[0].value;
        assert_eq!(e["auditID"], "ad26f7bc-f1c6-4097-90f1-e0924e12f257");
        assert_eq!(e["user"]["username"], "aksService");
        assert_eq!(e["objectRef"]["resource"], "leases");
    }
}
