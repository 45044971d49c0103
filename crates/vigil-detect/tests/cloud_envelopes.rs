//! The cloud fixtures, unwrapped and judged by the built-in rules: what EKS and GKE logs
//! say must raise the same alerts as the API server's own log would.

use serde_json::Value;
use std::path::Path;
use vigil_detect::audit::AuditEvent;
use vigil_detect::cloud::{self, Provider};
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

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cloud")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Rule ids fired by the events of `doc`, with the cluster each alert's event came from.
fn alerts(engine: &Engine, doc: &Value, provider: Provider) -> Vec<(String, Option<String>)> {
    let u = cloud::events_from_envelope(doc).unwrap().unwrap();
    assert_eq!(u.provider, provider);
    assert!(u.errors.is_empty(), "{:?}", u.errors);
    let mut out = Vec::new();
    for e in u.events {
        let mut alerts = Vec::new();
        let text = e.event.to_string();
        let event = AuditEvent::parse(&text).unwrap();
        engine.evaluate(&event.in_cluster(e.cluster.as_deref()), &mut alerts);
        out.extend(alerts.into_iter().map(|a| (a.rule_id, e.cluster.clone())));
    }
    out
}

#[test]
fn eks_subscription_payload_raises_the_binding_alert() {
    let engine = engine();
    let mut fired = Vec::new();
    for line in fixture("eks-subscription.jsonl").lines() {
        fired.extend(alerts(
            &engine,
            &serde_json::from_str(line).unwrap(),
            Provider::Eks,
        ));
    }
    assert!(
        fired.contains(&(
            "K8S-AUDIT-cluster-admin-binding".into(),
            Some("shop-prod".into())
        )),
        "{fired:?}"
    );
}

#[test]
fn gke_entries_raise_the_pod_and_binding_alerts() {
    let engine = engine();
    let doc: Value = serde_json::from_str(&fixture("gke-logging-read.json")).unwrap();
    let fired: Vec<String> = alerts(&engine, &doc, Provider::Gke)
        .into_iter()
        .map(|(id, cluster)| {
            assert_eq!(cluster.as_deref(), Some("shop-gke"));
            id
        })
        .collect();
    for want in [
        "K8S-AUDIT-privileged-pod",
        "K8S-AUDIT-sensitive-hostpath",
        "K8S-AUDIT-host-namespaces",
        "K8S-AUDIT-cluster-admin-binding",
    ] {
        assert!(fired.iter().any(|f| f == want), "{want} not in {fired:?}");
    }
    // The denied secret read and the controller's watch raise nothing.
    assert!(
        !fired.iter().any(|f| f == "K8S-AUDIT-secrets-listed"),
        "{fired:?}"
    );
}

#[test]
fn every_fixture_unwraps_without_errors() {
    for name in [
        "eks-filter-log-events.json",
        "eks-get-log-events.json",
        "eks-insights-query-results.json",
        "eks-lambda-awslogs.json",
        "gke-logging-read.json",
    ] {
        let doc: Value = serde_json::from_str(&fixture(name)).unwrap();
        let u = cloud::events_from_envelope(&doc).unwrap().unwrap();
        assert!(u.errors.is_empty() && !u.events.is_empty(), "{name}: {u:?}");
        for e in &u.events {
            assert_eq!(e.event["kind"], "Event", "{name}");
            assert_eq!(e.event["apiVersion"], "audit.k8s.io/v1", "{name}");
            assert_eq!(e.event["stage"], "ResponseComplete", "{name}");
        }
    }
}

/// Every fixture read the way `vigil audit scan` reads a file: the reader finds the
/// envelopes itself, nothing is malformed, and alerts name the cluster.
#[test]
fn the_log_reader_reads_every_cloud_shape() {
    let engine = engine();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cloud");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".py"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let file = std::fs::File::open(dir.join(&name)).unwrap();
        let mut log = vigil_detect::audit_log::open(file).unwrap();
        let mut alerts = Vec::new();
        log.for_each(|e| engine.evaluate(e, &mut alerts)).unwrap();
        let stats = log.stats();
        assert!(stats.events > 0, "{name}: no events");
        assert_eq!(stats.malformed, [], "{name}");
        if name.starts_with("gke") {
            assert!(alerts.iter().all(|a| a.cluster == "shop-gke"), "{name}");
        }
        assert!(!alerts.is_empty(), "{name}: no alerts");
    }
}
