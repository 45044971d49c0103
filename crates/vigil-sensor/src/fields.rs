//! The runtime field table: Falco's field names (`evt.*`, `proc.*`, `user.*`, `fd.*`,
//! `container.*`, `k8s.*`) over the sensor's events, so Falco's syscall rules load and
//! mean the same here.
//!
//! Why it lives in the sensor crate, which thereby depends on `vigil-detect`: the design
//! has capability crates depend only on `vigil-core`, but `vigil-detect` is the shared
//! rules engine (rule language, compiler, evaluator), not a peer capability; the audit
//! source is one user of it and the sensor another. The table reads the sensor's own
//! types (the event, the process cache), so it sits beside them, and the engine stays
//! free of anything runtime-specific.
//!
//! Reads allocate nothing: every value is a number or borrows from the event or the
//! process cache; the one text that is not stored whole anywhere, a socket's `fd.name`
//! (`ip:port->ip:port`), is written into a buffer on the stack.
//!
//! Where the sensor's events differ from Falco's (see docs/sensor.md):
//! - `evt.type` names the syscall Falco would name: `execve` for every exec, `clone` for
//!   every fork, `procexit`, `openat` for every open, `connect`, `listen`, `accept`, and
//!   the syscall kinds by name. `evt.dir` is `<` for what is reported on return (exec,
//!   fork, exit, open, connect, accept) and `>` for what is reported on entry (listen
//!   and the syscall kinds).
//! - `proc.cmdline`, `proc.args`, `proc.exe` (argv\[0\]) and `proc.cwd` come from the
//!   process's last exec the sensor saw (inherited over fork); for a process that was
//!   already running when the sensor started they are absent, and `proc.exe` falls back
//!   to the executable's path.
//! - `evt.arg.*` holds numbers as numbers; symbolic forms exist where Falco's rules test
//!   them: `evt.arg.flags` (the names of the set `O_*`, `CLONE_NEW*` or `MFD_*` flags,
//!   one value each, so `evt.arg.flags contains O_CREAT` works), `evt.arg.request`
//!   (`PTRACE_ATTACH`...), `evt.arg.cmd` (`BPF_PROG_LOAD`...), `evt.arg.nstype`,
//!   `evt.arg.domain` (`AF_PACKET`...) and, for a socket, `evt.arg.type` (`SOCK_RAW`...).
//! - `proc.exe_ino.ctime_duration_pidns_start` takes the container's first sighting by
//!   the sensor for the start of its PID namespace.
//! - `user.name` is `root` for uid 0 and absent otherwise (no passwd lookups yet).
//! - `container.id` is the short (12-digit) id and `host` outside containers, as in
//!   Falco; `container.name`, `container.image*`, `k8s.pod.name` and `k8s.ns.name` are
//!   absent until the runtime lookup fills them.

use crate::enrich::{Enricher, ExecInfo, ProcInfo};
use crate::event::{Event, Syscall};
use std::fmt::Write as _;
use std::ops::ControlFlow;
use vigil_detect::eval::{self, Field, FieldTable, FieldType, Scalar};

/// How far `proc.aname` and friends walk up the process tree.
pub const MAX_ANCESTORS: usize = 16;

/// An event as the rules see it: the sensor's event and the process cache, which knows
/// the process's command line and its ancestors.
#[derive(Clone, Copy)]
pub struct RuntimeEvent<'a> {
    /// The event.
    pub event: &'a Event<'a>,
    /// The process cache, as it is after the event was observed.
    pub procs: &'a Enricher,
}

impl std::fmt::Debug for RuntimeEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeEvent")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

/// Every field; the discriminant is not the field id (see [`RuntimeFields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    EvtType,
    EvtTime,
    EvtRawtime,
    EvtDir,
    EvtRawres,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    ArgFlags,
    RawFlags,
    ArgRequest,
    RawRequest,
    ArgPid,
    ArgUid,
    ArgGid,
    ArgNstype,
    ArgCmd,
    RawCmd,
    ArgName,
    ArgFd,
    ArgDev,
    ArgDir,
    ArgType,
    ArgDomain,
    ArgProto,
    ProcName,
    ProcExe,
    ProcExepath,
    ProcCmdline,
    ProcArgs,
    ProcPid,
    ProcPpid,
    ThreadTid,
    ProcPname,
    ProcPexe,
    ProcPexepath,
    ProcPcmdline,
    ProcAname,
    ProcApid,
    ProcAexepath,
    ProcCwd,
    ProcIsExeFromMemfd,
    ProcExeIno,
    ProcExeInoCtime,
    ProcExeInoMtime,
    ProcExeInoCtimeDurationProcStart,
    ProcExeInoCtimeDurationPidnsStart,
    UserUid,
    UserName,
    GroupGid,
    FdNum,
    FdName,
    FdDirectory,
    FdFilename,
    FdType,
    FdTypechar,
    FdSip,
    FdSport,
    FdCip,
    FdCport,
    FdRip,
    FdRport,
    FdLip,
    FdLport,
    FdL4proto,
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    K8sPodName,
    K8sNsName,
}

use FieldType::{Bool, Int, Str};

/// `(name, field, type, several values)`. `evt.arg.flags` is a list (one flag name per
/// value); the ancestor fields are lists without an index and single with one.
const FIELDS: &[(&str, F, FieldType, bool)] = &[
    ("evt.type", F::EvtType, Str, false),
    ("evt.time", F::EvtTime, Str, false),
    ("evt.rawtime", F::EvtRawtime, Int, false),
    ("evt.dir", F::EvtDir, Str, false),
    ("evt.rawres", F::EvtRawres, Int, false),
    ("evt.is_open_read", F::EvtIsOpenRead, Bool, false),
    ("evt.is_open_write", F::EvtIsOpenWrite, Bool, false),
    ("evt.arg.flags", F::ArgFlags, Str, true),
    ("evt.rawarg.flags", F::RawFlags, Int, false),
    ("evt.arg.request", F::ArgRequest, Str, false),
    ("evt.rawarg.request", F::RawRequest, Int, false),
    ("evt.arg.pid", F::ArgPid, Int, false),
    ("evt.arg.uid", F::ArgUid, Int, false),
    ("evt.arg.gid", F::ArgGid, Int, false),
    ("evt.arg.nstype", F::ArgNstype, Str, false),
    ("evt.arg.cmd", F::ArgCmd, Str, false),
    ("evt.rawarg.cmd", F::RawCmd, Int, false),
    ("evt.arg.name", F::ArgName, Str, false),
    ("evt.arg.fd", F::ArgFd, Int, false),
    ("evt.arg.dev", F::ArgDev, Str, false),
    ("evt.arg.dir", F::ArgDir, Str, false),
    ("evt.arg.type", F::ArgType, Str, false),
    ("evt.arg.domain", F::ArgDomain, Str, false),
    ("evt.arg.proto", F::ArgProto, Int, false),
    ("proc.name", F::ProcName, Str, false),
    ("proc.exe", F::ProcExe, Str, false),
    ("proc.exepath", F::ProcExepath, Str, false),
    ("proc.cmdline", F::ProcCmdline, Str, false),
    ("proc.args", F::ProcArgs, Str, false),
    ("proc.pid", F::ProcPid, Int, false),
    ("proc.ppid", F::ProcPpid, Int, false),
    ("thread.tid", F::ThreadTid, Int, false),
    ("proc.pname", F::ProcPname, Str, false),
    ("proc.pexe", F::ProcPexe, Str, false),
    ("proc.pexepath", F::ProcPexepath, Str, false),
    ("proc.pcmdline", F::ProcPcmdline, Str, false),
    ("proc.aname", F::ProcAname, Str, true),
    ("proc.apid", F::ProcApid, Int, true),
    ("proc.aexepath", F::ProcAexepath, Str, true),
    ("proc.cwd", F::ProcCwd, Str, false),
    ("proc.is_exe_from_memfd", F::ProcIsExeFromMemfd, Bool, false),
    ("proc.exe_ino", F::ProcExeIno, Int, false),
    ("proc.exe_ino.ctime", F::ProcExeInoCtime, Int, false),
    ("proc.exe_ino.mtime", F::ProcExeInoMtime, Int, false),
    (
        "proc.exe_ino.ctime_duration_proc_start",
        F::ProcExeInoCtimeDurationProcStart,
        Int,
        false,
    ),
    (
        "proc.exe_ino.ctime_duration_pidns_start",
        F::ProcExeInoCtimeDurationPidnsStart,
        Int,
        false,
    ),
    ("user.uid", F::UserUid, Int, false),
    ("user.name", F::UserName, Str, false),
    ("group.gid", F::GroupGid, Int, false),
    ("fd.num", F::FdNum, Int, false),
    ("fd.name", F::FdName, Str, false),
    ("fd.directory", F::FdDirectory, Str, false),
    ("fd.filename", F::FdFilename, Str, false),
    ("fd.type", F::FdType, Str, false),
    ("fd.typechar", F::FdTypechar, Str, false),
    ("fd.sip", F::FdSip, Str, false),
    ("fd.sport", F::FdSport, Int, false),
    ("fd.cip", F::FdCip, Str, false),
    ("fd.cport", F::FdCport, Int, false),
    ("fd.rip", F::FdRip, Str, false),
    ("fd.rport", F::FdRport, Int, false),
    ("fd.lip", F::FdLip, Str, false),
    ("fd.lport", F::FdLport, Int, false),
    ("fd.l4proto", F::FdL4proto, Str, false),
    ("container.id", F::ContainerId, Str, false),
    ("container.full_id", F::ContainerFullId, Str, false),
    ("container.name", F::ContainerName, Str, false),
    ("container.image", F::ContainerImage, Str, false),
    (
        "container.image.repository",
        F::ContainerImageRepository,
        Str,
        false,
    ),
    ("container.image.tag", F::ContainerImageTag, Str, false),
    (
        "container.image.digest",
        F::ContainerImageDigest,
        Str,
        false,
    ),
    ("k8s.pod.name", F::K8sPodName, Str, false),
    ("k8s.ns.name", F::K8sNsName, Str, false),
];

/// A field id is its row in [`FIELDS`] in the low 16 bits and, for the ancestor fields,
/// the index asked for plus one above them (0: no index, every ancestor).
const ROW_BITS: u32 = 16;

fn field_of(id: u32) -> Option<(F, Option<usize>)> {
    let (_, f, ..) = FIELDS.get((id & ((1 << ROW_BITS) - 1)) as usize)?;
    let depth = (id >> ROW_BITS) as usize;
    Some((*f, depth.checked_sub(1)))
}

/// The runtime fields.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuntimeFields;

impl FieldTable for RuntimeFields {
    fn resolve(&self, name: &str, arg: Option<&str>) -> Result<Field, String> {
        let Some(row) = FIELDS.iter().position(|(n, ..)| *n == name) else {
            return Err(format!("unknown runtime field {name}"));
        };
        let Some((_, f, ty, list)) = FIELDS.get(row) else {
            return Err(format!("unknown runtime field {name}"));
        };
        let ancestor = matches!(f, F::ProcAname | F::ProcApid | F::ProcAexepath);
        let mut id = row as u32;
        let mut list = *list;
        match arg {
            None => {}
            Some(a) if ancestor => {
                let n: usize = a
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n < MAX_ANCESTORS)
                    .ok_or_else(|| {
                        format!("{name}[{a}]: the index is a number below {MAX_ANCESTORS}")
                    })?;
                id |= ((n + 1) as u32) << ROW_BITS;
                list = false;
            }
            Some(_) => return Err(format!("{name} takes no argument")),
        }
        Ok(Field {
            id,
            arg: arg.map(String::from),
            ty: *ty,
            list,
            name: name.to_string(),
        })
    }

    fn cost(&self, field: &Field) -> u32 {
        match field_of(field.id) {
            // A walk up the process cache, a lookup per step.
            Some((F::ProcAname | F::ProcApid | F::ProcAexepath, _)) => 4,
            // One lookup of the parent in the cache.
            Some((F::ProcPexe | F::ProcPcmdline, _)) => 2,
            _ => 1,
        }
    }
}

/// Falco's `evt.type` of an event kind.
pub fn evt_type(kind: &str) -> &'static str {
    match kind {
        "exec" => "execve",
        "fork" => "clone",
        "exit" => "procexit",
        "open" => "openat",
        "connect" => "connect",
        "listen" => "listen",
        "accept" => "accept",
        "memfd_create" => "memfd_create",
        "ptrace" => "ptrace",
        "setuid" => "setuid",
        "setgid" => "setgid",
        "unshare" => "unshare",
        "setns" => "setns",
        "mount" => "mount",
        "init_module" => "init_module",
        "finit_module" => "finit_module",
        "bpf" => "bpf",
        "socket" => "socket",
        _ => "unknown",
    }
}

const O_ACCMODE: u32 = 0o3;
const O_WRONLY: u32 = 0o1;

/// Names of `open` flags, as Falco renders them.
const OPEN_FLAGS: &[(u32, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20200000, "O_TMPFILE"),
];

/// Names of namespace flags (`unshare`, `setns`, `clone`).
const NS_FLAGS: &[(u64, &str)] = &[
    (0x0000_0080, "CLONE_NEWTIME"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
];

/// Names of `memfd_create` flags.
const MFD_FLAGS: &[(u64, &str)] = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (0x10, "MFD_EXEC"),
];

/// `ptrace` requests by number.
fn ptrace_request(n: u64) -> Option<&'static str> {
    Some(match n {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        3 => "PTRACE_PEEKUSR",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        6 => "PTRACE_POKEUSR",
        7 => "PTRACE_CONT",
        8 => "PTRACE_KILL",
        9 => "PTRACE_SINGLESTEP",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        16 => "PTRACE_ATTACH",
        17 => "PTRACE_DETACH",
        24 => "PTRACE_SYSCALL",
        0x4200 => "PTRACE_SETOPTIONS",
        0x4206 => "PTRACE_SEIZE",
        _ => return None,
    })
}

/// `bpf` commands by number.
fn bpf_cmd(n: u64) -> Option<&'static str> {
    Some(match n {
        0 => "BPF_MAP_CREATE",
        1 => "BPF_MAP_LOOKUP_ELEM",
        2 => "BPF_MAP_UPDATE_ELEM",
        3 => "BPF_MAP_DELETE_ELEM",
        4 => "BPF_MAP_GET_NEXT_KEY",
        5 => "BPF_PROG_LOAD",
        6 => "BPF_OBJ_PIN",
        7 => "BPF_OBJ_GET",
        8 => "BPF_PROG_ATTACH",
        9 => "BPF_PROG_DETACH",
        10 => "BPF_PROG_TEST_RUN",
        11 => "BPF_PROG_GET_NEXT_ID",
        12 => "BPF_MAP_GET_NEXT_ID",
        13 => "BPF_PROG_GET_FD_BY_ID",
        14 => "BPF_MAP_GET_FD_BY_ID",
        15 => "BPF_OBJ_GET_INFO_BY_FD",
        16 => "BPF_PROG_QUERY",
        17 => "BPF_RAW_TRACEPOINT_OPEN",
        18 => "BPF_BTF_LOAD",
        28 => "BPF_LINK_CREATE",
        _ => return None,
    })
}

/// Address families by number.
fn socket_domain(n: u64) -> Option<&'static str> {
    Some(match n {
        1 => "AF_UNIX",
        2 => "AF_INET",
        10 => "AF_INET6",
        16 => "AF_NETLINK",
        17 => "AF_PACKET",
        _ => return None,
    })
}

/// Socket types by number, without the `SOCK_NONBLOCK`/`SOCK_CLOEXEC` flags.
fn socket_type(n: u64) -> Option<&'static str> {
    Some(match n & 0xf {
        1 => "SOCK_STREAM",
        2 => "SOCK_DGRAM",
        3 => "SOCK_RAW",
        4 => "SOCK_RDM",
        5 => "SOCK_SEQPACKET",
        10 => "SOCK_PACKET",
        _ => return None,
    })
}

/// Text up to 128 bytes, on the stack: a socket's `fd.name`. Longer text (it cannot be:
/// two IPv6 addresses with ports take 100 bytes) is cut.
struct StackText {
    buf: [u8; 128],
    len: usize,
}

impl StackText {
    fn new() -> StackText {
        StackText {
            buf: [0; 128],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        // Only whole `&str`s are written, so this holds; cut text ends at a char boundary.
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// `ip:port`, with brackets around an IPv6 address.
    fn endpoint(&mut self, ip: &str, port: u16) {
        if ip.contains(':') {
            let _ = write!(self, "[{ip}]:{port}");
        } else {
            let _ = write!(self, "{ip}:{port}");
        }
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.buf.len().saturating_sub(self.len);
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let (src, dst) = (
            s.as_bytes().get(..take),
            self.buf.get_mut(self.len..self.len + take),
        );
        if let (Some(src), Some(dst)) = (src, dst) {
            dst.copy_from_slice(src);
            self.len += take;
        }
        if take < s.len() {
            Err(std::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// The part of an image reference before its tag or digest, and the tag.
fn split_image(image: &str) -> (&str, Option<&str>) {
    let name = image.split('@').next().unwrap_or(image);
    match name.rfind(':') {
        Some(i) if !name.get(i..).unwrap_or_default().contains('/') => (
            name.get(..i).unwrap_or(name),
            name.get(i + 1..).filter(|t| !t.is_empty()),
        ),
        _ => (name, None),
    }
}

impl<'a> RuntimeEvent<'a> {
    /// What the cache knows about the acting process.
    fn me(&self) -> Option<&'a ProcInfo> {
        self.procs.get(self.event.process.pid)
    }

    /// Its last exec, when the sensor saw it.
    fn exec(&self) -> Option<&'a ExecInfo> {
        self.me().and_then(|p| p.exec.as_deref())
    }

    /// The parent's last exec.
    fn parent_exec(&self) -> Option<&'a ExecInfo> {
        self.procs
            .get(self.event.process.ppid)
            .and_then(|p| p.exec.as_deref())
    }

    /// The value of a single-valued text field, or `None` when the event has none.
    fn str_of(&self, f: F) -> Option<&'a str> {
        let ev = self.event;
        let info = ev.container.as_deref();
        let sys = ev.syscall.as_ref();
        Some(match f {
            F::EvtType => evt_type(ev.kind),
            F::EvtTime => &ev.time,
            F::EvtDir => match ev.kind {
                "exec" | "fork" | "exit" | "open" | "connect" | "accept" => "<",
                _ => ">",
            },
            F::ArgRequest => match sys? {
                Syscall::Ptrace { request, .. } => ptrace_request(*request)?,
                _ => return None,
            },
            F::ArgCmd => match sys? {
                Syscall::Bpf { cmd } => bpf_cmd(*cmd)?,
                _ => return None,
            },
            F::ArgNstype => match sys? {
                Syscall::Setns { nstype, .. } => NS_FLAGS
                    .iter()
                    .find(|(bit, _)| bit == nstype)
                    .map(|(_, n)| *n)?,
                _ => return None,
            },
            F::ArgName => match sys? {
                Syscall::MemfdCreate { name, .. } => name,
                _ => return None,
            },
            F::ArgDomain => match sys? {
                Syscall::Socket { domain, .. } => socket_domain(*domain)?,
                _ => return None,
            },
            F::ArgType if matches!(sys, Some(Syscall::Socket { .. })) => match sys? {
                Syscall::Socket { sock_type, .. } => socket_type(*sock_type)?,
                _ => return None,
            },
            F::ArgDev | F::ArgDir | F::ArgType => match sys? {
                Syscall::Mount {
                    target,
                    source,
                    fstype,
                    ..
                } => match f {
                    F::ArgDev => source,
                    F::ArgDir => target,
                    _ => fstype,
                },
                _ => return None,
            },
            F::ProcName => &ev.process.name,
            F::ProcExe => match self.exec() {
                Some(x) => x.argv0(),
                None => ev.process.exe?,
            },
            F::ProcExepath => ev.process.exe?,
            F::ProcCmdline => self.exec()?.cmdline(),
            F::ProcArgs => self.exec()?.args(),
            F::ProcPname => ev.process.parent.as_ref()?.name,
            F::ProcPexe => match self.parent_exec() {
                Some(x) => x.argv0(),
                None => ev.process.parent.as_ref()?.exe?,
            },
            F::ProcPexepath => ev.process.parent.as_ref()?.exe?,
            F::ProcPcmdline => self.parent_exec()?.cmdline(),
            F::ProcCwd => self.exec()?.cwd(),
            F::UserName => (ev.process.uid == 0).then_some("root")?,
            F::FdName => &ev.open.as_ref()?.path,
            F::FdDirectory => {
                let path: &str = &ev.open.as_ref()?.path;
                match path.rfind('/')? {
                    0 => "/",
                    i => path.get(..i)?,
                }
            }
            F::FdFilename => {
                let path: &str = &ev.open.as_ref()?.path;
                path.rsplit('/').next()?
            }
            F::FdType | F::FdTypechar => {
                let family = match (&ev.open, &ev.connect, &ev.socket) {
                    (Some(_), ..) => "file",
                    (_, Some(c), _) => c.family,
                    (.., Some(s)) => s.family,
                    _ => return None,
                };
                match (f, family) {
                    (F::FdType, t) => t,
                    (_, "file") => "f",
                    (_, "ipv4") => "4",
                    (_, "ipv6") => "6",
                    _ => return None,
                }
            }
            F::FdSip => match (&ev.connect, &ev.socket) {
                (Some(c), _) => &c.address,
                (_, Some(s)) => &s.local_address,
                _ => return None,
            },
            F::FdRip => match (&ev.connect, &ev.socket) {
                (Some(c), _) => &c.address,
                (_, Some(s)) => s.remote_address.as_deref()?,
                _ => return None,
            },
            F::FdCip => ev.socket.as_ref()?.remote_address.as_deref()?,
            F::FdLip => &ev.socket.as_ref()?.local_address,
            F::FdL4proto => {
                ev.socket.as_ref()?;
                "tcp"
            }
            F::ContainerId => match ev.container_id {
                Some(id) => id.get(..12).unwrap_or(id),
                None => "host",
            },
            F::ContainerFullId => ev.container_id.unwrap_or("host"),
            F::ContainerName => info?.name.as_deref()?,
            F::ContainerImage => info?.image.as_deref()?,
            F::ContainerImageRepository => split_image(info?.image.as_deref()?).0,
            F::ContainerImageTag => split_image(info?.image.as_deref()?).1?,
            F::ContainerImageDigest => match info?.image_digest.as_deref() {
                Some(d) => d,
                None => info?.image.as_deref()?.split_once('@')?.1,
            },
            F::K8sPodName => info?.pod.as_deref()?,
            F::K8sNsName => info?.namespace.as_deref()?,
            _ => return None,
        })
    }

    /// The value of a single-valued numeric field.
    fn int_of(&self, f: F) -> Option<i64> {
        let ev = self.event;
        let sys = ev.syscall.as_ref();
        let exec = || self.exec();
        Some(match f {
            F::EvtRawtime => ev.unix_ns,
            F::EvtRawres => match (&ev.open, &ev.connect) {
                (Some(o), _) => o.result,
                (_, Some(c)) => c.result,
                _ if ev.exec.is_some() => 0,
                _ => return None,
            },
            F::RawFlags => match (&ev.open, sys) {
                (Some(o), _) => i64::from(o.flags),
                (_, Some(Syscall::Unshare { flags } | Syscall::MemfdCreate { flags, .. })) => {
                    *flags as i64
                }
                (_, Some(Syscall::Mount { flags, .. } | Syscall::FinitModule { flags, .. })) => {
                    *flags as i64
                }
                _ => return None,
            },
            F::RawRequest => match sys? {
                Syscall::Ptrace { request, .. } => *request as i64,
                _ => return None,
            },
            F::ArgPid => match sys? {
                Syscall::Ptrace { target_pid, .. } => *target_pid as i64,
                _ => return None,
            },
            F::ArgUid => match sys? {
                Syscall::Setuid { uid } => *uid as i64,
                _ => return None,
            },
            F::ArgGid => match sys? {
                Syscall::Setgid { gid } => *gid as i64,
                _ => return None,
            },
            F::RawCmd => match sys? {
                Syscall::Bpf { cmd } => *cmd as i64,
                _ => return None,
            },
            F::ArgProto => match sys? {
                Syscall::Socket { protocol, .. } => *protocol as i64,
                _ => return None,
            },
            F::ArgFd => match sys? {
                Syscall::Setns { fd, .. } | Syscall::FinitModule { fd, .. } => *fd as i64,
                _ => return None,
            },
            F::ProcPid => i64::from(ev.process.pid),
            F::ProcPpid => i64::from(ev.process.ppid),
            F::ThreadTid => i64::from(ev.process.tid),
            F::ProcExeIno => exec()?.exe_ino as i64,
            F::ProcExeInoCtime => nonzero(exec()?.exe_ctime_ns)?,
            F::ProcExeInoMtime => nonzero(exec()?.exe_mtime_ns)?,
            F::ProcExeInoCtimeDurationProcStart => {
                let x = exec()?;
                let ctime = nonzero(x.exe_ctime_ns)?;
                // The exec's boot-time stamp on the event's clock.
                let offset = ev.unix_ns.saturating_sub(ev.boot_ns as i64);
                (x.exec_boot_ns as i64)
                    .saturating_add(offset)
                    .saturating_sub(ctime)
            }
            F::ProcExeInoCtimeDurationPidnsStart => {
                // As Falco: how long after the PID namespace started the executable's
                // inode changed, 0 when it changed before. The container's first sighting
                // stands in for its PID namespace's start; absent on the host.
                let ctime = nonzero(exec()?.exe_ctime_ns)?;
                let start = self.procs.container_start(ev.container_id?)?;
                let offset = ev.unix_ns.saturating_sub(ev.boot_ns as i64);
                ctime
                    .saturating_sub((start as i64).saturating_add(offset))
                    .max(0)
            }
            F::UserUid => i64::from(ev.process.uid),
            F::GroupGid => i64::from(ev.process.gid),
            F::FdNum => match (&ev.open, &ev.connect, &ev.socket) {
                (Some(o), ..) => o.result,
                (_, Some(c), _) => i64::from(c.fd),
                (.., Some(s)) => i64::from(s.fd),
                _ => return None,
            },
            F::FdSport => match (&ev.connect, &ev.socket) {
                (Some(c), _) => i64::from(c.port),
                (_, Some(s)) => i64::from(s.local_port),
                _ => return None,
            },
            F::FdRport => match (&ev.connect, &ev.socket) {
                (Some(c), _) => i64::from(c.port),
                (_, Some(s)) => i64::from(s.remote_port?),
                _ => return None,
            },
            F::FdCport => i64::from(ev.socket.as_ref()?.remote_port?),
            F::FdLport => i64::from(ev.socket.as_ref()?.local_port),
            _ => return None,
        })
    }

    /// The value of a boolean field.
    fn bool_of(&self, f: F) -> Option<bool> {
        let ev = self.event;
        Some(match f {
            F::EvtIsOpenRead => ev.open.as_ref()?.flags & O_ACCMODE != O_WRONLY,
            F::EvtIsOpenWrite => ev.open.as_ref()?.write,
            F::ProcIsExeFromMemfd => match &ev.exec {
                Some(x) => x.fileless,
                None => self.exec()?.fileless,
            },
            _ => return None,
        })
    }

    /// Calls `f` with the names of the set flags (`evt.arg.flags`).
    fn flags(&self, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
        let ev = self.event;
        if let Some(o) = &ev.open {
            let mode = match o.flags & O_ACCMODE {
                0 => "O_RDONLY",
                1 => "O_WRONLY",
                _ => "O_RDWR",
            };
            if f(Scalar::Str(mode)).is_break() {
                return;
            }
            for (bit, name) in OPEN_FLAGS {
                if o.flags & bit == *bit && f(Scalar::Str(name)).is_break() {
                    return;
                }
            }
            return;
        }
        let (flags, names) = match &ev.syscall {
            Some(Syscall::Unshare { flags }) => (*flags, NS_FLAGS),
            Some(Syscall::MemfdCreate { flags, .. }) => (*flags, MFD_FLAGS),
            _ => return,
        };
        for (bit, name) in names {
            if flags & bit != 0 && f(Scalar::Str(name)).is_break() {
                return;
            }
        }
    }

    /// Calls `f` with the ancestors' values of `field` (the parent first), or with the
    /// one at `depth` (0: the process itself).
    fn ancestors(
        &self,
        field: F,
        depth: Option<usize>,
        f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>,
    ) {
        let pid = self.event.process.pid;
        let (skip, take) = match depth {
            Some(d) => (d, 1),
            None => (1, MAX_ANCESTORS),
        };
        for (pid, info) in self
            .procs
            .ancestry(pid, MAX_ANCESTORS + 1)
            .skip(skip)
            .take(take)
        {
            let v = match field {
                F::ProcAname => Scalar::Str(&info.name),
                F::ProcApid => Scalar::Int(i64::from(pid)),
                _ => match info.exe.as_deref() {
                    Some(e) => Scalar::Str(e),
                    None => continue,
                },
            };
            if f(v).is_break() {
                return;
            }
        }
    }

    /// A socket's `fd.name`: `rip:rport` for a connect, `lip:lport` for a listen,
    /// `rip:rport->lip:lport` for an accept.
    fn socket_name(&self) -> Option<StackText> {
        let mut t = StackText::new();
        match (&self.event.connect, &self.event.socket) {
            (Some(c), _) => t.endpoint(&c.address, c.port),
            (_, Some(s)) => {
                if let (Some(ip), Some(port)) = (&s.remote_address, s.remote_port) {
                    t.endpoint(ip, port);
                    let _ = t.write_str("->");
                }
                t.endpoint(&s.local_address, s.local_port);
            }
            _ => return None,
        }
        Some(t)
    }
}

fn nonzero(ns: u64) -> Option<i64> {
    (ns != 0).then_some(ns as i64)
}

impl eval::Event for RuntimeEvent<'_> {
    fn text(&self, field: &Field) -> Option<Option<&str>> {
        let (f, _) = field_of(field.id)?;
        match f {
            // Formatted, or read through the ancestry walk: through `values`.
            F::FdName if self.event.open.is_none() => None,
            F::ProcAname | F::ProcAexepath | F::ArgFlags => None,
            _ if field.ty == Str => Some(self.str_of(f)),
            _ => None,
        }
    }

    fn values(&self, field: &Field, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
        let Some((which, depth)) = field_of(field.id) else {
            return;
        };
        match which {
            F::ArgFlags => self.flags(f),
            F::ProcAname | F::ProcApid | F::ProcAexepath => self.ancestors(which, depth, f),
            F::FdName if self.event.open.is_none() => {
                if let Some(t) = self.socket_name() {
                    let _ = f(Scalar::Str(t.as_str()));
                }
            }
            _ => {
                let v = match field.ty {
                    Str => self.str_of(which).map(Scalar::Str),
                    Int => self.int_of(which).map(Scalar::Int),
                    Bool => self.bool_of(which).map(Scalar::Bool),
                };
                if let Some(v) = v {
                    let _ = f(v);
                }
            }
        }
    }
}
