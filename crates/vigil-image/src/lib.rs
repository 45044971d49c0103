//! Reading container images from anywhere and listing every package in them.
//!
//! The pipeline is `source -> layers walked once -> analyzers -> merge -> Inventory`:
//! - [`source`] turns a [`Target`] (registry reference, OCI layout, archive, folder) into
//!   layer streams plus manifest facts;
//! - [`layer`] decompresses, verifies and walks one layer, handing the files that
//!   [`analyzer`]s ask for to them, content never kept past the call;
//! - [`merge`] applies layers overlayfs-style (whiteouts, opaque folders, links);
//! - [`scan`] runs it all and builds the [`vigil_core::Inventory`].

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod analyzer;
pub mod build;
pub mod error;
pub mod layer;
pub mod limits;
pub mod merge;
pub mod path;
pub mod scan;
pub mod source;
pub mod target;

pub use error::ImageError;
pub use limits::Limits;
pub use source::{Platform, RegistryOptions, SourceOptions};
pub use target::Target;

/// Reads the image named by `reference` (a `vigil sbom TARGET` string) and inventories it.
pub fn sbom(reference: &str, opts: &SourceOptions) -> Result<vigil_core::Inventory, ImageError> {
    let target = Target::parse(reference)?;
    let source = source::open(&target, reference, opts)?;
    scan::inventory(source.as_ref(), &opts.limits)
}
