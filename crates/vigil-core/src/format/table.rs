//! A table for people: a summary line, then one row per package.

use crate::Inventory;
use std::io::{self, Write};

/// Writes a header (target, OS, counts), the packages as aligned columns, then warnings.
pub fn write(inv: &Inventory, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", inv.target.reference)?;
    if let Some(os) = &inv.os {
        let name = if os.pretty_name.is_empty() {
            format!("{} {}", os.id, os.version_id)
        } else {
            os.pretty_name.clone()
        };
        writeln!(out, "OS: {name}")?;
    }
    let counts: Vec<String> = inv
        .counts()
        .iter()
        .map(|(e, n)| format!("{e} {n}"))
        .collect();
    writeln!(
        out,
        "Packages: {} ({})",
        inv.packages.len(),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    )?;
    if !inv.packages.is_empty() {
        writeln!(out)?;
        let headers = ["NAME", "VERSION", "TYPE", "PATH"];
        let rows: Vec<[&str; 4]> = inv
            .packages
            .iter()
            .map(|p| {
                [
                    p.name.as_str(),
                    p.version.as_str(),
                    p.ecosystem.as_str(),
                    p.location.path.as_str(),
                ]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        write_row(out, &headers, &widths)?;
        for row in &rows {
            write_row(out, row, &widths)?;
        }
    }
    if !inv.warnings.is_empty() {
        writeln!(out)?;
        for w in &inv.warnings {
            if w.path.is_empty() {
                writeln!(out, "WARNING [{}] {}", w.source, w.message)?;
            } else {
                writeln!(out, "WARNING [{}] {}: {}", w.source, w.path, w.message)?;
            }
        }
    }
    if !inv.complete {
        writeln!(
            out,
            "\nThe inventory is INCOMPLETE: see the warnings above."
        )?;
    }
    Ok(())
}

fn write_row(out: &mut dyn Write, cells: &[&str; 4], widths: &[usize; 4]) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            line.push_str(cell);
        } else {
            line.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ecosystem, Package};

    #[test]
    fn aligns_columns_and_flags_incomplete() {
        let inv = Inventory {
            target: crate::TargetInfo {
                reference: "dir:/x".into(),
                ..Default::default()
            },
            packages: vec![
                Package::new(
                    Ecosystem::Deb,
                    "bash",
                    "5.2.15-2+b2",
                    "dpkg",
                    "var/lib/dpkg/status",
                ),
                Package::new(
                    Ecosystem::Pypi,
                    "requests",
                    "2.31.0",
                    "python",
                    "a/METADATA",
                ),
            ],
            complete: false,
            ..Default::default()
        };
        let mut buf = Vec::new();
        write(&inv, &mut buf).unwrap_or_default();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.contains("Packages: 2 (deb 1, pypi 1)"), "{text}");
        assert!(
            text.contains("bash      5.2.15-2+b2  deb   /var/lib/dpkg/status"),
            "{text}"
        );
        assert!(text.contains("INCOMPLETE"));
    }
}
