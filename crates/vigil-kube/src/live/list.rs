//! Listing one resource cluster-wide, page by page.
//!
//! Each request asks for at most `page_size` objects (`?limit=`) and passes the previous
//! page's `metadata.continue` until the server returns none, as `kubectl get` does. A
//! continue token that expired (HTTP 410) restarts the list once from the beginning.
//! 403 and 404 are gaps, not failures; anything else unexpected is an error.

use super::SnapshotOptions;
use super::error::LiveError;
use super::http::{Reply, send};
use super::resources::{Keep, Resource};
use super::sanitize::sanitize;
use crate::inventory::Gap;
use kube::api::ListParams;
use serde_json::Value;

/// What listing a resource gave: its objects, or the gap that stopped it.
pub(crate) enum Listed {
    /// Every object was read.
    Complete,
    /// The resource could not be (fully) read.
    Gap(Gap),
    /// The server does not serve the resource (404): its API is not installed.
    NotServed(Gap),
}

/// Lists `resource`, appending its sanitized objects to `out` (at most
/// `opts.max_objects` in all).
pub(crate) async fn list(
    client: &kube::Client,
    server: &str,
    resource: &Resource,
    opts: &SnapshotOptions,
    out: &mut Vec<Value>,
) -> Result<Listed, LiveError> {
    let what = format!("listing {}", resource.name());
    let err = |message: String| LiveError::Request {
        server: server.to_string(),
        what: what.clone(),
        message,
    };
    let start = out.len();
    let mut restarted = false;
    let mut token: Option<String> = None;
    let mut pages = 0usize;
    loop {
        pages += 1;
        if pages > opts.max_pages {
            return Err(err(format!("more than {} pages", opts.max_pages)));
        }
        let mut params = ListParams::default().limit(opts.page_size);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let request = kube::core::Request::new(resource.path());
        let req = match resource.keep {
            Keep::MetadataOnly => request.list_metadata(&params),
            Keep::All | Keep::KeysOnly => request.list(&params),
        }
        .map_err(|e| err(e.to_string()))?;
        let body = match send(client, server, &what, req, opts.max_response_bytes).await? {
            Reply::Ok(body) => body,
            Reply::Failed { code: 403, message } => {
                return Ok(Listed::Gap(Gap {
                    resource: resource.name(),
                    namespace: String::new(),
                    reason: format!(
                        "forbidden: needs \"list\" on \"{}\" ({}) cluster-wide: {message}",
                        resource.plural,
                        if resource.group.is_empty() {
                            "core"
                        } else {
                            &resource.group
                        },
                    ),
                }));
            }
            Reply::Failed { code: 404, message } => {
                return Ok(Listed::NotServed(Gap {
                    resource: resource.name(),
                    namespace: String::new(),
                    reason: format!(
                        "not served by this API server ({}): {message}",
                        resource.api_version()
                    ),
                }));
            }
            Reply::Failed { code: 410, .. } if token.is_some() && !restarted => {
                // The continue token expired (the list took longer than the server keeps
                // its snapshot): start again, once, so the result is one consistent list.
                out.truncate(start);
                restarted = true;
                token = None;
                continue;
            }
            Reply::Failed { code, message } => {
                return Err(err(format!("HTTP {code}: {message}")));
            }
        };
        let mut body = body;
        let next = body
            .pointer("/metadata/continue")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let items = match body.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(err("`items` is not a list".into())),
        };
        if out.len().saturating_add(items.len()) > opts.max_objects {
            return Err(err(format!(
                "more than {} objects in the cluster (the limit)",
                opts.max_objects
            )));
        }
        for (i, item) in items.into_iter().enumerate() {
            let object = sanitize(resource, item)
                .ok_or_else(|| err(format!("items[{i}] is not an object")))?;
            out.push(object);
        }
        match next {
            None => return Ok(Listed::Complete),
            Some(t) if token.as_deref() == Some(t.as_str()) => {
                return Err(err(
                    "the server returned the same continue token twice".into()
                ));
            }
            Some(t) => token = Some(t),
        }
    }
}
