//! The API over both stores: every case of `common/api_cases.rs` against SQLite and
//! against PostgreSQL (a throwaway cluster, see `common/pg.rs`), and what only a shared
//! database has to get right: replicas ingesting one cluster at once, the database going
//! away and coming back, migrations run once by replicas starting together.

#[path = "common/api_cases.rs"]
mod cases;
#[path = "common/pg.rs"]
mod pg;

use cases::{Fixture, call, exec_event, get, post};
use http::{StatusCode, header};
use pg::PgCluster;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use vigil_server::store::postgres::PgStore;
use vigil_server::store::sqlite::SqliteStore;
use vigil_server::store::{Store, StoreError};

async fn sqlite_fixture(slots: usize, max_body: usize) -> Fixture {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("vigil.db"), Duration::from_secs(2));
        Fixture::new(Arc::new(store.unwrap()), slots, max_body, Box::new(dir))
    })
    .await
    .unwrap()
}

/// A fixture over a new database of the shared cluster; `None` when PostgreSQL is
/// absent and may be skipped.
async fn pg_fixture(slots: usize, max_body: usize) -> Option<Fixture> {
    pg_fixture_at(slots, max_body).await.map(|(f, _)| f)
}

/// [`pg_fixture`] and its database's URL.
async fn pg_fixture_at(slots: usize, max_body: usize) -> Option<(Fixture, String)> {
    tokio::task::spawn_blocking(move || {
        let cluster = PgCluster::shared()?;
        let url = cluster.database();
        let store = PgStore::open(&url, Duration::from_secs(2)).unwrap();
        let f = Fixture::new(Arc::new(store), slots, max_body, Box::new(()));
        Some((f, url))
    })
    .await
    .unwrap()
}

/// The body limit a case asks for, else 1 MiB.
macro_rules! max_body {
    () => {
        1 << 20
    };
    ($mb:expr) => {
        $mb
    };
}

/// Each case twice: `on_sqlite::NAME` and `on_postgres::NAME`.
macro_rules! both {
    ($($name:ident $(max_body = $mb:expr)?;)*) => {
        mod on_sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let max_body: usize = max_body!($($mb)?);
                    cases::$name(sqlite_fixture(4, max_body).await).await
                }
            )*
        }
        mod on_postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let max_body: usize = max_body!($($mb)?);
                    if let Some(f) = pg_fixture(4, max_body).await {
                        cases::$name(f).await
                    }
                }
            )*
        }
    };
}

both! {
    tokens_decide_who_reads_and_who_writes;
    malformed_batches_get_400_naming_the_field;
    compressed_bodies_and_size_limits max_body = 64 << 10;
    retried_batches_are_stored_once;
    repeats_fold_and_alerts_on_one_pod_form_an_incident;
    the_audit_webhook_judges_and_stores;
    image_and_posture_reports_are_readable;
    retention_prunes_old_data;
    the_openapi_document_lists_every_route;
    events_are_found_by_pod_node_container_prefix_kind_and_cluster;
}

/// Two replicas (two stores, two routers) on one database, each sent the same cluster's
/// batches at once, every batch also retried on the other replica: one alert row with
/// every repeat counted, one incident, each batch's events stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_ingesting_one_cluster_at_once_count_exactly() {
    const BATCHES: usize = 60;
    let Some((f, url)) = pg_fixture_at(64, 1 << 20).await else {
        return;
    };
    // The second replica: its own store (its own connections) on the same database.
    let second = tokio::task::spawn_blocking(move || {
        PgStore::open(&url, Duration::from_secs(5)).map(|s| Arc::new(s) as Arc<dyn Store>)
    })
    .await
    .unwrap()
    .unwrap();
    let replicas = [f.app.clone(), cases::server(second, 64, 1 << 20)];
    let mut tasks = Vec::new();
    for i in 0..BATCHES {
        let t = format!("2026-11-29T10:{:02}:{:02}Z", i / 60, i % 60);
        let batch = json!({"batch_id": format!("b{i}"), "node": "node-1",
            "events": [exec_event("web-0", &t)],
            "alerts": [cases::alert("R-shell", "Terminal shell in container", "HIGH", &t, exec_event("web-0", &t))]});
        for (r, app) in replicas.iter().enumerate() {
            let app = app.clone();
            let token = f.prod.clone();
            let batch = batch.clone();
            // Half the batches reach replica 1 first, half replica 0.
            let delay = if (i + r) % 2 == 0 { 0 } else { 1 };
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                call(&app, post("/api/v1/ingest/sensor", &token, &batch)).await
            }));
        }
    }
    let mut duplicates = 0;
    for t in tasks {
        let (s, _, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
        if body["duplicate"] == true {
            duplicates += 1;
        }
    }
    assert_eq!(
        duplicates, BATCHES,
        "each batch stored by exactly one replica"
    );
    for app in &replicas {
        let (_, _, alerts) = call(app, get("/api/v1/alerts", &f.admin)).await;
        assert_eq!(alerts["total"], 1, "one row for one dedup key: {alerts}");
        assert_eq!(alerts["items"][0]["count"], BATCHES, "{alerts}");
        let (_, _, incidents) = call(app, get("/api/v1/incidents", &f.admin)).await;
        assert_eq!(incidents["total"], 1, "{incidents}");
        assert_eq!(incidents["items"][0]["alert_count"], BATCHES, "{incidents}");
        let (_, _, events) = call(app, get("/api/v1/events?limit=1", &f.admin)).await;
        assert_eq!(events["total"], BATCHES, "{events}");
        let (_, _, filtered) = call(app, get("/api/v1/events?kind=exec&limit=1", &f.admin)).await;
        assert_eq!(
            filtered["total"], BATCHES,
            "the kept count is true: {filtered}"
        );
    }
}

/// The database stopped: the API answers 503 with Retry-After (and 429 when the ingest
/// slots are full, before the database is asked); once it is back the same store works
/// again, its broken connections replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_answers_503_and_the_store_recovers() {
    let Some((cluster, f)) = tokio::task::spawn_blocking(|| {
        let cluster = PgCluster::start()?;
        let store = PgStore::open(&cluster.database(), Duration::from_secs(2)).unwrap();
        Some((
            cluster,
            Fixture::new(Arc::new(store), 4, 1 << 20, Box::new(())),
        ))
    })
    .await
    .unwrap() else {
        return;
    };
    let batch =
        |id: &str| json!({"batch_id": id, "events": [exec_event("web", "2026-11-29T10:00:00Z")]});
    let (s, _, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch("b1"))).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let cluster = Arc::new(cluster);
    let c = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || c.stop()).await.unwrap();
    for _ in 0..2 {
        let (s, h, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch("b2"))).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(h[header::RETRY_AFTER], "1");
    }
    let (s, _, _) = call(&f.app, get("/readyz", &f.admin)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);

    let c = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || c.start_server())
        .await
        .unwrap();
    let (s, _, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch("b2"))).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the retry once the database is back: {body}"
    );
    let (_, _, page) = call(&f.app, get("/api/v1/events", &f.admin)).await;
    assert_eq!(page["total"], 2, "{page}");

    let busy = tokio::task::spawn_blocking({
        let store = Arc::clone(&f.store);
        move || cases::server(store, 0, 1 << 20)
    })
    .await
    .unwrap();
    let (s, h, _) = call(&busy, post("/api/v1/ingest/sensor", &f.prod, &batch("b3"))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h[header::RETRY_AFTER], "1");
    drop(f);
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}

/// Replicas starting together on an empty database migrate it once; a database with a
/// newer schema than this Vigil knows is refused.
#[test]
fn replicas_migrate_once_and_refuse_a_newer_schema() {
    let Some(cluster) = PgCluster::shared() else {
        return;
    };
    let url = cluster.database();
    let opened: Vec<Result<PgStore, StoreError>> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..4)
            .map(|_| s.spawn(|| PgStore::open(&url, Duration::from_secs(5))))
            .collect();
        starts.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for store in &opened {
        assert!(store.is_ok(), "{:?}", store.as_ref().err());
    }
    drop(opened);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4], "each migration once");
    // Opening again runs nothing and keeps the data.
    let store = PgStore::open(&url, Duration::from_secs(1)).unwrap();
    cases::token(&store, "admin", vigil_server::auth::Role::Admin);
    drop(store);
    let store = PgStore::open(&url, Duration::from_secs(1)).unwrap();
    assert_eq!(store.tokens().unwrap().len(), 1);
    client
        .execute(
            "INSERT INTO schema_migrations (version, applied) VALUES (99, 0)",
            &[],
        )
        .unwrap();
    let err = PgStore::open(&url, Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}
