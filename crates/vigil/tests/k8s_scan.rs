//! `vigil k8s scan` and `vigil k8s checks` as a user runs them, on the manifests under
//! tests/fixtures/k8s/shop and on snapshots written here.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vigil_core::{
    DatabaseInfo, Ecosystem, Inventory, MatchedPackage, PostureReport, Severity, VulnMatch,
    VulnReport, VulnStatus,
};

const API_DIGEST: &str = "sha256:4b1ae0e2bc64f5b3c6bbd0e41bd3f4ab7fb5b22e1b4ce1e1b5a0b8b4d8f54f21";

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .output()
        .unwrap()
}

fn shop() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/k8s/shop")
        .to_string_lossy()
        .into_owned()
}

fn report(o: &Output) -> PostureReport {
    assert!(
        o.status.code().is_some_and(|c| c <= 3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn fired(r: &PostureReport) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| format!("{} {}", f.check_id, f.resource.display_name()))
        .collect()
}

/// A `vigil image --format json` result for the api image with one critical finding.
fn api_image_results(dir: &Path) -> PathBuf {
    let mut inv = Inventory::default();
    inv.target.kind = "registry".into();
    inv.target.reference = "registry.example/shop/api:2.4.1".into();
    inv.target.name = "registry.example/shop/api:2.4.1".into();
    inv.manifest_digest = Some(API_DIGEST.into());
    let report = VulnReport {
        schema_version: vigil_core::VULN_REPORT_SCHEMA_VERSION,
        inventory: inv,
        matches: vec![VulnMatch {
            package: MatchedPackage {
                ecosystem: Ecosystem::Deb,
                name: "openssl".into(),
                version: "3.0.11-1~deb12u1".into(),
                purl: "pkg:deb/debian/openssl@3.0.11-1~deb12u1".into(),
                source_name: None,
                locations: Vec::new(),
            },
            id: "CVE-2024-5535".into(),
            aliases: Vec::new(),
            title: "SSL_select_next_proto buffer overread".into(),
            severity: Severity::Critical,
            cvss: Vec::new(),
            fixed_versions: vec!["3.0.14-1~deb12u1".into()],
            status: VulnStatus::Fixed,
            sources: vec!["debian-tracker".into()],
            url: None,
            published: None,
        }],
        database: DatabaseInfo::default(),
    };
    let path = dir.join("api.json");
    std::fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();
    path
}

#[test]
fn manifests_findings_locations_and_attack_paths() {
    let dir = tempfile::tempdir().unwrap();
    let images = api_image_results(dir.path());
    let out = vigil(&[
        "k8s",
        "scan",
        "-f",
        &shop(),
        "--format",
        "json",
        "--images",
        images.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    let got = fired(&r);
    for want in [
        "K8S-rbac-cluster-admin ServiceAccount shop/deployer",
        "PSS-baseline-host-path-volumes Deployment shop/api",
        "K8S-ns-psa-refused Deployment shop/api",
        "K8S-exposure-external-service Service shop/api",
        "K8S-exposure-no-network-policy Namespace shop",
        "K8S-hygiene-secret-env Deployment shop/api",
        "K8S-hygiene-sa-token-mounted Deployment shop/api",
        "K8S-hygiene-no-limits Deployment shop/api",
    ] {
        assert!(
            got.contains(&want.to_string()),
            "{want} missing from {got:#?}"
        );
    }
    // The hardened workload passes everything; the pinned api image is not "no digest".
    assert!(got.iter().all(|f| !f.contains("catalog")), "{got:#?}");
    assert!(!got.contains(&"K8S-hygiene-no-digest Deployment shop/api".to_string()));
    // Most severe first.
    assert!(
        r.findings
            .windows(2)
            .all(|w| w[0].severity >= w[1].severity)
    );
    let host = r
        .findings
        .iter()
        .find(|f| f.check_id == "PSS-baseline-host-path-volumes")
        .unwrap();
    assert!(host.location.as_deref().unwrap().ends_with("api.yaml"));
    assert_eq!(
        host.evidence[0].path,
        "spec.template.spec.volumes[0].hostPath.path"
    );
    assert!(r.complete());

    let titles: Vec<(&str, f64)> = r
        .attack_paths
        .iter()
        .map(|p| (p.title.as_str(), p.risk))
        .collect();
    assert_eq!(
        titles,
        [
            (
                "Service shop/api exposes Deployment api → cluster takeover",
                10.0
            ),
            (
                "Service shop/api exposes Deployment api → node takeover",
                9.0
            ),
        ]
    );
    let top = &r.attack_paths[0];
    assert!(top.steps[1].description.contains("CVE-2024-5535"));
    assert_eq!(
        top.steps[2].resource.display_name(),
        "ServiceAccount shop/deployer"
    );

    // Without image results there is no foothold, so no path.
    let r = report(&vigil(&["k8s", "scan", "-f", &shop(), "--format", "json"]));
    assert!(r.attack_paths.is_empty());
}

#[test]
fn severity_filter_and_exit_code() {
    let out = vigil(&[
        "k8s",
        "scan",
        "-f",
        &shop(),
        "--format",
        "json",
        "--severity",
        "CRITICAL",
        "--exit-code",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let r = report(&out);
    assert!(!r.findings.is_empty());
    assert!(r.findings.iter().all(|f| f.severity == Severity::Critical));

    // Nothing left after filtering: exit 0 even with --exit-code.
    let hardened = format!("{}/hardened.yaml", shop());
    let out = vigil(&["k8s", "scan", "-f", &hardened, "--exit-code", "3"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("No findings."));
}

#[test]
fn table_and_sarif() {
    let out = vigil(&["k8s", "scan", "-f", &shop()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("manifests {}: ", shop())),
        "{text}"
    );
    assert!(text.contains("SEVERITY  CHECK"), "{text}");
    assert!(text.contains("K8S-rbac-cluster-admin"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let sarif_path = dir.path().join("out.sarif");
    let out = vigil(&[
        "k8s",
        "scan",
        "-f",
        &shop(),
        "--format",
        "sarif",
        "-o",
        sarif_path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let sarif: Value = serde_json::from_slice(&std::fs::read(&sarif_path).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let host = results
        .iter()
        .find(|r| r["ruleId"] == "PSS-baseline-host-path-volumes")
        .unwrap();
    let uri = host["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("shop/api.yaml"), "{uri}");
}

fn snapshot(dir: &Path, partial: Value, items: Value) -> String {
    let doc = json!({
        "apiVersion": "vigil.dev/v1",
        "kind": "ClusterSnapshot",
        "cluster": {"name": "prod", "server": "https://10.0.0.1:6443",
                    "version": {"major": "1", "minor": "31+", "gitVersion": "v1.31.2-eks-7f9249a"}},
        "takenAt": "2026-11-29T12:00:00Z",
        "partial": partial,
        "items": items,
    });
    let path = dir.join("snap.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn snapshot_scan_names_the_cluster_and_says_when_partial() {
    let dir = tempfile::tempdir().unwrap();
    let items = json!([
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "debug", "namespace": "ops", "uid": "u1"},
         "spec": {"hostPID": true, "containers": [{"name": "c", "image": "busybox"}]}},
    ]);
    let partial =
        json!([{"resource": "secrets", "reason": "forbidden: needs \"list\" on \"secrets\""}]);
    let snap = snapshot(dir.path(), partial, items);
    let out = vigil(&["k8s", "scan", "--snapshot", &snap, "--format", "json"]);
    let r = report(&out);
    assert_eq!(r.target.source, "snapshot");
    assert!(r.target.name.starts_with("prod ("), "{}", r.target.name);
    assert_eq!(
        r.target.server_version.as_deref(),
        Some("v1.31.2-eks-7f9249a")
    );
    assert!(!r.complete());
    assert!(r.partial[0].starts_with("secrets: forbidden"));
    let pod = r
        .findings
        .iter()
        .find(|f| f.check_id == "PSS-baseline-host-namespaces")
        .unwrap();
    assert_eq!(pod.resource.cluster, "prod");
    assert_eq!(pod.resource.uid, "u1");
    assert!(pod.location.is_none());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the scan is partial"));

    let out = vigil(&["k8s", "scan", "--snapshot", &snap]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("The scan is PARTIAL"));
}

#[test]
fn bad_input_is_a_clear_error() {
    // No source: the live cluster, and none is configured here.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["k8s", "scan"])
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config)"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\"kind\": \"PodList\"}").unwrap();
    let out = vigil(&["k8s", "scan", "--snapshot", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("not a Vigil cluster snapshot"),
        "{err}"
    );

    let out = vigil(&[
        "k8s",
        "scan",
        "-f",
        &shop(),
        "--images",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a `vigil image --format json` report")
    );
}

#[test]
fn checks_catalogue() {
    let out = vigil(&["k8s", "checks", "--format", "json"]);
    assert!(out.status.success());
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(all.len() > 40, "{}", all.len());
    let families: std::collections::BTreeSet<&str> =
        all.iter().filter_map(|c| c["family"].as_str()).collect();
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        ["exposure", "hygiene", "namespaces", "pod-security", "rbac"]
    );
    assert!(
        all.iter()
            .all(|c| !c["controls"].as_array().unwrap().is_empty())
    );
}

#[test]
fn diff_of_two_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let web = |privileged: bool| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"template": {"spec": {"containers": [
                   {"name": "c", "image": "nginx:1.27", "securityContext": {"privileged": privileged}}]}}}})
    };
    let old_dir = dir.path().join("old");
    let new_dir = dir.path().join("new");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::create_dir_all(&new_dir).unwrap();
    let old = snapshot(&old_dir, json!([]), json!([web(false)]));
    let new = snapshot(&new_dir, json!([]), json!([web(true)]));
    let out = vigil(&["k8s", "diff", &old, &new, "--exit-code", "4"]);
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Objects: 0 added, 0 removed, 1 changed. Findings: 1 new, 0 resolved."),
        "{text}"
    );
    assert!(
        text.contains("PSS-baseline-privileged  Deployment shop/web"),
        "{text}"
    );
    assert!(text.contains("~ Deployment shop/web"), "{text}");

    let out = vigil(&["k8s", "diff", &new, &old, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        d["resolved_findings"][0]["check_id"],
        "PSS-baseline-privileged"
    );
}
