//! `rpmdb.sqlite`: rpm ≥ 4.16 keeps each header blob in table `Packages(hnum, blob)`.
//!
//! The bytes are handed to SQLite's in-memory database (`sqlite3_deserialize`), read-only:
//! no temporary file, nothing on disk to clean up. SQLite is built to survive corrupt
//! files; on top of that the database is treated as hostile: `Packages` must be a real
//! table (not a view that runs arbitrary SQL), schema code runs untrusted-mode, each blob
//! is length-checked before it is loaded, and a progress handler bounds the work.

use super::{Collector, MAX_HEADER_BYTES};
use crate::analyzer::AnalyzeError;
use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, MAIN_DB, OpenFlags};
use std::io::Read;

/// The first 16 bytes of every SQLite 3 database file.
pub(super) const MAGIC: &[u8] = b"SQLite format 3\0";

/// Virtual-machine steps between two progress checks, and most checks allowed: about a
/// billion steps, far more than listing a real rpmdb needs (a few per row).
const PROGRESS_STEP: i32 = 10_000;
const MAX_PROGRESS_CALLS: u32 = 100_000;

fn err(what: &str, e: rusqlite::Error) -> AnalyzeError {
    AnalyzeError::new(format!("rpmdb.sqlite: {what}: {e}"))
}

pub(super) fn read(content: &[u8], out: &mut Collector) -> Result<(), AnalyzeError> {
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| err("opening SQLite", e))?;
    let limit = i32::try_from(MAX_HEADER_BYTES).unwrap_or(i32::MAX);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, limit)
        .map_err(|e| err("setting limits", e))?;
    for (config, on) in [
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
    ] {
        conn.set_db_config(config, on)
            .map_err(|e| err("configuring SQLite", e))?;
    }
    // rpm opens its database in WAL mode, which the in-memory VFS cannot serve; header
    // bytes 18 and 19 (file format write/read version, 2 = WAL) are set back to 1
    // (rollback journal) in the copy SQLite gets. Any WAL content would be in the
    // separate `-wal` file, which rpm checkpoints into the database when it closes.
    let (first, rest) = content.split_at(content.len().min(100));
    let mut head = first.to_vec();
    if let Some(versions @ [2, 2]) = head.get_mut(18..20) {
        versions.copy_from_slice(&[1, 1]);
    }
    let reader = head.as_slice().chain(rest);
    conn.deserialize_read_exact(MAIN_DB, reader, content.len(), true)
        .map_err(|e| err("loading the database", e))?;
    let mut calls = 0u32;
    conn.progress_handler(
        PROGRESS_STEP,
        Some(move || {
            calls += 1;
            calls > MAX_PROGRESS_CALLS
        }),
    )
    .map_err(|e| err("setting a progress handler", e))?;

    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE lower(name) = 'packages'",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(err("reading the schema", e)),
        })?;
    match kind.as_deref() {
        Some("table") => {}
        Some(other) => {
            return Err(AnalyzeError::new(format!(
                "rpmdb.sqlite: Packages is a {other}, not a table"
            )));
        }
        None => {
            return Err(AnalyzeError::new(
                "rpmdb.sqlite: no Packages table (not an rpm database)",
            ));
        }
    }
    // `length()` of a blob comes from the record header, so oversized blobs are
    // skipped without being loaded.
    let mut stmt = conn
        .prepare(
            "SELECT hnum, length(blob), CASE WHEN length(blob) <= ?1 THEN blob END \
             FROM Packages",
        )
        .map_err(|e| err("reading Packages", e))?;
    let mut rows = stmt
        .query([limit])
        .map_err(|e| err("reading Packages", e))?;
    let mut read = 0usize;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                out.warn(format!(
                    "rpmdb.sqlite: reading stopped after {read} rows: {e}"
                ));
                break;
            }
        };
        read += 1;
        let hnum = match row.get_ref(0) {
            Ok(ValueRef::Integer(n)) => n.to_string(),
            _ => format!("row {read}"),
        };
        let place = format!("package {hnum}");
        match (row.get_ref(1), row.get_ref(2)) {
            (_, Ok(ValueRef::Blob(blob))) => {
                if out.header(&place, blob).is_break() {
                    break;
                }
            }
            (Ok(ValueRef::Integer(len)), Ok(ValueRef::Null)) if len > i64::from(limit) => {
                out.warn(format!(
                    "{place}: header of {len} bytes is larger than {MAX_HEADER_BYTES}; skipped"
                ))
            }
            _ => out.warn(format!("{place}: blob column is not a blob; skipped")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::header::tests::sample;
    use super::*;

    /// An rpmdb-shaped SQLite file, made through SQLite itself.
    fn database(setup: &str, rows: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(setup).unwrap();
        for (hnum, blob) in rows {
            conn.execute(
                "INSERT INTO Packages (hnum, blob) VALUES (?1, ?2)",
                rusqlite::params![hnum, blob],
            )
            .unwrap();
        }
        conn.serialize(MAIN_DB).unwrap().to_vec()
    }

    const TABLE: &str = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, \
                         blob BLOB NOT NULL);";

    #[test]
    fn reads_blobs_and_reports_bad_rows() {
        let db = database(
            TABLE,
            &[
                (1, sample("openssl-libs")),
                (2, b"junk".to_vec()),
                (3, sample("gpg-pubkey")),
            ],
        );
        let mut c = Collector::new(db.len());
        read(&db, &mut c).unwrap();
        let found = c.finish();
        let names: Vec<_> = found.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["openssl-libs"]);
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(
            found.warnings[0].starts_with("package 2:"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn views_and_missing_tables_are_refused() {
        let view = database(
            "CREATE TABLE t (hnum INTEGER, blob BLOB); \
             CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL \
             SELECT x + 1 FROM c) SELECT x AS hnum, zeroblob(10) AS blob FROM c;",
            &[],
        );
        let e = read(&view, &mut Collector::new(view.len())).unwrap_err();
        assert!(e.0.contains("is a view"), "{e}");
        let none = database("CREATE TABLE other (x);", &[]);
        let e = read(&none, &mut Collector::new(none.len())).unwrap_err();
        assert!(e.0.contains("no Packages table"), "{e}");
    }

    #[test]
    fn truncated_and_damaged_files_do_not_panic() {
        let rows: Vec<_> = (1..40).map(|i| (i, sample(&format!("p{i}")))).collect();
        let db = database(TABLE, &rows);
        for cut in [0, 50, 100, 4096, db.len() / 2, db.len() - 1] {
            let mut c = Collector::new(cut);
            let r = read(&db[..cut], &mut c);
            let found = c.finish();
            assert!(r.is_err() || !found.warnings.is_empty() || found.packages.len() == 39);
        }
        let mut state = 7u64;
        for _ in 0..200 {
            let mut bad = db.clone();
            for _ in 0..8 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (state >> 33) as usize % bad.len();
                bad[at] = (state >> 20) as u8;
            }
            let mut c = Collector::new(bad.len());
            let _ = read(&bad, &mut c);
        }
    }
}
