//! A posture report for people: what was scanned, the counts per severity, one line per
//! check with its count, then every finding (grouped by severity), the attack paths with
//! their steps, and a closing warning when the scan could not read everything.

use super::text::{self, truncate};
use crate::{PostureReport, Severity};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Titles longer than this many characters are cut.
pub const TITLE_WIDTH: usize = 90;

/// Writes the report; `color` colours the severity cells (pass whether stdout is a terminal).
pub fn write(report: &PostureReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let t = &report.target;
    let mut header = format!("{} {}", t.source, t.name);
    if let Some(v) = &t.server_version {
        header.push_str(&format!(" (Kubernetes {v})"));
    }
    if let Some(at) = &t.taken_at {
        header.push_str(&format!(", read {at}"));
    }
    writeln!(out, "{header}: {} objects", t.objects)?;
    let parts: Vec<String> = report
        .counts()
        .into_iter()
        .filter(|(s, n)| *n > 0 || !matches!(s, Severity::Informational | Severity::Unknown))
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    writeln!(
        out,
        "Total: {} ({})",
        report.findings.len(),
        parts.join(", ")
    )?;

    if report.findings.is_empty() {
        writeln!(out, "\nNo findings.")?;
    } else {
        // Per check: severity, count, and the check's first title as its description.
        let mut by_check: BTreeMap<(std::cmp::Reverse<Severity>, &str), usize> = BTreeMap::new();
        for f in &report.findings {
            *by_check
                .entry((std::cmp::Reverse(f.severity), f.check_id.as_str()))
                .or_default() += 1;
        }
        let rows: Vec<(Severity, Vec<String>)> = by_check
            .iter()
            .map(|((s, check), n)| (s.0, vec![s.0.to_string(), check.to_string(), n.to_string()]))
            .collect();
        writeln!(out)?;
        text::write_rows(out, &["SEVERITY", "CHECK", "FINDINGS"], &rows, 0, color)?;

        let rows: Vec<(Severity, Vec<String>)> = report
            .findings
            .iter()
            .map(|f| {
                (
                    f.severity,
                    vec![
                        f.severity.to_string(),
                        f.check_id.clone(),
                        f.resource.display_name(),
                        truncate(&f.title, TITLE_WIDTH),
                    ],
                )
            })
            .collect();
        writeln!(out)?;
        text::write_rows(
            out,
            &["SEVERITY", "CHECK", "RESOURCE", "TITLE"],
            &rows,
            0,
            color,
        )?;
    }

    if !report.attack_paths.is_empty() {
        writeln!(out, "\nAttack paths: {}", report.attack_paths.len())?;
        for (i, p) in report.attack_paths.iter().enumerate() {
            writeln!(
                out,
                "\n{}. [{} risk {:.1}] {}",
                i + 1,
                p.severity,
                p.risk,
                p.title
            )?;
            for (j, step) in p.steps.iter().enumerate() {
                writeln!(
                    out,
                    "   {}. {}: {}",
                    j + 1,
                    step.resource.display_name(),
                    step.description
                )?;
            }
        }
    }

    if !report.complete() {
        writeln!(
            out,
            "\nThe scan is PARTIAL: {} resource type(s) could not be read, findings may be missing:",
            report.partial.len()
        )?;
        for gap in &report.partial {
            writeln!(out, "  - {gap}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testdata::posture_report;

    #[test]
    fn summary_rows_paths_and_partial_note() {
        let mut buf = Vec::new();
        write(&posture_report(), false, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "cluster prod (Kubernetes v1.31.2), read 2026-11-29T12:00:00Z: 3 objects"
        );
        assert_eq!(
            lines[1],
            "Total: 2 (CRITICAL: 1, HIGH: 0, MEDIUM: 0, LOW: 1)"
        );
        assert!(text.contains("SEVERITY  CHECK                   FINDINGS\nCRITICAL  K8S-rbac-cluster-admin  1\n\nLOW       K8S-hygiene-no-digest   1\n"), "{text}");
        assert!(
            text.contains("CRITICAL  K8S-rbac-cluster-admin  ServiceAccount ci/deployer"),
            "{text}"
        );
        assert!(
            text.contains("1. [CRITICAL risk 9.0] Internet to cluster-admin"),
            "{text}"
        );
        assert!(
            text.contains("   2. ServiceAccount ci/deployer: holds cluster-admin"),
            "{text}"
        );
        assert!(
            text.contains("The scan is PARTIAL: 1 resource type(s)"),
            "{text}"
        );
        assert!(text.contains("  - secrets: forbidden"), "{text}");
    }
}
