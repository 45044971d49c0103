//! Reading audit logs: JSON lines of `audit.k8s.io` Events (v1 and v1beta1), `EventList`
//! documents (one per line or pretty-printed over many), gzip-compressed or not, and AKS
//! diagnostic-log records (`category: kube-audit` / `kube-audit-admin`, the event JSON as
//! a string in `properties.log`), all handed out as the same [`AuditEvent`].
//!
//! The log is untrusted and can be huge, so it is streamed line by line: a malformed line
//! is counted and reported with its line number and reading goes on; a document is capped
//! at [`MAX_DOCUMENT_BYTES`]. Only the stages rules judge are kept (`ResponseComplete`
//! and `Panic`; a `RequestReceived` copy of the same request is dropped), and events are
//! deduplicated by `auditID` and stage over the last [`DEDUP_WINDOW`] events, so memory is
//! bounded whatever the log's length.
//!
//! Events borrow from the text they were parsed from, so they are handed to a callback
//! rather than returned: [`AuditLog::for_each`] for a log, [`Decoder::document`] for one
//! document (a webhook request body, say).

use crate::audit::{AuditEvent, Wire, parse_wire};
use crate::cloud;
use serde_json::Value;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::io::{BufRead, BufReader, Read};

/// Largest single JSON document (one line, or a multi-line document) read.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;
/// How many malformed lines are kept with their reasons (the rest are only counted).
pub const MAX_MALFORMED_KEPT: usize = 1000;
/// How many recent events are remembered, at least, to drop duplicates.
pub const DEDUP_WINDOW: usize = 100_000;
/// How deep envelopes may nest (an AKS record inside a JSON array, say).
const MAX_ENVELOPE_DEPTH: usize = 2;

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
    /// Records of cloud log envelopes that are not audit events (other EKS log
    /// streams, other GKE log entries) left out.
    pub skipped: usize,
    /// Lines that were not audit events: the first [`MAX_MALFORMED_KEPT`], so a log of
    /// garbage cannot fill memory with reasons.
    pub malformed: Vec<Malformed>,
    /// How many lines were not audit events, all of them.
    pub malformed_count: usize,
}

/// Whether a document was whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read (its events handed out, or the reason it has none recorded).
    Done,
    /// The text ends inside the document: more lines are needed.
    Incomplete,
}

/// Turns documents into events: checks kind, version and stage, drops duplicates, and
/// keeps the [`Stats`]. One decoder per stream, so duplicates are found across documents.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Keys of recent events: a keyed hash of their `auditID`, stage and completion time.
    /// Not the audit ID alone: clients choose it (the `Audit-ID` header), and reusing a
    /// harmless request's ID must not make a later attack look like its duplicate (the
    /// server stamps the time, to the microsecond). The hash is seeded at random, so keys
    /// cannot be made to collide either; 64 bits make a chance collision among the
    /// remembered events about 1 in 10^9.
    keys: foldhash::quality::RandomState,
    /// Two generations of keys, each of up to [`DEDUP_WINDOW`]: when the current one is
    /// full the older is dropped whole, so at least the last [`DEDUP_WINDOW`] events are
    /// always remembered without removing keys one by one.
    current: HashSet<u64, BuildHasherDefault<KeyHasher>>,
    previous: HashSet<u64, BuildHasherDefault<KeyHasher>>,
    /// The cluster of the events being read, when their envelope names it.
    cluster: Option<String>,
    /// What has been seen so far.
    pub stats: Stats,
}

impl Decoder {
    /// A decoder with nothing seen.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    fn malformed(&mut self, line: usize, reason: String) {
        self.stats.malformed_count += 1;
        if self.stats.malformed.len() < MAX_MALFORMED_KEPT {
            self.stats.malformed.push(Malformed { line, reason });
        }
    }

    /// Hands each event of the JSON document `text` (which starts at `line`) to `f`.
    pub fn document(
        &mut self,
        line: usize,
        text: &str,
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) -> Outcome {
        self.nested(line, text, 0, f)
    }

    fn nested(
        &mut self,
        line: usize,
        text: &str,
        depth: usize,
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) -> Outcome {
        let wire = match parse_wire(text) {
            Ok(w) => w,
            Err(e) if e.is_eof() => return Outcome::Incomplete,
            // Valid JSON of another shape: an envelope, or not an event at all.
            // (A list's first item can fail the typed parse before the list is whole.)
            Err(e) => {
                match serde_json::from_str::<Value>(text) {
                    Ok(v) => self.envelope(line, v, depth, &e.to_string(), f),
                    Err(not_json) if not_json.is_eof() => return Outcome::Incomplete,
                    Err(not_json) => self.not_json(line, text, depth, not_json, f),
                }
                return Outcome::Done;
            }
        };
        match wire.kind.as_deref() {
            Some("Event") => self.event(line, text, wire, None, f),
            Some("EventList") => match &wire.items {
                Some(items) => {
                    // The API server writes list items without kind and apiVersion.
                    let api = wire.api_version.as_deref();
                    for item in items {
                        match parse_wire(item.get()) {
                            Ok(w) => self.event(line, item.get(), w, api, f),
                            Err(e) => self.malformed(line, format!("EventList item: {e}")),
                        }
                    }
                }
                None => self.malformed(line, "EventList without items".into()),
            },
            Some(kind) => self.malformed(
                line,
                format!("kind {kind:?} is not an audit Event or EventList"),
            ),
            None => match serde_json::from_str::<Value>(text) {
                Ok(v) => self.envelope(line, v, depth, "no kind: not an audit event", f),
                Err(e) => self.malformed(line, format!("not JSON: {e}")),
            },
        }
        Outcome::Done
    }

    /// Text that is not one JSON document: a CloudWatch export line (a timestamp, then
    /// the event) or Firehose records written back to back; otherwise malformed.
    fn not_json(
        &mut self,
        line: usize,
        text: &str,
        depth: usize,
        error: serde_json::Error,
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) {
        if depth < MAX_ENVELOPE_DEPTH {
            if let Some(json) = cloud::strip_cloudwatch_timestamp(text) {
                if self.nested(line, json, depth + 1, f) == Outcome::Incomplete {
                    self.malformed(line, "not JSON: the event ends early".into());
                }
                return;
            }
            if let Some(docs) = cloud::concatenated_documents(text) {
                for doc in docs {
                    self.envelope(line, doc, depth + 1, "not an audit event", f);
                }
                return;
            }
        }
        self.malformed(line, format!("not JSON: {error}"));
    }

    /// A document that is not an Event or EventList: a cloud provider's record around
    /// events, or a list of documents; `otherwise` says why it is not an event.
    fn envelope(
        &mut self,
        line: usize,
        value: Value,
        depth: usize,
        otherwise: &str,
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) {
        if depth >= MAX_ENVELOPE_DEPTH {
            return self.malformed(line, format!("envelopes nested deeper than {depth}"));
        }
        // EKS (CloudWatch Logs) and GKE (Cloud Logging) records.
        match cloud::events_from_envelope(&value) {
            Some(Ok(unwrapped)) => {
                self.stats.skipped += unwrapped.skipped;
                for error in unwrapped.errors {
                    self.malformed(line, error);
                }
                for e in unwrapped.events {
                    self.cluster = e.cluster;
                    let text = e.event.to_string();
                    if self.nested(line, &text, depth + 1, f) == Outcome::Incomplete {
                        self.malformed(line, "embedded event is not JSON".into());
                    }
                }
                self.cluster = None;
                return;
            }
            Some(Err(e)) => return self.malformed(line, e),
            None => {}
        }
        let inner: Vec<String> = match &value {
            Value::Array(items) => items.iter().map(Value::to_string).collect(),
            // AKS diagnostic logs: the event is a JSON string inside the record.
            Value::Object(o) => match o.get("category").and_then(Value::as_str) {
                Some("kube-audit" | "kube-audit-admin") => {
                    match o
                        .get("properties")
                        .and_then(|p| p.get("log"))
                        .and_then(Value::as_str)
                    {
                        Some(log) => vec![log.to_string()],
                        None => {
                            return self.malformed(
                                line,
                                "AKS kube-audit record without properties.log".into(),
                            );
                        }
                    }
                }
                Some(other) => {
                    return self.malformed(
                        line,
                        format!("AKS record of category {other:?}, not kube-audit"),
                    );
                }
                None => return self.malformed(line, otherwise.to_string()),
            },
            _ => return self.malformed(line, otherwise.to_string()),
        };
        for text in inner {
            if self.nested(line, &text, depth + 1, f) == Outcome::Incomplete {
                self.malformed(line, "embedded event is not JSON: it ends early".into());
            }
        }
    }

    fn event<'a>(
        &mut self,
        line: usize,
        raw: &'a str,
        wire: Wire<'a>,
        list_api: Option<&str>,
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) {
        let api = wire.api_version.as_deref().or(list_api).unwrap_or_default();
        if !matches!(api, "audit.k8s.io/v1" | "audit.k8s.io/v1beta1") {
            return self.malformed(
                line,
                format!("apiVersion {api:?} is not audit.k8s.io/v1 or v1beta1"),
            );
        }
        let stage = wire.stage.as_deref().unwrap_or_default();
        if !matches!(stage, "ResponseComplete" | "Panic") {
            self.stats.other_stages += 1;
            return;
        }
        let id = wire.audit_id.as_deref().unwrap_or_default();
        if !id.is_empty() {
            let key = self
                .keys
                .hash_one((id, stage, wire.stage_timestamp.as_deref()));
            if self.previous.contains(&key) || !self.current.insert(key) {
                self.stats.duplicates += 1;
                return;
            }
            if self.current.len() >= DEDUP_WINDOW {
                self.previous = std::mem::take(&mut self.current);
            }
        }
        self.stats.events += 1;
        f(&AuditEvent::from_wire(raw, wire).in_cluster(self.cluster.as_deref()));
    }
}

/// Hashes a key that is already a keyed hash by taking it as it is.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// How deep in `{`/`[` a JSON text is, outside strings: enough to tell when a document
/// that spans lines has closed. (By hand: serde_json has no incremental parser.)
#[derive(Debug, Default)]
struct Nesting {
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Nesting {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
    }

    /// True when every bracket opened has closed.
    fn closed(&self) -> bool {
        self.depth == 0 && !self.in_string
    }
}

/// Streams the audit events of a log.
pub struct AuditLog<R> {
    reader: BufReader<R>,
    line: usize,
    decoder: Decoder,
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

/// A line as read: its text, or why it is unusable.
type Line = Result<String, String>;

impl<R: Read> AuditLog<R> {
    /// Reads an uncompressed log.
    pub fn new(reader: R) -> AuditLog<R> {
        AuditLog::with_decoder(reader, Decoder::new())
    }

    /// Reads an uncompressed log that continues a stream `decoder` has seen (webhook
    /// batches, say), so duplicates are found across them.
    pub fn with_decoder(reader: R, decoder: Decoder) -> AuditLog<R> {
        AuditLog {
            reader: BufReader::with_capacity(256 << 10, reader),
            line: 0,
            decoder,
        }
    }

    /// The decoder, to read the stream's next part with.
    pub fn into_decoder(self) -> Decoder {
        self.decoder
    }

    /// What has been seen so far.
    pub fn stats(&self) -> &Stats {
        &self.decoder.stats
    }

    /// The next line into `buf` (cleared first), of which at most [`MAX_DOCUMENT_BYTES`]
    /// are kept: a longer line is read to its end and discarded, so one huge line cannot
    /// exhaust memory. `Ok(None)` at the end of the log; the inner `Err` says why a line
    /// is unusable (too long, not UTF-8).
    fn next_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<Result<(), String>>> {
        buf.clear();
        let limit = MAX_DOCUMENT_BYTES as u64 + 1;
        if (&mut self.reader).take(limit).read_until(b'\n', buf)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        if buf.len() > MAX_DOCUMENT_BYTES && !buf.ends_with(b"\n") {
            // Skip the rest of the line without keeping it.
            loop {
                let chunk = self.reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let (used, done) = match memchr::memchr(b'\n', chunk) {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                self.reader.consume(used);
                if done {
                    break;
                }
            }
            buf.clear();
            let reason = format!("line longer than {} MiB", MAX_DOCUMENT_BYTES >> 20);
            return Ok(Some(Err(reason)));
        }
        while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            buf.pop();
        }
        Ok(Some(Ok(())))
    }

    /// The next line as text, for a document that goes on over several lines.
    fn more(&mut self) -> std::io::Result<Option<Line>> {
        let mut buf = Vec::new();
        Ok(self.next_line(&mut buf)?.map(|line| {
            line.and_then(|()| String::from_utf8(buf).map_err(|e| format!("not UTF-8: {e}")))
        }))
    }

    /// Hands every event of the log to `f`, in order. Malformed documents are recorded
    /// in [`AuditLog::stats`] and skipped; an I/O error (a truncated gzip stream) ends
    /// the log and is returned.
    pub fn for_each(&mut self, mut f: impl FnMut(&AuditEvent<'_>)) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        loop {
            // The common case: a whole line in the read buffer, judged where it lies.
            let AuditLog {
                reader,
                line,
                decoder,
            } = self;
            let chunk = reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(());
            }
            if let Some(end) = memchr::memchr(b'\n', chunk) {
                *line += 1;
                let start = *line;
                let text = chunk.get(..end).unwrap_or_default();
                let incomplete = match Self::judge_line(decoder, start, text, &mut f) {
                    Outcome::Done => None,
                    Outcome::Incomplete => Some(String::from_utf8_lossy(text).into_owned()),
                };
                reader.consume(end + 1);
                if let Some(doc) = incomplete {
                    self.rest_of_document(start, doc, &mut f)?;
                }
                continue;
            }
            // A line across the buffer's end (or the last line, without a newline).
            let Some(read) = self.next_line(&mut buf)? else {
                return Ok(());
            };
            let start = self.line;
            if let Err(reason) = read {
                self.decoder.malformed(start, reason);
                continue;
            }
            if Self::judge_line(&mut self.decoder, start, &buf, &mut f) == Outcome::Incomplete {
                let doc = String::from_utf8_lossy(&buf).into_owned();
                self.rest_of_document(start, doc, &mut f)?;
            }
        }
    }

    /// Judges one line (without its newline); `Incomplete` when a document starts on it
    /// and goes on.
    fn judge_line(
        decoder: &mut Decoder,
        start: usize,
        bytes: &[u8],
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) -> Outcome {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) if text.trim().is_empty() => Outcome::Done,
            Ok(text) => decoder.document(start, text, f),
            Err(e) => {
                decoder.malformed(start, format!("not UTF-8: {e}"));
                Outcome::Done
            }
        }
    }

    /// Gathers the lines of a document that goes on over several lines (a
    /// pretty-printed EventList, `gcloud logging read` output) until its brackets close,
    /// then decodes it once: parsing the growing text at every line would be quadratic.
    fn rest_of_document(
        &mut self,
        start: usize,
        mut doc: String,
        f: &mut dyn FnMut(&AuditEvent<'_>),
    ) -> std::io::Result<()> {
        let mut nesting = Nesting::default();
        nesting.feed(doc.as_bytes());
        loop {
            let more = match self.more()? {
                Some(Ok(more)) => more,
                Some(Err(reason)) => {
                    self.decoder.malformed(start, reason);
                    return Ok(());
                }
                None => {
                    self.decoder
                        .malformed(start, "not JSON: the log ends inside a document".into());
                    return Ok(());
                }
            };
            doc.push('\n');
            doc.push_str(&more);
            nesting.feed(more.as_bytes());
            if doc.len() > MAX_DOCUMENT_BYTES {
                let message = format!("document larger than {} MiB", MAX_DOCUMENT_BYTES >> 20);
                self.decoder.malformed(start, message);
                return Ok(());
            }
            if nesting.closed() && self.decoder.document(start, &doc, f) == Outcome::Done {
                return Ok(());
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
        let mut ids = Vec::new();
        log.for_each(|e| ids.push(e.audit_id().to_string()))
            .unwrap();
        (ids, log.stats().clone())
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
    fn webhook_event_lists_whose_items_have_no_kind() {
        // As the API server's webhook backend sends them: kind and apiVersion on the list.
        let item = event("w", "ResponseComplete", "get")
            .replace(r#""kind":"Event","apiVersion":"audit.k8s.io/v1","#, "");
        let list = format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{item}]}}"#
        );
        let (ids, stats) = read(&list);
        assert_eq!(ids, ["w"]);
        assert_eq!(stats.malformed, []);
    }

    #[test]
    fn a_pretty_printed_array_of_many_lines_is_read_once_closed() {
        let items: Vec<String> = (0..2000)
            .map(|i| event(&i.to_string(), "ResponseComplete", "get").replace(",", ",\n  "))
            .collect();
        let text = format!(
            "[\n{}\n]\n{}",
            items.join(",\n"),
            event("z", "Panic", "get")
        );
        let (ids, stats) = read(&text);
        assert_eq!(ids.len(), 2001);
        assert_eq!(stats.malformed, []);
    }

    #[test]
    fn a_reused_audit_id_is_not_a_duplicate_when_the_request_differs() {
        // Clients choose audit IDs (the Audit-ID header): a later request reusing one is
        // judged, while the same event logged twice is not.
        let first = event("a", "ResponseComplete", "get");
        let second = first
            .replace(r#""verb":"get""#, r#""verb":"create""#)
            .replace("}", r#","stageTimestamp":"2026-11-29T12:00:01.000002Z"}"#);
        let (ids, stats) = read(&[first.clone(), second, first].join("\n"));
        assert_eq!(ids, ["a", "a"]);
        assert_eq!(stats.duplicates, 1);
    }

    #[test]
    fn duplicates_are_remembered_for_at_least_the_window() {
        let mut d = Decoder::new();
        let mut n = 0;
        let mut doc = |d: &mut Decoder, i: usize| {
            let text = event(&i.to_string(), "ResponseComplete", "get");
            d.document(1, &text, &mut |_| n += 1);
        };
        for i in 0..DEDUP_WINDOW + 10 {
            doc(&mut d, i);
        }
        // Every one of the last DEDUP_WINDOW events is still known.
        for i in 10..DEDUP_WINDOW + 10 {
            doc(&mut d, i);
        }
        assert_eq!(d.stats.events, DEDUP_WINDOW + 10);
        assert_eq!(d.stats.duplicates, DEDUP_WINDOW);
    }

    #[test]
    fn malformed_lines_are_counted_but_only_the_first_kept() {
        let text = vec!["nope"; MAX_MALFORMED_KEPT + 5].join("\n");
        let (_, stats) = read(&text);
        assert_eq!(stats.malformed.len(), MAX_MALFORMED_KEPT);
        assert_eq!(stats.malformed_count, MAX_MALFORMED_KEPT + 5);
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
        let mut events = 0;
        log.for_each(|_| events += 1).unwrap();
        assert_eq!(events, 1);
        assert_eq!(log.stats().malformed.len(), 1);
        assert_eq!(log.stats().malformed[0].line, 2);
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
        let mut events = Vec::new();
        log.for_each(|e| events.push(e.to_value())).unwrap();
        assert_eq!(log.stats().malformed, []);
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e["auditID"], "ad26f7bc-f1c6-4097-90f1-e0924e12f257");
        assert_eq!(e["user"]["username"], "aksService");
        assert_eq!(e["objectRef"]["resource"], "leases");
    }
}
