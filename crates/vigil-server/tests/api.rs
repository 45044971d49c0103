//! The API over SQLite alone: what only the embedded store has to get right (a locked
//! database file answers 503, `PRAGMA user_version` migrations). The cases every store
//! shares are in `common/api_cases.rs`, run against SQLite and PostgreSQL by
//! `api_postgres.rs`.

#[path = "common/api_cases.rs"]
mod cases;

use cases::{Fixture, call, post};
use http::{StatusCode, header};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use vigil_server::store::Store;
use vigil_server::store::sqlite::SqliteStore;

/// A fixture over a new SQLite file whose calls wait `busy` for a lock, with `slots`
/// ingest slots; and the file's path.
fn sqlite(slots: usize, busy: Duration) -> (Fixture, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let store = Arc::new(SqliteStore::open(&path, busy).unwrap());
    (Fixture::new(store, slots, 1 << 20, Box::new(dir)), path)
}

#[tokio::test]
async fn busy_server_says_429_and_a_locked_database_503() {
    let (f, _) = sqlite(0, Duration::from_millis(200));
    let batch = json!({"batch_id": "b1", "events": []});
    let (s, h, _) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h[header::RETRY_AFTER], "1");

    let (f, path) = sqlite(4, Duration::from_millis(200));
    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (s, h, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(h[header::RETRY_AFTER], "1");
    locker.execute_batch("ROLLBACK").unwrap();
    let (s, _, body) = call(&f.app, post("/api/v1/ingest/sensor", &f.prod, &batch)).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the retry after the database is back: {body}"
    );
}

#[tokio::test]
async fn the_database_migrates_once_and_refuses_a_newer_schema() {
    let (f, path) = sqlite(4, Duration::from_secs(2));
    drop(f.app);
    drop(f.store);
    // Opening again runs nothing and keeps the data.
    let store = SqliteStore::open(&path, Duration::from_secs(1)).unwrap();
    assert_eq!(store.tokens().unwrap().len(), 3);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}
