//! The HTTP API: ingest for clusters, reads for people and the dashboard.
//!
//! [`router`] builds an axum `Router` over a [`Server`]; the binary serves it behind
//! Vigil's listener edge (TLS, connection bounds, timeouts), and tests call it in-process.
//! Every answer that is not a success is JSON `{"error": "..."}` with a status a client can
//! act on: 400 names the field at fault, 401 asks for a token, 403 says whose data it is,
//! 413 gives the limit, 429 and 503 carry `Retry-After`.

pub mod ingest;
pub mod openapi;
pub mod query;

use crate::auth::{self, Principal, Role};
use crate::store::{Store, StoreError};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What the server needs to answer.
pub struct Server {
    /// The storage.
    pub store: Arc<dyn Store>,
    /// Correlation windows.
    pub windows: crate::correlate::Windows,
    /// Judges audit events sent to the audit webhook endpoint.
    pub audit: ingest::AuditJudges,
    /// Ingest requests stored at once; more get 429.
    pub ingest_slots: Arc<Semaphore>,
    /// Largest request body, compressed or not.
    pub max_body: usize,
}

/// The shared state handlers see.
pub type Shared = Arc<Server>;

/// An answer that is not a success.
#[derive(Debug)]
pub enum ApiError {
    /// 400, naming what is wrong.
    BadRequest(String),
    /// 401.
    Unauthorized,
    /// 403, saying why.
    Forbidden(String),
    /// 404.
    NotFound,
    /// 413, with the limit.
    TooLarge(usize),
    /// 415.
    UnsupportedMedia(String),
    /// 429: too many ingests at once; retry in a second.
    Busy,
    /// 503: the database is away; retry.
    Unavailable(String),
    /// 500.
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong.
    error: String,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            StoreError::Other(m) => ApiError::Internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required".to_string(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".to_string()),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes"),
            ),
            ApiError::UnsupportedMedia(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
            ApiError::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many batches in flight; retry".to_string(),
            ),
            ApiError::Unavailable(m) => {
                tracing::warn!("database unavailable: {m}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable; retry".to_string(),
                )
            }
            ApiError::Internal(m) => {
                tracing::error!("{m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                )
            }
        };
        let retry = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let mut response = (status, Json(ErrorBody { error: message })).into_response();
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"vigil\""),
            );
        }
        response
    }
}

/// Runs a blocking store call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("a store call failed: {e}")))?
        .map_err(ApiError::from)
}

async fn authenticate(parts: &Parts, server: &Shared) -> Result<Principal, ApiError> {
    let token = auth::bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
    let digest = auth::digest(token);
    let store = Arc::clone(&server.store);
    blocking(move || store.principal(&digest))
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// A request made with an admin token: reads.
pub struct Admin(pub Principal);

impl FromRequestParts<Shared> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, server: &Shared) -> Result<Admin, ApiError> {
        let p = authenticate(parts, server).await?;
        match p.role {
            Role::Admin => Ok(Admin(p)),
            Role::Cluster(_) => Err(ApiError::Forbidden(
                "cluster tokens write their cluster's data; reading needs an admin token".into(),
            )),
        }
    }
}

/// A request made with a cluster token: writes that cluster's data.
pub struct ClusterWriter(pub String);

impl FromRequestParts<Shared> for ClusterWriter {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Shared,
    ) -> Result<ClusterWriter, ApiError> {
        let p = authenticate(parts, server).await?;
        match p.role {
            Role::Cluster(c) => Ok(ClusterWriter(c)),
            Role::Admin => Err(ApiError::Forbidden(
                "admin tokens read; send data with the cluster's own token".into(),
            )),
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn readyz(State(server): State<Shared>) -> Result<&'static str, ApiError> {
    let store = Arc::clone(&server.store);
    blocking(move || store.overview(0).map(|_| ())).await?;
    Ok("ok")
}

/// The API, the OpenAPI document, the probes and the dashboard.
pub fn router(server: Shared) -> axum::Router {
    let max_body = server.max_body;
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/v1/ingest/sensor", post(ingest::sensor))
        .route("/api/v1/ingest/audit", post(ingest::audit))
        .route("/api/v1/ingest/images", post(ingest::images))
        .route("/api/v1/ingest/posture", post(ingest::posture))
        .route("/api/v1/overview", get(query::overview))
        .route("/api/v1/clusters", get(query::clusters))
        .route("/api/v1/alerts", get(query::alerts))
        .route("/api/v1/alerts/{id}", get(query::alert))
        .route("/api/v1/incidents", get(query::incidents))
        .route("/api/v1/incidents/{id}", get(query::incident))
        .route("/api/v1/events", get(query::events))
        .route("/api/v1/images", get(query::images))
        .route("/api/v1/images/{id}", get(query::image))
        .route("/api/v1/findings", get(query::findings))
        .route("/api/v1/posture", get(query::posture))
        .merge(crate::dashboard::routes())
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(server)
}
