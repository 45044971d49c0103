//! Kubernetes posture assessment.
//!
//! The pipeline is `source -> objects -> checks -> Finding`:
//! - [`manifest`] reads objects from files and folders (multi-document YAML, JSON,
//!   `kubectl get -o json` lists, `helm template` output), with size, count and depth
//!   limits, into [`manifest::Object`]s;
//! - [`live`] reads a running cluster through its API (paginated lists, metadata-only
//!   Secrets, gaps for missing permissions) into an inventory;
//! - [`inventory`] holds what a source read (manifests, a snapshot file, a live cluster)
//!   and reads and writes snapshot files;
//! - [`checks`] runs every check family over an inventory ([`checks::run_all`]), with
//!   [`workload`] (pods and their templates) and [`rbac`] (effective permissions) as the
//!   shared views the families join on;
//! - [`pss`] evaluates the Pod Security Standards on every object that carries a pod
//!   (pods and the pod templates of workloads) the way pod-security-admission does, with
//!   its wording, and turns each violation into a [`vigil_core::Finding`];
//! - [`admission`] judges admission requests: Gatekeeper templates and constraints, the
//!   Pod Security Standards (the same [`pss`] checks) and the image vulnerability gate.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod admission;
pub mod attack;
pub mod checks;
pub mod diff;
pub mod inventory;
pub mod live;
pub mod manifest;
pub mod pss;
pub mod rbac;
pub mod report;
pub mod workload;

pub use inventory::{ClusterInfo, Inventory};
pub use manifest::{Limits, ManifestError, Object};
