//! Image sources: each turns a target into layer streams plus what the manifest and
//! config say about them. One file per source; [`open`] picks by target kind.

use crate::error::ImageError;
use crate::layer::{Expected, FileResult, LayerScan, Pending, Walker};
use crate::limits::Limits;
use crate::target::Target;
use std::io::Read;

mod blobs;
mod dir;
mod docker_archive;
mod oci;
mod oci_layout;
pub mod registry;

pub use oci::Platform;
pub use registry::RegistryOptions;

/// One layer as the manifest describes it.
#[derive(Debug, Clone, Default)]
pub struct LayerDesc {
    /// The name used in messages and reports (the blob digest, or the archive path).
    pub name: String,
    /// Digests to verify while reading.
    pub expected: Expected,
    /// Reported layer facts.
    pub info: vigil_core::LayerInfo,
}

/// What a source knows before any layer is read.
#[derive(Debug, Clone, Default)]
pub struct ImageMeta {
    /// The target as reported.
    pub target: vigil_core::TargetInfo,
    /// Manifest digest, for layouts and registries.
    pub manifest_digest: Option<String>,
    /// Config digest.
    pub image_id: Option<String>,
    /// `os/arch[/variant]` from the config.
    pub platform: Option<String>,
    /// Layers from the base up.
    pub layers: Vec<LayerDesc>,
}

/// A source of layers.
pub trait ImageSource: Send + Sync {
    /// What the manifest and config say.
    fn meta(&self) -> &ImageMeta;

    /// Opens layer `index` as stored (possibly compressed).
    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send + '_>, ImageError>;

    /// Walks layer `index` once, feeding the analyzers.
    fn scan_layer(&self, index: usize, walker: &Walker<'_>) -> Result<LayerScan, ImageError> {
        let desc = self.layer(index)?;
        walker.scan_layer(
            &desc.name,
            bounded(desc, self.open_layer(index)?),
            &desc.expected,
        )
    }

    /// Reads layer `index` again for files wanted under link paths.
    fn fetch(
        &self,
        index: usize,
        walker: &Walker<'_>,
        wanted: &[Pending],
    ) -> Result<Vec<FileResult>, ImageError> {
        let desc = self.layer(index)?;
        walker.fetch(
            &desc.name,
            bounded(desc, self.open_layer(index)?),
            &desc.expected,
            wanted,
        )
    }

    /// The descriptor of layer `index`.
    fn layer(&self, index: usize) -> Result<&LayerDesc, ImageError> {
        self.meta()
            .layers
            .get(index)
            .ok_or_else(|| ImageError::CorruptLayer {
                layer: format!("#{index}"),
                reason: "no such layer".into(),
            })
    }
}

/// Reads at most one byte more than the size the manifest gives, so a registry or file
/// that sends an endless blob ends in a digest mismatch instead of reading forever.
fn bounded<'a>(desc: &LayerDesc, blob: Box<dyn Read + Send + 'a>) -> Box<dyn Read + Send + 'a> {
    match desc.info.size {
        Some(size) if desc.expected.blob.is_some() => Box::new(blob.take(size.saturating_add(1))),
        _ => blob,
    }
}

/// How to open a target.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Limits on metadata sizes.
    pub limits: Limits,
    /// The platform to pick from indexes and manifest lists.
    pub platform: Platform,
    /// Registry access.
    pub registry: RegistryOptions,
}

/// Opens the source for a target.
pub fn open(
    target: &Target,
    reference: &str,
    opts: &SourceOptions,
) -> Result<Box<dyn ImageSource>, ImageError> {
    let target_info = |name: String| vigil_core::TargetInfo {
        kind: target.kind().to_string(),
        reference: reference.to_string(),
        name,
    };
    Ok(match target {
        Target::Dir(path) => Box::new(dir::DirSource::open(
            path,
            target_info(path.display().to_string()),
        )?),
        Target::OciLayout { dir, tag } => {
            let store = blobs::DirStore::new(dir.clone());
            Box::new(oci_layout::LayoutSource::open(
                store,
                tag.as_deref(),
                opts,
                target_info(display_name(dir, tag.as_deref())),
            )?)
        }
        Target::OciArchive { file, tag } => {
            let store = blobs::TarStore::open(file, &opts.limits)?;
            Box::new(oci_layout::LayoutSource::open(
                store,
                tag.as_deref(),
                opts,
                target_info(display_name(file, tag.as_deref())),
            )?)
        }
        Target::DockerArchive {
            file,
            reference: wanted,
        } => {
            let store = blobs::TarStore::open(file, &opts.limits)?;
            Box::new(docker_archive::DockerArchiveSource::open(
                store,
                wanted.as_deref(),
                &opts.limits,
                target_info(file.display().to_string()),
            )?)
        }
        Target::Registry(image) => Box::new(registry::RegistrySource::open(
            image,
            opts,
            target_info(image.clone()),
        )?),
    })
}

fn display_name(path: &std::path::Path, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("{}:{t}", path.display()),
        None => path.display().to_string(),
    }
}
