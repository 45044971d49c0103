//! One module per subcommand.

pub mod admission;
pub mod audit;
pub mod audit_judge;
pub mod audit_serve;
pub mod audit_tail;
pub mod db;
pub mod demo;
pub mod image;
pub mod k8s;
pub mod sbom;
pub mod sensor;
pub mod server;
pub mod server_jobs;
pub mod up;

/// The inventory of `target`, read with the image options.
pub fn inventory(target: &str, image: &sbom::ImageArgs) -> anyhow::Result<vigil_core::Inventory> {
    use anyhow::Context;
    if let Some(path) = target.strip_prefix("sbom:") {
        return read_sbom_file(std::path::Path::new(path), target);
    }
    let opts = image.source_options()?;
    let started = std::time::Instant::now();
    let inventory =
        vigil_image::sbom(target, &opts).with_context(|| format!("reading {target}"))?;
    tracing::info!(
        target = %target,
        packages = inventory.packages.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "inventory done"
    );
    Ok(inventory)
}

/// An SBOM (CycloneDX, SPDX, or Vigil's inventory JSON) read back into an inventory.
fn read_sbom_file(path: &std::path::Path, target: &str) -> anyhow::Result<vigil_core::Inventory> {
    use anyhow::Context;
    use std::io::Read;
    let limit = vigil_core::format::sbom_read::MAX_SBOM_BYTES as u64;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    let inventory = vigil_core::format::read_sbom(&bytes, target)
        .with_context(|| format!("reading {}", path.display()))?;
    for warning in &inventory.warnings {
        tracing::warn!(path = %warning.path, "{}", warning.message);
    }
    Ok(inventory)
}
