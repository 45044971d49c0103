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
use vigil_core::format::{InventoryFormat, write_inventory};
use vigil_image::build::{Entry, LayerSpec, write_oci_layout};
use vigil_image::layer::Compression;

/// `vigil demo` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the demo OCI layout (default: a temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Output format for the inventory.
    #[arg(short, long, default_value = "table", value_parser = clap::builder::PossibleValuesParser::new(InventoryFormat::NAMES))]
    pub format: String,
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

/// Runs `vigil demo`.
pub fn run(args: Args) -> Result<ExitCode> {
    let format = InventoryFormat::from_name(&args.format).unwrap_or(InventoryFormat::Table);
    let temp;
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary folder")?;
            temp.path().join("demo-layout")
        }
    };
    write_oci_layout(&dir, "demo", &layers()).context("writing the demo image")?;
    let target = format!("oci:{}:demo", dir.display());
    eprintln!("Built a demo image at {}; its inventory:\n", dir.display());
    let inventory = vigil_image::sbom(&target, &vigil_image::SourceOptions::default())
        .with_context(|| format!("reading {target}"))?;
    super::sbom::write_output(None, |out| write_inventory(format, &inventory, out))?;
    Ok(ExitCode::SUCCESS)
}
