//! Kubernetes audit events and their fields, named as Falco's k8saudit plugin names them
//! (`ka.verb`, `ka.user.name`, `ka.req.pod.containers.privileged`, `jevt.value[/ptr]`,
//! ...), so existing k8saudit rules files load and mean the same here.
//!
//! An [`AuditEvent`] is parsed once from the event's JSON text into a typed view that
//! borrows from that text: the fields every event carries (verb, user, objectRef, ...)
//! are read straight off it, while the request and response objects — large, and read
//! only by rules about writes — stay raw JSON until a rule asks for one of their fields,
//! and are then decoded once for that event. Most of a real log is controllers reading,
//! so most events are judged without ever building a JSON tree.

mod fast;

use crate::eval::{Event, Field, FieldTable, FieldType, Scalar};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::ControlFlow;
use std::sync::LazyLock;

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

/// The parts of an event that are read without decoding the request or response object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    AuditId,
    Stage,
    Verb,
    Uri,
    UserAgent,
    SourceIps,
    UserName,
    UserGroups,
    ImpersonatedUser,
    Resource,
    Subresource,
    Namespace,
    Name,
    Code,
    Reason,
    Decision,
    DecisionReason,
}

impl Top {
    /// The part at `path` (keys from the event's root), if it is one of these.
    fn at(path: &[&str]) -> Option<Top> {
        Some(match path {
            ["auditID"] => Top::AuditId,
            ["stage"] => Top::Stage,
            ["verb"] => Top::Verb,
            ["requestURI"] => Top::Uri,
            ["userAgent"] => Top::UserAgent,
            ["sourceIPs"] => Top::SourceIps,
            ["user", "username"] => Top::UserName,
            ["user", "groups"] => Top::UserGroups,
            ["impersonatedUser", "username"] => Top::ImpersonatedUser,
            ["objectRef", "resource"] => Top::Resource,
            ["objectRef", "subresource"] => Top::Subresource,
            ["objectRef", "namespace"] => Top::Namespace,
            ["objectRef", "name"] => Top::Name,
            ["responseStatus", "code"] => Top::Code,
            ["responseStatus", "reason"] => Top::Reason,
            ["annotations", "authorization.k8s.io/decision"] => Top::Decision,
            ["annotations", "authorization.k8s.io/reason"] => Top::DecisionReason,
            _ => return None,
        })
    }

    /// True for the parts that are lists.
    fn is_list(self) -> bool {
        matches!(self, Top::SourceIps | Top::UserGroups)
    }
}

/// Where a field's values come from.
#[derive(Debug, Clone)]
enum Source {
    /// A part of the typed view.
    Top(Top),
    /// A path into the request object.
    Request(&'static [Seg]),
    /// A path into the response object.
    Response(&'static [Seg]),
    /// Anything else: a path into the whole event, decoded for it.
    Event(&'static [Seg]),
}

impl Source {
    fn of(path: &'static [Seg]) -> Source {
        match path.split_first() {
            Some((Key("requestObject"), rest)) => return Source::Request(rest),
            Some((Key("responseObject"), rest)) => return Source::Response(rest),
            _ => {}
        }
        let keys: Option<Vec<&str>> = path
            .iter()
            .map(|s| match s {
                Key(k) => Some(*k),
                Each | Computed(_) => None,
            })
            .collect();
        // A list part's path ends in `Each`; its keys alone name it.
        let keys = keys.or_else(|| {
            let (last, keys) = path.split_last()?;
            matches!(last, Each).then(|| {
                keys.iter()
                    .filter_map(|s| if let Key(k) = s { Some(*k) } else { None })
                    .collect()
            })
        });
        match keys.as_deref().and_then(Top::at) {
            Some(top) => Source::Top(top),
            None => Source::Event(path),
        }
    }
}

/// The source of every row of [`FIELDS`], by row.
static SOURCES: LazyLock<Vec<Source>> =
    LazyLock::new(|| FIELDS.iter().map(|(.., path)| Source::of(path)).collect());

/// Field ids of `jevt.value[/pointer]`, by what the pointer reaches (the pointer, or its
/// rest inside the request or response object, is the field's argument). A pointer to a
/// single-valued part of the typed view resolves to that part's `ka.*` row instead.
const JEVT_REQUEST: u32 = u32::MAX - 2;
const JEVT_RESPONSE: u32 = u32::MAX - 1;
const JEVT_EVENT: u32 = u32::MAX;

/// The `ka.*` and `jevt.value` fields.
#[derive(Debug, Default, Clone, Copy)]
pub struct AuditFields;

impl AuditFields {
    fn jevt(pointer: &str) -> Field {
        let field = |id: u32, arg: &str| Field {
            id,
            arg: Some(arg.to_string()),
            ty: FieldType::Str,
            list: false,
            name: "jevt.value".into(),
        };
        let keys: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|k| k.replace("~1", "/").replace("~0", "~"))
            .collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        if let Some(top) = Top::at(&key_refs).filter(|t| !t.is_list())
            && let Some(row) = SOURCES.iter().zip(FIELDS).position(|(s, (_, ty, ..))| {
                matches!(s, Source::Top(t) if *t == top) && *ty == FieldType::Str
            })
        {
            return Field {
                id: row as u32,
                arg: None,
                ty: FieldType::Str,
                list: false,
                name: "jevt.value".into(),
            };
        }
        for (object, id) in [
            ("/requestObject", JEVT_REQUEST),
            ("/responseObject", JEVT_RESPONSE),
        ] {
            if let Some(rest) = pointer.strip_prefix(object)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return field(id, rest);
            }
        }
        field(JEVT_EVENT, pointer)
    }
}

impl FieldTable for AuditFields {
    fn resolve(&self, name: &str, arg: Option<&str>) -> Result<Field, String> {
        if name == "jevt.value" {
            let Some(pointer) = arg.filter(|a| a.starts_with('/')) else {
                return Err(
                    "jevt.value needs a JSON pointer argument, e.g. jevt.value[/verb]".into(),
                );
            };
            return Ok(AuditFields::jevt(pointer));
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

    fn cost(&self, field: &Field) -> u32 {
        match field.id {
            JEVT_REQUEST | JEVT_RESPONSE => 20,
            JEVT_EVENT => 50,
            id => match SOURCES.get(id as usize) {
                Some(Source::Top(_)) | None => 1,
                Some(Source::Request(_) | Source::Response(_)) => 20,
                Some(Source::Event(_)) => 50,
            },
        }
    }
}

/// An `audit.k8s.io` Event as the API server writes it, borrowing its text. Only the
/// parts rules read are kept; everything else is skipped while parsing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Wire<'a> {
    #[serde(borrow)]
    pub(crate) kind: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) api_version: Option<Text<'a>>,
    #[serde(rename = "auditID", borrow)]
    pub(crate) audit_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) stage: Option<Text<'a>>,
    #[serde(rename = "requestURI", borrow)]
    request_uri: Option<Text<'a>>,
    #[serde(borrow)]
    verb: Option<Text<'a>>,
    #[serde(borrow)]
    user: Option<User<'a>>,
    #[serde(borrow)]
    impersonated_user: Option<User<'a>>,
    #[serde(rename = "sourceIPs", borrow)]
    source_ips: Option<Raw<'a>>,
    #[serde(borrow)]
    user_agent: Option<Text<'a>>,
    #[serde(borrow)]
    object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow)]
    response_status: Option<Status<'a>>,
    #[serde(borrow)]
    request_object: Option<Raw<'a>>,
    #[serde(borrow)]
    response_object: Option<Raw<'a>>,
    #[serde(borrow)]
    request_received_timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) stage_timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    annotations: Option<Annotations<'a>>,
    /// The events of an `EventList`.
    #[serde(borrow)]
    pub(crate) items: Option<Vec<&'a RawValue>>,
}

#[derive(Debug, Default, Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    username: Option<Text<'a>>,
    #[serde(borrow)]
    groups: Option<Raw<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct ObjectRef<'a> {
    #[serde(borrow)]
    resource: Option<Text<'a>>,
    #[serde(borrow)]
    subresource: Option<Text<'a>>,
    #[serde(borrow)]
    namespace: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct Status<'a> {
    /// Kept as its JSON text: rules compare it as text (`startswith 2`), as Falco does.
    #[serde(borrow)]
    code: Option<Raw<'a>>,
    #[serde(borrow)]
    reason: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct Annotations<'a> {
    #[serde(rename = "authorization.k8s.io/decision", borrow)]
    decision: Option<Text<'a>>,
    /// Kept raw: it is long, usually holds escaped quotes (so decoding it would copy it),
    /// and few rules read it.
    #[serde(rename = "authorization.k8s.io/reason", borrow)]
    reason: Option<Raw<'a>>,
}

/// A JSON value kept as its text, borrowed from the event's (the text of a
/// `serde_json::value::RawValue`, which the fast parser in [`fast`] can also make).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// The value's JSON text.
    fn get(self) -> &'a str {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Raw<'a>, D::Error> {
        let raw: &'de RawValue = Deserialize::deserialize(d)?;
        Ok(Raw(raw.get()))
    }
}

/// A string borrowed from the event's text unless it has escapes. (A newtype because
/// serde borrows a `Cow` only when it is a field of its own, not inside an `Option`.)
#[derive(Debug, Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The typed view of an event's JSON text: by the fast path when the text has the usual
/// shape, else by serde_json, which also says what is wrong with a bad line.
pub(crate) fn parse_wire(text: &str) -> Result<Wire<'_>, serde_json::Error> {
    match fast::wire(text) {
        Some(wire) => Ok(wire),
        None => serde_json::from_str(text),
    }
}

/// A list of strings kept as raw JSON and decoded on first use: most events are judged
/// without reading their groups or source addresses, and decoding them would allocate.
fn strings<'s, 'a>(
    cell: &'s OnceCell<Vec<Text<'a>>>,
    raw: Option<Raw<'a>>,
) -> impl Iterator<Item = &'s str> {
    cell.get_or_init(|| {
        raw.and_then(|r| fast::strings(r.get()).or_else(|| serde_json::from_str(r.get()).ok()))
            .unwrap_or_default()
    })
    .iter()
    .map(|t| t.0.as_ref())
}

/// One audit event (`audit.k8s.io/v1` or `v1beta1` `Event`), parsed from its JSON text.
#[derive(Debug)]
pub struct AuditEvent<'a> {
    raw: &'a str,
    cluster: Option<&'a str>,
    wire: Wire<'a>,
    request: OnceCell<Option<Value>>,
    response: OnceCell<Option<Value>>,
    whole: OnceCell<Option<Value>>,
    groups: OnceCell<Vec<Text<'a>>>,
    source_ips: OnceCell<Vec<Text<'a>>>,
}

fn text<'b>(s: &'b Option<Text<'_>>) -> &'b str {
    opt(s).unwrap_or_default()
}

fn opt<'b>(s: &'b Option<Text<'_>>) -> Option<&'b str> {
    s.as_ref().map(|t| t.0.as_ref())
}

impl<'a> AuditEvent<'a> {
    /// Parses one event from its JSON text. Nothing checks that it is an audit event:
    /// the log reader does that.
    pub fn parse(raw: &'a str) -> Result<AuditEvent<'a>, serde_json::Error> {
        Ok(AuditEvent::from_wire(raw, parse_wire(raw)?))
    }

    pub(crate) fn from_wire(raw: &'a str, wire: Wire<'a>) -> AuditEvent<'a> {
        AuditEvent {
            raw,
            cluster: None,
            wire,
            request: OnceCell::new(),
            response: OnceCell::new(),
            whole: OnceCell::new(),
            groups: OnceCell::new(),
            source_ips: OnceCell::new(),
        }
    }

    /// The event's JSON text.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The event, known to come from `cluster` (a cloud log envelope names it).
    pub fn in_cluster(mut self, cluster: Option<&'a str>) -> AuditEvent<'a> {
        self.cluster = cluster;
        self
    }

    /// The cluster the event came from, when known.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster
    }

    /// The event as a JSON tree (for evidence).
    pub fn to_value(&self) -> Value {
        self.whole().cloned().unwrap_or(Value::Null)
    }

    fn whole(&self) -> Option<&Value> {
        self.whole
            .get_or_init(|| serde_json::from_str(self.raw).ok())
            .as_ref()
    }

    /// `auditID`.
    pub fn audit_id(&self) -> &str {
        text(&self.wire.audit_id)
    }

    /// `stage`.
    pub fn stage(&self) -> &str {
        text(&self.wire.stage)
    }

    /// `verb`.
    pub fn verb(&self) -> &str {
        text(&self.wire.verb)
    }

    /// `requestURI`.
    pub fn uri(&self) -> &str {
        text(&self.wire.request_uri)
    }

    /// `userAgent`.
    pub fn user_agent(&self) -> &str {
        text(&self.wire.user_agent)
    }

    /// `user.username`.
    pub fn user(&self) -> &str {
        self.wire
            .user
            .as_ref()
            .map(|u| text(&u.username))
            .unwrap_or_default()
    }

    /// `user.groups`.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        strings(&self.groups, self.wire.user.as_ref().and_then(|u| u.groups))
    }

    /// `sourceIPs`.
    pub fn source_ips(&self) -> impl Iterator<Item = &str> {
        strings(&self.source_ips, self.wire.source_ips)
    }

    fn object_ref<'s>(&'s self, part: fn(&'s ObjectRef<'a>) -> &'s Option<Text<'a>>) -> &'s str {
        self.wire
            .object_ref
            .as_ref()
            .map(|o| text(part(o)))
            .unwrap_or_default()
    }

    /// `objectRef.resource`.
    pub fn resource(&self) -> &str {
        self.object_ref(|o| &o.resource)
    }

    /// `objectRef.subresource`.
    pub fn subresource(&self) -> &str {
        self.object_ref(|o| &o.subresource)
    }

    /// `objectRef.namespace`.
    pub fn namespace(&self) -> &str {
        self.object_ref(|o| &o.namespace)
    }

    /// `objectRef.name`.
    pub fn name(&self) -> &str {
        self.object_ref(|o| &o.name)
    }

    /// `responseStatus.code`.
    pub fn response_code(&self) -> Option<i64> {
        self.code_text()?.parse().ok()
    }

    fn code_text(&self) -> Option<&str> {
        Some(self.wire.response_status.as_ref()?.code?.get())
    }

    /// When the request completed (`stageTimestamp`, else `requestReceivedTimestamp`).
    pub fn time(&self) -> Option<&str> {
        self.wire
            .stage_timestamp
            .as_deref()
            .or(self.wire.request_received_timestamp.as_deref())
    }

    fn object<'s>(
        &'s self,
        which: &'s OnceCell<Option<Value>>,
        raw: Option<Raw<'_>>,
    ) -> Option<&'s Value> {
        which
            .get_or_init(|| raw.and_then(|r| serde_json::from_str(r.get()).ok()))
            .as_ref()
    }

    /// The request object, decoded on first use.
    pub fn request_object(&self) -> Option<&Value> {
        self.object(&self.request, self.wire.request_object)
    }

    /// The response object, decoded on first use.
    pub fn response_object(&self) -> Option<&Value> {
        self.object(&self.response, self.wire.response_object)
    }

    /// A single-valued text part of the typed view as it is, or `None` for the parts
    /// that are lists or need decoding.
    fn top_text(&self, top: Top) -> Option<Option<&str>> {
        let o = self.wire.object_ref.as_ref();
        Some(match top {
            Top::AuditId => opt(&self.wire.audit_id),
            Top::Stage => opt(&self.wire.stage),
            Top::Verb => opt(&self.wire.verb),
            Top::Uri => opt(&self.wire.request_uri),
            Top::UserAgent => opt(&self.wire.user_agent),
            Top::UserName => self.wire.user.as_ref().and_then(|u| opt(&u.username)),
            Top::Resource => o.and_then(|o| opt(&o.resource)),
            Top::Subresource => o.and_then(|o| opt(&o.subresource)),
            Top::Namespace => o.and_then(|o| opt(&o.namespace)),
            Top::Name => o.and_then(|o| opt(&o.name)),
            Top::Code => self.code_text(),
            Top::Decision => self
                .wire
                .annotations
                .as_ref()
                .and_then(|a| opt(&a.decision)),
            Top::ImpersonatedUser => self
                .wire
                .impersonated_user
                .as_ref()
                .and_then(|u| opt(&u.username)),
            Top::Reason => self
                .wire
                .response_status
                .as_ref()
                .and_then(|s| opt(&s.reason)),
            Top::SourceIps | Top::UserGroups | Top::DecisionReason => return None,
        })
    }

    /// Calls `f` with the values of a typed part, as `ty`.
    fn top(&self, top: Top, ty: FieldType, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
        let one = |s: Option<&str>, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>| {
            if let Some(s) = s {
                let _ = f(Scalar::Str(s));
            }
        };
        match top {
            Top::AuditId => one(opt(&self.wire.audit_id), f),
            Top::Stage => one(opt(&self.wire.stage), f),
            Top::Verb => one(opt(&self.wire.verb), f),
            Top::Uri => one(opt(&self.wire.request_uri), f),
            Top::UserAgent => one(opt(&self.wire.user_agent), f),
            Top::UserName => one(self.wire.user.as_ref().and_then(|u| opt(&u.username)), f),
            Top::ImpersonatedUser => one(
                self.wire
                    .impersonated_user
                    .as_ref()
                    .and_then(|u| opt(&u.username)),
                f,
            ),
            Top::SourceIps => {
                for ip in self.source_ips() {
                    if f(Scalar::Str(ip)).is_break() {
                        break;
                    }
                }
            }
            Top::UserGroups => {
                for g in self.groups() {
                    if f(Scalar::Str(g)).is_break() {
                        break;
                    }
                }
            }
            Top::Resource | Top::Subresource | Top::Namespace | Top::Name => {
                let o = self.wire.object_ref.as_ref();
                let part = o.and_then(|o| match top {
                    Top::Resource => opt(&o.resource),
                    Top::Subresource => opt(&o.subresource),
                    Top::Namespace => opt(&o.namespace),
                    _ => opt(&o.name),
                });
                one(part, f)
            }
            Top::Code => match ty {
                FieldType::Int => {
                    if let Some(n) = self.response_code() {
                        let _ = f(Scalar::Int(n));
                    }
                }
                _ => one(self.code_text(), f),
            },
            Top::Reason => one(
                self.wire
                    .response_status
                    .as_ref()
                    .and_then(|s| opt(&s.reason)),
                f,
            ),
            Top::Decision => one(
                self.wire
                    .annotations
                    .as_ref()
                    .and_then(|a| opt(&a.decision)),
                f,
            ),
            Top::DecisionReason => {
                let raw = self.wire.annotations.as_ref().and_then(|a| a.reason);
                let reason: Option<Text<'_>> = raw.and_then(|r| serde_json::from_str(r.get()).ok());
                one(reason.as_ref().map(|r| r.0.as_ref()), f)
            }
        }
    }
}

/// `jevt.value` of a value reached by pointer: text as it is; numbers and booleans as
/// their JSON text, as Falco renders them.
fn jevt_value(found: Option<&Value>, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
    match found {
        Some(Value::String(s)) => {
            let _ = f(Scalar::Str(s));
        }
        Some(v @ (Value::Number(_) | Value::Bool(_))) => {
            let text = v.to_string();
            let _ = f(Scalar::Str(&text));
        }
        _ => {}
    }
}

impl Event for AuditEvent<'_> {
    fn text(&self, field: &Field) -> Option<Option<&str>> {
        match SOURCES.get(field.id as usize)? {
            Source::Top(top) => self.top_text(*top),
            _ => None,
        }
    }

    fn values(&self, field: &Field, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
        let pointer = field.arg.as_deref().unwrap_or_default();
        match field.id {
            JEVT_REQUEST => {
                return jevt_value(self.request_object().and_then(|v| v.pointer(pointer)), f);
            }
            JEVT_RESPONSE => {
                return jevt_value(self.response_object().and_then(|v| v.pointer(pointer)), f);
            }
            JEVT_EVENT => return jevt_value(self.whole().and_then(|v| v.pointer(pointer)), f),
            _ => {}
        }
        let (Some((_, ty, ..)), Some(source)) = (
            FIELDS.get(field.id as usize),
            SOURCES.get(field.id as usize),
        ) else {
            return;
        };
        let _ = match source {
            Source::Top(top) => {
                self.top(*top, *ty, f);
                ControlFlow::Continue(())
            }
            Source::Request(path) => match self.request_object() {
                Some(v) => walk(v, path, *ty, f),
                None => ControlFlow::Continue(()),
            },
            Source::Response(path) => match self.response_object() {
                Some(v) => walk(v, path, *ty, f),
                None => ControlFlow::Continue(()),
            },
            Source::Event(path) => match self.whole() {
                Some(v) => walk(v, path, *ty, f),
                None => ControlFlow::Continue(()),
            },
        };
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
        let event = AuditEvent::parse(PRIVILEGED_POD).unwrap();
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
        let event = AuditEvent::parse(PRIVILEGED_POD).unwrap();
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

    #[test]
    fn jevt_pointers_to_typed_parts_read_them_directly() {
        let row = |name: &str| AuditFields.resolve(name, None).unwrap().id;
        let jevt = |p: &str| AuditFields.resolve("jevt.value", Some(p)).unwrap();
        assert_eq!(jevt("/stage").id, row("ka.stage"));
        assert_eq!(jevt("/objectRef/resource").id, row("ka.target.resource"));
        assert_eq!(
            jevt("/annotations/authorization.k8s.io~1decision").id,
            row("ka.auth.decision")
        );
        assert_eq!(jevt("/requestObject/spec/hostPID").id, JEVT_REQUEST);
        assert_eq!(jevt("/user/groups").id, JEVT_EVENT);
        // Costs: typed parts are cheap, objects dearer, the whole event dearest.
        assert!(AuditFields.cost(&jevt("/verb")) < AuditFields.cost(&jevt("/requestObject/x")));
        assert!(AuditFields.cost(&jevt("/requestObject/x")) < AuditFields.cost(&jevt("/level")));
    }

    #[test]
    fn escaped_text_and_lazily_decoded_parts() {
        let text = PRIVILEGED_POD
            .replace("alice@example.com", "al\\u0069ce\\\"x")
            .replace(
                r#""sourceIPs":["203.0.113.7"]"#,
                r#""sourceIPs":["203.0.113.7","10.\u0030.0.1"]"#,
            );
        let event = AuditEvent::parse(&text).unwrap();
        assert_eq!(event.user(), "alice\"x");
        assert_eq!(
            event.source_ips().collect::<Vec<_>>(),
            ["203.0.113.7", "10.0.0.1"]
        );
        assert_eq!(event.response_code(), Some(201));
        assert_eq!(event.time(), Some("2026-11-29T12:00:00.041000Z"));
        assert_eq!(event.request_object().unwrap()["kind"], "Pod");
        assert!(event.response_object().is_none());
        assert_eq!(event.to_value()["verb"], "create");
        let check = |cond: &str| {
            let expr = crate::condition::parse(cond).unwrap();
            crate::eval::compile(&expr, &AuditFields)
                .unwrap()
                .matches(&event)
        };
        assert!(check(
            r#"ka.auth.reason startswith "RBAC: allowed by ClusterRoleBinding \"devs""#
        ));
        assert!(check("jevt.value[/level] = RequestResponse"));
        assert!(check("jevt.value[/requestObject/spec/hostPID] = true"));
        assert!(check("ka.sourceips intersects (10.0.0.1)"));
    }
}
