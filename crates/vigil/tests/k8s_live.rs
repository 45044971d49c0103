//! `vigil k8s snapshot`, `rbac` and `connect` as users run them, against the in-process
//! API server of vigil-kube's tests.

#[path = "../../vigil-kube/tests/support/mod.rs"]
mod support;

use serde_json::Value;
use std::process::Command;
use support::{ApiServer, SERVED, Scenario};
use vigil_kube::Inventory;

fn vigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    // The test server is on loopback, which is never proxied; make the rest explicit.
    for v in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "KUBECONFIG",
    ] {
        c.env_remove(v);
    }
    c
}

#[test]
fn snapshot_writes_a_file_scan_can_read_and_warns_about_gaps() {
    let server = ApiServer::start(Scenario {
        forbidden: vec!["/api/v1/secrets"],
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-test");
    let snap = dir.path().join("snap.json");
    let out = vigil()
        .args(["k8s", "snapshot", "--page-size", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "snapshot of kind-test ({}, v1.27.3): 9 objects (2 Namespace, 3 Pod, 1 Deployment, 1 ReplicaSet, 2 ConfigMap)",
            server.url()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: not read: secrets: forbidden: needs \"list\" on \"secrets\" (core) cluster-wide: secrets is forbidden: User"),
        "{stderr}"
    );
    assert!(
        stderr.contains("snapshot is PARTIAL: 1 of 21 resources"),
        "{stderr}"
    );

    let inv = Inventory::read_snapshot(&snap).unwrap();
    assert_eq!(inv.cluster.name, "kind-test");
    assert_eq!(inv.cluster.version.as_ref().unwrap().git_version, "v1.27.3");
    assert!(inv.taken_at.is_some());
    assert!(inv.is_partial());
    assert_eq!(inv.partial[0].resource, "secrets");
    // The ReplicaSet of the Deployment and its pod are judged through the Deployment and
    // not decoded; the two pods without a controller are.
    assert_eq!(inv.of_kind("Pod").count(), 2);
    assert_eq!(inv.controlled, 2);
    assert_eq!(inv.of_kind("Secret").count(), 0);
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(!text.contains("s3cr3t") && !text.contains("managedFields"));
}

#[test]
fn snapshot_of_a_broken_server_fails_with_exit_2_naming_it() {
    let server = ApiServer::start(Scenario {
        broken: vec!["/api/v1/nodes"],
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "c");
    let snap = dir.path().join("snap.json");
    let out = vigil()
        .args(["k8s", "snapshot", "--page-size", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("-o")
        .arg(&snap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}: listing nodes: HTTP 500", server.url())),
        "{stderr}"
    );
    assert!(!snap.exists());
}

fn yaml_docs(stdout: &[u8]) -> Vec<Value> {
    serde_saphyr::from_multiple(std::str::from_utf8(stdout).unwrap()).unwrap()
}

#[test]
fn rbac_prints_a_cluster_role_covering_every_listed_resource() {
    let out = vigil()
        .args([
            "k8s",
            "rbac",
            "--namespace",
            "sec",
            "--service-account",
            "scanner",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let docs = yaml_docs(&out.stdout);
    assert_eq!(docs.len(), 2);
    let role = &docs[0];
    assert_eq!(role["kind"], "ClusterRole");
    assert_eq!(role["metadata"]["name"], "vigil-reader");
    let rules = role["rules"].as_array().unwrap();
    // Every collection the lister requests (as the test server knows them) is granted.
    for (path, _) in SERVED {
        let (group, plural) = match path.strip_prefix("/apis/") {
            Some(rest) => {
                let parts: Vec<&str> = rest.split('/').collect();
                (parts[0], parts[2])
            }
            None => ("", path.rsplit('/').next().unwrap()),
        };
        let verbs = rules
            .iter()
            .find(|r| {
                r["apiGroups"][0] == group
                    && r["resources"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p == plural)
            })
            .unwrap_or_else(|| panic!("{path} not granted"))["verbs"]
            .clone();
        let want = if plural == "secrets" {
            serde_json::json!(["list"])
        } else {
            serde_json::json!(["get", "list"])
        };
        assert_eq!(verbs, want, "{path}");
    }
    assert!(
        rules
            .iter()
            .any(|r| r["nonResourceURLs"] == serde_json::json!(["/version"]))
    );
    let binding = &docs[1];
    assert_eq!(binding["kind"], "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], "vigil-reader");
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{"kind": "ServiceAccount", "name": "scanner", "namespace": "sec"}])
    );
}

#[test]
fn connect_prints_without_apply_and_applies_with_field_manager_vigil() {
    let server = ApiServer::start(Scenario::default());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-test");

    let out = vigil()
        .args(["k8s", "connect", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert!(out.status.success());
    let kinds: Vec<String> = yaml_docs(&out.stdout)
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding"
        ]
    );
    assert!(
        server.requests().is_empty(),
        "printed, but also talked to the server"
    );

    let out = vigil()
        .args(["k8s", "connect", "--apply", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("applied ClusterRoleBinding vigil-reader on kind-test"),
        "{stderr}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.method, "PATCH", "{}", r.path);
        assert_eq!(r.param("fieldManager"), Some("vigil"));
        assert_eq!(r.content_type, "application/apply-patch+yaml");
    }
    assert_eq!(requests[0].path, "/api/v1/namespaces/vigil");
    let role: Value = serde_json::from_str(&requests[2].body).unwrap();
    assert_eq!(role["kind"], "ClusterRole");
    assert_eq!(role["metadata"]["name"], "vigil-reader");
}

#[test]
fn scan_reads_the_live_cluster_and_marks_the_report_partial() {
    let server = ApiServer::start(Scenario {
        forbidden: vec!["/api/v1/secrets"],
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-test");
    let out = vigil()
        .args([
            "k8s",
            "scan",
            "--format",
            "json",
            "--page-size",
            "2",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: vigil_core::PostureReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.target.source, "cluster");
    assert_eq!(report.target.name, "kind-test");
    assert_eq!(report.target.server_version.as_deref(), Some("v1.27.3"));
    assert!(!report.complete());
    assert!(
        report.partial[0].starts_with("secrets: forbidden"),
        "{:?}",
        report.partial
    );
    assert!(stderr.contains("the scan is partial"), "{stderr}");
    let fired: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {}", f.check_id, f.resource.display_name()))
        .collect();
    // The privileged Deployment is reported once, on the Deployment, with its cluster.
    assert!(
        fired.contains(&"PSS-baseline-privileged Deployment default/web".to_string()),
        "{fired:#?}"
    );
    assert_eq!(
        fired
            .iter()
            .filter(|f| f.starts_with("PSS-baseline-privileged "))
            .count(),
        1,
        "{fired:#?}"
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.check_id == "PSS-baseline-privileged")
        .unwrap();
    assert_eq!(f.resource.cluster, "kind-test");
    assert!(!f.resource.uid.is_empty());
}
