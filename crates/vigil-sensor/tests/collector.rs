//! The collector on the running kernel: real processes do real things and the events
//! must arrive with the right fields. Needs root and BTF; without them (a laptop) the test
//! says why and passes. CI runs it as root.

use serde_json::Value;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use vigil_sensor::collector::{self, Config, Stats};
use vigil_sensor::enrich::{Enricher, NoMetadata, ProcFs};
use vigil_sensor::event::Event;
use vigil_sensor::pipeline::Pipeline;
use vigil_sensor::sink::Sink;
use vigil_sensor::watch::WatchTable;

/// Keeps every event as JSON.
struct Collect(Arc<Mutex<Vec<Value>>>);

impl Sink for Collect {
    fn send(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let v = serde_json::to_value(event)?;
        self.0.lock().unwrap().push(v);
        Ok(())
    }
    fn alert(&mut self, _alert: &vigil_core::Alert) -> std::io::Result<()> {
        panic!("no rules run here")
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn can_run() -> bool {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipping: the sensor test needs root to load eBPF programs");
        return false;
    }
    if !std::path::Path::new(collector::BTF_PATH).exists() {
        eprintln!(
            "skipping: {} is missing (kernel without BTF)",
            collector::BTF_PATH
        );
        return false;
    }
    true
}

/// Starts the collector on its own thread; returns once its programs are attached.
fn start(
    events: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<Stats, collector::SensorError>> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let config = Config::default();
        let enricher = Enricher::new(Box::new(ProcFs), Box::new(NoMetadata));
        let mut pipeline = Pipeline::new(
            enricher,
            "test-node".into(),
            WatchTable::defaults(),
            Collect(events),
        )
        .on_attached(move |a| {
            let _ = ready_tx.send(a.clone());
        });
        collector::run(&config, &mut pipeline, &stop, None)
    });
    match ready_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(attached) => {
            eprintln!(
                "attached: {:?}; missing: {:?}",
                attached.programs, attached.missing
            );
        }
        Err(_) => {
            let r = handle.join().unwrap();
            panic!("the collector did not attach: {r:?}");
        }
    }
    handle
}

fn find(events: &[Value], pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    events.iter().find(|e| pred(e))
}

#[test]
fn collector_sees_exec_open_connect_memfd() {
    if !can_run() {
        return;
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let handle = start(events.clone(), stop.clone());

    // exec with a unique argument, fork of cat, open of /etc/shadow, exit status 3;
    // /etc/hostname is a near miss (not watched) that must not be reported.
    let marker = format!(
        "vigil-marker-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let cwd = std::env::current_dir().unwrap();
    let child = Command::new("/bin/sh")
        .args(["-c", "cat /etc/shadow /etc/hostname > /dev/null; exit 3"])
        .arg(&marker)
        .spawn()
        .unwrap();
    let sh_pid = child.id();
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(3));

    // listen on 127.0.0.1, connect to it, accept
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_port = stream.local_addr().unwrap().port();
    let (accepted, _) = listener.accept().unwrap();
    drop(accepted);
    drop(stream);

    // memfd_create + exec of the memfd (fileless execution)
    let memfd = rustix::fs::memfd_create("vigil-test", rustix::fs::MemfdFlags::empty()).unwrap();
    let mut file = std::fs::File::from(memfd);
    file.write_all(&std::fs::read("/bin/true").unwrap())
        .unwrap();
    let memfd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let memfd_child = Command::new(&memfd_path).arg(&marker).spawn().unwrap();
    let memfd_pid = memfd_child.id();
    assert!(memfd_child.wait_with_output().unwrap().status.success());
    drop(file);

    // Events are drained every poll (100 ms); give them time, then stop.
    let deadline = Instant::now() + Duration::from_secs(10);
    let me = std::process::id();
    loop {
        let done = {
            let ev = events.lock().unwrap();
            find(&ev, |e| e["kind"] == "connect" && e["process"]["pid"] == me).is_some()
                && find(&ev, |e| {
                    e["kind"] == "exec" && e["process"]["pid"] == memfd_pid
                })
                .is_some()
                && find(&ev, |e| {
                    e["kind"] == "exit" && e["process"]["pid"] == sh_pid
                })
                .is_some()
        };
        if done || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let stats = handle.join().unwrap().expect("collector run");
    let ev = events.lock().unwrap();
    eprintln!("{} events; stats {stats:?}", ev.len());
    let show = |what: &str, e: Option<&Value>| -> Value {
        e.cloned().unwrap_or_else(|| {
            let mine: Vec<&Value> = ev
                .iter()
                .filter(|e| {
                    [sh_pid, memfd_pid, me]
                        .contains(&(e["process"]["pid"].as_u64().unwrap_or(0) as u32))
                })
                .collect();
            panic!(
                "no {what} event; ours: {}",
                serde_json::to_string_pretty(&mine).unwrap()
            )
        })
    };

    // exec of sh with the marker
    let exec = show(
        "exec",
        find(&ev, |e| {
            e["kind"] == "exec"
                && e["exec"]["args"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == marker.as_str()))
                && e["process"]["pid"] == sh_pid
        }),
    );
    assert_eq!(exec["node"], "test-node");
    assert_eq!(exec["exec"]["filename"], "/bin/sh");
    assert_eq!(exec["exec"]["args"][0], "/bin/sh");
    assert_eq!(exec["exec"]["args"][1], "-c");
    assert_eq!(exec["exec"]["cwd"], cwd.to_str().unwrap());
    let sh_exe = std::fs::canonicalize("/bin/sh").unwrap();
    assert_eq!(exec["process"]["exe"], sh_exe.to_str().unwrap());
    assert_eq!(exec["process"]["ppid"], me);
    assert_eq!(exec["process"]["uid"], 0);
    assert_eq!(exec["exec"]["euid"], 0);
    assert_eq!(exec["exec"]["fileless"], false);
    assert!(
        exec["exec"]["cap_effective"].as_u64().unwrap() & (1 << 21) != 0,
        "CAP_SYS_ADMIN"
    );
    assert!(exec["exec"]["exe_nlink"].as_u64().unwrap() >= 1);
    assert!(exec["exec"]["exe_mtime"].is_string());
    assert!(exec["time"].as_str().unwrap().ends_with('Z'));

    // cat's open of /etc/shadow, through sh's fork
    let open = show(
        "open",
        find(&ev, |e| {
            e["kind"] == "open" && e["process"]["ppid"] == sh_pid
        }),
    );
    assert_eq!(open["open"]["path"], "/etc/shadow");
    assert_eq!(open["open"]["watch"], "/etc/shadow");
    assert_eq!(open["open"]["write"], false);
    assert!(open["open"]["result"].as_i64().unwrap() >= 0, "{open}");
    assert_eq!(open["process"]["name"], "cat");
    assert_eq!(open["process"]["parent"]["exe"], sh_exe.to_str().unwrap());
    let cat_pid = open["process"]["pid"].clone();
    assert!(
        find(&ev, |e| e["kind"] == "open"
            && e["open"]["path"] == "/etc/hostname")
        .is_none(),
        "an unwatched path was reported"
    );
    show(
        "fork",
        find(&ev, |e| {
            e["kind"] == "fork"
                && e["process"]["pid"] == sh_pid
                && e["fork"]["child_pid"] == cat_pid
        }),
    );
    let exit = show(
        "exit",
        find(&ev, |e| {
            e["kind"] == "exit" && e["process"]["pid"] == sh_pid
        }),
    );
    assert_eq!(exit["exit"]["status"], 3);
    assert_eq!(exit["exit"]["signal"], 0);

    // the connect
    let connect = show(
        "connect",
        find(&ev, |e| {
            e["kind"] == "connect" && e["process"]["pid"] == me && e["connect"]["port"] == port
        }),
    );
    assert_eq!(connect["connect"]["address"], "127.0.0.1");
    assert_eq!(connect["connect"]["family"], "ipv4");
    assert_eq!(connect["connect"]["result"], 0);
    let listen = show(
        "listen",
        find(&ev, |e| {
            e["kind"] == "listen" && e["process"]["pid"] == me && e["socket"]["local_port"] == port
        }),
    );
    assert_eq!(listen["socket"]["local_address"], "127.0.0.1");
    assert!(listen["socket"]["backlog"].as_i64().unwrap() > 0);
    let accept = show(
        "accept",
        find(&ev, |e| {
            e["kind"] == "accept" && e["process"]["pid"] == me && e["socket"]["local_port"] == port
        }),
    );
    assert_eq!(accept["socket"]["remote_address"], "127.0.0.1");
    assert_eq!(accept["socket"]["remote_port"], client_port);

    // memfd_create, then the fileless exec
    let mc = show(
        "memfd_create",
        find(&ev, |e| {
            e["kind"] == "memfd_create" && e["process"]["pid"] == me
        }),
    );
    assert_eq!(mc["syscall"]["name"], "vigil-test");
    let fl = show(
        "fileless exec",
        find(&ev, |e| {
            e["kind"] == "exec" && e["process"]["pid"] == memfd_pid
        }),
    );
    assert_eq!(fl["exec"]["fileless"], true, "{fl}");
    assert!(
        fl["process"]["exe"]
            .as_str()
            .unwrap()
            .starts_with("/memfd:vigil-test"),
        "{fl}"
    );
    assert_eq!(fl["exec"]["args"][1], marker.as_str());

    assert_eq!(stats.kernel_drops, 0);
    assert_eq!(stats.user_drops, 0);
}
