//! `vigil audit serve` as the API server meets it: a child process on 127.0.0.1 with a
//! certificate made here (a CA and a serving certificate), a bearer token, and EventList
//! POSTs from a real HTTPS client; then the refusals (wrong token, oversized body,
//! malformed JSON, plain HTTP off loopback), the printed webhook kubeconfig, and SIGTERM.

mod common;

use common::{WAIT, certs, https_client, lines, terminate};
use serde_json::{Value, json};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;

const TOKEN: &str = "9b1d7c0e-test-token";

/// A pod with a privileged container, created: the built-in K8S-AUDIT-privileged-pod.
fn privileged_pod(id: &str) -> Value {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": "create",
        "requestURI": "/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply",
        "user": {"username": "mallory", "groups": ["system:authenticated"]},
        "sourceIPs": ["198.51.100.4"], "userAgent": "kubectl/v1.31.2",
        "objectRef": {"resource": "pods", "namespace": "shop", "name": "evil", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "evil", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                "securityContext": {"privileged": true}}]}},
        "requestReceivedTimestamp": "2026-11-29T12:00:00.000000Z",
        "stageTimestamp": "2026-11-29T12:00:00.100000Z",
    })
}

fn event_list(items: &[Value]) -> String {
    json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items})
        .to_string()
}

/// A running `vigil audit serve`, its URL, and its output lines.
struct Server {
    child: Child,
    url: String,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["audit", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("VIGIL_TEST_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let first = stderr.recv_timeout(WAIT).expect("a first line on stderr");
        let url = first
            .strip_prefix("vigil: listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .to_string();
        Server {
            child,
            url,
            stdout,
            stderr,
        }
    }

    /// SIGTERM, then the exit status and all of stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let status = terminate(&mut self.child);
        let err: Vec<String> = self.stderr.try_iter().collect();
        (status, err.join("\n"))
    }
}

fn post(client: &reqwest::blocking::Client, url: &str, token: &str, body: String) -> (u16, Value) {
    let r = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

#[test]
fn the_webhook_over_https_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let server = Server::start(&[
        "--tls-cert",
        certs.cert.to_str().unwrap(),
        "--tls-key",
        certs.key.to_str().unwrap(),
        "--token-file",
        token_file.to_str().unwrap(),
        "--max-body",
        "16K",
    ]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let http = https_client(&certs.ca);

    let health = http.get(format!("{}healthz", server.url)).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // The API server's POST: judged, the alert on stdout before the answer.
    let (status, body) = post(
        &http,
        &server.url,
        TOKEN,
        event_list(&[privileged_pod("a1")]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"events": 1, "alerts": 1}));
    let line = server.stdout.recv_timeout(WAIT).expect("an alert");
    let alert: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(alert["rule_id"], "K8S-AUDIT-privileged-pod");
    assert_eq!(alert["audit"]["user"], "mallory");
    assert_eq!(alert["evidence"][0]["auditID"], "a1");

    // A wrong token, then none.
    let (status, _) = post(
        &http,
        &server.url,
        "guess",
        event_list(&[privileged_pod("a2")]),
    );
    assert_eq!(status, 401);
    let r = http.post(&server.url).body("{}").send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().contains_key("www-authenticate"));

    // Larger than --max-body.
    let many: Vec<Value> = (0..40)
        .map(|i| privileged_pod(&format!("big-{i}")))
        .collect();
    let (status, body) = post(&http, &server.url, TOKEN, event_list(&many));
    assert_eq!(status, 413, "{body}");

    // Malformed JSON: 400 with the reason; the event before it is still judged.
    let text = format!(
        "{}\n{{\"kind\": \"EventList\", \"items\": [",
        event_list(&[privileged_pod("a3")])
    );
    let (status, body) = post(&http, &server.url, TOKEN, text);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["events"], 1);
    assert!(
        body["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("line 2: not JSON"),
        "{body}"
    );
    let line = server.stdout.recv_timeout(WAIT).expect("an alert");
    assert!(line.contains("\"auditID\":\"a3\""), "{line}");

    let rest: Vec<String> = server.stdout.try_iter().collect();
    assert!(rest.is_empty(), "{rest:?}");
    let (status, err) = server.stop();
    assert!(status.success(), "{status:?}: {err}");
    assert!(
        err.contains("2 batches, 2 events judged by") && err.contains("rules: 2 alerts"),
        "{err}"
    );
    assert!(
        err.contains("2 unauthorized, 1 too large, 0 busy; 1 malformed"),
        "{err}"
    );
}

#[test]
fn plain_http_on_loopback_with_a_token_from_the_environment() {
    let server = Server::start(&["--token-env", "VIGIL_TEST_TOKEN", "--format", "table"]);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap();
    let (status, body) = post(
        &http,
        &server.url,
        TOKEN,
        event_list(&[privileged_pod("p1")]),
    );
    assert_eq!(status, 200, "{body}");
    let header = server.stdout.recv_timeout(WAIT).unwrap();
    assert!(header.starts_with("TIME"), "{header}");
    let row = server.stdout.recv_timeout(WAIT).unwrap();
    assert!(row.contains("K8S-AUDIT-privileged-pod"), "{row}");
    let (status, _) = server.stop();
    assert!(status.success());
}

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_TEST_TOKEN", TOKEN)
        .output()
        .unwrap()
}

#[test]
fn plain_http_off_loopback_and_no_token_are_refused() {
    let out = vigil(&[
        "audit",
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--token-env",
        "VIGIL_TEST_TOKEN",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing plain HTTP on 0.0.0.0:0"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let pki = certs(dir.path());
    let out = vigil(&[
        "audit",
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--tls-cert",
        pki.cert.to_str().unwrap(),
        "--tls-key",
        pki.key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without --token-file or --token-env"), "{err}");

    // A key that does not go with the certificate.
    let other_dir = tempfile::tempdir().unwrap();
    let other = certs(other_dir.path());
    let out = vigil(&[
        "audit",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        pki.cert.to_str().unwrap(),
        "--tls-key",
        other.key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not go with"));
}

#[test]
fn the_webhook_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let out = vigil(&[
        "audit",
        "serve",
        "--print-kubeconfig",
        "--url",
        "https://vigil.example:8443/",
        "--ca-cert",
        certs.ca.to_str().unwrap(),
        "--token-env",
        "VIGIL_TEST_TOKEN",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let config: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(config["kind"], "Config");
    assert_eq!(config["current-context"], "vigil");
    let cluster = &config["clusters"][0]["cluster"];
    assert_eq!(cluster["server"], "https://vigil.example:8443/");
    assert!(
        cluster["certificate-authority-data"]
            .as_str()
            .unwrap()
            .starts_with("LS0tLS1CRUdJTi")
    );
    assert_eq!(config["users"][0]["user"]["token"], TOKEN);
    assert_eq!(config["contexts"][0]["context"]["user"], "kube-apiserver");
}
