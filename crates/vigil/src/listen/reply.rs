//! JSON answers, and refusals as Kubernetes `Status` objects: what the API server's
//! webhook clients decode and log.

use super::Reply;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode, header};
use serde_json::json;

/// `body` as a JSON answer with `status`.
pub fn reply(status: StatusCode, body: serde_json::Value) -> Reply {
    let mut text = body.to_string();
    text.push('\n');
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// A refusal as a Kubernetes `Status`, which the API server's webhook client decodes and
/// logs with its message.
pub fn status_body(status: StatusCode, message: &str) -> serde_json::Value {
    let reason = match status.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        405 => "MethodNotAllowed",
        408 => "Timeout",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        _ => "InternalError",
    };
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": status.as_u16(),
    })
}

/// A refusal with a `Status` body.
pub fn refuse(status: StatusCode, message: &str) -> Reply {
    reply(status, status_body(status, message))
}
