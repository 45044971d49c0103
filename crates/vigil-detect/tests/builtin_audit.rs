//! Every built-in control-plane detection fires on an attack-shaped audit event and stays
//! quiet on a benign near miss, both built from the shapes the API server logs.

use serde_json::{Value, json};
use std::path::Path;
use vigil_detect::audit::AuditEvent;
use vigil_detect::engine::Engine;
use vigil_detect::rules::RuleSet;

/// The built-ins, with a threat-intelligence list as `--threat-intel` would fill it.
fn engine() -> Engine {
    let mut set = RuleSet::default();
    set.load(
        vigil_detect::BUILTIN_AUDIT_RULES,
        Path::new("k8s_audit.yaml"),
    )
    .unwrap();
    set.extend_list(
        "threat_intel_ips",
        ["192.0.2.0/26".to_string(), "2001:db8:bad::7".to_string()],
    );
    Engine::audit(&set).unwrap()
}

/// A ResponseComplete event by `user` (`verb` on `resource`), merged with `extra`.
fn event(user: &str, verb: &str, resource: &str, extra: Value) -> Value {
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": "0b7e5f44-1f0e-4a43-9a57-1c2f3a4b5c6d", "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/shop/{resource}"), "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.9"], "userAgent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        "objectRef": {"resource": resource, "namespace": "shop", "name": "x", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
        "stageTimestamp": "2026-11-29T12:00:00Z"
    });
    merge(&mut e, extra);
    e
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(&k);
                } else {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (a, b) => *a = b,
    }
}

fn pod(spec: Value) -> Value {
    json!({"requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x", "namespace": "shop"}, "spec": spec},
           "responseObject": {"metadata": {"name": "x"}}})
}

/// Every alert the engine raises on `e`.
fn alerts_of(engine: &Engine, e: Value) -> Vec<vigil_core::Alert> {
    let mut out = Vec::new();
    let text = e.to_string();
    engine.evaluate(&AuditEvent::parse(&text).unwrap(), &mut out);
    out
}

fn fired(engine: &Engine, e: Value) -> Vec<String> {
    alerts_of(engine, e)
        .into_iter()
        .map(|a| a.rule_id)
        .collect()
}

#[test]
fn every_builtin_has_a_true_positive_and_a_near_miss() {
    let engine = engine();
    let plain = json!({"containers": [{"name": "c", "image": "nginx:1.27"}]});
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "K8S-AUDIT-privileged-pod",
            event(
                "alice",
                "create",
                "pods",
                pod(
                    json!({"containers": [{"name": "c", "image": "alpine", "securityContext": {"privileged": true}}]}),
                ),
            ),
            event(
                "alice",
                "create",
                "pods",
                pod(
                    json!({"containers": [{"name": "c", "image": "alpine", "securityContext": {"privileged": false}}]}),
                ),
            ),
        ),
        (
            "K8S-AUDIT-sensitive-hostpath",
            event(
                "alice",
                "create",
                "pods",
                pod(
                    json!({"volumes": [{"name": "h", "hostPath": {"path": "/var/run/docker.sock"}}], "containers": [{"name": "c", "image": "a"}]}),
                ),
            ),
            event(
                "alice",
                "create",
                "pods",
                pod(
                    json!({"volumes": [{"name": "h", "hostPath": {"path": "/var/log/app"}}], "containers": [{"name": "c", "image": "a"}]}),
                ),
            ),
        ),
        (
            "K8S-AUDIT-host-namespaces",
            event(
                "alice",
                "create",
                "pods",
                pod(json!({"hostPID": true, "containers": [{"name": "c", "image": "a"}]})),
            ),
            event(
                "alice",
                "create",
                "pods",
                pod(json!({"hostPID": false, "containers": [{"name": "c", "image": "a"}]})),
            ),
        ),
        (
            "K8S-AUDIT-kube-system-pod",
            event(
                "alice",
                "create",
                "pods",
                merge_into(
                    pod(plain.clone()),
                    json!({"objectRef": {"namespace": "kube-system"}}),
                ),
            ),
            event(
                "system:serviceaccount:kube-system:daemon-set-controller",
                "create",
                "pods",
                merge_into(
                    pod(plain.clone()),
                    json!({"objectRef": {"namespace": "kube-system"}}),
                ),
            ),
        ),
        (
            "K8S-AUDIT-cluster-admin-binding",
            event(
                "alice",
                "create",
                "clusterrolebindings",
                json!({"objectRef": {"namespace": null}, "requestObject": {"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": "mallory"}]}}),
            ),
            event(
                "alice",
                "create",
                "clusterrolebindings",
                json!({"objectRef": {"namespace": null}, "requestObject": {"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "mallory"}]}}),
            ),
        ),
        (
            "K8S-AUDIT-powerful-role",
            event(
                "alice",
                "create",
                "clusterroles",
                json!({"requestObject": {"rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]}}),
            ),
            event(
                "alice",
                "create",
                "clusterroles",
                json!({"requestObject": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}}),
            ),
        ),
        (
            "K8S-AUDIT-webhook-config",
            event(
                "alice",
                "create",
                "mutatingwebhookconfigurations",
                json!({}),
            ),
            event("alice", "get", "mutatingwebhookconfigurations", json!({})),
        ),
        (
            "K8S-AUDIT-exec",
            event(
                "alice",
                "create",
                "pods",
                // A streaming session is logged with 101 Switching Protocols.
                json!({"objectRef": {"subresource": "exec"}, "responseStatus": {"code": 101}}),
            ),
            event(
                "alice",
                "create",
                "pods",
                json!({"objectRef": {"subresource": "log"}}),
            ),
        ),
        (
            "K8S-AUDIT-anonymous",
            event(
                "system:anonymous",
                "get",
                "secrets",
                json!({"requestURI": "/api/v1/secrets", "user": {"groups": ["system:unauthenticated"]}}),
            ),
            event(
                "system:anonymous",
                "get",
                "secrets",
                json!({"requestURI": "/healthz", "user": {"groups": ["system:unauthenticated"]}}),
            ),
        ),
        (
            "K8S-AUDIT-events-deleted",
            event(
                "alice",
                "delete",
                "events",
                json!({"responseStatus": {"code": 200}}),
            ),
            event(
                "alice",
                "get",
                "events",
                json!({"responseStatus": {"code": 200}}),
            ),
        ),
        (
            "K8S-AUDIT-coredns-config",
            event(
                "alice",
                "patch",
                "configmaps",
                json!({"objectRef": {"namespace": "kube-system", "name": "coredns"}, "responseStatus": {"code": 200}}),
            ),
            event(
                "alice",
                "patch",
                "configmaps",
                json!({"objectRef": {"namespace": "kube-system", "name": "kube-proxy"}, "responseStatus": {"code": 200}}),
            ),
        ),
        (
            "K8S-AUDIT-pentest-tool",
            event(
                "alice",
                "list",
                "pods",
                json!({"userAgent": "Kube-Hunter/0.6.8"}),
            ),
            event(
                "alice",
                "list",
                "pods",
                json!({"userAgent": "kubectl/v1.31.2 (hunter edition)"}),
            ),
        ),
        (
            "K8S-AUDIT-miner-image",
            event(
                "alice",
                "create",
                "pods",
                pod(
                    json!({"containers": [{"name": "c", "image": "docker.io/metal3d/xmrig:latest"}]}),
                ),
            ),
            event("alice", "create", "pods", pod(plain.clone())),
        ),
        (
            "K8S-AUDIT-nodes-proxy",
            event(
                "alice",
                "get",
                "nodes",
                json!({"objectRef": {"namespace": null, "subresource": "proxy", "name": "node-1"}, "responseStatus": {"code": 200}}),
            ),
            event(
                "alice",
                "get",
                "nodes",
                json!({"objectRef": {"namespace": null, "name": "node-1"}, "responseStatus": {"code": 200}}),
            ),
        ),
        (
            "K8S-AUDIT-token-request",
            event(
                "alice",
                "create",
                "serviceaccounts",
                json!({"objectRef": {"subresource": "token"}}),
            ),
            event(
                "system:kube-controller-manager",
                "create",
                "serviceaccounts",
                json!({"objectRef": {"subresource": "token"}}),
            ),
        ),
        (
            "K8S-AUDIT-csr-approved",
            event(
                "alice",
                "update",
                "certificatesigningrequests",
                json!({"objectRef": {"namespace": null, "subresource": "approval"}, "responseStatus": {"code": 200}}),
            ),
            event(
                "alice",
                "create",
                "certificatesigningrequests",
                json!({"objectRef": {"namespace": null}}),
            ),
        ),
        (
            "K8S-AUDIT-secrets-listed",
            event(
                "alice",
                "list",
                "secrets",
                json!({"objectRef": {"namespace": null, "name": null}, "responseStatus": {"code": 200}}),
            ),
            event(
                "alice",
                "list",
                "secrets",
                json!({"objectRef": {"name": null}, "responseStatus": {"code": 200}}),
            ),
        ),
        (
            "K8S-AUDIT-sensitive-service-lb",
            event(
                "alice",
                "create",
                "services",
                service(
                    "redis-master",
                    json!({"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "master"},
                           "ports": [{"name": "tcp-redis", "protocol": "TCP", "port": 6379, "targetPort": "redis"}]}),
                ),
            ),
            // A web front end on 443 is what load balancers are for.
            event(
                "alice",
                "create",
                "services",
                service(
                    "web",
                    json!({"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "web"},
                           "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 8443}]}),
                ),
            ),
        ),
        (
            "K8S-AUDIT-sensitive-service-nodeport",
            event(
                "alice",
                "create",
                "services",
                merge_into(
                    service(
                        "kubernetes-dashboard",
                        json!({"type": "NodePort", "selector": {"k8s-app": "kubernetes-dashboard"},
                               "ports": [{"port": 443, "targetPort": 8443, "nodePort": 30443}]}),
                    ),
                    json!({"objectRef": {"namespace": "kubernetes-dashboard"}}),
                ),
            ),
            event(
                "alice",
                "create",
                "services",
                merge_into(
                    service(
                        "kubernetes-dashboard",
                        json!({"type": "ClusterIP", "selector": {"k8s-app": "kubernetes-dashboard"},
                               "ports": [{"port": 443, "targetPort": 8443}]}),
                    ),
                    json!({"objectRef": {"namespace": "kubernetes-dashboard"}}),
                ),
            ),
        ),
        (
            "K8S-AUDIT-ephemeral-container",
            event(
                "alice",
                "patch",
                "pods",
                json!({"requestURI": "/api/v1/namespaces/shop/pods/web-0/ephemeralcontainers",
                       "objectRef": {"name": "web-0", "subresource": "ephemeralcontainers"}, "responseStatus": {"code": 200},
                       "requestObject": {"spec": {"ephemeralContainers": [{"image": "busybox:1.36", "name": "debugger-x7k2p",
                           "resources": {}, "stdin": true, "targetContainerName": "web", "terminationMessagePolicy": "File", "tty": true}]}}}),
            ),
            // A label patch on the pod itself.
            event(
                "alice",
                "patch",
                "pods",
                json!({"requestURI": "/api/v1/namespaces/shop/pods/web-0", "objectRef": {"name": "web-0"}, "responseStatus": {"code": 200},
                       "requestObject": {"metadata": {"labels": {"debug": "true"}}}}),
            ),
        ),
        (
            "K8S-AUDIT-sidecar-injection",
            event(
                "alice",
                "patch",
                "deployments",
                workload_patch(json!([
                    {"op": "add", "path": "/spec/template/spec/containers/-",
                     "value": {"name": "metrics", "image": "ghcr.io/example/agent:latest", "command": ["/bin/sh", "-c", "sleep infinity"]}}
                ])),
            ),
            // `kubectl patch --type json` changing the image of an existing container.
            event(
                "alice",
                "patch",
                "deployments",
                workload_patch(json!([
                    {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.28"}
                ])),
            ),
        ),
        (
            "K8S-AUDIT-threat-intel-source",
            event(
                "alice",
                "get",
                "secrets",
                json!({"sourceIPs": ["192.0.2.17", "10.240.0.4"], "responseStatus": {"code": 403},
                       "annotations": {"authorization.k8s.io/decision": "forbid"}}),
            ),
            event(
                "alice",
                "get",
                "secrets",
                json!({"sourceIPs": ["192.0.2.64", "10.240.0.4"], "responseStatus": {"code": 403}}),
            ),
        ),
        (
            "K8S-AUDIT-csr-system-identity",
            event(
                "system:serviceaccount:ci:builder",
                "create",
                "certificatesigningrequests",
                csr(
                    "backup-admin",
                    MASTERS_CSR,
                    "kubernetes.io/kube-apiserver-client",
                    None,
                ),
            ),
            // A kubelet bootstrapping with its token asks for its node's certificate.
            merge_into(
                event(
                    "system:bootstrap:abcdef",
                    "create",
                    "certificatesigningrequests",
                    csr(
                        "csr-8bhzr",
                        NODE_CSR,
                        "kubernetes.io/kube-apiserver-client-kubelet",
                        None,
                    ),
                ),
                json!({"user": {"groups": ["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"]},
                       "userAgent": "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"}),
            ),
        ),
        (
            "K8S-AUDIT-csr-system-identity-approved",
            event(
                "alice",
                "update",
                "certificatesigningrequests",
                csr(
                    "backup-admin",
                    MASTERS_CSR,
                    "kubernetes.io/kube-apiserver-client",
                    Some("approval"),
                ),
            ),
            // Approving a kubelet's serving certificate, as serverTLSBootstrap needs.
            event(
                "alice",
                "update",
                "certificatesigningrequests",
                csr(
                    "csr-w2x7q",
                    NODE_CSR,
                    "kubernetes.io/kubelet-serving",
                    Some("approval"),
                ),
            ),
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    let mut dump = String::new();
    for (id, hit, miss) in cases {
        for a in alerts_of(&engine, hit.clone()) {
            if a.rule_id == id {
                dump.push_str(&serde_json::to_string(&a).unwrap());
                dump.push('\n');
            }
        }
        let got = fired(&engine, hit);
        assert!(
            got.contains(&id.to_string()),
            "{id}: true positive did not fire (fired {got:?})"
        );
        let got = fired(&engine, miss);
        assert!(!got.contains(&id.to_string()), "{id}: near miss fired");
        covered.insert(id);
    }
    // Every built-in rule is covered by a case.
    let text = vigil_detect::BUILTIN_AUDIT_RULES;
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id: "))
        .collect();
    assert_eq!(ids.len(), engine.len());
    for id in ids {
        assert!(covered.contains(id), "{id} has no test case");
    }
    // The alerts of the true positives are the OCSF schema test's input
    // (crates/vigil-core/tests/fixtures/alerts/audit-alerts.jsonl): real engine output.
    if let Some(path) = std::env::var_os("VIGIL_DUMP_ALERTS") {
        std::fs::write(path, dump).unwrap();
    }
}

/// A Service written by `kubectl apply`, as logged at RequestResponse level.
fn service(name: &str, spec: Value) -> Value {
    json!({"requestURI": "/api/v1/namespaces/shop/services?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
           "objectRef": {"name": name},
           "requestObject": {"kind": "Service", "apiVersion": "v1", "metadata": {"name": name, "namespace": "shop"}, "spec": spec},
           "responseObject": {"kind": "Service", "apiVersion": "v1", "metadata": {"name": name, "namespace": "shop"}, "spec": spec}})
}

/// `kubectl patch deployment web --type json -p ...`: the patch is the request object.
fn workload_patch(ops: Value) -> Value {
    json!({"requestURI": "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=kubectl-patch",
           "objectRef": {"apiGroup": "apps", "apiVersion": "v1", "name": "web"},
           "responseStatus": {"code": 200}, "requestObject": ops})
}

const MASTERS_CSR: &str = include_str!("fixtures/csr/masters.pem");
const NODE_CSR: &str = include_str!("fixtures/csr/node.pem");

/// A CertificateSigningRequest for the PEM request `pem`, as created, or as sent to the
/// `approval` subresource by `kubectl certificate approve` (the whole object, with the
/// Approved condition).
fn csr(name: &str, pem: &str, signer: &str, sub: Option<&str>) -> Value {
    use base64::Engine as _;
    let mut object = json!({"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1",
        "metadata": {"name": name},
        "spec": {"request": base64::engine::general_purpose::STANDARD.encode(pem), "signerName": signer,
                 "expirationSeconds": 86400, "usages": ["digital signature", "client auth"]}});
    let mut uri = "/apis/certificates.k8s.io/v1/certificatesigningrequests".to_string();
    if let Some(sub) = sub {
        object["status"] = json!({"conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove",
            "message": "This CSR was approved by kubectl certificate approve.", "lastUpdateTime": "2026-11-29T12:00:00Z"}]});
        uri = format!("{uri}/{name}/{sub}");
    }
    json!({"requestURI": uri, "responseStatus": {"code": if sub.is_some() { 200 } else { 201 }},
           "objectRef": {"apiGroup": "certificates.k8s.io", "apiVersion": "v1", "namespace": null, "name": name,
                         "subresource": sub.map_or(Value::Null, Value::from)},
           "requestObject": object})
}

fn merge_into(mut a: Value, b: Value) -> Value {
    merge(&mut a, b);
    a
}

#[test]
fn other_stages_and_failed_requests_do_not_fire() {
    let engine = engine();
    let hit = event(
        "alice",
        "create",
        "pods",
        pod(json!({"hostNetwork": true, "containers": [{"name": "c", "image": "a"}]})),
    );
    assert_eq!(fired(&engine, hit.clone()), ["K8S-AUDIT-host-namespaces"]);
    assert!(
        fired(
            &engine,
            merge_into(hit.clone(), json!({"stage": "RequestReceived"}))
        )
        .is_empty()
    );
    assert!(
        fired(
            &engine,
            merge_into(hit, json!({"responseStatus": {"code": 403}}))
        )
        .is_empty()
    );
}

/// Whether rule `id` fires on `e`.
fn fires(engine: &Engine, id: &str, e: Value) -> bool {
    fired(engine, e).iter().any(|r| r == id)
}

#[test]
fn exposed_services_by_port_name_selector_and_namespace() {
    let engine = engine();
    let lb = "K8S-AUDIT-sensitive-service-lb";
    let create =
        |name: &str, spec: Value| event("alice", "create", "services", service(name, spec));
    let cases = [
        // Postgres by port alone, under a name that says nothing.
        (
            create(
                "db",
                json!({"type": "LoadBalancer", "ports": [{"port": 5432}]}),
            ),
            true,
        ),
        // The dashboard on 443 is found by its selector.
        (
            create(
                "ui",
                json!({"type": "LoadBalancer", "selector": {"k8s-app": "kubernetes-dashboard"}, "ports": [{"port": 443, "targetPort": 8443}]}),
            ),
            true,
        ),
        // Jupyter behind port 80, by target port.
        (
            create(
                "lab",
                json!({"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": 8888}]}),
            ),
            true,
        ),
        // Jenkins on 8080 by name; 8080 alone is not enough.
        (
            create(
                "ci-jenkins",
                json!({"type": "LoadBalancer", "ports": [{"port": 8080}]}),
            ),
            true,
        ),
        (
            create(
                "shop-api",
                json!({"type": "LoadBalancer", "ports": [{"port": 8080}]}),
            ),
            false,
        ),
        // `ray` is a word of the name, not a substring of `array`.
        (
            create(
                "array-api",
                json!({"type": "LoadBalancer", "ports": [{"port": 443}]}),
            ),
            false,
        ),
        // Anything in the kubeflow namespace.
        (
            merge_into(
                create(
                    "ml-ui",
                    json!({"type": "LoadBalancer", "ports": [{"port": 80}]}),
                ),
                json!({"objectRef": {"namespace": "kubeflow"}}),
            ),
            true,
        ),
        // Internal load balancers and source ranges keep it inside.
        (
            merge_into(
                create(
                    "redis",
                    json!({"type": "LoadBalancer", "ports": [{"port": 6379}]}),
                ),
                json!({"requestObject": {"metadata": {"annotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}}}}),
            ),
            false,
        ),
        (
            create(
                "redis",
                json!({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"], "ports": [{"port": 6379}]}),
            ),
            false,
        ),
        // `kubectl patch svc jupyter -p '{"spec":{"type":"LoadBalancer"}}'`: the patch has
        // only the type; the name and the stored object's ports say what is exposed.
        (
            event(
                "alice",
                "patch",
                "services",
                json!({"objectRef": {"name": "notebook"}, "responseStatus": {"code": 200},
                       "requestObject": {"spec": {"type": "LoadBalancer"}},
                       "responseObject": {"kind": "Service", "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": 8888}]}}}),
            ),
            true,
        ),
        // The service controller's status updates and failed requests are not exposures.
        (
            merge_into(
                create(
                    "redis",
                    json!({"type": "LoadBalancer", "ports": [{"port": 6379}]}),
                ),
                json!({"objectRef": {"subresource": "status"}}),
            ),
            false,
        ),
        (
            merge_into(
                create(
                    "redis",
                    json!({"type": "LoadBalancer", "ports": [{"port": 6379}]}),
                ),
                json!({"responseStatus": {"code": 409}}),
            ),
            false,
        ),
        // A CD tool's service account is still reported: the exposure is the point.
        (
            event(
                "system:serviceaccount:argocd:argocd-application-controller",
                "create",
                "services",
                service(
                    "redis",
                    json!({"type": "LoadBalancer", "ports": [{"port": 6379}]}),
                ),
            ),
            true,
        ),
    ];
    for (i, (e, want)) in cases.into_iter().enumerate() {
        assert_eq!(fires(&engine, lb, e), want, "case {i}");
    }
    // NodePort is the lower-severity rule, not the LoadBalancer one.
    let np = create(
        "redis",
        json!({"type": "NodePort", "ports": [{"port": 6379}]}),
    );
    assert_eq!(fired(&engine, np), ["K8S-AUDIT-sensitive-service-nodeport"]);
}

#[test]
fn containers_added_by_json_patch_and_kubectl_debug() {
    let engine = engine();
    let id = "K8S-AUDIT-sidecar-injection";
    let add = |path: &str| {
        workload_patch(json!([{"op": "add", "path": path, "value": {"name": "s", "image": "x"}}]))
    };
    for (path, want) in [
        ("/spec/template/spec/containers/-", true),
        ("/spec/template/spec/containers/1", true),
        ("/spec/template/spec/initContainers/0", true),
        ("/spec/jobTemplate/spec/template/spec/containers/-", true),
        // A field of an existing container, and the whole list replaced.
        ("/spec/template/spec/containers/0/env/-", false),
        ("/spec/template/spec/containers", false),
        ("/metadata/labels/team", false),
    ] {
        assert_eq!(
            fires(
                &engine,
                id,
                event("alice", "patch", "deployments", add(path))
            ),
            want,
            "{path}"
        );
    }
    // `kubectl set image` sends a strategic-merge patch: not decidable, not judged.
    let set_image = merge_into(
        workload_patch(json!(null)),
        json!({"requestObject": {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}}}),
    );
    assert!(!fires(
        &engine,
        id,
        event("alice", "patch", "deployments", set_image)
    ));
    // The output names the injected image.
    let out = alerts_of(
        &engine,
        event(
            "alice",
            "patch",
            "daemonsets",
            add("/spec/template/spec/containers/-"),
        ),
    );
    assert!(out[0].output.contains("images=x"), "{}", out[0].output);
    // kubectl debug by a node component (none does this) is not reported; by a user it is.
    let debug = |user: &str| {
        event(
            user,
            "patch",
            "pods",
            json!({"objectRef": {"name": "web-0", "subresource": "ephemeralcontainers"}, "responseStatus": {"code": 200}}),
        )
    };
    assert!(fires(
        &engine,
        "K8S-AUDIT-ephemeral-container",
        debug("system:serviceaccount:ops:debugger")
    ));
    assert!(!fires(
        &engine,
        "K8S-AUDIT-ephemeral-container",
        debug("system:kube-controller-manager")
    ));
}

#[test]
fn threat_intelligence_addresses_and_networks() {
    let engine = engine();
    let id = "K8S-AUDIT-threat-intel-source";
    let from = |ips: Value| event("alice", "list", "pods", json!({"sourceIPs": ips}));
    assert!(fires(&engine, id, from(json!(["192.0.2.1"]))));
    assert!(fires(&engine, id, from(json!(["2001:db8:bad::7"]))));
    // A listed proxy in the X-Forwarded-For chain counts.
    assert!(fires(
        &engine,
        id,
        from(json!(["203.0.113.50", "192.0.2.63"]))
    ));
    assert!(!fires(
        &engine,
        id,
        from(json!(["2001:db8:bad::8", "192.0.2.64"]))
    ));
    assert!(!fires(&engine, id, from(json!(["not-an-address"]))));
    // The list as shipped is empty: it loads, and nothing fires.
    let mut set = RuleSet::default();
    set.load(
        vigil_detect::BUILTIN_AUDIT_RULES,
        Path::new("k8s_audit.yaml"),
    )
    .unwrap();
    let shipped = Engine::audit(&set).unwrap();
    assert!(!fires(&shipped, id, from(json!(["192.0.2.1"]))));
    // A bad entry fails when the rules compile, naming the rule.
    set.extend_list("threat_intel_ips", ["192.0.2.0/33".to_string()]);
    let err = Engine::audit(&set).unwrap_err().to_string();
    assert!(
        err.contains("Request from Threat-Intelligence Address") && err.contains("192.0.2.0/33"),
        "{err}"
    );
}

#[test]
fn csrs_for_system_identities() {
    let engine = engine();
    let created = "K8S-AUDIT-csr-system-identity";
    let approved = "K8S-AUDIT-csr-system-identity-approved";
    let create = |user: &str, pem: &str| {
        event(
            user,
            "create",
            "certificatesigningrequests",
            csr("c", pem, "kubernetes.io/kube-apiserver-client", None),
        )
    };
    let bmp = include_str!("fixtures/csr/bmp-admin.pem");
    let kcm = include_str!("fixtures/csr/controller-manager.pem");
    let user = include_str!("fixtures/csr/user.pem");
    // A user asking for a node's identity, the controller manager's, or (spelled in
    // BMPString) system:admin in system:masters.
    assert!(fires(&engine, created, create("alice", NODE_CSR)));
    assert!(fires(&engine, created, create("alice", kcm)));
    assert!(fires(&engine, created, create("alice", bmp)));
    // A node asking for system:masters is not a node bootstrap.
    let node = merge_into(
        create("system:node:worker-1", MASTERS_CSR),
        json!({"user": {"groups": ["system:nodes", "system:authenticated"]}}),
    );
    assert!(fires(&engine, created, node));
    // A node renewing its own certificate, and a user's own certificate, are ordinary.
    let renew = merge_into(
        create("system:node:worker-1", NODE_CSR),
        json!({"user": {"groups": ["system:nodes", "system:authenticated"]}}),
    );
    assert!(!fires(&engine, created, renew));
    assert!(!fires(&engine, created, create("alice", user)));
    // At Metadata level there is no request object, so no subject to judge.
    let metadata = merge_into(
        create("alice", MASTERS_CSR),
        json!({"level": "Metadata", "requestObject": null}),
    );
    assert!(!fires(&engine, created, metadata));
    // Approving: the alert says who approved what; a denial is not an approval.
    let approve = |pem: &str| {
        event(
            "alice",
            "update",
            "certificatesigningrequests",
            csr(
                "c",
                pem,
                "kubernetes.io/kube-apiserver-client",
                Some("approval"),
            ),
        )
    };
    let out = alerts_of(&engine, approve(bmp));
    let alert = out.iter().find(|a| a.rule_id == approved).unwrap();
    assert_eq!(alert.severity, vigil_core::Severity::Critical);
    assert!(
        alert.output.contains("cn=system:admin orgs=system:masters"),
        "{}",
        alert.output
    );
    let mut denied = approve(MASTERS_CSR);
    denied["requestObject"]["status"]["conditions"][0]["type"] = json!("Denied");
    assert!(!fires(&engine, approved, denied));
    assert!(!fires(&engine, approved, approve(user)));
}

#[test]
fn docs_list_every_builtin() {
    let docs = include_str!("../../../docs/audit.md");
    for id in vigil_detect::BUILTIN_AUDIT_RULES
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id: "))
    {
        assert!(
            docs.contains(&format!("| `{id}` |")),
            "docs/audit.md does not list {id}"
        );
    }
}
