//! Vigil's vulnerability database.
//!
//! Advisories from OSV, Alpine's secdb and the Debian security tracker are converted to
//! one model ([`model`]), kept in an embedded store ([`store`]), and matched against an
//! inventory ([`matcher`]) with each ecosystem's own version ordering ([`version`]).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod alpine;
pub mod debian;
pub mod import;
pub mod matcher;
pub mod model;
pub mod osv;
pub mod score;
pub mod store;
pub mod suppress;
pub mod update;
pub mod version;

pub use model::{Advisory, Affected, Event, Range, RangeKind};
pub use store::{Database, DbError};

/// The name advisories are looked up by, so that `Foo_Bar` in a record finds `foo-bar`
/// in an image: PEP 503 for PyPI, lower case where the registry ignores case (npm,
/// crates.io, NuGet, Packagist), unchanged elsewhere (Go module paths and Maven
/// coordinates are case-sensitive, distro names are lower case already).
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    match base {
        "PyPI" => vigil_core::package::pep503_normalize(name),
        "npm" | "crates.io" | "NuGet" | "Packagist" => name.to_ascii_lowercase(),
        _ => name.to_owned(),
    }
}

/// Now as RFC 3339 UTC, to the second.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
