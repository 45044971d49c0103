//! The Restricted checks: pod hardening on top of Baseline.

use super::baseline::{proc_mount_strict, valid_seccomp};
use super::{
    Check, CheckResult, Control, Level, Pod, UNSET, containers_phrase, ev, join_quote, pluralize,
};
use std::collections::BTreeSet;
use vigil_core::Severity;

/// The Restricted checks (order does not matter; [`super::checks`] sorts).
pub(super) static CHECKS: &[Check] = &[
    Check {
        id: "allowPrivilegeEscalation",
        level: Level::Restricted,
        versions: &[
            (8, allow_privilege_escalation_1_8),
            (25, allow_privilege_escalation_1_25),
        ],
        overrides: &[],
        control: Control {
            id: "PSS-restricted-privilege-escalation",
            title: "Privilege Escalation",
            severity: Severity::Medium,
            remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
            controls: &["PSS:restricted", "NSA-pod-security", "CIS-5.2.6"],
        },
    },
    Check {
        id: "capabilities_restricted",
        level: Level::Restricted,
        versions: &[
            (22, capabilities_restricted_1_22),
            (25, capabilities_restricted_1_25),
        ],
        overrides: &["capabilities_baseline"],
        control: Control {
            id: "PSS-restricted-capabilities",
            title: "Capabilities (restricted)",
            severity: Severity::Medium,
            remediation: "Set securityContext.capabilities.drop: [\"ALL\"] on every container and add back at most NET_BIND_SERVICE.",
            controls: &[
                "PSS:restricted",
                "NSA-pod-security",
                "CIS-5.2.8",
                "CIS-5.2.9",
                "CIS-5.2.10",
            ],
        },
    },
    Check {
        id: "procMount_restricted",
        level: Level::Restricted,
        versions: &[(35, proc_mount_strict)],
        overrides: &["procMount"],
        control: Control {
            id: "PSS-restricted-proc-mount",
            title: "/proc Mount Type",
            severity: Severity::Medium,
            remediation: "Remove securityContext.procMount or set it to Default (Restricted allows no other value, even with hostUsers: false).",
            controls: &["PSS:restricted", "NSA-pod-security", "CIS-5.7.3"],
        },
    },
    Check {
        id: "restrictedVolumes",
        level: Level::Restricted,
        versions: &[(0, restricted_volumes)],
        overrides: &["hostPathVolumes"],
        control: Control {
            id: "PSS-restricted-volume-types",
            title: "Volume Types",
            severity: Severity::Medium,
            remediation: "Use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret volumes; reach other storage through a PersistentVolumeClaim.",
            controls: &["PSS:restricted", "NSA-pod-security", "CIS-5.2.12"],
        },
    },
    Check {
        id: "runAsNonRoot",
        level: Level::Restricted,
        versions: &[(0, run_as_non_root_1_0), (35, run_as_non_root_1_35)],
        overrides: &[],
        control: Control {
            id: "PSS-restricted-run-as-non-root",
            title: "Running as Non-root",
            severity: Severity::Medium,
            remediation: "Set securityContext.runAsNonRoot: true on the pod (or on every container) and run the image as a non-zero UID.",
            controls: &["PSS:restricted", "NSA-pod-security", "CIS-5.2.7"],
        },
    },
    Check {
        id: "runAsUser",
        level: Level::Restricted,
        versions: &[(23, run_as_user_1_23), (35, run_as_user_1_35)],
        overrides: &[],
        control: Control {
            id: "PSS-restricted-run-as-user",
            title: "Running as Non-root user",
            severity: Severity::Medium,
            remediation: "Remove runAsUser: 0 from the pod and containers; use a non-zero UID.",
            controls: &["PSS:restricted", "NSA-pod-security", "CIS-5.2.7"],
        },
    },
    Check {
        id: "seccompProfile_restricted",
        level: Level::Restricted,
        versions: &[(19, seccomp_restricted_1_19), (25, seccomp_restricted_1_25)],
        overrides: &["seccompProfile_baseline"],
        control: Control {
            id: "PSS-restricted-seccomp",
            title: "Seccomp (restricted)",
            severity: Severity::Medium,
            remediation: "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost) on the pod, or on every container.",
            controls: &["PSS:restricted", "NSA-pod-security", "CIS-5.7.2"],
        },
    },
];

fn allow_privilege_escalation_1_8(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad = Vec::new();
    let mut evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        let value = c
            .security_context
            .as_ref()
            .and_then(|s| s.allow_privilege_escalation);
        if value != Some(false) {
            bad.push(c.name.clone());
            let path = pod.at(&format!("{path}.securityContext.allowPrivilegeEscalation"));
            evidence.push(match value {
                Some(v) => ev(path, v),
                None => ev(path, UNSET),
            });
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "allowPrivilegeEscalation != false".into(),
        detail: format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&bad)
        ),
        evidence,
    })
}

/// From v1.25, Windows pods (`spec.os.name: windows`) are exempt: the field does not
/// exist there and API validation refuses it.
fn allow_privilege_escalation_1_25(pod: &Pod<'_>) -> Option<CheckResult> {
    if pod.spec.is_windows() {
        return None;
    }
    allow_privilege_escalation_1_8(pod)
}

fn capabilities_restricted_1_22(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut missing_drop_all = Vec::new();
    let mut adding_forbidden = Vec::new();
    let mut forbidden = BTreeSet::new();
    let mut evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        let caps_path = pod.at(&format!("{path}.securityContext.capabilities"));
        let Some(caps) = c
            .security_context
            .as_ref()
            .and_then(|s| s.capabilities.as_ref())
        else {
            missing_drop_all.push(c.name.clone());
            evidence.push(ev(format!("{caps_path}.drop"), UNSET));
            continue;
        };
        if !caps.drop.iter().flatten().any(|d| d == "ALL") {
            missing_drop_all.push(c.name.clone());
            let drop = caps.drop.as_ref().map(|d| format!("{d:?}"));
            evidence.push(ev(
                format!("{caps_path}.drop"),
                drop.as_deref().unwrap_or(UNSET),
            ));
        }
        let mut added_forbidden = false;
        for (i, a) in caps.add.iter().flatten().enumerate() {
            if a != "NET_BIND_SERVICE" {
                added_forbidden = true;
                forbidden.insert(a.clone());
                evidence.push(ev(format!("{caps_path}.add[{i}]"), a));
            }
        }
        if added_forbidden {
            adding_forbidden.push(c.name.clone());
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop_all)
        ));
    }
    if !adding_forbidden.is_empty() {
        let caps: Vec<String> = forbidden.into_iter().collect();
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding_forbidden),
            join_quote(&caps)
        ));
    }
    if details.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "unrestricted capabilities".into(),
        detail: details.join("; "),
        evidence,
    })
}

/// From v1.25, Windows pods are exempt (capabilities are a Linux feature).
fn capabilities_restricted_1_25(pod: &Pod<'_>) -> Option<CheckResult> {
    if pod.spec.is_windows() {
        return None;
    }
    capabilities_restricted_1_22(pod)
}

/// Volume sources Restricted allows.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The volume sources upstream names in its message, in upstream's order; any other
/// source is reported as `unknown`.
const NAMED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn restricted_volumes(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    let mut evidence = Vec::new();
    for (i, v) in pod.spec.volumes.iter().flatten().enumerate() {
        if v.defaults_to_empty_dir() || ALLOWED_VOLUMES.iter().any(|k| v.has(k)) {
            continue;
        }
        bad.push(v.name.clone());
        let kind = NAMED_VOLUMES
            .iter()
            .find(|k| v.has(k))
            .copied()
            .unwrap_or("unknown");
        types.insert(kind);
        let field = if kind == "unknown" {
            v.source
                .iter()
                .find(|(_, val)| !val.is_null())
                .map(|(k, _)| k.as_str())
                .unwrap_or(kind)
        } else {
            kind
        };
        evidence.push(ev(pod.at(&format!("volumes[{i}].{field}")), kind));
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<&str> = types.into_iter().collect();
    Some(CheckResult {
        reason: "restricted volume types".into(),
        detail: format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
        evidence,
    })
}

fn run_as_non_root_1_0(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut setters = Vec::new();
    let mut evidence = Vec::new();
    let mut pod_non_root = false;
    match pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.run_as_non_root)
    {
        Some(false) => {
            setters.push("pod".to_string());
            evidence.push(ev(pod.at("securityContext.runAsNonRoot"), false));
        }
        Some(true) => pod_non_root = true,
        None => {}
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        let field = pod.at(&format!("{path}.securityContext.runAsNonRoot"));
        match c.security_context.as_ref().and_then(|s| s.run_as_non_root) {
            Some(false) => {
                explicit.push(c.name.clone());
                evidence.push(ev(field, false));
            }
            Some(true) => {}
            None if !pod_non_root => {
                implicit.push(c.name.clone());
                implicit_evidence.push(ev(field, UNSET));
            }
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    if !setters.is_empty() {
        return Some(CheckResult {
            reason: "runAsNonRoot != true".into(),
            detail: format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
            evidence,
        });
    }
    if !implicit.is_empty() {
        let mut evidence = vec![ev(pod.at("securityContext.runAsNonRoot"), UNSET)];
        evidence.extend(implicit_evidence);
        return Some(CheckResult {
            reason: "runAsNonRoot != true".into(),
            detail: format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                containers_phrase(&implicit)
            ),
            evidence,
        });
    }
    None
}

/// From v1.35, a pod in a user namespace (`hostUsers: false`) is not checked: root in the
/// pod is not root on the node.
fn run_as_non_root_1_35(pod: &Pod<'_>) -> Option<CheckResult> {
    if pod.spec.in_user_namespace() {
        return None;
    }
    run_as_non_root_1_0(pod)
}

fn run_as_user_1_23(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut setters = Vec::new();
    let mut evidence = Vec::new();
    if pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.run_as_user)
        == Some(0)
    {
        setters.push("pod".to_string());
        evidence.push(ev(pod.at("securityContext.runAsUser"), 0));
    }
    let mut bad = Vec::new();
    for (path, c) in pod.spec.containers() {
        if c.security_context.as_ref().and_then(|s| s.run_as_user) == Some(0) {
            bad.push(c.name.clone());
            evidence.push(ev(pod.at(&format!("{path}.securityContext.runAsUser")), 0));
        }
    }
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "runAsUser=0".into(),
        detail: format!("{} must not set runAsUser=0", setters.join(" and ")),
        evidence,
    })
}

/// From v1.35, skipped for pods in a user namespace, like `runAsNonRoot`.
fn run_as_user_1_35(pod: &Pod<'_>) -> Option<CheckResult> {
    if pod.spec.in_user_namespace() {
        return None;
    }
    run_as_user_1_23(pod)
}

fn seccomp_restricted_1_19(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut setters = Vec::new();
    let mut bad_values = BTreeSet::new();
    let mut evidence = Vec::new();
    let mut pod_set = false;
    match pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.seccomp_profile.as_ref())
    {
        Some(p) if !valid_seccomp(p.kind()) => {
            setters.push("pod".to_string());
            bad_values.insert(p.kind().to_string());
            evidence.push(ev(pod.at("securityContext.seccompProfile.type"), p.kind()));
        }
        Some(_) => pod_set = true,
        None => {}
    }
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    let mut implicit_evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        let field = pod.at(&format!("{path}.securityContext.seccompProfile.type"));
        match c
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref())
        {
            Some(p) if !valid_seccomp(p.kind()) => {
                explicit.push(c.name.clone());
                bad_values.insert(p.kind().to_string());
                evidence.push(ev(field, p.kind()));
            }
            Some(_) => {}
            None if !pod_set => {
                implicit.push(c.name.clone());
                implicit_evidence.push(ev(field, UNSET));
            }
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_phrase(&explicit));
    }
    if !setters.is_empty() {
        let values: Vec<String> = bad_values.into_iter().collect();
        return Some(CheckResult {
            reason: "seccompProfile".into(),
            detail: format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.join(" and "),
                join_quote(&values)
            ),
            evidence,
        });
    }
    if !implicit.is_empty() {
        let mut evidence = vec![ev(pod.at("securityContext.seccompProfile.type"), UNSET)];
        evidence.extend(implicit_evidence);
        return Some(CheckResult {
            reason: "seccompProfile".into(),
            detail: format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                containers_phrase(&implicit)
            ),
            evidence,
        });
    }
    None
}

/// From v1.25, Windows pods are exempt (seccomp is a Linux feature).
fn seccomp_restricted_1_25(pod: &Pod<'_>) -> Option<CheckResult> {
    if pod.spec.is_windows() {
        return None;
    }
    seccomp_restricted_1_19(pod)
}
