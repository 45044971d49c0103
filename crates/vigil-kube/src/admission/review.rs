//! `AdmissionReview` in and out (`admission.k8s.io/v1`, and `v1beta1` for old API
//! servers): the request as policies see it, and the response the API server expects.

use serde_json::{Map, Value, json};
use std::fmt;
use std::sync::OnceLock;

/// Why a body is not an AdmissionReview request we can judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReviewError(pub String);

/// What the request does to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A new object.
    Create,
    /// A change; `oldObject` holds the stored object.
    Update,
    /// A removal; `oldObject` holds the object being deleted.
    Delete,
    /// A `connect` to a subresource (exec, attach, port-forward, proxy).
    Connect,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }

    fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            _ => return None,
        })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One admission request, checked and with the fields matching needs pulled out.
#[derive(Debug, Clone)]
pub struct Request {
    /// The AdmissionReview's `apiVersion` (the response must use the same).
    pub api_version: String,
    /// The request uid, echoed in the response.
    pub uid: String,
    /// API group of the object's kind (empty for the core group).
    pub group: String,
    /// Version of the object's kind.
    pub version: String,
    /// The object's kind (`Pod`, `Deployment`, ...).
    pub kind: String,
    /// The subresource (`status`, `exec`, ...), empty for the object itself.
    pub sub_resource: String,
    /// The object's name (may be empty on CREATE with `generateName`).
    pub name: String,
    /// The namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// The operation.
    pub operation: Operation,
    /// True for `dryRun` requests (no side effects expected).
    pub dry_run: bool,
    /// The AdmissionRequest as Gatekeeper's `input.review` shows it: as sent, except that
    /// on DELETE `object` is the deleted object (`oldObject`), as Gatekeeper does, so
    /// policies written against `object` also see deletions.
    pub review: Value,
    /// `review` as a Rego value, converted once for every template that reads it.
    rego: OnceLock<regorus::Value>,
}

impl Request {
    /// Parses an `AdmissionReview` body.
    pub fn from_review(body: &[u8]) -> Result<Request, ReviewError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ReviewError(format!("body is not JSON: {e}")))?;
        let Value::Object(mut review) = value else {
            return Err(ReviewError("body is not a JSON object".into()));
        };
        let api_version = match review.get("apiVersion").and_then(Value::as_str) {
            Some(v @ ("admission.k8s.io/v1" | "admission.k8s.io/v1beta1")) => v.to_string(),
            Some(v) => {
                return Err(ReviewError(format!(
                    "unsupported apiVersion {v:?} (expected admission.k8s.io/v1)"
                )));
            }
            None => return Err(ReviewError("apiVersion is missing".into())),
        };
        if review.get("kind").and_then(Value::as_str) != Some("AdmissionReview") {
            return Err(ReviewError("kind is not AdmissionReview".into()));
        }
        let Some(Value::Object(request)) = review.remove("request") else {
            return Err(ReviewError("request is missing or not an object".into()));
        };
        Request::from_admission_request(api_version, request)
    }

    /// Checks an `AdmissionRequest` object.
    pub fn from_admission_request(
        api_version: String,
        mut request: Map<String, Value>,
    ) -> Result<Request, ReviewError> {
        let text = |r: &Map<String, Value>, key: &str| -> Result<String, ReviewError> {
            match r.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(ReviewError(format!("request.{key} is not a string"))),
            }
        };
        let uid = text(&request, "uid")?;
        if uid.is_empty() {
            return Err(ReviewError("request.uid is missing".into()));
        }
        let Some(Value::Object(gvk)) = request.get("kind") else {
            return Err(ReviewError("request.kind is missing".into()));
        };
        let (group, version, kind) = (
            text(gvk, "group")?,
            text(gvk, "version")?,
            text(gvk, "kind")?,
        );
        if kind.is_empty() {
            return Err(ReviewError("request.kind.kind is missing".into()));
        }
        let op = text(&request, "operation")?;
        let operation = Operation::parse(&op)
            .ok_or_else(|| ReviewError(format!("request.operation {op:?} is not valid")))?;
        for key in ["object", "oldObject"] {
            if !matches!(
                request.get(key),
                None | Some(Value::Null | Value::Object(_))
            ) {
                return Err(ReviewError(format!("request.{key} is not an object")));
            }
        }
        if operation == Operation::Delete
            && is_null(request.get("object"))
            && let Some(old) = request.get("oldObject").cloned()
        {
            request.insert("object".into(), old);
        }
        Ok(Request {
            api_version,
            uid,
            group,
            version,
            kind,
            sub_resource: text(&request, "subResource")?,
            name: text(&request, "name")?,
            namespace: text(&request, "namespace")?,
            operation,
            dry_run: request.get("dryRun").and_then(Value::as_bool) == Some(true),
            review: Value::Object(request),
            rego: OnceLock::new(),
        })
    }

    /// The request Kubernetes would send to create `object` (what `vigil admission test`
    /// and audit mode judge), with `user` as the requester.
    pub fn create(object: Value, user: &str) -> Result<Request, ReviewError> {
        let Some(meta) = object.as_object() else {
            return Err(ReviewError("the object is not a JSON object".into()));
        };
        let field = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or_default();
        let (group, version) = match field("apiVersion").split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), field("apiVersion").to_string()),
        };
        let metadata = meta.get("metadata");
        let m = |k: &str| {
            metadata
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let kind = field("kind").to_string();
        let request = json!({
            "uid": "00000000-0000-0000-0000-000000000000",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": plural(&kind)},
            "name": m("name"),
            "namespace": m("namespace"),
            "operation": "CREATE",
            "userInfo": {"username": user},
            "object": object,
            "oldObject": null,
            "dryRun": false,
        });
        let Value::Object(request) = request else {
            return Err(ReviewError("internal: request is not an object".into()));
        };
        Request::from_admission_request("admission.k8s.io/v1".into(), request)
    }

    /// `review` as Rego input.
    pub fn rego_review(&self) -> &regorus::Value {
        self.rego
            .get_or_init(|| regorus::Value::from(self.review.clone()))
    }

    /// The object under review (the deleted one on DELETE), if any.
    pub fn object(&self) -> Option<&Value> {
        self.review.get("object").filter(|v| v.is_object())
    }

    /// The stored object on UPDATE and DELETE, if any.
    pub fn old_object(&self) -> Option<&Value> {
        self.review.get("oldObject").filter(|v| v.is_object())
    }

    /// `group/version`, or `version` for the core group: how `apiVersion` spells it.
    pub fn api_group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

fn is_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// The lower-case plural Kubernetes uses for most kinds (good enough for synthesised test
/// requests; real requests carry the resource the API server resolved).
fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s') || lower.ends_with('x') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// What the webhook answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Let the request through.
    pub allowed: bool,
    /// HTTP-style code for a denial (403), or an error (500).
    pub code: u16,
    /// Why it was denied; empty when allowed.
    pub message: String,
    /// Shown to the user by kubectl whether or not the request is allowed.
    pub warnings: Vec<String>,
    /// Recorded in the audit event of the request (the API server prefixes the keys with
    /// the webhook's name).
    pub audit_annotations: Vec<(String, String)>,
}

/// The `AdmissionReview` response body for `request` (`uid` echoed, same apiVersion).
pub fn response(api_version: &str, uid: &str, verdict: &Verdict) -> Value {
    let mut response = json!({"uid": uid, "allowed": verdict.allowed});
    if !verdict.allowed || !verdict.message.is_empty() {
        response["status"] = json!({
            "code": verdict.code,
            "message": verdict.message,
            "reason": if verdict.allowed { "" } else { "Forbidden" },
        });
    }
    if !verdict.warnings.is_empty() {
        response["warnings"] = json!(verdict.warnings);
    }
    if !verdict.audit_annotations.is_empty() {
        let map: Map<String, Value> = verdict
            .audit_annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        response["auditAnnotations"] = Value::Object(map);
    }
    json!({"apiVersion": api_version, "kind": "AdmissionReview", "response": response})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(request: Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}),
        )
        .unwrap()
    }

    #[test]
    fn a_delete_shows_the_deleted_object_as_object() {
        let body = review(json!({
            "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "DELETE", "namespace": "ns", "name": "p",
            "object": null, "oldObject": {"metadata": {"name": "p"}}
        }));
        let r = Request::from_review(&body).unwrap();
        assert_eq!(r.operation, Operation::Delete);
        assert_eq!(r.object().unwrap()["metadata"]["name"], "p");
        assert_eq!(r.api_group_version(), "v1");
    }

    #[test]
    fn malformed_reviews_say_what_is_wrong() {
        let err = |body: &[u8]| Request::from_review(body).unwrap_err().0;
        assert!(err(b"{").contains("not JSON"));
        assert!(err(b"[]").contains("not a JSON object"));
        assert!(err(br#"{"apiVersion":"v1","kind":"AdmissionReview"}"#).contains("apiVersion"));
        assert!(
            err(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#)
                .contains("request")
        );
        assert!(err(&review(json!({"kind": {"kind": "Pod"}}))).contains("uid"));
        assert!(
            err(&review(
                json!({"uid": "u", "kind": {"kind": "Pod"}, "operation": "PATCH"})
            ))
            .contains("operation")
        );
        assert!(
            err(&review(
                json!({"uid": "u", "kind": {"kind": "Pod"}, "operation": "CREATE", "object": [1]})
            ))
            .contains("object")
        );
        assert!(err(&review(json!({"uid": 7, "kind": {"kind": "Pod"}}))).contains("uid"));
    }

    #[test]
    fn responses_echo_the_uid_and_carry_status_and_warnings() {
        let v = Verdict {
            allowed: false,
            code: 403,
            message: "[must-have-owner] you must provide labels: {\"owner\"}".into(),
            warnings: vec!["[no-latest] image uses :latest".into()],
            audit_annotations: vec![("violations".into(), "1".into())],
        };
        let r = response("admission.k8s.io/v1", "abc", &v);
        assert_eq!(r["response"]["uid"], "abc");
        assert_eq!(r["response"]["allowed"], false);
        assert_eq!(r["response"]["status"]["code"], 403);
        assert_eq!(
            r["response"]["warnings"][0],
            "[no-latest] image uses :latest"
        );
        assert_eq!(r["response"]["auditAnnotations"]["violations"], "1");
        let ok = response(
            "admission.k8s.io/v1",
            "abc",
            &Verdict {
                allowed: true,
                ..Verdict::default()
            },
        );
        assert!(ok["response"].get("status").is_none());
    }

    #[test]
    fn a_created_object_becomes_a_create_request() {
        let r = Request::create(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}}),
            "alice",
        )
        .unwrap();
        assert_eq!(
            (r.group.as_str(), r.version.as_str(), r.kind.as_str()),
            ("apps", "v1", "Deployment")
        );
        assert_eq!(r.review["resource"]["resource"], "deployments");
        assert_eq!(r.review["userInfo"]["username"], "alice");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
    }
}
