//! Workload hygiene: what Kubescape and the CIS benchmark ask of every workload beyond
//! the Pod Security Standards — resources, immutable root file systems, pinned images,
//! probes, service account tokens, the default namespace, secrets in environment
//! variables and `hostAliases`.

use super::{CheckInfo, Context, Family, ev};
use crate::workload::{ContainerRef, Workload};
use serde_json::Value;
use std::collections::HashMap;
use vigil_core::{Evidence, Finding, Severity};

const NO_LIMITS: CheckInfo = CheckInfo {
    id: "K8S-hygiene-no-limits",
    title: "Container without CPU or memory limits",
    severity: Severity::Medium,
    remediation: "Set resources.limits.memory and resources.limits.cpu on every container (or a LimitRange in the namespace), so one container cannot starve the node.",
    controls: &["NSA-resource-policies", "MITRE-T1499"],
};
const NO_REQUESTS: CheckInfo = CheckInfo {
    id: "K8S-hygiene-no-requests",
    title: "Container without CPU or memory requests",
    severity: Severity::Low,
    remediation: "Set resources.requests.cpu and resources.requests.memory so the scheduler reserves what the container needs.",
    controls: &["NSA-resource-policies"],
};
const WRITABLE_ROOT: CheckInfo = CheckInfo {
    id: "K8S-hygiene-writable-root-fs",
    title: "Container root file system is writable",
    severity: Severity::Low,
    remediation: "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the application writes.",
    controls: &["NSA-immutable-fs", "MITRE-T1525"],
};
const LATEST_TAG: CheckInfo = CheckInfo {
    id: "K8S-hygiene-latest-tag",
    title: "Image by the tag latest or without a tag",
    severity: Severity::Medium,
    remediation: "Reference a fixed version tag, or better a digest (image@sha256:...), so every node runs the image that was scanned.",
    controls: &["NSA-image-security", "MITRE-T1525"],
};
const NO_DIGEST: CheckInfo = CheckInfo {
    id: "K8S-hygiene-no-digest",
    title: "Image not pinned by digest",
    severity: Severity::Low,
    remediation: "Reference the image by digest (image:tag@sha256:...); a tag can be moved to other content after the scan.",
    controls: &["NSA-image-security", "MITRE-T1525"],
};
const PULL_POLICY: CheckInfo = CheckInfo {
    id: "K8S-hygiene-pull-policy",
    title: "Mutable image tag with imagePullPolicy other than Always",
    severity: Severity::Low,
    remediation: "Set imagePullPolicy: Always for images by a moving tag, or pin the image by digest; otherwise nodes keep running whatever they pulled first.",
    controls: &["NSA-image-security"],
};
const NO_PROBES: CheckInfo = CheckInfo {
    id: "K8S-hygiene-no-probes",
    title: "Container without liveness or readiness probe",
    severity: Severity::Low,
    remediation: "Add a readinessProbe (traffic only to ready pods) and a livenessProbe (restart when stuck).",
    controls: &["NSA-application-security"],
};
const SA_TOKEN: CheckInfo = CheckInfo {
    id: "K8S-hygiene-sa-token-mounted",
    title: "Service account token mounted automatically",
    severity: Severity::Medium,
    remediation: "Set automountServiceAccountToken: false on the pod spec (or its service account) unless the workload calls the Kubernetes API.",
    controls: &["CIS-5.1.6", "NSA-sa-tokens", "MITRE-T1528"],
};
const DEFAULT_NS: CheckInfo = CheckInfo {
    id: "K8S-hygiene-default-namespace",
    title: "Workload in the default namespace",
    severity: Severity::Low,
    remediation: "Move the workload to a namespace of its own, where RBAC, quotas, network and Pod Security policies can be set for it.",
    controls: &["CIS-5.7.4", "NSA-namespaces"],
};
const SECRET_ENV: CheckInfo = CheckInfo {
    id: "K8S-hygiene-secret-env",
    title: "Secret exposed as an environment variable",
    severity: Severity::Medium,
    remediation: "Mount the secret as a file (a secret volume) instead of env/envFrom; environment variables leak into logs, crash dumps and child processes.",
    controls: &["CIS-5.4.1", "NSA-secrets", "MITRE-T1552"],
};
const HOST_ALIASES: CheckInfo = CheckInfo {
    id: "K8S-hygiene-host-aliases",
    title: "Pod overrides name resolution with hostAliases",
    severity: Severity::Low,
    remediation: "Remove hostAliases and publish the names in DNS; entries in the pod's /etc/hosts can silently redirect traffic.",
    controls: &["MITRE-T1557"],
};

/// The workload hygiene family.
pub struct Hygiene;

impl Family for Hygiene {
    fn name(&self) -> &'static str {
        "hygiene"
    }

    fn checks(&self) -> Vec<&'static CheckInfo> {
        vec![
            &NO_LIMITS,
            &NO_REQUESTS,
            &WRITABLE_ROOT,
            &LATEST_TAG,
            &NO_DIGEST,
            &PULL_POLICY,
            &NO_PROBES,
            &SA_TOKEN,
            &DEFAULT_NS,
            &SECRET_ENV,
            &HOST_ALIASES,
        ]
    }

    fn run(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        // Service accounts that opt out of token mounting, by (namespace, name).
        let mut sa_automount: HashMap<(&str, &str), bool> = HashMap::new();
        for sa in ctx.inv.of_kind("ServiceAccount") {
            if let Some(b) = sa
                .value
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool)
            {
                sa_automount.insert((ctx.inv.namespace_of(sa), sa.name()), b);
            }
        }
        for w in &ctx.workloads {
            let resource = ctx.inv.resource_ref(w.object);
            let mut fire = |check: &CheckInfo, title: String, evidence: Vec<Evidence>| {
                out.push(check.finding(&resource, title, evidence));
            };
            let containers = w.containers();
            for c in &containers {
                container_checks(w, c, &mut fire);
            }
            // Pod-level checks.
            let spec = w.spec();
            let pod_value = spec
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool);
            let sa = w.service_account();
            let sa_value = sa_automount
                .get(&(resource.namespace.as_str(), sa))
                .copied();
            if pod_value.or(sa_value).unwrap_or(true) {
                let value = match (pod_value, sa_value) {
                    (Some(v), _) => v.to_string(),
                    (None, Some(v)) => format!("{v} (service account {sa})"),
                    (None, None) => "<unset>".into(),
                };
                fire(
                    &SA_TOKEN,
                    format!("Pods mount the token of service account {sa:?} automatically"),
                    vec![ev(w.spec_path("automountServiceAccountToken"), value)],
                );
            }
            if resource.namespace == "default" {
                fire(
                    &DEFAULT_NS,
                    format!("{} runs in the default namespace", w.object.kind()),
                    vec![ev("metadata.namespace", "default")],
                );
            }
            if let Some(aliases) = spec
                .get("hostAliases")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
            {
                let names: Vec<String> = aliases
                    .iter()
                    .flat_map(|a| {
                        a.get("hostnames")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                    })
                    .filter_map(|h| h.as_str().map(String::from))
                    .collect();
                fire(
                    &HOST_ALIASES,
                    format!("Pods resolve {} through hostAliases", names.join(", ")),
                    vec![ev(w.spec_path("hostAliases"), names.join(","))],
                );
            }
        }
    }
}

/// True for workloads whose pods run to completion, where probes make no sense.
fn runs_to_completion(w: &Workload<'_>) -> bool {
    matches!(w.object.kind(), "Job" | "CronJob")
        || matches!(
            w.spec().get("restartPolicy").and_then(Value::as_str),
            Some("Never" | "OnFailure")
        )
}

fn container_checks(
    w: &Workload<'_>,
    c: &ContainerRef<'_>,
    fire: &mut impl FnMut(&CheckInfo, String, Vec<Evidence>),
) {
    let name = c.name();
    let regular = c.list == "containers";
    let ephemeral = c.list == "ephemeralContainers";
    if !ephemeral {
        let resources = c.value.get("resources");
        let missing = |kind: &str| -> Vec<&'static str> {
            ["cpu", "memory"]
                .into_iter()
                .filter(|r| {
                    resources
                        .and_then(|v| v.get(kind))
                        .and_then(|v| v.get(*r))
                        .is_none_or(Value::is_null)
                })
                .collect()
        };
        let no_limits = missing("limits");
        if !no_limits.is_empty() {
            fire(
                &NO_LIMITS,
                format!("Container {name:?} has no {} limit", no_limits.join(" or ")),
                no_limits
                    .iter()
                    .map(|r| ev(format!("{}.resources.limits.{r}", c.path), "<unset>"))
                    .collect(),
            );
        }
        let no_requests = missing("requests");
        // Requests default to the limits when only limits are set.
        let no_requests: Vec<_> = no_requests
            .into_iter()
            .filter(|r| no_limits.contains(r))
            .collect();
        if !no_requests.is_empty() {
            fire(
                &NO_REQUESTS,
                format!(
                    "Container {name:?} has no {} request",
                    no_requests.join(" or ")
                ),
                no_requests
                    .iter()
                    .map(|r| ev(format!("{}.resources.requests.{r}", c.path), "<unset>"))
                    .collect(),
            );
        }
        let read_only = c
            .value
            .get("securityContext")
            .and_then(|s| s.get("readOnlyRootFilesystem"));
        if read_only.and_then(Value::as_bool) != Some(true) {
            fire(
                &WRITABLE_ROOT,
                format!("Container {name:?} can write to its root file system"),
                vec![ev(
                    format!("{}.securityContext.readOnlyRootFilesystem", c.path),
                    read_only.map_or("<unset>".to_string(), Value::to_string),
                )],
            );
        }
    }
    if regular && !runs_to_completion(w) {
        let missing: Vec<&str> = ["livenessProbe", "readinessProbe"]
            .into_iter()
            .filter(|p| c.value.get(*p).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            fire(
                &NO_PROBES,
                format!("Container {name:?} has no {}", missing.join(" or ")),
                missing
                    .iter()
                    .map(|p| ev(format!("{}.{p}", c.path), "<unset>"))
                    .collect(),
            );
        }
    }
    image_checks(c, fire);
    secret_env_checks(c, fire);
}

fn image_checks(c: &ContainerRef<'_>, fire: &mut impl FnMut(&CheckInfo, String, Vec<Evidence>)) {
    let image = c.image();
    if image.is_empty() {
        return;
    }
    let reference = ImageRef::parse(image);
    let image_ev = || vec![ev(format!("{}.image", c.path), image)];
    let mutable = reference.tag.is_none_or(|t| t == "latest");
    if reference.digest.is_none() {
        if mutable {
            fire(
                &LATEST_TAG,
                format!(
                    "Container {:?} runs {image:?}, {}",
                    c.name(),
                    if reference.tag.is_some() {
                        "tagged latest"
                    } else {
                        "without a tag (latest)"
                    }
                ),
                image_ev(),
            );
        } else {
            fire(
                &NO_DIGEST,
                format!(
                    "Container {:?} runs {image:?}, not pinned by digest",
                    c.name()
                ),
                image_ev(),
            );
        }
        let policy = c.value.get("imagePullPolicy").and_then(Value::as_str);
        if let Some(policy @ ("IfNotPresent" | "Never")) = policy {
            fire(
                &PULL_POLICY,
                format!(
                    "Container {:?} runs {image:?} with imagePullPolicy {policy}",
                    c.name()
                ),
                vec![
                    ev(format!("{}.image", c.path), image),
                    ev(format!("{}.imagePullPolicy", c.path), policy),
                ],
            );
        }
    }
}

fn secret_env_checks(
    c: &ContainerRef<'_>,
    fire: &mut impl FnMut(&CheckInfo, String, Vec<Evidence>),
) {
    let mut evidence = Vec::new();
    let mut secrets = Vec::new();
    for (i, env) in c
        .value
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(secret) = env.get("valueFrom").and_then(|v| v.get("secretKeyRef")) {
            let name = secret
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = secret
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            evidence.push(ev(
                format!("{}.env[{i}].valueFrom.secretKeyRef", c.path),
                format!("{name}/{key}"),
            ));
            secrets.push(name.to_string());
        }
    }
    for (i, from) in c
        .value
        .get("envFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(secret) = from.get("secretRef") {
            let name = secret
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            evidence.push(ev(format!("{}.envFrom[{i}].secretRef", c.path), name));
            secrets.push(name.to_string());
        }
    }
    if !evidence.is_empty() {
        secrets.sort();
        secrets.dedup();
        fire(
            &SECRET_ENV,
            format!(
                "Container {:?} reads secret {} from its environment",
                c.name(),
                secrets.join(", ")
            ),
            evidence,
        );
    }
}

/// The parts of an image reference these checks need.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry and repository, e.g. `registry.example:5000/team/app`.
    pub repository: &'a str,
    /// The tag, if any.
    pub tag: Option<&'a str>,
    /// The digest, if any (`sha256:...`).
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Splits `[registry/]repo[:tag][@digest]`; a `:` in the registry part is a port.
    pub fn parse(image: &'a str) -> ImageRef<'a> {
        let (name, digest) = match image.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (image, None),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        match name.get(last_slash..).and_then(|s| s.rfind(':')) {
            Some(colon) => ImageRef {
                repository: name.get(..last_slash + colon).unwrap_or(name),
                tag: name.get(last_slash + colon + 1..),
                digest,
            },
            None => ImageRef {
                repository: name,
                tag: None,
                digest,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{findings, fired};

    #[test]
    fn image_references() {
        assert_eq!(
            ImageRef::parse("nginx"),
            ImageRef {
                repository: "nginx",
                tag: None,
                digest: None
            }
        );
        assert_eq!(
            ImageRef::parse("reg.example:5000/team/app:1.2@sha256:ab"),
            ImageRef {
                repository: "reg.example:5000/team/app",
                tag: Some("1.2"),
                digest: Some("sha256:ab")
            }
        );
        assert_eq!(
            ImageRef::parse("reg.example:5000/app"),
            ImageRef {
                repository: "reg.example:5000/app",
                tag: None,
                digest: None
            }
        );
    }

    const BAD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      hostAliases: [{ip: 10.0.0.9, hostnames: [api.bank.example]}]
      containers:
      - name: app
        image: nginx:latest
        imagePullPolicy: IfNotPresent
        resources: {limits: {memory: 128Mi}}
        securityContext: {readOnlyRootFilesystem: false}
        env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
        envFrom: [{secretRef: {name: api-keys}}]
"#;

    const GOOD: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: shop}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: quiet
      containers:
      - name: app
        image: registry.example/app:1.4.2@sha256:3f1c
        resources: {limits: {cpu: 500m, memory: 128Mi}}
        securityContext: {readOnlyRootFilesystem: true}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
        volumeMounts: [{name: creds, mountPath: /run/creds}]
      volumes: [{name: creds, secret: {secretName: db}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      restartPolicy: Never
      containers:
      - name: m
        image: registry.example/migrate:2@sha256:99
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 1, memory: 256Mi}}
        securityContext: {readOnlyRootFilesystem: true}
"#;

    #[test]
    fn every_hygiene_check_fires_on_the_bad_workload() {
        let got = fired(&Hygiene, BAD);
        let mut ids: Vec<&str> = got.iter().filter_map(|s| s.split(' ').next()).collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "K8S-hygiene-default-namespace",
                "K8S-hygiene-host-aliases",
                "K8S-hygiene-latest-tag",
                "K8S-hygiene-no-limits",
                "K8S-hygiene-no-probes",
                "K8S-hygiene-no-requests",
                "K8S-hygiene-pull-policy",
                "K8S-hygiene-sa-token-mounted",
                "K8S-hygiene-secret-env",
                "K8S-hygiene-writable-root-fs",
            ]
        );
        let all = findings(&Hygiene, BAD);
        let secret = all
            .iter()
            .find(|f| f.check_id == "K8S-hygiene-secret-env")
            .unwrap();
        assert_eq!(secret.evidence.len(), 2);
        assert_eq!(
            secret.evidence.first().unwrap().path,
            "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef"
        );
        assert_eq!(secret.evidence.first().unwrap().value, "db/password");
        let limits = all
            .iter()
            .find(|f| f.check_id == "K8S-hygiene-no-limits")
            .unwrap();
        assert_eq!(limits.evidence.len(), 1, "memory limit is set: {limits:?}");
        assert_eq!(
            limits.evidence.first().unwrap().path,
            "spec.template.spec.containers[0].resources.limits.cpu"
        );
    }

    #[test]
    fn the_good_workloads_pass() {
        assert_eq!(fired(&Hygiene, GOOD), Vec::<String>::new());
    }

    #[test]
    fn tag_without_digest_is_low_and_untagged_is_latest() {
        let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x}
spec:
  automountServiceAccountToken: false
  restartPolicy: Never
  containers:
  - {name: a, image: "reg:5000/app:1.0", resources: {limits: {cpu: 1, memory: 1Gi}}, securityContext: {readOnlyRootFilesystem: true}}
  - {name: b, image: "reg:5000/app", resources: {limits: {cpu: 1, memory: 1Gi}}, securityContext: {readOnlyRootFilesystem: true}}
"#;
        let f = findings(&Hygiene, yaml);
        let titles: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.check_id.as_str(), f.title.as_str()))
            .collect();
        assert_eq!(
            titles,
            [
                (
                    "K8S-hygiene-latest-tag",
                    "Container \"b\" runs \"reg:5000/app\", without a tag (latest)"
                ),
                (
                    "K8S-hygiene-no-digest",
                    "Container \"a\" runs \"reg:5000/app:1.0\", not pinned by digest"
                ),
            ]
        );
    }
}
