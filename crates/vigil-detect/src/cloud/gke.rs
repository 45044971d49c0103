//! GKE audit logs as Cloud Logging stores them.
//!
//! A `LogEntry` (Cloud Logging API reference) on the monitored resource `k8s_cluster`
//! (labels `project_id`, `location`, `cluster_name`) whose `protoPayload` is a
//! `type.googleapis.com/google.cloud.audit.AuditLog` (Cloud Audit Logs reference):
//! `serviceName` `k8s.io`, `methodName` `io.k8s.<group>.<version>.<resource>[.<sub>].<verb>`
//! (`io.k8s.core.v1.pods.exec.create`; the group reversed and dotted:
//! `io.k8s.authorization.rbac.v1…` for `rbac.authorization.k8s.io`), `resourceName`
//! `<group>/<version>/namespaces/<ns>/<resource>/<name>[/<sub>]` with the real group
//! (`core` for the legacy group), `authenticationInfo.principalEmail` (or
//! `principalSubject` for third-party identities), `requestMetadata.callerIp` and
//! `callerSuppliedUserAgent`, `request` and `response` (Kubernetes objects with an added
//! `@type`), `status` (a `google.rpc.Status`; `{}` when OK, since proto3 JSON leaves zero
//! out), and the entry's `labels`, which hold the audit annotations
//! (`authorization.k8s.io/decision`, `…/reason`, `pod-security.kubernetes.io/…`,
//! `mutation.webhook.admission.k8s.io/…`). `insertId` and `operation.id` are the API
//! server's audit ID. Shapes checked against a real entry of a GKE pod create denied by
//! Binary Authorization (published in a Qwiklabs write-up) and the schema notes of the
//! gke-mcp project (`k8s_audit_logs.md`); GKE cluster-management entries (`gke_cluster`,
//! `google.container.v1.ClusterManager.*`) are AuditLogs too and are skipped.

use super::{CloudEvent, Unwrapped, place};
use serde_json::{Map, Value, json};

/// The `@type` of Cloud Audit Logs payloads.
pub const AUDIT_LOG_TYPE: &str = "type.googleapis.com/google.cloud.audit.AuditLog";

/// A Cloud Logging entry: a payload field, or the `logName` every entry has.
pub(super) fn is_log_entry(o: &Map<String, Value>) -> bool {
    ["protoPayload", "logName", "jsonPayload", "textPayload"]
        .iter()
        .any(|k| o.contains_key(*k))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut node = v;
    for k in path {
        node = node.get(k)?;
    }
    node.as_str()
}

/// Converts one entry, or counts it as skipped when it is not a Kubernetes audit log.
pub(super) fn entry(o: &Map<String, Value>, at: &str, out: &mut Unwrapped) {
    let Some(payload) = o.get("protoPayload") else {
        out.skipped += 1;
        return;
    };
    let Some(p) = payload.as_object() else {
        out.errors.push(place(at, "protoPayload is not an object"));
        return;
    };
    let resource_type = o
        .get("resource")
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str);
    if p.get("@type").and_then(Value::as_str) != Some(AUDIT_LOG_TYPE)
        || resource_type != Some("k8s_cluster")
    {
        out.skipped += 1;
        return;
    }
    match convert(o, p) {
        Ok(event) => out.events.push(CloudEvent {
            event,
            cluster: o
                .get("resource")
                .and_then(|r| str_at(r, &["labels", "cluster_name"]))
                .map(String::from),
        }),
        Err(e) => out.errors.push(place(at, &e)),
    }
}

/// Where a request went, as the API server's RequestInfo would have it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// API group, `""` for the legacy core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource (plural).
    pub resource: String,
    /// Namespace, when namespaced (a namespace's own name for `namespaces`).
    pub namespace: Option<String>,
    /// Object name; none for collections.
    pub name: Option<String>,
    /// Subresource (`exec`, `status`, `token`, ...).
    pub subresource: Option<String>,
    /// The path under `/api/v1` or `/apis/GROUP/VERSION`.
    pub path: String,
}

/// Parses a `resourceName` such as `core/v1/namespaces/shop/pods/web-0/exec` the way
/// the API server splits a request path (`namespaces/NS/status` and `/finalize` are
/// the namespace's own subresources; anything after the subresource stays in the
/// path, as for `nodes/NAME/proxy/metrics`).
pub fn parse_resource_name(name: &str) -> Result<Target, String> {
    let parts: Vec<&str> = name.split('/').collect();
    let bad = || {
        format!(
            "resourceName {name:?} is not GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]"
        )
    };
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let [group, version, rest @ ..] = parts.as_slice() else {
        return Err(bad());
    };
    let mut rest: &[&str] = rest;
    let mut namespace = None;
    if let [first, ns, tail @ ..] = rest
        && *first == "namespaces"
    {
        namespace = Some(ns.to_string());
        if let [next, ..] = tail
            && *next != "status"
            && *next != "finalize"
        {
            rest = tail;
        }
    }
    let [resource, more @ ..] = rest else {
        return Err(bad());
    };
    Ok(Target {
        group: if *group == "core" {
            String::new()
        } else {
            group.to_string()
        },
        version: version.to_string(),
        resource: resource.to_string(),
        namespace,
        name: more.first().map(|s| s.to_string()),
        subresource: more.get(1).map(|s| s.to_string()),
        path: parts.get(2..).unwrap_or_default().join("/"),
    })
}

/// The verb and, when the method names one, the subresource of a `methodName`
/// (`io.k8s.core.v1.pods.exec.create` → `create`, `exec`), given the resource from
/// the resourceName. The verb is the last segment, as Kubernetes names it (`get`,
/// `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, and
/// whatever else a server logs).
pub fn parse_method(
    method: &str,
    resource: Option<&str>,
) -> Result<(String, Option<String>), String> {
    let segs: Vec<&str> = method.split('.').collect();
    let verb = segs.last().copied().unwrap_or_default();
    if segs.len() < 3
        || segs.iter().any(|s| s.is_empty())
        || !verb.bytes().all(|b| b.is_ascii_lowercase())
    {
        return Err(format!(
            "methodName {method:?} is not io.k8s.GROUP.VERSION.RESOURCE[.SUBRESOURCE].VERB"
        ));
    }
    // `….VERSION.RESOURCE.SUBRESOURCE.VERB`: only then is the segment before the verb a
    // subresource (a group or version segment that happens to equal the resource is not).
    let sub = match (resource, segs.len().checked_sub(4).map(|i| segs.get(i..))) {
        (Some(r), Some(Some([version, res, sub, _verb])))
            if is_version(version) && res == &r && sub != &r =>
        {
            Some(sub.to_string())
        }
        _ => None,
    };
    Ok((verb.to_string(), sub))
}

/// A Kubernetes API version: `v1`, `v1beta1`, `v2alpha3`.
fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = rest.get(digits..).unwrap_or_default();
    let tail = rest
        .strip_prefix("alpha")
        .or_else(|| rest.strip_prefix("beta"))
        .unwrap_or(rest);
    digits > 0
        && (rest.is_empty() || (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit())))
}

/// The HTTP status of a `google.rpc.Code`, as Google's own HTTP mapping pairs them
/// (`google/rpc/code.proto`); OK is 201 for a create and 101 (Switching Protocols) for
/// the streaming subresources, as the API server answers and logs them.
pub fn http_status(code: i64, verb: &str, subresource: Option<&str>) -> i64 {
    match code {
        0 => match (verb, subresource) {
            // kubectl before 1.30 POSTs (create), later ones open a WebSocket (get).
            (_, Some("exec" | "attach" | "portforward")) => 101,
            ("create", _) => 201,
            _ => 200,
        },
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// A Kubernetes object of the payload without the `@type` Cloud Logging added.
fn object(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("@type");
    }
    v
}

fn text<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

/// Builds the audit Event of one k8s_cluster AuditLog entry.
fn convert(entry: &Map<String, Value>, p: &Map<String, Value>) -> Result<Value, String> {
    let method = text(p, "methodName").ok_or("AuditLog without a methodName")?;
    let target = match p.get("resourceName") {
        None => None,
        Some(Value::String(r)) if r.starts_with('/') => None,
        Some(Value::String(r)) => Some(parse_resource_name(r)?),
        Some(_) => return Err("resourceName is not text".into()),
    };
    let (verb, method_sub) = parse_method(method, target.as_ref().map(|t| t.resource.as_str()))?;
    // The auditID: GKE sets insertId (and operation.id) to the API server's audit ID.
    let audit_id = text(entry, "insertId")
        .or_else(|| {
            entry
                .get("operation")
                .and_then(|o| o.get("id"))
                .and_then(Value::as_str)
        })
        .ok_or("entry without insertId or operation.id")?;
    let time = text(entry, "timestamp").ok_or("entry without a timestamp")?;

    let mut e = Map::new();
    e.insert("kind".into(), "Event".into());
    e.insert("apiVersion".into(), "audit.k8s.io/v1".into());
    let level = match (p.get("request"), p.get("response")) {
        (_, Some(_)) => "RequestResponse",
        (Some(_), None) => "Request",
        (None, None) => "Metadata",
    };
    e.insert("level".into(), level.into());
    e.insert("auditID".into(), audit_id.into());
    e.insert("stage".into(), "ResponseComplete".into());

    let mut subresource = target.as_ref().and_then(|t| t.subresource.clone());
    if subresource.is_none() {
        subresource = method_sub;
    }
    let uri = match (&target, p.get("resourceName").and_then(Value::as_str)) {
        (Some(t), _) => {
            let mut uri = if t.group.is_empty() {
                format!("/api/{}/{}", t.version, t.path)
            } else {
                format!("/apis/{}/{}/{}", t.group, t.version, t.path)
            };
            if t.subresource.is_none()
                && let Some(s) = &subresource
            {
                uri.push('/');
                uri.push_str(s);
            }
            if verb == "watch" {
                uri.push_str("?watch=true");
            }
            uri
        }
        (None, Some(path)) => path.to_string(),
        (None, None) => String::new(),
    };
    e.insert("requestURI".into(), uri.into());
    e.insert("verb".into(), verb.as_str().into());

    let auth = p.get("authenticationInfo");
    let user = auth
        .and_then(|a| {
            a.get("principalEmail")
                .or_else(|| a.get("principalSubject"))
        })
        .and_then(Value::as_str);
    let mut u = Map::new();
    if let Some(user) = user {
        u.insert("username".into(), user.into());
    }
    e.insert("user".into(), Value::Object(u));
    let meta = p.get("requestMetadata");
    if let Some(ip) = meta.and_then(|m| m.get("callerIp")).and_then(Value::as_str) {
        e.insert("sourceIPs".into(), json!([ip]));
    }
    if let Some(ua) = meta
        .and_then(|m| m.get("callerSuppliedUserAgent"))
        .and_then(Value::as_str)
    {
        e.insert("userAgent".into(), ua.into());
    }

    if let Some(t) = &target {
        let mut r = Map::new();
        r.insert("resource".into(), t.resource.as_str().into());
        if let Some(ns) = &t.namespace {
            r.insert("namespace".into(), ns.as_str().into());
        }
        if let Some(n) = &t.name {
            r.insert("name".into(), n.as_str().into());
        }
        r.insert("apiGroup".into(), t.group.as_str().into());
        r.insert("apiVersion".into(), t.version.as_str().into());
        if let Some(s) = &subresource {
            r.insert("subresource".into(), s.as_str().into());
        }
        e.insert("objectRef".into(), Value::Object(r));
    }

    e.insert(
        "responseStatus".into(),
        response_status(p, &verb, subresource.as_deref())?,
    );
    if let Some(req) = p.get("request") {
        e.insert("requestObject".into(), object(req));
    }
    if let Some(resp) = p.get("response") {
        e.insert("responseObject".into(), object(resp));
    }
    e.insert("requestReceivedTimestamp".into(), time.into());
    e.insert("stageTimestamp".into(), time.into());

    let mut annotations: Map<String, Value> = entry
        .get("labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.is_string())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Without the label, authorizationInfo still says whether RBAC/IAM allowed it.
    if !annotations.contains_key("authorization.k8s.io/decision")
        && let Some(granted) = p
            .get("authorizationInfo")
            .and_then(|a| a.get(0))
            .and_then(|a| a.get("granted"))
            .and_then(Value::as_bool)
    {
        let decision = if granted { "allow" } else { "forbid" };
        annotations.insert("authorization.k8s.io/decision".into(), decision.into());
    }
    if !annotations.is_empty() {
        e.insert("annotations".into(), Value::Object(annotations));
    }
    Ok(Value::Object(e))
}

/// `responseStatus`: the Kubernetes Status the payload's `response` carries when the
/// request failed (its HTTP code, reason and message), else the `google.rpc.Status`
/// code mapped to HTTP.
fn response_status(p: &Map<String, Value>, verb: &str, sub: Option<&str>) -> Result<Value, String> {
    let status = p
        .get("response")
        .filter(|r| r.get("kind").and_then(Value::as_str) == Some("Status"));
    let mut s = Map::new();
    s.insert("metadata".into(), json!({}));
    let rpc = match p.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(_) => return Err("status is not an object".into()),
    };
    let rpc_code = match rpc.and_then(|o| o.get("code")) {
        None | Some(Value::Null) => 0,
        Some(c) => c.as_i64().ok_or("status.code is not an integer")?,
    };
    let code = status
        .and_then(|r| r.get("code"))
        .and_then(Value::as_i64)
        .filter(|c| (100..600).contains(c))
        .unwrap_or_else(|| http_status(rpc_code, verb, sub));
    if code >= 400 {
        s.insert("status".into(), "Failure".into());
    }
    let message = status
        .and_then(|r| r.get("message"))
        .or_else(|| rpc.and_then(|o| o.get("message")))
        .and_then(Value::as_str);
    if let Some(m) = message {
        s.insert("message".into(), m.into());
    }
    if let Some(r) = status.and_then(|r| r.get("reason")).and_then(Value::as_str) {
        s.insert("reason".into(), r.into());
    }
    s.insert("code".into(), code.into());
    Ok(Value::Object(s))
}

#[cfg(test)]
mod tests {
    use super::super::events_from_envelope;
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/cloud/gke-logging-read.json");

    fn entries() -> Vec<Value> {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn convert_one(doc: &Value) -> Result<Value, String> {
        let mut out = Unwrapped::new(super::super::Provider::Gke);
        entry(doc.as_object().unwrap(), "", &mut out);
        match (out.events.pop(), out.errors.pop()) {
            (Some(e), None) => Ok(e.event),
            (None, Some(err)) => Err(err),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_privileged_pod_create_in_full() {
        let e = convert_one(&entries()[0]).unwrap();
        let want = json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
            "auditID": "7f0c2b8e-3d4a-4e5f-9a6b-1c2d3e4f5a60", "stage": "ResponseComplete",
            "requestURI": "/api/v1/namespaces/shop/pods/debug", "verb": "create",
            "user": {"username": "mallory@example.com"},
            "sourceIPs": ["203.0.113.50"],
            "userAgent": "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46",
            "objectRef": {"resource": "pods", "namespace": "shop", "name": "debug",
                          "apiGroup": "", "apiVersion": "v1"},
            "responseStatus": {"metadata": {}, "code": 201},
            "requestReceivedTimestamp": "2026-11-29T12:00:00.183412Z",
            "stageTimestamp": "2026-11-29T12:00:00.183412Z",
            "annotations": {
                "authorization.k8s.io/decision": "allow",
                "authorization.k8s.io/reason": "access granted by IAM permissions.",
                "pod-security.kubernetes.io/enforce-policy": "privileged:latest"
            }
        });
        let mut got = e.clone();
        let req = got
            .as_object_mut()
            .unwrap()
            .remove("requestObject")
            .unwrap();
        let resp = got
            .as_object_mut()
            .unwrap()
            .remove("responseObject")
            .unwrap();
        assert_eq!(got, want);
        assert_eq!(req.get("@type"), None, "Cloud Logging's @type is dropped");
        assert_eq!(
            req["spec"]["containers"][0]["securityContext"]["privileged"],
            true
        );
        assert_eq!(
            resp["metadata"]["uid"],
            "6a1f0c3e-9b2d-4e7f-8a5c-3d1e0f9b8a7c"
        );
    }

    #[test]
    fn the_fixture_entries_map_as_the_api_server_would_log_them() {
        let rows: Vec<(String, String, String, String, i64)> = entries()
            .iter()
            .take(7)
            .map(|entry| {
                let e = convert_one(entry).unwrap();
                let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
                (
                    s(&e["verb"]),
                    s(&e["requestURI"]),
                    format!(
                        "{}|{}|{}|{}|{}",
                        s(&e["objectRef"]["apiGroup"]),
                        s(&e["objectRef"]["resource"]),
                        s(&e["objectRef"]["subresource"]),
                        s(&e["objectRef"]["namespace"]),
                        s(&e["objectRef"]["name"])
                    ),
                    s(&e["annotations"]["authorization.k8s.io/decision"]),
                    e["responseStatus"]["code"].as_i64().unwrap(),
                )
            })
            .collect();
        let want = [
            (
                "create",
                "/api/v1/namespaces/shop/pods/debug",
                "|pods|-|shop|debug",
                "allow",
                201,
            ),
            (
                "create",
                "/api/v1/namespaces/shop/pods/web-0/exec",
                "|pods|exec|shop|web-0",
                "allow",
                101,
            ),
            (
                "list",
                "/api/v1/namespaces/shop/secrets",
                "|secrets|-|shop|-",
                "allow",
                200,
            ),
            (
                "get",
                "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef",
                "|secrets|-|kube-system|bootstrap-token-abcdef",
                "forbid",
                403,
            ),
            (
                "create",
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/backdoor",
                "rbac.authorization.k8s.io|clusterrolebindings|-|-|backdoor",
                "allow",
                201,
            ),
            (
                "watch",
                "/api/v1/namespaces/shop/pods?watch=true",
                "|pods|-|shop|-",
                "allow",
                200,
            ),
            (
                "get",
                "/api/v1/namespaces/kube-system",
                "|namespaces|-|kube-system|kube-system",
                "allow",
                200,
            ),
        ];
        let want: Vec<(String, String, String, String, i64)> = want
            .iter()
            .map(|(a, b, c, d, e)| {
                (
                    a.to_string(),
                    b.to_string(),
                    c.to_string(),
                    d.to_string(),
                    *e,
                )
            })
            .collect();
        assert_eq!(rows, want);
        let denied = convert_one(&entries()[3]).unwrap();
        assert_eq!(denied["responseStatus"]["status"], "Failure");
        assert!(
            denied["responseStatus"]["message"]
                .as_str()
                .unwrap()
                .contains("is forbidden")
        );
    }

    #[test]
    fn method_names() {
        let ok = |m: &str, r: Option<&str>| parse_method(m, r).unwrap();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            ok("io.k8s.core.v1.pods.create", Some("pods")),
            ("create".into(), None)
        );
        assert_eq!(
            ok("io.k8s.core.v1.pods.exec.create", Some("pods")),
            ("create".into(), some("exec"))
        );
        assert_eq!(
            ok("io.k8s.core.v1.pods.exec.get", Some("pods")),
            ("get".into(), some("exec"))
        );
        assert_eq!(
            ok("io.k8s.core.v1.pods.list", Some("pods")),
            ("list".into(), None)
        );
        assert_eq!(
            ok("io.k8s.core.v1.pods.watch", Some("pods")),
            ("watch".into(), None)
        );
        assert_eq!(
            ok("io.k8s.apps.v1.deployments.update", Some("deployments")),
            ("update".into(), None)
        );
        assert_eq!(
            ok("io.k8s.apps.v1.deployments.patch", None),
            ("patch".into(), None)
        );
        assert_eq!(
            ok("io.k8s.core.v1.events.deletecollection", Some("events")),
            ("deletecollection".into(), None)
        );
        assert_eq!(
            ok(
                "io.k8s.certificates.v1.certificatesigningrequests.approval.update",
                Some("certificatesigningrequests")
            ),
            ("update".into(), some("approval"))
        );
        assert_eq!(
            ok(
                "io.k8s.core.v1.serviceaccounts.token.create",
                Some("serviceaccounts")
            ),
            ("create".into(), some("token"))
        );
        assert_eq!(
            ok("io.k8s.core.v1.nodes.proxy.get", Some("nodes")),
            ("get".into(), some("proxy"))
        );
        // A group or version segment equal to the resource is not a subresource.
        assert_eq!(
            ok("io.k8s.core.v1.pods.delete", Some("core")),
            ("delete".into(), None)
        );
        assert_eq!(
            ok("io.k8s.core.v1.pods.delete", Some("v1")),
            ("delete".into(), None)
        );
        for bad in [
            "",
            "create",
            "io.k8s.",
            "io.k8s.core.v1.pods.",
            "io.k8s.core.v1.pods.Create",
            "a..b",
        ] {
            assert!(parse_method(bad, Some("pods")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions() {
        for v in ["v1", "v2", "v1beta1", "v2alpha3", "v10"] {
            assert!(is_version(v), "{v}");
        }
        for v in ["", "v", "1", "vbeta1", "v1beta", "v1gamma1", "v1.2", "pods"] {
            assert!(!is_version(v), "{v}");
        }
    }

    #[test]
    fn resource_names() {
        let t = |n: &str| {
            let t = parse_resource_name(n).unwrap();
            (
                t.group,
                t.version,
                t.resource,
                t.namespace.unwrap_or_default(),
                t.name.unwrap_or_default(),
                t.subresource.unwrap_or_default(),
                t.path,
            )
        };
        let row = |g: &str, v: &str, r: &str, ns: &str, n: &str, s: &str, p: &str| {
            (
                g.into(),
                v.into(),
                r.into(),
                ns.into(),
                n.into(),
                s.into(),
                p.to_string(),
            )
        };
        assert_eq!(
            t("core/v1/namespaces/shop/pods/web-0/exec"),
            row(
                "",
                "v1",
                "pods",
                "shop",
                "web-0",
                "exec",
                "namespaces/shop/pods/web-0/exec"
            )
        );
        assert_eq!(
            t("apps/v1/namespaces/shop/deployments"),
            row(
                "apps",
                "v1",
                "deployments",
                "shop",
                "",
                "",
                "namespaces/shop/deployments"
            )
        );
        assert_eq!(
            t("core/v1/nodes"),
            row("", "v1", "nodes", "", "", "", "nodes")
        );
        assert_eq!(
            t("core/v1/nodes/ip-10-0-1-2/proxy/metrics"),
            row(
                "",
                "v1",
                "nodes",
                "",
                "ip-10-0-1-2",
                "proxy",
                "nodes/ip-10-0-1-2/proxy/metrics"
            )
        );
        assert_eq!(
            t("core/v1/namespaces/shop"),
            row(
                "",
                "v1",
                "namespaces",
                "shop",
                "shop",
                "",
                "namespaces/shop"
            )
        );
        assert_eq!(
            t("core/v1/namespaces/shop/finalize"),
            row(
                "",
                "v1",
                "namespaces",
                "shop",
                "shop",
                "finalize",
                "namespaces/shop/finalize"
            )
        );
        assert_eq!(
            t("core/v1/namespaces"),
            row("", "v1", "namespaces", "", "", "", "namespaces")
        );
        assert_eq!(
            t("admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio"),
            row(
                "admissionregistration.k8s.io",
                "v1",
                "mutatingwebhookconfigurations",
                "",
                "istio",
                "",
                "mutatingwebhookconfigurations/istio"
            )
        );
        for bad in [
            "",
            "core",
            "core/v1",
            "core/v1/",
            "/core/v1/pods",
            "core//pods",
            "core/v1/pods//x",
        ] {
            assert!(parse_resource_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grpc_codes_to_http() {
        let table = [
            (0, "get", None, 200),
            (0, "list", None, 200),
            (0, "create", None, 201),
            (0, "create", Some("exec"), 101),
            (0, "get", Some("portforward"), 101),
            (0, "create", Some("token"), 201),
            (1, "get", None, 499),
            (2, "get", None, 500),
            (3, "create", None, 400),
            (4, "get", None, 504),
            (5, "get", None, 404),
            (6, "create", None, 409),
            (7, "get", None, 403),
            (8, "get", None, 429),
            (9, "get", None, 400),
            (10, "update", None, 409),
            (11, "get", None, 400),
            (12, "get", None, 501),
            (13, "get", None, 500),
            (14, "get", None, 503),
            (15, "get", None, 500),
            (16, "get", None, 401),
            (-1, "get", None, 500),
            (99, "get", None, 500),
        ];
        for (code, verb, sub, want) in table {
            assert_eq!(http_status(code, verb, sub), want, "{code} {verb} {sub:?}");
        }
    }

    /// A minimal k8s_cluster AuditLog entry, changed by `edit`.
    fn minimal(edit: impl FnOnce(&mut Value)) -> Value {
        let mut e = json!({
            "insertId": "id-1", "timestamp": "2026-11-29T12:00:00Z", "logName": "projects/p/logs/x",
            "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "c"}},
            "protoPayload": {"@type": AUDIT_LOG_TYPE, "methodName": "io.k8s.core.v1.pods.get",
                              "resourceName": "core/v1/namespaces/a/pods/b"}
        });
        edit(&mut e);
        e
    }

    #[test]
    fn sparse_entries_still_make_events() {
        let e = convert_one(&minimal(|_| {})).unwrap();
        assert_eq!(e["level"], "Metadata");
        assert_eq!(e["user"], json!({}));
        assert_eq!(e["responseStatus"], json!({"metadata": {}, "code": 200}));
        assert_eq!(e.get("annotations"), None);
        assert_eq!(e.get("sourceIPs"), None);
        // operation.id stands in for insertId; authorizationInfo for a missing decision;
        // principalSubject for principalEmail.
        let e = convert_one(&minimal(|e| {
            e.as_object_mut().unwrap().remove("insertId");
            e["operation"] = json!({"id": "op-1"});
            e["protoPayload"]["authorizationInfo"] = json!([{"granted": false}]);
            e["protoPayload"]["authenticationInfo"] =
                json!({"principalSubject": "principal://iam.googleapis.com/x"});
            e["protoPayload"]["status"] = json!({"code": 7, "message": "denied"});
            e["protoPayload"]["request"] = json!({"@type": "x", "kind": "DeleteOptions"});
        }))
        .unwrap();
        assert_eq!(e["auditID"], "op-1");
        assert_eq!(e["level"], "Request");
        assert_eq!(e["annotations"]["authorization.k8s.io/decision"], "forbid");
        assert_eq!(e["user"]["username"], "principal://iam.googleapis.com/x");
        assert_eq!(
            e["responseStatus"],
            json!({"metadata": {}, "status": "Failure", "message": "denied", "code": 403})
        );
        assert_eq!(e["requestObject"], json!({"kind": "DeleteOptions"}));
        // A Kubernetes Status in the response gives the real HTTP code and reason.
        let e = convert_one(&minimal(|e| {
            e["protoPayload"]["status"] = json!({"code": 3, "message": "webhook denied"});
            e["protoPayload"]["response"] = json!({"@type": "core.k8s.io/v1.Status", "kind": "Status",
                "code": 422, "reason": "Invalid", "message": "Pod is invalid", "status": "Failure"});
        }))
        .unwrap();
        assert_eq!(
            e["responseStatus"],
            json!({"metadata": {}, "status": "Failure", "message": "Pod is invalid", "reason": "Invalid", "code": 422})
        );
        // Non-resource requests and entries without resourceName have no objectRef.
        let e = convert_one(&minimal(|e| {
            e["protoPayload"]["resourceName"] = json!("/version")
        }))
        .unwrap();
        assert_eq!(
            (e["requestURI"].as_str(), e.get("objectRef")),
            (Some("/version"), None)
        );
        let e = convert_one(&minimal(|e| {
            e["protoPayload"]
                .as_object_mut()
                .unwrap()
                .remove("resourceName");
        }))
        .unwrap();
        assert_eq!(
            (e["requestURI"].as_str(), e.get("objectRef")),
            (Some(""), None)
        );
        // Labels that are not text are not annotations.
        let e = convert_one(&minimal(|e| {
            e["labels"] = json!({"a": "b", "n": 1, "o": {}})
        }))
        .unwrap();
        assert_eq!(e["annotations"], json!({"a": "b"}));
    }

    #[test]
    fn broken_entries_are_errors_not_panics() {
        let table: Vec<(Value, &str)> = vec![
            (
                minimal(|e| e["protoPayload"] = json!("x")),
                "protoPayload is not an object",
            ),
            (
                minimal(|e| {
                    e["protoPayload"]
                        .as_object_mut()
                        .unwrap()
                        .remove("methodName");
                }),
                "AuditLog without a methodName",
            ),
            (
                minimal(|e| e["protoPayload"]["methodName"] = json!(["x"])),
                "AuditLog without a methodName",
            ),
            (
                minimal(|e| e["protoPayload"]["methodName"] = json!("pods")),
                "methodName \"pods\" is not io.k8s.GROUP.VERSION.RESOURCE[.SUBRESOURCE].VERB",
            ),
            (
                minimal(|e| e["protoPayload"]["resourceName"] = json!(7)),
                "resourceName is not text",
            ),
            (
                minimal(|e| e["protoPayload"]["resourceName"] = json!("core/v1")),
                "resourceName \"core/v1\" is not GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]",
            ),
            (
                minimal(|e| {
                    e.as_object_mut().unwrap().remove("insertId");
                }),
                "entry without insertId or operation.id",
            ),
            (
                minimal(|e| {
                    e.as_object_mut().unwrap().remove("timestamp");
                }),
                "entry without a timestamp",
            ),
            (
                minimal(|e| e["protoPayload"]["status"] = json!(0)),
                "status is not an object",
            ),
            (
                minimal(|e| e["protoPayload"]["status"] = json!({"code": "PERMISSION_DENIED"})),
                "status.code is not an integer",
            ),
        ];
        for (entry, want) in table {
            assert_eq!(convert_one(&entry), Err(want.to_string()), "{entry}");
        }
    }

    #[test]
    fn other_entries_are_skipped() {
        for entry in [
            minimal(|e| {
                e["protoPayload"]["@type"] = json!("type.googleapis.com/google.cloud.audit.Other")
            }),
            minimal(|e| e["resource"]["type"] = json!("gke_cluster")),
            minimal(|e| {
                e.as_object_mut().unwrap().remove("resource");
            }),
            json!({"logName": "projects/p/logs/stdout", "textPayload": "hello", "resource": {"type": "k8s_container"}}),
            json!({"logName": "projects/p/logs/x", "jsonPayload": {"message": "hi"}}),
        ] {
            let u = events_from_envelope(&entry).unwrap().unwrap();
            assert_eq!(
                (u.events.len(), u.skipped, u.errors.len()),
                (0, 1, 0),
                "{entry}"
            );
        }
    }
}
