//! The sensor's output events: a decoded record with what enrichment adds (time of day,
//! node, container, the process's executable and parent), with typed fields. Serialized as
//! one JSON object per event by [`crate::sink::JsonLines`]; the rules engine of a later
//! slice reads the same struct.
//!
//! Strings borrow from the ring buffer and the process cache; the only allocations per
//! event are those its output needs (lossy decoding of invalid UTF-8, argv, paths).

use crate::enrich::{ContainerInfo, Enricher};
use crate::watch::WatchTable;
use crate::wire::{self, Body, Record, Sc, SockOp};
use serde::Serialize;
use std::borrow::Cow;
use std::sync::Arc;

/// At most this many arguments of an exec are output.
pub const MAX_ARGS: usize = 16;

/// One event.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    /// What happened: `exec`, `fork`, `exit`, `open`, `connect`, or a syscall's name.
    pub kind: &'static str,
    /// When, RFC 3339 UTC with nanoseconds.
    pub time: String,
    /// When, nanoseconds since boot (the kernel's stamp), for the rules' durations.
    #[serde(skip)]
    pub boot_ns: u64,
    /// When, nanoseconds since the epoch, for the rules' `evt.rawtime`.
    #[serde(skip)]
    pub unix_ns: i64,
    /// The node's name.
    pub node: &'a str,
    /// The container the process is in (64 hex digits), or null on the host.
    pub container_id: Option<&'a str>,
    /// The runtime's details of the container, when known.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "arc_info")]
    pub container: Option<Arc<ContainerInfo>>,
    /// The process that did it.
    pub process: Process<'a>,
    /// `exec` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Exec<'a>>,
    /// `fork` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork: Option<Fork>,
    /// `exit` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    /// `open` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<Open<'a>>,
    /// `connect` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<Connect>,
    /// `listen` and `accept` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<Socket>,
    /// The syscall's arguments, for the syscall kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<Syscall<'a>>,
}

fn arc_info<S: serde::Serializer>(v: &Option<Arc<ContainerInfo>>, s: S) -> Result<S::Ok, S::Error> {
    v.as_deref().serialize(s)
}

/// The acting process.
#[derive(Debug, Serialize)]
pub struct Process<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Name (comm).
    pub name: Cow<'a, str>,
    /// Executable path, when known.
    pub exe: Option<&'a str>,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// cgroup v2 id.
    pub cgroup_id: u64,
    /// The parent, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Parent<'a>>,
}

/// The acting process's parent.
#[derive(Debug, Serialize)]
pub struct Parent<'a> {
    /// Name (comm).
    pub name: &'a str,
    /// Executable path, when known.
    pub exe: Option<&'a str>,
}

/// `exec` fields.
#[derive(Debug, Serialize)]
pub struct Exec<'a> {
    /// The path given to execve (may be relative).
    pub filename: Cow<'a, str>,
    /// argv, at most [`MAX_ARGS`] entries.
    pub args: Vec<Cow<'a, str>>,
    /// Arguments were left out.
    pub args_truncated: bool,
    /// The working directory.
    pub cwd: String,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Effective capabilities, as a bit mask.
    pub cap_effective: u64,
    /// The file is anonymous (memfd) or deleted: fileless execution.
    pub fileless: bool,
    /// The executed file's inode number.
    pub exe_ino: u64,
    /// Its link count.
    pub exe_nlink: u32,
    /// Its inode change time (RFC 3339), when the kernel told.
    pub exe_ctime: Option<String>,
    /// Its modification time (RFC 3339), when the kernel told.
    pub exe_mtime: Option<String>,
}

/// `fork` fields.
#[derive(Debug, Serialize)]
pub struct Fork {
    /// The new process.
    pub child_pid: u32,
}

/// `exit` fields.
#[derive(Debug, Serialize)]
pub struct Exit {
    /// Exit status (0-255).
    pub status: u32,
    /// The signal that ended it, or 0.
    pub signal: u32,
}

/// `open` fields.
#[derive(Debug, Serialize)]
pub struct Open<'a> {
    /// The path as passed.
    pub path: Cow<'a, str>,
    /// The watch entry it matched.
    pub watch: Option<&'a str>,
    /// `O_*` flags.
    pub flags: u32,
    /// Opened for writing (write access, O_CREAT or O_TRUNC).
    pub write: bool,
    /// The descriptor, or -errno.
    pub result: i64,
}

/// `connect` fields.
#[derive(Debug, Serialize)]
pub struct Connect {
    /// Destination address.
    pub address: String,
    /// Destination port.
    pub port: u16,
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// The socket's descriptor.
    pub fd: u32,
    /// 0 or -errno (-115, EINPROGRESS, for a non-blocking connect).
    pub result: i64,
}

/// `listen` and `accept` fields.
#[derive(Debug, Serialize)]
pub struct Socket {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// The socket's local address.
    pub local_address: String,
    /// Its local port.
    pub local_port: u16,
    /// The peer's address (accept only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    /// The peer's port (accept only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,
    /// The listening socket, or the accepted connection's descriptor.
    pub fd: u32,
    /// listen's backlog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<i32>,
}

/// The arguments of the syscall kinds.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Syscall<'a> {
    /// `memfd_create`.
    MemfdCreate {
        /// The name given.
        name: Cow<'a, str>,
        /// `MFD_*` flags.
        flags: u64,
    },
    /// `ptrace`.
    Ptrace {
        /// `PTRACE_*` request.
        request: u64,
        /// The traced process.
        target_pid: u64,
    },
    /// `setuid`.
    Setuid {
        /// The user id asked for.
        uid: u64,
    },
    /// `setgid`.
    Setgid {
        /// The group id asked for.
        gid: u64,
    },
    /// `unshare`.
    Unshare {
        /// `CLONE_*` flags.
        flags: u64,
    },
    /// `setns`.
    Setns {
        /// The namespace's descriptor.
        fd: u64,
        /// `CLONE_NEW*` type, or 0.
        nstype: u64,
    },
    /// `mount`.
    Mount {
        /// Mount point.
        target: Cow<'a, str>,
        /// Device or source.
        source: Cow<'a, str>,
        /// File system type.
        fstype: Cow<'a, str>,
        /// `MS_*` flags.
        flags: u64,
    },
    /// `init_module`.
    InitModule {
        /// The image's length.
        len: u64,
        /// Module parameters.
        params: Cow<'a, str>,
    },
    /// `finit_module`.
    FinitModule {
        /// The module file's descriptor.
        fd: u64,
        /// Module parameters.
        params: Cow<'a, str>,
        /// `MODULE_INIT_*` flags.
        flags: u64,
    },
    /// `bpf`.
    Bpf {
        /// `BPF_*` command.
        cmd: u64,
    },
    /// `socket`, for packet sockets and raw inet sockets.
    Socket {
        /// `AF_*` address family.
        domain: u64,
        /// `SOCK_*` type, with its flags (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`).
        #[serde(rename = "type")]
        sock_type: u64,
        /// Protocol number.
        protocol: u64,
    },
    /// A syscall kind this build does not know.
    Other {
        /// Its raw number.
        number: u32,
    },
}

/// Converts kernel boot-time stamps to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall-clock minus boot-time, in nanoseconds.
    offset_ns: i128,
}

impl Clock {
    /// The offset now.
    pub fn now() -> Clock {
        use rustix::time::{ClockId, clock_gettime};
        let ns = |t: rustix::time::Timespec| {
            i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
        };
        let real = ns(clock_gettime(ClockId::Realtime));
        let boot = ns(clock_gettime(ClockId::Boottime));
        Clock {
            offset_ns: real - boot,
        }
    }

    /// A fixed offset (tests).
    pub fn with_offset(offset_ns: i128) -> Clock {
        Clock { offset_ns }
    }

    /// RFC 3339 of a boot-time stamp.
    pub fn format(&self, boot_ns: u64) -> String {
        format_unix_ns(i128::from(boot_ns) + self.offset_ns)
    }

    /// Nanoseconds since the epoch of a boot-time stamp.
    pub fn unix_ns(&self, boot_ns: u64) -> i64 {
        i64::try_from(i128::from(boot_ns) + self.offset_ns).unwrap_or_default()
    }
}

/// RFC 3339 (UTC, nanoseconds) of nanoseconds since the epoch.
pub fn format_unix_ns(ns: i128) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(ns)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

const O_ACCMODE: u32 = 0o3;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

/// Builds the output event of a record, after [`Enricher::observe`] saw it.
pub fn build<'a>(
    rec: &'a Record<'a>,
    enricher: &'a Enricher,
    container: Option<Arc<ContainerInfo>>,
    node: &'a str,
    clock: &Clock,
    watches: &'a WatchTable,
) -> Event<'a> {
    let h = &rec.header;
    let me = enricher.get(h.pid);
    let parent = enricher.get(h.ppid).map(|p| Parent {
        name: &p.name,
        exe: p.exe.as_deref(),
    });
    let mut ev = Event {
        kind: "",
        time: clock.format(h.ts_ns),
        boot_ns: h.ts_ns,
        unix_ns: clock.unix_ns(h.ts_ns),
        node,
        container_id: me.and_then(|p| p.container.as_deref()),
        container,
        process: Process {
            pid: h.pid,
            tid: h.tid,
            ppid: h.ppid,
            name: String::from_utf8_lossy(h.comm),
            exe: me.and_then(|p| p.exe.as_deref()),
            uid: h.uid,
            gid: h.gid,
            cgroup_id: h.cgroup_id,
            parent,
        },
        exec: None,
        fork: None,
        exit: None,
        open: None,
        connect: None,
        socket: None,
        syscall: None,
    };
    let lossy = |b: &'a [u8]| String::from_utf8_lossy(b);
    match &rec.body {
        Body::Exec(e) => {
            ev.kind = "exec";
            let (args, args_truncated) =
                wire::split_args(e.args, MAX_ARGS, e.flags & wire::EXEC_ARGS_TRUNC != 0);
            let time = |ns: u64| (ns != 0).then(|| format_unix_ns(i128::from(ns)));
            ev.exec = Some(Exec {
                filename: lossy(e.filename),
                args,
                args_truncated,
                cwd: e.cwd.to_path_string(),
                euid: e.euid,
                egid: e.egid,
                cap_effective: e.cap_effective,
                fileless: e.flags & wire::EXEC_MEMFD != 0 || e.nlink == 0,
                exe_ino: e.ino,
                exe_nlink: e.nlink,
                exe_ctime: time(e.ctime_ns),
                exe_mtime: time(e.mtime_ns),
            });
        }
        Body::Fork(f) => {
            ev.kind = "fork";
            ev.fork = Some(Fork {
                child_pid: f.child_pid,
            });
        }
        Body::Exit(x) => {
            ev.kind = "exit";
            ev.exit = Some(Exit {
                status: (x.code >> 8) & 0xff,
                signal: x.code & 0x7f,
            });
        }
        Body::Open(o) => {
            ev.kind = "open";
            ev.open = Some(Open {
                path: lossy(o.path),
                watch: watches.get(o.watch).map(|w| w.path.as_str()),
                flags: o.flags,
                write: o.flags & O_ACCMODE != 0 || o.flags & (O_CREAT | O_TRUNC) != 0,
                result: o.ret,
            });
        }
        Body::Connect(c) => {
            ev.kind = "connect";
            ev.connect = Some(Connect {
                address: c.addr.ip().to_string(),
                port: c.addr.port(),
                family: if c.addr.is_ipv4() { "ipv4" } else { "ipv6" },
                fd: c.fd,
                result: c.ret,
            });
        }
        Body::Sock(k) => {
            let accept = k.op == SockOp::Accept;
            ev.kind = match k.op {
                SockOp::Listen => "listen",
                SockOp::Accept => "accept",
                SockOp::Other(_) => "socket",
            };
            ev.socket = Some(Socket {
                family: if k.local.is_ipv4() { "ipv4" } else { "ipv6" },
                local_address: k.local.ip().to_string(),
                local_port: k.local.port(),
                remote_address: accept.then(|| k.remote.ip().to_string()),
                remote_port: accept.then(|| k.remote.port()),
                fd: k.fd,
                backlog: (k.op == SockOp::Listen).then_some(k.backlog),
            });
        }
        Body::Syscall(s) => {
            ev.kind = s.sc.name();
            let [a0, a1, a2] = s.args;
            ev.syscall = Some(match s.sc {
                Sc::MemfdCreate => Syscall::MemfdCreate {
                    name: lossy(s.str),
                    flags: a0,
                },
                Sc::Ptrace => Syscall::Ptrace {
                    request: a0,
                    target_pid: a1,
                },
                Sc::Setuid => Syscall::Setuid { uid: a0 },
                Sc::Setgid => Syscall::Setgid { gid: a0 },
                Sc::Unshare => Syscall::Unshare { flags: a0 },
                Sc::Setns => Syscall::Setns { fd: a0, nstype: a1 },
                Sc::Mount => Syscall::Mount {
                    target: lossy(s.str),
                    source: lossy(s.str2),
                    fstype: lossy(s.aux),
                    flags: a0,
                },
                Sc::InitModule => Syscall::InitModule {
                    len: a0,
                    params: lossy(s.str),
                },
                Sc::FinitModule => Syscall::FinitModule {
                    fd: a0,
                    params: lossy(s.str),
                    flags: a1,
                },
                Sc::Bpf => Syscall::Bpf { cmd: a0 },
                Sc::Socket => Syscall::Socket {
                    domain: a0,
                    sock_type: a1,
                    protocol: a2,
                },
                Sc::Other(number) => Syscall::Other { number },
            });
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::{NoMetadata, ProcSource};
    use crate::wire::tests as w;

    struct Empty;
    impl ProcSource for Empty {
        fn cgroup(&self, _pid: u32) -> Option<String> {
            None
        }
        fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)> {
            vec![(
                1,
                0,
                "systemd".into(),
                Some("/usr/lib/systemd/systemd".into()),
            )]
        }
    }

    /// The event `rec` becomes, as JSON, on node `n` with the clock at the epoch.
    fn json(rec: &Record<'_>, enricher: &Enricher, watches: &WatchTable) -> serde_json::Value {
        serde_json::to_value(build(
            rec,
            enricher,
            None,
            "n",
            &Clock::with_offset(0),
            watches,
        ))
        .unwrap()
    }

    #[test]
    fn exec_event_json() {
        let mut enricher = Enricher::new(Box::new(Empty), Box::new(NoMetadata));
        let b = w::exec_record(b"sh\0bin\0", b"sh\0-c\0echo \xff\0", 0);
        let rec = wire::decode(&b).unwrap();
        enricher.observe(&rec);
        let watches = WatchTable::defaults();
        let ev = build(
            &rec,
            &enricher,
            None,
            "node-1",
            &Clock::with_offset(0),
            &watches,
        );
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["kind"], "exec");
        assert_eq!(v["node"], "node-1");
        assert_eq!(v["time"], "1970-01-01T00:00:00.123456789Z");
        assert_eq!(v["container_id"], serde_json::Value::Null);
        assert_eq!(v["process"]["pid"], 4242);
        assert_eq!(v["process"]["exe"], "/bin/sh");
        assert_eq!(v["process"]["parent"]["name"], "systemd");
        assert_eq!(
            v["exec"]["args"],
            serde_json::json!(["sh", "-c", "echo \u{fffd}"])
        );
        assert_eq!(v["exec"]["cwd"], "/tmp");
        assert_eq!(v["exec"]["fileless"], false);
        assert_eq!(v["exec"]["exe_ctime"], "2023-11-14T22:13:20Z");
        assert!(v.get("open").is_none());
    }

    #[test]
    fn accept_json() {
        let enricher = Enricher::new(Box::new(Empty), Box::new(NoMetadata));
        let watches = WatchTable::defaults();
        let mut b = w::record(wire::kind::SOCK, wire::SOCK_SIZE);
        w::put16(&mut b, 56, 10);
        w::put16(&mut b, 58, 443);
        w::put16(&mut b, 60, 40000);
        w::put16(&mut b, 62, 2);
        w::put32(&mut b, 64, 9);
        b[72..88].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        b[88..104].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        let rec = wire::decode(&b).unwrap();
        let v = json(&rec, &enricher, &watches);
        assert_eq!(v["kind"], "accept");
        assert_eq!(
            v["socket"],
            serde_json::json!({"family": "ipv6", "local_address": "::1", "local_port": 443,
                "remote_address": "::1", "remote_port": 40000, "fd": 9})
        );
    }

    #[test]
    fn open_and_syscall_json() {
        let enricher = Enricher::new(Box::new(Empty), Box::new(NoMetadata));
        let watches = WatchTable::defaults();
        let mut b = w::record(wire::kind::OPEN, wire::OPEN_SIZE);
        w::put32(&mut b, 56, 0o1101);
        w::put32(&mut b, 60, 0);
        w::put64(&mut b, 64, 3);
        b[72..83].copy_from_slice(b"/etc/shadow");
        let rec = wire::decode(&b).unwrap();
        let v = json(&rec, &enricher, &watches);
        assert_eq!(v["open"]["path"], "/etc/shadow");
        assert_eq!(v["open"]["watch"], "/etc/shadow");
        assert_eq!(v["open"]["write"], true);
        assert_eq!(v["open"]["result"], 3);

        let mut b = w::record(wire::kind::SYSCALL, wire::SYSCALL_SIZE);
        w::put32(&mut b, 56, 1);
        w::put64(&mut b, 64, 1);
        b[88..92].copy_from_slice(b"evil");
        let rec = wire::decode(&b).unwrap();
        let v = json(&rec, &enricher, &watches);
        assert_eq!(v["kind"], "memfd_create");
        assert_eq!(
            v["syscall"],
            serde_json::json!({"name": "evil", "flags": 1})
        );
    }
}
