//! `vigil db update` against a local HTTP server that serves OSV-style `all.zip` archives
//! (built here from the demo advisories): conditional requests, retries, the proxy, and an
//! update killed mid-download that must leave the previous database usable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn vigil() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A zip of the demo advisories of one ecosystem, as OSV publishes `all.zip`.
fn archive(ecosystem: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/advisories");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains(&format!("\"ecosystem\": \"{ecosystem}")) {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// How the server answers the next request for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with an ETag, or 304 when the client sends that ETag back.
    Archive { body: Vec<u8>, etag: String },
    /// A 503 (a transient failure), then the next reply in the queue.
    Unavailable,
    /// Headers promising the whole body, half of it, then silence.
    Stall { body: Vec<u8> },
}

struct Server {
    base: String,
    replies: Arc<Mutex<Vec<(String, Reply)>>>,
    /// Request lines and If-None-Match values seen.
    log: Arc<Mutex<Vec<String>>>,
    stalled: Mutex<mpsc::Receiver<()>>,
}

fn start_server(replies: Vec<(&str, Reply)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let replies = Arc::new(Mutex::new(
        replies
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect::<Vec<_>>(),
    ));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (stall_tx, stall_rx) = mpsc::channel();
    let (r, l) = (replies.clone(), log.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (r, l, tx) = (r.clone(), l.clone(), stall_tx.clone());
            std::thread::spawn(move || {
                let _ = answer(conn, &r, &l, &tx);
            });
        }
    });
    Server {
        base,
        replies,
        log,
        stalled: Mutex::new(stall_rx),
    }
}

fn answer(
    conn: TcpStream,
    replies: &Mutex<Vec<(String, Reply)>>,
    log: &Mutex<Vec<String>>,
    stalled: &mpsc::Sender<()>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        // `GET /npm/all.zip HTTP/1.1`, or an absolute URI when it came through a proxy.
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let path = match target.find("://") {
            Some(i) => target[i + 3..]
                .find('/')
                .map_or("/".into(), |j| target[i + 3 + j..].to_string()),
            None => target,
        };
        let mut if_none_match = None;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            if header.trim().is_empty() {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("if-none-match:") {
                if_none_match = Some(v.trim().to_string());
            }
        }
        log.lock().unwrap().push(format!(
            "{path} {}",
            if_none_match.as_deref().unwrap_or("-")
        ));
        let reply = {
            let mut queue = replies.lock().unwrap();
            let i = queue.iter().position(|(p, _)| *p == path);
            match i {
                // The last reply for a path stays; earlier ones are used once.
                Some(i) if queue.iter().filter(|(p, _)| *p == path).count() > 1 => {
                    Some(queue.remove(i).1)
                }
                Some(i) => Some(queue[i].1.clone()),
                None => None,
            }
        };
        match reply {
            None => write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?,
            Some(Reply::Unavailable) => write!(
                out,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
            )?,
            Some(Reply::Archive { etag, .. }) if if_none_match.as_deref() == Some(&etag) => {
                write!(out, "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n")?
            }
            Some(Reply::Archive { body, etag }) => {
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\n\r\n",
                    body.len()
                )?;
                out.write_all(&body)?;
            }
            Some(Reply::Stall { body }) => {
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )?;
                out.write_all(&body[..body.len() / 2])?;
                out.flush()?;
                let _ = stalled.send(());
                std::thread::sleep(Duration::from_secs(600));
                return Ok(());
            }
        }
        out.flush()?;
    }
}

fn update(db: &Path, server: &Server, ecosystems: &[&str]) -> Command {
    let mut cmd = vigil();
    cmd.args(["db", "--db"])
        .arg(db)
        .args(["update", "--base-url", &server.base]);
    for e in ecosystems {
        cmd.args(["--ecosystem", e]);
    }
    cmd
}

#[test]
fn update_then_conditional_requests_then_matching() {
    let server = start_server(vec![
        (
            "/npm/all.zip",
            Reply::Archive {
                body: archive("npm"),
                etag: "\"npm-1\"".into(),
            },
        ),
        ("/PyPI/all.zip", Reply::Unavailable),
        (
            "/PyPI/all.zip",
            Reply::Archive {
                body: archive("PyPI"),
                etag: "\"pypi-1\"".into(),
            },
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/vulndb.sqlite");
    let first = run(&mut update(&db, &server, &["npm", "PyPI"]));
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.contains("osv:npm: 3 advisories"), "{text}");
    assert!(text.contains("osv:PyPI: 1 advisories"), "{text}");

    let second = run(&mut update(&db, &server, &["npm", "PyPI"]));
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(
        text.contains("osv:npm: unchanged") && text.contains("osv:PyPI: unchanged"),
        "{text}"
    );
    let log = server.log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "/npm/all.zip -",
            "/PyPI/all.zip -",
            "/PyPI/all.zip -",
            "/npm/all.zip \"npm-1\"",
            "/PyPI/all.zip \"pypi-1\"",
        ],
        "a 503 is retried; the second update sends the ETags back"
    );

    // The updated database finds the demo image's lodash and PyYAML advisories.
    let layout = dir.path().join("layout");
    run(vigil().args(["demo", "--keep"]).arg(&layout));
    let out = run(vigil()
        .args(["image", &format!("oci:{}:demo", layout.display())])
        .args(["-f", "json", "--db"])
        .arg(&db));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        "CVE-2020-14343",
        "CVE-2020-8203",
        "CVE-2021-23337",
        "CVE-2020-28500",
    ] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    let status = run(vigil().args(["db", "--db"]).arg(&db).arg("status"));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("osv:npm") && text.contains(&server.base),
        "{text}"
    );
}

#[test]
fn a_killed_or_failed_update_leaves_the_previous_database() {
    let server = start_server(vec![
        (
            "/npm/all.zip",
            Reply::Archive {
                body: archive("npm"),
                etag: "\"npm-1\"".into(),
            },
        ),
        (
            "/npm/all.zip",
            Reply::Stall {
                body: archive("npm"),
            },
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vulndb.sqlite");
    run(&mut update(&db, &server, &["npm"]));
    let before = std::fs::read(&db).unwrap();

    // The second update stalls half-way through the archive; kill it there. (The server
    // repeats its last reply, a stall, for the ETag request too.)
    server
        .replies
        .lock()
        .unwrap()
        .retain(|(_, r)| matches!(r, Reply::Stall { .. }));
    let mut child = update(&db, &server, &["npm"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    server
        .stalled
        .lock()
        .unwrap()
        .recv_timeout(Duration::from_secs(60))
        .expect("the update reached the stalled download");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read(&db).unwrap(), before, "database untouched");
    let show = run(vigil()
        .args(["db", "--db"])
        .arg(&db)
        .args(["show", "CVE-2020-8203"]));
    assert!(String::from_utf8_lossy(&show.stdout).contains("GHSA-p6mc-m468-83gw"));

    // An ecosystem the server does not have: the update fails, saying so; nothing changes.
    let failed = update(&db, &server, &["Nowhere"]).output().unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("404") && stderr.contains("previous one is unchanged"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// `HTTP_PROXY` is honoured: the archive arrives through a forward proxy.
#[test]
fn update_goes_through_the_proxy() {
    let server = start_server(vec![(
        "/npm/all.zip",
        Reply::Archive {
            body: archive("npm"),
            etag: "\"npm-1\"".into(),
        },
    )]);
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let proxied = Arc::new(Mutex::new(Vec::new()));
    let seen = proxied.clone();
    std::thread::spawn(move || {
        for client in proxy.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut first = String::new();
                reader.read_line(&mut first).unwrap();
                seen.lock().unwrap().push(first.clone());
                let host = first
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                let mut upstream = TcpStream::connect(host).unwrap();
                upstream.write_all(first.as_bytes()).unwrap();
                upstream.write_all(reader.buffer()).unwrap();
                let mut up = upstream.try_clone().unwrap();
                let mut down = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut up, &mut down));
                let mut rest = reader.into_inner();
                let mut buf = [0u8; 8192];
                while let Ok(n) = rest.read(&mut buf) {
                    if n == 0 || upstream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vulndb.sqlite");
    run(update(&db, &server, &["npm"])
        .env("HTTP_PROXY", &proxy_url)
        .env("NO_PROXY", ""));
    let seen = proxied.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with(&format!("GET {}/npm/all.zip", server.base)),
        "{seen:?}"
    );
}
