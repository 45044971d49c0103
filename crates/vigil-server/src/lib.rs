//! Vigil's backend: where images, posture, audit and runtime findings of a fleet meet.
//!
//! Clusters send what their parts find ([`ingest`]) with per-cluster tokens ([`auth`]);
//! the server stores it behind the [`store::Store`] trait (embedded SQLite by default),
//! folds repeated alerts and groups them into incidents ([`correlate`]), and answers a
//! REST API ([`api`]) that the dashboard ([`dashboard`]) and scripts read, and sends
//! alerts on to SIEMs ([`export`]).

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod api;
pub mod auth;
pub mod client;
pub mod correlate;
pub mod dashboard;
pub mod export;
pub mod ingest;
pub mod store;
