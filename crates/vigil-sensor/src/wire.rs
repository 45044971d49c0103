//! The ring buffer's records, decoded from bytes.
//!
//! Mirrors `bpf/events.h` offset by offset (the C side pins its layout with
//! `_Static_assert`s, the tests here build records by hand). Decoding borrows from the
//! ring buffer: strings stay byte slices until an output needs them, so nothing is
//! allocated per record here. Every read is bounds-checked; a short or unknown record is a
//! [`DecodeError`], never a panic. String contents come from the watched processes and are
//! untrusted: they are cut at the first NUL and at their buffer's end.

/// Record kinds (`enum event_kind`).
pub mod kind {
    /// A process executed a new program.
    pub const EXEC: u32 = 1;
    /// A process created a new process.
    pub const FORK: u32 = 2;
    /// A process's last thread exited.
    pub const EXIT: u32 = 3;
    /// A watched path was opened.
    pub const OPEN: u32 = 4;
    /// An IPv4 or IPv6 connect.
    pub const CONNECT: u32 = 5;
    /// One of the security-relevant syscalls of [`super::Sc`].
    pub const SYSCALL: u32 = 6;
    /// A listen or an accept on an inet socket.
    pub const SOCK: u32 = 7;
}

const COMM_LEN: usize = 16;
const PATH_BUF: usize = 384;
const OPEN_PATH: usize = 256;
const ARGS_LEN: usize = 1024;
const SC_STR: usize = 256;
const SC_STR2: usize = 128;
const SC_AUX: usize = 32;

/// Header size; every record starts with it.
pub const HEADER_SIZE: usize = 56;
/// `sizeof(struct exec_event)`.
pub const EXEC_SIZE: usize = 112 + 2 * PATH_BUF + OPEN_PATH + ARGS_LEN;
/// `sizeof(struct fork_event)`.
pub const FORK_SIZE: usize = 64;
/// `sizeof(struct exit_event)`.
pub const EXIT_SIZE: usize = 64;
/// `sizeof(struct open_event)`.
pub const OPEN_SIZE: usize = 72 + OPEN_PATH;
/// `sizeof(struct connect_event)`.
pub const CONNECT_SIZE: usize = 88;
/// `sizeof(struct syscall_event)`.
pub const SYSCALL_SIZE: usize = 88 + SC_STR + SC_STR2 + SC_AUX;
/// `sizeof(struct sock_event)`.
pub const SOCK_SIZE: usize = 104;
/// `sizeof(struct path_key)`: the watched-path LPM trie's key.
pub const PATH_KEY_SIZE: usize = 4 + OPEN_PATH;
/// The longest watched path (bytes, with its terminating NUL for an exact entry).
pub const WATCH_PATH_MAX: usize = OPEN_PATH;

/// `exec_event.flags`: the executed file's name starts with `memfd:`.
pub const EXEC_MEMFD: u32 = 1;
/// `exec_event.flags`: argv was longer than the kernel copied.
pub const EXEC_ARGS_TRUNC: u32 = 2;
/// `exec_event.flags`: the exe path was cut.
pub const EXEC_EXE_TRUNC: u32 = 4;
/// `exec_event.flags`: the cwd was cut.
pub const EXEC_CWD_TRUNC: u32 = 8;

/// A record that could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its kind's struct.
    #[error("a kind {kind} record of {len} bytes is short (needs {need})")]
    Short {
        /// The record's kind.
        kind: u32,
        /// Its length.
        len: usize,
        /// The length its kind needs.
        need: usize,
    },
    /// A kind this decoder does not know (a newer BPF object?).
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
}

/// The syscalls reported as [`kind::SYSCALL`] records (`enum syscall_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sc {
    /// `memfd_create(name, flags)`.
    MemfdCreate,
    /// `ptrace(request, pid, ...)`.
    Ptrace,
    /// `setuid(uid)`.
    Setuid,
    /// `setgid(gid)`.
    Setgid,
    /// `unshare(flags)`.
    Unshare,
    /// `setns(fd, nstype)`.
    Setns,
    /// `mount(source, target, fstype, flags, data)`.
    Mount,
    /// `init_module(image, len, params)`.
    InitModule,
    /// `finit_module(fd, params, flags)`.
    FinitModule,
    /// `bpf(cmd, attr, size)`.
    Bpf,
    /// `socket(domain, type, protocol)`, for packet and raw inet sockets only.
    Socket,
    /// A number this decoder does not know.
    Other(u32),
}

impl Sc {
    fn from_u32(n: u32) -> Sc {
        match n {
            1 => Sc::MemfdCreate,
            2 => Sc::Ptrace,
            3 => Sc::Setuid,
            4 => Sc::Setgid,
            5 => Sc::Unshare,
            6 => Sc::Setns,
            7 => Sc::Mount,
            8 => Sc::InitModule,
            9 => Sc::FinitModule,
            10 => Sc::Bpf,
            11 => Sc::Socket,
            n => Sc::Other(n),
        }
    }

    /// The syscall's name, as `evt.type` says it.
    pub fn name(self) -> &'static str {
        match self {
            Sc::MemfdCreate => "memfd_create",
            Sc::Ptrace => "ptrace",
            Sc::Setuid => "setuid",
            Sc::Setgid => "setgid",
            Sc::Unshare => "unshare",
            Sc::Setns => "setns",
            Sc::Mount => "mount",
            Sc::InitModule => "init_module",
            Sc::FinitModule => "finit_module",
            Sc::Bpf => "bpf",
            Sc::Socket => "socket",
            Sc::Other(_) => "unknown",
        }
    }
}

/// The fields every record starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The record's kind ([`kind`]).
    pub kind: u32,
    /// The parent's process id.
    pub ppid: u32,
    /// Nanoseconds since boot (CLOCK_BOOTTIME).
    pub ts_ns: u64,
    /// The task's cgroup v2 id.
    pub cgroup_id: u64,
    /// Process id (the kernel's tgid).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// The task's name (up to 15 bytes).
    pub comm: &'a [u8],
}

/// A process executed a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exec<'a> {
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Effective capabilities (bit n: capability n).
    pub cap_effective: u64,
    /// The executed file's inode number.
    pub ino: u64,
    /// Its inode change time, nanoseconds since the epoch (0: unknown on this kernel).
    pub ctime_ns: u64,
    /// Its modification time, nanoseconds since the epoch (0: unknown).
    pub mtime_ns: u64,
    /// Its link count: 0 for a deleted or anonymous file.
    pub nlink: u32,
    /// `EXEC_*` flags.
    pub flags: u32,
    /// The executed file's path, leaf first ([`RevPath`]).
    pub exe: RevPath<'a>,
    /// The working directory, leaf first.
    pub cwd: RevPath<'a>,
    /// The path as given to execve.
    pub filename: &'a [u8],
    /// argv, NUL-separated, as far as the kernel copied.
    pub args: &'a [u8],
}

/// A process created another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fork {
    /// The new process's id.
    pub child_pid: u32,
}

/// A process exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The kernel's exit code: status << 8 | terminating signal.
    pub code: u32,
}

/// A watched path was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open<'a> {
    /// `O_*` flags as passed.
    pub flags: u32,
    /// Index of the matching entry in the watch table.
    pub watch: u32,
    /// The file descriptor, or -errno.
    pub ret: i64,
    /// The path as passed.
    pub path: &'a [u8],
}

/// An IPv4 or IPv6 connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect {
    /// The socket's descriptor.
    pub fd: u32,
    /// The destination.
    pub addr: std::net::SocketAddr,
    /// 0 or -errno (-EINPROGRESS for a non-blocking connect).
    pub ret: i64,
}

/// A security-relevant syscall at entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall<'a> {
    /// Which.
    pub sc: Sc,
    /// Its main integer arguments (see bpf/sensor.bpf.c per syscall).
    pub args: [u64; 3],
    /// Its main string argument (memfd name, mount target, module parameters).
    pub str: &'a [u8],
    /// A second string (mount source).
    pub str2: &'a [u8],
    /// A short third string (mount fstype).
    pub aux: &'a [u8],
}

/// What a [`Sock`] record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOp {
    /// `listen(fd, backlog)`.
    Listen,
    /// A connection accepted (`accept`, `accept4`).
    Accept,
    /// A number this decoder does not know.
    Other(u16),
}

/// A listen or an accept on an inet socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sock {
    /// Which.
    pub op: SockOp,
    /// The listening socket, or the accepted connection's.
    pub fd: u32,
    /// listen's backlog.
    pub backlog: i32,
    /// The socket's local address.
    pub local: std::net::SocketAddr,
    /// The peer's address (unspecified for listen).
    pub remote: std::net::SocketAddr,
}

/// One decoded record, borrowing from the ring buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// [`kind::EXEC`].
    Exec(Exec<'a>),
    /// [`kind::FORK`].
    Fork(Fork),
    /// [`kind::EXIT`].
    Exit(Exit),
    /// [`kind::OPEN`].
    Open(Open<'a>),
    /// [`kind::CONNECT`].
    Connect(Connect),
    /// [`kind::SYSCALL`].
    Syscall(Syscall<'a>),
    /// [`kind::SOCK`].
    Sock(Sock),
}

/// A record: its header and its kind's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The common fields.
    pub header: Header<'a>,
    /// The kind's fields.
    pub body: Body<'a>,
}

/// A path as the kernel walked it: components leaf first, each followed by a NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RevPath<'a> {
    /// The used bytes of the buffer.
    pub bytes: &'a [u8],
    /// The walk stopped before the root (too deep or too long).
    pub truncated: bool,
}

impl RevPath<'_> {
    /// The path, root first, lossily decoded: `/bin/sh` for `sh\0bin\0`. A truncated
    /// path starts with `.../`. An empty walk (the root itself) is `/`.
    pub fn to_path_string(&self) -> String {
        let mut out = String::with_capacity(self.bytes.len() + 4);
        if self.truncated {
            out.push_str("...");
        }
        let comps = self
            .bytes
            .split(|&b| b == 0)
            .filter(|c| !c.is_empty())
            .rev();
        for c in comps {
            out.push('/');
            out.push_str(&String::from_utf8_lossy(c));
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// The bytes of a NUL-terminated string inside a fixed buffer: up to the first NUL or
/// the buffer's end.
pub fn cstr(buf: &[u8]) -> &[u8] {
    match memchr_nul(buf) {
        Some(i) => buf.get(..i).unwrap_or(buf),
        None => buf,
    }
}

fn memchr_nul(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == 0)
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_ne_bytes)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

fn bytes_at(b: &[u8], off: usize, len: usize) -> &[u8] {
    b.get(off..off + len).unwrap_or(&[])
}

/// `len` bytes of the buffer at `off` of size `cap`, `len` clamped to `cap`.
fn used(b: &[u8], off: usize, cap: usize, len: usize) -> &[u8] {
    bytes_at(b, off, len.min(cap))
}

/// An IPv6 address (family AF_INET6, 10) or an IPv4 one (the first 4 bytes) at `off`.
fn ip_at(b: &[u8], off: usize, family: u16) -> std::net::IpAddr {
    let raw = bytes_at(b, off, 16);
    if family == 10 {
        let a: [u8; 16] = raw.try_into().unwrap_or([0; 16]);
        std::net::IpAddr::from(a)
    } else {
        let a: [u8; 4] = raw
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 4]);
        std::net::IpAddr::from(a)
    }
}

/// Decodes one ring-buffer record.
pub fn decode(b: &[u8]) -> Result<Record<'_>, DecodeError> {
    let kind = u32_at(b, 0);
    let need = match kind {
        kind::EXEC => EXEC_SIZE,
        kind::FORK => FORK_SIZE,
        kind::EXIT => EXIT_SIZE,
        kind::OPEN => OPEN_SIZE,
        kind::CONNECT => CONNECT_SIZE,
        kind::SYSCALL => SYSCALL_SIZE,
        kind::SOCK => SOCK_SIZE,
        k if b.len() < 4 => {
            return Err(DecodeError::Short {
                kind: k,
                len: b.len(),
                need: HEADER_SIZE,
            });
        }
        k => return Err(DecodeError::UnknownKind(k)),
    };
    if b.len() < need {
        return Err(DecodeError::Short {
            kind,
            len: b.len(),
            need,
        });
    }
    let header = Header {
        kind,
        ppid: u32_at(b, 4),
        ts_ns: u64_at(b, 8),
        cgroup_id: u64_at(b, 16),
        pid: u32_at(b, 24),
        tid: u32_at(b, 28),
        uid: u32_at(b, 32),
        gid: u32_at(b, 36),
        comm: cstr(bytes_at(b, 40, COMM_LEN)),
    };
    let body = match kind {
        kind::EXEC => {
            let flags = u32_at(b, 100);
            let exe_off = 112;
            let cwd_off = exe_off + PATH_BUF;
            let filename_off = cwd_off + PATH_BUF;
            let args_off = filename_off + OPEN_PATH;
            Body::Exec(Exec {
                euid: u32_at(b, 56),
                egid: u32_at(b, 60),
                cap_effective: u64_at(b, 64),
                ino: u64_at(b, 72),
                ctime_ns: u64_at(b, 80),
                mtime_ns: u64_at(b, 88),
                nlink: u32_at(b, 96),
                flags,
                exe: RevPath {
                    bytes: used(b, exe_off, PATH_BUF, usize::from(u16_at(b, 108))),
                    truncated: flags & EXEC_EXE_TRUNC != 0,
                },
                cwd: RevPath {
                    bytes: used(b, cwd_off, PATH_BUF, usize::from(u16_at(b, 110))),
                    truncated: flags & EXEC_CWD_TRUNC != 0,
                },
                filename: cstr(bytes_at(b, filename_off, OPEN_PATH)),
                args: used(b, args_off, ARGS_LEN, u32_at(b, 104) as usize),
            })
        }
        kind::FORK => Body::Fork(Fork {
            child_pid: u32_at(b, 56),
        }),
        kind::EXIT => Body::Exit(Exit {
            code: u32_at(b, 56),
        }),
        kind::OPEN => Body::Open(Open {
            flags: u32_at(b, 56),
            watch: u32_at(b, 60),
            ret: u64_at(b, 64) as i64,
            path: cstr(bytes_at(b, 72, OPEN_PATH)),
        }),
        kind::CONNECT => Body::Connect(Connect {
            fd: u32_at(b, 60),
            addr: std::net::SocketAddr::new(ip_at(b, 72, u16_at(b, 56)), u16_at(b, 58)),
            ret: u64_at(b, 64) as i64,
        }),
        kind::SOCK => {
            let family = u16_at(b, 56);
            Body::Sock(Sock {
                op: match u16_at(b, 62) {
                    1 => SockOp::Listen,
                    2 => SockOp::Accept,
                    n => SockOp::Other(n),
                },
                fd: u32_at(b, 64),
                backlog: u32_at(b, 68) as i32,
                local: std::net::SocketAddr::new(ip_at(b, 72, family), u16_at(b, 58)),
                remote: std::net::SocketAddr::new(ip_at(b, 88, family), u16_at(b, 60)),
            })
        }
        // kind::SYSCALL: the other kinds were turned away above.
        _ => Body::Syscall(Syscall {
            sc: Sc::from_u32(u32_at(b, 56)),
            args: [u64_at(b, 64), u64_at(b, 72), u64_at(b, 80)],
            str: cstr(bytes_at(b, 88, SC_STR)),
            str2: cstr(bytes_at(b, 88 + SC_STR, SC_STR2)),
            aux: cstr(bytes_at(b, 88 + SC_STR + SC_STR2, SC_AUX)),
        }),
    };
    Ok(Record { header, body })
}

/// argv from the NUL-separated bytes the kernel copied: at most `max` arguments, each
/// lossily decoded. The flag says whether arguments were left out (more than `max`, or
/// the kernel's copy was cut).
pub fn split_args(args: &[u8], max: usize, cut: bool) -> (Vec<std::borrow::Cow<'_, str>>, bool) {
    let trimmed = args.strip_suffix(&[0]).unwrap_or(args);
    let mut out = Vec::new();
    let mut more = cut;
    if trimmed.is_empty() {
        return (out, more);
    }
    for (i, a) in trimmed.split(|&b| b == 0).enumerate() {
        if i >= max {
            more = true;
            break;
        }
        out.push(String::from_utf8_lossy(a));
    }
    (out, more)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A record of `size` bytes with the common header filled in.
    pub fn record(kind: u32, size: usize) -> Vec<u8> {
        let mut b = vec![0u8; size];
        put32(&mut b, 0, kind);
        put32(&mut b, 4, 1);
        put64(&mut b, 8, 123_456_789);
        put64(&mut b, 16, 77);
        put32(&mut b, 24, 4242);
        put32(&mut b, 28, 4243);
        put32(&mut b, 32, 1000);
        put32(&mut b, 36, 1001);
        b[40..44].copy_from_slice(b"bash");
        b
    }

    pub fn put16(b: &mut [u8], off: usize, v: u16) {
        b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
    }
    pub fn put32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }
    pub fn put64(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }

    pub fn exec_record(exe: &[u8], args: &[u8], flags: u32) -> Vec<u8> {
        let mut b = record(kind::EXEC, EXEC_SIZE);
        put32(&mut b, 56, 0);
        put64(&mut b, 64, 0x1ff_ffff_ffff);
        put64(&mut b, 72, 99);
        put64(&mut b, 80, 1_700_000_000_000_000_000);
        put32(&mut b, 96, 1);
        put32(&mut b, 100, flags);
        put32(&mut b, 104, args.len() as u32);
        put16(&mut b, 108, exe.len() as u16);
        put16(&mut b, 110, 4);
        b[112..112 + exe.len()].copy_from_slice(exe);
        b[112 + PATH_BUF..112 + PATH_BUF + 4].copy_from_slice(b"tmp\0");
        b[112 + 2 * PATH_BUF..112 + 2 * PATH_BUF + 7].copy_from_slice(b"/bin/sh");
        let a = 112 + 2 * PATH_BUF + OPEN_PATH;
        b[a..a + args.len()].copy_from_slice(args);
        b
    }

    #[test]
    fn exec_round_trip() {
        let b = exec_record(b"sh\0bin\0", b"sh\0-c\0echo hi\0", 0);
        let r = decode(&b).unwrap();
        assert_eq!(r.header.pid, 4242);
        assert_eq!(r.header.tid, 4243);
        assert_eq!(r.header.ppid, 1);
        assert_eq!(r.header.uid, 1000);
        assert_eq!(r.header.gid, 1001);
        assert_eq!(r.header.cgroup_id, 77);
        assert_eq!(r.header.comm, b"bash");
        let Body::Exec(e) = r.body else { panic!() };
        assert_eq!(e.cap_effective, 0x1ff_ffff_ffff);
        assert_eq!(e.ino, 99);
        assert_eq!(e.nlink, 1);
        assert_eq!(e.exe.to_path_string(), "/bin/sh");
        assert_eq!(e.cwd.to_path_string(), "/tmp");
        assert_eq!(e.filename, b"/bin/sh");
        let (args, more) = split_args(e.args, 16, false);
        assert_eq!(args, ["sh", "-c", "echo hi"]);
        assert!(!more);
    }

    #[test]
    fn hostile_lengths_are_clamped() {
        let mut b = exec_record(b"x\0", b"a\0", EXEC_EXE_TRUNC);
        put16(&mut b, 108, u16::MAX);
        put32(&mut b, 104, u32::MAX);
        let r = decode(&b).unwrap();
        let Body::Exec(e) = r.body else { panic!() };
        assert_eq!(e.exe.bytes.len(), PATH_BUF);
        assert_eq!(e.args.len(), ARGS_LEN);
        assert!(e.exe.to_path_string().starts_with(".../"));
    }

    #[test]
    fn invalid_utf8_and_no_nul() {
        let mut b = exec_record(b"\xff\xfe\0", b"", 0);
        b[40..56].copy_from_slice(&[b'a'; 16]);
        let r = decode(&b).unwrap();
        assert_eq!(r.header.comm.len(), 16);
        let Body::Exec(e) = r.body else { panic!() };
        assert_eq!(e.exe.to_path_string(), "/\u{fffd}\u{fffd}");
        assert_eq!(split_args(e.args, 16, false).0.len(), 0);
    }

    #[test]
    fn args_are_bounded() {
        let many: Vec<u8> = (0..40)
            .flat_map(|i| format!("a{i}\0").into_bytes())
            .collect();
        let (args, more) = split_args(&many, 16, false);
        assert_eq!(args.len(), 16);
        assert_eq!(args[15], "a15");
        assert!(more);
        let (args, more) = split_args(b"x\0y", 16, true);
        assert_eq!(args, ["x", "y"]);
        assert!(more);
    }

    #[test]
    fn root_path() {
        let p = RevPath {
            bytes: b"",
            truncated: false,
        };
        assert_eq!(p.to_path_string(), "/");
        let p = RevPath {
            bytes: b"memfd:x\0",
            truncated: false,
        };
        assert_eq!(p.to_path_string(), "/memfd:x");
    }

    #[test]
    fn fork_exit_open() {
        let mut b = record(kind::FORK, FORK_SIZE);
        put32(&mut b, 56, 5000);
        assert_eq!(
            decode(&b).unwrap().body,
            Body::Fork(Fork { child_pid: 5000 })
        );

        let mut b = record(kind::EXIT, EXIT_SIZE);
        put32(&mut b, 56, 3 << 8);
        assert_eq!(decode(&b).unwrap().body, Body::Exit(Exit { code: 768 }));

        let mut b = record(kind::OPEN, OPEN_SIZE);
        put32(&mut b, 56, 0o1101);
        put32(&mut b, 60, 2);
        put64(&mut b, 64, (-13i64) as u64);
        b[72..83].copy_from_slice(b"/etc/shadow");
        let Body::Open(o) = decode(&b).unwrap().body else {
            panic!()
        };
        assert_eq!(o.path, b"/etc/shadow");
        assert_eq!(o.ret, -13);
        assert_eq!(o.watch, 2);
        assert_eq!(o.flags, 0o1101);
    }

    #[test]
    fn connect_v4_v6() {
        let mut b = record(kind::CONNECT, CONNECT_SIZE);
        put16(&mut b, 56, 2);
        put16(&mut b, 58, 8080);
        put32(&mut b, 60, 3);
        put64(&mut b, 64, (-115i64) as u64);
        b[72..76].copy_from_slice(&[169, 254, 169, 254]);
        let Body::Connect(c) = decode(&b).unwrap().body else {
            panic!()
        };
        assert_eq!(c.addr.to_string(), "169.254.169.254:8080");
        assert_eq!(c.ret, -115);
        assert_eq!(c.fd, 3);

        put16(&mut b, 56, 10);
        b[72..88].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        let Body::Connect(c) = decode(&b).unwrap().body else {
            panic!()
        };
        assert_eq!(c.addr.to_string(), "[::1]:8080");
    }

    #[test]
    fn syscall_record() {
        let mut b = record(kind::SYSCALL, SYSCALL_SIZE);
        put32(&mut b, 56, 7);
        put64(&mut b, 64, 4096);
        b[88..93].copy_from_slice(b"/mnt\0");
        b[88 + SC_STR..88 + SC_STR + 9].copy_from_slice(b"/dev/sda1");
        b[88 + SC_STR + SC_STR2..88 + SC_STR + SC_STR2 + 4].copy_from_slice(b"ext4");
        let Body::Syscall(s) = decode(&b).unwrap().body else {
            panic!()
        };
        assert_eq!(s.sc, Sc::Mount);
        assert_eq!(s.sc.name(), "mount");
        assert_eq!(s.args[0], 4096);
        assert_eq!(
            (s.str, s.str2, s.aux),
            (&b"/mnt"[..], &b"/dev/sda1"[..], &b"ext4"[..])
        );

        let mut b = record(kind::SYSCALL, SYSCALL_SIZE);
        put32(&mut b, 56, 11);
        put64(&mut b, 64, 17);
        put64(&mut b, 72, 3);
        put64(&mut b, 80, 0x300);
        let Body::Syscall(s) = decode(&b).unwrap().body else {
            panic!()
        };
        assert_eq!((s.sc, s.sc.name()), (Sc::Socket, "socket"));
        assert_eq!(s.args, [17, 3, 0x300]);
    }

    #[test]
    fn sock_accept_v4() {
        let mut b = record(kind::SOCK, SOCK_SIZE);
        put16(&mut b, 56, 2);
        put16(&mut b, 58, 8080);
        put16(&mut b, 60, 51000);
        put16(&mut b, 62, 2);
        put32(&mut b, 64, 7);
        b[72..76].copy_from_slice(&[10, 0, 0, 1]);
        b[88..92].copy_from_slice(&[10, 0, 0, 2]);
        let Body::Sock(s) = decode(&b).unwrap().body else {
            panic!()
        };
        assert_eq!(s.op, SockOp::Accept);
        assert_eq!(s.fd, 7);
        assert_eq!(s.local.to_string(), "10.0.0.1:8080");
        assert_eq!(s.remote.to_string(), "10.0.0.2:51000");
    }

    #[test]
    fn short_and_unknown() {
        assert_eq!(
            decode(&record(kind::EXEC, 100)),
            Err(DecodeError::Short {
                kind: 1,
                len: 100,
                need: EXEC_SIZE
            })
        );
        assert_eq!(decode(&record(99, 64)), Err(DecodeError::UnknownKind(99)));
        assert!(decode(&[]).is_err());
        assert!(decode(&[1, 0]).is_err());
    }
}
