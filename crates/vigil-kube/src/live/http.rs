//! One request to the API server, with a bounded response body and the API's `Status`
//! errors decoded.

use super::error::{LiveError, chain};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

/// What the server answered.
pub(crate) enum Reply {
    /// A 2xx answer, decoded.
    Ok(Value),
    /// A non-2xx answer: the HTTP code and the `Status` message (or the body's start).
    Failed {
        /// HTTP status code.
        code: u16,
        /// The `Status.message`, or the start of a non-`Status` body.
        message: String,
    },
}

/// Sends `req` and reads at most `max_bytes` of the answer.
pub(crate) async fn send(
    client: &kube::Client,
    server: &str,
    what: &str,
    req: http::Request<Vec<u8>>,
    max_bytes: usize,
) -> Result<Reply, LiveError> {
    let err = |message: String| LiveError::Request {
        server: server.to_string(),
        what: what.to_string(),
        message,
    };
    let res = client
        .send(req.map(kube::client::Body::from))
        .await
        .map_err(|e| err(chain(&e)))?;
    let code = res.status().as_u16();
    let bytes = Limited::new(res.into_body(), max_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                err(format!("response larger than {} MiB", max_bytes >> 20))
            } else {
                err(format!("reading the response: {}", chain(e.as_ref())))
            }
        })?
        .to_bytes();
    if (200..300).contains(&code) {
        return serde_json::from_slice(&bytes)
            .map(Reply::Ok)
            .map_err(|e| err(format!("HTTP {code} with a body that is not JSON: {e}")));
    }
    let message = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v.get("kind").and_then(Value::as_str) == Some("Status") => v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::from_utf8_lossy(bytes.get(..200).unwrap_or(&bytes))
            .trim()
            .to_string(),
    };
    Ok(Reply::Failed { code, message })
}
