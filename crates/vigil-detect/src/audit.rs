//! Kubernetes audit events and their fields, named as Falco's k8saudit plugin names them
//! (`ka.verb`, `ka.user.name`, `ka.req.pod.containers.privileged`, `jevt.value[/ptr]`,
//! ...), so existing k8saudit rules files load and mean the same here.
//!
//! An [`AuditEvent`] is the decoded `audit.k8s.io` Event; every field is a path into it
//! (`[*]` walks every element of a list), read by borrowing from the decoded JSON.

use crate::eval::{Event, Field, FieldTable, FieldType, Scalar};
use serde_json::Value;
use std::ops::ControlFlow;

/// One step of a field's path into the event.
#[derive(Debug, Clone, Copy)]
enum Seg {
    Key(&'static str),
    /// Every element of a list.
    Each,
    /// Values computed from the value reached so far, always text (`ka.req.csr.subject.*`
    /// decode a CSR, `ka.req.jsonpatch.ops` joins op and path); the last step of a path.
    /// The functions live in their own modules ([`crate::csr`], [`crate::jsonpatch`]).
    Computed(Compute),
}

/// A computed step: calls its callback with each text derived from the value.
type Compute = fn(&Value, &mut dyn FnMut(&str) -> ControlFlow<()>) -> ControlFlow<()>;

use Seg::{Computed, Each, Key};

/// `(name, type, several values, path)` of every `ka.*` field.
const FIELDS: &[(&str, FieldType, bool, &[Seg])] = &[
    ("ka.auditid", FieldType::Str, false, &[Key("auditID")]),
    ("ka.stage", FieldType::Str, false, &[Key("stage")]),
    ("ka.verb", FieldType::Str, false, &[Key("verb")]),
    ("ka.uri", FieldType::Str, false, &[Key("requestURI")]),
    ("ka.useragent", FieldType::Str, false, &[Key("userAgent")]),
    (
        "ka.sourceips",
        FieldType::Str,
        true,
        &[Key("sourceIPs"), Each],
    ),
    (
        "ka.user.name",
        FieldType::Str,
        false,
        &[Key("user"), Key("username")],
    ),
    (
        "ka.user.groups",
        FieldType::Str,
        true,
        &[Key("user"), Key("groups"), Each],
    ),
    (
        "ka.impuser.name",
        FieldType::Str,
        false,
        &[Key("impersonatedUser"), Key("username")],
    ),
    (
        "ka.target.resource",
        FieldType::Str,
        false,
        &[Key("objectRef"), Key("resource")],
    ),
    (
        "ka.target.subresource",
        FieldType::Str,
        false,
        &[Key("objectRef"), Key("subresource")],
    ),
    (
        "ka.target.namespace",
        FieldType::Str,
        false,
        &[Key("objectRef"), Key("namespace")],
    ),
    (
        "ka.target.name",
        FieldType::Str,
        false,
        &[Key("objectRef"), Key("name")],
    ),
    // Text, as in Falco, so rules such as `ka.response.code startswith 2` keep working.
    (
        "ka.response.code",
        FieldType::Str,
        false,
        &[Key("responseStatus"), Key("code")],
    ),
    (
        "ka.response.reason",
        FieldType::Str,
        false,
        &[Key("responseStatus"), Key("reason")],
    ),
    (
        "ka.auth.decision",
        FieldType::Str,
        false,
        &[Key("annotations"), Key("authorization.k8s.io/decision")],
    ),
    (
        "ka.auth.reason",
        FieldType::Str,
        false,
        &[Key("annotations"), Key("authorization.k8s.io/reason")],
    ),
    (
        "ka.req.pod.containers.image",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("containers"),
            Each,
            Key("image"),
        ],
    ),
    (
        "ka.req.pod.containers.privileged",
        FieldType::Bool,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("containers"),
            Each,
            Key("securityContext"),
            Key("privileged"),
        ],
    ),
    (
        "ka.req.pod.containers.add_capabilities",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("containers"),
            Each,
            Key("securityContext"),
            Key("capabilities"),
            Key("add"),
            Each,
        ],
    ),
    (
        "ka.req.pod.containers.host_port",
        FieldType::Int,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("containers"),
            Each,
            Key("ports"),
            Each,
            Key("hostPort"),
        ],
    ),
    (
        "ka.req.pod.host_network",
        FieldType::Bool,
        false,
        &[Key("requestObject"), Key("spec"), Key("hostNetwork")],
    ),
    (
        "ka.req.pod.host_pid",
        FieldType::Bool,
        false,
        &[Key("requestObject"), Key("spec"), Key("hostPID")],
    ),
    (
        "ka.req.pod.host_ipc",
        FieldType::Bool,
        false,
        &[Key("requestObject"), Key("spec"), Key("hostIPC")],
    ),
    (
        "ka.req.pod.volumes.hostpath",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("volumes"),
            Each,
            Key("hostPath"),
            Key("path"),
        ],
    ),
    (
        "ka.req.binding.role",
        FieldType::Str,
        false,
        &[Key("requestObject"), Key("roleRef"), Key("name")],
    ),
    (
        "ka.req.binding.subjects",
        FieldType::Str,
        true,
        &[Key("requestObject"), Key("subjects"), Each, Key("name")],
    ),
    (
        "ka.req.role.rules.verbs",
        FieldType::Str,
        true,
        &[Key("requestObject"), Key("rules"), Each, Key("verbs"), Each],
    ),
    (
        "ka.req.role.rules.resources",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("rules"),
            Each,
            Key("resources"),
            Each,
        ],
    ),
    (
        "ka.req.role.rules.apigroups",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("rules"),
            Each,
            Key("apiGroups"),
            Each,
        ],
    ),
    (
        "ka.req.service.type",
        FieldType::Str,
        false,
        &[Key("requestObject"), Key("spec"), Key("type")],
    ),
    (
        "ka.req.service.ports",
        FieldType::Int,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("ports"),
            Each,
            Key("port"),
        ],
    ),
    (
        "ka.req.configmap.name",
        FieldType::Str,
        false,
        &[Key("requestObject"), Key("metadata"), Key("name")],
    ),
    (
        "ka.resp.name",
        FieldType::Str,
        false,
        &[Key("responseObject"), Key("metadata"), Key("name")],
    ),
    // Vigil's additions (not in Falco's k8saudit plugin), for the built-in detections of
    // exposed services, sidecar injection and CSRs for system identities.
    (
        "ka.req.service.name",
        FieldType::Str,
        false,
        &[Key("requestObject"), Key("metadata"), Key("name")],
    ),
    (
        "ka.req.service.port_names",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("ports"),
            Each,
            Key("name"),
        ],
    ),
    // Numeric target ports only; a named targetPort has no number here.
    (
        "ka.req.service.target_ports",
        FieldType::Int,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("ports"),
            Each,
            Key("targetPort"),
        ],
    ),
    // The Service as stored after a create, update or patch (RequestResponse level), so
    // a patch that only sets `type` still shows the ports it exposes.
    (
        "ka.resp.service.ports",
        FieldType::Int,
        true,
        &[
            Key("responseObject"),
            Key("spec"),
            Key("ports"),
            Each,
            Key("port"),
        ],
    ),
    (
        "ka.resp.service.target_ports",
        FieldType::Int,
        true,
        &[
            Key("responseObject"),
            Key("spec"),
            Key("ports"),
            Each,
            Key("targetPort"),
        ],
    ),
    (
        "ka.req.pod.ephemeral_containers.image",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("ephemeralContainers"),
            Each,
            Key("image"),
        ],
    ),
    (
        "ka.req.workload.containers.image",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("template"),
            Key("spec"),
            Key("containers"),
            Each,
            Key("image"),
        ],
    ),
    (
        "ka.req.jsonpatch.ops",
        FieldType::Str,
        true,
        &[Key("requestObject"), Computed(crate::jsonpatch::ops)],
    ),
    // Images in the values a JSON patch writes (a container added whole).
    (
        "ka.req.jsonpatch.images",
        FieldType::Str,
        true,
        &[Key("requestObject"), Each, Key("value"), Key("image")],
    ),
    (
        "ka.req.csr.subject.cn",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("request"),
            Computed(crate::csr::common_names),
        ],
    ),
    (
        "ka.req.csr.subject.orgs",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("spec"),
            Key("request"),
            Computed(crate::csr::organizations),
        ],
    ),
    (
        "ka.req.csr.signer",
        FieldType::Str,
        false,
        &[Key("requestObject"), Key("spec"), Key("signerName")],
    ),
    (
        "ka.req.csr.conditions",
        FieldType::Str,
        true,
        &[
            Key("requestObject"),
            Key("status"),
            Key("conditions"),
            Each,
            Key("type"),
        ],
    ),
];

/// Field id of `jevt.value[/pointer]`: any value of the event by JSON pointer.
const JEVT_VALUE: u32 = u32::MAX;

/// The `ka.*` and `jevt.value` fields.
#[derive(Debug, Default, Clone, Copy)]
pub struct AuditFields;

impl FieldTable for AuditFields {
    fn resolve(&self, name: &str, arg: Option<&str>) -> Result<Field, String> {
        if name == "jevt.value" {
            let Some(pointer) = arg.filter(|a| a.starts_with('/')) else {
                return Err(
                    "jevt.value needs a JSON pointer argument, e.g. jevt.value[/verb]".into(),
                );
            };
            return Ok(Field {
                id: JEVT_VALUE,
                arg: Some(pointer.to_string()),
                ty: FieldType::Str,
                list: false,
                name: name.into(),
            });
        }
        let (i, (_, ty, list, _)) = FIELDS
            .iter()
            .enumerate()
            .find(|(_, (n, ..))| *n == name)
            .ok_or_else(|| format!("unknown audit field {name}"))?;
        if arg.is_some() {
            return Err(format!("{name} takes no argument"));
        }
        Ok(Field {
            id: i as u32,
            arg: None,
            ty: *ty,
            list: *list,
            name: name.into(),
        })
    }
}

/// One decoded audit event (`audit.k8s.io/v1` or `v1beta1` `Event`).
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// The event as decoded.
    pub value: Value,
}

impl Event for AuditEvent {
    fn values(&self, field: &Field, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
        if field.id == JEVT_VALUE {
            let found = field.arg.as_deref().and_then(|p| self.value.pointer(p));
            match found {
                Some(Value::String(s)) => {
                    let _ = f(Scalar::Str(s));
                }
                // Falco renders non-string values as their JSON text.
                Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                    let text = v.to_string();
                    let _ = f(Scalar::Str(&text));
                }
                _ => {}
            }
            return;
        }
        let Some((_, ty, _, path)) = FIELDS.get(field.id as usize) else {
            return;
        };
        let _ = walk(&self.value, path, *ty, f);
    }
}

fn walk(
    v: &Value,
    path: &[Seg],
    ty: FieldType,
    f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match path.split_first() {
        None => match (ty, v) {
            (FieldType::Str, Value::String(s)) => f(Scalar::Str(s)),
            (FieldType::Str, Value::Number(n)) => f(Scalar::Str(&n.to_string())),
            (FieldType::Int, Value::Number(n)) => n
                .as_i64()
                .map_or(ControlFlow::Continue(()), |n| f(Scalar::Int(n))),
            (FieldType::Bool, Value::Bool(b)) => f(Scalar::Bool(*b)),
            _ => ControlFlow::Continue(()),
        },
        Some((Key(k), rest)) => match v.get(k) {
            Some(next) => walk(next, rest, ty, f),
            None => ControlFlow::Continue(()),
        },
        Some((Each, rest)) => {
            for item in v.as_array().into_iter().flatten() {
                walk(item, rest, ty, f)?;
            }
            ControlFlow::Continue(())
        }
        Some((Computed(compute), _)) => compute(v, &mut |s| f(Scalar::Str(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use std::path::Path;

    /// A pod creation as the API server logs it at RequestResponse level.
    const PRIVILEGED_POD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",
      "auditID":"6f4f3a1e-8b0a-4c55-9d3e-2b8b1f0a7c11","stage":"ResponseComplete",
      "requestURI":"/api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply","verb":"create",
      "user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},
      "sourceIPs":["203.0.113.7"],"userAgent":"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
      "objectRef":{"resource":"pods","namespace":"default","name":"debug","apiVersion":"v1"},
      "responseStatus":{"metadata":{},"code":201},
      "requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"debug","namespace":"default"},
        "spec":{"hostPID":true,"volumes":[{"name":"root","hostPath":{"path":"/","type":""}}],
          "containers":[{"name":"sidecar","image":"busybox"},{"name":"c","image":"alpine:3.20","securityContext":{"privileged":true}}]}},
      "requestReceivedTimestamp":"2026-11-29T12:00:00.000000Z","stageTimestamp":"2026-11-29T12:00:00.041000Z",
      "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"devs\""}}"#;

    /// Rules written as in Falco's k8s_audit_rules.yaml.
    const RULES: &str = r#"
- list: k8s_audit_stages
  items: ["ResponseComplete"]
- macro: kevt
  condition: (jevt.value[/stage] in (k8s_audit_stages))
- macro: kcreate
  condition: ka.verb=create
- macro: pod
  condition: ka.target.resource=pods and not ka.target.subresource exists
- macro: response_successful
  condition: (ka.response.code startswith 2)
- list: falco_sensitive_mount_images
  items: [docker.io/sysdig/sysdig]
- list: sensitive_host_paths
  items: [/proc, /var/run/docker.sock, /, /etc, /root, /var/lib/kubelet]
- rule: Create Privileged Pod
  desc: Detect an attempt to start a pod with a privileged container
  condition: kevt and pod and kcreate and ka.req.pod.containers.privileged intersects (true) and not ka.req.pod.containers.image in (falco_sensitive_mount_images)
  output: Pod started with privileged container (user=%ka.user.name pod=%ka.resp.name)
  priority: WARNING
  source: k8s_audit
- rule: Create Sensitive Mount Pod
  desc: hostPath of a sensitive directory
  condition: kevt and pod and kcreate and ka.req.pod.volumes.hostpath intersects (sensitive_host_paths)
  output: Pod started with sensitive mount (user=%ka.user.name)
  priority: WARNING
  source: k8s_audit
- rule: Create HostNetwork Pod
  desc: host network
  condition: kevt and pod and kcreate and ka.req.pod.host_network = true
  output: x
  priority: WARNING
  source: k8s_audit
- rule: Attach to cluster-admin Role
  desc: binding to cluster-admin
  condition: kevt and ka.target.resource=clusterrolebindings and kcreate and ka.req.binding.role=cluster-admin
  output: x
  priority: WARNING
  source: k8s_audit
"#;

    #[test]
    fn falco_k8saudit_rules_on_a_real_shaped_event() {
        let mut set = RuleSet::default();
        set.load(RULES, Path::new("k8s_audit_rules.yaml")).unwrap();
        let event = AuditEvent {
            value: serde_json::from_str(PRIVILEGED_POD).unwrap(),
        };
        let fired: Vec<&str> = set
            .conditions()
            .unwrap()
            .into_iter()
            .filter(|(_, expr)| {
                crate::eval::compile(expr, &AuditFields)
                    .unwrap()
                    .matches(&event)
            })
            .map(|(r, _)| r.name.as_str())
            .collect();
        assert_eq!(
            fired,
            ["Create Privileged Pod", "Create Sensitive Mount Pod"]
        );
    }

    #[test]
    fn fields_read_the_event() {
        let event = AuditEvent {
            value: serde_json::from_str(PRIVILEGED_POD).unwrap(),
        };
        let check = |cond: &str| {
            let expr = crate::condition::parse(cond).unwrap();
            crate::eval::compile(&expr, &AuditFields)
                .unwrap_or_else(|e| panic!("{cond}: {e}"))
                .matches(&event)
        };
        assert!(check(
            "ka.user.name = alice@example.com and ka.user.groups intersects (devs)"
        ));
        assert!(check("ka.response.code = 201 and ka.auth.decision = allow"));
        assert!(check("ka.response.code startswith 2"));
        assert!(check(
            "ka.req.pod.host_pid = true and not ka.req.pod.host_network exists"
        ));
        assert!(check(
            "ka.req.pod.containers.image in (busybox, alpine:3.20)"
        ));
        assert!(check(
            "ka.sourceips in (203.0.113.7) and ka.useragent startswith kubectl/"
        ));
        assert!(check(
            "jevt.value[/responseStatus/code] = 201 and jevt.value[/objectRef/name] = debug"
        ));
        assert!(!check("ka.target.subresource exists"));
        for (cond, want) in [
            ("ka.nope = 1", "unknown audit field ka.nope"),
            ("jevt.value = 1", "needs a JSON pointer"),
            ("ka.verb[1] = x", "takes no argument"),
        ] {
            let err = crate::eval::compile(&crate::condition::parse(cond).unwrap(), &AuditFields)
                .unwrap_err();
            assert!(err.message.contains(want), "{cond}: {err}");
        }
    }
}
