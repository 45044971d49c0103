//! A table of vulnerability findings for people, in the manner of Trivy's: a header naming
//! the target, its OS and the database, the counts per severity, then one row per finding,
//! grouped by severity (most severe first).
//!
//! Findings the distribution marks `not_affected` are left out of the rows and counted in
//! a note, so nothing is hidden without a word. Plain text unless the caller asks for
//! colour (only the severity cells are coloured, so the columns stay aligned).

use super::{advisory, text};
use crate::{Severity, VulnMatch, VulnReport};
use std::io::{self, Write};

/// Titles longer than this many characters are cut, with `...` appended.
pub const TITLE_WIDTH: usize = 60;

const HEADERS: [&str; 7] = [
    "LIBRARY",
    "VULNERABILITY",
    "SEVERITY",
    "STATUS",
    "INSTALLED",
    "FIXED",
    "TITLE",
];

/// Writes the report as a table; `color` adds ANSI colours to the severity cells (pass
/// whether the output is a terminal).
pub fn write(report: &VulnReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let inv = &report.inventory;
    let target = if inv.target.reference.is_empty() {
        inv.target.name.as_str()
    } else {
        inv.target.reference.as_str()
    };
    match &inv.os {
        Some(os) => {
            let name = if os.pretty_name.is_empty() {
                format!("{} {}", os.id, os.version_id).trim().to_string()
            } else {
                os.pretty_name.clone()
            };
            writeln!(out, "{target} ({name})")?;
        }
        None => writeln!(out, "{target}")?,
    }
    if !report.database.sources.is_empty() {
        let updated = report
            .database
            .updated
            .as_deref()
            .map(|u| format!(", updated {u}"))
            .unwrap_or_default();
        writeln!(
            out,
            "Database: {}{updated}",
            report.database.sources.join(", ")
        )?;
    }

    let shown = report.actionable();
    let hidden = report.matches.len() - shown.len();

    writeln!(out, "{}", total_line(&shown))?;
    if hidden > 0 {
        writeln!(
            out,
            "Not shown: {hidden} finding{} the distribution marks not_affected.",
            if hidden == 1 { "" } else { "s" }
        )?;
    }

    if shown.is_empty() {
        writeln!(out, "\nNo vulnerabilities found.")?;
    } else {
        let rows: Vec<(Severity, Vec<String>)> =
            shown.iter().map(|m| (m.severity, row(m))).collect();
        writeln!(out)?;
        text::write_rows(out, &HEADERS, &rows, 2, color)?;
    }

    if !inv.complete {
        writeln!(
            out,
            "\nThe inventory is INCOMPLETE ({} warning{}): findings may be missing.",
            inv.warnings.len(),
            if inv.warnings.len() == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}

/// `Total: N (CRITICAL: a, HIGH: b, MEDIUM: c, LOW: d, UNKNOWN: e)`; INFORMATIONAL is
/// listed only when some finding has it, so the usual line reads like Trivy's.
fn total_line(shown: &[&VulnMatch]) -> String {
    let parts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| (*s, shown.iter().filter(|m| m.severity == *s).count()))
        .filter(|(s, n)| *s != Severity::Informational || *n > 0)
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    format!("Total: {} ({})", shown.len(), parts.join(", "))
}

fn row(m: &VulnMatch) -> Vec<String> {
    let title = if m.title.trim().is_empty() {
        advisory::url(&m.id, m.url.as_deref()).unwrap_or_default()
    } else {
        text::truncate(
            m.title.lines().next().unwrap_or_default().trim(),
            TITLE_WIDTH,
        )
    };
    vec![
        m.package.name.clone(),
        m.id.clone(),
        m.severity.to_string(),
        m.status.to_string(),
        m.package.version.clone(),
        m.fixed_versions.join(", "),
        title,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testdata::report;

    fn render(report: &VulnReport, color: bool) -> String {
        let mut buf = Vec::new();
        write(report, color, &mut buf).unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(buf).unwrap_or_default()
    }

    #[test]
    fn header_counts_and_groups() {
        let text = render(&report(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "registry:localhost:5000/app:1 (Debian GNU/Linux 12 (bookworm))"
        );
        assert_eq!(
            lines[1],
            "Database: debian-tracker, osv:PyPI, osv:npm, updated 2024-06-01T00:00:00Z"
        );
        assert_eq!(
            lines[2],
            "Total: 6 (CRITICAL: 2, HIGH: 1, MEDIUM: 1, LOW: 1, UNKNOWN: 1)"
        );
        assert_eq!(
            lines[3],
            "Not shown: 1 finding the distribution marks not_affected."
        );
        assert!(!text.contains("CVE-2022-1111"), "{text}");
        assert!(!text.contains('\x1b'));
        // Column header, then the rows grouped by severity, CRITICAL first.
        assert_eq!(
            lines[5..],
            [
                "LIBRARY   VULNERABILITY        SEVERITY  STATUS               INSTALLED         FIXED             TITLE",
                "libssl3   CVE-2024-0001        CRITICAL  fixed                3.0.11-1~deb12u2  3.0.13-1~deb12u1  OpenSSL: a very long title that goes on about the PKCS12...",
                "openssl   CVE-2024-0001        CRITICAL  fixed                3.0.11-1~deb12u2  3.0.13-1~deb12u1  OpenSSL: a very long title that goes on about the PKCS12...",
                "",
                "lodash    CVE-2021-23337       HIGH      fixed                4.17.20           4.17.21           Command Injection in lodash",
                "",
                "requests  CVE-2024-35195       MEDIUM    fixed                2.31.0            2.32.0            Requests `Session` object does not verify requests after...",
                "",
                "libssl3   CVE-2023-9999        LOW       will_not_fix         3.0.11-1~deb12u2                    minor issue",
                "",
                "libssl3   TEMP-0000000-ABCDEF  UNKNOWN   under_investigation  3.0.11-1~deb12u2                    https://security-tracker.debian.org/tracker/TEMP-0000000-ABCDEF",
            ]
        );
    }
    #[test]
    fn colour_only_when_asked_and_columns_stay_aligned() {
        let plain = render(&report(), false);
        let coloured = render(&report(), true);
        assert!(coloured.contains("\x1b[1;31mCRITICAL\x1b[0m"));
        let stripped = coloured
            .replace("\x1b[1;31m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[34m", "")
            .replace("\x1b[2m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn empty_and_incomplete() {
        let mut r = report();
        r.matches.clear();
        r.inventory.complete = false;
        r.inventory.os = None;
        let text = render(&r, false);
        assert!(
            text.starts_with("registry:localhost:5000/app:1\n"),
            "{text}"
        );
        assert!(text.contains("Total: 0 (CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0)"));
        assert!(text.contains("No vulnerabilities found."));
        assert!(text.contains("INCOMPLETE"));
    }
}
