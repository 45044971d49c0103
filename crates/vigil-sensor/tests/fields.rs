//! The runtime field table: what each Falco field reads from the sensor's events, how
//! conditions over them compile, and that judging allocates nothing.

// A counting global allocator (the only unsafe here) checks the last claim.
#![allow(unsafe_code)]

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;
use vigil_detect::condition::parse;
use vigil_detect::eval::{self, FieldTable};
use vigil_sensor::enrich::ContainerInfo;
use vigil_sensor::event::{Socket, Syscall};
use vigil_sensor::fields::{RuntimeEvent, RuntimeFields};

/// Counts the allocations of the thread that turned counting on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Whether `cond` holds on `case`.
fn holds(cond: &str, case: &Case) -> bool {
    let procs = cache(&case.me);
    let p = eval::compile(&parse(cond).unwrap(), &RuntimeFields)
        .unwrap_or_else(|e| panic!("{cond}: {e}"));
    p.matches(&RuntimeEvent {
        event: &case.event,
        procs: &procs,
    })
}

fn all_hold(case: &Case, conds: &[&str]) {
    for c in conds {
        assert!(holds(c, case), "{c}");
    }
}

#[test]
fn exec_fields() {
    let case = exec(
        p("bash", "/usr/bin/bash", &["-bash", "-c", "id; echo ok"])
            .cwd("/srv/app")
            .uid(1000),
    );
    all_hold(
        &case,
        &[
            "evt.type = execve and evt.dir = < and evt.rawres = 0",
            "evt.time = '2026-11-18T12:00:00.000000001Z'",
            "evt.rawtime = 1795000000000000000",
            "proc.name = bash and proc.exe = -bash and proc.exepath = /usr/bin/bash",
            "proc.cmdline = '-bash -c id; echo ok' and proc.args = '-c id; echo ok'",
            "proc.pid = 300 and proc.ppid = 200 and thread.tid = 300",
            "proc.pname = nginx and proc.pexepath = /usr/sbin/nginx and proc.pexe = nginx",
            "proc.pcmdline = 'nginx -g daemon off;'",
            "proc.cwd = /srv/app",
            "proc.aname[0] = bash and proc.aname[1] = nginx and proc.aname[2] = systemd",
            "proc.apid[1] = 200 and proc.aexepath[2] = /usr/lib/systemd/systemd",
            "proc.aname = systemd and proc.aname = nginx and not proc.aname = bash",
            "proc.aname in (nginx, systemd) and not proc.aname[3] exists",
            "proc.is_exe_from_memfd = false and proc.exe_ino = 77",
            "proc.exe_ino.ctime_duration_proc_start = 2592000000000000",
            "proc.exe_ino.ctime_duration_pidns_start = 0",
            "user.uid = 1000 and not user.name exists and group.gid = 0",
            "container.id = 4f2a9c1be0d3 and container.full_id startswith 4f2a9c1be0d34a7f",
            "not container.image exists and not k8s.pod.name exists and not k8s.ns.name exists",
            "not fd.name exists and not evt.arg.flags exists",
        ],
    );
    assert!(!holds("proc.name = sh", &case));
}

#[test]
fn host_processes_and_runtime_metadata() {
    let mut case = exec(p("sh", "/bin/sh", &["sh"]).host());
    all_hold(
        &case,
        &[
            "container.id = host and container.full_id = host and user.name = root",
            "proc.pname = systemd and proc.aname[1] = systemd",
            "not proc.exe_ino.ctime_duration_pidns_start exists",
        ],
    );
    // Changed five seconds before the exec, an hour after the container started.
    let fresh = exec(P {
        changed_before: 5,
        ..p("x", "/x", &["x"])
    });
    all_hold(
        &fresh,
        &["proc.exe_ino.ctime_duration_pidns_start = 3595000000000"],
    );
    // A busybox applet run through /proc/self/exe: comm `exe`, argv[0] names it.
    let applet = exec(p("exe", "/bin/busybox", &["nc", "-e", "/bin/sh", "h", "1"]));
    all_hold(
        &applet,
        &[
            "proc.name = exe and basename(proc.exe) = nc",
            "proc.cmdline = 'nc -e /bin/sh h 1'",
        ],
    );
    case.event.container_id = Some(CID);
    case.event.container = Some(Arc::new(ContainerInfo {
        name: Some("web".into()),
        image: Some("registry.example:5000/shop/web:1.4@sha256:abcd".into()),
        image_digest: None,
        pod: Some("web-0".into()),
        namespace: Some("shop".into()),
    }));
    all_hold(
        &case,
        &[
            "container.name = web and k8s.pod.name = web-0 and k8s.ns.name = shop",
            "container.image.repository = registry.example:5000/shop/web",
            "container.image.tag = '1.4' and container.image.digest = sha256:abcd",
        ],
    );
}

#[test]
fn open_fields() {
    let case = open(
        p("cat", "/bin/cat", &["cat", "/etc/shadow"]),
        "/etc/shadow",
        O_CLOEXEC,
    );
    all_hold(
        &case,
        &[
            "evt.type in (open, openat, openat2) and evt.dir = <",
            "fd.name = /etc/shadow and fd.directory = /etc and fd.filename = shadow",
            "fd.typechar = f and fd.type = file and fd.num = 3 and evt.rawres = 3",
            "evt.is_open_read = true and evt.is_open_write = false",
            "evt.arg.flags contains O_RDONLY and evt.arg.flags contains O_CLOEXEC",
            "evt.arg.flags intersects (O_CLOEXEC) and not evt.arg.flags intersects (O_CREAT)",
            "proc.cmdline = 'cat /etc/shadow' and proc.aname[1] = nginx",
            "not fd.sip exists",
        ],
    );
    let w = open(p("sh", "/bin/sh", &["sh"]), "/x", O_WRONLY | O_CREAT);
    all_hold(
        &w,
        &[
            "evt.is_open_write = true and evt.is_open_read = false and fd.directory = /",
            "evt.arg.flags contains O_WRONLY and evt.rawarg.flags = 65",
        ],
    );
}

#[test]
fn socket_fields() {
    let c = connect(p("curl", "/usr/bin/curl", &["curl"]), "169.254.169.254", 80);
    all_hold(
        &c,
        &[
            "evt.type = connect and evt.rawres = -115",
            "fd.name = 169.254.169.254:80 and fd.rip = 169.254.169.254 and fd.rport = 80",
            "fd.sip = 169.254.169.254 and fd.sport = 80 and fd.typechar = 4 and fd.type = ipv4",
            "fd.rip netmatch (169.254.0.0/16) and not fd.lip exists and not fd.l4proto exists",
        ],
    );
    let v6 = connect(p("curl", "/usr/bin/curl", &["curl"]), "fd00:ec2::254", 80);
    all_hold(&v6, &["fd.name = '[fd00:ec2::254]:80' and fd.typechar = 6"]);
    let mut a = listen(p("x", "/x", &["x"]), 8443);
    a.event.kind = "accept";
    a.event.socket = Some(Socket {
        family: "ipv4",
        local_address: "10.1.0.5".into(),
        local_port: 8443,
        remote_address: Some("203.0.113.9".into()),
        remote_port: Some(51000),
        fd: 7,
        backlog: None,
    });
    all_hold(
        &a,
        &[
            "evt.type = accept and evt.dir = <",
            "fd.name = '203.0.113.9:51000->10.1.0.5:8443' and fd.l4proto = tcp",
            "fd.sip = 10.1.0.5 and fd.sport = 8443 and fd.lip = 10.1.0.5 and fd.lport = 8443",
            "fd.cip = 203.0.113.9 and fd.cport = 51000 and fd.rip = 203.0.113.9 and fd.num = 7",
        ],
    );
    let l = listen(p("x", "/x", &["x"]), 22);
    all_hold(
        &l,
        &["evt.type = listen and evt.dir = > and fd.name = 0.0.0.0:22"],
    );
}

#[test]
fn syscall_arguments() {
    let me = || p("x", "/x", &["x"]);
    let cases = [
        (
            syscall(
                me(),
                "ptrace",
                Syscall::Ptrace {
                    request: 0x4206,
                    target_pid: 200,
                },
            ),
            "evt.arg.request = PTRACE_SEIZE and evt.rawarg.request = 16902 and evt.arg.pid = 200",
        ),
        (
            syscall(me(), "bpf", Syscall::Bpf { cmd: 5 }),
            "evt.arg.cmd = BPF_PROG_LOAD and evt.rawarg.cmd = 5 and evt.dir = >",
        ),
        (
            syscall(
                me(),
                "unshare",
                Syscall::Unshare {
                    flags: 0x1000_0000 | 0x0002_0000,
                },
            ),
            "evt.arg.flags contains CLONE_NEWUSER and evt.arg.flags contains CLONE_NEWNS and not evt.arg.flags contains CLONE_NEWNET",
        ),
        (
            syscall(
                me(),
                "setns",
                Syscall::Setns {
                    fd: 4,
                    nstype: 0x4000_0000,
                },
            ),
            "evt.arg.nstype = CLONE_NEWNET and evt.arg.fd = 4",
        ),
        (
            syscall(
                me(),
                "memfd_create",
                Syscall::MemfdCreate {
                    name: Cow::Borrowed("x"),
                    flags: 1,
                },
            ),
            "evt.arg.name = x and evt.arg.flags = MFD_CLOEXEC",
        ),
        (
            syscall(
                me(),
                "mount",
                Syscall::Mount {
                    target: Cow::Borrowed("/mnt"),
                    source: Cow::Borrowed("cgroup"),
                    fstype: Cow::Borrowed("cgroup"),
                    flags: 0,
                },
            ),
            "evt.arg.dir = /mnt and evt.arg.dev = cgroup and evt.arg.type = cgroup",
        ),
        (
            syscall(
                me(),
                "socket",
                Syscall::Socket {
                    domain: 17,
                    sock_type: 3 | 0o4000,
                    protocol: 0x300,
                },
            ),
            "evt.type = socket and evt.arg.domain = AF_PACKET and evt.arg.type = SOCK_RAW and evt.arg.proto = 768",
        ),
        (
            syscall(me().uid(1000), "setuid", Syscall::Setuid { uid: 0 }),
            "evt.arg.uid = 0 and user.uid = 1000",
        ),
        (
            syscall(me(), "setgid", Syscall::Setgid { gid: 0 }),
            "evt.arg.gid = 0",
        ),
    ];
    for (case, cond) in &cases {
        assert!(holds(cond, case), "{cond}");
    }
}

#[test]
fn processes_the_sensor_saw_start_before_it_have_fewer_fields() {
    let case = exec(p("sh", "/bin/sh", &["sh", "-c", "x"]));
    // The cache without `me`: a process that was running when the sensor started.
    let procs = {
        let mut other = case.me.clone();
        other.pid = 999;
        cache(&other)
    };
    let check = |cond: &str| {
        eval::compile(&parse(cond).unwrap(), &RuntimeFields)
            .unwrap()
            .matches(&RuntimeEvent {
                event: &case.event,
                procs: &procs,
            })
    };
    assert!(check(
        "proc.exe = /bin/sh and proc.name = sh and proc.pname = nginx"
    ));
    assert!(check("not proc.cmdline exists and not proc.cwd exists"));
    assert!(check("proc.is_exe_from_memfd = false"));
}

#[test]
fn unknown_fields_and_bad_arguments_fail_to_compile() {
    for (cond, want) in [
        ("proc.nope = 1", "unknown runtime field proc.nope"),
        ("proc.aname[x] = sh", "the index is a number below 16"),
        ("proc.aname[99] = sh", "the index is a number below 16"),
        ("proc.name[1] = sh", "proc.name takes no argument"),
        ("proc.pid = abc", "proc.pid is a number"),
        ("proc.is_exe_from_memfd = maybe", "true or false"),
        ("fd.sport contains 4", "needs a text field"),
    ] {
        let err = eval::compile(&parse(cond).unwrap(), &RuntimeFields).unwrap_err();
        assert!(err.message.contains(want), "{cond}: {err}");
    }
    let f = RuntimeFields.resolve("proc.aname", Some("2")).unwrap();
    assert!(!f.list);
    assert!(RuntimeFields.resolve("proc.aname", None).unwrap().list);
    assert!(
        RuntimeFields.cost(&f)
            > RuntimeFields.cost(&RuntimeFields.resolve("proc.name", None).unwrap())
    );
}

#[test]
fn judging_allocates_nothing_unless_a_rule_fires() {
    let engine = engine();
    // Events no built-in rule fires on, of every kind the rules read.
    let quiet = [
        exec(p("nginx", "/usr/sbin/nginx", &["nginx", "-s", "reload"])),
        open(p("nginx", "/usr/sbin/nginx", &["nginx"]), "/etc/passwd", 0),
        connect(p("nginx", "/usr/sbin/nginx", &["nginx"]), "10.1.2.3", 8080),
        connect(p("nginx", "/usr/sbin/nginx", &["nginx"]), "fd00::1", 443),
        listen(p("nginx", "/usr/sbin/nginx", &["nginx"]), 8080),
        syscall(
            p("nginx", "/usr/sbin/nginx", &["nginx"]),
            "setuid",
            Syscall::Setuid { uid: 101 },
        ),
        syscall(
            p("x", "/x", &["x"]),
            "ptrace",
            Syscall::Ptrace {
                request: 0,
                target_pid: 0,
            },
        ),
    ];
    let caches: Vec<_> = quiet.iter().map(|c| cache(&c.me)).collect();
    let mut out = Vec::with_capacity(8);
    // Everything lazily built is built once before counting.
    for (case, procs) in quiet.iter().zip(&caches) {
        engine.evaluate(
            &RuntimeEvent {
                event: &case.event,
                procs,
            },
            &mut out,
        );
    }
    assert!(out.is_empty(), "{:?}", ids(&out));
    COUNTING.with(|c| c.set(true));
    for _ in 0..100 {
        for (case, procs) in quiet.iter().zip(&caches) {
            engine.evaluate(
                &RuntimeEvent {
                    event: &case.event,
                    procs,
                },
                &mut out,
            );
        }
    }
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);
    assert!(out.is_empty());
}
