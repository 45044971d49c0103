//! Vigil's shared vocabulary.
//!
//! Every capability crate speaks in these types, so a stage of one pipeline can be tested
//! alone and the server can store what any of them produce. Nothing here does I/O apart
//! from the output writers in [`format`], which write to any `std::io::Write`.

pub mod alert;
pub mod finding;
pub mod format;
pub mod inventory;
pub mod package;
pub mod posture;
pub mod severity;
pub mod vuln;

pub use alert::{Alert, AuditDetails, ProcessNode, RuntimeDetails};
pub use finding::{Evidence, Finding, ResourceRef};
pub use inventory::{Inventory, LayerInfo, OsInfo, TargetInfo, Warning};
pub use package::{Ecosystem, Location, Package, SourcePackage};
pub use posture::{AttackPath, PathStep, PostureReport, PostureTarget};
pub use severity::Severity;
pub use vuln::{Cvss, DatabaseInfo, MatchedPackage, VulnMatch, VulnReport, VulnStatus};

/// The version of Vigil's own JSON schema for inventories (`--format json`).
///
/// Bumped whenever a field changes meaning or disappears; adding a field does not bump it.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// The version of the JSON schema of vulnerability reports (`vigil image --format json`).
pub const VULN_REPORT_SCHEMA_VERSION: u32 = 1;
