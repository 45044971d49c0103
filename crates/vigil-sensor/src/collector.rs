//! Loads the BPF object, fills the watch table, attaches the programs and drains the ring
//! buffer into a [`Handler`] until told to stop.

use crate::skel::{OpenSensorSkel, SensorSkelBuilder};
use crate::watch::WatchTable;
use crate::wire::{self, Record};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, RingBufferBuilder};
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The kernel's BTF, which CO-RE relocations are resolved against.
pub const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

/// Programs the sensor cannot run without; the others are reported when they cannot be
/// attached (a syscall this kernel or architecture lacks) and the sensor goes on.
const REQUIRED: &[&str] = &["handle_exec", "handle_fork", "handle_exit"];

/// Why the collector could not start or went on.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// Loading BPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN for tracefs).
    #[error("the sensor needs root to load its eBPF programs (running as uid {0})")]
    NotRoot(u32),
    /// No BTF: CO-RE cannot relocate.
    #[error(
        "{0} is missing: this kernel was built without BTF (CONFIG_DEBUG_INFO_BTF=y), which the sensor's CO-RE programs need"
    )]
    NoBtf(&'static str),
    /// tracefs is neither mounted nor mountable.
    #[error("tracefs is not mounted at /sys/kernel/tracing and mounting it failed: {0}")]
    Tracefs(String),
    /// A libbpf step failed.
    #[error("{step}: {source}")]
    Bpf {
        /// What was being done.
        step: String,
        /// libbpf's error.
        source: libbpf_rs::Error,
    },
    /// Polling the ring buffer failed.
    #[error("polling the ring buffer: errno {0}")]
    Poll(i32),
}

fn bpf(step: impl Into<String>) -> impl FnOnce(libbpf_rs::Error) -> SensorError {
    let step = step.into();
    move |source| SensorError::Bpf { step, source }
}

/// Collector settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Ring buffer size in bytes (a power of two, at least a page).
    pub ring_buffer_bytes: u32,
    /// The watched paths.
    pub watches: WatchTable,
    /// How long one poll waits when nothing happens.
    pub poll_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            ring_buffer_bytes: 8 << 20,
            watches: WatchTable::defaults(),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// What was attached.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    /// Programs attached.
    pub programs: Vec<String>,
    /// Optional programs that could not be attached, with the reason.
    pub missing: Vec<(String, String)>,
}

/// Counters, handed to [`Handler::tick`] about once a second and returned at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records decoded, by kind (index = `wire::kind`, 0 unused).
    pub by_kind: [u64; 8],
    /// Records the kernel could not put on the ring buffer (it was full), all CPUs.
    pub kernel_drops: u64,
    /// Records user space dropped (undecodable).
    pub user_drops: u64,
}

impl Stats {
    /// All records decoded.
    pub fn records(&self) -> u64 {
        self.by_kind.iter().sum()
    }
}

/// Receives the records, on the collector's thread.
pub trait Handler {
    /// The programs are attached: events flow from now on.
    fn attached(&mut self, _attached: &Attached) {}
    /// One record (the hot path).
    fn record(&mut self, record: &Record<'_>);
    /// The ring buffer is drained for now.
    fn idle(&mut self) {}
    /// About once a second, with fresh counters.
    fn tick(&mut self, _stats: &Stats) {}
}

/// Checks what loading needs: root, the kernel's BTF, tracefs (mounted if missing).
pub fn preflight() -> Result<(), SensorError> {
    let euid = rustix::process::geteuid();
    if !euid.is_root() {
        return Err(SensorError::NotRoot(euid.as_raw()));
    }
    if !Path::new(BTF_PATH).exists() {
        return Err(SensorError::NoBtf(BTF_PATH));
    }
    ensure_tracefs()
}

/// Tracepoints are attached by id, read from tracefs; a container or a minimal host may
/// not have it mounted.
fn ensure_tracefs() -> Result<(), SensorError> {
    if Path::new("/sys/kernel/tracing/events").is_dir()
        || Path::new("/sys/kernel/debug/tracing/events").is_dir()
    {
        return Ok(());
    }
    rustix::mount::mount(
        "tracefs",
        "/sys/kernel/tracing",
        "tracefs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .map_err(|e| SensorError::Tracefs(e.to_string()))
}

/// Loads, attaches and runs the collector until `stop` is set or `until` passes, then
/// drains what is left and returns the counters. `handler` sees every record.
pub fn run<H: Handler>(
    config: &Config,
    handler: &mut H,
    stop: &AtomicBool,
    until: Option<Instant>,
) -> Result<Stats, SensorError> {
    preflight()?;
    route_libbpf_logs();
    let mut object = MaybeUninit::uninit();
    let mut open: OpenSensorSkel<'_> = SensorSkelBuilder::default()
        .open(&mut object)
        .map_err(bpf("opening the BPF object"))?;
    open.maps
        .events
        .set_max_entries(config.ring_buffer_bytes)
        .map_err(bpf("sizing the ring buffer"))?;
    if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
        rodata.self_tgid = std::process::id();
    }
    let mut skel = open.load().map_err(bpf("loading the BPF programs"))?;

    for (key, value) in config.watches.keys() {
        skel.maps
            .watched
            .update(&key, &value, MapFlags::ANY)
            .map_err(bpf("filling the watched-path table"))?;
    }

    let mut attached = Attached::default();
    let mut links = Vec::new();
    for prog in skel.object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        match prog.attach() {
            Ok(link) => {
                links.push(link);
                attached.programs.push(name);
            }
            Err(e) if REQUIRED.contains(&name.as_str()) => {
                return Err(SensorError::Bpf {
                    step: format!("attaching {name}"),
                    source: e,
                });
            }
            Err(e) => attached.missing.push((name, format!("{e:#}"))),
        }
    }

    let stats = RefCell::new(Stats::default());
    let handler = RefCell::new(handler);
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&skel.maps.events, |data: &[u8]| {
            match wire::decode(data) {
                Ok(rec) => {
                    if let Some(n) = stats.borrow_mut().by_kind.get_mut(rec.header.kind as usize) {
                        *n += 1;
                    }
                    handler.borrow_mut().record(&rec);
                }
                Err(_) => stats.borrow_mut().user_drops += 1,
            }
            0
        })
        .map_err(bpf("setting up the ring buffer"))?;
    let ring = builder.build().map_err(bpf("setting up the ring buffer"))?;
    handler.borrow_mut().attached(&attached);

    let mut last_tick = Instant::now();
    loop {
        let n = ring.poll_raw(config.poll_interval);
        // EINTR (a signal arrived) is not an error: poll again.
        if n < 0 && n != -libc_eintr() {
            return Err(SensorError::Poll(-n));
        }
        handler.borrow_mut().idle();
        let done = stop.load(Ordering::Relaxed) || until.is_some_and(|t| Instant::now() >= t);
        if done || last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            let drops = kernel_drops(&skel.maps.drops);
            let snapshot = {
                let mut s = stats.borrow_mut();
                s.kernel_drops = drops;
                s.clone()
            };
            handler.borrow_mut().tick(&snapshot);
        }
        if done {
            break;
        }
    }
    drop(links);
    // What was written before the detach.
    let _ = ring.consume_raw();
    handler.borrow_mut().idle();
    let mut out = stats.borrow().clone();
    out.kernel_drops = kernel_drops(&skel.maps.drops);
    Ok(out)
}

/// libbpf's messages (verifier logs, tracepoints it cannot find) go to the log at debug
/// level instead of stderr: the sensor reports what failed itself, and `-v` shows why.
fn route_libbpf_logs() {
    fn print(level: libbpf_rs::PrintLevel, msg: String) {
        let msg = msg.trim_end();
        match level {
            libbpf_rs::PrintLevel::Warn => tracing::debug!(target: "vigil::libbpf", "{msg}"),
            _ => tracing::trace!(target: "vigil::libbpf", "{msg}"),
        }
    }
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, print)));
}

fn libc_eintr() -> i32 {
    rustix::io::Errno::INTR.raw_os_error()
}

/// The per-CPU drop counters, summed.
fn kernel_drops(map: &dyn MapCore) -> u64 {
    let key = 0u32.to_ne_bytes();
    match map.lookup_percpu(&key, MapFlags::ANY) {
        Ok(Some(cpus)) => cpus
            .iter()
            .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
            .map(u64::from_ne_bytes)
            .sum(),
        _ => 0,
    }
}
