//! `vigil admission serve`: the validating admission webhook.
//!
//! The API server POSTs an `AdmissionReview` per request and waits for the answer, so
//! judging happens inline on the connection's task: every policy is compiled at load,
//! and a request costs microseconds per policy (a template's engine is cloned, not
//! rebuilt), which is cheaper than handing work to another thread. The policies in force
//! sit behind an `RwLock<Arc<_>>`: a request takes the current `Arc` and keeps it to the
//! end, and a reload swaps in a whole new set, so no request is judged half by old and
//! half by new policies, and none is dropped.

use super::cluster::{ClusterPolicies, Versions, report_gaps, versions};
use super::metrics::Metrics;
use super::{PolicyArgs, report_load};
use crate::cmd::k8s::live::ClusterArgs;
use crate::cmd::sbom::parse_size;
use crate::listen::reply::{refuse, reply};
use crate::listen::{self, Reply};
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};
use vigil_kube::admission::selector::name_matches;
use vigil_kube::admission::{self, Action, FailureMode, PolicySet, review};
use vigil_kube::live::GatekeeperObjects;

/// `vigil admission serve` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Endpoints: POST /validate (any other POST path works too) takes an
AdmissionReview (admission.k8s.io/v1 or v1beta1) and answers one with the request's uid;
GET /healthz, /readyz and /metrics (Prometheus) need no body.

Verdicts: a Constraint with enforcementAction deny (the default) refuses the request with
`[constraint-name] message` lines; warn lets it through with warnings kubectl shows;
dryrun only records (audit annotation `violations`, log, metrics). A policy that fails
(Rego error, --policy-timeout) follows --failure-policy. Malformed reviews get 400 with
the reason, bodies over --max-body 413.

Policy files are read again when they change (checked every --reload-interval); a
template that no longer compiles is logged and left out, the others stay in force.

With --cluster-policies the ConstraintTemplates and Constraints in the cluster are
enforced too, read every --cluster-interval (list requests; `vigil admission manifests
--cluster-policies` grants the access); Namespaces and the kinds Gatekeeper's sync Config
or SyncSets name become data.inventory. /readyz answers 503 until the cluster has been
read once; a failed read keeps the last good policies in force.

Examples:
  vigil admission serve --listen 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\
      --policy /etc/vigil/policies --pod-security baseline
  vigil admission serve --listen 127.0.0.1:8443 --tls-cert tls.crt --tls-key tls.key \\
      --image-results scans/ --image-severity high --unscanned warn
  vigil admission serve --listen 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\
      --cluster-policies --pod-security baseline"
)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (port 0 picks a free one). The first line on
    /// stderr gives the URL served.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// TLS certificate chain (PEM). The API server only calls webhooks over HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address.
    #[arg(long)]
    pub insecure: bool,
    #[command(flatten)]
    pub policies: PolicyArgs,
    /// What a request gets when a policy fails to judge it: Fail (deny) or Ignore (allow
    /// with a warning).
    #[arg(long, value_name = "MODE", default_value = "Fail")]
    pub failure_policy: FailureMode,
    /// Requests in these namespaces are allowed without judging (`*` at either end is a
    /// wildcard). Repeatable.
    #[arg(long = "exempt-namespace", value_name = "NAMESPACE")]
    pub exempt_namespaces: Vec<String>,
    /// Largest AdmissionReview body (bytes; K, M suffixes); larger ones get 413.
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    pub max_body: u64,
    /// How often policy files are checked for changes.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = super::parse_duration)]
    pub reload_interval: Duration,
    /// Also enforce the ConstraintTemplates and Constraints in the cluster (the one of
    /// --kubeconfig/--context, or the pod's service account), with the objects
    /// Gatekeeper's sync configuration names as `data.inventory`, as Gatekeeper does.
    #[arg(long)]
    pub cluster_policies: bool,
    /// How often the cluster's policies are read again (with --cluster-policies).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::parse_duration)]
    pub cluster_interval: Duration,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Time a client gets to send a whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request handler shares.
struct State {
    policies: RwLock<Arc<PolicySet>>,
    failure: FailureMode,
    exempt: Vec<String>,
    max_body: u64,
    metrics: Metrics,
    ready: AtomicBool,
}

impl State {
    fn current(&self) -> Arc<PolicySet> {
        match self.policies.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, set: PolicySet) {
        let set = Arc::new(set);
        match self.policies.write() {
            Ok(mut p) => *p = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }
}

/// Runs `vigil admission serve`.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let (addr, tls) = listen::endpoint(
        &args.listen,
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        args.insecure,
    )?;
    if args.policies.is_empty() && !args.cluster_policies {
        tracing::warn!(
            "no policy given (--policy, --pod-security, --image-results, --cluster-policies): every request is allowed"
        );
    }
    let mut sources = Sources {
        policies: args.policies.clone(),
        files: Vec::new(),
        cluster: None,
    };
    sources.files = fingerprint(&sources.policies);
    // Without the cluster's policies the webhook is not ready: it answers, with the
    // files' policies only, but a Service sends it nothing until the cluster is read.
    let mut ready = true;
    if args.cluster_policies {
        let mut cluster = ClusterWatch {
            source: ClusterPolicies::new(args.cluster.clone())?,
            interval: args.cluster_interval,
            read: None,
        };
        ready = cluster.refresh();
        sources.cluster = Some(cluster);
    }
    let loaded = sources.load()?;
    report_load(&loaded);
    let metrics = Metrics::new();
    metrics.loaded(loaded.set.len(), loaded.errors.len(), None);
    let state = Arc::new(State {
        policies: RwLock::new(Arc::new(loaded.set)),
        failure: args.failure_policy,
        exempt: args.exempt_namespaces.clone(),
        max_body: args.max_body,
        metrics,
        ready: AtomicBool::new(ready),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let reloader = {
        let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
        let interval = args.reload_interval;
        std::thread::Builder::new()
            .name("policy-reload".into())
            .spawn(move || watch_policies(&state, sources, interval, &stop))
            .context("starting the policy reload thread")?
    };
    let served = listen::serve_until_signal(addr, tls, {
        let state = Arc::clone(&state);
        move |req| handle(Arc::clone(&state), req)
    });
    state.ready.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let _ = reloader.join();
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Size and modification time of every policy file: a change in any means a reload.
type Fingerprint = Vec<(PathBuf, Option<(u64, SystemTime)>)>;

fn fingerprint(policies: &PolicyArgs) -> Fingerprint {
    policies
        .files()
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)));
            (p, meta)
        })
        .collect()
}

/// Where the policies in force come from: files, and the cluster with --cluster-policies.
struct Sources {
    policies: PolicyArgs,
    /// The files as last read.
    files: Fingerprint,
    cluster: Option<ClusterWatch>,
}

impl Sources {
    /// Compiles the policies of the files and of the cluster's last good read.
    fn load(&self) -> Result<super::Loaded> {
        match self.cluster.as_ref().and_then(|c| c.read.as_ref()) {
            Some((objects, _)) => self
                .policies
                .load_with(&objects.policies, &objects.inventory),
            None => self.policies.load(),
        }
    }
}

/// The cluster's policies, read every `interval`.
struct ClusterWatch {
    source: ClusterPolicies,
    interval: Duration,
    /// The last good read, and its versions.
    read: Option<(GatekeeperObjects, Versions)>,
}

impl ClusterWatch {
    /// Reads the cluster; true when the read worked and differs from the last one. A
    /// failed read keeps the last good one in force.
    fn refresh(&mut self) -> bool {
        match self.source.read() {
            Ok(objects) => {
                let versions = versions(&objects);
                let last = self.read.as_ref();
                if last.is_some_and(|(_, v)| *v == versions) {
                    return false;
                }
                if last.is_none_or(|(o, _)| o.gaps != objects.gaps) {
                    report_gaps(&objects.gaps);
                }
                self.read = Some((objects, versions));
                true
            }
            Err(e) => {
                tracing::error!("policies not read from the cluster: {e:#}");
                eprintln!("vigil: policies not read from the cluster: {e:#}");
                false
            }
        }
    }
}

/// Polls the policy files (and the cluster) and swaps in a new policy set when they
/// change. Polling, not inotify: ConfigMap volumes change by swapping a symlink, which
/// file watches on the files themselves miss, and a check every few seconds costs nothing.
fn watch_policies(state: &State, mut sources: Sources, interval: Duration, stop: &AtomicBool) {
    let tick = Duration::from_millis(100);
    let mut files_waited = Duration::ZERO;
    let mut cluster_waited = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        files_waited += tick;
        cluster_waited += tick;
        let mut changed = false;
        if files_waited >= interval {
            files_waited = Duration::ZERO;
            if fingerprint(&sources.policies) != sources.files {
                // Let a writer finish (editors write in steps), then read what is there.
                std::thread::sleep(tick);
                sources.files = fingerprint(&sources.policies);
                changed = true;
            }
        }
        if let Some(cluster) = &mut sources.cluster
            && cluster_waited >= cluster.interval
        {
            cluster_waited = Duration::ZERO;
            changed |= cluster.refresh();
        }
        if !changed {
            continue;
        }
        match sources.load() {
            Ok(loaded) => {
                report_load(&loaded);
                state
                    .metrics
                    .loaded(loaded.set.len(), loaded.errors.len(), Some(true));
                eprintln!(
                    "vigil: policies reloaded: {} in force, {} not loaded",
                    loaded.set.len(),
                    loaded.errors.len()
                );
                state.replace(loaded.set);
                if sources.cluster.as_ref().is_none_or(|c| c.read.is_some()) {
                    state.ready.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => {
                tracing::error!("policies not reloaded, the previous ones stay in force: {e:#}");
                eprintln!("vigil: policies not reloaded: {e:#}");
                let current = state.current().len();
                state.metrics.loaded(current, 0, Some(false));
            }
        }
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Reply {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => return text(StatusCode::OK, "text/plain", "ok\n".into()),
        (&Method::GET, "/readyz") => {
            return if state.ready.load(Ordering::Relaxed) {
                text(StatusCode::OK, "text/plain", "ok\n".into())
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "stopping\n".into(),
                )
            };
        }
        (&Method::GET, "/metrics") => {
            return text(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                state.metrics.encode(),
            );
        }
        (&Method::POST, _) => {}
        _ => {
            state.metrics.rejected();
            let mut r = refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "POST an AdmissionReview; GET /healthz, /readyz or /metrics",
            );
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
            return r;
        }
    }
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if media.is_some_and(|m| m != "application/json") {
        state.metrics.rejected();
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send an AdmissionReview as application/json",
        );
    }
    if req.body().size_hint().lower() > state.max_body {
        state.metrics.rejected();
        return too_large(&state);
    }
    let limited = Limited::new(req.into_body(), state.max_body as usize);
    let body = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            state.metrics.rejected();
            return too_large(&state);
        }
        Ok(Err(e)) => {
            state.metrics.rejected();
            return refuse(StatusCode::BAD_REQUEST, &format!("reading the body: {e}"));
        }
        Err(_) => {
            state.metrics.rejected();
            return refuse(StatusCode::REQUEST_TIMEOUT, "the body took too long");
        }
    };
    let started = Instant::now();
    let request = match admission::Request::from_review(&body) {
        Ok(r) => r,
        Err(e) => {
            state.metrics.rejected();
            tracing::warn!("malformed AdmissionReview: {e}");
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("malformed AdmissionReview: {e}"),
            );
        }
    };
    let verdict = judge(&state, &request, started);
    reply(
        StatusCode::OK,
        review::response(&request.api_version, &request.uid, &verdict),
    )
}

/// Runs the policies in force on `request`, logs and counts the outcome.
fn judge(state: &State, request: &admission::Request, started: Instant) -> admission::Verdict {
    let ns = &request.namespace;
    if !ns.is_empty() && state.exempt.iter().any(|p| name_matches(p, ns)) {
        return admission::Verdict {
            allowed: true,
            ..admission::Verdict::default()
        };
    }
    let policies = state.current();
    let decision = policies.decide(request);
    let verdict = decision.verdict(state.failure);
    state
        .metrics
        .judged(request, &decision, verdict.allowed, started.elapsed());
    let object = format!("{} {}/{}", request.kind, request.namespace, request.name);
    let user = request
        .review
        .pointer("/userInfo/username")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    for v in &decision.violations {
        tracing::info!(
            uid = %request.uid, operation = %request.operation, object = %object, user,
            policy = %v.policy, action = %v.action, "{}", v.message
        );
    }
    for f in &decision.failures {
        tracing::error!(uid = %request.uid, object = %object, policy = %f.policy, "policy failed: {}", f.error);
    }
    if !verdict.allowed {
        tracing::info!(uid = %request.uid, object = %object, user, "denied");
    } else if decision.with_action(Action::Deny).next().is_none() {
        tracing::debug!(uid = %request.uid, object = %object, "allowed");
    }
    verdict
}

fn too_large(state: &State) -> Reply {
    let mut r = refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than {} bytes", state.max_body),
    );
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}
