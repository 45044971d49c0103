//! User-space enrichment: what a record does not carry itself. The process cache names an
//! event's executable and its parent; the container id comes from the process's cgroup;
//! pod and image come from a [`ContainerMetadata`] source (the CRI socket or the podman
//! API in a later slice; none by default).

use crate::cgroup;
use crate::wire::{self, Body, Record};
use std::collections::HashMap;
use std::sync::Arc;

/// At most this many processes are remembered; past it, an arbitrary one is forgotten
/// for each new one (a process table this big means pid reuse anyway).
pub const MAX_PROCESSES: usize = 1 << 16;

/// What the cache knows about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// Its name (comm).
    pub name: Arc<str>,
    /// Its executable's path, when seen (exec, or /proc at start).
    pub exe: Option<Arc<str>>,
    /// Its parent's pid.
    pub ppid: u32,
    /// Its container, if it is in one.
    pub container: Option<Arc<str>>,
    /// What its last exec said, when the sensor saw it (inherited over fork).
    pub exec: Option<Arc<ExecInfo>>,
}

/// What an exec said about a process, kept for the rules' `proc.*` fields on its later
/// events (an open or connect does not carry the command line). Built once per exec; the
/// text is in one buffer, so the fields are slices of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    /// `argv[0]`, then a NUL, then the command line: the name, a space and the arguments
    /// after `argv[0]` joined by spaces, then a NUL and the working directory.
    text: Box<str>,
    argv0_end: usize,
    args_start: usize,
    cwd_start: usize,
    /// The executable was a memfd or a deleted file.
    pub fileless: bool,
    /// The executable's inode number.
    pub exe_ino: u64,
    /// Its inode change time, nanoseconds since the epoch (0 when not told).
    pub exe_ctime_ns: u64,
    /// Its modification time, nanoseconds since the epoch (0 when not told).
    pub exe_mtime_ns: u64,
    /// When the exec happened, nanoseconds since boot.
    pub exec_boot_ns: u64,
}

impl ExecInfo {
    /// The facts of an exec: `comm` after it, its arguments (`args[0]` is `argv[0]`),
    /// its working directory. The command line starts with the base name of `argv[0]`,
    /// not `comm`, unless there are no arguments: `comm` is cut at 15 bytes and is `exe`
    /// for a program started through `/proc/self/exe` (busybox's standalone shell, some
    /// droppers), where `argv[0]` still names what runs.
    pub fn new<'s>(
        comm: &str,
        args: impl IntoIterator<Item = &'s str>,
        cwd: &str,
        exe: (u64, u64, u64),
        fileless: bool,
        exec_boot_ns: u64,
    ) -> ExecInfo {
        let mut args = args.into_iter().peekable();
        let argv0 = args.next();
        let mut text = String::from(argv0.unwrap_or_default());
        let argv0_end = text.len();
        text.push('\0');
        let name = argv0
            .and_then(|a| a.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or(comm);
        text.push_str(name);
        text.push(' ');
        let args_start = text.len();
        for (i, a) in args.enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(a);
        }
        text.push('\0');
        let cwd_start = text.len();
        text.push_str(cwd);
        let (exe_ino, exe_ctime_ns, exe_mtime_ns) = exe;
        ExecInfo {
            text: text.into_boxed_str(),
            argv0_end,
            args_start,
            cwd_start,
            fileless,
            exe_ino,
            exe_ctime_ns,
            exe_mtime_ns,
            exec_boot_ns,
        }
    }

    /// `argv[0]` (Falco's `proc.exe`).
    pub fn argv0(&self) -> &str {
        self.text.get(..self.argv0_end).unwrap_or_default()
    }

    /// The name (`argv[0]`'s base name) and the arguments after `argv[0]` (Falco's
    /// `proc.cmdline`).
    pub fn cmdline(&self) -> &str {
        let end = self.cwd_start.saturating_sub(1);
        let line = self.text.get(self.argv0_end + 1..end).unwrap_or_default();
        // Without arguments, the name alone.
        line.strip_suffix(' ').unwrap_or(line)
    }

    /// The arguments after `argv[0]`, joined by spaces (Falco's `proc.args`).
    pub fn args(&self) -> &str {
        self.text
            .get(self.args_start..self.cwd_start.saturating_sub(1))
            .unwrap_or_default()
    }

    /// The working directory at exec.
    pub fn cwd(&self) -> &str {
        self.text.get(self.cwd_start..).unwrap_or_default()
    }
}

/// Pod, image and names of a container, from its runtime.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContainerInfo {
    /// The container's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its image reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its image digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// The pod's name (`io.kubernetes.pod.name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The pod's namespace (`io.kubernetes.pod.namespace`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Where pod and image details of a container id come from (CRI, podman, docker). The
/// seam for the next slice; looked up once per container id, the answer is cached.
pub trait ContainerMetadata: Send {
    /// What the runtime says about `container_id`, if anything.
    fn lookup(&mut self, container_id: &str) -> Option<ContainerInfo>;
}

/// No runtime asked: container ids only.
#[derive(Debug, Default)]
pub struct NoMetadata;

impl ContainerMetadata for NoMetadata {
    fn lookup(&mut self, _container_id: &str) -> Option<ContainerInfo> {
        None
    }
}

/// Reads process facts from the live system; a trait so tests need no /proc.
pub trait ProcSource: Send {
    /// `/proc/PID/cgroup`, if the process still exists.
    fn cgroup(&self, pid: u32) -> Option<String>;
    /// The processes alive now: (pid, ppid, comm, exe).
    fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)>;
}

/// The real `/proc`.
#[derive(Debug, Default)]
pub struct ProcFs;

impl ProcSource for ProcFs {
    fn cgroup(&self, pid: u32) -> Option<String> {
        read_small(&format!("/proc/{pid}/cgroup"))
    }

    fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Some(stat) = read_small(&format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some((comm, ppid)) = parse_stat(&stat) else {
                continue;
            };
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
            out.push((pid, ppid, comm.to_string(), exe));
        }
        out
    }
}

/// Reads a small /proc file (at most 64 KiB).
fn read_small(path: &str) -> Option<String> {
    use std::io::Read;
    let mut s = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// (comm, ppid) from `/proc/PID/stat`: `pid (comm) state ppid ...`; comm may hold
/// spaces and parentheses, so it ends at the last `)`.
pub fn parse_stat(stat: &str) -> Option<(&str, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, ppid))
}

/// The process cache and container resolution.
pub struct Enricher {
    procs: HashMap<u32, ProcInfo>,
    /// cgroup v2 id -> container, for hosts where the unified hierarchy places containers
    /// (then one /proc read per cgroup, not per process).
    by_cgroup: HashMap<u64, Option<Arc<str>>>,
    metadata: Box<dyn ContainerMetadata>,
    containers: HashMap<Arc<str>, Option<Arc<ContainerInfo>>>,
    /// When each container was first seen (an exec in it), nanoseconds since boot: its
    /// start, or the sensor's for containers already running then.
    first_seen: HashMap<Arc<str>, u64>,
    source: Box<dyn ProcSource>,
    unknown: Arc<str>,
}

impl Enricher {
    /// An enricher over `source`, seeded with the processes alive now.
    pub fn new(source: Box<dyn ProcSource>, metadata: Box<dyn ContainerMetadata>) -> Enricher {
        let mut e = Enricher {
            procs: HashMap::new(),
            by_cgroup: HashMap::new(),
            metadata,
            containers: HashMap::new(),
            first_seen: HashMap::new(),
            source,
            unknown: Arc::from(""),
        };
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        let now = u64::try_from(now.tv_sec).unwrap_or_default() * 1_000_000_000
            + u64::try_from(now.tv_nsec).unwrap_or_default();
        for (pid, ppid, comm, exe) in e.source.snapshot() {
            let container = e.container_of_pid(pid, 0);
            if let Some(c) = &container {
                e.seen(c, now);
            }
            e.insert(
                pid,
                ProcInfo {
                    name: Arc::from(comm),
                    exe: exe.map(Arc::from),
                    ppid,
                    container,
                    exec: None,
                },
            );
        }
        e
    }

    /// The number of processes cached.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    fn insert(&mut self, pid: u32, info: ProcInfo) {
        if self.procs.len() >= MAX_PROCESSES && !self.procs.contains_key(&pid) {
            let victim = self.procs.keys().next().copied();
            if let Some(v) = victim {
                self.procs.remove(&v);
            }
        }
        self.procs.insert(pid, info);
    }

    /// The container of a live process, from its cgroup file (None when it has gone or
    /// is not in a container).
    fn container_of_pid(&mut self, pid: u32, cgroup_id: u64) -> Option<Arc<str>> {
        if cgroup_id != 0
            && let Some(known) = self.by_cgroup.get(&cgroup_id)
        {
            return known.clone();
        }
        let text = self.source.cgroup(pid)?;
        let id = cgroup::container_id_from_cgroup_file(&text).map(Arc::from);
        // Only a non-root unified path identifies the cgroup by its v2 id.
        if cgroup_id != 0 && cgroup::unified_path(&text).is_some_and(|p| p != "/") {
            self.by_cgroup.insert(cgroup_id, id.clone());
        }
        id
    }

    /// Updates the cache with a record, before it is output.
    pub fn observe(&mut self, rec: &Record<'_>) {
        let h = &rec.header;
        match &rec.body {
            Body::Exec(e) => {
                let exe: Arc<str> = Arc::from(e.exe.to_path_string());
                // The exec may have entered a container (runc exec): look again, falling
                // back to what the process had when it has already gone.
                let before = self.procs.get(&h.pid).and_then(|p| p.container.clone());
                let container = self.container_of_pid(h.pid, h.cgroup_id).or(before);
                let name = String::from_utf8_lossy(h.comm);
                let (args, _) = wire::split_args(e.args, usize::MAX, false);
                let exec = ExecInfo::new(
                    &name,
                    args.iter().map(|a| a.as_ref()),
                    &e.cwd.to_path_string(),
                    (e.ino, e.ctime_ns, e.mtime_ns),
                    e.flags & wire::EXEC_MEMFD != 0 || e.nlink == 0,
                    h.ts_ns,
                );
                if let Some(c) = &container {
                    self.seen(c, h.ts_ns);
                }
                self.insert(
                    h.pid,
                    ProcInfo {
                        name: Arc::from(name),
                        exe: Some(exe),
                        ppid: h.ppid,
                        container,
                        exec: Some(Arc::new(exec)),
                    },
                );
            }
            Body::Fork(f) => {
                self.ensure(h.pid, h.cgroup_id);
                let parent = self.procs.get(&h.pid).cloned().unwrap_or_else(|| ProcInfo {
                    name: self.unknown.clone(),
                    exe: None,
                    ppid: 0,
                    container: None,
                    exec: None,
                });
                self.insert(
                    f.child_pid,
                    ProcInfo {
                        ppid: h.pid,
                        ..parent
                    },
                );
            }
            Body::Exit(_) => {
                // Removed after the event is output (see `forget`).
            }
            _ => {
                self.ensure(h.pid, h.cgroup_id);
                self.rename(h.pid, h.comm);
            }
        }
    }

    /// Takes a process's name from a later event when it changed since the exec (a
    /// program renames itself with prctl; busybox applets run through /proc/self/exe
    /// start as `exe`), so the alerts' process trees name what runs.
    fn rename(&mut self, pid: u32, comm: &[u8]) {
        if let Some(p) = self.procs.get_mut(&pid)
            && p.name.as_bytes() != comm
            && !comm.is_empty()
        {
            p.name = Arc::from(String::from_utf8_lossy(comm));
        }
    }

    /// Forgets a process that exited, after its exit event was output.
    pub fn forget(&mut self, pid: u32) {
        self.procs.remove(&pid);
    }

    /// Makes a cache entry for an unknown `pid`, with its container from /proc.
    fn ensure(&mut self, pid: u32, cgroup_id: u64) {
        if !self.procs.contains_key(&pid) {
            let container = self.container_of_pid(pid, cgroup_id);
            let info = ProcInfo {
                name: self.unknown.clone(),
                exe: None,
                ppid: 0,
                container,
                exec: None,
            };
            self.insert(pid, info);
        }
    }

    /// What the cache knows about `pid`.
    pub fn get(&self, pid: u32) -> Option<&ProcInfo> {
        self.procs.get(&pid)
    }

    /// Puts what is known about `pid` in the cache, as an exec would (tests and replays
    /// of recorded events, which have no wire records).
    pub fn remember(&mut self, pid: u32, info: ProcInfo) {
        if let (Some(c), Some(x)) = (&info.container, &info.exec) {
            self.seen(c, x.exec_boot_ns);
        }
        self.insert(pid, info);
    }

    /// Notes that `container` was seen at `boot_ns`, if it is new.
    fn seen(&mut self, container: &Arc<str>, boot_ns: u64) {
        if !self.first_seen.contains_key(container) {
            if self.first_seen.len() >= 4096 {
                self.first_seen.clear();
            }
            self.first_seen.insert(container.clone(), boot_ns);
        }
    }

    /// When `container` was first seen, nanoseconds since boot: the first exec in it, or
    /// the sensor's start for a container already running then. It stands in for the
    /// start of the container's PID namespace: files of its image were written before it,
    /// files written after it are drift.
    pub fn container_start(&self, container: &str) -> Option<u64> {
        self.first_seen.get(container).copied()
    }

    /// `pid`, its parent, its parent's parent..., at most `max` of them, as far as the
    /// cache knows. `max` also bounds a loop the cache could hold after pid reuse.
    pub fn ancestry(&self, pid: u32, max: usize) -> impl Iterator<Item = (u32, &ProcInfo)> {
        let mut next = Some(pid);
        (0..max).map_while(move |_| {
            let pid = next?;
            let info = self.procs.get(&pid)?;
            next = (info.ppid != 0 && info.ppid != pid).then_some(info.ppid);
            Some((pid, info))
        })
    }

    /// The runtime's details of a container, asked once per id.
    pub fn container_info(&mut self, id: &Arc<str>) -> Option<Arc<ContainerInfo>> {
        if let Some(known) = self.containers.get(id) {
            return known.clone();
        }
        let info = self.metadata.lookup(id).map(Arc::new);
        if self.containers.len() >= 4096 {
            self.containers.clear();
        }
        self.containers.insert(id.clone(), info.clone());
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, tests as w};
    use std::sync::Mutex;

    const ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[derive(Default)]
    struct Fake {
        cgroups: Mutex<HashMap<u32, String>>,
        reads: Mutex<u32>,
    }

    impl ProcSource for Arc<Fake> {
        fn cgroup(&self, pid: u32) -> Option<String> {
            *self.reads.lock().unwrap() += 1;
            self.cgroups.lock().unwrap().get(&pid).cloned()
        }
        fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)> {
            vec![(1, 0, "init".into(), Some("/sbin/init".into()))]
        }
    }

    #[test]
    fn fork_inherits_exec_updates_exit_forgets() {
        let fake = Arc::new(Fake::default());
        fake.cgroups.lock().unwrap().insert(
            4242,
            format!("4:memory:/machine.slice/libpod-{ID}.scope\n0::/\n"),
        );
        let mut e = Enricher::new(Box::new(fake.clone()), Box::new(NoMetadata));
        assert_eq!(e.get(1).unwrap().exe.as_deref(), Some("/sbin/init"));

        let b = w::exec_record(b"sh\0bin\0", b"sh\0", 0);
        let r = wire::decode(&b).unwrap();
        e.observe(&r);
        let p = e.get(4242).unwrap();
        assert_eq!(p.exe.as_deref(), Some("/bin/sh"));
        assert_eq!(p.container.as_deref(), Some(ID));
        assert_eq!(&*p.name, "bash");

        // The child of 4242 inherits its container without a /proc read.
        let reads = *fake.reads.lock().unwrap();
        let mut b = w::record(wire::kind::FORK, wire::FORK_SIZE);
        w::put32(&mut b, 56, 5000);
        e.observe(&wire::decode(&b).unwrap());
        assert_eq!(*fake.reads.lock().unwrap(), reads);
        let child = e.get(5000).unwrap();
        assert_eq!(child.ppid, 4242);
        assert_eq!(child.container.as_deref(), Some(ID));
        assert_eq!(child.exe.as_deref(), Some("/bin/sh"));

        e.forget(5000);
        assert!(e.get(5000).is_none());
    }

    #[test]
    fn exec_of_a_gone_process_keeps_what_it_had() {
        let fake = Arc::new(Fake::default());
        let mut e = Enricher::new(Box::new(fake), Box::new(NoMetadata));
        let b = w::exec_record(b"ls\0bin\0", b"ls\0", 0);
        e.observe(&wire::decode(&b).unwrap());
        assert_eq!(e.get(4242).unwrap().container, None);
    }

    #[test]
    fn stat_lines() {
        assert_eq!(parse_stat("1 (systemd) S 0 1 1"), Some(("systemd", 0)));
        assert_eq!(parse_stat("77 (a) b) c) R 12 3"), Some(("a) b) c", 12)));
        assert_eq!(parse_stat("garbage"), None);
    }
}
