//! Vigil's own JSON: the [`Inventory`] type, pretty-printed.

use crate::Inventory;
use std::io::{self, Write};

/// Writes the inventory as pretty JSON followed by a newline.
pub fn write(inventory: &Inventory, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, inventory)?;
    out.write_all(b"\n")
}
