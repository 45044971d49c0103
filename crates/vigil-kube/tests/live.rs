//! The live-cluster source against an in-process API server replaying real API JSON,
//! through the same kubeconfig, client and requests a real cluster gets.

mod support;

use serde_json::Value;
use support::{ApiServer, PODS_CONTINUE, SERVED, Scenario};
use vigil_kube::Inventory;
use vigil_kube::live::{self, ConnectOptions, LiveError, SnapshotOptions};

async fn snapshot_of(server: &ApiServer, page_size: u32) -> Result<Inventory, LiveError> {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-test");
    let conn = live::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
    })
    .await?;
    let opts = SnapshotOptions {
        page_size,
        ..SnapshotOptions::default()
    };
    live::snapshot(&conn, &opts).await
}

fn names(inv: &Inventory, kind: &str) -> Vec<String> {
    inv.of_kind(kind)
        .map(|o| format!("{}/{}", o.namespace(), o.name()))
        .collect()
}

#[tokio::test]
async fn a_full_snapshot_merges_pages_and_sets_kind_and_api_version() {
    let server = ApiServer::start(Scenario::default());
    let inv = snapshot_of(&server, 2).await.unwrap();
    assert!(!inv.is_partial(), "{:?}", inv.partial);
    assert_eq!(inv.cluster.name, "kind-test");
    assert_eq!(inv.cluster.server, server.url());
    let version = inv.cluster.version.as_ref().unwrap();
    assert_eq!(version.git_version, "v1.27.3");
    assert_eq!(version.minor_number(), Some(27));
    assert_eq!(version.platform, "linux/amd64");
    let taken = inv.taken_at.as_deref().unwrap();
    assert!(
        time::OffsetDateTime::parse(taken, &time::format_description::well_known::Rfc3339).is_ok()
            && taken.ends_with('Z'),
        "{taken}"
    );

    // Two pages of pods, merged in order.
    assert_eq!(
        names(&inv, "Pod"),
        [
            "default/web-7d4b9c8f6-abcde",
            "default/web-7d4b9c8f6-fghij",
            "kube-system/coredns-5d78c9869d-kgmpz"
        ]
    );
    let pod_requests: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/pods")
        .collect();
    assert_eq!(pod_requests.len(), 2);
    assert_eq!(pod_requests[0].param("limit"), Some("2"));
    assert_eq!(pod_requests[0].param("continue"), None);
    assert_eq!(pod_requests[1].param("limit"), Some("2"));
    assert_eq!(pod_requests[1].param("continue"), Some(PODS_CONTINUE));

    // Every collection was asked for exactly once (pods twice), nothing else but /version.
    let requests = server.requests();
    for (path, _) in SERVED {
        let n = requests.iter().filter(|r| r.path == *path).count();
        assert_eq!(n, if *path == "/api/v1/pods" { 2 } else { 1 }, "{path}");
    }
    assert_eq!(requests.len(), SERVED.len() + 2);
    assert!(requests.iter().all(|r| r.method == "GET"));

    // Items carry kind and apiVersion, and no managedFields.
    for o in &inv.objects {
        assert!(
            !o.api_version().is_empty() && !o.kind().is_empty(),
            "{}",
            o.value
        );
        assert!(
            o.value["metadata"].get("managedFields").is_none(),
            "{}",
            o.value
        );
        assert_eq!(o.origin.file.to_str(), Some("kind-test"));
    }
    let deploy = inv.of_kind("Deployment").next().unwrap();
    assert_eq!(deploy.api_version(), "apps/v1");
    assert_eq!(deploy.value["spec"]["replicas"], 2);
    assert_eq!(names(&inv, "Namespace"), ["/default", "/kube-system"]);
    assert_eq!(inv.of_kind("Pod").next().unwrap().value["apiVersion"], "v1");
}

#[tokio::test]
async fn secrets_are_listed_metadata_only_and_never_stored_with_data() {
    let server = ApiServer::start(Scenario::default());
    let inv = snapshot_of(&server, 2).await.unwrap();
    let secret_req = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/secrets")
        .unwrap();
    assert!(
        secret_req
            .accept
            .starts_with("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
        "{}",
        secret_req.accept
    );
    assert_eq!(
        names(&inv, "Secret"),
        ["default/db-credentials", "kube-system/coredns-token"]
    );
    for s in inv.of_kind("Secret") {
        assert_eq!(s.api_version(), "v1");
        let keys: Vec<&String> = s.value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata"]);
    }
    let db = inv.of_kind("Secret").next().unwrap();
    assert_eq!(
        db.value["metadata"]["annotations"],
        serde_json::json!({"team": "payments"})
    );
    let all = inv.to_snapshot_json().to_string();
    assert!(
        !all.contains("aHVudGVyMg=="),
        "secret value in the snapshot"
    );
    assert!(!all.contains("s3cr3t"), "configmap value in the snapshot");
    assert!(!all.contains("last-applied-configuration"));
}

#[tokio::test]
async fn configmaps_keep_keys_with_empty_values() {
    let server = ApiServer::start(Scenario::default());
    let inv = snapshot_of(&server, 2).await.unwrap();
    let cm = inv.of_kind("ConfigMap").next().unwrap();
    assert_eq!(cm.name(), "app-config");
    assert_eq!(
        cm.value["data"],
        serde_json::json!({"DATABASE_URL": "", "LOG_LEVEL": ""})
    );
    assert_eq!(cm.value["binaryData"], serde_json::json!({"logo.png": ""}));
    let root_ca = inv.of_kind("ConfigMap").nth(1).unwrap();
    assert_eq!(root_ca.value["data"], serde_json::json!({"ca.crt": ""}));
    // Other annotations stay.
    assert!(
        root_ca.value["metadata"]["annotations"]["kubernetes.io/description"]
            .as_str()
            .is_some()
    );
}

#[tokio::test]
async fn a_forbidden_list_is_a_gap_naming_the_permission_and_the_rest_is_read() {
    let server = ApiServer::start(Scenario {
        forbidden: vec![
            "/api/v1/secrets",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        ],
        ..Scenario::default()
    });
    let inv = snapshot_of(&server, 2).await.unwrap();
    assert!(inv.is_partial());
    assert_eq!(inv.partial.len(), 2, "{:?}", inv.partial);
    let secrets = &inv.partial[1];
    assert_eq!(secrets.resource, "secrets");
    assert_eq!(
        secrets.reason,
        "forbidden: needs \"list\" on \"secrets\" (core) cluster-wide: secrets is forbidden: User \"system:serviceaccount:vigil:vigil\" cannot list resource \"secrets\" in API group \"\" at the cluster scope"
    );
    let roles = &inv.partial[0];
    assert_eq!(roles.resource, "clusterroles.rbac.authorization.k8s.io");
    assert!(
        roles.reason.starts_with(
            "forbidden: needs \"list\" on \"clusterroles\" (rbac.authorization.k8s.io) cluster-wide: clusterroles is forbidden"
        ),
        "{}",
        roles.reason
    );
    assert_eq!(inv.of_kind("Secret").count(), 0);
    assert_eq!(inv.of_kind("Pod").count(), 3);
    assert_eq!(inv.of_kind("ConfigMap").count(), 2);
    assert_eq!(inv.of_kind("Deployment").count(), 1);
}

#[tokio::test]
async fn an_api_the_server_does_not_serve_is_a_gap() {
    let server = ApiServer::start(Scenario {
        not_served: vec!["/apis/batch/v1/cronjobs"],
        ..Scenario::default()
    });
    let inv = snapshot_of(&server, 2).await.unwrap();
    assert_eq!(inv.partial.len(), 1);
    assert_eq!(inv.partial[0].resource, "cronjobs.batch");
    assert_eq!(
        inv.partial[0].reason,
        "not served by this API server (batch/v1): the server could not find the requested resource"
    );
    assert_eq!(inv.of_kind("Pod").count(), 3);
}

#[tokio::test]
async fn provider_versions_are_parsed() {
    let server = ApiServer::start(Scenario {
        version: support::VERSION_EKS_1_31,
        ..Scenario::default()
    });
    let inv = snapshot_of(&server, 2).await.unwrap();
    let v = inv.cluster.version.unwrap();
    assert_eq!(v.git_version, "v1.31.2-eks-7f9249a");
    assert_eq!(v.minor, "31+");
    assert_eq!(v.minor_number(), Some(31));
    assert_eq!(v.platform, "linux/arm64");
}

#[tokio::test]
async fn a_server_error_fails_naming_the_resource_and_the_server() {
    let server = ApiServer::start(Scenario {
        broken: vec!["/apis/apps/v1/daemonsets"],
        ..Scenario::default()
    });
    let err = snapshot_of(&server, 2).await.unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: listing daemonsets.apps: HTTP 500: Internal error occurred: etcdserver: request timed out",
            server.url()
        )
    );
}

#[tokio::test]
async fn an_expired_continue_token_restarts_the_list_once() {
    let server = ApiServer::start(Scenario {
        expire_continue_once: true,
        ..Scenario::default()
    });
    let inv = snapshot_of(&server, 2).await.unwrap();
    assert_eq!(inv.of_kind("Pod").count(), 3, "pods counted twice or lost");
    let pods: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/pods")
        .map(|r| r.param("continue").is_some())
        .collect();
    assert_eq!(pods, [false, true, false, true]);
}

#[tokio::test]
async fn the_object_limit_is_an_error_not_a_truncation() {
    let server = ApiServer::start(Scenario::default());
    let dir = tempfile::tempdir().unwrap();
    let conn = live::connect(&ConnectOptions {
        kubeconfig: Some(server.write_kubeconfig(dir.path(), "c")),
        context: None,
    })
    .await
    .unwrap();
    let opts = SnapshotOptions {
        page_size: 2,
        max_objects: 4,
        ..SnapshotOptions::default()
    };
    let err = live::snapshot(&conn, &opts).await.unwrap_err().to_string();
    assert!(err.contains("listing pods: more than 4 objects"), "{err}");
}

#[tokio::test]
async fn connection_and_config_errors_name_the_server_or_file() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kc");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\nusers: [{{name: u, user: {{token: t}}}}]\n"
        ),
    )
    .unwrap();
    let conn = live::connect(&ConnectOptions {
        kubeconfig: Some(path.clone()),
        context: None,
    })
    .await
    .unwrap();
    let err = live::snapshot(&conn, &SnapshotOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("http://127.0.0.1:{port}: GET /version: ")),
        "{err}"
    );
    let err = live::connect(&ConnectOptions {
        kubeconfig: Some(path.clone()),
        context: Some("nope".into()),
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("nope"), "{err}");
}

#[tokio::test]
async fn connect_applies_the_access_objects_with_field_manager_vigil() {
    let server = ApiServer::start(Scenario::default());
    let dir = tempfile::tempdir().unwrap();
    let conn = live::connect(&ConnectOptions {
        kubeconfig: Some(server.write_kubeconfig(dir.path(), "c")),
        context: None,
    })
    .await
    .unwrap();
    let objects = live::access::connect_objects("vigil", "vigil");
    let done = live::apply(&conn.client, &conn.cluster.server, &objects)
        .await
        .unwrap();
    assert_eq!(
        done,
        [
            "Namespace vigil",
            "ServiceAccount vigil",
            "ClusterRole vigil-reader",
            "ClusterRoleBinding vigil-reader"
        ]
    );
    let patches: Vec<_> = server.requests();
    let paths: Vec<&str> = patches.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/vigil",
            "/api/v1/namespaces/vigil/serviceaccounts/vigil",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/vigil-reader",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/vigil-reader"
        ]
    );
    for (r, o) in patches.iter().zip(&objects) {
        assert_eq!(r.method, "PATCH");
        assert_eq!(r.param("fieldManager"), Some("vigil"));
        assert_eq!(r.param("force"), None);
        assert_eq!(r.content_type, "application/apply-patch+yaml");
        assert_eq!(&serde_json::from_str::<Value>(&r.body).unwrap(), o);
    }
}

/// Gatekeeper's objects as a webhook watching the cluster reads them: templates, each
/// template's constraints (from the CRD Gatekeeper generates), Namespaces and what the sync
/// Config names; a synced kind Vigil cannot list is a gap, and the SyncSet CRD not being
/// served is none.
#[tokio::test]
async fn gatekeeper_policies_and_synced_objects() {
    let server = ApiServer::start(Scenario::default());
    server.serve_gatekeeper();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path(), "kind-test");
    let conn = live::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
    })
    .await
    .unwrap();
    let opts = SnapshotOptions {
        page_size: 2,
        ..SnapshotOptions::default()
    };
    let read = live::gatekeeper(&conn, &opts).await.unwrap();
    let kinds: Vec<(&str, &str, &str)> = read
        .policies
        .iter()
        .map(|o| (o.api_version(), o.kind(), o.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "templates.gatekeeper.sh/v1",
                "ConstraintTemplate",
                "k8srequiredlabels"
            ),
            (
                "constraints.gatekeeper.sh/v1beta1",
                "K8sRequiredLabels",
                "pods-need-team"
            )
        ]
    );
    assert!(
        read.policies[0].value["metadata"]
            .get("managedFields")
            .is_none(),
        "managedFields are dropped"
    );
    let namespaces: Vec<&str> = read.inventory.iter().map(|o| o.name()).collect();
    assert_eq!(namespaces, ["default", "kube-system"]);
    let gaps: Vec<&str> = read.gaps.iter().map(|g| g.resource.as_str()).collect();
    assert_eq!(gaps, ["Widget.example.com"], "{:?}", read.gaps);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&"/apis/syncset.gatekeeper.sh/v1alpha1/syncsets".to_string()),
        "{paths:?}"
    );

    // Without Gatekeeper's CRDs there is nothing to enforce, and the gap says why.
    let bare = ApiServer::start(Scenario::default());
    let kubeconfig = bare.write_kubeconfig(dir.path(), "bare");
    let conn = live::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
    })
    .await
    .unwrap();
    let read = live::gatekeeper(&conn, &opts).await.unwrap();
    assert!(read.policies.is_empty());
    assert_eq!(read.gaps.len(), 1, "{:?}", read.gaps);
    assert_eq!(
        read.gaps[0].resource,
        "constrainttemplates.templates.gatekeeper.sh"
    );
    assert!(
        read.gaps[0].reason.contains("not served"),
        "{:?}",
        read.gaps
    );
}
