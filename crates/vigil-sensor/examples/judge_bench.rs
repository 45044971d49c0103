//! The cost of judging one runtime event with every built-in rule: events of each kind
//! the collector reports (the exec storm's fork, exec and exit; opens of watched files;
//! connects; a syscall kind), none of which raises an alert, judged in a loop. Prints
//! events per second for each kind and for the exec storm's mix (one fork, one exec and
//! one exit per process), the median of RUNS runs of SECS seconds each.
//!
//!     cargo run --release -p vigil-sensor --example judge_bench -- [RUNS] [SECS]

use std::borrow::Cow;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_detect::engine::Engine;
use vigil_sensor::detect::{self, Runtime};
use vigil_sensor::enrich::{Enricher, ExecInfo, NoMetadata, ProcInfo, ProcSource};
use vigil_sensor::event::{Connect, Event, Exec, Exit, Fork, Open, Parent, Process, Syscall};
use vigil_sensor::fields::RuntimeEvent;

const CID: &str = "4f2a9c1be0d34a7f8e6b5c4d3a2b1c0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";

struct NoProcs;
impl ProcSource for NoProcs {
    fn cgroup(&self, _pid: u32) -> Option<String> {
        None
    }
    fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)> {
        Vec::new()
    }
}

/// The cache: init, a container's nginx (200) and its worker (300).
fn cache() -> Enricher {
    let mut e = Enricher::new(Box::new(NoProcs), Box::new(NoMetadata));
    for (pid, ppid, name, exe, argv, container) in [
        (
            1,
            0,
            "systemd",
            "/usr/lib/systemd/systemd",
            &["/sbin/init"][..],
            false,
        ),
        (
            200,
            1,
            "nginx",
            "/usr/sbin/nginx",
            &["nginx", "-g", "daemon off;"][..],
            true,
        ),
        (
            300,
            200,
            "true",
            "/usr/bin/true",
            &["/usr/bin/true"][..],
            true,
        ),
    ] {
        let exec = ExecInfo::new(name, argv.iter().copied(), "/", (7, 1, 1), false, 1);
        e.remember(
            pid,
            ProcInfo {
                name: Arc::from(name),
                exe: Some(Arc::from(exe)),
                ppid,
                container: container.then(|| Arc::from(CID)),
                exec: Some(Arc::new(exec)),
            },
        );
    }
    e
}

fn base(kind: &'static str) -> Event<'static> {
    Event {
        kind,
        time: "2026-11-29T12:00:00.000000001Z".into(),
        boot_ns: 90_000_000_000_000,
        unix_ns: 1_795_000_000_000_000_000,
        node: "node-1",
        container_id: Some(CID),
        container: None,
        process: Process {
            pid: 300,
            tid: 300,
            ppid: 200,
            name: Cow::Borrowed("true"),
            exe: Some("/usr/bin/true"),
            uid: 0,
            gid: 0,
            cgroup_id: 0,
            parent: Some(Parent {
                name: "nginx",
                exe: Some("/usr/sbin/nginx"),
            }),
        },
        exec: None,
        fork: None,
        exit: None,
        open: None,
        connect: None,
        socket: None,
        syscall: None,
    }
}

fn events() -> Vec<(&'static str, Event<'static>)> {
    let mut exec = base("exec");
    exec.exec = Some(Exec {
        filename: Cow::Borrowed("/usr/bin/true"),
        args: vec![Cow::Borrowed("/usr/bin/true")],
        args_truncated: false,
        cwd: "/".into(),
        euid: 0,
        egid: 0,
        cap_effective: 0,
        fileless: false,
        exe_ino: 7,
        exe_nlink: 1,
        exe_ctime: None,
        exe_mtime: None,
    });
    let mut fork = base("fork");
    fork.fork = Some(Fork { child_pid: 301 });
    let mut exit = base("exit");
    exit.exit = Some(Exit {
        status: 0,
        signal: 0,
    });
    let mut open = base("open");
    open.open = Some(Open {
        path: Cow::Borrowed("/etc/passwd"),
        watch: Some("/etc/passwd"),
        flags: 0o2000000,
        write: false,
        result: 3,
    });
    let mut connect = base("connect");
    connect.connect = Some(Connect {
        address: "10.1.2.3".into(),
        port: 8080,
        family: "ipv4",
        fd: 5,
        result: -115,
    });
    let mut setuid = base("setuid");
    setuid.syscall = Some(Syscall::Setuid { uid: 101 });
    vec![
        ("fork", fork),
        ("exec", exec),
        ("exit", exit),
        ("open", open),
        ("connect", connect),
        ("setuid", setuid),
    ]
}

/// Events per second judging `events` in turn for `secs`.
fn rate(engine: &Engine<Runtime>, procs: &Enricher, events: &[&Event<'_>], secs: f64) -> f64 {
    let mut out = Vec::new();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        for _ in 0..1000 {
            for e in events {
                engine.evaluate(black_box(&RuntimeEvent { event: e, procs }), &mut out);
            }
        }
        n += 1000 * events.len() as u64;
    }
    assert!(out.is_empty(), "a benchmark event raised an alert");
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let secs: f64 = args.next().map_or(Ok(1.0), |a| a.parse())?;
    let engine = detect::engine(true, &[] as &[&Path])?;
    let procs = cache();
    let events = events();
    println!(
        "{} built-in rules; median of {runs} runs of {secs} s",
        engine.len()
    );
    for (kind, ev) in &events {
        let r = median(
            (0..runs)
                .map(|_| rate(&engine, &procs, &[ev], secs))
                .collect(),
        );
        let met = engine.candidates(vigil_sensor::fields::evt_type(kind));
        println!(
            "{kind:>8}: {r:>12.0} events/s ({:.0} ns; meets {met} rules)",
            1e9 / r
        );
    }
    let storm: Vec<&Event<'_>> = events.iter().take(3).map(|(_, e)| e).collect();
    let r = median(
        (0..runs)
            .map(|_| rate(&engine, &procs, &storm, secs))
            .collect(),
    );
    println!(
        "exec storm mix (fork, exec, exit): {r:.0} events/s ({:.0} ns)",
        1e9 / r
    );
    Ok(())
}
