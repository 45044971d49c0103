//! `vigil k8s checks`: the catalogue of posture checks, from the same table the scan uses.

use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use vigil_kube::checks::families;

/// `vigil k8s checks` arguments.
#[derive(clap::Args, Debug)]
pub struct ChecksArgs {
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// Runs `vigil k8s checks`.
pub fn run(args: ChecksArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.format == "json" {
        let all: Vec<serde_json::Value> = families()
            .iter()
            .flat_map(|f| {
                f.checks().into_iter().map(move |c| {
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    v["family"] = f.name().into();
                    v
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &all)?;
        writeln!(out)?;
    } else {
        for f in families() {
            for c in f.checks() {
                writeln!(
                    out,
                    "{:<14} {:<38} {:<9} {}  [{}]",
                    f.name(),
                    c.id,
                    c.severity.to_string(),
                    c.title,
                    c.controls.join(", ")
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
