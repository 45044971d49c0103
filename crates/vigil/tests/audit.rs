//! `vigil audit scan` as a user runs it: a log written here (JSON lines, an EventList,
//! gzip), user rules that add and disable detections, malformed lines, time filters, and
//! the real AKS record when ../shared is present.

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .unwrap()
}

fn event(id: &str, time: &str, user: &str, verb: &str, resource: &str, sub: Option<&str>) -> Value {
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": id,
        "stage": "ResponseComplete", "requestURI": format!("/api/v1/namespaces/shop/{resource}/web-0"),
        "verb": verb, "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["198.51.100.4"], "userAgent": "kubectl/v1.31.2",
        "objectRef": {"resource": resource, "namespace": "shop", "name": "web-0", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200}, "stageTimestamp": time,
    });
    if let Some(s) = sub {
        e["objectRef"]["subresource"] = json!(s);
    }
    e
}

fn write_log(dir: &Path) -> std::path::PathBuf {
    let lines = [
        event("1", "2026-11-29T10:00:00Z", "system:node:n1", "get", "pods", None).to_string(),
        event("2", "2026-11-29T11:00:00Z", "mallory", "create", "pods", Some("exec")).to_string(),
        "{this is not json".to_string(),
        event("3", "2026-11-29T12:00:00Z", "mallory", "delete", "events", None).to_string(),
        json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
               "items": [event("4", "2026-11-29T13:00:00Z", "mallory", "get", "nodes", Some("proxy"))]})
        .to_string(),
    ];
    let path = dir.join("audit.log.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(lines.join("\n").as_bytes()).unwrap();
    gz.finish().unwrap();
    path
}

fn alerts(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn builtin_detections_on_a_gzip_log_with_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--format",
        "json",
        "--exit-code",
        "5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<(String, String)> = alerts(&out)
        .iter()
        .map(|a| {
            (
                a["rule_id"].as_str().unwrap().to_string(),
                a["audit"]["user"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("K8S-AUDIT-exec".to_string(), "mallory".to_string()),
            (
                "K8S-AUDIT-events-deleted".to_string(),
                "mallory".to_string()
            ),
            ("K8S-AUDIT-nodes-proxy".to_string(), "mallory".to_string()),
            // Two hours after mallory was first seen, nodes/proxy is new for mallory.
            (
                "K8S-AUDIT-first-seen-operation".to_string(),
                "mallory".to_string()
            ),
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audit.log.gz:3: not JSON"), "{stderr}");
    assert!(
        stderr.contains("4 events judged by 26 rules: 4 alerts"),
        "{stderr}"
    );
    let first = &alerts(&out)[0];
    assert_eq!(first["mitre_technique"], "T1609");
    assert_eq!(first["evidence"][0]["auditID"], "2");
    assert!(first["dedup_key"].as_str().unwrap().len() == 32);
}

#[test]
fn user_rules_add_and_disable_and_time_filters() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let rules = dir.path().join("mine.yaml");
    std::fs::write(
        &rules,
        r#"
- rule: Exec or Attach into Pod
  enabled: false
- rule: Node read by mallory
  desc: test
  condition: ka.user.name = mallory and ka.target.resource = nodes
  output: "%ka.user.name read node %ka.target.name"
  priority: ERROR
  source: k8s_audit
"#,
    )
    .unwrap();
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
        "--since",
        "2026-11-29T11:30:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = alerts(&out)
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "K8S-AUDIT-events-deleted",
            "K8S-AUDIT-nodes-proxy",
            "Node read by mallory"
        ]
    );
    let mine = alerts(&out).pop().unwrap();
    assert_eq!(mine["output"], "mallory read node web-0");
    assert_eq!(mine["severity"], "HIGH");

    // The table, most severe first.
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("TIME"), "{text}");
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("Node read by mallory"),
        "{text}"
    );
}

#[test]
fn bad_rules_and_bad_times_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let rules = dir.path().join("bad.yaml");
    std::fs::write(&rules, "- rule: R\n  desc: d\n  condition: ka.verb = get and\n  output: o\n  priority: INFO\n  source: k8s_audit\n").unwrap();
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:3:") && err.contains("rule R:"),
        "{err}"
    );
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--since",
        "yesterday",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an RFC 3339 time"));
}

#[test]
fn the_real_aks_record_is_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/audit/aks-diagnostic-kube-audit.jsonl");
    if !path.exists() {
        eprintln!(
            "skipped: {} is absent (the shared real data sets are not in a user's checkout)",
            path.display()
        );
        return;
    }
    let out = vigil(&["audit", "scan", path.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success());
    // A lease update by the AKS service: nothing to alert on, and nothing malformed.
    assert!(alerts(&out).is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 events judged"), "{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn threat_intelligence_files_feed_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let intel = dir.path().join("blocklist.txt");
    // The log's requests all come from 198.51.100.4.
    std::fs::write(
        &intel,
        "# scanners, 2026-11-29\n203.0.113.0/24\n198.51.100.0/28   # tor exit\n\n2001:db8::/32\n",
    )
    .unwrap();
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--threat-intel",
        intel.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: Vec<String> = alerts(&out)
        .iter()
        .filter(|a| a["rule_id"] == "K8S-AUDIT-threat-intel-source")
        .map(|a| a["evidence"][0]["auditID"].as_str().unwrap().to_string())
        .collect();
    // Every event, the node's own get included: the address is what counts.
    assert_eq!(hits, ["1", "2", "3", "4"]);
    // Without the file the list is empty and nothing fires.
    let out = vigil(&["audit", "scan", log.to_str().unwrap(), "--format", "json"]);
    assert!(
        !alerts(&out)
            .iter()
            .any(|a| a["rule_id"] == "K8S-AUDIT-threat-intel-source")
    );
    // A bad line is an error naming the file and the line.
    std::fs::write(&intel, "203.0.113.7\n203.0.113.0/24x\n").unwrap();
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--threat-intel",
        intel.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("blocklist.txt:2:") && err.contains("203.0.113.0/24x"),
        "{err}"
    );
}

#[test]
fn ocsf_detection_findings() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let findings_path = dir.path().join("findings.jsonl");
    let out = vigil(&[
        "audit",
        "scan",
        log.to_str().unwrap(),
        "--format",
        "ocsf",
        "--no-stateful",
        "-o",
        findings_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<Value> = std::fs::read_to_string(&findings_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 3);
    let exec = &findings[0];
    assert_eq!(exec["class_uid"], 2004);
    assert_eq!(exec["type_uid"], 200401);
    assert_eq!(exec["severity_id"], 2, "NOTICE is Low");
    assert_eq!(exec["time"], 1_795_950_000_000_i64);
    assert_eq!(exec["metadata"]["version"], "1.3.0");
    assert_eq!(
        exec["metadata"]["product"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let info = &exec["finding_info"];
    assert_eq!(info["analytic"]["uid"], "K8S-AUDIT-exec");
    assert_eq!(info["title"], "Exec or Attach into Pod");
    assert!(info["desc"].as_str().unwrap().contains("port-forwarded"));
    assert_eq!(
        info["attacks"][0]["tactic"],
        json!({"name": "Execution", "uid": "TA0002"})
    );
    assert_eq!(info["attacks"][0]["technique"]["uid"], "T1609");
    assert_eq!(info["uid"].as_str().unwrap().len(), 32);
    assert_eq!(
        exec["resources"],
        json!([{"name": "web-0", "namespace": "shop", "type": "pods/exec"}])
    );
    let ev = &exec["evidences"][0];
    assert_eq!(ev["actor"]["user"]["name"], "mallory");
    assert_eq!(ev["src_endpoint"]["ip"], "198.51.100.4");
    assert_eq!(ev["api"]["operation"], "create");
    assert_eq!(ev["data"]["auditID"], "2");
    assert!(
        exec["remediation"]["desc"]
            .as_str()
            .unwrap()
            .contains("pods/exec")
    );
}

#[test]
fn stateful_detections_first_seen_and_bursts() {
    let dir = tempfile::tempdir().unwrap();
    let t = |s: u32| {
        format!(
            "2026-11-29T{:02}:{:02}:{:02}Z",
            10 + s / 3600,
            s / 60 % 60,
            s % 60
        )
    };
    let mut lines = vec![event("a", &t(0), "ci-bot", "create", "deployments", None)];
    // Half an hour later, still learning: nothing. Two hours later: new.
    lines.push(event("b", &t(1800), "ci-bot", "patch", "deployments", None));
    lines.push(event("c", &t(7200), "ci-bot", "delete", "secrets", None));
    // 60 secret reads in 30 seconds by one identity.
    for i in 0..60 {
        lines.push(event(
            &format!("r{i}"),
            &t(8000 + i / 2),
            "scanner",
            "get",
            "secrets",
            None,
        ));
    }
    let path = dir.path().join("audit.log");
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let ids = |extra: &[&str]| {
        let mut args = vec!["audit", "scan", path.to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = vigil(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        alerts(&out)
            .iter()
            .filter(|a| {
                a["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == "stateful")
            })
            .map(|a| {
                format!(
                    "{} {}",
                    a["rule_id"].as_str().unwrap(),
                    a["audit"]["user"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&[]),
        [
            "K8S-AUDIT-first-seen-operation ci-bot",
            "K8S-AUDIT-enumeration-burst scanner"
        ]
    );
    assert!(ids(&["--no-stateful"]).is_empty());
    // A longer learning period makes the delete part of the baseline; a higher threshold
    // is not reached.
    assert!(ids(&["--learn-for", "86400", "--burst-count", "100"]).is_empty());
    let bad = vigil(&[
        "audit",
        "scan",
        path.to_str().unwrap(),
        "--burst-count",
        "1",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--burst-count must be at least 2"));
}
