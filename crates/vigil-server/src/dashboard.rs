//! The web dashboard: static HTML, CSS and JavaScript compiled into the binary (no
//! Node.js at build or run time) that read the REST API with an admin token.
//!
//! The token is never sent in a URL: `vigil up` prints a link whose fragment
//! (`#token=...`, which browsers do not send to servers) the page moves into the tab's
//! session storage; the API is then called with `Authorization: Bearer`.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/app.js");
const STYLE: &str = include_str!("dashboard/style.css");

/// A static asset with its type, and a policy that lets the page load only its own
/// script and style and call only its own server.
fn asset(body: &'static str, media: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'self'; style-src 'self'; \
                     connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                ),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}

/// `/`, `/app.js` and `/style.css`.
pub fn routes() -> axum::Router<crate::api::Shared> {
    axum::Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/style.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
}
