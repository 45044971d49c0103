//! Vigil's own JSON: the [`crate::Inventory`] or [`crate::VulnReport`] type, pretty-printed.

use serde::Serialize;
use std::io::{self, Write};

/// Writes an inventory or a vulnerability report as pretty JSON followed by a newline.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}
