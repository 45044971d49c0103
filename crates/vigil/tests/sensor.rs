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
