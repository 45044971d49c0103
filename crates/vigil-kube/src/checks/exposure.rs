//! Exposure: what can be reached from outside the cluster, and which workloads answer.
//!
//! LoadBalancer and NodePort Services and Ingresses are mapped to the workloads they
//! select (Service selector against pod template labels, in the same namespace; Ingress
//! backends through their Services). Exposed sensitive applications (the Kubernetes
//! dashboard, Kubeflow, databases and caches without authentication) and namespaces with
//! workloads but no NetworkPolicy are findings. [`exposures`] is also what attack paths
//! start from.

use super::{CheckInfo, Context, Family, ev};
use crate::checks::hygiene::ImageRef;
use crate::manifest::Object;
use crate::workload::{Workload, str_at};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use vigil_core::{Evidence, Finding, ResourceRef, Severity};

const EXTERNAL_SERVICE: CheckInfo = CheckInfo {
    id: "K8S-exposure-external-service",
    title: "Service reachable from outside the cluster",
    severity: Severity::Medium,
    remediation: "Use a ClusterIP Service behind an Ingress or gateway with authentication, or restrict spec.loadBalancerSourceRanges to the networks that need it.",
    controls: &["NSA-network-policies", "MITRE-T1190"],
};
const INGRESS_NO_TLS: CheckInfo = CheckInfo {
    id: "K8S-exposure-ingress-no-tls",
    title: "Ingress serves without TLS",
    severity: Severity::Medium,
    remediation: "Add spec.tls with a certificate for every host, so credentials and sessions are not sent in clear text.",
    controls: &["NSA-network-policies", "MITRE-T1040"],
};
const NO_NETWORK_POLICY: CheckInfo = CheckInfo {
    id: "K8S-exposure-no-network-policy",
    title: "Namespace without a NetworkPolicy",
    severity: Severity::Medium,
    remediation: "Add a default-deny NetworkPolicy to the namespace and allow only the traffic its workloads need.",
    controls: &["CIS-5.3.2", "NSA-network-policies", "MITRE-T1021"],
};
const SENSITIVE_APP: CheckInfo = CheckInfo {
    id: "K8S-exposure-sensitive-app",
    title: "Sensitive application exposed outside the cluster",
    severity: Severity::High,
    remediation: "Do not expose administration consoles and data stores outside the cluster; reach them through kubectl port-forward or an authenticated proxy.",
    controls: &["NSA-network-policies", "MITRE-T1190", "MITRE-T1133"],
};
const UNAUTHENTICATED_APP: CheckInfo = CheckInfo {
    id: "K8S-exposure-unauthenticated-app",
    title: "Exposed application configured without authentication",
    severity: Severity::Critical,
    remediation: "Turn authentication on (PostgreSQL: remove POSTGRES_HOST_AUTH_METHOD=trust; dashboard: remove --enable-skip-login; Redis: requirepass) and stop exposing it.",
    controls: &["NSA-network-policies", "MITRE-T1190", "MITRE-T1078.001"],
};

/// The exposure family.
pub struct Exposure;

/// One way a workload is reachable from outside.
#[derive(Debug, Clone)]
pub struct Exposed<'a> {
    /// The workload.
    pub workload: Workload<'a>,
    /// The Service or Ingress that exposes it.
    pub via: ResourceRef,
    /// How: `LoadBalancer 443/TCP`, `NodePort 30080/TCP`, `Ingress shop.example/`.
    pub how: String,
}

/// Every (workload, Service or Ingress) pair through which the workload is reachable
/// from outside the cluster.
pub fn exposures<'a>(ctx: &Context<'a>) -> Vec<Exposed<'a>> {
    let inv = ctx.inv;
    let mut out = Vec::new();
    let selected = |svc: &Object| -> Vec<Workload<'a>> {
        let Some(selector) = svc
            .value
            .get("spec")
            .and_then(|s| s.get("selector"))
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        if selector.is_empty() {
            return Vec::new();
        }
        ctx.workloads_in(inv.namespace_of(svc))
            .filter(|w| {
                selector
                    .iter()
                    .all(|(k, v)| w.label(k).is_some() && w.label(k) == v.as_str())
            })
            .copied()
            .collect()
    };
    for svc in inv.of_kind("Service") {
        let kind = str_at(&svc.value, &["spec", "type"]);
        if !matches!(kind, "LoadBalancer" | "NodePort") {
            continue;
        }
        let how = format!("{kind} {}", service_ports(svc, kind));
        for w in selected(svc) {
            out.push(Exposed {
                workload: w,
                via: inv.resource_ref(svc),
                how: how.clone(),
            });
        }
    }
    let services: HashMap<(&str, &str), &Object> = inv
        .of_kind("Service")
        .map(|s| ((inv.namespace_of(s), s.name()), s))
        .collect();
    for ingress in inv.of_kind("Ingress") {
        let ns = inv.namespace_of(ingress);
        for (service, at) in ingress_backends(ingress) {
            let Some(svc) = services.get(&(ns, service.as_str())).copied() else {
                continue;
            };
            for w in selected(svc) {
                out.push(Exposed {
                    workload: w,
                    via: inv.resource_ref(ingress),
                    how: format!("Ingress {at}"),
                });
            }
        }
    }
    out
}

fn service_ports(svc: &Object, kind: &str) -> String {
    let ports: Vec<String> = svc
        .value
        .get("spec")
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let number = if kind == "NodePort" {
                p.get("nodePort").or(p.get("port"))
            } else {
                p.get("port")
            };
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            format!(
                "{}/{protocol}",
                number.map(Value::to_string).unwrap_or_else(|| "?".into())
            )
        })
        .collect();
    ports.join(",")
}

/// `(service name, host/path)` of every backend of an Ingress (networking.k8s.io/v1 and
/// the older `serviceName` form).
fn ingress_backends(ingress: &Object) -> Vec<(String, String)> {
    let backend_service = |b: &Value| -> Option<String> {
        b.get("service")
            .and_then(|s| s.get("name"))
            .or_else(|| b.get("serviceName"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let spec = ingress.value.get("spec").unwrap_or(&Value::Null);
    let mut out = Vec::new();
    if let Some(svc) = spec
        .get("defaultBackend")
        .or_else(|| spec.get("backend"))
        .and_then(backend_service)
    {
        out.push((svc, "*/".to_string()));
    }
    for rule in spec
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let host = rule.get("host").and_then(Value::as_str).unwrap_or("*");
        let paths = rule
            .get("http")
            .and_then(|h| h.get("paths"))
            .and_then(Value::as_array);
        for p in paths.into_iter().flatten() {
            if let Some(svc) = p.get("backend").and_then(backend_service) {
                let path = p.get("path").and_then(Value::as_str).unwrap_or("/");
                out.push((svc, format!("{host}{path}")));
            }
        }
    }
    out
}

/// A sensitive application recognised by image repository.
struct Sensitive {
    /// Last path segment(s) of the image repository that identify it.
    repos: &'static [&'static str],
    name: &'static str,
    /// Why it is unauthenticated, if the container's config says so.
    unauthenticated: fn(&Value) -> Option<Evidence>,
}

fn no_auth_flag(_: &Value) -> Option<Evidence> {
    None
}

fn env_is(c: &Value, name: &str, value: &str) -> Option<usize> {
    c.get("env")
        .and_then(Value::as_array)?
        .iter()
        .position(|e| {
            e.get("name").and_then(Value::as_str) == Some(name)
                && e.get("value").and_then(Value::as_str) == Some(value)
        })
}

fn arg_present(c: &Value, flag: &str) -> Option<(String, usize)> {
    for field in ["args", "command"] {
        if let Some(i) = c.get(field).and_then(Value::as_array).and_then(|a| {
            a.iter().position(|v| {
                v.as_str()
                    .is_some_and(|s| s == flag || s.starts_with(&format!("{flag}=true")))
            })
        }) {
            return Some((field.to_string(), i));
        }
    }
    None
}

fn postgres_trust(c: &Value) -> Option<Evidence> {
    env_is(c, "POSTGRES_HOST_AUTH_METHOD", "trust").map(|i| ev(format!("env[{i}].value"), "trust"))
}

fn dashboard_skip_login(c: &Value) -> Option<Evidence> {
    arg_present(c, "--enable-skip-login")
        .map(|(f, i)| ev(format!("{f}[{i}]"), "--enable-skip-login"))
}

fn redis_no_password(c: &Value) -> Option<Evidence> {
    let configured = ["args", "command"].iter().any(|f| {
        c.get(*f).and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .any(|v| v.as_str().is_some_and(|s| s.contains("requirepass")))
        })
    }) || c.get("env").and_then(Value::as_array).is_some_and(|e| {
        e.iter().any(|v| {
            v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.contains("PASSWORD"))
        })
    });
    (!configured).then(|| ev("args", "<no requirepass>"))
}

const SENSITIVE: &[Sensitive] = &[
    Sensitive {
        repos: &[
            "kubernetesui/dashboard",
            "kubernetes-dashboard",
            "kubernetesui/dashboard-web",
            "kubernetesui/dashboard-api",
        ],
        name: "Kubernetes dashboard",
        unauthenticated: dashboard_skip_login,
    },
    Sensitive {
        repos: &[
            "kubeflow/centraldashboard",
            "centraldashboard",
            "kubeflownotebookswg/jupyter-web-app",
            "ml-pipeline/frontend",
        ],
        name: "Kubeflow",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &["redis", "bitnami/redis", "redis/redis-stack-server"],
        name: "Redis",
        unauthenticated: redis_no_password,
    },
    Sensitive {
        repos: &["postgres", "bitnami/postgresql", "postgresql"],
        name: "PostgreSQL",
        unauthenticated: postgres_trust,
    },
    Sensitive {
        repos: &["mysql", "mariadb", "bitnami/mysql", "bitnami/mariadb"],
        name: "MySQL",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &["mongo", "bitnami/mongodb"],
        name: "MongoDB",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &[
            "elasticsearch",
            "elasticsearch/elasticsearch",
            "opensearchproject/opensearch",
        ],
        name: "Elasticsearch",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &["memcached", "bitnami/memcached"],
        name: "Memcached",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &[
            "etcd",
            "coreos/etcd",
            "etcd-development/etcd",
            "bitnami/etcd",
        ],
        name: "etcd",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &["jenkins/jenkins", "jenkins"],
        name: "Jenkins",
        unauthenticated: no_auth_flag,
    },
    Sensitive {
        repos: &["argoproj/argocli", "argoproj/argocd"],
        name: "Argo",
        unauthenticated: no_auth_flag,
    },
];

fn sensitive(image: &str) -> Option<&'static Sensitive> {
    let repo = ImageRef::parse(image).repository;
    // Drop the registry host (first segment with a dot or colon, or `localhost`).
    let repo = match repo.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => repo,
    };
    let repo = repo.strip_prefix("library/").unwrap_or(repo);
    SENSITIVE.iter().find(|s| {
        s.repos
            .iter()
            .any(|r| repo == *r || repo.ends_with(&format!("/{r}")))
    })
}

impl Family for Exposure {
    fn name(&self) -> &'static str {
        "exposure"
    }

    fn checks(&self) -> Vec<&'static CheckInfo> {
        vec![
            &EXTERNAL_SERVICE,
            &INGRESS_NO_TLS,
            &NO_NETWORK_POLICY,
            &SENSITIVE_APP,
            &UNAUTHENTICATED_APP,
        ]
    }

    fn run(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let inv = ctx.inv;
        let exposed = exposures(ctx);
        let mut targets_of: HashMap<&ResourceRef, Vec<String>> = HashMap::new();
        for e in &exposed {
            targets_of.entry(&e.via).or_default().push(format!(
                "{} {}",
                e.workload.object.kind(),
                e.workload.object.name()
            ));
        }
        for svc in inv.of_kind("Service") {
            let kind = str_at(&svc.value, &["spec", "type"]);
            if !matches!(kind, "LoadBalancer" | "NodePort") {
                continue;
            }
            let resource = inv.resource_ref(svc);
            let targets = targets_of.get(&resource).cloned().unwrap_or_default();
            let mut evidence = vec![ev("spec.type", kind)];
            let ranges = svc
                .value
                .get("spec")
                .and_then(|s| s.get("loadBalancerSourceRanges"))
                .and_then(Value::as_array);
            if kind == "LoadBalancer" {
                let ranges: Vec<&str> = ranges
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                evidence.push(ev(
                    "spec.loadBalancerSourceRanges",
                    if ranges.is_empty() {
                        "<unset>".to_string()
                    } else {
                        ranges.join(",")
                    },
                ));
            }
            let title = format!(
                "Service {} is a {kind} on {}{}",
                svc.name(),
                service_ports(svc, kind),
                if targets.is_empty() {
                    String::new()
                } else {
                    format!(", exposing {}", targets.join(", "))
                }
            );
            out.push(EXTERNAL_SERVICE.finding(&resource, title, evidence));
        }
        for ingress in inv.of_kind("Ingress") {
            let has_tls = ingress
                .value
                .get("spec")
                .and_then(|s| s.get("tls"))
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty());
            if !has_tls {
                out.push(INGRESS_NO_TLS.finding(
                    &inv.resource_ref(ingress),
                    format!("Ingress {} serves plain HTTP", ingress.name()),
                    vec![ev("spec.tls", "<unset>")],
                ));
            }
        }
        // Sensitive applications, once per workload and container.
        let mut seen = HashSet::new();
        for e in &exposed {
            for c in e.workload.containers() {
                let Some(app) = sensitive(c.image()) else {
                    continue;
                };
                if !seen.insert((e.workload.object as *const Object, c.path.clone())) {
                    continue;
                }
                let resource = inv.resource_ref(e.workload.object);
                let mut evidence = vec![
                    ev(format!("{}.image", c.path), c.image()),
                    ev(e.via.display_name(), &e.how),
                ];
                if let Some(why) = (app.unauthenticated)(c.value) {
                    evidence.insert(1, ev(format!("{}.{}", c.path, why.path), why.value));
                    out.push(UNAUTHENTICATED_APP.finding(
                        &resource,
                        format!(
                            "{} without authentication is exposed through {} ({})",
                            app.name,
                            e.via.display_name(),
                            e.how
                        ),
                        evidence,
                    ));
                } else {
                    out.push(SENSITIVE_APP.finding(
                        &resource,
                        format!(
                            "{} is exposed through {} ({})",
                            app.name,
                            e.via.display_name(),
                            e.how
                        ),
                        evidence,
                    ));
                }
            }
        }
        let with_policy: HashSet<&str> = inv
            .of_kind("NetworkPolicy")
            .map(|p| inv.namespace_of(p))
            .collect();
        for ns in inv.of_kind("Namespace") {
            let name = ns.name();
            if name.starts_with("kube-") || with_policy.contains(name) {
                continue;
            }
            let count = ctx
                .workloads
                .iter()
                .filter(|w| inv.namespace_of(w.object) == name)
                .count();
            if count > 0 {
                out.push(NO_NETWORK_POLICY.finding(
                    &inv.resource_ref(ns),
                    format!("Namespace {name} has {count} workload(s) and no NetworkPolicy; all traffic to them is allowed"),
                    vec![ev("NetworkPolicy", "<none>")],
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{findings, fired, inventory};

    const SHOP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {metadata: {labels: {app: web, tier: front}}, spec: {containers: [{name: web, image: nginx:1.27}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: pg
        image: docker.io/library/postgres:16
        env: [{name: POSTGRES_HOST_AUTH_METHOD, value: trust}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: ClusterIP, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db-public, namespace: shop}
spec: {type: LoadBalancer, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  rules:
  - host: shop.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
"#;

    #[test]
    fn exposures_map_services_and_ingresses_to_workloads() {
        let inv = inventory(SHOP);
        let ctx = Context::new(&inv);
        let got: Vec<String> = exposures(&ctx)
            .iter()
            .map(|e| {
                format!(
                    "{} <- {} ({})",
                    e.workload.object.name(),
                    e.via.display_name(),
                    e.how
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "db <- Service shop/db-public (LoadBalancer 5432/TCP)",
                "web <- Ingress shop/shop (Ingress shop.example/)"
            ]
        );
    }

    #[test]
    fn findings_for_the_exposed_shop() {
        assert_eq!(
            fired(&Exposure, SHOP),
            [
                "K8S-exposure-unauthenticated-app StatefulSet shop/db",
                "K8S-exposure-external-service Service shop/db-public",
                "K8S-exposure-ingress-no-tls Ingress shop/shop",
                "K8S-exposure-no-network-policy Namespace shop",
            ]
        );
        let f = findings(&Exposure, SHOP);
        let pg = f.first().unwrap();
        assert_eq!(
            pg.evidence.get(1).unwrap().path,
            "spec.template.spec.containers[0].env[0].value"
        );
    }

    #[test]
    fn internal_services_with_policies_and_tls_pass() {
        let yaml = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: shop}
spec: {template: {metadata: {labels: {app: cache}}, spec: {containers: [{name: r, image: redis:7}]}}}
---
apiVersion: v1
kind: Service
metadata: {name: cache, namespace: shop}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: x, namespace: shop}
spec: {tls: [{hosts: [a.example], secretName: a}], defaultBackend: {service: {name: other, port: {number: 80}}}}
"#;
        assert_eq!(fired(&Exposure, yaml), Vec::<String>::new());
    }

    #[test]
    fn sensitive_images() {
        assert_eq!(
            sensitive("docker.io/kubernetesui/dashboard:v2.7.0").map(|s| s.name),
            Some("Kubernetes dashboard")
        );
        assert_eq!(sensitive("redis").map(|s| s.name), Some("Redis"));
        assert_eq!(
            sensitive("localhost:5000/bitnami/redis:7").map(|s| s.name),
            Some("Redis")
        );
        assert!(sensitive("myorg/redis-exporter:1").is_none());
        assert!(sensitive("nginx").is_none());
    }
}
