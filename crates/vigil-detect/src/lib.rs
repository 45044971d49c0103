//! Detection rules, shared by control-plane (audit log) and runtime detection.
//!
//! Rules are data, in Falco's rules format, so users bring the rules they already have.
//! This crate grows in the order the pipeline runs: [`rules`] loads Falco-format rules
//! files (lists, macros, rules, appends and overrides, exceptions); [`condition`] parses
//! the condition language into a syntax tree with positions and expands macros and lists.
//! [`eval`] compiles an expanded condition against an event source's field table (types
//! checked at compile time) and evaluates it on events; [`audit`] is the `ka.*` field table
//! over Kubernetes audit events, and [`audit_log`] streams them out of log files (JSON
//! lines, EventLists, gzip, AKS diagnostic records) and [`cloud`] unwraps the envelopes EKS
//! and GKE logs come in; [`engine`] compiles a rule set for an
//! event source (an [`engine::Source`]: audit events here, the runtime sensor's events in
//! `vigil-sensor`) and turns matches into [`vigil_core::Alert`]s. [`net`] backs the
//! `netmatch` operator (addresses in CIDR networks, for threat-intelligence lists);
//! [`csr`] and [`jsonpatch`] compute audit fields that are not plain paths (a CSR's
//! requested subject, a JSON patch's operations). Built-in detections, the other cloud
//! formats and the CLI build on these.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod audit;
pub mod audit_log;
pub mod cloud;
pub mod condition;
pub mod csr;
pub mod detector;
pub mod engine;
pub mod eval;
pub mod follow;
pub mod jsonpatch;
pub mod net;
pub mod rules;
pub mod stateful;

/// Vigil's built-in control-plane detections (`rules/k8s_audit.yaml`), in Falco's format.
pub const BUILTIN_AUDIT_RULES: &str = include_str!("../rules/k8s_audit.yaml");
