//! `vigil admission manifests`: what installs the webhook — namespace, service account,
//! policies ConfigMap, serving certificate (generated here, or by cert-manager),
//! Deployment, Service and the ValidatingWebhookConfiguration.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `vigil admission manifests` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Prints YAML for `kubectl apply -f -`. The serving certificate is made here
(a CA valid for 10 years and a certificate for NAME.NAMESPACE.svc, in a Secret; the CA goes
in the webhook's caBundle), or, with --cert-manager, requested from cert-manager, which
also injects the caBundle. --policy files go into a ConfigMap the webhook reads (and
reloads when it changes).

Requests in --exclude-namespace namespaces and in the webhook's own namespace never reach
the webhook (a namespaceSelector), so a broken policy cannot lock the cluster out of
repairing itself.

Examples:
  vigil admission manifests --policy policies/ --pod-security baseline | kubectl apply -f -
  vigil admission manifests --cert-manager --failure-policy Fail --timeout-seconds 5"
)]
pub struct ManifestsArgs {
    /// Namespace to install into.
    #[arg(long, default_value = "vigil-system")]
    pub namespace: String,
    /// Name of the Deployment, Service and webhook objects.
    #[arg(long, default_value = "vigil-admission")]
    pub name: String,
    /// The Vigil container image.
    #[arg(long, default_value = concat!("vigil:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// Pods of the webhook.
    #[arg(long, default_value_t = 2)]
    pub replicas: u32,
    /// What the API server does when the webhook cannot be reached or times out: Ignore
    /// (admit) or Fail (refuse).
    #[arg(long, value_name = "MODE", default_value = "Ignore", value_parser = ["Ignore", "Fail"])]
    pub failure_policy: String,
    /// Seconds the API server waits for an answer (1-30).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub timeout_seconds: u32,
    /// Namespaces whose requests are never sent to the webhook. Repeatable; the webhook's
    /// own namespace is always excluded.
    #[arg(long = "exclude-namespace", value_name = "NAMESPACE", default_values = ["kube-system"])]
    pub exclude_namespaces: Vec<String>,
    /// Operations sent to the webhook.
    #[arg(long, value_delimiter = ',', default_value = "CREATE,UPDATE")]
    pub operations: Vec<String>,
    /// Ask cert-manager for the serving certificate instead of generating one.
    #[arg(long)]
    pub cert_manager: bool,
    /// ConstraintTemplate and Constraint files or folders for the policies ConfigMap.
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Enforce the Pod Security Standards at this level in the webhook.
    #[arg(long, value_name = "LEVEL", value_parser = ["baseline", "restricted"])]
    pub pod_security: Option<String>,
    /// Also enforce the cluster's ConstraintTemplates and Constraints (Gatekeeper's CRDs):
    /// the webhook gets a token and a read-only ClusterRole for them, for Namespaces, and
    /// for the kinds named here, which Gatekeeper's sync Config may put in data.inventory.
    #[arg(long)]
    pub cluster_policies: bool,
    /// With --cluster-policies: a kind the sync Config names, as RESOURCE or
    /// RESOURCE.GROUP (e.g. services, ingresses.networking.k8s.io). Repeatable.
    #[arg(
        long = "sync-resource",
        value_name = "RESOURCE",
        requires = "cluster_policies"
    )]
    pub sync_resources: Vec<String>,
}

const PORT: u16 = 8443;
const POLICY_DIR: &str = "/etc/vigil/policies";
const TLS_DIR: &str = "/etc/vigil/tls";

/// Runs `vigil admission manifests`.
pub fn run(args: ManifestsArgs) -> Result<ExitCode> {
    for op in &args.operations {
        if !matches!(
            op.as_str(),
            "CREATE" | "UPDATE" | "DELETE" | "CONNECT" | "*"
        ) {
            bail!("--operations: {op:?} is not CREATE, UPDATE, DELETE, CONNECT or *");
        }
    }
    let objects = objects(&args)?;
    let yaml = serde_saphyr::to_string_multiple(&objects).context("writing YAML")?;
    let mut out = std::io::stdout().lock();
    out.write_all(yaml.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn objects(args: &ManifestsArgs) -> Result<Vec<Value>> {
    let (ns, name) = (args.namespace.as_str(), args.name.as_str());
    let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "vigil"});
    let meta = |n: &str| json!({"name": n, "namespace": ns, "labels": labels});
    let secret = format!("{name}-tls");
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            // The webhook's own pods must start even under a strict cluster default.
            "pod-security.kubernetes.io/enforce": "restricted"}}}),
        // Reading only files, the webhook needs no token and no RBAC.
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name),
               "automountServiceAccountToken": args.cluster_policies}),
    ];
    if args.cluster_policies {
        objects.extend(policy_reader_rbac(name, ns, &args.sync_resources, &labels));
    }
    let ca_bundle = if args.cert_manager {
        let issuer = format!("{name}-selfsigned");
        objects.push(json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
            "metadata": meta(&issuer), "spec": {"selfSigned": {}}}));
        objects.push(
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": meta(name), "spec": {
                "secretName": secret, "dnsNames": dns_names(name, ns),
                "issuerRef": {"name": issuer, "kind": "Issuer"}}}),
        );
        None
    } else {
        let (ca, cert, key) = serving_certificate(name, ns)?;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        objects.push(
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": meta(&secret),
            "data": {"tls.crt": b64(&cert), "tls.key": b64(&key), "ca.crt": b64(&ca)}}),
        );
        Some(b64(&ca))
    };
    let mut serve_args = vec![
        "admission".to_string(),
        "serve".into(),
        "--listen".into(),
        format!("0.0.0.0:{PORT}"),
        "--tls-cert".into(),
        format!("{TLS_DIR}/tls.crt"),
        "--tls-key".into(),
        format!("{TLS_DIR}/tls.key"),
        "--log-format".into(),
        "json".into(),
    ];
    let mut volumes = vec![json!({"name": "tls", "secret": {"secretName": secret}})];
    let mut mounts = vec![json!({"name": "tls", "mountPath": TLS_DIR, "readOnly": true})];
    if !args.policies.is_empty() {
        let policies = format!("{name}-policies");
        objects.push(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(&policies),
            "data": policy_files(&args.policies)?}),
        );
        volumes.push(json!({"name": "policies", "configMap": {"name": policies}}));
        mounts.push(json!({"name": "policies", "mountPath": POLICY_DIR, "readOnly": true}));
        serve_args.extend(["--policy".into(), POLICY_DIR.into()]);
    }
    if let Some(level) = &args.pod_security {
        serve_args.extend(["--pod-security".into(), level.clone()]);
    }
    if args.cluster_policies {
        serve_args.push("--cluster-policies".into());
    }
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": PORT, "scheme": "HTTPS"}, "periodSeconds": 10});
    objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name), "spec": {
        "replicas": args.replicas,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": {"metadata": {"labels": labels}, "spec": {
            "serviceAccountName": name,
            "automountServiceAccountToken": args.cluster_policies,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "vigil", "image": args.image, "args": serve_args,
                "ports": [{"name": "https", "containerPort": PORT}],
                "readinessProbe": probe("/readyz"), "livenessProbe": probe("/healthz"),
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": mounts}],
            "volumes": volumes}}}}));
    objects.push(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(name), "spec": {
        "selector": {"app.kubernetes.io/name": name},
        "ports": [{"name": "https", "port": 443, "targetPort": PORT}]}}),
    );
    let mut excluded = args.exclude_namespaces.clone();
    if !excluded.iter().any(|n| n == ns) {
        excluded.push(ns.to_string());
    }
    let mut client =
        json!({"service": {"namespace": ns, "name": name, "path": "/validate", "port": 443}});
    if let Some(ca) = ca_bundle {
        client["caBundle"] = json!(ca);
    }
    let mut webhook_meta = json!({"name": name, "labels": labels});
    if args.cert_manager {
        webhook_meta["annotations"] =
            json!({"cert-manager.io/inject-ca-from": format!("{ns}/{name}")});
    }
    objects.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": webhook_meta,
        "webhooks": [{
            "name": "validation.vigil.dev",
            "clientConfig": client,
            "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": args.operations,
                       "resources": ["*"], "scope": "*"}],
            "namespaceSelector": {"matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded}]},
            "failurePolicy": args.failure_policy,
            "timeoutSeconds": args.timeout_seconds,
            "sideEffects": "None",
            "matchPolicy": "Equivalent",
            "admissionReviewVersions": ["v1", "v1beta1"]}]}));
    Ok(objects)
}

/// The read-only access `--cluster-policies` needs: list (and get) ConstraintTemplates,
/// every constraint kind, Gatekeeper's sync Config and SyncSets, Namespaces, and the
/// synced kinds.
fn policy_reader_rbac(name: &str, ns: &str, synced: &[String], labels: &Value) -> Vec<Value> {
    let verbs = json!(["get", "list"]);
    let mut rules = vec![
        json!({"apiGroups": ["templates.gatekeeper.sh"], "resources": ["constrainttemplates"], "verbs": verbs}),
        json!({"apiGroups": [vigil_kube::live::CONSTRAINTS_GROUP], "resources": ["*"], "verbs": verbs}),
        json!({"apiGroups": ["config.gatekeeper.sh"], "resources": ["configs"], "verbs": verbs}),
        json!({"apiGroups": ["syncset.gatekeeper.sh"], "resources": ["syncsets"], "verbs": verbs}),
        json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": verbs}),
    ];
    for resource in synced {
        let (plural, group) = resource.split_once('.').unwrap_or((resource, ""));
        rules.push(json!({"apiGroups": [group], "resources": [plural], "verbs": verbs}));
    }
    let role = format!("{name}-policy-reader");
    vec![
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": role, "labels": labels}, "rules": rules}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": role, "labels": labels},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]}),
    ]
}

fn dns_names(name: &str, ns: &str) -> Vec<String> {
    vec![
        format!("{name}.{ns}.svc"),
        format!("{name}.{ns}.svc.cluster.local"),
    ]
}

/// A CA and a serving certificate for the Service, PEM: `(ca, cert, key)`.
fn serving_certificate(name: &str, ns: &str) -> Result<(String, String, String)> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} webhook CA"));
    let now = time::OffsetDateTime::now_utc();
    ca_params.not_before = now - time::Duration::hours(1);
    ca_params.not_after = now + time::Duration::days(3650);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(dns_names(name, ns))?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{name}.{ns}.svc"));
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

/// Policy files as ConfigMap data: keys are the file paths with `/` made `_` (ConfigMap
/// keys cannot hold `/`).
fn policy_files(paths: &[PathBuf]) -> Result<serde_json::Map<String, Value>> {
    let mut data = serde_json::Map::new();
    let mut total = 0usize;
    for root in paths {
        let files: Vec<PathBuf> = if root.is_dir() {
            walkdir::WalkDir::new(root)
                .sort_by_file_name()
                .into_iter()
                .flatten()
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                })
                .collect()
        } else {
            vec![root.clone()]
        };
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            total += text.len();
            // Inside a folder: the path below it; a file given alone: its name.
            let rel = match file.strip_prefix(root) {
                Ok(r) if !r.as_os_str().is_empty() => r,
                _ => file.file_name().map(Path::new).unwrap_or(&file),
            };
            let key: String = rel
                .to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-._".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if data.insert(key.clone(), Value::String(text)).is_some() {
                bail!("two policy files map to the ConfigMap key {key:?}; rename one");
            }
        }
    }
    // The API server refuses objects over ~1 MiB (etcd's limit).
    if total > 1000 * 1024 {
        bail!("the policy files total {total} bytes: more than a ConfigMap holds (1 MiB)");
    }
    Ok(data)
}
