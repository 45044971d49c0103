//! Output formats for inventories. Each format is one file with one `write` function.

use crate::Inventory;
use std::io::{self, Write};

pub mod json;
pub mod table;

/// The formats `vigil sbom --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    /// A human-readable table.
    Table,
    /// Vigil's own JSON schema (the [`Inventory`] type).
    Json,
}

impl InventoryFormat {
    /// The names accepted on the command line, in the order `--help` lists them.
    pub const NAMES: &'static [&'static str] = &["table", "json"];

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<InventoryFormat> {
        match name {
            "table" => Some(InventoryFormat::Table),
            "json" => Some(InventoryFormat::Json),
            _ => None,
        }
    }
}

/// Writes `inventory` in `format`.
pub fn write_inventory(
    format: InventoryFormat,
    inventory: &Inventory,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        InventoryFormat::Table => table::write(inventory, out),
        InventoryFormat::Json => json::write(inventory, out),
    }
}
