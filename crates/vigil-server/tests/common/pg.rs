//! A throwaway PostgreSQL cluster for tests: `initdb` in a temporary directory, a server
//! listening only on a Unix socket there (no TCP port to collide on), trust
//! authentication, stopped and removed at the end.
//!
//! As root, the PostgreSQL programs run as the `postgres` user (initdb refuses root).
//! Without the programs (Debian's `postgresql` package) the tests say so and fail, unless
//! `VIGIL_SKIP_POSTGRES=1` asks to skip them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running cluster.
pub struct PgCluster {
    root: PathBuf,
    bin: PathBuf,
    /// Run the programs as `postgres` (we are root).
    as_postgres: bool,
    port: u16,
    /// Whether dropping it stops it (the shared cluster is stopped by its watchdog).
    owned: bool,
}

/// The newest installed PostgreSQL's program directory.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// Says why PostgreSQL tests cannot run; panics unless they may be skipped. Returns
/// false when the caller should skip.
fn unavailable(why: &str) -> bool {
    if std::env::var("VIGIL_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("SKIPPED: PostgreSQL tests: {why} (VIGIL_SKIP_POSTGRES=1)");
        false
    } else {
        panic!(
            "PostgreSQL tests need PostgreSQL's server programs: {why}. Install them \
             (apt-get install -y postgresql) or set VIGIL_SKIP_POSTGRES=1 to skip these tests."
        )
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// A new cluster of the test's own (stopped and removed when dropped); `None` when
    /// PostgreSQL is absent and the tests may be skipped.
    pub fn start() -> Option<PgCluster> {
        Self::start_with(true)
    }

    /// The cluster this test binary shares (each test in its own database); stopped and
    /// removed by a watchdog once the test process exits.
    pub fn shared() -> Option<&'static PgCluster> {
        static SHARED: OnceLock<Option<PgCluster>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let c = Self::start_with(false)?;
                c.watch(std::process::id());
                Some(c)
            })
            .as_ref()
    }

    fn start_with(owned: bool) -> Option<PgCluster> {
        let Some(bin) = bin_dir() else {
            unavailable("no /usr/lib/postgresql/*/bin/initdb");
            return None;
        };
        let as_postgres = is_root();
        let root = tempfile::Builder::new()
            .prefix("vigil-pg-")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::create_dir_all(root.join("sock")).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok && !unavailable("cannot give the cluster directory to the postgres user") {
                return None;
            }
        }
        let c = PgCluster {
            root,
            bin,
            as_postgres,
            port: 5432,
            owned,
        };
        let data = c.root.join("data");
        c.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        c.start_server();
        Some(c)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdin(Stdio::null()).current_dir(&self.root);
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again, after [`PgCluster::stop`]) and waits until it answers.
    pub fn start_server(&self) {
        let opts = format!(
            "-k {} -p {} -c listen_addresses='' -c max_connections=300 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.socket_dir().display(),
            self.port
        );
        let out = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().unwrap(), "-w", "-t", "60"])
            .args(["-l", self.root.join("server.log").to_str().unwrap()])
            .args(["-o", &opts, "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the server (`fast`: open connections are closed, as in an admin shutdown).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", self.data().to_str().unwrap(), "-m", "fast", "stop"],
        );
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.root.join("sock")
    }

    /// Stops the server and removes the directory once process `pid` has exited.
    fn watch(&self, pid: u32) {
        let stop = format!(
            "{} {}/pg_ctl -D {} -m immediate stop",
            if self.as_postgres {
                "runuser -u postgres --"
            } else {
                ""
            },
            self.bin.display(),
            self.data().display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; \
             rm -rf {}",
            self.root.display()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// A URL for database `db` over the Unix socket.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@{}:{}/{db}",
            percent(&self.socket_dir()),
            self.port
        )
    }

    /// A new empty database, its URL.
    pub fn database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("vigil_{}", N.fetch_add(1, Ordering::Relaxed));
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.owned {
            let _ = self
                .command("pg_ctl")
                .args([
                    "-D",
                    self.data().to_str().unwrap(),
                    "-m",
                    "immediate",
                    "stop",
                ])
                .output();
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// A path as a URL host: percent-encoded, which rust-postgres reads as a socket directory.
fn percent(p: &Path) -> String {
    p.to_str()
        .unwrap()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
