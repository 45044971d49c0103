//! `vigil admission` as the API server and policy authors meet it: the webhook as a child
//! process over HTTPS (certificates made here) judging AdmissionReviews shaped like the
//! API server's — create, update with oldObject, delete, a connect to a subresource —
//! with Gatekeeper templates written here, the Pod Security Standards, and the image
//! gate fed by a real `vigil image` scan of the demo image; then the refusals, metrics,
//! a reload, and `vigil admission test`, `audit` and `manifests`.

mod common;
#[path = "../../vigil-kube/tests/support/mod.rs"]
mod support;

use common::{WAIT, certs, https_client, lines, listening_url, terminate};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Required labels, from `parameters.labels`.
const REQUIRED_LABELS: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredLabels
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredlabels

        violation[{"msg": msg, "details": {"missing": missing}}] {
          provided := {l | input.review.object.metadata.labels[l]}
          missing := {l | l := input.parameters.labels[_]} - provided
          count(missing) > 0
          msg := sprintf("missing labels: %v", [missing])
        }
"#;

/// An UPDATE may not change the `owner` label; a DELETE of a `protected` object is
/// refused; `kubectl exec` into a pod is refused (CONNECT pods/exec).
const GUARDS: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sguards
spec:
  crd:
    spec:
      names:
        kind: K8sGuards
  targets:
    - target: admission.k8s.gatekeeper.sh
      libs:
        - |
          package lib.labels
          label(obj, key) = v { v := obj.metadata.labels[key] }
          label(obj, key) = "" { not obj.metadata.labels[key] }
      rego: |
        package k8sguards
        import data.lib.labels.label

        violation[{"msg": msg}] {
          input.review.operation == "UPDATE"
          old := label(input.review.oldObject, "owner")
          new := label(input.review.object, "owner")
          old != new
          msg := sprintf("the owner label may not change (%v -> %v)", [old, new])
        }

        violation[{"msg": msg}] {
          input.review.operation == "DELETE"
          label(input.review.object, "protected") == "true"
          msg := sprintf("%v %v is protected", [input.review.kind.kind, input.review.name])
        }

        violation[{"msg": "exec into pods is not allowed"}] {
          input.review.operation == "CONNECT"
          input.review.subResource == "exec"
        }
"#;

fn constraint(kind: &str, name: &str, spec: Value) -> String {
    serde_json::to_string(&json!({
        "apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind,
        "metadata": {"name": name}, "spec": spec,
    }))
    .unwrap()
}

fn review(uid: &str, op: &str, kind: (&str, &str), ns: &str, name: &str, extra: Value) -> Value {
    let (group, k) = kind;
    let mut request = json!({
        "uid": uid,
        "kind": {"group": group, "version": "v1", "kind": k},
        "resource": {"group": group, "version": "v1", "resource": format!("{}s", k.to_lowercase())},
        "requestKind": {"group": group, "version": "v1", "kind": k},
        "name": name, "namespace": ns, "operation": op,
        "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
        "object": null, "oldObject": null, "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": format!("{}Options", op.to_lowercase())},
    });
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

fn pod(name: &str, labels: Value, image: &str, privileged: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": labels},
           "spec": {"containers": [{"name": "app", "image": image,
                     "securityContext": {"privileged": privileged}}]}})
}

struct Webhook {
    child: Child,
    url: String,
    stderr: Receiver<String>,
    client: reqwest::blocking::Client,
}

impl Webhook {
    fn start(args: &[&str], ca: &Path) -> Webhook {
        let mut child = vigil()
            .args([
                "admission",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--reload-interval",
                "1s",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = lines(child.stderr.take().unwrap());
        let url = listening_url(&stderr);
        let client = https_client(ca);
        Webhook {
            child,
            url,
            stderr,
            client,
        }
    }

    fn post_raw(&self, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}validate", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
        )
    }

    /// The `response` of an AdmissionReview, checked for the echoed uid.
    fn judge(&self, review: &Value) -> Value {
        let (status, body) = self.post_raw(serde_json::to_vec(review).unwrap());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        assert_eq!(
            body["response"]["uid"], review["request"]["uid"],
            "uid echoed"
        );
        body["response"].clone()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn stop(mut self) -> String {
        let status = terminate(&mut self.child);
        assert!(status.success(), "{status}");
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }
}

/// A scan of the demo image (built by `vigil demo`) with a database holding one HIGH
/// issue in openssl: `(report path, manifest digest)`.
fn scanned_demo_image(dir: &Path) -> (std::path::PathBuf, String) {
    let layout = dir.join("layout");
    run(vigil().args(["demo", "--keep"]).arg(&layout));
    let tracker = dir.join("tracker.json");
    std::fs::write(
        &tracker,
        r#"{"openssl": {"CVE-2099-0001": {"description": "test: fixed in a later openssl",
            "releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.99-1~deb12u1", "urgency": "high"}}}}}"#,
    )
    .unwrap();
    let db = dir.join("db.sqlite");
    run(vigil()
        .args(["db", "--db"])
        .arg(&db)
        .arg("import")
        .arg(&tracker));
    let report = dir.join("demo.json");
    run(vigil()
        .args([
            "image",
            &format!("oci:{}:demo", layout.display()),
            "--format",
            "json",
            "--db",
        ])
        .arg(&db)
        .arg("--output")
        .arg(&report));
    let parsed: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let digest = parsed["inventory"]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_string();
    (report, digest)
}

#[test]
fn the_webhook_judges_reviews_like_the_api_server_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(policies.join("labels.yaml"), REQUIRED_LABELS).unwrap();
    std::fs::write(policies.join("guards.yaml"), GUARDS).unwrap();
    let owner = constraint(
        "K8sRequiredLabels",
        "pods-need-owner",
        json!({"match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}], "excludedNamespaces": ["kube-*"]},
               "parameters": {"labels": ["owner"]}}),
    );
    std::fs::write(policies.join("owner.json"), &owner).unwrap();
    std::fs::write(
        policies.join("team.json"),
        constraint(
            "K8sRequiredLabels",
            "pods-should-have-team",
            json!({
            "enforcementAction": "warn",
            "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]},
            "parameters": {"labels": ["team"]}}),
        ),
    )
    .unwrap();
    std::fs::write(
        policies.join("cost.json"),
        constraint(
            "K8sRequiredLabels",
            "pods-cost-center-trial",
            json!({
            "enforcementAction": "dryrun",
            "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]},
            "parameters": {"labels": ["cost-center"]}}),
        ),
    )
    .unwrap();
    std::fs::write(
        policies.join("guards.json"),
        constraint("K8sGuards", "guards", json!({})),
    )
    .unwrap();
    let (report, digest) = scanned_demo_image(dir.path());
    let webhook = Webhook::start(
        &[
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
            "--policy",
            policies.to_str().unwrap(),
            "--pod-security",
            "baseline",
            "--image-results",
            report.to_str().unwrap(),
            "--image-severity",
            "high",
            "--unscanned",
            "warn",
            // Small, so the oversized body below still fits the socket buffers and the
            // client reads the 413 rather than a reset.
            "--max-body",
            "16K",
        ],
        &certs.ca,
    );
    let labels = json!({"owner": "alice", "team": "web", "cost-center": "42"});

    // CREATE: an allowed pod, then one missing its owner (deny) and team (warn) and
    // cost-center (dryrun: only the audit annotation says so).
    let ok = webhook.judge(&review(
        "u1",
        "CREATE",
        ("", "Pod"),
        "shop",
        "ok",
        json!({"object": pod("ok", labels.clone(), "nginx:1.25", false)}),
    ));
    assert_eq!(ok["allowed"], true, "{ok}");
    let nolabels = webhook.judge(&review(
        "u2",
        "CREATE",
        ("", "Pod"),
        "shop",
        "bare",
        json!({"object": pod("bare", json!({}), "nginx:1.25", false)}),
    ));
    assert_eq!(nolabels["allowed"], false, "{nolabels}");
    assert_eq!(nolabels["status"]["code"], 403);
    assert_eq!(
        nolabels["status"]["message"],
        "[pods-need-owner] missing labels: {\"owner\"}"
    );
    // Warnings in policy order: the warn constraint, then the image gate (--unscanned warn).
    assert_eq!(
        nolabels["warnings"],
        json!([
            "[pods-should-have-team] missing labels: {\"team\"}",
            "[image-vulnerabilities] image \"nginx:1.25\" has not been scanned"
        ])
    );
    let annotation: Value =
        serde_json::from_str(nolabels["auditAnnotations"]["violations"].as_str().unwrap()).unwrap();
    assert!(
        annotation
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["policy"] == "pods-cost-center-trial" && v["action"] == "dryrun"),
        "{annotation}"
    );
    // Excluded namespace: the owner constraint does not apply there.
    let system = webhook.judge(&review("u3", "CREATE", ("", "Pod"), "kube-system", "sys",
        json!({"object": pod("sys", json!({"team": "t", "cost-center": "1"}), "nginx:1.25", false)})));
    assert_eq!(system["allowed"], true, "{system}");

    // Pod Security baseline: a privileged container is refused with upstream's wording.
    let privileged = webhook.judge(&review(
        "u4",
        "CREATE",
        ("", "Pod"),
        "shop",
        "priv",
        json!({"object": pod("priv", labels.clone(), "nginx:1.25", true)}),
    ));
    assert_eq!(privileged["allowed"], false);
    let message = privileged["status"]["message"].as_str().unwrap();
    assert!(message.contains("[pod-security-baseline] violates PodSecurity \"baseline:latest\": privileged (container \"app\" must not set securityContext.privileged=true)"), "{message}");

    // UPDATE with oldObject: changing the owner label is refused, keeping it is not.
    let old = pod("web", labels.clone(), "nginx:1.25", false);
    let mut new = old.clone();
    new["metadata"]["labels"]["owner"] = json!("mallory");
    let changed = webhook.judge(&review(
        "u5",
        "UPDATE",
        ("", "Pod"),
        "shop",
        "web",
        json!({"object": new, "oldObject": old.clone()}),
    ));
    assert_eq!(changed["allowed"], false);
    assert!(
        changed["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[guards] the owner label may not change (alice -> mallory)"),
        "{changed}"
    );
    let same = webhook.judge(&review(
        "u6",
        "UPDATE",
        ("", "Pod"),
        "shop",
        "web",
        json!({"object": old.clone(), "oldObject": old}),
    ));
    assert_eq!(same["allowed"], true, "{same}");

    // DELETE: object is null and oldObject holds the namespace being deleted.
    let protected = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"protected": "true"}}});
    let delete = webhook.judge(&review(
        "u7",
        "DELETE",
        ("", "Namespace"),
        "",
        "prod",
        json!({"oldObject": protected}),
    ));
    assert_eq!(delete["allowed"], false);
    assert!(
        delete["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[guards] Namespace prod is protected"),
        "{delete}"
    );

    // CONNECT pods/exec: the object is the PodExecOptions.
    let exec = webhook.judge(&review("u8", "CONNECT", ("", "PodExecOptions"), "shop", "web",
        json!({"subResource": "exec", "resource": {"group": "", "version": "v1", "resource": "pods"},
               "object": {"kind": "PodExecOptions", "apiVersion": "v1", "stdin": true, "tty": true, "container": "app", "command": ["sh"]}})));
    assert_eq!(exec["allowed"], false);
    assert!(
        exec["status"]["message"]
            .as_str()
            .unwrap()
            .contains("exec into pods is not allowed")
    );

    // The image gate: the scanned demo image by digest has a HIGH finding; an image
    // nobody scanned is let through with a warning.
    let image = format!("127.0.0.1:5000/vigil-demo@{digest}");
    let vulnerable = webhook.judge(&review(
        "u9",
        "CREATE",
        ("", "Pod"),
        "shop",
        "vuln",
        json!({"object": pod("vuln", labels.clone(), &image, false)}),
    ));
    assert_eq!(vulnerable["allowed"], false);
    let message = vulnerable["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("[image-vulnerabilities]")
            && message.contains("CVE-2099-0001")
            && message.contains("HIGH"),
        "{message}"
    );
    let unscanned = webhook.judge(&review(
        "u10",
        "CREATE",
        ("", "Pod"),
        "shop",
        "new",
        json!({"object": pod("new", labels.clone(), "registry.example/never-scanned:1", false)}),
    ));
    assert_eq!(unscanned["allowed"], true);
    assert!(
        unscanned["warnings"][0]
            .as_str()
            .unwrap()
            .contains("has not been scanned"),
        "{unscanned}"
    );

    // v1beta1 reviews are answered in v1beta1.
    let mut beta = review(
        "u11",
        "CREATE",
        ("", "Pod"),
        "shop",
        "ok",
        json!({"object": pod("ok", labels.clone(), "nginx:1.25", false)}),
    );
    beta["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = webhook.post_raw(serde_json::to_vec(&beta).unwrap());
    assert_eq!(
        (status, body["apiVersion"].as_str()),
        (200, Some("admission.k8s.io/v1beta1"))
    );

    // Refusals: malformed reviews get 400 with the reason, oversized bodies 413.
    let (status, body) = webhook.post_raw(b"{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {\"uid\": 7}}".to_vec());
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("request.uid is not a string"),
        "{body}"
    );
    let (status, _) = webhook.post_raw(b"not json".to_vec());
    assert_eq!(status, 400);
    let (status, body) = webhook.post_raw(vec![b' '; 40 << 10]);
    assert_eq!(status, 413, "{body}");

    // Health, readiness and metrics.
    assert_eq!(webhook.get("healthz").0, 200);
    assert_eq!(webhook.get("readyz").0, 200);
    let (status, metrics) = webhook.get("metrics");
    assert_eq!(status, 200);
    for needle in [
        r#"vigil_admission_requests_total{operation="CREATE",kind="Pod",decision="denied"} 3"#,
        r#"vigil_admission_violations_total{policy="pods-need-owner",action="deny"} 1"#,
        r#"vigil_admission_violations_total{policy="pods-cost-center-trial",action="dryrun"} 1"#,
        r#"vigil_admission_requests_total{operation="",kind="",decision="rejected"} 3"#,
        "vigil_admission_request_duration_seconds_count",
        "vigil_admission_policies 6",
    ] {
        assert!(metrics.contains(needle), "{needle} not in\n{metrics}");
    }

    // Reload: the owner constraint turns to warn; the same pod is now let through.
    std::fs::write(
        policies.join("owner.json"),
        owner.replace("\"spec\":{", "\"spec\":{\"enforcementAction\":\"warn\","),
    )
    .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let r = webhook.judge(&review("u12", "CREATE", ("", "Pod"), "shop", "bare",
            json!({"object": pod("bare", json!({"team": "t", "cost-center": "1"}), "nginx:1.25", false)})));
        if r["allowed"] == true {
            assert!(
                r["warnings"][0]
                    .as_str()
                    .unwrap()
                    .contains("[pods-need-owner]"),
                "{r}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the changed policy was never loaded"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A template broken on disk is reported; the rest stay in force.
    std::fs::write(
        policies.join("guards.yaml"),
        GUARDS.replace("old != new", "old != != new"),
    )
    .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, metrics) = webhook.get("metrics");
        if metrics.contains("vigil_admission_policy_load_errors 2") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broken template was not reported:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let still = webhook.judge(&review(
        "u13",
        "CREATE",
        ("", "Pod"),
        "shop",
        "priv",
        json!({"object": pod("priv", labels, "nginx:1.25", true)}),
    ));
    assert_eq!(still["allowed"], false, "the other policies stay in force");
    let stderr = webhook.stop();
    assert!(stderr.contains("ConstraintTemplate k8sguards"), "{stderr}");
}

#[test]
fn admission_test_exits_by_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.yaml");
    std::fs::write(&template, REQUIRED_LABELS).unwrap();
    let constraint_file = dir.path().join("constraint.yaml");
    std::fs::write(
        &constraint_file,
        constraint(
            "K8sRequiredLabels",
            "need-owner",
            json!({"parameters": {"labels": ["owner"]}}),
        ),
    )
    .unwrap();
    let allowed = dir.path().join("allowed.json");
    std::fs::write(
        &allowed,
        pod("a", json!({"owner": "x"}), "nginx", false).to_string(),
    )
    .unwrap();
    let denied = dir.path().join("denied.json");
    std::fs::write(&denied, pod("d", json!({}), "nginx", false).to_string()).unwrap();
    let test = |object: &Path| {
        vigil()
            .args(["admission", "test"])
            .args([&template, &constraint_file, &object.to_path_buf()])
            .output()
            .unwrap()
    };
    let out = test(&allowed);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Pod a: allowed\n");
    let out = test(&denied);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Pod d: denied\n  [need-owner] missing labels: {\"owner\"}\n"
    );
    // A template that does not compile: exit 2, with the template, line and column.
    std::fs::write(
        &template,
        REQUIRED_LABELS.replace("count(missing) > 0", "count(missing) >"),
    )
    .unwrap();
    let out = test(&allowed);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ConstraintTemplate k8srequiredlabels") && err.contains("line 19, column 15"),
        "{err}"
    );
}

#[test]
fn audit_reports_existing_objects_with_the_cluster_as_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let unique_host = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8suniquehost
spec:
  crd:
    spec:
      names:
        kind: K8sUniqueHost
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniquehost
        violation[{"msg": msg}] {
          host := input.review.object.spec.rules[_].host
          other := data.inventory.namespace[ns][_]["Ingress"][name]
          not same(ns, name)
          other.spec.rules[_].host == host
          msg := sprintf("host %v is also used by %v/%v", [host, ns, name])
        }
        same(ns, name) {
          ns == input.review.object.metadata.namespace
          name == input.review.object.metadata.name
        }
"#;
    let policies = dir.path().join("policies.yaml");
    std::fs::write(
        &policies,
        format!(
            "{unique_host}---\n{}\n",
            constraint("K8sUniqueHost", "unique-hosts", json!({}))
        ),
    )
    .unwrap();
    let ingress = |ns: &str, name: &str, host: &str| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": name, "namespace": ns}, "spec": {"rules": [{"host": host}]}})
    };
    let manifests = dir.path().join("cluster.json");
    std::fs::write(
        &manifests,
        json!({"apiVersion": "v1", "kind": "List", "items": [
            ingress("a", "web", "shop.example"), ingress("b", "copy", "shop.example"),
            ingress("c", "own", "own.example"),
            pod("priv", json!({}), "nginx", true)]})
        .to_string(),
    )
    .unwrap();
    let out = vigil()
        .args([
            "admission",
            "audit",
            "--format",
            "json",
            "--exit-code",
            "4",
            "--pod-security",
            "baseline",
        ])
        .arg("--policy")
        .arg(&policies)
        .arg("-f")
        .arg(&manifests)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|f| {
            (
                f["policy"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("unique-hosts", "web"),
            ("unique-hosts", "copy"),
            ("pod-security-baseline", "priv")
        ],
        "{found:?}"
    );
    assert_eq!(
        found[0]["message"],
        "host shop.example is also used by b/copy"
    );
}

#[test]
fn manifests_install_a_webhook_that_skips_its_own_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("labels.yaml");
    std::fs::write(&template, REQUIRED_LABELS).unwrap();
    let out = run(vigil()
        .args([
            "admission",
            "manifests",
            "--namespace",
            "guard",
            "--failure-policy",
            "Fail",
            "--timeout-seconds",
            "5",
            "--policy",
        ])
        .arg(&template));
    let text = String::from_utf8_lossy(&out.stdout);
    let objects: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "Secret",
            "ConfigMap",
            "Deployment",
            "Service",
            "ValidatingWebhookConfiguration"
        ]
    );
    let webhook = &objects[6]["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["timeoutSeconds"], 5);
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(
        webhook["namespaceSelector"]["matchExpressions"][0]["values"],
        json!(["kube-system", "guard"])
    );
    // The caBundle is the CA that signed the Secret's serving certificate.
    assert_eq!(
        webhook["clientConfig"]["caBundle"],
        objects[2]["data"]["ca.crt"]
    );
    assert_eq!(objects[3]["data"]["labels.yaml"], REQUIRED_LABELS);
    let args = objects[4]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(args.iter().any(|a| a == "/etc/vigil/policies"));
    let cm = run(vigil().args(["admission", "manifests", "--cert-manager"]));
    let cm: Vec<Value> = serde_saphyr::from_multiple(&String::from_utf8_lossy(&cm.stdout)).unwrap();
    assert!(cm.iter().any(|o| o["kind"] == "Certificate"));
    let vwc = cm
        .iter()
        .find(|o| o["kind"] == "ValidatingWebhookConfiguration")
        .unwrap();
    assert_eq!(
        vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "vigil-system/vigil-admission"
    );

    // Reading the cluster's policies needs a token and read access to Gatekeeper's kinds.
    let out = run(vigil().args([
        "admission",
        "manifests",
        "--cluster-policies",
        "--sync-resource",
        "ingresses.networking.k8s.io",
    ]));
    let objects: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let of = |kind: &str| objects.iter().find(|o| o["kind"] == kind).unwrap();
    assert_eq!(of("ServiceAccount")["automountServiceAccountToken"], true);
    let rules = of("ClusterRole")["rules"].as_array().unwrap();
    for (group, resource) in [
        ("templates.gatekeeper.sh", "constrainttemplates"),
        ("constraints.gatekeeper.sh", "*"),
        ("", "namespaces"),
        ("networking.k8s.io", "ingresses"),
    ] {
        assert!(
            rules.iter().any(|r| r["apiGroups"] == json!([group])
                && r["resources"] == json!([resource])
                && r["verbs"] == json!(["get", "list"])),
            "{group}/{resource}: {rules:?}"
        );
    }
    let binding = of("ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["name"], "vigil-admission");
    let pod = &of("Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert!(
        pod["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--cluster-policies")
    );
}

/// `--cluster-policies`: the webhook enforces the ConstraintTemplates and Constraints a
/// cluster declares (here the in-process API server replaying Gatekeeper's objects), with
/// the cluster's namespaces for `namespaceSelector`, and follows them as they change:
/// a constraint switched to warn, then Gatekeeper's CRDs gone. Until the cluster has been
/// read the webhook is not ready.
#[test]
fn policies_from_a_watched_cluster() {
    use support::{
        ApiServer, GK_REQUIRED_LABELS, GK_REQUIRED_LABELS_PATH, GK_TEMPLATES_PATH, Scenario,
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path());
    let server = ApiServer::start(Scenario::default());
    // First the API answers garbage for the templates: the read fails.
    server.set_collection(GK_TEMPLATES_PATH, Some("not json"));
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-gk");
    let mut hook = Webhook::start(
        &[
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
            "--cluster-policies",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--page-size",
            "2",
            "--cluster-interval",
            "1s",
        ],
        &certs.ca,
    );
    assert_eq!(
        hook.get("readyz").0,
        503,
        "not ready before the cluster is read"
    );
    assert_eq!(hook.get("healthz").0, 200);

    server.serve_gatekeeper();
    let deadline = Instant::now() + WAIT;
    while hook.get("readyz").0 != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let unlabelled = |ns: &str| {
        let mut p = pod("web", json!({}), "nginx:1.27", false);
        p["metadata"]["namespace"] = ns.into();
        review(
            "u-1",
            "CREATE",
            ("", "Pod"),
            ns,
            "web",
            json!({"object": p}),
        )
    };
    let r = hook.judge(&unlabelled("default"));
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("[pods-need-team] you must provide labels: {\"team\"}"),
        "{message}"
    );
    // The constraint's namespaceSelector matches `default` by the labels the cluster's
    // Namespace objects carry; kube-system's do not match.
    let r = hook.judge(&unlabelled("kube-system"));
    assert_eq!(r["allowed"], true, "{r}");

    // The constraint becomes warn-only (a new resourceVersion): the next reads pick it up.
    let warn = GK_REQUIRED_LABELS
        .replace(
            "\"enforcementAction\": \"deny\"",
            "\"enforcementAction\": \"warn\"",
        )
        .replace(
            "\"resourceVersion\": \"51940\"",
            "\"resourceVersion\": \"53001\"",
        );
    assert_ne!(warn, GK_REQUIRED_LABELS);
    server.set_collection(GK_REQUIRED_LABELS_PATH, Some(&warn));
    let deadline = Instant::now() + WAIT;
    let r = loop {
        let r = hook.judge(&unlabelled("default"));
        if r["allowed"] == true {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "the warn constraint never took over"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        r["warnings"],
        json!(["[pods-need-team] you must provide labels: {\"team\"}"])
    );

    // Gatekeeper uninstalled: no template, nothing enforced.
    server.set_collection(GK_TEMPLATES_PATH, None);
    let deadline = Instant::now() + WAIT;
    while hook.judge(&unlabelled("default")).get("warnings").is_some() {
        assert!(Instant::now() < deadline, "the policies never went away");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = common::terminate(&mut hook.child);
    assert!(status.success());
    let log: Vec<String> = hook.stderr.try_iter().collect();
    let log = log.join("\n");
    // (The failed first read was logged before the listening line.)
    assert!(
        log.contains("Widget.example.com: synced by Gatekeeper"),
        "{log}"
    );
    assert!(log.contains("policies reloaded: 0 in force"), "{log}");
}

/// `audit --cluster-policies`: the live cluster's own constraints judge its existing
/// objects, as Gatekeeper's audit does.
#[test]
fn audit_with_the_cluster_s_own_constraints() {
    use support::{ApiServer, Scenario};
    let dir = tempfile::tempdir().unwrap();
    let server = ApiServer::start(Scenario::default());
    server.serve_gatekeeper();
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-gk");
    let out = vigil()
        .args([
            "admission",
            "audit",
            "--cluster-policies",
            "--format",
            "json",
        ])
        .args(["--page-size", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pods: Vec<(&str, &str)> = found
        .iter()
        .map(|f| {
            assert_eq!(f["policy"], "pods-need-team");
            assert_eq!(f["action"], "deny");
            (
                f["object"]["namespace"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    // kube-system's coredns is outside the constraint's namespaceSelector.
    assert_eq!(
        pods,
        [
            ("default", "web-7d4b9c8f6-abcde"),
            ("default", "web-7d4b9c8f6-fghij")
        ]
    );
    // Policies come from the cluster only when the cluster is the source.
    let refused = vigil()
        .args(["admission", "audit", "--cluster-policies", "-f"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}
