//! Finding the cluster and building a client for it.
//!
//! Configuration comes from, in order: `--kubeconfig PATH`; the `KUBECONFIG` variable (a
//! `:`-separated list, merged as kubectl does); `~/.kube/config`; and, when none of these
//! exists, the in-cluster service account (token and CA mounted into the pod). The
//! context is `--context` or the kubeconfig's current context, and names the cluster in
//! reports (`in-cluster` for the service account). The proxy is chosen by [`super::proxy`].

use super::error::{LiveError, chain};
use super::proxy::proxy_for;
use crate::inventory::ClusterInfo;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest wait for one response; a list page of 500 objects takes well under a second.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Where to find the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Kubeconfig file; `None` looks at `KUBECONFIG`, `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Context to use instead of the kubeconfig's current context.
    pub context: Option<String>,
}

/// A client for one cluster, with the identity reports use for it.
#[derive(Clone)]
pub struct Connection {
    /// The kube client (authentication, TLS and proxy already set up).
    pub client: kube::Client,
    /// Name (context or `in-cluster`) and server URL; the version is filled by a snapshot.
    pub cluster: ClusterInfo,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

/// Loads the configuration and builds a client; no request is made yet.
pub async fn connect(opts: &ConnectOptions) -> Result<Connection, LiveError> {
    let env = |k: &str| std::env::var(k).ok();
    let Some((kubeconfig, origin)) = find_kubeconfig(opts)? else {
        if opts.context.is_some() {
            return Err(LiveError::Config {
                origin: "kubeconfig".into(),
                message: "--context given but no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config)".into(),
            });
        }
        let config = Config::incluster().map_err(|e| LiveError::Config {
            origin: "in-cluster".into(),
            message: format!(
                "no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a pod with a service account: {}",
                chain(&e)
            ),
        })?;
        return build(config, "in-cluster".into(), None, &env);
    };
    let config_err = |message: String| LiveError::Config {
        origin: origin.clone(),
        message,
    };
    let context = match opts.context.clone().or(kubeconfig.current_context.clone()) {
        Some(c) => c,
        None => {
            return Err(config_err("no current-context; pass --context NAME".into()));
        }
    };
    let cluster_proxy = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| kubeconfig.clusters.iter().find(|n| n.name == c.cluster))
        .and_then(|n| n.cluster.as_ref())
        .and_then(|c| c.proxy_url.clone());
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| config_err(format!("context {context:?}: {}", chain(&e))))?;
    build(config, context, cluster_proxy.as_deref(), &env)
}

/// The kubeconfig to use and where it came from, or `None` when there is none at all.
fn find_kubeconfig(opts: &ConnectOptions) -> Result<Option<(Kubeconfig, String)>, LiveError> {
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|e| LiveError::Config {
            origin: path.display().to_string(),
            message: chain(&e),
        })
    };
    if let Some(path) = &opts.kubeconfig {
        return Ok(Some((read(path)?, path.display().to_string())));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let origin = format!("KUBECONFIG={}", list.to_string_lossy());
        return match Kubeconfig::from_env() {
            Ok(Some(k)) => Ok(Some((k, origin))),
            Ok(None) => Ok(None),
            Err(e) => Err(LiveError::Config {
                origin,
                message: chain(&e),
            }),
        };
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(home).join(".kube").join("config");
        if path.is_file() {
            return Ok(Some((read(&path)?, path.display().to_string())));
        }
    }
    Ok(None)
}

fn build(
    mut config: Config,
    name: String,
    cluster_proxy: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Connection, LiveError> {
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let err = |message: String| LiveError::Config {
        origin: server.clone(),
        message,
    };
    config.proxy_url = match proxy_for(&config.cluster_url, cluster_proxy, env) {
        Some(p) => Some(
            p.parse()
                .map_err(|e| err(format!("bad proxy URL {p:?}: {e}")))?,
        ),
        None => None,
    };
    config.read_timeout = Some(READ_TIMEOUT);
    let client = kube::Client::try_from(config).map_err(|e| err(chain(&e)))?;
    Ok(Connection {
        client,
        cluster: ClusterInfo {
            name,
            server,
            version: None,
        },
    })
}
