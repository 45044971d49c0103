//! Plain-text tables shared by the report tables: aligned columns, rows grouped by
//! severity with a blank line between groups, and optional ANSI colour on the severity
//! cell only (so the columns stay aligned).

use crate::Severity;
use std::io::{self, Write};

/// Cuts `s` to at most `max` characters, the last three being `...` when it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(3)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

fn ansi(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[34m",
        Severity::Informational | Severity::Unknown => "\x1b[2m",
    }
}

/// Writes `headers` and `rows` as aligned columns; rows are already sorted, most severe
/// first. Column `severity_col` is coloured when `color` is set.
pub fn write_rows(
    out: &mut dyn Write,
    headers: &[&str],
    rows: &[(Severity, Vec<String>)],
    severity_col: usize,
    color: bool,
) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for (_, cells) in rows {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    write_row(out, &header, &widths, None, severity_col)?;
    let mut previous = None;
    for (severity, cells) in rows {
        if previous.is_some_and(|p| p != *severity) {
            writeln!(out)?;
        }
        previous = Some(*severity);
        write_row(
            out,
            cells,
            &widths,
            color.then_some(*severity),
            severity_col,
        )?;
    }
    Ok(())
}

fn write_row(
    out: &mut dyn Write,
    cells: &[String],
    widths: &[usize],
    color: Option<Severity>,
    severity_col: usize,
) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        match color {
            Some(s) if i == severity_col => {
                line.push_str(ansi(s));
                line.push_str(cell);
                line.push_str("\x1b[0m");
            }
            _ => line.push_str(cell),
        }
        if i + 1 < cells.len() {
            let pad = w.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly 10", 10), "exactly 10");
        assert_eq!(truncate("a longer title here", 10), "a longe...");
        assert_eq!(truncate("ééééééééééé", 5), "éé...");
    }

    #[test]
    fn columns_align_and_groups_are_separated() {
        let rows = vec![
            (Severity::High, vec!["a".to_string(), "HIGH".to_string()]),
            (
                Severity::Low,
                vec!["long name".to_string(), "LOW".to_string()],
            ),
        ];
        let mut buf = Vec::new();
        write_rows(&mut buf, &["NAME", "SEVERITY"], &rows, 1, false).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "NAME       SEVERITY\na          HIGH\n\nlong name  LOW\n"
        );
    }
}
