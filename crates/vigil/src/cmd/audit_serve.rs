//! `vigil audit serve`: the API server's audit webhook backend. kube-apiserver POSTs
//! batches of events (`audit.k8s.io/v1` `EventList` JSON) to the URL of its webhook
//! kubeconfig; each batch is judged and its alerts written before the answer, so a
//! 200 means "judged and written" and nothing acknowledged is lost at a crash.
//!
//! Threads: the async runtime only speaks HTTP; one judge thread decodes and judges
//! batches, fed by a bounded queue. A request takes its queue slot before its body is
//! read, so memory is bounded by `--queue` × `--max-body`; when every slot is taken the
//! answer is 429 with Retry-After, which the API server's webhook client retries with
//! back-off, instead of a queue that grows without bound.

use crate::cmd::audit_judge::{self, AlertFormat, AlertWriter, RuleArgs};
use crate::cmd::sbom::parse_size;
use crate::listen::bearer::Tokens;
use crate::listen::reply::{refuse, reply, status_body};
use crate::listen::{self, Reply};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body, Bytes};
use hyper::{Method, Request, StatusCode, header};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use vigil_detect::audit_log::{AuditLog, Decoder};
use vigil_detect::detector::Detector;

/// `vigil audit serve` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The API server sends its audit events here when started with:
  --audit-policy-file=/etc/kubernetes/audit-policy.yaml
  --audit-webhook-config-file=/etc/kubernetes/vigil-webhook.kubeconfig
  --audit-webhook-batch-max-size=400        (events per POST; the default)
  --audit-webhook-mode=batch                (the default; `blocking` slows every request)

Print the webhook kubeconfig with
  vigil audit serve --print-kubeconfig --url https://vigil.example:8443/ \\
      --ca-cert ca.pem --token-file token

Answers: 200 judged (alerts written before the answer); 400 a malformed body (the events
that could be read are still judged); 401 no or wrong bearer token; 413 a body over
--max-body; 415 not JSON; 429 busy (Retry-After: 1; the API server retries). GET /healthz
answers 200 without a token.

Plain HTTP is allowed only on a loopback address unless --insecure. Ctrl-C or SIGTERM
stops accepting, finishes open requests and prints a summary on stderr.

Examples:
  vigil audit serve --listen 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\
      --token-file /etc/vigil/token --output /var/log/vigil/audit-alerts.jsonl
  vigil audit serve --listen 127.0.0.1:8080 --token-env VIGIL_TOKEN"
)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (port 0 picks a free one). The first line on
    /// stderr gives the URL served.
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present = "print_kubeconfig"
    )]
    pub listen: Option<String>,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Bearer tokens accepted, one per line (several lines let a token be rotated).
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the bearer token accepted.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Allow plain HTTP, and no token, on a non-loopback address.
    #[arg(long)]
    pub insecure: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output: JSON lines of alerts, OCSF Detection Finding lines, or one table line per alert.
    #[arg(long, value_enum, default_value_t = AlertFormat::Json)]
    pub format: AlertFormat,
    /// Append the alerts to FILE instead of writing them to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Largest request body (bytes; K, M, G suffixes); larger ones get 413.
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = parse_size)]
    pub max_body: u64,
    /// Batches read or waiting to be judged at once; more get 429.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub queue: usize,
    /// Print the webhook kubeconfig for kube-apiserver's --audit-webhook-config-file
    /// and exit (with --url, and --ca-cert and --token-file/--token-env when used).
    #[arg(long)]
    pub print_kubeconfig: bool,
    /// The URL the API server reaches this server at (for --print-kubeconfig).
    #[arg(long, value_name = "URL", requires = "print_kubeconfig")]
    pub url: Option<String>,
    /// CA certificate (PEM) that signed the serving certificate, embedded in the
    /// printed kubeconfig.
    #[arg(long, value_name = "FILE", requires = "print_kubeconfig")]
    pub ca_cert: Option<PathBuf>,
}

/// Time a client gets to send a whole body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Malformed-line reasons quoted back in a 400 answer.
const REASONS_QUOTED: usize = 10;

/// A batch handed to the judge thread, with where its verdict goes.
struct Batch {
    body: Bytes,
    reply: oneshot::Sender<Verdict>,
}

/// What judging a batch found.
#[derive(Debug, Default)]
struct Verdict {
    events: usize,
    alerts: usize,
    malformed: usize,
    reasons: Vec<String>,
    /// Alerts could not be written: the batch must be sent again.
    failed: Option<String>,
}

/// Counts for the summary at exit.
#[derive(Debug, Default)]
struct Refused {
    unauthorized: AtomicU64,
    too_large: AtomicU64,
    busy: AtomicU64,
    malformed: AtomicU64,
}

/// What every request handler shares.
struct State {
    tokens: Tokens,
    queue: mpsc::Sender<Batch>,
    max_body: u64,
    refused: Refused,
}

/// Runs `vigil audit serve`.
pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let tokens = match (&args.token_file, &args.token_env) {
        (Some(path), _) => Tokens::from_file(path)?,
        (None, Some(var)) => Tokens::from_env(var)?,
        (None, None) => Tokens::default(),
    };
    if args.print_kubeconfig {
        print!("{}", kubeconfig(&args)?);
        return Ok(ExitCode::SUCCESS);
    }
    let listen_on = args.listen.as_deref().context("--listen is required")?;
    let (addr, tls) = listen::endpoint(
        listen_on,
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        args.insecure,
    )?;
    if tokens.is_empty() {
        if !addr.ip().is_loopback() && !args.insecure {
            bail!(
                "without --token-file or --token-env anyone who reaches {addr} could send \
                 events; give a token (or pass --insecure to allow it)"
            );
        }
        tracing::warn!("no bearer token: every client that reaches {addr} may send events");
    }
    let detector = args.rules.detector()?;
    let rules = detector.len();
    let writer = AlertWriter::open(args.format, args.output.as_deref())?;
    let (queue, batches) = mpsc::channel(args.queue.max(1));
    let judge = std::thread::Builder::new()
        .name("audit-judge".into())
        .spawn(move || judge_batches(detector, writer, batches))
        .context("starting the judge thread")?;
    let state = Arc::new(State {
        tokens,
        queue,
        max_body: args.max_body,
        refused: Refused::default(),
    });
    // Once it returns, requests cut off by the drain timeout are gone too, so the judge
    // thread sees the queue closed once it has judged what was queued.
    let served = listen::serve_until_signal(addr, tls, {
        let state = Arc::clone(&state);
        move |req| handle(Arc::clone(&state), req)
    });
    let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let refused = [
        count(&state.refused.unauthorized),
        count(&state.refused.too_large),
        count(&state.refused.busy),
        count(&state.refused.malformed),
    ];
    // The last sender goes: the judge thread ends once the queue is empty.
    drop(state);
    let totals = judge
        .join()
        .map_err(|_| anyhow::anyhow!("the judge thread panicked"))?;
    let [unauthorized, too_large, busy, malformed] = refused;
    eprintln!(
        "{} batches, {} events judged by {rules} rules: {} alerts; refused: {unauthorized} \
         unauthorized, {too_large} too large, {busy} busy; {malformed} malformed",
        totals.batches, totals.events, totals.alerts,
    );
    served?;
    Ok(ExitCode::SUCCESS)
}

/// What the judge thread did.
#[derive(Debug, Default)]
struct Totals {
    batches: u64,
    events: u64,
    alerts: u64,
}

/// The judge thread: batches in arrival order, until every sender is gone.
fn judge_batches(
    mut detector: Detector,
    mut writer: AlertWriter,
    mut batches: mpsc::Receiver<Batch>,
) -> Totals {
    let mut totals = Totals::default();
    // One decoder for the whole stream: a batch the API server sends again (after a
    // timeout, say) is a duplicate, not new events.
    let mut decoder = Decoder::new();
    while let Some(batch) = batches.blocking_recv() {
        let verdict = judge_batch(&mut detector, &mut decoder, &mut writer, &batch.body);
        totals.batches += 1;
        totals.events += verdict.events as u64;
        totals.alerts += verdict.alerts as u64;
        // The client may have gone; the batch was judged all the same.
        let _ = batch.reply.send(verdict);
    }
    let _ = writer.flush();
    totals
}

/// Decodes and judges one request body, writing its alerts.
fn judge_batch(
    detector: &mut Detector,
    decoder: &mut Decoder,
    writer: &mut AlertWriter,
    body: &[u8],
) -> Verdict {
    let mut verdict = Verdict::default();
    let mut log = AuditLog::with_decoder(body, std::mem::take(decoder));
    let judged = audit_judge::judge_log(&mut log, detector, |alerts| {
        writer.write(alerts).context("writing alerts")?;
        verdict.alerts += alerts.len();
        Ok(())
    });
    *decoder = log.into_decoder();
    let malformed = std::mem::take(&mut decoder.stats.malformed);
    verdict.malformed = std::mem::take(&mut decoder.stats.malformed_count);
    verdict.reasons = malformed
        .iter()
        .take(REASONS_QUOTED)
        .map(|m| format!("line {}: {}", m.line, m.reason))
        .collect();
    match judged {
        Ok(events) => verdict.events = events,
        Err(e) => {
            tracing::error!("{e:#}");
            verdict.failed = Some(format!("{e:#}"));
        }
    }
    verdict
}

/// Asks the client to send the batch again in a second (the API server's webhook
/// client retries on 429 and on Retry-After, with back-off).
fn retry_later(status: StatusCode, message: &str) -> Reply {
    let mut r = refuse(status, message);
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}

/// The checks made before a request's body is read, and its queue slot.
fn admit<B>(state: &State, req: &Request<B>) -> Result<mpsc::OwnedPermit<Batch>, Box<Reply>> {
    if req.method() != Method::POST {
        let mut r = refuse(StatusCode::METHOD_NOT_ALLOWED, "POST audit events here");
        r.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return Err(Box::new(r));
    }
    if !state.tokens.is_empty() && !state.tokens.authorize(req.headers()) {
        state.refused.unauthorized.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("refused a request without a valid bearer token");
        let mut r = refuse(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"vigil\""),
        );
        return Err(Box::new(r));
    }
    let headers = req.headers();
    let media = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if media.is_some_and(|m| m != "application/json") {
        return Err(Box::new(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send audit.k8s.io EventList JSON (application/json)",
        )));
    }
    if headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err(Box::new(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "compressed bodies are not accepted",
        )));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body) {
        return Err(Box::new(too_large(state)));
    }
    // A queue slot before the body is read: memory stays within queue × max body.
    match state.queue.clone().try_reserve_owned() {
        Ok(slot) => Ok(slot),
        Err(mpsc::error::TrySendError::Full(_)) => {
            state.refused.busy.fetch_add(1, Ordering::Relaxed);
            Err(Box::new(retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "busy: send it again later",
            )))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Err(Box::new(retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down",
        ))),
    }
}

fn too_large(state: &State) -> Reply {
    state.refused.too_large.fetch_add(1, Ordering::Relaxed);
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than {} bytes", state.max_body),
    )
}

/// Marks a response sent without reading the request body: the connection closes.
fn unread(mut r: Reply) -> Reply {
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
}

/// One request. Generic over the body so tests can call it without a socket.
async fn handle<B>(state: Arc<State>, req: Request<B>) -> Reply
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if req.uri().path() == "/healthz" {
        return match *req.method() {
            Method::GET | Method::HEAD => reply(StatusCode::OK, json!({ "status": "ok" })),
            _ => refuse(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
        };
    }
    // A refusal before the body is read closes the connection: the unread body would
    // otherwise be taken for the next request, or the client would reuse a connection
    // the server is about to drop.
    let slot = match admit(&state, &req) {
        Ok(slot) => slot,
        Err(r) => return unread(*r),
    };
    let limit = usize::try_from(state.max_body).unwrap_or(usize::MAX);
    let body =
        match tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), limit).collect())
            .await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return unread(too_large(&state));
            }
            Ok(Err(e)) => {
                return unread(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("reading the body: {e}"),
                ));
            }
            Err(_) => {
                return unread(refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body took too long",
                ));
            }
        };
    if body.iter().all(u8::is_ascii_whitespace) {
        state.refused.malformed.fetch_add(1, Ordering::Relaxed);
        return refuse(StatusCode::BAD_REQUEST, "an empty body");
    }
    let (tx, rx) = oneshot::channel();
    let _ = slot.send(Batch { body, reply: tx });
    let Ok(verdict) = rx.await else {
        return retry_later(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    if let Some(why) = verdict.failed {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, &why);
    }
    if verdict.malformed > 0 {
        state.refused.malformed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            events = verdict.events,
            malformed = verdict.malformed,
            "a malformed batch: {}",
            verdict.reasons.join("; ")
        );
        let mut body = status_body(
            StatusCode::BAD_REQUEST,
            &format!(
                "{} malformed audit events ({}); the {} that could be read were judged",
                verdict.malformed,
                verdict.reasons.join("; "),
                verdict.events
            ),
        );
        body["events"] = json!(verdict.events);
        body["alerts"] = json!(verdict.alerts);
        body["malformed"] = json!(verdict.malformed);
        body["reasons"] = json!(verdict.reasons);
        return reply(StatusCode::BAD_REQUEST, body);
    }
    reply(
        StatusCode::OK,
        json!({ "events": verdict.events, "alerts": verdict.alerts }),
    )
}

/// The kubeconfig kube-apiserver's --audit-webhook-config-file needs to reach us. JSON
/// strings are valid YAML scalars, so values are quoted that way whatever they hold.
fn kubeconfig(args: &ServeArgs) -> Result<String> {
    let url = args
        .url
        .as_deref()
        .context("--print-kubeconfig needs --url, the URL the API server reaches Vigil at")?;
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut out = String::from(
        "# kube-apiserver --audit-webhook-config-file: where to send audit events.\n\
         apiVersion: v1\nkind: Config\nclusters:\n  - name: vigil\n    cluster:\n",
    );
    out.push_str(&format!("      server: {}\n", q(url)));
    if let Some(ca) = &args.ca_cert {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            bail!("{} is not a PEM certificate", ca.display());
        }
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        out.push_str(&format!("      certificate-authority-data: {data}\n"));
    }
    out.push_str(
        "contexts:\n  - name: vigil\n    context:\n      cluster: vigil\n      user: kube-apiserver\n\
         current-context: vigil\nusers:\n  - name: kube-apiserver\n    user:\n",
    );
    let token = match (&args.token_file, &args.token_env) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(String::from),
        (None, Some(var)) => std::env::var(var).ok().map(|v| v.trim().to_string()),
        (None, None) => None,
    };
    match token {
        Some(t) => out.push_str(&format!("      token: {}\n", q(&t))),
        None => out.push_str("      token: \"REPLACE-WITH-THE-TOKEN\"\n"),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    const PRIVILEGED: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"p1","stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/shop/pods","user":{"username":"mallory"},"objectRef":{"resource":"pods","namespace":"shop","name":"evil","apiVersion":"v1"},"responseStatus":{"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"evil"},"spec":{"containers":[{"name":"c","image":"busybox","securityContext":{"privileged":true}}]}},"stageTimestamp":"2026-11-29T12:00:00Z"}"#;

    fn state(queue: usize) -> (Arc<State>, mpsc::Receiver<Batch>) {
        let (tx, rx) = mpsc::channel(queue);
        let state = State {
            tokens: Tokens::new(["t0ken"]).unwrap(),
            queue: tx,
            max_body: 4096,
            refused: Refused::default(),
        };
        (Arc::new(state), rx)
    }

    fn post(body: &str, token: &str) -> Request<Full<Bytes>> {
        Request::post("/")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }

    async fn status(state: &Arc<State>, req: Request<Full<Bytes>>) -> (StatusCode, String) {
        let r = handle(Arc::clone(state), req).await;
        let status = r.status();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn list(items: &[&str]) -> String {
        format!(
            r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{{}},"items":[{}]}}"#,
            items.join(",")
        )
    }

    /// A judge thread over the built-in rules whose alerts are dropped.
    fn judge(rx: mpsc::Receiver<Batch>) -> std::thread::JoinHandle<Totals> {
        let detector = RuleArgs::default().detector().unwrap();
        let writer = AlertWriter::new(AlertFormat::Json, Box::new(std::io::sink()));
        std::thread::spawn(move || judge_batches(detector, writer, rx))
    }

    #[tokio::test]
    async fn refusals_come_before_the_queue() {
        let (state, _rx) = state(1);
        let r = handle(Arc::clone(&state), post(&list(&[PRIVILEGED]), "wrong")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // The body was not read: the connection is not reused.
        assert_eq!(r.headers()[header::CONNECTION], "close");
        let mut req = post("{}", "t0ken");
        req.headers_mut().remove("authorization");
        assert_eq!(status(&state, req).await.0, StatusCode::UNAUTHORIZED);
        let big = "x".repeat(5000);
        assert_eq!(
            status(&state, post(&big, "t0ken")).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let mut req = post("{}", "t0ken");
        req.headers_mut()
            .insert("content-type", "text/plain".parse().unwrap());
        assert_eq!(
            status(&state, req).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let req = Request::get("/healthz")
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(status(&state, req).await.0, StatusCode::OK);
        let req = Request::get("/").body(Full::new(Bytes::new())).unwrap();
        assert_eq!(status(&state, req).await.0, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(state.refused.unauthorized.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_full_queue_answers_429_with_retry_after() {
        let (state, _rx) = state(1);
        // Nobody judges: the one slot stays taken.
        let held = state.queue.clone().try_reserve_owned().unwrap();
        let r = handle(Arc::clone(&state), post(&list(&[PRIVILEGED]), "t0ken")).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        drop(held);
    }

    #[tokio::test]
    async fn judged_batches_and_malformed_ones() {
        let (state, rx) = state(2);
        let judge = judge(rx);
        let (s, body) = status(&state, post(&list(&[PRIVILEGED]), "t0ken")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["events"].as_u64(), v["alerts"].as_u64()),
            (Some(1), Some(1))
        );
        // The API server sends a batch again (its request timed out): duplicates.
        let (s, body) = status(&state, post(&list(&[PRIVILEGED]), "t0ken")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["events"].as_u64(), v["alerts"].as_u64()),
            (Some(0), Some(0))
        );
        // One good event, then garbage: 400 with the reason, the good one judged.
        let other = PRIVILEGED.replace(r#""auditID":"p1""#, r#""auditID":"p2""#);
        let text = format!("{}\n{{not json", list(&[&other]));
        let (s, body) = status(&state, post(&text, "t0ken")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["events"], 1);
        assert!(
            v["reasons"][0]
                .as_str()
                .unwrap()
                .starts_with("line 2: not JSON"),
            "{body}"
        );
        let (s, _) = status(&state, post("  ", "t0ken")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        drop(state);
        let totals = judge.join().unwrap();
        assert_eq!((totals.batches, totals.events), (3, 2));
    }
}
