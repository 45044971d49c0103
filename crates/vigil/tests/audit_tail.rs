//! `vigil audit tail` as a user runs it: a child process follows a log while this test
//! writes to it (a line in two halves, an exec into a pod), rotates it, writes to the old
//! and the new file, and stops it with SIGTERM.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// An exec into a pod by `user`: the built-in K8S-AUDIT-exec fires on it.
fn exec(id: &str, user: &str) -> String {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id,
        "stage": "ResponseComplete", "verb": "create",
        "requestURI": "/api/v1/namespaces/shop/pods/web-0/exec?command=sh&stdin=true&tty=true",
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["198.51.100.4"], "userAgent": "kubectl/v1.31.2",
        "objectRef": {"resource": "pods", "namespace": "shop", "name": "web-0", "subresource": "exec", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 101},
        "stageTimestamp": "2026-11-29T12:00:00.000000Z",
    })
    .to_string()
}

/// A get by a node: nothing to alert on.
fn benign(id: &str) -> String {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id,
        "stage": "ResponseComplete", "verb": "get", "requestURI": "/api/v1/nodes/n1",
        "user": {"username": "system:node:n1"}, "objectRef": {"resource": "nodes", "name": "n1"},
        "responseStatus": {"code": 200}, "stageTimestamp": "2026-11-29T12:00:00Z",
    })
    .to_string()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Lines of a child's output, read on a thread.
fn lines(from: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn alert(stdout: &Receiver<String>) -> Value {
    let line = stdout.recv_timeout(WAIT).expect("an alert in time");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn stop(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn follows_a_log_across_rotation_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    // Written before following began: not judged.
    append(&path, &format!("{}\n", exec("0", "before")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["audit", "tail", path.to_str().unwrap(), "--format", "json"])
        .args(["--poll-ms", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let first = stderr.recv_timeout(WAIT).expect("a first line on stderr");
    assert!(first.contains("following"), "{first}");

    // An event arrives in two writes: the half line is waited for, never malformed.
    let line = format!("{}\n{}\n", benign("1"), exec("2", "mallory"));
    let (head, tail) = line.split_at(line.len() - 40);
    append(&path, head);
    std::thread::sleep(Duration::from_millis(300));
    append(&path, tail);
    let a = alert(&stdout);
    assert_eq!(a["rule_id"], "K8S-AUDIT-exec");
    assert_eq!(a["evidence"][0]["auditID"], "2");
    assert_eq!(a["audit"]["user"], "mallory");

    // Rotation: the writer's last line still goes to the old file, then a new file.
    let rotated = dir.path().join("audit.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    append(&rotated, &format!("{}\n", exec("3", "eve")));
    append(&path, &format!("{}\nnot json at all\n", exec("4", "trudy")));
    let ids: Vec<Value> = (0..2)
        .map(|_| alert(&stdout)["evidence"][0]["auditID"].clone())
        .collect();
    assert_eq!(ids, ["3", "4"]);
    append(&path, &format!("{}\n", exec("5", "oscar")));
    assert_eq!(alert(&stdout)["audit"]["user"], "oscar");

    stop(&mut child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let err: Vec<String> = stderr.try_iter().collect();
    let err = err.join("\n");
    // Line numbers are the new file's own.
    assert!(err.contains("audit.log:2: not JSON"), "{err}");
    assert_eq!(err.matches("warning").count(), 1, "{err}");
    assert!(
        err.contains("5 events judged by") && err.contains("rules: 4 alerts"),
        "{err}"
    );
    assert!(stdout.try_iter().next().is_none());
}

#[test]
fn waits_for_a_log_that_does_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["audit", "tail", path.to_str().unwrap(), "--format", "table"])
        .args(["--poll-ms", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let first = stderr.recv_timeout(WAIT).unwrap();
    assert!(first.contains("waiting for"), "{first}");
    append(&path, &format!("{}\n", exec("1", "mallory")));
    let header = stdout.recv_timeout(WAIT).unwrap();
    assert!(header.starts_with("TIME"), "{header}");
    let row = stdout.recv_timeout(WAIT).unwrap();
    assert!(
        row.contains("K8S-AUDIT-exec") && row.contains("mallory"),
        "{row}"
    );
    stop(&mut child);
    assert!(child.wait().unwrap().success());
}
