//! The OpenAPI document at `/api/openapi.json`, derived from the handlers and the types
//! they answer with, so it cannot drift from what the server does.

use super::ingest as ingest_api;
use super::query;
use crate::ingest::SensorBatch;
use crate::store::*;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Bearer tokens (`vigil server token create`).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil server API", description = "Ingest from clusters (cluster tokens) and reads for people and the dashboard (admin tokens)."),
    paths(
        ingest_api::sensor, ingest_api::audit, ingest_api::images, ingest_api::posture,
        query::overview, query::clusters, query::alerts, query::alert, query::incidents,
        query::incident, query::events, query::images, query::image, query::findings,
        query::posture,
    ),
    components(schemas(SensorBatch, Ingested, super::ErrorBody)),
    modifiers(&BearerAuth),
    tags((name = "ingest", description = "What clusters send"), (name = "read", description = "What people read")),
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
