//! An in-process Kubernetes API server for tests: it replays API JSON recorded from real
//! servers (tests/fixtures/api/), checks the requests the way the API server would
//! (`limit`, `continue`, the `Accept` header of metadata-only lists), and records every
//! request. Plain HTTP on 127.0.0.1, so a kubeconfig with `server: http://127.0.0.1:PORT`
//! drives the real client code path.
//!
//! Shared by vigil-kube's tests and the `vigil` CLI tests (`#[path]`), hence the
//! fixtures are compiled in with `include_str!` relative to this file.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const VERSION_1_27: &str = include_str!("../fixtures/api/version-1.27.3.json");
pub const VERSION_EKS_1_31: &str = include_str!("../fixtures/api/version-eks-1.31.json");
const PODS_PAGE1: &str = include_str!("../fixtures/api/pods-page1.json");
const PODS_PAGE2: &str = include_str!("../fixtures/api/pods-page2.json");
const SECRETS_METADATA: &str = include_str!("../fixtures/api/secrets-metadata.json");
const SECRETS_FULL: &str = include_str!("../fixtures/api/secrets-full.json");
const CONFIGMAPS: &str = include_str!("../fixtures/api/configmaps.json");
const DEPLOYMENTS: &str = include_str!("../fixtures/api/deployments.json");
const REPLICASETS: &str = include_str!("../fixtures/api/replicasets.json");
const NAMESPACES: &str = include_str!("../fixtures/api/namespaces.json");
const STATUS_403_SECRETS: &str = include_str!("../fixtures/api/status-403-secrets.json");
const STATUS_404: &str = include_str!("../fixtures/api/status-404.json");
const STATUS_410: &str = include_str!("../fixtures/api/status-410-expired.json");
const STATUS_500: &str = include_str!("../fixtures/api/status-500.json");
/// Gatekeeper's custom resources, as its CRDs serve them (see [`ApiServer::set_collection`]).
pub const GK_TEMPLATES: &str = include_str!("../fixtures/api/gatekeeper-constrainttemplates.json");
pub const GK_REQUIRED_LABELS: &str =
    include_str!("../fixtures/api/gatekeeper-k8srequiredlabels.json");
pub const GK_CONFIGS: &str = include_str!("../fixtures/api/gatekeeper-configs.json");
pub const GK_TEMPLATES_PATH: &str = "/apis/templates.gatekeeper.sh/v1/constrainttemplates";
pub const GK_REQUIRED_LABELS_PATH: &str =
    "/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels";
pub const GK_CONFIGS_PATH: &str = "/apis/config.gatekeeper.sh/v1alpha1/configs";

impl ApiServer {
    /// Serves Gatekeeper's template, constraint and sync Config fixtures.
    pub fn serve_gatekeeper(&self) {
        self.set_collection(GK_TEMPLATES_PATH, Some(GK_TEMPLATES));
        self.set_collection(GK_REQUIRED_LABELS_PATH, Some(GK_REQUIRED_LABELS));
        self.set_collection(GK_CONFIGS_PATH, Some(GK_CONFIGS));
    }
}

/// The continue token of pods-page1.json.
pub const PODS_CONTINUE: &str = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgyMTMsInN0YXJ0IjoiZGVmYXVsdC93ZWItN2Q0YjljOGY2LWZnaGlqXHUwMDAwIn0";

/// Every collection a v1.3x API server serves that Vigil lists: path, list kind. Written
/// out here, independently of vigil-kube's table, so tests catch a drift in either.
pub const SERVED: &[(&str, &str)] = &[
    ("/api/v1/namespaces", "NamespaceList"),
    ("/api/v1/nodes", "NodeList"),
    ("/api/v1/pods", "PodList"),
    ("/apis/apps/v1/deployments", "DeploymentList"),
    ("/apis/apps/v1/statefulsets", "StatefulSetList"),
    ("/apis/apps/v1/daemonsets", "DaemonSetList"),
    ("/apis/apps/v1/replicasets", "ReplicaSetList"),
    ("/apis/batch/v1/jobs", "JobList"),
    ("/apis/batch/v1/cronjobs", "CronJobList"),
    ("/api/v1/services", "ServiceList"),
    ("/apis/networking.k8s.io/v1/ingresses", "IngressList"),
    (
        "/apis/networking.k8s.io/v1/networkpolicies",
        "NetworkPolicyList",
    ),
    ("/api/v1/serviceaccounts", "ServiceAccountList"),
    ("/apis/rbac.authorization.k8s.io/v1/roles", "RoleList"),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "ClusterRoleList",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "RoleBindingList",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "ClusterRoleBindingList",
    ),
    ("/api/v1/configmaps", "ConfigMapList"),
    ("/api/v1/secrets", "SecretList"),
    (
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        "ValidatingWebhookConfigurationList",
    ),
    (
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        "MutatingWebhookConfigurationList",
    ),
];

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Body of `/version`.
    pub version: &'static str,
    /// The `limit` every list request must carry (the server answers 400 otherwise).
    pub page_size: u32,
    /// Collection paths answered 403, as for an identity without `list` on them.
    pub forbidden: Vec<&'static str>,
    /// Collection paths answered 404, as by a server that does not serve the API.
    pub not_served: Vec<&'static str>,
    /// Collection paths answered 500.
    pub broken: Vec<&'static str>,
    /// Answer the first request carrying the pods continue token with 410 Expired.
    pub expire_continue_once: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            version: VERSION_1_27,
            page_size: 2,
            forbidden: Vec::new(),
            not_served: Vec::new(),
            broken: Vec::new(),
            expire_continue_once: false,
        }
    }
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: String,
    pub body: String,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct State {
    scenario: Scenario,
    requests: Mutex<Vec<Recorded>>,
    expired: Mutex<bool>,
    /// Collections outside [`SERVED`] (custom resources), path -> list JSON; a test
    /// changes them while a client polls.
    collections: Mutex<std::collections::HashMap<String, String>>,
}

/// A running server; it lives until the test process ends.
pub struct ApiServer {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl ApiServer {
    /// Starts a server on 127.0.0.1 with its own thread and runtime, so synchronous tests
    /// (which run the `vigil` binary) can use it too.
    pub fn start(scenario: Scenario) -> ApiServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            scenario,
            requests: Mutex::new(Vec::new()),
            expired: Mutex::new(false),
            collections: Mutex::new(std::collections::HashMap::new()),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let st = st.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        });
        ApiServer { addr, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves `list` (a list document, e.g. a fixture) at the collection `path` from now
    /// on, as an API server serving a custom resource does; `None` stops serving it (404).
    pub fn set_collection(&self, path: &str, list: Option<&str>) {
        let mut collections = self.state.collections.lock().unwrap();
        match list {
            Some(list) => collections.insert(path.to_string(), list.to_string()),
            None => collections.remove(path),
        };
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Writes a kubeconfig whose context `name` points at this server (token auth, as a
    /// service account would use), and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: {url}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: vigil
current-context: {name}
users:
- name: vigil
  user:
    token: test-token
",
            url = self.url()
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn reply(code: u16, body: impl Into<String>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.into())))
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code})
    .to_string()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (accept, content_type) = (header("accept"), header("content-type"));
    let auth = header("authorization");
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let rec = Recorded {
        method: method.clone(),
        path: path.clone(),
        query,
        accept,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.requests.lock().unwrap().push(rec.clone());
    let sc = &state.scenario;
    if auth != "Bearer test-token" {
        return Ok(reply(401, status(401, "Unauthorized", "Unauthorized")));
    }
    if method == "PATCH" {
        // Server-side apply: answer the applied object, as created.
        let mut obj: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return Ok(reply(400, status(400, "BadRequest", &e.to_string()))),
        };
        obj["metadata"]["uid"] = "00000000-0000-4000-8000-000000000001".into();
        obj["metadata"]["resourceVersion"] = "1".into();
        return Ok(reply(200, obj.to_string()));
    }
    if method != "GET" {
        return Ok(reply(
            405,
            status(405, "MethodNotAllowed", "method not allowed"),
        ));
    }
    if path == "/version" {
        return Ok(reply(200, sc.version));
    }
    let custom = state.collections.lock().unwrap().get(&path).cloned();
    if let Some(list) = custom {
        if rec.param("limit") != Some(sc.page_size.to_string().as_str()) {
            return Ok(reply(
                400,
                status(400, "BadRequest", "test server: wrong limit"),
            ));
        }
        return Ok(reply(200, list));
    }
    let Some((_, list_kind)) = SERVED.iter().find(|(p, _)| *p == path) else {
        return Ok(reply(404, STATUS_404));
    };
    if sc.not_served.contains(&path.as_str()) {
        return Ok(reply(404, STATUS_404));
    }
    if sc.broken.contains(&path.as_str()) {
        return Ok(reply(500, STATUS_500));
    }
    let plural = path.rsplit('/').next().unwrap();
    if sc.forbidden.contains(&path.as_str()) {
        if plural == "secrets" {
            return Ok(reply(403, STATUS_403_SECRETS));
        }
        let group = path
            .strip_prefix("/apis/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("");
        let message = format!(
            "{plural} is forbidden: User \"system:serviceaccount:vigil:vigil\" cannot list resource \"{plural}\" in API group \"{group}\" at the cluster scope"
        );
        return Ok(reply(403, status(403, "Forbidden", &message)));
    }
    if rec.param("limit") != Some(sc.page_size.to_string().as_str()) {
        return Ok(reply(
            400,
            status(
                400,
                "BadRequest",
                &format!("test server: expected limit={}", sc.page_size),
            ),
        ));
    }
    let cont = rec.param("continue");
    if path == "/api/v1/pods" {
        return Ok(match cont {
            None => reply(200, PODS_PAGE1),
            Some(PODS_CONTINUE) => {
                let mut expired = state.expired.lock().unwrap();
                if sc.expire_continue_once && !*expired {
                    *expired = true;
                    reply(410, STATUS_410)
                } else {
                    reply(200, PODS_PAGE2)
                }
            }
            Some(_) => reply(400, status(400, "BadRequest", "continue key is not valid")),
        });
    }
    if cont.is_some() {
        return Ok(reply(
            400,
            status(400, "BadRequest", "continue key is not valid"),
        ));
    }
    let body = match path.as_str() {
        "/api/v1/secrets" if rec.accept.contains("as=PartialObjectMetadataList") => {
            SECRETS_METADATA.to_string()
        }
        "/api/v1/secrets" => SECRETS_FULL.to_string(),
        "/api/v1/configmaps" => CONFIGMAPS.to_string(),
        "/apis/apps/v1/deployments" => DEPLOYMENTS.to_string(),
        "/apis/apps/v1/replicasets" => REPLICASETS.to_string(),
        "/api/v1/namespaces" => NAMESPACES.to_string(),
        _ => {
            let api_version = path
                .strip_prefix("/apis/")
                .or_else(|| path.strip_prefix("/api/"))
                .unwrap()
                .rsplit_once('/')
                .unwrap()
                .0;
            serde_json::json!({"kind": list_kind, "apiVersion": api_version,
                "metadata": {"resourceVersion": "48213"}, "items": []})
            .to_string()
        }
    };
    Ok(reply(200, body))
}
