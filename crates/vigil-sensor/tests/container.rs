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

/// A busybox root file system, imported as IMAGE.
fn import_image() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "sleep", "true"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/shadow"), "root:*:1::::::\n").unwrap();
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
        .arg(IMAGE)
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
    import_image();

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
