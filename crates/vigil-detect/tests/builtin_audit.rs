//! Every built-in control-plane detection fires on an attack-shaped audit event and stays
//! quiet on a benign near miss, both built from the shapes the API server logs.

use serde_json::{Value, json};
use std::path::Path;
use vigil_detect::audit::AuditEvent;
use vigil_detect::engine::Engine;
use vigil_detect::rules::RuleSet;

fn engine() -> Engine {
    let mut set = RuleSet::default();
    set.load(
        vigil_detect::BUILTIN_AUDIT_RULES,
        Path::new("k8s_audit.yaml"),
    )
    .unwrap();
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

fn fired(engine: &Engine, e: Value) -> Vec<String> {
    let mut out = Vec::new();
    let text = e.to_string();
    engine.evaluate(&AuditEvent::parse(&text).unwrap(), &mut out);
    out.into_iter().map(|a| a.rule_id).collect()
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
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (id, hit, miss) in cases {
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
