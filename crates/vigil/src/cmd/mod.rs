//! One module per subcommand.

pub mod db;
pub mod demo;
pub mod image;
pub mod sbom;

/// The inventory of `target`, read with the image options.
pub fn inventory(target: &str, image: &sbom::ImageArgs) -> anyhow::Result<vigil_core::Inventory> {
    use anyhow::Context;
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
