//! The runtime sensor: eBPF programs on tracepoints report what processes do (exec, fork,
//! exit, opens of watched paths, connects, security-relevant syscalls); user space
//! decodes the records, enriches them (container, process cache) and hands them to a sink.
//!
//! The pipeline, one module per arrow: the kernel programs (`bpf/sensor.bpf.c`) and their
//! loader [`collector`] -> [`wire`] (bytes to borrowed records) -> [`enrich`] (process
//! cache, container ids from [`cgroup`] paths, the [`enrich::ContainerMetadata`] seam for
//! pods and images) -> [`event`] (the typed output event) -> [`sink`] (JSON lines).
//! [`watch`] builds the in-kernel table of watched paths. [`spool`] keeps events and
//! alerts on disk and [`publish`] sends them to the server.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod cgroup;
pub mod collector;
pub mod enrich;
pub mod event;
pub mod pipeline;
pub mod publish;
pub mod sink;
pub mod spool;
pub mod watch;
pub mod wire;

/// The skeleton libbpf-cargo generated for `bpf/sensor.bpf.c` (build.rs): the only
/// module with unsafe code, all of it generated (raw libbpf pointers behind the skeleton's
/// safe open/load/attach API). Its `expect`s fire only if the object lacks a map or
/// program that the same build put in it.
#[allow(
    unsafe_code,
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    dead_code
)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/sensor.skel.rs"));
}
