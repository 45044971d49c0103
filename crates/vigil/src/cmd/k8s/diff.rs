//! `vigil k8s diff OLD NEW`: what changed between two cluster snapshots.

use crate::cmd::sbom::write_output;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_kube::Inventory;

/// `vigil k8s diff` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  vigil k8s snapshot -o monday.json; ...; vigil k8s snapshot -o tuesday.json
  vigil k8s diff monday.json tuesday.json
  vigil k8s diff monday.json tuesday.json --format json --exit-code 1")]
pub struct DiffArgs {
    /// The older snapshot.
    pub old: PathBuf,
    /// The newer snapshot.
    pub new: PathBuf,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with this code when the new snapshot has findings the old one did not.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
}

/// Runs `vigil k8s diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let old = Inventory::read_snapshot(&args.old)?;
    let new = Inventory::read_snapshot(&args.new)?;
    let d = vigil_kube::diff::diff(&old, &new);
    write_output(args.output.as_deref(), |out| {
        if args.format == "json" {
            serde_json::to_writer_pretty(&mut *out, &d)?;
            return writeln!(out);
        }
        let when = |inv: &Inventory| inv.taken_at.clone().unwrap_or_else(|| "?".into());
        writeln!(
            out,
            "{} ({}) -> {} ({})",
            args.old.display(),
            when(&old),
            args.new.display(),
            when(&new)
        )?;
        writeln!(
            out,
            "Objects: {} added, {} removed, {} changed. Findings: {} new, {} resolved.",
            d.added.len(),
            d.removed.len(),
            d.changed.len(),
            d.new_findings.len(),
            d.resolved_findings.len()
        )?;
        for (title, findings) in [
            ("New findings", &d.new_findings),
            ("Resolved findings", &d.resolved_findings),
        ] {
            if findings.is_empty() {
                continue;
            }
            writeln!(out, "\n{title}:")?;
            for f in findings {
                writeln!(
                    out,
                    "  {:<8}  {}  {}: {}",
                    f.severity.to_string(),
                    f.check_id,
                    f.resource.display_name(),
                    f.title
                )?;
            }
        }
        for (sign, title, list) in [
            ("+", "Added", &d.added),
            ("-", "Removed", &d.removed),
            ("~", "Changed", &d.changed),
        ] {
            if list.is_empty() {
                continue;
            }
            writeln!(out, "\n{title}:")?;
            for r in list {
                writeln!(out, "  {sign} {}", r.display_name())?;
            }
        }
        Ok(())
    })?;
    for (path, inv) in [(&args.old, &old), (&args.new, &new)] {
        if inv.is_partial() {
            eprintln!(
                "warning: {} is a partial snapshot; the difference may be incomplete",
                path.display()
            );
        }
    }
    Ok(if !d.new_findings.is_empty() && args.exit_code != 0 {
        ExitCode::from(args.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}
