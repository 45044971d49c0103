//! Ingest endpoints: what sensors, audit webhooks and scanners send.
//!
//! A batch is acknowledged (200) only once it is committed, so a client that saw the
//! answer never needs to send it again, and a client that did not may: batch ids make the
//! retry harmless. Bodies may be gzip or zstd compressed; the size limit applies to the
//! body as sent and again to the body decompressed.

use super::{ApiError, ClusterWriter, Shared, blocking};
use crate::ingest::{self, BadBatch, Batch, EventRecord, Place, Refused, SensorBatch};
use crate::store::Ingested;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use vigil_core::{Alert, PostureReport, VulnReport};
use vigil_detect::detector::Detector;

/// The request body, decompressed per `Content-Encoding`, within `limit` bytes.
pub fn decoded(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Vec<u8>, ApiError> {
    if let Some(media) = headers.get(header::CONTENT_TYPE) {
        let media = media.to_str().unwrap_or("");
        let essence = media.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMedia(format!(
                "send application/json, not {essence:?}"
            )));
        }
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let reader: Box<dyn Read> = match encoding.as_str() {
        "identity" | "" => return Ok(body.to_vec()),
        "gzip" => Box::new(flate2::read::GzDecoder::new(&body[..])),
        "zstd" => Box::new(
            zstd::stream::read::Decoder::new(&body[..])
                .map_err(|e| ApiError::BadRequest(format!("zstd body: {e}")))?,
        ),
        other => {
            return Err(ApiError::UnsupportedMedia(format!(
                "Content-Encoding {other:?} is not supported (gzip, zstd or none)"
            )));
        }
    };
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("{encoding} body: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::TooLarge(limit));
    }
    Ok(out)
}

/// JSON into `T`, or a 400 naming the path of the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::BadRequest(format!("body: {inner}"))
        } else {
            ApiError::BadRequest(format!("{path}: {inner}"))
        }
    })
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        match r {
            Refused::Bad(b) => ApiError::BadRequest(b.to_string()),
            Refused::Forbidden(f) => ApiError::Forbidden(f.to_string()),
        }
    }
}

/// Stores `batch` for `cluster` under an ingest slot (429 when none is free).
async fn store(server: &Shared, cluster: String, batch: Batch) -> Result<Json<Ingested>, ApiError> {
    let _slot = Arc::clone(&server.ingest_slots)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    let store = Arc::clone(&server.store);
    let windows = server.windows;
    let received = ingest::now_ms();
    let done = blocking(move || store.ingest(&cluster, &batch, windows, received)).await?;
    Ok(Json(done))
}

/// A sensor's batch of events and alerts.
#[utoipa::path(post, path = "/api/v1/ingest/sensor", tag = "ingest",
    request_body = SensorBatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored (or a retry of a stored batch)", body = Ingested),
        (status = 400, description = "Malformed; the message names the field", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "Another cluster's data, or not a cluster token", body = super::ErrorBody),
        (status = 413, description = "Body too large", body = super::ErrorBody),
        (status = 429, description = "Too many batches at once; retry", body = super::ErrorBody),
        (status = 503, description = "Database unavailable; retry", body = super::ErrorBody),
    ))]
pub async fn sensor(
    State(server): State<Shared>,
    ClusterWriter(cluster): ClusterWriter,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Ingested>, ApiError> {
    let bytes = decoded(&headers, body, server.max_body)?;
    let batch: SensorBatch = parse(&bytes)?;
    let batch = batch.into_batch(&cluster, ingest::now_ms())?;
    store(&server, cluster, batch).await
}

/// An image's vulnerability report (`vigil image --format json`).
#[utoipa::path(post, path = "/api/v1/ingest/images", tag = "ingest",
    request_body(content = Object, description = "A `vigil image --format json` report"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = Ingested),
        (status = 400, description = "Malformed; the message names the field", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "Not a cluster token", body = super::ErrorBody),
    ))]
pub async fn images(
    State(server): State<Shared>,
    ClusterWriter(cluster): ClusterWriter,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Ingested>, ApiError> {
    let bytes = decoded(&headers, body, server.max_body)?;
    let report: VulnReport = parse(&bytes)?;
    let batch = ingest::image_batch(report)?;
    store(&server, cluster, batch).await
}

/// A posture scan (`vigil k8s scan --format json`); it replaces the cluster's findings.
#[utoipa::path(post, path = "/api/v1/ingest/posture", tag = "ingest",
    request_body(content = Object, description = "A `vigil k8s scan --format json` report"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored", body = Ingested),
        (status = 400, description = "Malformed; the message names the field", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "Not a cluster token", body = super::ErrorBody),
    ))]
pub async fn posture(
    State(server): State<Shared>,
    ClusterWriter(cluster): ClusterWriter,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Ingested>, ApiError> {
    let bytes = decoded(&headers, body, server.max_body)?;
    let report: PostureReport = parse(&bytes)?;
    store(&server, cluster, ingest::posture_batch(report)).await
}

/// Judges audit events per cluster with the audit rules and the stateful detections,
/// which remember each cluster's stream (first-seen users, bursts) separately.
pub struct AuditJudges {
    make: Box<dyn Fn() -> Result<Detector, String> + Send + Sync>,
    per_cluster: Mutex<HashMap<String, Arc<Mutex<Detector>>>>,
}

impl AuditJudges {
    /// Judges built by `make` (one per cluster, on its first batch).
    pub fn new(make: impl Fn() -> Result<Detector, String> + Send + Sync + 'static) -> AuditJudges {
        AuditJudges {
            make: Box::new(make),
            per_cluster: Mutex::new(HashMap::new()),
        }
    }

    fn for_cluster(&self, cluster: &str) -> Result<Arc<Mutex<Detector>>, ApiError> {
        let mut map = self
            .per_cluster
            .lock()
            .map_err(|_| ApiError::Internal("an audit judge panicked".into()))?;
        if let Some(d) = map.get(cluster) {
            return Ok(Arc::clone(d));
        }
        let d = Arc::new(Mutex::new((self.make)().map_err(ApiError::Internal)?));
        map.insert(cluster.to_string(), Arc::clone(&d));
        Ok(d)
    }
}

/// An `audit.k8s.io/v1` EventList, its items kept as sent.
#[derive(Deserialize)]
struct EventList {
    #[serde(default)]
    items: Vec<Box<RawValue>>,
}

/// The fields of an audit event the store indexes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditHead {
    #[serde(default)]
    verb: String,
    #[serde(default)]
    stage_timestamp: Option<String>,
    #[serde(default)]
    request_received_timestamp: Option<String>,
    #[serde(default)]
    object_ref: Option<ObjectRef>,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct ObjectRef {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    username: String,
}

fn audit_event(raw: &RawValue, index: usize, received_ms: i64) -> Result<EventRecord, BadBatch> {
    let head: AuditHead = serde_json::from_str(raw.get()).map_err(|e| BadBatch {
        path: format!("items[{index}]"),
        message: e.to_string(),
    })?;
    let time_ms = head
        .stage_timestamp
        .as_deref()
        .or(head.request_received_timestamp.as_deref())
        .and_then(ingest::parse_time)
        .unwrap_or(received_ms);
    let object = head.object_ref.as_ref();
    let pod = object
        .filter(|o| o.resource.as_deref() == Some("pods"))
        .and_then(|o| o.name.clone())
        .unwrap_or_default();
    Ok(EventRecord {
        time_ms,
        source: "audit",
        kind: head.verb,
        place: Place {
            namespace: object.and_then(|o| o.namespace.clone()).unwrap_or_default(),
            pod,
            user: head.user.map(|u| u.username).unwrap_or_default(),
            ..Place::default()
        },
        body: raw.get().to_string(),
    })
}

/// The events of an EventList, indexed, or a 400 naming the item at fault.
pub fn audit_events(bytes: &[u8], received_ms: i64) -> Result<Vec<EventRecord>, ApiError> {
    let list: EventList = parse(bytes)?;
    if list.items.len() > ingest::MAX_BATCH_ITEMS {
        return Err(ApiError::BadRequest(format!(
            "items: more than {} events in one batch",
            ingest::MAX_BATCH_ITEMS
        )));
    }
    list.items
        .iter()
        .enumerate()
        .map(|(i, raw)| audit_event(raw, i, received_ms))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Judges an EventList for `cluster`: its events and alerts, or why not.
fn judge_audit(
    judges: &AuditJudges,
    cluster: &str,
    bytes: &[u8],
    received_ms: i64,
) -> Result<Batch, ApiError> {
    let events = audit_events(bytes, received_ms)?;
    let judge = judges.for_cluster(cluster)?;
    let mut raised: Vec<Alert> = Vec::new();
    {
        let mut detector = judge
            .lock()
            .map_err(|_| ApiError::Internal("an audit judge panicked".into()))?;
        let mut log = vigil_detect::audit_log::AuditLog::new(bytes);
        log.for_each(|event| detector.judge(event, &mut raised))
            .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    }
    let alerts = raised
        .into_iter()
        .enumerate()
        .map(|(i, mut a)| {
            a.cluster = cluster.to_string();
            ingest::alert_record(a, "", received_ms, &format!("alerts[{i}]"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Batch {
        id: None,
        events,
        alerts,
        ..Batch::default()
    })
}

/// The Kubernetes audit webhook backend: point a cluster's `--audit-webhook-config-file`
/// here with the cluster's token. Events are judged by the audit rules and stored with
/// their alerts before the answer.
#[utoipa::path(post, path = "/api/v1/ingest/audit", tag = "ingest",
    request_body(content = Object, description = "An audit.k8s.io/v1 EventList"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Judged and stored", body = Ingested),
        (status = 400, description = "Malformed; the message names the field", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "Not a cluster token", body = super::ErrorBody),
        (status = 429, description = "Too many batches at once; retry", body = super::ErrorBody),
    ))]
pub async fn audit(
    State(server): State<Shared>,
    ClusterWriter(cluster): ClusterWriter,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Ingested>, ApiError> {
    let bytes = decoded(&headers, body, server.max_body)?;
    let judged = {
        let server = Arc::clone(&server);
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            judge_audit(&server.audit, &cluster, &bytes, ingest::now_ms())
        })
        .await
        .map_err(|e| ApiError::Internal(format!("judging audit events: {e}")))??
    };
    store(&server, cluster, judged).await
}
