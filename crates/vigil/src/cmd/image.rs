//! `vigil image TARGET`: the inventory of an image matched against the vulnerability
//! database.

use super::db::DbArgs;
use super::sbom::{ImageArgs, write_output};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::format::{VulnFormat, write_report};
use vigil_core::{DatabaseInfo, Inventory, Severity, VulnMatch, VulnReport, VulnStatus};
use vigil_vulndb::Database;
use vigil_vulndb::suppress::{IgnoreList, Vex};

/// `vigil image` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "TARGET forms: those of `vigil sbom`, plus
  sbom:FILE                          a CycloneDX or SPDX JSON SBOM (or Vigil's inventory JSON)

Examples:
  vigil db update && vigil image localhost:5000/app:1.0
  vigil image docker-archive:app.tar --severity HIGH,CRITICAL --exit-code 1
  vigil image oci:layout:app --format sarif -o app.sarif
  vigil image sbom:app.cdx.json --ignore-unfixed --vex app.openvex.json")]
pub struct Args {
    /// The image to scan.
    pub target: String,
    /// Output format.
    #[arg(short, long, default_value = "table", value_parser = clap::builder::PossibleValuesParser::new(VulnFormat::NAMES))]
    pub format: String,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Report only these severities (comma-separated: CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub severity: Vec<Severity>,
    /// Leave out findings that have no fixed version yet.
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Exit with this code when findings remain after filtering (default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
    /// Ignore a vulnerability id or alias (repeatable).
    #[arg(long, value_name = "ID")]
    pub ignore: Vec<String>,
    /// Ignore file: one id per line, `#` comments, optional `exp:YYYY-MM-DD`.
    #[arg(long, value_name = "FILE", default_value = ".vigilignore")]
    pub ignorefile: PathBuf,
    /// OpenVEX document whose not_affected/fixed statements suppress findings (repeatable).
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub submit: super::server::SubmitArgs,
}

/// Runs `vigil image`.
pub fn run(args: Args) -> Result<ExitCode> {
    let Some(format) = VulnFormat::from_name(&args.format) else {
        bail!("unknown format {}", args.format);
    };
    let suppress = Suppressions::load(&args)?;
    let db_path = args.db.path();
    // Open the database first: a missing one should fail before a long pull.
    let db = Database::open(&db_path)?;
    let server = args.submit.client()?;
    let inventory = super::inventory(&args.target, &args.image)?;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let mut suppressed = 0;
    let report = build_report(&db, inventory, |m, inventory| {
        if suppress.ignores.ignores(m, &today) || suppress.vex.suppresses(m, inventory) {
            tracing::info!(id = %m.id, package = %m.package.name, "suppressed");
            suppressed += 1;
            return false;
        }
        (args.severity.is_empty() || args.severity.contains(&m.severity))
            && (!args.ignore_unfixed || m.status == VulnStatus::Fixed)
    })?;
    if suppressed > 0 {
        eprintln!("{suppressed} findings suppressed by ignore rules or VEX statements");
    }
    write_output(args.output.as_deref(), |out| {
        write_report(format, &report, out)
    })?;
    if let Some(server) = server {
        server
            .send_image(&report)
            .context("sending the report to the server")?;
        eprintln!("vigil: report sent to the server");
    }
    let actionable = report
        .matches
        .iter()
        .any(|m| m.status != VulnStatus::NotAffected);
    Ok(if actionable && args.exit_code != 0 {
        ExitCode::from(args.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}

/// Matches `inventory` against `db` and keeps the findings `keep` accepts.
pub fn build_report(
    db: &Database,
    mut inventory: Inventory,
    mut keep: impl FnMut(&VulnMatch, &Inventory) -> bool,
) -> Result<VulnReport> {
    let started = std::time::Instant::now();
    let outcome = vigil_vulndb::matcher::match_inventory(db, &inventory)
        .with_context(|| format!("matching {}", inventory.target.reference))?;
    tracing::info!(
        packages = inventory.packages.len(),
        findings = outcome.matches.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "matching done"
    );
    for (reason, n) in &outcome.uncovered {
        tracing::warn!("{n} packages not matched: no advisories for {reason}");
    }
    inventory.warnings.extend(outcome.warnings);
    let matches = outcome
        .matches
        .into_iter()
        .filter(|m| keep(m, &inventory))
        .collect();
    let sources = db.sources()?;
    Ok(VulnReport {
        schema_version: vigil_core::VULN_REPORT_SCHEMA_VERSION,
        inventory,
        matches,
        database: DatabaseInfo {
            updated: sources.iter().map(|s| s.imported.clone()).max(),
            sources: sources.into_iter().map(|s| s.name).collect(),
        },
    })
}

/// Ignore rules and VEX statements, read before any work starts.
struct Suppressions {
    ignores: IgnoreList,
    vex: Vex,
}

impl Suppressions {
    fn load(args: &Args) -> Result<Suppressions> {
        let mut ignores = IgnoreList::default();
        for id in &args.ignore {
            ignores.add(id);
        }
        match std::fs::read_to_string(&args.ignorefile) {
            Ok(text) => ignores
                .read(&text)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("reading {}", args.ignorefile.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", args.ignorefile.display()));
            }
        }
        let mut vex = Vex::default();
        for path in &args.vex {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            vex.read(&bytes)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("reading {}", path.display()))?;
        }
        Ok(Suppressions { ignores, vex })
    }
}
