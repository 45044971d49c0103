//! Exports against real receivers on loopback: a webhook that fails before it accepts
//! (retried, signed, in order, at least once across a restart), syslog over TCP and
//! TLS (RFC 5424 frames with CEF), OCSF lines in a file, and a Slack-style webhook.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_server::correlate::Windows;
use vigil_server::export::{Exporter, Pacing, Sink};
use vigil_server::ingest::{Batch, alert_record};
use vigil_server::store::Store;
use vigil_server::store::sqlite::SqliteStore;

const WAIT: Duration = Duration::from_secs(20);

fn pacing() -> Pacing {
    Pacing {
        idle: Duration::from_millis(20),
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(200),
        batch: 10,
    }
}

fn store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(&dir.path().join("vigil.db"), Duration::from_secs(2)).unwrap())
}

/// Stores `n` distinct alerts for cluster `prod`, named from `first`.
fn raise(store: &dyn Store, first: usize, n: usize) {
    let alerts = (first..first + n)
        .map(|i| {
            let a = serde_json::from_value(json!({
                "rule_id": format!("R-{i}"), "rule": format!("Rule | {i}"), "severity": "CRITICAL",
                "output": format!("alert {i} fired\nsecond line"), "dedup_key": format!("k{i}"),
                "time": "2026-11-29T12:00:00Z", "mitre_tactic": "impact", "mitre_technique": "T1496",
                "evidence": [{"kind": "exec", "time": "2026-11-29T12:00:00Z", "node": "node-1",
                              "container_id": "c1", "k8s": {"namespace": "shop", "pod": "web"}}]
            }))
            .unwrap();
            alert_record(a, "", 0, "alerts[0]").unwrap()
        })
        .collect();
    let batch = Batch {
        alerts,
        ..Batch::default()
    };
    store.ingest("prod", &batch, Windows::default(), 0).unwrap();
}

/// A request as the receiver saw it.
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 receiver answering 500 to the first `failures` requests, then 200; every
/// request it answered 200 goes to the channel.
fn http_receiver(failures: usize) -> (String, Receiver<Received>, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = channel();
    let seen = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(": ") {
                    headers.push((k.to_string(), v.to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let n = {
                let mut c = count.lock().unwrap();
                *c += 1;
                *c
            };
            let status = if n <= failures {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let mut conn = conn;
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if n > failures && tx.send(Received { headers, body }).is_err() {
                return;
            }
        }
    });
    (url, rx, seen)
}

#[test]
fn the_webhook_is_retried_signed_in_order_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    raise(store.as_ref(), 0, 2); // before the sink existed: not exported
    let (url, received, requests) = http_receiver(2);
    let client = vigil_server::export::http_client(None).unwrap();
    let sink =
        vigil_server::export::webhook::Webhook::new(&url, Some(b"s3cret".to_vec()), client.clone());
    let name = sink.name().to_string();
    let exporter = Exporter::start(store.clone(), vec![Box::new(sink)], pacing()).unwrap();
    std::thread::sleep(Duration::from_millis(200)); // the sink's cursor is made on its first look
    raise(store.as_ref(), 2, 3);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = received.recv_timeout(WAIT).expect("a delivery");
        let sig = r.header("x-vigil-signature").unwrap();
        assert_eq!(
            sig,
            vigil_server::export::webhook::signature(b"s3cret", &r.body)
        );
        let alert: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            r.header("x-vigil-delivery").unwrap(),
            alert["id"].to_string()
        );
        assert_eq!(alert["cluster"], "prod");
        assert_eq!(alert["alert"]["evidence"][0]["container_id"], "c1");
        ids.push(alert["rule_id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        ids,
        ["R-2", "R-3", "R-4"],
        "in order, none before the sink existed"
    );
    assert!(
        *requests.lock().unwrap() >= 5,
        "the first two attempts failed and were retried"
    );
    exporter.stop();

    // Alerts raised while the exporter was down go out when it is back, and nothing
    // already delivered goes again.
    raise(store.as_ref(), 5, 2);
    let sink = vigil_server::export::webhook::Webhook::new(&url, Some(b"s3cret".to_vec()), client);
    assert_eq!(sink.name(), name);
    let exporter = Exporter::start(store.clone(), vec![Box::new(sink)], pacing()).unwrap();
    let mut more = Vec::new();
    for _ in 0..2 {
        let r = received
            .recv_timeout(WAIT)
            .expect("a delivery after the restart");
        let alert: Value = serde_json::from_slice(&r.body).unwrap();
        more.push(alert["rule_id"].as_str().unwrap().to_string());
    }
    assert_eq!(more, ["R-5", "R-6"]);
    assert!(received.recv_timeout(Duration::from_millis(300)).is_err());
    exporter.stop();
}

/// Octet-counted syslog frames read from `stream`.
fn frames(stream: impl Read, n: usize) -> Vec<String> {
    let mut reader = BufReader::new(stream);
    (0..n)
        .map(|_| {
            let mut len = Vec::new();
            reader.read_until(b' ', &mut len).unwrap();
            let len: usize = std::str::from_utf8(&len).unwrap().trim().parse().unwrap();
            let mut msg = vec![0; len];
            reader.read_exact(&mut msg).unwrap();
            String::from_utf8(msg).unwrap()
        })
        .collect()
}

fn check_syslog(frames: &[String]) {
    for (i, f) in frames.iter().enumerate() {
        // Facility 10 (security), severity 2 (critical): <82>.
        assert!(f.starts_with("<82>1 2026-11-29T12:00:00Z "), "{f}");
        assert!(f.contains(" vigil - alert - CEF:0|Vigil|Vigil|"), "{f}");
        assert!(f.contains(&format!("|R-{i}|Rule \\| {i}|10|")), "{f}");
        assert!(
            f.contains(&format!("msg=alert {i} fired\\nsecond line")),
            "{f}"
        );
        assert!(f.contains("cs1Label=cluster cs1=prod"), "{f}");
        assert!(f.contains("cs3Label=pod cs3=web"), "{f}");
        assert!(f.contains("cs6=T1496"), "{f}");
        assert!(!f.contains('\n'), "one line per frame: {f}");
    }
}

#[test]
fn syslog_over_tcp_with_cef() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tcp://{}", listener.local_addr().unwrap());
    let sink = vigil_server::export::syslog::Syslog::new(&url, None).unwrap();
    let exporter = Exporter::start(store.clone(), vec![Box::new(sink)], pacing()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    raise(store.as_ref(), 0, 3);
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    check_syslog(&frames(conn, 3));
    exporter.stop();
}

#[test]
fn syslog_over_tls_trusts_the_given_ca() {
    use rcgen::{CertificateParams, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("tls://localhost:{}", listener.local_addr().unwrap().port());
    let server = Arc::new(server);
    // Without the CA the handshake fails and the alerts wait; with it, they go.
    let untrusted = vigil_server::export::syslog::Syslog::new(&url, None).unwrap();
    let exporter = Exporter::start(store.clone(), vec![Box::new(untrusted)], pacing()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    raise(store.as_ref(), 0, 2);
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let conn = rustls::ServerConnection::new(Arc::clone(&server)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = [0u8; 16];
    assert!(
        tls.read(&mut buf).is_err(),
        "the client must refuse an unknown CA"
    );
    exporter.stop();

    let sink =
        vigil_server::export::syslog::Syslog::new(&url, Some(cert.pem().as_bytes())).unwrap();
    let exporter = Exporter::start(store.clone(), vec![Box::new(sink)], pacing()).unwrap();
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let conn = rustls::ServerConnection::new(server).unwrap();
    let tls = rustls::StreamOwned::new(conn, tcp);
    check_syslog(&frames(tls, 2));
    exporter.stop();
}

#[test]
fn ocsf_lines_in_a_file_and_slack_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let path = dir.path().join("findings.ocsf.jsonl");
    let (url, received, _) = http_receiver(0);
    let client = vigil_server::export::http_client(None).unwrap();
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(vigil_server::export::ocsf::Ocsf::file(path.clone())),
        Box::new(vigil_server::export::slack::Slack::new(&url, client)),
    ];
    let exporter = Exporter::start(store.clone(), sinks, pacing()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    raise(store.as_ref(), 0, 2);
    for i in 0..2 {
        let r = received.recv_timeout(WAIT).expect("a Slack message");
        let msg: Value = serde_json::from_slice(&r.body).unwrap();
        let text = msg["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("*[CRITICAL] Rule | {i}*")),
            "{text}"
        );
        assert!(text.contains("pod shop/web"), "{text}");
    }
    let deadline = std::time::Instant::now() + WAIT;
    let lines = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= 2 || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let findings: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["class_uid"], 2004);
    assert_eq!(findings[0]["finding_info"]["analytic"]["uid"], "R-0");
    assert_eq!(findings[1]["unmapped"]["cluster"], "prod");
    exporter.stop();
}

#[test]
fn a_stop_while_the_receiver_is_down_returns_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    // Nothing listens on this port: every delivery fails.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = vigil_server::export::syslog::Syslog::new(&format!("tcp://127.0.0.1:{port}"), None)
        .unwrap();
    let exporter = Exporter::start(store.clone(), vec![Box::new(sink)], pacing()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    raise(store.as_ref(), 0, 1);
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    exporter.stop();
    assert!(started.elapsed() < Duration::from_secs(2));
    // The alert is still pending for the next start.
    let pending = store
        .export_pending(
            &vigil_server::export::sink_name("syslog", &format!("tcp://127.0.0.1:{port}")),
            10,
        )
        .unwrap();
    assert_eq!(pending.len(), 1);
    let _ = TcpStream::connect(("127.0.0.1", port));
}
