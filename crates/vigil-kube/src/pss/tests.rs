//! Per-control cases: a failing and a passing pod for every control, with the forbidden
//! reason and detail pod-security-admission gives (its `check_*_test.go` cases and the
//! Pod Security Standards page's restricted fields and allowed values).

use super::*;
use serde_json::Value;
use serde_json::json;
use vigil_core::Severity;

/// Runs one upstream check (by id) at `minor` on a pod spec (and optional annotations);
/// returns `reason (detail)` or `None` when allowed.
fn run(check: &str, minor: u32, spec: Value, annotations: Value) -> Option<String> {
    let meta: ObjectMeta = serde_json::from_value(json!({ "annotations": annotations })).unwrap();
    let spec: PodSpec = serde_json::from_value(spec).unwrap();
    let pod = Pod {
        meta: &meta,
        spec: &spec,
        meta_path: "metadata".into(),
        spec_path: "spec".into(),
    };
    let c = checks().into_iter().find(|c| c.id == check).unwrap();
    let f = c.at(minor)?;
    f(&pod).map(|r| {
        assert!(!r.evidence.is_empty(), "{check}: no evidence");
        if r.detail.is_empty() {
            r.reason
        } else {
            format!("{} ({})", r.reason, r.detail)
        }
    })
}

fn latest(check: &str, spec: Value) -> Option<String> {
    run(check, LATEST_MINOR, spec, json!({}))
}

fn with_sc(name: &str, sc: Value) -> Value {
    json!({"name": name, "securityContext": sc})
}

#[test]
fn host_process() {
    let spec = json!({"securityContext": {"windowsOptions": {"hostProcess": true}},
        "containers": [with_sc("a", json!({"windowsOptions": {"hostProcess": true}})),
                       with_sc("b", json!({"windowsOptions": {"hostProcess": false}}))],
        "initContainers": [with_sc("c", json!({"windowsOptions": {"hostProcess": true}}))]});
    assert_eq!(
        latest("windowsHostProcess", spec).as_deref(),
        Some(
            r#"hostProcess (pod and containers "c", "a" must not set securityContext.windowsOptions.hostProcess=true)"#
        )
    );
    let ok = json!({"securityContext": {"windowsOptions": {"hostProcess": false}}, "containers": [{"name": "a"}]});
    assert_eq!(latest("windowsHostProcess", ok), None);
}

#[test]
fn host_namespaces() {
    let spec = json!({"hostPID": true, "hostNetwork": true, "hostIPC": true, "containers": []});
    assert_eq!(
        latest("hostNamespaces", spec).as_deref(),
        Some("host namespaces (hostIPC, hostNetwork, hostPID)")
    );
    let spec = json!({"hostNetwork": true, "hostPID": false});
    assert_eq!(
        latest("hostNamespaces", spec).as_deref(),
        Some("host namespaces (hostNetwork)")
    );
    assert_eq!(latest("hostNamespaces", json!({"hostIPC": false})), None);
}

#[test]
fn privileged() {
    let spec = json!({"containers": [with_sc("a", json!({"privileged": true})),
        with_sc("b", json!({"privileged": false})), {"name": "c"},
        with_sc("d", json!({"privileged": true}))]});
    assert_eq!(
        latest("privileged", spec).as_deref(),
        Some(r#"privileged (containers "a", "d" must not set securityContext.privileged=true)"#)
    );
    let one = json!({"containers": [with_sc("app", json!({"privileged": true}))]});
    assert_eq!(
        latest("privileged", one).as_deref(),
        Some(r#"privileged (container "app" must not set securityContext.privileged=true)"#)
    );
    assert_eq!(
        latest(
            "privileged",
            json!({"containers": [with_sc("a", json!({"privileged": false}))]})
        ),
        None
    );
}

#[test]
fn capabilities_baseline() {
    let spec = json!({"containers": [
        with_sc("a", json!({"capabilities": {"add": ["FOO", "BAR"]}})),
        with_sc("b", json!({"capabilities": {"add": ["BAR", "BAZ"]}})),
        with_sc("c", json!({"capabilities": {"add": ["CHOWN"]}}))]});
    assert_eq!(
        latest("capabilities_baseline", spec).as_deref(),
        Some(
            r#"non-default capabilities (containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add)"#
        )
    );
    let net_raw =
        json!({"containers": [with_sc("a", json!({"capabilities": {"add": ["NET_RAW"]}}))]});
    assert!(latest("capabilities_baseline", net_raw).is_some());
    let defaults: Vec<&str> = baseline_allowed_caps();
    let ok = json!({"containers": [with_sc("a", json!({"capabilities": {"add": defaults, "drop": ["ALL"]}}))]});
    assert_eq!(latest("capabilities_baseline", ok), None);
}

fn baseline_allowed_caps() -> Vec<&'static str> {
    vec![
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
    ]
}

#[test]
fn host_path_volumes() {
    let spec = json!({"volumes": [{"name": "a", "hostPath": {"path": "/"}}, {"name": "b", "emptyDir": {}},
        {"name": "c", "hostPath": {"path": "/var/run/docker.sock"}}]});
    assert_eq!(
        latest("hostPathVolumes", spec).as_deref(),
        Some(r#"hostPath volumes (volumes "a", "c")"#)
    );
    let one = json!({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]});
    assert_eq!(
        latest("hostPathVolumes", one).as_deref(),
        Some(r#"hostPath volumes (volume "root")"#)
    );
    assert_eq!(
        latest(
            "hostPathVolumes",
            json!({"volumes": [{"name": "a", "secret": {}}]})
        ),
        None
    );
}

#[test]
fn host_ports() {
    let spec = json!({"containers": [
        {"name": "a", "ports": [{"hostPort": 0}, {"hostPort": 20}]},
        {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 30}]},
        {"name": "c", "ports": [{"containerPort": 8080}]}],
        "initContainers": [{"name": "d", "ports": [{"hostPort": 100}]}]});
    // Ports sort as text, as upstream's string set does.
    assert_eq!(
        latest("hostPorts", spec).as_deref(),
        Some(r#"hostPort (containers "d", "a", "b" use hostPorts 100, 20, 30)"#)
    );
    let one = json!({"containers": [{"name": "a", "ports": [{"hostPort": 80}]}]});
    assert_eq!(
        latest("hostPorts", one).as_deref(),
        Some(r#"hostPort (container "a" uses hostPort 80)"#)
    );
    assert_eq!(
        latest(
            "hostPorts",
            json!({"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]})
        ),
        None
    );
}

#[test]
fn host_probes_and_lifecycle_from_1_34() {
    let spec = json!({"containers": [
        {"name": "b", "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
         "lifecycle": {"preStop": {"tcpSocket": {"host": "example.com"}}}},
        {"name": "a", "readinessProbe": {"tcpSocket": {"host": "10.0.0.1"}}},
        {"name": "c", "startupProbe": {"httpGet": {"host": "", "port": 80}}}]});
    assert_eq!(
        run("hostProbesAndHostLifecycle", 34, spec.clone(), json!({})).as_deref(),
        Some(
            r#"probe or lifecycle host (containers "a", "b" use probe or lifecycle hosts "10.0.0.1", "example.com")"#
        )
    );
    assert_eq!(run("hostProbesAndHostLifecycle", 33, spec, json!({})), None);
    let ok = json!({"containers": [{"name": "a", "livenessProbe": {"httpGet": {"port": 80}}}]});
    assert_eq!(latest("hostProbesAndHostLifecycle", ok), None);
}

#[test]
fn app_armor_fields_and_annotations() {
    let spec = json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}},
        "containers": [with_sc("a", json!({"appArmorProfile": {"type": "RuntimeDefault"}})),
                       with_sc("b", json!({"appArmorProfile": {"type": "Unconfined"}}))]});
    assert_eq!(
        latest("appArmorProfile", spec).as_deref(),
        Some(
            r#"forbidden AppArmor profile (pod and container "b" must not set AppArmor profile type to "Unconfined")"#
        )
    );
    let annotations = json!({
        "container.apparmor.security.beta.kubernetes.io/a": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/b": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/c": "localhost/custom",
        "container.apparmor.security.beta.kubernetes.io/d": ""});
    assert_eq!(
        run(
            "appArmorProfile",
            0,
            json!({"containers": [{"name": "a"}]}),
            annotations
        )
        .as_deref(),
        Some(
            r#"forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a="unconfined"")"#
        )
    );
    let ok = json!({"securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}});
    assert_eq!(latest("appArmorProfile", ok), None);
}

#[test]
fn se_linux_options() {
    let spec = json!({"securityContext": {"seLinuxOptions": {"type": "foo"}},
        "containers": [with_sc("a", json!({"seLinuxOptions": {"type": "container_t"}})),
                       with_sc("b", json!({"seLinuxOptions": {"type": "bar", "user": "u", "role": "r"}}))]});
    assert_eq!(
        latest("seLinuxOptions", spec).as_deref(),
        Some(
            r#"seLinuxOptions (pod and container "b" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; user may not be set; role may not be set)"#
        )
    );
    let user_only = json!({"securityContext": {"seLinuxOptions": {"user": "system_u"}}});
    assert_eq!(
        latest("seLinuxOptions", user_only).as_deref(),
        Some(
            "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: user may not be set)"
        )
    );
    let engine = json!({"securityContext": {"seLinuxOptions": {"type": "container_engine_t", "level": "s0:c1,c2"}}});
    assert_eq!(run("seLinuxOptions", 31, engine.clone(), json!({})), None);
    assert!(run("seLinuxOptions", 30, engine, json!({})).is_some());
}

#[test]
fn proc_mount_baseline_and_user_namespaces() {
    let spec = json!({"containers": [with_sc("a", json!({"procMount": "Unmasked"})),
        with_sc("b", json!({"procMount": "Default"}))]});
    assert_eq!(
        latest("procMount", spec.clone()).as_deref(),
        Some(r#"procMount (container "a" must not set securityContext.procMount to "Unmasked")"#)
    );
    let mut userns = spec;
    userns["hostUsers"] = json!(false);
    assert_eq!(
        latest("procMount", userns.clone()),
        None,
        "relaxed from v1.35"
    );
    assert!(run("procMount", 34, userns.clone(), json!({})).is_some());
    // Restricted keeps it strict through procMount_restricted.
    assert!(latest("procMount_restricted", userns).is_some());
}

#[test]
fn seccomp_baseline() {
    let spec = json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [with_sc("a", json!({"seccompProfile": {"type": "Unconfined"}})),
                       with_sc("b", json!({"seccompProfile": {"type": "RuntimeDefault"}}))]});
    assert_eq!(
        latest("seccompProfile_baseline", spec).as_deref(),
        Some(
            r#"seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")"#
        )
    );
    // Unset is fine at Baseline.
    assert_eq!(
        latest(
            "seccompProfile_baseline",
            json!({"containers": [{"name": "a"}]})
        ),
        None
    );
    // Before v1.19: the alpha annotations.
    let annotations = json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
        "container.seccomp.security.alpha.kubernetes.io/a": "docker/default"});
    assert_eq!(
        run(
            "seccompProfile_baseline",
            18,
            json!({"containers": [{"name": "a"}]}),
            annotations
        )
        .as_deref(),
        Some(
            r#"seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#
        )
    );
}

#[test]
fn sysctls_by_version() {
    let spec = |name: &str| json!({"securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": name, "value": "1"}]}});
    assert_eq!(
        latest("sysctls", spec("net.core.somaxconn")).as_deref(),
        Some("forbidden sysctls (net.core.somaxconn)")
    );
    for (name, since) in [
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_fin_timeout", 29),
        ("net.ipv4.tcp_rmem", 32),
        ("net.ipv4.tcp_wmem", 32),
        ("net.ipv4.tcp_notsent_lowat", 37),
    ] {
        assert_eq!(run("sysctls", since, spec(name), json!({})), None, "{name}");
        assert!(
            run("sysctls", since - 1, spec(name), json!({})).is_some(),
            "{name}"
        );
    }
}

#[test]
fn restricted_volume_types() {
    let spec = json!({"volumes": [
        {"name": "a", "configMap": {}}, {"name": "b", "hostPath": {"path": "/"}},
        {"name": "c", "nfs": {"server": "x", "path": "/"}}, {"name": "d"},
        {"name": "e", "somethingNew": {}}, {"name": "f", "image": {"reference": "x"}}]});
    assert_eq!(
        latest("restrictedVolumes", spec).as_deref(),
        Some(
            r#"restricted volume types (volumes "b", "c", "e" use restricted volume types "hostPath", "nfs", "unknown")"#
        )
    );
    let ok = json!({"volumes": [{"name": "a", "csi": {"driver": "x"}}, {"name": "b", "projected": {}},
        {"name": "c", "persistentVolumeClaim": {"claimName": "x"}}, {"name": "d", "ephemeral": {}},
        {"name": "e", "downwardAPI": {}}, {"name": "f", "secret": {}}, {"name": "g", "emptyDir": {}}]});
    assert_eq!(latest("restrictedVolumes", ok), None);
}

#[test]
fn allow_privilege_escalation() {
    let spec = json!({"containers": [{"name": "a"}, with_sc("b", json!({"allowPrivilegeEscalation": true})),
        with_sc("c", json!({"allowPrivilegeEscalation": false}))]});
    assert_eq!(
        latest("allowPrivilegeEscalation", spec).as_deref(),
        Some(
            r#"allowPrivilegeEscalation != false (containers "a", "b" must set securityContext.allowPrivilegeEscalation=false)"#
        )
    );
    let windows = json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]});
    assert_eq!(latest("allowPrivilegeEscalation", windows.clone()), None);
    assert!(run("allowPrivilegeEscalation", 24, windows.clone(), json!({})).is_some());
    assert_eq!(
        run("allowPrivilegeEscalation", 7, windows, json!({})),
        None,
        "field added in 1.8"
    );
}

#[test]
fn run_as_non_root() {
    let spec = json!({"securityContext": {"runAsNonRoot": false},
        "containers": [with_sc("a", json!({"runAsNonRoot": false})), with_sc("b", json!({"runAsNonRoot": true})), {"name": "c"}]});
    assert_eq!(
        latest("runAsNonRoot", spec).as_deref(),
        Some(
            r#"runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false)"#
        )
    );
    let implicit = json!({"containers": [{"name": "a"}, with_sc("b", json!({"runAsNonRoot": true})), {"name": "c"}]});
    assert_eq!(
        latest("runAsNonRoot", implicit).as_deref(),
        Some(
            r#"runAsNonRoot != true (pod or containers "a", "c" must set securityContext.runAsNonRoot=true)"#
        )
    );
    let pod_level =
        json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a"}]});
    assert_eq!(latest("runAsNonRoot", pod_level), None);
    let userns = json!({"hostUsers": false, "containers": [{"name": "a"}]});
    assert_eq!(latest("runAsNonRoot", userns.clone()), None);
    assert!(run("runAsNonRoot", 34, userns, json!({})).is_some());
}

#[test]
fn run_as_user() {
    let spec = json!({"securityContext": {"runAsUser": 0},
        "containers": [with_sc("a", json!({"runAsUser": 0})), with_sc("b", json!({"runAsUser": 1000}))]});
    assert_eq!(
        latest("runAsUser", spec.clone()).as_deref(),
        Some(r#"runAsUser=0 (pod and container "a" must not set runAsUser=0)"#)
    );
    assert_eq!(
        run("runAsUser", 22, spec, json!({})),
        None,
        "check starts at v1.23"
    );
    assert_eq!(
        latest("runAsUser", json!({"containers": [{"name": "a"}]})),
        None
    );
    let userns = json!({"hostUsers": false, "securityContext": {"runAsUser": 0}});
    assert_eq!(latest("runAsUser", userns), None);
}

#[test]
fn seccomp_restricted() {
    let spec = json!({"containers": [{"name": "a"}, with_sc("b", json!({"seccompProfile": {"type": "Localhost"}})), {"name": "c"}]});
    assert_eq!(
        latest("seccompProfile_restricted", spec).as_deref(),
        Some(
            r#"seccompProfile (pod or containers "a", "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
        )
    );
    let bad = json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [{"name": "a"}]});
    assert_eq!(
        latest("seccompProfile_restricted", bad).as_deref(),
        Some(
            r#"seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")"#
        )
    );
    let ok = json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "a"}]});
    assert_eq!(latest("seccompProfile_restricted", ok), None);
    let windows = json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]});
    assert_eq!(latest("seccompProfile_restricted", windows), None);
}

#[test]
fn capabilities_restricted() {
    let spec = json!({"containers": [
        with_sc("a", json!({"capabilities": {"add": ["FOO", "BAR"]}})),
        with_sc("b", json!({"capabilities": {"add": ["BAR", "BAZ"]}})),
        with_sc("c", json!({"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}}))]});
    assert_eq!(
        latest("capabilities_restricted", spec).as_deref(),
        Some(
            r#"unrestricted capabilities (containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add)"#
        )
    );
    let ok = json!({"containers": [with_sc("a", json!({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}))]});
    assert_eq!(latest("capabilities_restricted", ok), None);
    let windows = json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]});
    assert_eq!(latest("capabilities_restricted", windows), None);
}

#[test]
fn registry_order_overrides_and_versions() {
    let ids = |level, v| -> Vec<&str> { checks_for(level, v).iter().map(|(c, _)| c.id).collect() };
    assert_eq!(
        ids(Level::Baseline, Version::Latest),
        [
            "appArmorProfile",
            "capabilities_baseline",
            "hostNamespaces",
            "hostPathVolumes",
            "hostPorts",
            "hostProbesAndHostLifecycle",
            "privileged",
            "procMount",
            "seLinuxOptions",
            "seccompProfile_baseline",
            "sysctls",
            "windowsHostProcess"
        ]
    );
    assert_eq!(
        ids(Level::Restricted, Version::Latest),
        [
            "appArmorProfile",
            "hostNamespaces",
            "hostPorts",
            "hostProbesAndHostLifecycle",
            "privileged",
            "seLinuxOptions",
            "sysctls",
            "windowsHostProcess",
            "allowPrivilegeEscalation",
            "capabilities_restricted",
            "procMount_restricted",
            "restrictedVolumes",
            "runAsNonRoot",
            "runAsUser",
            "seccompProfile_restricted"
        ]
    );
    // Before v1.22 Restricted still uses the baseline capabilities check; before v1.19 the
    // baseline seccomp annotations check.
    let v18 = ids(Level::Restricted, Version::Minor(18));
    assert!(v18.contains(&"capabilities_baseline") && v18.contains(&"seccompProfile_baseline"));
    assert!(!v18.contains(&"runAsUser") && !v18.contains(&"procMount_restricted"));
    assert!(v18.contains(&"procMount"));
    // Future versions clamp to the newest modelled one.
    assert_eq!(
        ids(Level::Restricted, Version::Minor(99)),
        ids(Level::Restricted, Version::Latest)
    );
}

#[test]
fn versions_parse() {
    assert_eq!("latest".parse::<Version>(), Ok(Version::Latest));
    assert_eq!("v1.30".parse::<Version>(), Ok(Version::Minor(30)));
    assert_eq!("1.25".parse::<Version>(), Ok(Version::Minor(25)));
    for bad in ["v2.0", "v1.", "v1.x", "", "v1.-1", "v1.99999"] {
        assert!(bad.parse::<Version>().is_err(), "{bad}");
    }
    assert_eq!(Version::Minor(30).to_string(), "v1.30");
}

fn object(value: Value) -> Object {
    Object {
        value,
        origin: crate::manifest::Origin {
            file: "t.yaml".into(),
            document: 1,
            item: None,
            helm_source: None,
        },
    }
}

#[test]
fn workloads_carry_their_template_paths_into_evidence_and_findings() {
    let cron = object(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "ops"},
        "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "x"}, {"name": "app", "securityContext": {"privileged": true}}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}}}}}));
    let e = evaluate_object(&cron, Level::Baseline, Version::Latest, "default")
        .unwrap()
        .unwrap();
    assert_eq!(
        e.verdict(),
        r#"violates PodSecurity "baseline:latest": hostPath volumes (volume "root"), privileged (container "app" must not set securityContext.privileged=true)"#
    );
    let findings = e.findings();
    assert_eq!(findings.len(), 2);
    let priv_ = &findings[1];
    assert_eq!(priv_.check_id, "PSS-baseline-privileged");
    assert_eq!(priv_.severity, Severity::Critical);
    assert_eq!(priv_.resource.display_name(), "CronJob ops/nightly");
    assert_eq!(
        priv_.evidence[0].path,
        "spec.jobTemplate.spec.template.spec.containers[1].securityContext.privileged"
    );
    assert!(priv_.controls.contains(&"PSS:baseline".to_string()));
    assert!(priv_.controls.contains(&"CIS-5.2.2".to_string()));
    assert_eq!(
        findings[0].evidence[0].path,
        "spec.jobTemplate.spec.template.spec.volumes[0].hostPath.path"
    );
}

#[test]
fn kinds_without_pods_are_skipped_and_bad_shapes_are_errors() {
    let cm = object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}));
    assert!(
        evaluate_object(&cm, Level::Restricted, Version::Latest, "default")
            .unwrap()
            .is_none()
    );
    let bad = object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "a", "securityContext": {"privileged": "yes"}}]}}),
    );
    let err = evaluate_object(&bad, Level::Baseline, Version::Latest, "default").unwrap_err();
    assert!(err.starts_with("Pod: spec:"), "{err}");
    let templ = object(
        json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
        "template": {"spec": {"containers": [{"name": "a"}]}}}),
    );
    let e = evaluate_object(&templ, Level::Restricted, Version::Latest, "dev")
        .unwrap()
        .unwrap();
    assert_eq!(e.resource.namespace, "dev");
    assert!(e.violations.iter().any(|v| v.check == "runAsNonRoot"));
}

#[test]
fn compliant_restricted_pod_is_allowed() {
    let pod = object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok"},
        "spec": {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "x", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "tmp", "emptyDir": {}}]}}),
    );
    let e = evaluate_object(&pod, Level::Restricted, Version::Latest, "default")
        .unwrap()
        .unwrap();
    assert_eq!(e.verdict(), "allowed");
}
