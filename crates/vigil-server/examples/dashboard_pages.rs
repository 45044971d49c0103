//! How long the server takes to answer each dashboard page with a realistic amount of
//! data stored: by default 1,000,000 raw events and 10,000 alerts (with their incidents),
//! 200 images and a posture scan, in SQLite.
//!
//! Each page is the set of API calls the dashboard makes for it, answered in-process by
//! the real router and store (server time: no network, no browser). Prints the median and
//! p95 over RUNS rounds per page.
//!
//! `cargo run --release -p vigil-server --example dashboard_pages -- [EVENTS] [ALERTS] [RUNS] [DIR]`
//! (DIR keeps the database between runs: filled once, reused after).

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use vigil_server::api::{Server, ingest::AuditJudges, router};
use vigil_server::auth::{NewToken, Role};
use vigil_server::correlate::Windows;
use vigil_server::ingest::{self, Batch, alert_record, sensor_event};
use vigil_server::store::Store;
use vigil_server::store::sqlite::SqliteStore;

const KINDS: &[&str] = &["exec", "open", "connect", "fork", "exit", "listen"];

fn fill(store: &SqliteStore, events: usize, alerts: usize) {
    let started = Instant::now();
    let now = ingest::now_ms();
    let span = 24 * 3600 * 1000; // the last day
    let time = |i: usize, n: usize| {
        vigil_server::store::rfc3339(now - span + (span * i as i64) / n.max(1) as i64)
    };
    let clusters = ["prod", "staging", "edge"];
    for (c, chunk) in (0..events).collect::<Vec<_>>().chunks(5000).enumerate() {
        let cluster = clusters[c % clusters.len()];
        let records = chunk
            .iter()
            .map(|&i| {
                let node = format!("node-{}", i % 20);
                let raw = json!({
                    "kind": KINDS[i % KINDS.len()], "time": time(i, events), "node": node,
                    "container_id": format!("{:012x}", i % 997),
                    "k8s": {"namespace": format!("ns-{}", i % 13), "pod": format!("pod-{}", i % 200)},
                    "process": {"pid": 1000 + i % 30000, "ppid": 1, "name": "python3",
                                "exe": "/usr/bin/python3.11", "uid": 1000, "gid": 1000,
                                "parent": {"name": "sh", "exe": "/bin/sh"}},
                    "exec": {"filename": "/usr/bin/python3.11",
                             "args": ["python3", "-m", "worker", "--queue", "jobs"], "cwd": "/app"}
                })
                .to_string();
                sensor_event(&raw, &node, 0).unwrap()
            })
            .collect();
        let batch = Batch {
            events: records,
            ..Batch::default()
        };
        store
            .ingest(cluster, &batch, Windows::default(), now)
            .unwrap();
    }
    let severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];
    let alert_batches: Vec<Vec<usize>> = (0..alerts)
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(<[usize]>::to_vec)
        .collect();
    for chunk in alert_batches {
        let records = chunk
            .iter()
            .map(|&i| {
                let t = time(i, alerts);
                let a = serde_json::from_value(json!({
                    "rule_id": format!("RT-{}", i % 40), "rule": format!("Runtime rule {}", i % 40),
                    "severity": severities[i % severities.len()],
                    "output": format!("suspicious thing {i} in pod-{}", i % 200),
                    "dedup_key": format!("k{i}"), "time": t,
                    "mitre_tactic": "execution", "mitre_technique": "T1059",
                    "evidence": [{"kind": "exec", "time": t, "node": format!("node-{}", i % 20),
                                  "container_id": format!("{:012x}", i % 997),
                                  "k8s": {"namespace": format!("ns-{}", i % 13), "pod": format!("pod-{}", i % 200)},
                                  "process": {"pid": 4242, "name": "sh", "exe": "/bin/sh"}}]
                }))
                .unwrap();
                alert_record(a, "", now, "alerts[0]").unwrap()
            })
            .collect();
        let batch = Batch {
            alerts: records,
            ..Batch::default()
        };
        store
            .ingest(clusters[0], &batch, Windows::default(), now)
            .unwrap();
    }
    for i in 0..200 {
        let report = serde_json::from_value(json!({"schema_version": 1,
            "inventory": {"schema_version": 1, "complete": true,
                "target": {"kind": "registry", "reference": format!("registry:r.example/app-{i}:1"), "name": format!("app-{i}:1")},
                "packages": []},
            "matches": (0..50).map(|v| json!({"package": {"ecosystem": "deb", "name": format!("lib{v}"), "version": "1.0", "purl": format!("pkg:deb/debian/lib{v}@1.0")},
                "id": format!("CVE-2026-{v:04}"), "severity": severities[v % 4], "status": "fixed",
                "fixed_versions": ["1.1"], "sources": ["debian-tracker"]})).collect::<Vec<_>>(),
            "database": {"sources": ["debian-tracker"]}}))
        .unwrap();
        store
            .ingest(
                clusters[i % 3],
                &ingest::image_batch(report).unwrap(),
                Windows::default(),
                now,
            )
            .unwrap();
    }
    eprintln!(
        "filled {events} events and {alerts} alerts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn get(app: &axum::Router, path: &str, token: &str) -> usize {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.into_body().collect().await.unwrap().to_bytes().len()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let events: usize = args.get(1).map_or(1_000_000, |a| a.parse().unwrap());
    let alerts: usize = args.get(2).map_or(10_000, |a| a.parse().unwrap());
    let runs: usize = args.get(3).map_or(20, |a| a.parse().unwrap());
    let temp = tempfile::tempdir().unwrap();
    let dir = args
        .get(4)
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vigil.db");
    let fresh = !path.exists();
    let store = Arc::new(SqliteStore::open(&path, Duration::from_secs(5)).unwrap());
    if fresh {
        fill(&store, events, alerts);
    }
    let token = NewToken::generate().unwrap();
    store
        .add_token(
            &format!("bench-{}", ingest::now_ms()),
            &Role::Admin,
            &token.digest,
        )
        .unwrap();
    let admin = token.secret;
    let app = router(Arc::new(Server {
        store: store.clone(),
        windows: Windows::default(),
        audit: AuditJudges::new(|| Err("no audit in this benchmark".into())),
        ingest_slots: Arc::new(tokio::sync::Semaphore::new(4)),
        max_body: 1 << 20,
    }));
    let incident = store.incidents(&Default::default()).unwrap().items[0].id;
    let alert = store.alerts(&Default::default()).unwrap().items[0].id;
    let image = store.images(&Default::default()).unwrap().items[0].id;
    let pages: Vec<(&str, Vec<String>)> = vec![
        (
            "overview",
            vec![
                "/api/v1/overview".into(),
                "/api/v1/clusters".into(),
                "/api/v1/incidents?limit=5".into(),
            ],
        ),
        ("alerts", vec!["/api/v1/alerts?limit=50".into()]),
        (
            "alerts, critical, searched",
            vec!["/api/v1/alerts?limit=50&severity=critical&q=pod-7".into()],
        ),
        (
            "alerts, page 100",
            vec!["/api/v1/alerts?limit=50&offset=5000".into()],
        ),
        ("alert", vec![format!("/api/v1/alerts/{alert}")]),
        ("incidents", vec!["/api/v1/incidents?limit=50".into()]),
        ("incident", vec![format!("/api/v1/incidents/{incident}")]),
        ("images", vec!["/api/v1/images?limit=50".into()]),
        ("image", vec![format!("/api/v1/images/{image}")]),
        (
            "posture",
            vec!["/api/v1/findings?limit=50".into(), "/api/v1/posture".into()],
        ),
        ("events", vec!["/api/v1/events?limit=50".into()]),
        (
            "events, kind=connect",
            vec!["/api/v1/events?limit=50&kind=connect".into()],
        ),
        (
            "events of one pod",
            vec!["/api/v1/events?limit=50&q=pod-17".into()],
        ),
        (
            "events of one container",
            vec!["/api/v1/events?limit=50&q=00000000002".into()],
        ),
    ];
    println!("{:<28} {:>10} {:>10}", "page", "median ms", "p95 ms");
    for (name, calls) in pages {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            for c in &calls {
                get(&app, c, &admin).await;
            }
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{name:<28} {:>10.1} {:>10.1}",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.95).as_secs_f64() * 1000.0
        );
    }
}
