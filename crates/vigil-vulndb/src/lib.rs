//! Vigil's vulnerability database.
//!
//! Advisories from OSV, Alpine's secdb and the Debian security tracker are converted to
//! one model, kept in an embedded store, and matched against an inventory with each
//! ecosystem's own version ordering ([`version`]).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod version;
