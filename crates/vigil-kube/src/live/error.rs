//! Why reading a cluster failed.

/// A live-cluster failure; the message names the kubeconfig or the server, and what was
/// being done.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No usable configuration: kubeconfig missing or bad, context unknown, not in a cluster.
    #[error("{origin}: {message}")]
    Config {
        /// The kubeconfig file, or `in-cluster`.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A request failed in a way that is not a missing permission: connection, TLS,
    /// server error, a body that is not the JSON expected, a limit exceeded.
    #[error("{server}: {what}: {message}")]
    Request {
        /// The API server URL.
        server: String,
        /// What was being done, e.g. `listing pods`.
        what: String,
        /// What went wrong.
        message: String,
    },
}

/// `e` with its chain of causes, since kube's top-level messages (e.g. "client error
/// (Connect)") rarely say enough alone.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
