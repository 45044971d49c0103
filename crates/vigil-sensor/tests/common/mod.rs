//! What the runtime rule tests share: the sensor's events built by hand, with the process
//! cache they are judged against (the host's init, a container's nginx, and the acting
//! process).

#![allow(dead_code)]

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use vigil_core::Alert;
use vigil_detect::engine::Engine;
use vigil_sensor::detect::{self, Runtime};
use vigil_sensor::enrich::{Enricher, ExecInfo, NoMetadata, ProcInfo, ProcSource};
use vigil_sensor::event::{Connect, Event, Exec, Open, Parent, Process, Socket, Syscall};
use vigil_sensor::fields::RuntimeEvent;

pub const CID: &str = "4f2a9c1be0d34a7f8e6b5c4d3a2b1c0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
/// The event's clock: nanoseconds since boot and since the epoch.
pub const BOOT_NS: u64 = 90_000_000_000_000;
pub const UNIX_NS: i64 = 1_795_000_000_000_000_000;

/// No /proc: the cache holds only what a test puts in it.
pub struct NoProcs;
impl ProcSource for NoProcs {
    fn cgroup(&self, _pid: u32) -> Option<String> {
        None
    }
    fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)> {
        Vec::new()
    }
}

/// A process as a test describes it.
#[derive(Clone)]
pub struct P {
    pub pid: u32,
    pub ppid: u32,
    pub name: &'static str,
    pub exe: &'static str,
    pub argv: Vec<&'static str>,
    pub cwd: &'static str,
    pub container: bool,
    pub uid: u32,
    /// Seconds between the executable's inode change and the exec.
    pub changed_before: u64,
    pub fileless: bool,
}

/// A process in the container, child of the container's init (nginx, pid 200).
pub fn p(name: &'static str, exe: &'static str, argv: &[&'static str]) -> P {
    P {
        pid: 300,
        ppid: 200,
        name,
        exe,
        argv: argv.to_vec(),
        cwd: "/",
        container: true,
        uid: 0,
        changed_before: 30 * 86_400,
        fileless: false,
    }
}

impl P {
    pub fn host(mut self) -> P {
        self.container = false;
        self.ppid = 1;
        self
    }
    pub fn uid(mut self, uid: u32) -> P {
        self.uid = uid;
        self
    }
    pub fn cwd(mut self, cwd: &'static str) -> P {
        self.cwd = cwd;
        self
    }
}

/// The process cache with the host's init, the container's nginx and `me`.
pub fn cache(me: &P) -> Enricher {
    let mut e = Enricher::new(Box::new(NoProcs), Box::new(NoMetadata));
    let init = P {
        pid: 1,
        ppid: 0,
        container: false,
        ..p("systemd", "/usr/lib/systemd/systemd", &["/sbin/init"])
    };
    let nginx = P {
        pid: 200,
        ppid: 1,
        ..p("nginx", "/usr/sbin/nginx", &["nginx", "-g", "daemon off;"])
    };
    // init and nginx started an hour before the event: the container's start.
    for (q, started) in [
        (&init, BOOT_NS - 3_600_000_000_000),
        (&nginx, BOOT_NS - 3_600_000_000_000),
        (me, BOOT_NS),
    ] {
        let exec = ExecInfo::new(
            q.name,
            q.argv.iter().copied(),
            q.cwd,
            (
                77,
                (UNIX_NS as u64).saturating_sub(q.changed_before * 1_000_000_000),
                1,
            ),
            q.fileless,
            started,
        );
        e.remember(
            q.pid,
            ProcInfo {
                name: Arc::from(q.name),
                exe: Some(Arc::from(q.exe)),
                ppid: q.ppid,
                container: q.container.then(|| Arc::from(CID)),
                exec: Some(Arc::new(exec)),
            },
        );
    }
    e
}

/// An event of `kind` by `me`, with nothing of the kind's own.
pub fn base(kind: &'static str, me: &P) -> Event<'static> {
    let parent = match me.ppid {
        200 => Some(Parent {
            name: "nginx",
            exe: Some("/usr/sbin/nginx"),
        }),
        1 => Some(Parent {
            name: "systemd",
            exe: Some("/usr/lib/systemd/systemd"),
        }),
        _ => None,
    };
    Event {
        kind,
        time: "2026-11-18T12:00:00.000000001Z".into(),
        boot_ns: BOOT_NS,
        unix_ns: UNIX_NS,
        node: "node-1",
        container_id: me.container.then_some(CID),
        container: None,
        process: Process {
            pid: me.pid,
            tid: me.pid,
            ppid: me.ppid,
            name: Cow::Borrowed(me.name),
            exe: Some(me.exe),
            uid: me.uid,
            gid: 0,
            cgroup_id: 0,
            parent,
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

/// What a test judges: the process and its event.
pub struct Case {
    pub me: P,
    pub event: Event<'static>,
}

pub fn exec(me: P) -> Case {
    let mut event = base("exec", &me);
    event.exec = Some(Exec {
        filename: Cow::Borrowed(me.exe),
        args: me.argv.iter().map(|a| Cow::Borrowed(*a)).collect(),
        args_truncated: false,
        cwd: me.cwd.into(),
        euid: me.uid,
        egid: 0,
        cap_effective: 0,
        fileless: me.fileless,
        exe_ino: 77,
        exe_nlink: u32::from(!me.fileless),
        exe_ctime: None,
        exe_mtime: None,
    });
    Case { me, event }
}

pub const O_WRONLY: u32 = 0o1;
pub const O_CREAT: u32 = 0o100;
pub const O_CLOEXEC: u32 = 0o2000000;

pub fn open(me: P, path: &'static str, flags: u32) -> Case {
    let mut event = base("open", &me);
    event.open = Some(Open {
        path: Cow::Borrowed(path),
        watch: None,
        flags,
        write: flags & 0o3 != 0 || flags & O_CREAT != 0,
        result: 3,
    });
    Case { me, event }
}

pub fn connect(me: P, address: &str, port: u16) -> Case {
    let mut event = base("connect", &me);
    event.connect = Some(Connect {
        address: address.into(),
        port,
        family: if address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        },
        fd: 5,
        result: -115,
    });
    Case { me, event }
}

pub fn listen(me: P, port: u16) -> Case {
    let mut event = base("listen", &me);
    event.socket = Some(Socket {
        family: "ipv4",
        local_address: "0.0.0.0".into(),
        local_port: port,
        remote_address: None,
        remote_port: None,
        fd: 3,
        backlog: Some(128),
    });
    Case { me, event }
}

pub fn syscall(me: P, kind: &'static str, sc: Syscall<'static>) -> Case {
    let mut event = base(kind, &me);
    event.syscall = Some(sc);
    Case { me, event }
}

pub fn engine() -> Engine<Runtime> {
    detect::engine(true, &[] as &[&Path]).unwrap()
}

/// The alerts `case` raises.
pub fn judge(engine: &Engine<Runtime>, case: &Case) -> Vec<Alert> {
    let procs = cache(&case.me);
    let mut out = Vec::new();
    engine.evaluate(
        &RuntimeEvent {
            event: &case.event,
            procs: &procs,
        },
        &mut out,
    );
    out
}

pub fn ids(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.rule_id.as_str()).collect()
}
