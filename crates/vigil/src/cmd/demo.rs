//! `vigil demo`: build a small image from material Vigil ships and inventory it, so a
//! newcomer sees the whole pipeline work with nothing to set up.
//!
//! The image has two layers, as a real application image would: a Debian base (its
//! os-release and a dpkg database excerpt taken from a real bookworm system) and an
//! application layer (an npm dependency, a Python distribution, and a whiteout that
//! deletes a file of the base). Everything reported comes from reading that image.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::format::{VulnFormat, write_report};
use vigil_image::build::{Entry, LayerSpec, write_oci_layout};
use vigil_image::layer::Compression;

/// `vigil demo` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the demo OCI layout (default: a temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Output format for the findings.
    #[arg(short, long, default_value = "table", value_parser = clap::builder::PossibleValuesParser::new(VulnFormat::NAMES))]
    pub format: String,
    /// Match against this vulnerability database instead of the demo's own advisories
    /// (e.g. the one `vigil db update` keeps in the data dir).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

fn file(path: &str, content: &[u8]) -> Entry {
    Entry::File(path.to_string(), content.to_vec(), 0o644)
}

/// The demo image's layers.
pub fn layers() -> Vec<LayerSpec> {
    let base = vec![
        Entry::Dir("etc".into()),
        Entry::Dir("usr/lib".into()),
        file(
            "usr/lib/os-release",
            include_bytes!("../../demo/os-release"),
        ),
        Entry::Symlink("etc/os-release".into(), "../usr/lib/os-release".into()),
        file(
            "var/lib/dpkg/status",
            include_bytes!("../../demo/dpkg-status"),
        ),
        file("etc/motd", b"removed by the application layer\n"),
    ];
    let app = vec![
        file(
            "app/package.json",
            include_bytes!("../../demo/app-package.json"),
        ),
        file(
            "app/node_modules/lodash/package.json",
            include_bytes!("../../demo/lodash-4.17.15.package.json"),
        ),
        file(
            "usr/local/lib/python3.11/site-packages/PyYAML-5.3.1.dist-info/METADATA",
            include_bytes!("../../demo/PyYAML-5.3.1.METADATA"),
        ),
        file("etc/.wh.motd", b""),
    ];
    vec![
        LayerSpec {
            entries: base,
            compression: Compression::Gzip,
        },
        LayerSpec {
            entries: app,
            compression: Compression::Zstd,
        },
    ]
}

/// The demo database: OSV records written for the demo image's packages.
const ADVISORIES: &[(&str, &str)] = &[
    (
        "GHSA-8q59-q68h-6hv4.json",
        include_str!("../../demo/advisories/GHSA-8q59-q68h-6hv4.json"),
    ),
    (
        "GHSA-p6mc-m468-83gw.json",
        include_str!("../../demo/advisories/GHSA-p6mc-m468-83gw.json"),
    ),
    (
        "GHSA-35jh-r3h4-6jhm.json",
        include_str!("../../demo/advisories/GHSA-35jh-r3h4-6jhm.json"),
    ),
    (
        "GHSA-29mw-wpgm-hmr9.json",
        include_str!("../../demo/advisories/GHSA-29mw-wpgm-hmr9.json"),
    ),
    (
        "DEBIAN-CVE-2005-2541.json",
        include_str!("../../demo/advisories/DEBIAN-CVE-2005-2541.json"),
    ),
    (
        "DEBIAN-CVE-2019-1010022.json",
        include_str!("../../demo/advisories/DEBIAN-CVE-2019-1010022.json"),
    ),
];

/// Writes the demo image as an OCI layout at `dir` and reads its inventory.
pub fn demo_inventory(dir: &std::path::Path) -> Result<vigil_core::Inventory> {
    write_oci_layout(dir, "demo", &layers()).context("writing the demo image")?;
    let target = format!("oci:{}:demo", dir.display());
    vigil_image::sbom(&target, &vigil_image::SourceOptions::default())
        .with_context(|| format!("reading {target}"))
}

/// Writes the demo advisories into a new database at `path`, through the same importer
/// `vigil db import` uses.
pub fn demo_database(path: &std::path::Path, scratch: &std::path::Path) -> Result<()> {
    let records = scratch.join("advisories");
    std::fs::create_dir_all(&records)?;
    for (name, text) in ADVISORIES {
        std::fs::write(records.join(name), text)?;
    }
    let mut db = vigil_vulndb::Database::create(path)?;
    vigil_vulndb::import::import_paths(&mut db, &[records])?;
    Ok(())
}

/// Runs `vigil demo`: build the image, inventory it, import the demo advisories through
/// the same importer `vigil db import` uses, and match.
pub fn run(args: Args) -> Result<ExitCode> {
    let format = VulnFormat::from_name(&args.format).unwrap_or(VulnFormat::Table);
    let temp = tempfile::tempdir().context("creating a temporary folder")?;
    let dir = args
        .keep
        .clone()
        .unwrap_or_else(|| temp.path().join("demo-layout"));
    let inventory = demo_inventory(&dir)?;
    let db_path = match &args.db {
        Some(path) => path.clone(),
        None => {
            let path = temp.path().join("demo-vulndb.sqlite");
            demo_database(&path, temp.path())?;
            path
        }
    };
    let db = vigil_vulndb::Database::open(&db_path)?;
    eprintln!(
        "Built a demo image at {} ({} packages); its vulnerabilities:\n",
        dir.display(),
        inventory.packages.len()
    );
    let report = super::image::build_report(&db, inventory, |_, _| true)?;
    super::sbom::write_output(None, |out| write_report(format, &report, out))?;
    Ok(ExitCode::SUCCESS)
}
