//! The spool and the publisher against a receiver on loopback that is away, then busy,
//! then there: every line arrives once per acknowledged batch, alerts first, in batches
//! whose ids survive a restart; a refused batch is set aside and the rest still go.

use flate2::read::GzDecoder;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_sensor::publish::{Config, Publisher};
use vigil_sensor::spool::{Lane, Limits, Spool};

/// A receiver answering each request with the next status of `statuses` (then 200), and
/// passing on the decoded bodies it answered 200 to, with their bearer tokens.
fn receiver(statuses: Vec<u16>) -> (String, Receiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with("POST /api/v1/ingest/sensor "), "{line}");
            let (mut len, mut auth, mut gzip) = (0, String::new(), false);
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                let (k, v) = line.trim_end().split_once(": ").unwrap();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.parse().unwrap(),
                    "authorization" => auth = v.to_string(),
                    "content-encoding" => gzip = v == "gzip",
                    _ => {}
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            assert!(gzip);
            let mut json = String::new();
            GzDecoder::new(&body[..]).read_to_string(&mut json).unwrap();
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            );
            if status == 200
                && tx
                    .send((auth, serde_json::from_str(&json).unwrap()))
                    .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

fn config(server: &str) -> Config {
    Config {
        server: server.to_string(),
        token: "vigil_test".into(),
        node: "node-1".into(),
        ca: None,
        identity: None,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        idle: Duration::from_millis(20),
    }
}

fn limits() -> Limits {
    Limits {
        max_bytes: 1 << 20,
        segment_bytes: 1 << 20,
        segment_age: Duration::from_millis(0),
    }
}

#[test]
fn batches_go_alerts_first_once_acknowledged_and_keep_their_ids_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Mutex::new(Spool::open(dir.path(), limits()).unwrap()));
    {
        let mut s = spool.lock().unwrap();
        for i in 0..3 {
            s.push(
                Lane::Events,
                format!(r#"{{"kind":"exec","n":{i}}}"#).as_bytes(),
            )
            .unwrap();
        }
        s.push(Lane::Alerts, br#"{"rule_id":"R1"}"#).unwrap();
        s.seal_aged().unwrap();
    }
    // Nobody listens yet: the attempt fails and nothing is lost.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let away = Publisher::new(config(&format!("http://127.0.0.1:{port}")), spool.clone()).unwrap();
    assert!(away.publish_once().is_err());
    assert_eq!(spool.lock().unwrap().sealed().unwrap().len(), 2);
    let id = spool.lock().unwrap().id().to_string();
    drop(away);
    drop(spool);

    // A restart: the same spool, then a receiver that is busy twice before it accepts.
    let spool = Arc::new(Mutex::new(Spool::open(dir.path(), limits()).unwrap()));
    assert_eq!(spool.lock().unwrap().id(), id);
    let (url, received) = receiver(vec![503, 429]);
    let publisher = Publisher::new(config(&url), spool.clone()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let runner = {
        let stop = stop.clone();
        std::thread::spawn(move || publisher.run(&stop))
    };
    let (auth, first) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(auth, "Bearer vigil_test");
    assert_eq!(first["batch_id"], format!("{id}-alerts-2"), "{first}");
    assert_eq!(first["node"], "node-1");
    assert_eq!(first["alerts"][0]["rule_id"], "R1");
    let (_, second) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(second["batch_id"], format!("{id}-events-1"));
    let ns: Vec<i64> = second["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [0, 1, 2]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    runner.join().unwrap();
    assert!(spool.lock().unwrap().sealed().unwrap().is_empty());
    assert_eq!(spool.lock().unwrap().bytes(), 0);
}

#[test]
fn a_refused_batch_is_set_aside_and_the_rest_go() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Mutex::new(Spool::open(dir.path(), limits()).unwrap()));
    {
        let mut s = spool.lock().unwrap();
        s.push(Lane::Events, b"{\"bad\":true}").unwrap();
        s.seal_aged().unwrap();
        s.push(Lane::Events, b"{\"good\":true}").unwrap();
        s.seal_aged().unwrap();
    }
    let (url, received) = receiver(vec![400]);
    let publisher = Publisher::new(config(&url), spool.clone()).unwrap();
    assert_eq!(publisher.publish_once().unwrap(), 2);
    let (_, got) = received.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(got["events"][0]["good"], true);
    assert_eq!(
        publisher
            .stats
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let rejected: Vec<_> = std::fs::read_dir(dir.path().join("rejected"))
        .unwrap()
        .collect();
    assert_eq!(rejected.len(), 1);
}
