//! `vigil db`: import, update, inspect the vulnerability database, and compare versions.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use vigil_vulndb::version::Scheme;
use vigil_vulndb::{Database, update};

/// Where the database lives: shared by `vigil db` and `vigil image`.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArgs {
    /// The vulnerability database file (default: vulndb.sqlite in the user's data dir,
    /// ~/.local/share/vigil).
    #[arg(long, value_name = "FILE", env = "VIGIL_DB", global = true)]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    /// The database path.
    pub fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(default_path)
    }
}

/// `$XDG_DATA_HOME/vigil/vulndb.sqlite` (`~/.local/share/vigil/vulndb.sqlite`).
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("vigil")
        .join("vulndb.sqlite")
}

/// `vigil db` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Import advisories: OSV records (JSON or YAML files, folders, OSV's all.zip), Alpine
    /// secdb YAML, the Debian security tracker JSON.
    Import {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Download OSV's ecosystem archives and swap in the new database atomically.
    Update {
        /// Where the archives are (`{URL}/{ECOSYSTEM}/all.zip`).
        #[arg(long, value_name = "URL", env = "VIGIL_OSV_URL", default_value = update::DEFAULT_BASE_URL)]
        base_url: String,
        /// An OSV ecosystem to fetch (repeatable; default: every one Vigil matches).
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
        /// Attempts per archive for transient failures.
        #[arg(long, default_value_t = 3)]
        attempts: u32,
    },
    /// Show the sources, record counts per ecosystem, and age.
    Status {
        /// Warn when the database is older than this many days.
        #[arg(long, default_value_t = 7)]
        max_age_days: u64,
    },
    /// Print advisories with this id or alias, as stored.
    Show {
        /// An advisory id (CVE-2020-14343, GHSA-..., PYSEC-..., GO-...).
        id: String,
    },
    /// Match package URLs against the database (`pkg:pypi/pyyaml@5.3.1`,
    /// `pkg:deb/debian/openssl@3.0.11-1?distro=debian-12`): the advisories that affect them.
    Query {
        /// Package URLs with versions.
        #[arg(required = true)]
        purls: Vec<String>,
        /// Output format.
        #[arg(short, long, default_value = "table", value_parser = clap::builder::PossibleValuesParser::new(vigil_core::format::VulnFormat::NAMES))]
        format: String,
    },
    /// Compare two versions as an ecosystem orders them: prints <, = or >.
    Compare {
        /// OSV ecosystem name (Debian, Alpine, Red Hat, PyPI, npm, Go, crates.io, Maven,
        /// RubyGems, NuGet, Packagist).
        ecosystem: String,
        /// First version.
        #[arg(required_unless_present = "stdin")]
        a: Option<String>,
        /// Second version.
        #[arg(required_unless_present = "stdin")]
        b: Option<String>,
        /// Read one "A B" pair per line from stdin; print one result per line.
        #[arg(long, conflicts_with_all = ["a", "b"])]
        stdin: bool,
    },
}

/// Runs `vigil db`.
pub fn run(args: Args) -> Result<ExitCode> {
    let path = args.db.path();
    match args.command {
        Command::Import { paths } => import(&path, &paths),
        Command::Update {
            base_url,
            ecosystems,
            attempts,
        } => run_update(&path, base_url, ecosystems, attempts),
        Command::Status { max_age_days } => status(&path, max_age_days),
        Command::Show { id } => show(&path, &id),
        Command::Query { purls, format } => query(&path, &purls, &format),
        Command::Compare {
            ecosystem,
            a,
            b,
            stdin,
        } => compare(&ecosystem, a, b, stdin),
    }
}

fn import(path: &std::path::Path, paths: &[PathBuf]) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut db = Database::create(path)?;
    let summary = vigil_vulndb::import::import_paths(&mut db, paths)?;
    for (feed, n) in &summary.written {
        println!("{feed}: {n} advisories");
    }
    println!(
        "imported {} advisories into {} in {:.2} s ({} withdrawn skipped)",
        summary.total(),
        path.display(),
        started.elapsed().as_secs_f64(),
        summary.withdrawn
    );
    for (eco, n) in &summary.unknown_ecosystems {
        eprintln!(
            "warning: {n} records name ecosystem {eco:?}, which Vigil does not know; those entries were not imported"
        );
    }
    if !summary.skipped.is_empty() {
        eprintln!("warning: {} documents skipped:", summary.skipped.len());
        for s in summary.skipped.iter().take(20) {
            eprintln!("  {s}");
        }
        if summary.skipped.len() > 20 {
            eprintln!("  ... and {} more", summary.skipped.len() - 20);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_update(
    path: &std::path::Path,
    base_url: String,
    ecosystems: Vec<String>,
    attempts: u32,
) -> Result<ExitCode> {
    let mut options = update::UpdateOptions {
        base_url,
        attempts,
        ..update::UpdateOptions::default()
    };
    if !ecosystems.is_empty() {
        options.ecosystems = ecosystems;
    }
    let bar = crate::progress::download_bar();
    let report = |p: update::Progress<'_>| {
        let Some(bar) = &bar else { return };
        match p {
            update::Progress::Start { ecosystem, total } => {
                bar.reset();
                bar.set_length(total.unwrap_or(0));
                bar.set_message(ecosystem.to_owned());
            }
            update::Progress::Bytes(n) => bar.inc(n),
            update::Progress::Done => {}
        }
    };
    let summary = update::update(path, &options, &report)
        .context("updating the vulnerability database (the previous one is unchanged)")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for eco in &summary.unchanged {
        println!("osv:{eco}: unchanged");
    }
    for (feed, n) in &summary.imported.written {
        println!("{feed}: {n} advisories");
    }
    if !summary.imported.skipped.is_empty() {
        eprintln!(
            "warning: {} records skipped (first: {})",
            summary.imported.skipped.len(),
            summary.imported.skipped.first().map_or("", String::as_str)
        );
    }
    println!("database: {}", path.display());
    Ok(ExitCode::SUCCESS)
}

fn status(path: &std::path::Path, max_age_days: u64) -> Result<ExitCode> {
    let db = Database::open(path)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Database: {}", path.display())?;
    let sources = db.sources()?;
    writeln!(out, "\nSources:")?;
    let mut newest = None;
    for s in &sources {
        writeln!(
            out,
            "  {:<32} {:>7} advisories  imported {}  from {}",
            s.name, s.records, s.imported, s.origin
        )?;
        newest = newest.max(Some(s.imported.clone()));
    }
    writeln!(out, "\nAdvisories per ecosystem:")?;
    for (eco, n) in db.ecosystem_counts()? {
        writeln!(out, "  {eco:<20} {n:>7}")?;
    }
    if let Some(age) = newest.as_deref().and_then(age_of) {
        let days = age.as_secs() / 86_400;
        writeln!(
            out,
            "\nLast import: {} ({days} days ago)",
            newest.unwrap_or_default()
        )?;
        if days > max_age_days {
            eprintln!(
                "warning: the database is {days} days old (more than {max_age_days}); run `vigil db update`"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn age_of(rfc3339: &str) -> Option<Duration> {
    let then = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    let age = time::OffsetDateTime::now_utc() - then;
    Some(Duration::from_secs(
        age.whole_seconds().max(0).unsigned_abs(),
    ))
}

fn show(path: &std::path::Path, id: &str) -> Result<ExitCode> {
    let db = Database::open(path)?;
    let found = db.find(id)?;
    if found.is_empty() {
        eprintln!("no advisory {id} in {}", path.display());
        return Ok(ExitCode::from(1));
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &found)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

/// The purls become a one-component-each CycloneDX document read by the same code that
/// reads SBOMs, so a purl means here exactly what it means in `vigil image sbom:FILE`.
fn query(path: &std::path::Path, purls: &[String], format: &str) -> Result<ExitCode> {
    let components: Vec<serde_json::Value> = purls
        .iter()
        .map(|p| serde_json::json!({"type": "library", "name": p, "purl": p}))
        .collect();
    let bom = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components});
    let inventory = vigil_core::format::read_sbom(&serde_json::to_vec(&bom)?, "purl")?;
    if let Some(w) = inventory.warnings.first() {
        bail!("{}", w.message);
    }
    let db = Database::open(path)?;
    let report = super::image::build_report(&db, inventory, |_, _| true)?;
    let format = vigil_core::format::VulnFormat::from_name(format)
        .unwrap_or(vigil_core::format::VulnFormat::Table);
    super::sbom::write_output(None, |out| {
        vigil_core::format::write_report(format, &report, out)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn compare(ecosystem: &str, a: Option<String>, b: Option<String>, stdin: bool) -> Result<ExitCode> {
    let Some(scheme) = Scheme::for_osv_ecosystem(ecosystem) else {
        bail!(
            "unknown ecosystem {ecosystem:?} (use OSV's names: Debian, Ubuntu, Alpine, Red Hat, PyPI, npm, Go, crates.io, Maven, RubyGems, NuGet, Packagist)"
        );
    };
    let symbol = |o: std::cmp::Ordering| match o {
        std::cmp::Ordering::Less => "<",
        std::cmp::Ordering::Equal => "=",
        std::cmp::Ordering::Greater => ">",
    };
    if !stdin {
        let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
        println!("{}", symbol(scheme.compare(&a, &b)?));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        let mut parts = line.split_whitespace();
        let result = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), None) => scheme.compare(a, b).map(symbol).map_err(|e| e.to_string()),
            _ => Err("expected two versions".to_owned()),
        };
        match result {
            Ok(s) => writeln!(out, "{s}")?,
            Err(e) => {
                // One line out per line in, so results stay aligned with their input.
                writeln!(out, "error")?;
                eprintln!("line {}: {e}", n + 1);
                failed = true;
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
