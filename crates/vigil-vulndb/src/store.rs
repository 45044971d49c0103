//! The embedded store: one SQLite file under the user's data dir.
//!
//! Why SQLite (docs/vulndb.md has the measurements): opening is a file open with nothing
//! loaded, a lookup is one indexed B-tree probe on `(ecosystem, name)`, transactions make
//! an interrupted import harmless, and the page cache keeps memory flat however large the
//! database grows. Each advisory and each affected entry is stored as a compact JSON
//! body; only the lookup keys are columns.

use crate::model::{Advisory, Affected};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// The store's layout version; a file with another version is refused with a clear
/// message (rebuild with `vigil db update` or `vigil db import`).
pub const SCHEMA_VERSION: i64 = 2;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No database at the path.
    #[error("no vulnerability database at {0} (run `vigil db update` or `vigil db import PATH`)")]
    Missing(PathBuf),
    /// SQLite failed.
    #[error("vulnerability database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A file of another layout version.
    #[error(
        "vulnerability database {path} has layout version {found}, this Vigil reads {SCHEMA_VERSION} (rebuild it with `vigil db update`)"
    )]
    Version {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
    },
    /// A stored body did not decode.
    #[error("vulnerability database {path}: corrupt record: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What did not decode.
        message: String,
    },
}

/// One source's entry in the store: what `vigil db status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// `osv:pypa`, `alpine-secdb`, ...
    pub name: String,
    /// Advisories from it.
    pub records: u64,
    /// When it was last imported, RFC 3339.
    pub imported: String,
    /// Where it came from (a path or URL).
    pub origin: String,
}

/// An open vulnerability database.
pub struct Database {
    conn: Connection,
    path: PathBuf,
}

/// An advisory as stored: its fields without `affected`, which the matcher reads
/// separately, only for the packages it looks up.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAffected {
    /// Row id of the advisory, to fetch it once per finding.
    pub advisory: i64,
    /// The affected entry.
    pub affected: Affected,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source (
  name TEXT PRIMARY KEY, imported TEXT NOT NULL, origin TEXT NOT NULL,
  etag TEXT, last_modified TEXT, records INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS advisory (
  rowid INTEGER PRIMARY KEY, source TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
  UNIQUE (source, id));
-- Clustered by package: the entries a lookup needs sit together in one B-tree leaf,
-- so a lookup is one descent however large the table grows.
CREATE TABLE IF NOT EXISTS affected (
  ecosystem TEXT NOT NULL, name TEXT NOT NULL,
  advisory INTEGER NOT NULL REFERENCES advisory(rowid) ON DELETE CASCADE,
  seq INTEGER NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY (ecosystem, name, advisory, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS affected_advisory ON affected (advisory);
";

impl Database {
    /// Opens an existing database read-only.
    pub fn open(path: &Path) -> Result<Database, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| sqlite(path, source))?;
        // Pages are read into SQLite's own small cache, not memory-mapped: with mmap the
        // kernel's fault-around maps neighbouring pages too and RSS grows with the file
        // (92 MiB on the 500,000-record database), for no measured gain in speed.
        conn.execute_batch("PRAGMA query_only = 1;")
            .map_err(|source| sqlite(path, source))?;
        let db = Database {
            conn,
            path: path.to_owned(),
        };
        db.check_version()?;
        Ok(db)
    }

    /// Holds one read transaction open until the guard drops, so a batch of lookups takes
    /// the file lock once and keeps its page cache between them.
    pub fn read_batch(&self) -> Result<ReadBatch<'_>, DbError> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(|source| sqlite(&self.path, source))?;
        Ok(ReadBatch { db: self })
    }

    /// Opens a database for writing, creating it when missing.
    pub fn create(path: &Path) -> Result<Database, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Corrupt {
                path: path.to_owned(),
                message: format!("creating {}: {e}", dir.display()),
            })?;
        }
        let fresh = !path.exists();
        let conn = Connection::open(path).map_err(|source| sqlite(path, source))?;
        let db = Database {
            conn,
            path: path.to_owned(),
        };
        let setup = format!(
            "PRAGMA page_size = 8192; PRAGMA foreign_keys = ON; PRAGMA journal_mode = DELETE; {SCHEMA}
             INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
        );
        db.conn
            .execute_batch(&setup)
            .map_err(|source| sqlite(path, source))?;
        if !fresh {
            db.check_version()?;
        }
        Ok(db)
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_version(&self) -> Result<(), DbError> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|source| sqlite(&self.path, source))?;
        let found = found.and_then(|v| v.parse().ok()).unwrap_or(0);
        if found != SCHEMA_VERSION {
            return Err(DbError::Version {
                path: self.path.clone(),
                found,
            });
        }
        Ok(())
    }

    /// Starts a write transaction: everything written through it appears at once on
    /// [`Writer::commit`], or not at all.
    pub fn writer(&mut self) -> Result<Writer<'_>, DbError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|source| sqlite(&path, source))?;
        Ok(Writer { tx, path })
    }

    /// Every affected entry for `name` in `ecosystem` (exact OSV ecosystem with release).
    pub fn affected(&self, ecosystem: &str, name: &str) -> Result<Vec<StoredAffected>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT advisory, body FROM affected WHERE ecosystem = ?1 AND name = ?2",
            )
            .map_err(|source| sqlite(&self.path, source))?;
        let rows = stmt
            .query_map(params![ecosystem, name], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|source| sqlite(&self.path, source))?;
        let mut out = Vec::new();
        for row in rows {
            let (advisory, body) = row.map_err(|source| sqlite(&self.path, source))?;
            let affected = serde_json::from_slice(&body).map_err(|e| self.corrupt(e))?;
            out.push(StoredAffected { advisory, affected });
        }
        Ok(out)
    }

    /// The advisory with row id `rowid`, without its `affected` list.
    pub fn advisory(&self, rowid: i64) -> Result<Advisory, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM advisory WHERE rowid = ?1")
            .map_err(|source| sqlite(&self.path, source))?;
        let body: Vec<u8> = stmt
            .query_row([rowid], |r| r.get(0))
            .map_err(|source| sqlite(&self.path, source))?;
        serde_json::from_slice(&body).map_err(|e| self.corrupt(e))
    }

    /// Advisories whose id or alias is `id`, with their affected entries.
    pub fn find(&self, id: &str) -> Result<Vec<Advisory>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT rowid, body FROM advisory
                 WHERE id = ?1 OR instr(body, '\"' || ?1 || '\"') > 0",
            )
            .map_err(|source| sqlite(&self.path, source))?;
        let rows: Vec<(i64, Vec<u8>)> = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|source| sqlite(&self.path, source))?;
        let mut out = Vec::new();
        for (rowid, body) in rows {
            let mut advisory: Advisory =
                serde_json::from_slice(&body).map_err(|e| self.corrupt(e))?;
            if advisory.id != id && !advisory.aliases.iter().any(|a| a == id) {
                continue;
            }
            let mut stmt = self
                .conn
                .prepare_cached("SELECT body FROM affected WHERE advisory = ?1")
                .map_err(|source| sqlite(&self.path, source))?;
            let bodies: Vec<Vec<u8>> = stmt
                .query_map([rowid], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(|source| sqlite(&self.path, source))?;
            for body in bodies {
                advisory
                    .affected
                    .push(serde_json::from_slice(&body).map_err(|e| self.corrupt(e))?);
            }
            out.push(advisory);
        }
        Ok(out)
    }

    /// The sources in the database with their record counts.
    pub fn sources(&self) -> Result<Vec<SourceInfo>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                // Counted at import: counting here would read every advisory.
                "SELECT name, records, imported, origin FROM source ORDER BY name",
            )
            .map_err(|source| sqlite(&self.path, source))?;
        stmt.query_map([], |r| {
            Ok(SourceInfo {
                name: r.get(0)?,
                records: r.get::<_, i64>(1)?.unsigned_abs(),
                imported: r.get(2)?,
                origin: r.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|source| sqlite(&self.path, source))
    }

    /// Advisory counts per ecosystem (without the release: `Debian`, `PyPI`).
    pub fn ecosystem_counts(&self) -> Result<Vec<(String, u64)>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT CASE WHEN instr(ecosystem, ':') > 0
                        THEN substr(ecosystem, 1, instr(ecosystem, ':') - 1) ELSE ecosystem END AS e,
                        count(DISTINCT advisory) FROM affected GROUP BY e ORDER BY e",
            )
            .map_err(|source| sqlite(&self.path, source))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs())))
            .and_then(|rows| rows.collect())
            .map_err(|source| sqlite(&self.path, source))
    }

    /// The HTTP validators remembered for a source (`ETag`, `Last-Modified`), for
    /// conditional requests.
    pub fn validators(&self, source: &str) -> Result<(Option<String>, Option<String>), DbError> {
        self.conn
            .query_row(
                "SELECT etag, last_modified FROM source WHERE name = ?1",
                [source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map(|v| v.unwrap_or((None, None)))
            .map_err(|source| sqlite(&self.path, source))
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> DbError {
        DbError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

/// An open read transaction; see [`Database::read_batch`].
pub struct ReadBatch<'a> {
    db: &'a Database,
}

impl Drop for ReadBatch<'_> {
    fn drop(&mut self) {
        let _ = self.db.conn.execute_batch("COMMIT");
    }
}

/// A write transaction on the store.
pub struct Writer<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Writer<'_> {
    /// Removes everything a source contributed (before re-importing it whole).
    pub fn clear_source(&self, source: &str) -> Result<(), DbError> {
        self.tx
            .execute(
                "DELETE FROM affected WHERE advisory IN (SELECT rowid FROM advisory WHERE source = ?1)",
                [source],
            )
            .and_then(|_| self.tx.execute("DELETE FROM advisory WHERE source = ?1", [source]))
            .map(drop)
            .map_err(|source| sqlite(&self.path, source))
    }

    /// Adds or replaces one advisory, keyed by its feed (the unit that is replaced whole on
    /// update: `osv:PyPI`, `alpine-secdb:v3.11/main`) and id.
    pub fn put(&self, feed: &str, advisory: &Advisory) -> Result<(), DbError> {
        let err = |source| sqlite(&self.path, source);
        let existing: Option<i64> = self
            .tx
            .prepare_cached("SELECT rowid FROM advisory WHERE source = ?1 AND id = ?2")
            .and_then(|mut s| {
                s.query_row(params![feed, advisory.id], |r| r.get(0))
                    .optional()
            })
            .map_err(err)?;
        if let Some(rowid) = existing {
            self.tx
                .prepare_cached("DELETE FROM affected WHERE advisory = ?1")
                .and_then(|mut s| s.execute([rowid]))
                .and_then(|_| {
                    self.tx
                        .prepare_cached("DELETE FROM advisory WHERE rowid = ?1")?
                        .execute([rowid])
                })
                .map_err(err)?;
        }
        let head = Advisory {
            affected: Vec::new(),
            ..advisory.clone()
        };
        let body = serde_json::to_vec(&head).map_err(|e| self.corrupt(e))?;
        self.tx
            .prepare_cached("INSERT INTO advisory (source, id, body) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![feed, advisory.id, body]))
            .map_err(err)?;
        let rowid = self.tx.last_insert_rowid();
        let mut insert = self
            .tx
            .prepare_cached(
                "INSERT INTO affected (ecosystem, name, advisory, seq, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(err)?;
        for (seq, affected) in advisory.affected.iter().enumerate() {
            let body = serde_json::to_vec(affected).map_err(|e| self.corrupt(e))?;
            insert
                .execute(params![
                    crate::matcher::lookup_ecosystem(&affected.ecosystem),
                    affected.name,
                    rowid,
                    seq as i64,
                    body
                ])
                .map_err(err)?;
        }
        Ok(())
    }

    /// Records that `source` was imported now from `origin`, with HTTP validators.
    pub fn mark_source(
        &self,
        source: &str,
        origin: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<(), DbError> {
        self.tx
            .execute(
                "INSERT INTO source (name, imported, origin, etag, last_modified, records)
                 VALUES (?1, ?2, ?3, ?4, ?5, (SELECT count(*) FROM advisory WHERE source = ?1))
                 ON CONFLICT (name) DO UPDATE SET imported = ?2, origin = ?3, etag = ?4,
                 last_modified = ?5, records = excluded.records",
                params![source, crate::now_rfc3339(), origin, etag, last_modified],
            )
            .map(drop)
            .map_err(|source| sqlite(&self.path, source))
    }

    /// Makes everything written visible at once.
    pub fn commit(self) -> Result<(), DbError> {
        let path = self.path;
        self.tx.commit().map_err(|source| sqlite(&path, source))
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> DbError {
        DbError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

fn sqlite(path: &Path, source: rusqlite::Error) -> DbError {
    DbError::Sqlite {
        path: path.to_owned(),
        source,
    }
}
