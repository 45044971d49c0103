//! A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat and Teams'
//! Slack-compatible endpoints accept `{"text": ...}`): one message per alert.

use super::{ExportError, Sink, post, sink_name};
use crate::store::AlertDetail;

/// A Slack-compatible webhook.
pub struct Slack {
    name: String,
    url: String,
    client: reqwest::blocking::Client,
}

impl Slack {
    /// Posts to `url` (which holds the channel's secret).
    pub fn new(url: &str, client: reqwest::blocking::Client) -> Slack {
        Slack {
            name: sink_name("slack", url),
            url: url.to_string(),
            client,
        }
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message for `alert`.
pub fn message(alert: &AlertDetail) -> serde_json::Value {
    let r = &alert.row;
    let mut place: Vec<String> = vec![format!("cluster {}", r.cluster)];
    if !r.pod.is_empty() {
        place.push(format!("pod {}/{}", r.namespace, r.pod));
    } else if !r.namespace.is_empty() {
        place.push(format!("namespace {}", r.namespace));
    }
    if !r.node.is_empty() {
        place.push(format!("node {}", r.node));
    }
    if !r.user.is_empty() {
        place.push(format!("user {}", r.user));
    }
    let text = format!(
        "*[{}] {}*\n{}\n_{}_",
        r.severity,
        escape(&r.rule),
        escape(&r.output),
        escape(&place.join(" · "))
    );
    serde_json::json!({ "text": text })
}

impl Sink for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, alert: &AlertDetail) -> Result<(), ExportError> {
        let body =
            serde_json::to_vec(&message(alert)).map_err(|e| ExportError::new("encoding", e))?;
        post(&self.client, &self.url, body, &[])
    }
}
