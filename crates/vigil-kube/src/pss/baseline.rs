//! The Baseline checks: known privilege escalations.

use super::spec::{PodSecurityContext, Profile, SecurityContext};
use super::{
    Check, CheckResult, Control, Level, Pod, containers_phrase, ev, go_quote, join_quote, pluralize,
};
use std::collections::BTreeSet;
use vigil_core::{Evidence, Severity};

/// The Baseline checks (order does not matter; [`super::checks`] sorts).
pub(super) static CHECKS: &[Check] = &[
    Check {
        id: "appArmorProfile",
        level: Level::Baseline,
        versions: &[(0, app_armor_profile)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-apparmor",
            title: "AppArmor",
            severity: Severity::Medium,
            remediation: "Remove the AppArmor override, or set appArmorProfile.type to RuntimeDefault or Localhost (annotations: runtime/default or localhost/<profile>).",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.7.3"],
        },
    },
    Check {
        id: "capabilities_baseline",
        level: Level::Baseline,
        versions: &[(0, capabilities_baseline)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-capabilities",
            title: "Capabilities",
            severity: Severity::High,
            remediation: "Add only capabilities from the default set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) to securityContext.capabilities.add.",
            controls: &[
                "PSS:baseline",
                "NSA-pod-security",
                "CIS-5.2.8",
                "CIS-5.2.9",
                "MITRE-T1611",
            ],
        },
    },
    Check {
        id: "hostNamespaces",
        level: Level::Baseline,
        versions: &[(0, host_namespaces)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-host-namespaces",
            title: "Host Namespaces",
            severity: Severity::High,
            remediation: "Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
            controls: &[
                "PSS:baseline",
                "NSA-pod-security",
                "CIS-5.2.3",
                "CIS-5.2.4",
                "CIS-5.2.5",
                "MITRE-T1611",
            ],
        },
    },
    Check {
        id: "hostPathVolumes",
        level: Level::Baseline,
        versions: &[(0, host_path_volumes)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-host-path-volumes",
            title: "HostPath Volumes",
            severity: Severity::High,
            remediation: "Replace hostPath volumes with emptyDir, configMap, secret, projected or persistentVolumeClaim volumes.",
            controls: &[
                "PSS:baseline",
                "NSA-pod-security",
                "CIS-5.2.12",
                "MITRE-T1611",
            ],
        },
    },
    Check {
        id: "hostPorts",
        level: Level::Baseline,
        versions: &[(0, host_ports)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-host-ports",
            title: "Host Ports",
            severity: Severity::Medium,
            remediation: "Remove hostPort from the container ports (or set it to 0); expose the pod through a Service instead.",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.2.13"],
        },
    },
    Check {
        id: "hostProbesAndHostLifecycle",
        level: Level::Baseline,
        versions: &[(34, host_probes_and_host_lifecycle)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-host-probes",
            title: "Host Probes / Lifecycle Hooks",
            severity: Severity::Medium,
            remediation: "Remove the host field from httpGet and tcpSocket probes and lifecycle handlers, so they target the pod itself.",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.7.3"],
        },
    },
    Check {
        id: "privileged",
        level: Level::Baseline,
        versions: &[(0, privileged)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-privileged",
            title: "Privileged Containers",
            severity: Severity::Critical,
            remediation: "Remove securityContext.privileged (or set it to false); grant the specific capabilities the container needs instead.",
            controls: &[
                "PSS:baseline",
                "NSA-pod-security",
                "CIS-5.2.2",
                "MITRE-T1611",
            ],
        },
    },
    Check {
        id: "procMount",
        level: Level::Baseline,
        versions: &[(0, proc_mount_strict), (35, proc_mount_baseline_1_35)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-proc-mount",
            title: "/proc Mount Type",
            severity: Severity::Medium,
            remediation: "Remove securityContext.procMount or set it to Default.",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.7.3"],
        },
    },
    Check {
        id: "seLinuxOptions",
        level: Level::Baseline,
        versions: &[(0, se_linux_options_1_0), (31, se_linux_options_1_31)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-selinux",
            title: "SELinux",
            severity: Severity::Medium,
            remediation: "Leave seLinuxOptions.user and .role unset and use an allowed seLinuxOptions.type (container_t, container_init_t, container_kvm_t, container_engine_t) or none.",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.7.3"],
        },
    },
    Check {
        id: "seccompProfile_baseline",
        level: Level::Baseline,
        versions: &[
            (0, seccomp_baseline_annotations),
            (19, seccomp_baseline_1_19),
        ],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-seccomp",
            title: "Seccomp",
            severity: Severity::Medium,
            remediation: "Set seccompProfile.type to RuntimeDefault or Localhost instead of Unconfined.",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.7.2"],
        },
    },
    Check {
        id: "sysctls",
        level: Level::Baseline,
        versions: &[
            (0, sysctls_1_0),
            (27, sysctls_1_27),
            (29, sysctls_1_29),
            (32, sysctls_1_32),
            (37, sysctls_1_37),
        ],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-sysctls",
            title: "Sysctls",
            severity: Severity::Medium,
            remediation: "Set only the safe, namespaced sysctls in spec.securityContext.sysctls; configure others on the nodes.",
            controls: &["PSS:baseline", "NSA-pod-security", "CIS-5.7.3"],
        },
    },
    Check {
        id: "windowsHostProcess",
        level: Level::Baseline,
        versions: &[(0, windows_host_process)],
        overrides: &[],
        control: Control {
            id: "PSS-baseline-host-process",
            title: "HostProcess",
            severity: Severity::Critical,
            remediation: "Remove securityContext.windowsOptions.hostProcess (or set it to false) on the pod and its containers.",
            controls: &[
                "PSS:baseline",
                "NSA-pod-security",
                "CIS-5.2.11",
                "MITRE-T1611",
            ],
        },
    },
];

fn app_armor_profile(pod: &Pod<'_>) -> Option<CheckResult> {
    fn allowed_type(t: &str) -> bool {
        matches!(t, "RuntimeDefault" | "Localhost")
    }
    fn allowed_annotation(v: &str) -> bool {
        v.is_empty() || v == "runtime/default" || v.starts_with("localhost/")
    }
    let BadProfiles {
        mut setters,
        values: bad_values,
        mut evidence,
    } = bad_profiles(
        pod,
        "appArmorProfile",
        |s| s.app_armor_profile.as_ref(),
        |s| s.app_armor_profile.as_ref(),
        allowed_type,
    );
    let mut bad_value_list: Vec<String> = bad_values.into_iter().collect();
    let mut annotations: Vec<String> = Vec::new();
    for (k, v) in pod.meta.annotations() {
        if k.starts_with("container.apparmor.security.beta.kubernetes.io/")
            && !allowed_annotation(&v)
        {
            annotations.push(format!("{k}={}", go_quote(&v)));
            evidence.push(ev(format!("{}.annotations[{k}]", pod.meta_path), &v));
        }
    }
    if !annotations.is_empty() {
        annotations.sort();
        setters.push(pluralize("annotation", "annotations", annotations.len()).to_string());
        bad_value_list.extend(annotations);
    }
    if setters.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            bad_value_list.len(),
        )
        .to_string(),
        detail: format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&bad_value_list)
        ),
        evidence,
    })
}

const CAPABILITIES_ALLOWED_1_0: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad_containers = Vec::new();
    let mut non_default = BTreeSet::new();
    let mut evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        let Some(caps) = c
            .security_context
            .as_ref()
            .and_then(|s| s.capabilities.as_ref())
        else {
            continue;
        };
        let mut valid = true;
        for (i, cap) in caps.add.iter().flatten().enumerate() {
            if !CAPABILITIES_ALLOWED_1_0.contains(&cap.as_str()) {
                valid = false;
                non_default.insert(cap.clone());
                evidence.push(ev(
                    pod.at(&format!("{path}.securityContext.capabilities.add[{i}]")),
                    cap,
                ));
            }
        }
        if !valid {
            bad_containers.push(c.name.clone());
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let caps: Vec<String> = non_default.into_iter().collect();
    Some(CheckResult {
        reason: "non-default capabilities".into(),
        detail: format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad_containers),
            join_quote(&caps)
        ),
        evidence,
    })
}

fn host_namespaces(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut set = Vec::new();
    let mut evidence = Vec::new();
    for (name, on) in [
        ("hostIPC", pod.spec.host_ipc),
        ("hostNetwork", pod.spec.host_network),
        ("hostPID", pod.spec.host_pid),
    ] {
        if on == Some(true) {
            set.push(name);
            evidence.push(ev(pod.at(name), true));
        }
    }
    if set.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "host namespaces".into(),
        detail: set.join(", "),
        evidence,
    })
}

fn host_path_volumes(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut names = Vec::new();
    let mut evidence = Vec::new();
    for (i, v) in pod.spec.volumes.iter().flatten().enumerate() {
        if v.has("hostPath") {
            names.push(v.name.clone());
            let path = v
                .source
                .get("hostPath")
                .and_then(|h| h.get("path"))
                .and_then(|p| p.as_str())
                .unwrap_or_default();
            evidence.push(ev(pod.at(&format!("volumes[{i}].hostPath.path")), path));
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "hostPath volumes".into(),
        detail: format!(
            "{} {}",
            pluralize("volume", "volumes", names.len()),
            join_quote(&names)
        ),
        evidence,
    })
}

fn host_ports(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad_containers = Vec::new();
    // Upstream keeps the ports as a set of strings, so they sort as text.
    let mut ports = BTreeSet::new();
    let mut evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        let mut valid = true;
        for (j, p) in c.ports.iter().flatten().enumerate() {
            if let Some(hp) = p.host_port.filter(|hp| *hp != 0) {
                valid = false;
                ports.insert(hp.to_string());
                evidence.push(ev(pod.at(&format!("{path}.ports[{j}].hostPort")), hp));
            }
        }
        if !valid {
            bad_containers.push(c.name.clone());
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let ports: Vec<String> = ports.into_iter().collect();
    Some(CheckResult {
        reason: "hostPort".into(),
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&bad_containers),
            pluralize("uses", "use", bad_containers.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
        evidence,
    })
}

fn host_probes_and_host_lifecycle(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad_containers = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    for (path, c) in pod.spec.containers() {
        let lifecycle = c.lifecycle.as_ref();
        let handlers = [
            ("livenessProbe", c.liveness_probe.as_ref()),
            ("readinessProbe", c.readiness_probe.as_ref()),
            ("startupProbe", c.startup_probe.as_ref()),
            (
                "lifecycle.postStart",
                lifecycle.and_then(|l| l.post_start.as_ref()),
            ),
            (
                "lifecycle.preStop",
                lifecycle.and_then(|l| l.pre_stop.as_ref()),
            ),
        ];
        for (field, handler) in handlers {
            let Some(h) = handler else { continue };
            for (kind, hf) in [("httpGet", &h.http_get), ("tcpSocket", &h.tcp_socket)] {
                if let Some(host) = hf.as_ref().and_then(|x| x.host.as_deref())
                    && !host.is_empty()
                {
                    bad_containers.insert(c.name.clone());
                    hosts.insert(host.to_string());
                    evidence.push(ev(pod.at(&format!("{path}.{field}.{kind}.host")), host));
                }
            }
        }
    }
    if bad_containers.is_empty() {
        return None;
    }
    let containers: Vec<String> = bad_containers.into_iter().collect();
    let hosts: Vec<String> = hosts.into_iter().collect();
    Some(CheckResult {
        reason: "probe or lifecycle host".into(),
        detail: format!(
            "{} {} {} {}",
            containers_phrase(&containers),
            pluralize("uses", "use", containers.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
        evidence,
    })
}

fn privileged(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad = Vec::new();
    let mut evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        if c.security_context.as_ref().and_then(|s| s.privileged) == Some(true) {
            bad.push(c.name.clone());
            evidence.push(ev(
                pod.at(&format!("{path}.securityContext.privileged")),
                true,
            ));
        }
    }
    if bad.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "privileged".into(),
        detail: format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&bad)
        ),
        evidence,
    })
}

/// `procMount` must be unset or `Default`, whatever the pod (upstream `procMount_1_0`,
/// also the Restricted `procMount_restricted`).
pub(super) fn proc_mount_strict(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut bad = Vec::new();
    let mut types = BTreeSet::new();
    let mut evidence = Vec::new();
    for (path, c) in pod.spec.containers() {
        if let Some(pm) = c
            .security_context
            .as_ref()
            .and_then(|s| s.proc_mount.as_ref())
            && pm != "Default"
        {
            bad.push(c.name.clone());
            types.insert(pm.clone());
            evidence.push(ev(pod.at(&format!("{path}.securityContext.procMount")), pm));
        }
    }
    if bad.is_empty() {
        return None;
    }
    let types: Vec<String> = types.into_iter().collect();
    Some(CheckResult {
        reason: "procMount".into(),
        detail: format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad),
            join_quote(&types)
        ),
        evidence,
    })
}

/// From v1.35, Baseline lets a pod in a user namespace (`hostUsers: false`) unmask /proc.
fn proc_mount_baseline_1_35(pod: &Pod<'_>) -> Option<CheckResult> {
    if pod.spec.in_user_namespace() {
        return None;
    }
    proc_mount_strict(pod)
}

const SELINUX_TYPES_1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn se_linux_options_1_0(pod: &Pod<'_>) -> Option<CheckResult> {
    se_linux_options(pod, SELINUX_TYPES_1_0)
}

fn se_linux_options_1_31(pod: &Pod<'_>) -> Option<CheckResult> {
    se_linux_options(pod, SELINUX_TYPES_1_31)
}

fn se_linux_options(pod: &Pod<'_>, allowed: &[&str]) -> Option<CheckResult> {
    let mut bad_types = BTreeSet::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut evidence = Vec::new();
    let mut check = |opts: &super::spec::SeLinuxOptions, path: String| {
        let mut valid = true;
        let t = opts.kind.as_deref().unwrap_or_default();
        if !allowed.contains(&t) {
            valid = false;
            bad_types.insert(t.to_string());
            evidence.push(ev(format!("{path}.type"), t));
        }
        if let Some(u) = opts.user.as_deref().filter(|u| !u.is_empty()) {
            valid = false;
            set_user = true;
            evidence.push(ev(format!("{path}.user"), u));
        }
        if let Some(r) = opts.role.as_deref().filter(|r| !r.is_empty()) {
            valid = false;
            set_role = true;
            evidence.push(ev(format!("{path}.role"), r));
        }
        valid
    };
    let mut setters = Vec::new();
    if let Some(o) = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.se_linux_options.as_ref())
        && !check(o, pod.at("securityContext.seLinuxOptions"))
    {
        setters.push("pod".to_string());
    }
    let mut bad_containers = Vec::new();
    for (path, c) in pod.spec.containers() {
        if let Some(o) = c
            .security_context
            .as_ref()
            .and_then(|s| s.se_linux_options.as_ref())
            && !check(o, pod.at(&format!("{path}.securityContext.seLinuxOptions")))
        {
            bad_containers.push(c.name.clone());
        }
    }
    if !bad_containers.is_empty() {
        setters.push(containers_phrase(&bad_containers));
    }
    if setters.is_empty() {
        return None;
    }
    let mut bad_data = Vec::new();
    if !bad_types.is_empty() {
        let types: Vec<String> = bad_types.into_iter().collect();
        bad_data.push(format!(
            "{} {}",
            pluralize("type", "types", types.len()),
            join_quote(&types)
        ));
    }
    if set_user {
        bad_data.push("user may not be set".to_string());
    }
    if set_role {
        bad_data.push("role may not be set".to_string());
    }
    Some(CheckResult {
        reason: "seLinuxOptions".into(),
        detail: format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.join(" and "),
            bad_data.join("; ")
        ),
        evidence,
    })
}

/// Seccomp before v1.19: the alpha annotations.
fn seccomp_baseline_annotations(pod: &Pod<'_>) -> Option<CheckResult> {
    const POD_KEY: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
    fn valid(v: &str) -> bool {
        v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
    }
    let mut forbidden = BTreeSet::new();
    let mut evidence = Vec::new();
    let mut keys = vec![POD_KEY.to_string()];
    keys.extend(
        pod.spec
            .containers()
            .map(|(_, c)| format!("{CONTAINER_PREFIX}{}", c.name)),
    );
    for key in keys {
        if let Some(v) = pod.meta.annotation(&key)
            && !valid(&v)
            && forbidden.insert(format!("{key}={}", go_quote(&v)))
        {
            evidence.push(ev(format!("{}.annotations[{key}]", pod.meta_path), &v));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    let list: Vec<String> = forbidden.into_iter().collect();
    Some(CheckResult {
        reason: "seccompProfile".into(),
        detail: format!(
            "forbidden {} {}",
            pluralize("annotation", "annotations", list.len()),
            list.join(", ")
        ),
        evidence,
    })
}

/// Profile settings (`seccompProfile`, `appArmorProfile`) of the pod and its containers
/// whose type a check rejects.
struct BadProfiles {
    /// `pod` and/or `containers "a", "b"`, in that order.
    setters: Vec<String>,
    /// The rejected types.
    values: BTreeSet<String>,
    evidence: Vec<Evidence>,
}

fn bad_profiles(
    pod: &Pod<'_>,
    field: &str,
    of_pod: impl Fn(&PodSecurityContext) -> Option<&Profile>,
    of_container: impl Fn(&SecurityContext) -> Option<&Profile>,
    allowed: impl Fn(&str) -> bool,
) -> BadProfiles {
    let mut bad = BadProfiles {
        setters: Vec::new(),
        values: BTreeSet::new(),
        evidence: Vec::new(),
    };
    if let Some(p) = pod.spec.security_context.as_ref().and_then(&of_pod)
        && !allowed(p.kind())
    {
        bad.setters.push("pod".to_string());
        bad.values.insert(p.kind().to_string());
        bad.evidence.push(ev(
            pod.at(&format!("securityContext.{field}.type")),
            p.kind(),
        ));
    }
    let mut containers = Vec::new();
    for (path, c) in pod.spec.containers() {
        if let Some(p) = c.security_context.as_ref().and_then(&of_container)
            && !allowed(p.kind())
        {
            containers.push(c.name.clone());
            bad.values.insert(p.kind().to_string());
            bad.evidence.push(ev(
                pod.at(&format!("{path}.securityContext.{field}.type")),
                p.kind(),
            ));
        }
    }
    if !containers.is_empty() {
        bad.setters.push(containers_phrase(&containers));
    }
    bad
}

pub(super) fn valid_seccomp(t: &str) -> bool {
    t == "Localhost" || t == "RuntimeDefault"
}

/// Seccomp from v1.19: the fields, when set, must be RuntimeDefault or Localhost.
fn seccomp_baseline_1_19(pod: &Pod<'_>) -> Option<CheckResult> {
    let BadProfiles {
        setters,
        values: bad_values,
        evidence,
    } = bad_profiles(
        pod,
        "seccompProfile",
        |s| s.seccomp_profile.as_ref(),
        |s| s.seccomp_profile.as_ref(),
        valid_seccomp,
    );
    if setters.is_empty() {
        return None;
    }
    let values: Vec<String> = bad_values.into_iter().collect();
    Some(CheckResult {
        reason: "seccompProfile".into(),
        detail: format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.join(" and "),
            join_quote(&values)
        ),
        evidence,
    })
}

const SYSCTLS_1_0: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29: &[&str] = &[
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const SYSCTLS_1_37: &[&str] = &[
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn sysctls_1_0(pod: &Pod<'_>) -> Option<CheckResult> {
    sysctls(pod, &[SYSCTLS_1_0])
}
fn sysctls_1_27(pod: &Pod<'_>) -> Option<CheckResult> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27])
}
fn sysctls_1_29(pod: &Pod<'_>) -> Option<CheckResult> {
    sysctls(pod, &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29])
}
fn sysctls_1_32(pod: &Pod<'_>) -> Option<CheckResult> {
    sysctls(
        pod,
        &[SYSCTLS_1_0, SYSCTLS_1_27, SYSCTLS_1_29, SYSCTLS_1_32],
    )
}
fn sysctls_1_37(pod: &Pod<'_>) -> Option<CheckResult> {
    sysctls(
        pod,
        &[
            SYSCTLS_1_0,
            SYSCTLS_1_27,
            SYSCTLS_1_29,
            SYSCTLS_1_32,
            SYSCTLS_1_37,
        ],
    )
}

fn sysctls(pod: &Pod<'_>, allowed: &[&[&str]]) -> Option<CheckResult> {
    let mut forbidden = Vec::new();
    let mut evidence = Vec::new();
    let list = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.sysctls.as_ref());
    for (i, s) in list.into_iter().flatten().enumerate() {
        if !allowed.iter().any(|set| set.contains(&s.name.as_str())) {
            forbidden.push(s.name.clone());
            evidence.push(ev(
                pod.at(&format!("securityContext.sysctls[{i}].name")),
                &s.name,
            ));
        }
    }
    if forbidden.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "forbidden sysctls".into(),
        detail: forbidden.join(", "),
        evidence,
    })
}

fn windows_host_process(pod: &Pod<'_>) -> Option<CheckResult> {
    let mut setters = Vec::new();
    let mut evidence = Vec::new();
    let pod_level = pod
        .spec
        .security_context
        .as_ref()
        .and_then(|s| s.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true);
    let mut bad = Vec::new();
    for (path, c) in pod.spec.containers() {
        if c.security_context
            .as_ref()
            .and_then(|s| s.windows_options.as_ref())
            .and_then(|w| w.host_process)
            == Some(true)
        {
            bad.push(c.name.clone());
            evidence.push(ev(
                pod.at(&format!(
                    "{path}.securityContext.windowsOptions.hostProcess"
                )),
                true,
            ));
        }
    }
    if pod_level {
        setters.push("pod".to_string());
        evidence.insert(
            0,
            ev(pod.at("securityContext.windowsOptions.hostProcess"), true),
        );
    }
    if !bad.is_empty() {
        setters.push(containers_phrase(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    Some(CheckResult {
        reason: "hostProcess".into(),
        detail: format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.join(" and ")
        ),
        evidence,
    })
}
