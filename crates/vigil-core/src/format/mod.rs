//! Output formats for inventories. Each format is one file with one `write` function.

use crate::Inventory;
use std::io::{self, Write};

pub mod cyclonedx;
pub mod json;
mod license;
mod sbom;
pub mod spdx;
pub mod table;

pub use sbom::DocumentInfo;

/// The formats `vigil sbom --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    /// A human-readable table.
    Table,
    /// Vigil's own JSON schema (the [`Inventory`] type).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

impl InventoryFormat {
    /// The names accepted on the command line, in the order `--help` lists them
    /// (aliases last).
    pub const NAMES: &'static [&'static str] = &[
        "table",
        "json",
        "cyclonedx",
        "spdx",
        "cyclonedx-json",
        "spdx-json",
    ];

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<InventoryFormat> {
        match name {
            "table" => Some(InventoryFormat::Table),
            "json" => Some(InventoryFormat::Json),
            "cyclonedx" | "cyclonedx-json" => Some(InventoryFormat::Cyclonedx),
            "spdx" | "spdx-json" => Some(InventoryFormat::Spdx),
            _ => None,
        }
    }
}

/// Writes `inventory` in `format`. SBOM formats take their time and identifiers from
/// [`DocumentInfo::from_env`] (`SOURCE_DATE_EPOCH` makes them reproducible).
pub fn write_inventory(
    format: InventoryFormat,
    inventory: &Inventory,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        InventoryFormat::Table => table::write(inventory, out),
        InventoryFormat::Json => json::write(inventory, out),
        InventoryFormat::Cyclonedx => cyclonedx::write(inventory, &DocumentInfo::from_env()?, out),
        InventoryFormat::Spdx => spdx::write(inventory, &DocumentInfo::from_env()?, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses() {
        for name in InventoryFormat::NAMES {
            assert!(InventoryFormat::from_name(name).is_some(), "{name}");
        }
        assert_eq!(
            InventoryFormat::from_name("cyclonedx-json"),
            Some(InventoryFormat::Cyclonedx)
        );
        assert_eq!(
            InventoryFormat::from_name("spdx-json"),
            Some(InventoryFormat::Spdx)
        );
        assert_eq!(InventoryFormat::from_name("xml"), None);
    }
}
