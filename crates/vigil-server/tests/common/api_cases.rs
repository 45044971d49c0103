//! The API tests that hold for every store, written once over a [`Fixture`] whose store is
//! any [`Store`]: `tests/api_postgres.rs` runs each against SQLite and PostgreSQL.
//!
//! `tests/api.rs` keeps the SQLite-only ones (a locked SQLite file, `user_version`).
//! Store calls made directly go through [`blocking`], as the API's own do, since a
//! PostgreSQL client must not block an async worker.

#![allow(dead_code)]

use axum::body::Body;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::any::Any;
use std::io::Write;
use std::sync::Arc;
use tower::ServiceExt;
use vigil_detect::detector::Detector;
use vigil_detect::engine::Engine;
use vigil_detect::rules::RuleSet;
use vigil_server::api::{Server, ingest::AuditJudges, router};
use vigil_server::auth::{NewToken, Role};
use vigil_server::correlate::Windows;
use vigil_server::store::{Retention, Store, StoreError};

/// A server over some store, with an admin token and two clusters' tokens.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub app: axum::Router,
    pub admin: String,
    pub prod: String,
    pub staging: String,
    /// What keeps the store's database alive (a temporary directory, a cluster).
    pub keep: Box<dyn Any + Send>,
}

pub fn detector() -> Result<Detector, String> {
    let mut set = RuleSet::default();
    set.load(
        vigil_detect::BUILTIN_AUDIT_RULES,
        std::path::Path::new("k8s_audit.yaml"),
    )
    .map_err(|e| e.to_string())?;
    Ok(Detector::new(
        Engine::audit(&set).map_err(|e| e.to_string())?,
        None,
    ))
}

/// A new token for `role` stored as `name`; its secret.
pub fn token(store: &dyn Store, name: &str, role: Role) -> String {
    let t = NewToken::generate().unwrap();
    store.add_token(name, &role, &t.digest).unwrap();
    t.secret
}

/// The API over `store`, as a server with `slots` ingest slots and bodies up to
/// `max_body` bytes (call from a blocking context: tokens are stored here).
pub fn server(store: Arc<dyn Store>, slots: usize, max_body: usize) -> axum::Router {
    router(Arc::new(Server {
        store,
        windows: Windows::default(),
        audit: AuditJudges::new(detector),
        ingest_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
        max_body,
    }))
}

impl Fixture {
    /// The fixture over `store` (call from a blocking context: tokens are stored here).
    pub fn new(
        store: Arc<dyn Store>,
        slots: usize,
        max_body: usize,
        keep: Box<dyn Any + Send>,
    ) -> Fixture {
        let admin = token(store.as_ref(), "admin", Role::Admin);
        let prod = token(store.as_ref(), "prod", Role::Cluster("prod".into()));
        let staging = token(store.as_ref(), "staging", Role::Cluster("staging".into()));
        Fixture {
            app: server(Arc::clone(&store), slots, max_body),
            store,
            admin,
            prod,
            staging,
            keep,
        }
    }
}

/// Runs a store call on the blocking pool, as the API does; panics on its error.
pub async fn blocking<T: Send + 'static>(
    f: &Fixture,
    call: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> T {
    let store = Arc::clone(&f.store);
    tokio::task::spawn_blocking(move || call(store.as_ref()))
        .await
        .unwrap()
        .unwrap()
}

pub async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, body)
}

pub fn post(path: &str, token: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub fn get(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

pub fn exec_event(pod: &str, time: &str) -> Value {
    json!({"kind": "exec", "time": time, "node": "node-1", "container_id": "c0ffee",
           "k8s": {"namespace": "shop", "pod": pod},
           "process": {"pid": 42, "name": "sh", "exe": "/bin/sh"}})
}

pub fn alert(rule_id: &str, rule: &str, severity: &str, time: &str, evidence: Value) -> Value {
    json!({"rule_id": rule_id, "rule": rule, "severity": severity, "output": format!("{rule} fired"),
           "dedup_key": format!("{rule_id}-key"), "time": time, "evidence": [evidence],
           "mitre_tactic": "execution", "mitre_technique": "T1059"})
}

pub async fn tokens_decide_who_reads_and_who_writes(f: Fixture) {
    let batch = json!({"batch_id": "b1", "events": []});
    let (s, h, body) = call(&f.app, post("/api/v1/ingest/sensor", "vigil_nope", &batch)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(h.contains_key(header::WWW_AUTHENTICATE));
    let no_token = Request::get("/api/v1/alerts").body(Body::empty()).unwrap();
    assert_eq!(call(&f.app, no_token).await.0, StatusCode::UNAUTHORIZED);
    let (s, _, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.admin, &batch)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _, body) = call(&f.app, get("/api/v1/alerts", &f.prod)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let other = json!({"batch_id": "b1", "cluster": "prod", "events": [exec_event("web", "2026-11-29T10:00:00Z")]});
    let (s, _, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.staging, &other)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("\"staging\""),
        "{body}"
    );
    // A revoked token is unknown.
    assert!(blocking(&f, |s| s.revoke_token("prod")).await);
    let (s, _, _) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Nothing was stored by the refused requests.
    let (_, _, page) = call(&f.app, get("/api/v1/events", &f.admin)).await;
    assert_eq!(page["total"], 0, "{page}");
}

pub async fn malformed_batches_get_400_naming_the_field(f: Fixture) {
    let cases = [
        (json!({"events": []}), "batch_id"),
        (
            json!({"batch_id": "b", "events": [{"kind": "exec", "time": "noon"}]}),
            "events[0].time",
        ),
        (
            json!({"batch_id": "b", "events": [{"time": "2026-11-29T10:00:00Z"}]}),
            "events[0].kind",
        ),
        (
            json!({"batch_id": "b", "alerts": [{"rule_id": "R", "severity": "SEVERE"}]}),
            "alerts[0].severity",
        ),
        (json!({"batch_id": "b", "surprise": 1}), "surprise"),
        (json!("hello"), "body"),
    ];
    for (body, field) in cases {
        let (s, _, answer) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        let msg = answer["error"].as_str().unwrap();
        assert!(msg.contains(field), "{body}: {msg:?} should name {field}");
    }
    let not_json = Request::post("/api/v1/ingest/sensor")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.prod))
        .body(Body::from("{\"batch_id\": \"b\", \"events\": [tru"))
        .unwrap();
    assert_eq!(call(&f.app, not_json).await.0, StatusCode::BAD_REQUEST);
    let form = Request::post("/api/v1/ingest/sensor")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.prod))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        call(&f.app, form).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let (_, _, page) = call(&f.app, get("/api/v1/events", &f.admin)).await;
    assert_eq!(page["total"], 0, "nothing half-read is stored: {page}");
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub async fn compressed_bodies_and_size_limits(f: Fixture) {
    let events: Vec<Value> = (0..100)
        .map(|i| exec_event(&format!("web-{i}"), "2026-11-29T10:00:00Z"))
        .collect();
    let batch = json!({"batch_id": "gz", "node": "node-1", "events": events});
    for (encoding, body) in [
        ("gzip", gzip(batch.to_string().as_bytes())),
        (
            "zstd",
            zstd::encode_all(batch.to_string().as_bytes(), 3).unwrap(),
        ),
    ] {
        let req = Request::post("/api/v1/ingest/sensor")
            .header(header::AUTHORIZATION, format!("Bearer {}", f.prod))
            .header(header::CONTENT_ENCODING, encoding)
            .body(Body::from(body))
            .unwrap();
        let (s, _, answer) = call(&f.app, req).await;
        assert_eq!(s, StatusCode::OK, "{encoding}: {answer}");
    }
    // The second is a retry of the first (same batch id): stored once.
    let (_, _, page) = call(&f.app, get("/api/v1/events?limit=1", &f.admin)).await;
    assert_eq!(page["total"], 100, "{page}");
    // Over the limit as sent, and over it once decompressed (a small bomb).
    let big = vec![b' '; 70 << 10];
    let req = Request::post("/api/v1/ingest/sensor")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.prod))
        .body(Body::from(big.clone()))
        .unwrap();
    assert_eq!(call(&f.app, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let bomb = gzip(&vec![b' '; 4 << 20]);
    assert!(bomb.len() < 64 << 10);
    let req = Request::post("/api/v1/ingest/sensor")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.prod))
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(bomb))
        .unwrap();
    assert_eq!(call(&f.app, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let req = Request::post("/api/v1/ingest/sensor")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.prod))
        .header(header::CONTENT_ENCODING, "br")
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(
        call(&f.app, req).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

pub async fn retried_batches_are_stored_once(f: Fixture) {
    let batch = json!({"batch_id": "node-1-7", "node": "node-1",
        "events": [exec_event("web", "2026-11-29T10:00:00Z")],
        "alerts": [alert("R-shell", "Terminal shell in container", "HIGH", "2026-11-29T10:00:00Z", exec_event("web", "2026-11-29T10:00:00Z"))]});
    let (s, _, first) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["events"], 1);
    let (s, _, again) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["duplicate"], true);
    let (_, _, alerts) = call(&f.app, get("/api/v1/alerts", &f.admin)).await;
    assert_eq!(alerts["total"], 1);
    assert_eq!(alerts["items"][0]["count"], 1, "{alerts}");
    // The same id from another cluster is another batch.
    let (_, _, other) = call(&f.app, post("/api/v1/ingest/sensor", &f.staging, &batch)).await;
    assert_eq!(other["duplicate"], false);
}

pub async fn repeats_fold_and_alerts_on_one_pod_form_an_incident(f: Fixture) {
    let ev = |t: &str| exec_event("web-7d4b9", t);
    let batch = json!({"batch_id": "b1", "node": "node-1", "alerts": [
        alert("R-shell", "Terminal shell in container", "MEDIUM", "2026-11-29T10:00:00Z", ev("2026-11-29T10:00:00Z")),
        alert("R-shell", "Terminal shell in container", "MEDIUM", "2026-11-29T10:01:00Z", ev("2026-11-29T10:01:00Z")),
        alert("R-miner", "Crypto miner launched", "CRITICAL", "2026-11-29T10:05:00Z", ev("2026-11-29T10:05:00Z")),
        // Another pod: another incident.
        alert("R-shell", "Terminal shell in container", "MEDIUM", "2026-11-29T10:02:00Z", exec_event("db-0", "2026-11-29T10:02:00Z")),
        // The same pod hours later: a new incident.
        alert("R-shell", "Terminal shell in container", "MEDIUM", "2026-11-29T15:00:00Z", ev("2026-11-29T15:00:00Z")),
    ]});
    let (s, _, done) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["alerts"], 5);
    assert_eq!(done["deduplicated"], 1);

    let (_, _, alerts) = call(&f.app, get("/api/v1/alerts?q=web-7d4b9", &f.admin)).await;
    assert_eq!(alerts["total"], 3, "{alerts}");
    let shell = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule_id"] == "R-shell" && a["count"] == 2)
        .expect("the repeat folded into a count");
    assert_eq!(shell["first_seen"], "2026-11-29T10:00:00Z");
    assert_eq!(shell["last_seen"], "2026-11-29T10:01:00Z");
    assert_eq!(shell["pod"], "web-7d4b9");
    assert_eq!(shell["namespace"], "shop");

    let (_, _, incidents) = call(&f.app, get("/api/v1/incidents", &f.admin)).await;
    assert_eq!(incidents["total"], 3, "{incidents}");
    let first = incidents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["subject"] == "pod:shop/web-7d4b9" && i["first_seen"] == "2026-11-29T10:00:00Z")
        .unwrap();
    assert_eq!(first["severity"], "CRITICAL");
    assert_eq!(first["title"], "Crypto miner launched");
    assert_eq!(first["alert_count"], 3);
    let id = first["id"].as_i64().unwrap();
    let (_, _, detail) = call(&f.app, get(&format!("/api/v1/incidents/{id}"), &f.admin)).await;
    let rules: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["R-shell", "R-miner"], "{detail}");

    let alert_id = shell["id"].as_i64().unwrap();
    let (s, _, detail) = call(&f.app, get(&format!("/api/v1/alerts/{alert_id}"), &f.admin)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(detail["alert"]["evidence"][0]["process"]["exe"], "/bin/sh");
    let (s, _, _) = call(&f.app, get("/api/v1/alerts/999999", &f.admin)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, _, critical) = call(&f.app, get("/api/v1/alerts?severity=critical", &f.admin)).await;
    assert_eq!(critical["total"], 1);
    let (s, _, bad) = call(&f.app, get("/api/v1/alerts?severity=dire", &f.admin)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
}

pub fn audit_event(verb: &str, resource: &str, extra: Value) -> Value {
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "0b7e5f44-1f0e-4a43-9a57-1c2f3a4b5c6d", "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/shop/{resource}/web-1/exec?command=sh"),
        "verb": verb,
        "user": {"username": "mallory", "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.9"], "userAgent": "kubectl/v1.31.2",
        "objectRef": {"resource": resource, "namespace": "shop", "name": "web-1", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 101},
        "stageTimestamp": "2026-11-29T12:00:00Z"
    });
    if let (Value::Object(e), Value::Object(x)) = (&mut e, extra) {
        e.extend(x);
    }
    e
}

pub async fn the_audit_webhook_judges_and_stores(f: Fixture) {
    let mut exec = audit_event("create", "pods", json!({}));
    exec["objectRef"]["subresource"] = json!("exec");
    let list = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [
        exec,
        audit_event("get", "pods", json!({"responseStatus": {"code": 200}})),
    ]});
    let (s, _, done) = call(&f.app, post("/api/v1/ingest/audit", &f.prod, &list)).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["events"], 2);
    assert_eq!(done["alerts"], 1, "{done}");
    let (_, _, alerts) = call(&f.app, get("/api/v1/alerts", &f.admin)).await;
    let a = &alerts["items"][0];
    assert_eq!(a["rule_id"], "K8S-AUDIT-exec", "{alerts}");
    assert_eq!(a["user"], "mallory");
    assert_eq!(a["cluster"], "prod");
    let (_, _, incidents) = call(&f.app, get("/api/v1/incidents", &f.admin)).await;
    assert_eq!(
        incidents["items"][0]["subject"], "user:mallory",
        "{incidents}"
    );
    let (_, _, events) = call(&f.app, get("/api/v1/events?kind=get", &f.admin)).await;
    assert_eq!(events["total"], 1);
    assert_eq!(events["items"][0]["source"], "audit");
    assert_eq!(events["items"][0]["pod"], "web-1");

    let bad = json!({"kind": "EventList", "items": [{"verb": 7}]});
    let (s, _, answer) = call(&f.app, post("/api/v1/ingest/audit", &f.prod, &bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("items[0]"),
        "{answer}"
    );
}

pub async fn image_and_posture_reports_are_readable(f: Fixture) {
    let report = json!({
        "schema_version": 1,
        "inventory": {"schema_version": 1, "complete": true,
            "target": {"kind": "registry", "reference": "registry:127.0.0.1:5000/shop/web:1", "name": "shop/web:1"},
            "manifest_digest": "sha256:abc",
            "os": {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12"},
            "packages": [{"ecosystem": "deb", "name": "openssl", "version": "3.0.11-1", "purl": "pkg:deb/debian/openssl@3.0.11-1",
                "location": {"path": "/var/lib/dpkg/status"}, "found_by": "dpkg"}]},
        "matches": [
            {"package": {"ecosystem": "deb", "name": "openssl", "version": "3.0.11-1", "purl": "pkg:deb/debian/openssl@3.0.11-1"},
             "id": "CVE-2024-0001", "severity": "CRITICAL", "status": "fixed", "fixed_versions": ["3.0.13-1"],
             "sources": ["debian-tracker"], "title": "bad bug"},
            {"package": {"ecosystem": "deb", "name": "openssl", "version": "3.0.11-1", "purl": "pkg:deb/debian/openssl@3.0.11-1"},
             "id": "CVE-2024-0002", "severity": "LOW", "status": "affected", "sources": ["debian-tracker"]}
        ],
        "database": {"sources": ["debian-tracker"]}
    });
    let (s, _, done) = call(&f.app, post("/api/v1/ingest/images", &f.prod, &report)).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let (_, _, images) = call(&f.app, get("/api/v1/images", &f.admin)).await;
    let img = &images["items"][0];
    assert_eq!(img["name"], "shop/web:1", "{images}");
    assert_eq!(img["vulnerabilities"]["critical"], 1);
    assert_eq!(img["vulnerabilities"]["low"], 1);
    assert_eq!(img["os"], "debian 12");
    let (_, _, detail) = call(
        &f.app,
        get(&format!("/api/v1/images/{}", img["id"]), &f.admin),
    )
    .await;
    assert_eq!(detail["vulnerabilities_list"][0]["id"], "CVE-2024-0001");
    assert_eq!(detail["vulnerabilities_list"][0]["fixed"], "3.0.13-1");
    // A re-scan replaces the image's row.
    call(&f.app, post("/api/v1/ingest/images", &f.prod, &report)).await;
    let (_, _, images) = call(&f.app, get("/api/v1/images", &f.admin)).await;
    assert_eq!(images["total"], 1);

    let finding = |check: &str, sev: &str| {
        json!({"id": format!("{check}-id"), "check_id": check, "severity": sev,
        "title": format!("{check} title"), "remediation": "fix it", "controls": ["PSS:baseline"],
        "resource": {"api_version": "v1", "kind": "Pod", "namespace": "shop", "name": "web-1"},
        "evidence": [{"path": "spec.hostNetwork", "value": "true"}]})
    };
    let scan = |findings: Vec<Value>| {
        json!({"schema_version": 1,
        "target": {"source": "cluster", "name": "kind-prod", "objects": 10},
        "findings": findings,
        "attack_paths": [{"id": "AP-1", "title": "exposed pod to node", "severity": "HIGH", "risk": 7.5, "steps": []}]})
    };
    let (s, _, done) = call(
        &f.app,
        post(
            "/api/v1/ingest/posture",
            &f.prod,
            &scan(vec![
                finding("PSS-host-network", "HIGH"),
                finding("RBAC-wildcard", "MEDIUM"),
            ]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["findings"], 2);
    // The next scan replaces the cluster's findings.
    call(
        &f.app,
        post(
            "/api/v1/ingest/posture",
            &f.prod,
            &scan(vec![finding("PSS-host-network", "HIGH")]),
        ),
    )
    .await;
    let (_, _, findings) = call(&f.app, get("/api/v1/findings?cluster=prod", &f.admin)).await;
    assert_eq!(findings["total"], 1, "{findings}");
    assert_eq!(
        findings["items"][0]["finding"]["evidence"][0]["path"],
        "spec.hostNetwork"
    );
    let (_, _, posture) = call(&f.app, get("/api/v1/posture", &f.admin)).await;
    assert_eq!(posture[0]["attack_paths"][0]["id"], "AP-1", "{posture}");

    let (_, _, overview) = call(&f.app, get("/api/v1/overview", &f.admin)).await;
    assert_eq!(overview["images"], 1);
    assert_eq!(overview["vulnerabilities"]["critical"], 1);
    assert_eq!(overview["findings"]["high"], 1);
    assert_eq!(overview["alerts_over_time"].as_array().unwrap().len(), 24);
    let (_, _, clusters) = call(&f.app, get("/api/v1/clusters", &f.admin)).await;
    let prod = clusters
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prod")
        .unwrap();
    assert_eq!(prod["images"], 1);
    assert_eq!(prod["findings"], 1);

    let (s, _, answer) = call(
        &f.app,
        post(
            "/api/v1/ingest/images",
            &f.prod,
            &json!({"schema_version": 1}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("inventory"),
        "{answer}"
    );
}

pub async fn retention_prunes_old_data(f: Fixture) {
    let now = vigil_server::ingest::now_ms();
    let old = vigil_server::store::rfc3339(now - 10 * 24 * 3600 * 1000);
    let new = vigil_server::store::rfc3339(now - 1000);
    let batch = json!({"batch_id": "b1", "events": [exec_event("a", &old), exec_event("b", &new)],
        "alerts": [alert("R", "r", "LOW", &old, exec_event("a", &old))]});
    call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    let pruned = blocking(&f, move |s| s.prune(&Retention::default(), now)).await;
    assert_eq!(pruned.events, 1);
    assert_eq!(pruned.alerts, 0, "alerts are kept for months");
    let (_, _, page) = call(&f.app, get("/api/v1/events", &f.admin)).await;
    assert_eq!(page["total"], 1, "the kept count follows the prune: {page}");
    assert_eq!(page["items"][0]["pod"], "b");
}

pub async fn the_openapi_document_lists_every_route(f: Fixture) {
    let req = Request::get("/api/openapi.json")
        .body(Body::empty())
        .unwrap();
    let (s, _, doc) = call(&f.app, req).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/ingest/sensor",
        "/api/v1/ingest/audit",
        "/api/v1/ingest/images",
        "/api/v1/ingest/posture",
        "/api/v1/overview",
        "/api/v1/clusters",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/events",
        "/api/v1/images",
        "/api/v1/images/{id}",
        "/api/v1/findings",
        "/api/v1/posture",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["AlertRow"].is_object());
}

pub async fn events_are_found_by_pod_node_container_prefix_kind_and_cluster(f: Fixture) {
    let mut events = vec![
        exec_event("web-1", "2026-11-29T10:00:00Z"),
        exec_event("web-10", "2026-11-29T10:01:00Z"),
    ];
    events[1]["container_id"] = json!("beef00112233");
    events[1]["kind"] = json!("open");
    let batch = json!({"batch_id": "b1", "events": events});
    call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    call(&f.app, post("/api/v1/ingest/sensor", &f.staging, &batch)).await;
    let total = |page: Value| page["total"].as_u64().unwrap();
    let q = |path: &str| get(path, &f.admin);
    assert_eq!(total(call(&f.app, q("/api/v1/events")).await.2), 4);
    assert_eq!(
        total(call(&f.app, q("/api/v1/events?q=web-1")).await.2),
        2,
        "pods match exactly"
    );
    assert_eq!(
        total(call(&f.app, q("/api/v1/events?q=beef")).await.2),
        2,
        "container ids by their start"
    );
    assert_eq!(total(call(&f.app, q("/api/v1/events?q=node-1")).await.2), 4);
    assert_eq!(total(call(&f.app, q("/api/v1/events?q=eb-1")).await.2), 0);
    assert_eq!(
        total(
            call(&f.app, q("/api/v1/events?kind=open&cluster=prod"))
                .await
                .2
        ),
        1
    );
    let (_, _, page) = call(&f.app, q("/api/v1/events?cluster=staging&limit=1")).await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["pod"], "web-10", "latest first");
    assert_eq!(page["items"][0]["cluster"], "staging");
}
