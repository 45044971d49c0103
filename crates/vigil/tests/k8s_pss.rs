//! `vigil k8s pss` on manifests written here, as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn pss(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["k8s", "pss"])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

const PRIVILEGED_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: sidecar
        image: busybox
      - name: app
        image: nginx
        securityContext:
          privileged: true
      volumes:
      - name: root
        hostPath: {path: /}
"#;

const RESTRICTED_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: hardened
  namespace: prod
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
  volumes:
  - name: tmp
    emptyDir: {}
"#;

const CRONJOB: &str = r#"
apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          hostNetwork: true
          containers:
          - name: backup
            image: backup:1
"#;

#[test]
fn baseline_flags_the_privileged_deployment_and_allows_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let deploy = write(dir.path(), "deploy.yaml", PRIVILEGED_DEPLOYMENT);
    let pod = write(dir.path(), "pod.yaml", RESTRICTED_POD);
    let out = pss(&["baseline", "-f", &deploy, "-f", &pod]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out),
        "Deployment prod/web: violates PodSecurity \"baseline:latest\": hostPath volumes (volume \"root\"), privileged (container \"app\" must not set securityContext.privileged=true)\n\
         Pod prod/hardened: allowed\n"
    );
}

#[test]
fn restricted_allows_only_the_hardened_pod() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-pod.yaml", RESTRICTED_POD);
    write(dir.path(), "b-cron.yml", CRONJOB);
    let out = pss(&["restricted", "-f", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Pod prod/hardened: allowed");
    assert_eq!(
        lines[1],
        "CronJob default/backup: violates PodSecurity \"restricted:latest\": host namespaces (hostNetwork), \
         allowPrivilegeEscalation != false (container \"backup\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"backup\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"backup\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"backup\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
    // Only the pod alone: everything allowed, exit 0.
    let pod = dir.path().join("a-pod.yaml");
    let out = pss(&[
        "restricted",
        "--version",
        "v1.30",
        "-f",
        &pod.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "Pod prod/hardened: allowed\n");
}

#[test]
fn kubectl_list_json_with_findings() {
    let dir = tempfile::tempdir().unwrap();
    let list = serde_json::json!({
    "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
    "items": [
        {"apiVersion": "apps/v1", "kind": "DaemonSet",
         "metadata": {"name": "agent", "namespace": "kube-system", "uid": "u-1"},
         "spec": {"template": {"spec": {"hostPID": true, "containers": [
            {"name": "agent", "image": "a", "ports": [{"containerPort": 9100, "hostPort": 9100}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "kube-system"}}
    ]});
    let path = write(dir.path(), "list.json", &list.to_string());
    let out = pss(&["baseline", "-f", &path, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["policy"], "baseline:latest");
    assert_eq!(report["skipped"], 1);
    let obj = &report["objects"][0];
    assert_eq!(obj["allowed"], false);
    assert_eq!(obj["source"]["item"], 1);
    assert_eq!(obj["resource"]["uid"], "u-1");
    let findings = report["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f["check_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["PSS-baseline-host-namespaces", "PSS-baseline-host-ports"]
    );
    let ports = &findings[1];
    assert_eq!(
        ports["evidence"][0]["path"],
        "spec.template.spec.containers[0].ports[0].hostPort"
    );
    assert_eq!(ports["evidence"][0]["value"], "9100");
    assert_eq!(ports["id"].as_str().unwrap().len(), 32);
    assert!(
        ports["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "CIS-5.2.13")
    );
}

#[test]
fn helm_template_output_on_stdin() {
    let helm = format!(
        "---\n# Source: web/templates/serviceaccount.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n---\n# Source: web/templates/deployment.yaml\n{}---\n# Source: web/templates/pod.yaml\n{}",
        PRIVILEGED_DEPLOYMENT.trim_start(),
        RESTRICTED_POD.trim_start()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["k8s", "pss", "restricted", "-f", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(helm.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let objs = report["objects"].as_array().unwrap();
    assert_eq!(objs.len(), 2);
    assert_eq!(
        objs[0]["source"]["helm_source"],
        "web/templates/deployment.yaml"
    );
    assert_eq!(objs[0]["source"]["document"], 3);
    let verdict = objs[0]["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with(
            "violates PodSecurity \"restricted:latest\": privileged (container \"app\""
        ),
        "{verdict}"
    );
    assert!(
        verdict.contains(
            "restricted volume types (volume \"root\" uses restricted volume type \"hostPath\")"
        ),
        "{verdict}"
    );
    assert!(
        !verdict.contains("hostPath volumes"),
        "overridden in restricted: {verdict}"
    );
    assert_eq!(objs[1]["allowed"], true);
    assert_eq!(objs[1]["source"]["helm_source"], "web/templates/pod.yaml");
}

#[test]
fn bad_input_is_an_error_naming_file_and_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: []}\n---\nkind: Pod\nspec: [\n",
    );
    let out = pss(&["baseline", "-f", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml: document 2 (line 6)"), "{err}");
    let out = pss(&["baseline", "--version", "v2.1", "-f", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid policy version"));
}
