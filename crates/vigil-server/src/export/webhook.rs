//! The generic webhook: each alert POSTed as JSON, signed so the receiver knows it came
//! from this server. The signature is GitHub's scheme, which most receivers already check:
//! `X-Vigil-Signature: sha256=HEX(HMAC-SHA256(secret, body))`. `X-Vigil-Delivery` carries
//! the alert id, so a receiver can drop the repeat an at-least-once delivery may bring.

use super::{ExportError, Sink, post, sink_name};
use crate::store::AlertDetail;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A signed JSON webhook.
pub struct Webhook {
    name: String,
    url: String,
    secret: Option<Vec<u8>>,
    client: reqwest::blocking::Client,
}

impl Webhook {
    /// Sends to `url`, signing with `secret` when given.
    pub fn new(url: &str, secret: Option<Vec<u8>>, client: reqwest::blocking::Client) -> Webhook {
        Webhook {
            name: sink_name("webhook", url),
            url: url.to_string(),
            secret,
            client,
        }
    }
}

/// `sha256=HEX` of the body under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Sink for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, alert: &AlertDetail) -> Result<(), ExportError> {
        let body = serde_json::to_vec(alert).map_err(|e| ExportError::new("encoding", e))?;
        let mut headers = vec![("x-vigil-delivery", alert.row.id.to_string())];
        if let Some(secret) = &self.secret {
            headers.push(("x-vigil-signature", signature(secret, &body)));
        }
        post(&self.client, &self.url, body, &headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
