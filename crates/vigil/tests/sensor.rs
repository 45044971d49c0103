//! `vigil sensor` end to end: started as a process, it writes JSON lines to --output for
//! what happens after its "attached" line, stops cleanly on SIGTERM with a summary, and
//! refuses plainly when it cannot run. The collector itself is tested in
//! crates/vigil-sensor/tests. Needs root and BTF; otherwise it says why and passes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn can_run() -> bool {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipping: vigil sensor needs root");
        return false;
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("skipping: the kernel has no BTF");
        return false;
    }
    true
}

#[test]
fn sensor_writes_json_lines_and_stops_on_sigterm() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["sensor", "--node-name", "cli-test", "--output"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("attached"), "first stderr line: {line}");

    let marker = format!("vigil-cli-{}", std::process::id());
    let status = Command::new("/bin/sh")
        .args(["-c", "exit 0", &marker])
        .status()
        .unwrap();
    assert!(status.success());

    // Wait for the exec line to be flushed, then SIGTERM.
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains(&marker)) {
            break Some(l.to_string());
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "exit {status}; stderr: {rest}");
    assert!(rest.contains("events in"), "summary: {rest}");
    assert!(rest.contains("0 in the kernel"), "summary: {rest}");

    let found = found.expect("the exec with the marker was written");
    let v: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(v["kind"], "exec");
    assert_eq!(v["node"], "cli-test");
    assert_eq!(v["exec"]["args"][3], marker.as_str());
    // Every line is one JSON object.
    for l in std::fs::read_to_string(&out).unwrap().lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}

#[test]
fn sensor_refuses_a_bad_watch_path() {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["sensor", "--watch", "etc/shadow"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not absolute"), "{err}");
}

#[test]
fn sensor_alerts_only_writes_the_alerts_of_the_rules() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let marker = format!("vigil-alert-{}", std::process::id());
    let rules = dir.path().join("mine.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: Marker run\n  id: TEST-marker\n  desc: the test's marker\n  condition: spawned_process and proc.cmdline contains {marker}\n  output: marker run by %proc.name (%proc.cmdline)\n  priority: WARNING\n  tags: [mitre_execution, T1059]\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "sensor",
            "--alerts-only",
            "--node-name",
            "cli-test",
            "--rules",
        ])
        .arg(&rules)
        .arg("--output")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("rules); alerts follow"),
        "first stderr line: {line}"
    );
    assert!(
        Command::new("/bin/sh")
            .args(["-c", "exit 0", &marker])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains(&marker)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "exit {status}; stderr: {rest}");
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Only alerts: the built-ins' and the marker rule's.
    assert!(lines.iter().all(|l| l["kind"] == "alert"), "{text}");
    let a = lines
        .iter()
        .find(|l| l["rule_id"] == "TEST-marker")
        .unwrap_or_else(|| panic!("no marker alert in {text}"));
    assert_eq!(
        a["output"],
        format!("marker run by sh (sh -c exit 0 {marker})")
    );
    assert_eq!(a["mitre_technique"], "T1059");
    assert_eq!(a["runtime"]["node"], "cli-test");
    assert_eq!(a["runtime"]["processes"][0]["name"], "sh");
    assert_eq!(a["evidence"][0]["kind"], "exec");
    assert!(rest.contains(" alerts;"), "summary: {rest}");
}

#[test]
fn sensor_refuses_a_bad_rules_file_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.yaml");
    std::fs::write(
        &rules,
        "- rule: R\n  desc: d\n  condition: proc.nam = sh\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["sensor", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:3:") && err.contains("unknown runtime field proc.nam"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["sensor", "--no-builtin", "--alerts-only"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--alerts-only needs rules"));
}

/// A `vigil server` on a free port, with an admin and a `prod` cluster token.
struct Backend {
    child: std::process::Child,
    url: String,
    admin: String,
    prod: String,
}

impl Backend {
    fn start(data: &std::path::Path) -> Backend {
        let token = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
                .args(["server", "token", "create", "--data-dir"])
                .arg(data)
                .args(args)
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let (admin, prod) = (
            token(&["--admin", "--name", "a"]),
            token(&["--cluster", "prod", "--name", "p"]),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["server", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let url = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "the server stopped"
            );
            if let Some(u) = line.trim().strip_prefix("vigil: listening on ") {
                break u.trim_end_matches('/').to_string();
            }
        };
        std::thread::spawn(move || for _ in stderr.lines() {});
        Backend {
            child,
            url,
            admin,
            prod,
        }
    }

    fn total(&self, query: &str) -> u64 {
        let page: serde_json::Value = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/{query}", self.url))
            .bearer_auth(&self.admin)
            .send()
            .unwrap()
            .json()
            .unwrap();
        page["total"].as_u64().unwrap()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `vigil sensor --server URL` for `secs` seconds, reading /etc/shadow (a watched
/// path) a few times once it is attached; returns its stderr.
fn publish_for(url: &str, token: &str, spool: &std::path::Path, secs: u64) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "sensor",
            "--node-name",
            "pub-test",
            "--server",
            url,
            "--duration",
        ])
        .arg(secs.to_string())
        .arg("--spool-dir")
        .arg(spool)
        .env("VIGIL_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        all.push_str(&line);
        if line.contains("attached") {
            for _ in 0..3 {
                let _ = std::fs::read("/etc/shadow");
                let _ = Command::new("cat").arg("/etc/shadow").output();
            }
        }
    }
    assert!(child.wait().unwrap().success(), "{all}");
    all
}

/// `vigil sensor --server`: with the server away, events wait in the spool through a
/// sensor restart; once it is back they arrive, the waiting ones first, each once.
#[test]
fn sensor_publishes_through_the_spool_to_the_server() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let data = dir.path().join("data");
    // The server is away: nothing listens on this port.
    let away = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let away_url = format!("http://{}", away.local_addr().unwrap());
    drop(away);
    let backend = Backend::start(&data);
    let first = publish_for(&away_url, &backend.prod, &spool, 3);
    assert!(first.contains("published 0 batches"), "{first}");
    assert!(!first.contains(" 0 bytes wait"), "{first}");

    let second = publish_for(&backend.url, &backend.prod, &spool, 3);
    assert!(
        second.contains("batches from before wait in the spool"),
        "{second}"
    );
    assert!(second.contains(" 0 bytes wait in the spool"), "{second}");
    // Both runs' reads of /etc/shadow arrived: at least 3 cat opens each.
    let opens = backend.total("events?kind=open&q=pub-test&limit=1");
    assert!(
        opens >= 6,
        "opens of /etc/shadow stored: {opens}\n{first}\n{second}"
    );
    // A third run finds nothing left over: what the second sent left the spool.
    let third = publish_for(&backend.url, &backend.prod, &spool, 1);
    assert!(!third.contains("batches from before"), "{third}");
}
