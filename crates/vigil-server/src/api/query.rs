//! Read endpoints (admin tokens): what the dashboard shows, for scripts too.

use super::{Admin, ApiError, Shared, blocking};
use crate::store::*;
use axum::Json;
use axum::extract::{Path, Query, State};
use std::sync::Arc;

/// Runs `f` on the store and answers its result as JSON.
async fn read<T: serde::Serialize + Send + 'static>(
    server: &Shared,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let store = Arc::clone(&server.store);
    blocking(move || f(store.as_ref())).await.map(Json)
}

/// Like [`read`] for one row: 404 when there is none.
async fn read_one<T: serde::Serialize + Send + 'static>(
    server: &Shared,
    f: impl FnOnce(&dyn Store) -> Result<Option<T>, StoreError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    read(server, f).await?.0.map(Json).ok_or(ApiError::NotFound)
}

/// Counts for the first page: clusters, alerts and vulnerabilities by severity, alerts
/// per hour over the last day.
#[utoipa::path(get, path = "/api/v1/overview", tag = "read", security(("bearer" = [])),
    responses((status = 200, body = Overview)))]
pub async fn overview(State(server): State<Shared>, _: Admin) -> Result<Json<Overview>, ApiError> {
    let now = crate::ingest::now_ms();
    read(&server, move |s| s.overview(now)).await
}

/// Every cluster and what the server holds for it.
#[utoipa::path(get, path = "/api/v1/clusters", tag = "read", security(("bearer" = [])),
    responses((status = 200, body = Vec<ClusterRow>)))]
pub async fn clusters(
    State(server): State<Shared>,
    _: Admin,
) -> Result<Json<Vec<ClusterRow>>, ApiError> {
    read(&server, |s| s.clusters()).await
}

/// Alerts, latest first; repeats within the window are one row with a count.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "read", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<AlertRow>)))]
pub async fn alerts(
    State(server): State<Shared>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<AlertRow>>, ApiError> {
    read(&server, move |s| s.alerts(&q)).await
}

/// One alert with its evidence.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "read", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Alert id")),
    responses((status = 200, body = AlertDetail), (status = 404)))]
pub async fn alert(
    State(server): State<Shared>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<AlertDetail>, ApiError> {
    read_one(&server, move |s| s.alert(id)).await
}

/// Incidents (alerts about one pod, container, user or node close in time), latest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "read", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<IncidentRow>)))]
pub async fn incidents(
    State(server): State<Shared>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<IncidentRow>>, ApiError> {
    read(&server, move |s| s.incidents(&q)).await
}

/// One incident with its timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "read", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Incident id")),
    responses((status = 200, body = IncidentDetail), (status = 404)))]
pub async fn incident(
    State(server): State<Shared>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    read_one(&server, move |s| s.incident(id)).await
}

/// Raw events, latest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "read", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<EventRow>)))]
pub async fn events(
    State(server): State<Shared>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<EventRow>>, ApiError> {
    read(&server, move |s| s.events(&q)).await
}

/// Scanned images, most vulnerable first.
#[utoipa::path(get, path = "/api/v1/images", tag = "read", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<ImageRow>)))]
pub async fn images(
    State(server): State<Shared>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<ImageRow>>, ApiError> {
    read(&server, move |s| s.images(&q)).await
}

/// One image with its vulnerabilities.
#[utoipa::path(get, path = "/api/v1/images/{id}", tag = "read", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    responses((status = 200, body = ImageDetail), (status = 404)))]
pub async fn image(
    State(server): State<Shared>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<ImageDetail>, ApiError> {
    read_one(&server, move |s| s.image(id)).await
}

/// Posture findings of each cluster's latest scan, most severe first.
#[utoipa::path(get, path = "/api/v1/findings", tag = "read", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<FindingRow>)))]
pub async fn findings(
    State(server): State<Shared>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<FindingRow>>, ApiError> {
    read(&server, move |s| s.findings(&q)).await
}

/// Each cluster's latest posture scan with its attack paths.
#[utoipa::path(get, path = "/api/v1/posture", tag = "read", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<PostureRow>)))]
pub async fn posture(
    State(server): State<Shared>,
    _: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<PostureRow>>, ApiError> {
    read(&server, move |s| s.posture(&q)).await
}
