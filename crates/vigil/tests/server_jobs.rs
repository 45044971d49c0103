//! `vigil server serve`'s scheduled work: stored images matched again when the
//! vulnerability database changes, and posture snapshots of a registered cluster read
//! from vigil-kube's in-process API server (real list JSON) on the live-cluster code path.

#[path = "../../vigil-kube/tests/support/mod.rs"]
mod support;

mod common;

use common::{WAIT, lines, listening_url};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{ApiServer, Scenario};

fn vigil(args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    for v in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "KUBECONFIG",
    ] {
        c.env_remove(v);
    }
    let out = c.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "vigil {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn token(data: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "server",
        "token",
        "create",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    String::from_utf8(vigil(&all).stdout)
        .unwrap()
        .trim()
        .to_string()
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["server", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = lines(child.stderr.take().unwrap());
    let url = listening_url(&stderr);
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in stderr.iter() {
            eprintln!("server: {line}");
        }
    });
    Server(child, url)
}

fn read(url: &str, token: &str) -> Value {
    reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Polls `f` until it gives `Some`, for up to [`WAIT`].
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn total_vulns(overview: &Value) -> u64 {
    ["critical", "high", "medium", "low", "other"]
        .iter()
        .map(|k| overview["vulnerabilities"][k].as_u64().unwrap())
        .sum()
}

/// The demo image as an OCI layout and a database of every demo advisory.
struct Demo {
    advisories: std::path::PathBuf,
    layout: std::path::PathBuf,
    full: std::path::PathBuf,
}

impl Demo {
    fn make(dir: &Path) -> Demo {
        let demo = Demo {
            advisories: Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/advisories"),
            layout: dir.join("layout"),
            full: dir.join("full.sqlite"),
        };
        vigil(&[
            "demo",
            "--keep",
            demo.layout.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let (db, records) = (
            demo.full.to_str().unwrap(),
            demo.advisories.to_str().unwrap(),
        );
        vigil(&["db", "import", "--db", db, records]);
        demo
    }

    /// `vigil image` of the demo image against the full database, sent to `server`;
    /// the report it printed.
    fn send(&self, server: &Server, token: &str) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["image", &format!("oci:{}:demo", self.layout.display())])
            .args(["--db", self.full.to_str().unwrap(), "--format", "json"])
            .args(["--server", server.1.trim_end_matches('/')])
            .env("VIGIL_TOKEN", token)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[test]
fn stored_images_are_matched_again_when_the_database_changes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = token(&data, &["--admin"]);
    let prod = token(&data, &["--cluster", "prod"]);
    let demo = Demo::make(dir.path());
    let advisories = &demo.advisories;
    // The server's database starts with one advisory, imported a second later (the
    // import time is the database's version).
    std::thread::sleep(Duration::from_millis(1100));
    let partial = dir.path().join("server.sqlite");
    let one = advisories.join("GHSA-8q59-q68h-6hv4.json");
    vigil(&[
        "db",
        "import",
        "--db",
        partial.to_str().unwrap(),
        one.to_str().unwrap(),
    ]);

    let server = serve(
        &data,
        &[
            "--vuln-db",
            partial.to_str().unwrap(),
            "--rematch-interval",
            "1",
        ],
    );
    let report = demo.send(&server, &prod);
    let scanned = report["matches"].as_array().unwrap().len() as u64;
    assert!(scanned > 1, "{report}");

    let overview_url = format!("{}api/v1/overview", server.1);
    // Matched again against the server's one-advisory database: one finding left.
    eventually("the first re-match", || {
        (total_vulns(&read(&overview_url, &admin)) == 1).then_some(())
    });
    // The database gains the rest: matched again, every finding back.
    std::thread::sleep(Duration::from_millis(1100));
    vigil(&[
        "db",
        "import",
        "--db",
        partial.to_str().unwrap(),
        advisories.to_str().unwrap(),
    ]);
    eventually("the second re-match", || {
        (total_vulns(&read(&overview_url, &admin)) == scanned).then_some(())
    });
    let images = read(&format!("{}api/v1/images", server.1), &admin);
    assert_eq!(images["total"], 1, "matched again in place: {images}");
}

#[test]
fn registered_clusters_are_snapshotted_at_intervals() {
    // The server lists 500 objects a page, as `vigil k8s scan` does by default.
    let api = ApiServer::start(Scenario {
        page_size: 500,
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.write_kubeconfig(dir.path(), "kind-test");
    let data = dir.path().join("data");
    let admin = token(&data, &["--admin"]);
    let server = serve(
        &data,
        &[
            "--scan-cluster",
            "prod=kind-test",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--scan-interval",
            "1",
        ],
    );
    let posture_url = format!("{}api/v1/posture?cluster=prod", server.1);
    let first = eventually("a posture snapshot", || {
        let rows = read(&posture_url, &admin);
        rows.as_array()
            .and_then(|r| r.first())
            .map(|r| r["scanned"].as_str().unwrap().to_string())
    });
    let findings = read(&format!("{}api/v1/findings?cluster=prod", server.1), &admin);
    assert!(findings["total"].as_u64().unwrap() > 0, "{findings}");
    // Another snapshot a second later replaces the first.
    eventually("a second snapshot", || {
        let rows = read(&posture_url, &admin);
        (rows[0]["scanned"].as_str().unwrap() != first).then_some(())
    });
    let lists = api
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/pods")
        .count();
    assert!(lists >= 2, "pods listed once per snapshot: {lists}");
}

/// OSV's `all.zip` of one ecosystem, made of the demo advisories.
fn osv_archive(ecosystem: &str) -> Vec<u8> {
    use std::io::Write;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/advisories");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains(&format!("\"ecosystem\": \"{ecosystem}\"")) {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// A mirror answering `GET /ECOSYSTEM/all.zip` for the one ecosystem it has.
fn osv_mirror(ecosystem: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let body = osv_archive(ecosystem);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            if request.starts_with(&format!("GET /{ecosystem}/all.zip ")) {
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            } else {
                let _ = write!(
                    conn,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        }
    });
    base
}

#[test]
fn the_server_updates_its_database_and_matches_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = token(&data, &["--admin"]);
    let prod = token(&data, &["--cluster", "prod"]);
    let demo = Demo::make(dir.path());
    let mirror = osv_mirror("npm");
    let updated = dir.path().join("updated.sqlite");
    let server = serve(
        &data,
        &[
            "--vuln-db",
            updated.to_str().unwrap(),
            "--db-update-interval",
            "3600",
            "--db-update-url",
            &mirror,
            "--db-update-ecosystem",
            "npm",
            "--rematch-interval",
            "1",
        ],
    );
    let report = demo.send(&server, &prod);
    let npm = report["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["package"]["ecosystem"] == "npm")
        .count() as u64;
    assert!(npm > 0 && npm < report["matches"].as_array().unwrap().len() as u64);
    // The update made a database of npm advisories only; matched against it, only the
    // npm findings remain.
    let overview_url = format!("{}api/v1/overview", server.1);
    eventually("the update and the re-match", || {
        (total_vulns(&read(&overview_url, &admin)) == npm).then_some(())
    });
    assert!(updated.exists());
}
