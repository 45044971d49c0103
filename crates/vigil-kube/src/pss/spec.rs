//! The part of the Pod API the Pod Security Standards read, and where pods sit in each
//! workload kind.
//!
//! Typed on purpose: a field of the wrong type (`privileged: "yes"`) is an error naming
//! the object, as the API server would reject it, instead of a silently skipped check.
//! Fields the standards do not read are ignored.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// `metadata` of the pod (annotations are all the standards read).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Annotations; non-string values are kept as their JSON text.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, Value>>,
}

impl ObjectMeta {
    /// Annotations as `(key, value)` text pairs, sorted by key.
    pub fn annotations(&self) -> impl Iterator<Item = (&str, String)> {
        self.annotations.iter().flatten().map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.as_str(), v)
        })
    }

    /// One annotation's value.
    pub fn annotation(&self, key: &str) -> Option<String> {
        self.annotations().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// `PodSpec`, the fields the standards read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct PodSpec {
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    pub host_users: Option<bool>,
    pub os: Option<PodOs>,
    pub security_context: Option<PodSecurityContext>,
    pub containers: Option<Vec<Container>>,
    pub init_containers: Option<Vec<Container>>,
    pub ephemeral_containers: Option<Vec<Container>>,
    pub volumes: Option<Vec<Volume>>,
}

impl PodSpec {
    /// True when `spec.os.name` is `windows` (exempt from some Linux-only restricted
    /// controls from policy v1.25).
    pub fn is_windows(&self) -> bool {
        self.os.as_ref().and_then(|o| o.name.as_deref()) == Some("windows")
    }

    /// True when `spec.hostUsers` is explicitly false (the pod runs in a user namespace).
    pub fn in_user_namespace(&self) -> bool {
        self.host_users == Some(false)
    }

    /// Every container the way pod-security-admission visits them: init containers, then
    /// containers, then ephemeral containers, each with its field path under the spec.
    pub fn containers(&self) -> impl Iterator<Item = (String, &Container)> {
        fn list<'a>(
            field: &'static str,
            v: &'a Option<Vec<Container>>,
        ) -> impl Iterator<Item = (String, &'a Container)> {
            v.iter()
                .flatten()
                .enumerate()
                .map(move |(i, c)| (format!("{field}[{i}]"), c))
        }
        list("initContainers", &self.init_containers)
            .chain(list("containers", &self.containers))
            .chain(list("ephemeralContainers", &self.ephemeral_containers))
    }
}

/// `spec.os`.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct PodOs {
    pub name: Option<String>,
}

/// `spec.securityContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct PodSecurityContext {
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub seccomp_profile: Option<Profile>,
    pub app_armor_profile: Option<Profile>,
    #[serde(rename = "seLinuxOptions")]
    pub se_linux_options: Option<SeLinuxOptions>,
    pub sysctls: Option<Vec<Sysctl>>,
    pub windows_options: Option<WindowsOptions>,
}

/// A container's `securityContext`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub capabilities: Option<Capabilities>,
    pub proc_mount: Option<String>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub seccomp_profile: Option<Profile>,
    pub app_armor_profile: Option<Profile>,
    #[serde(rename = "seLinuxOptions")]
    pub se_linux_options: Option<SeLinuxOptions>,
    pub windows_options: Option<WindowsOptions>,
}

/// `seccompProfile` or `appArmorProfile`.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct Profile {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl Profile {
    /// The type, empty when unset.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or_default()
    }
}

/// `seLinuxOptions`.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct SeLinuxOptions {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub user: Option<String>,
    pub role: Option<String>,
    pub level: Option<String>,
}

/// `windowsOptions`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct WindowsOptions {
    pub host_process: Option<bool>,
}

/// One pod-level sysctl.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct Sysctl {
    #[serde(default)]
    pub name: String,
}

/// `capabilities`.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct Capabilities {
    pub add: Option<Vec<String>>,
    pub drop: Option<Vec<String>>,
}

/// A container, init container or ephemeral container.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Container {
    #[serde(default)]
    pub name: String,
    pub security_context: Option<SecurityContext>,
    pub ports: Option<Vec<ContainerPort>>,
    pub liveness_probe: Option<Handler>,
    pub readiness_probe: Option<Handler>,
    pub startup_probe: Option<Handler>,
    pub lifecycle: Option<Lifecycle>,
}

/// A container port.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ContainerPort {
    pub host_port: Option<i64>,
}

/// A probe or lifecycle handler: only the `host` of `httpGet` and `tcpSocket` matter.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Handler {
    pub http_get: Option<HostField>,
    pub tcp_socket: Option<HostField>,
}

/// Something with a `host` field.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct HostField {
    pub host: Option<String>,
}

/// `lifecycle`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Lifecycle {
    pub post_start: Option<Handler>,
    pub pre_stop: Option<Handler>,
}

/// A volume: its name and its source, whatever type that is.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub source: BTreeMap<String, Value>,
}

impl Volume {
    /// True when the volume has a source of type `key` (`hostPath`, `secret`, ...).
    pub fn has(&self, key: &str) -> bool {
        self.source.get(key).is_some_and(|v| !v.is_null())
    }

    /// True when no source is set: the API server defaults such a volume to `emptyDir`
    /// before admission sees it.
    pub fn defaults_to_empty_dir(&self) -> bool {
        self.source.values().all(Value::is_null)
    }
}

/// Where the pod sits in an object of `kind`: the path to the pod template (the object
/// holding `metadata` and `spec`), or `None` for kinds that carry no pod.
///
/// These are the kinds pod-security-admission checks (Pod) or warns about (the others,
/// through their templates).
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &[],
        "PodTemplate" => &["template"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => &["spec", "template"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        _ => return None,
    })
}
