//! `oci:DIR[:TAG]` and `oci-archive:FILE[:TAG]`: an OCI image layout, in a folder or a tar.

use super::blobs::BlobStore;
use super::oci::{self, Document};
use super::{ImageMeta, ImageSource, SourceOptions};
use crate::error::ImageError;
use oci_spec::image::{Descriptor, ImageIndex};
use std::io::Read;

/// The annotation that names a manifest in a layout's `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// How many nested indexes are followed before giving up.
const MAX_NESTING: usize = 4;

/// An image read from an OCI layout.
pub struct LayoutSource<S> {
    store: S,
    meta: ImageMeta,
}

impl<S: BlobStore> LayoutSource<S> {
    /// Reads `index.json`, picks the manifest by tag and platform, and reads its config.
    pub fn open(
        store: S,
        tag: Option<&str>,
        opts: &SourceOptions,
        target: vigil_core::TargetInfo,
    ) -> Result<Self, ImageError> {
        let place = store.place();
        let limit = opts.limits.max_metadata_bytes;
        if !store.exists("oci-layout") && !store.exists("index.json") {
            return Err(ImageError::InvalidMetadata {
                what: "OCI layout",
                place,
                reason: "no oci-layout or index.json: not an OCI image layout".into(),
            });
        }
        let index: ImageIndex =
            serde_json::from_slice(&store.read("index.json", limit)?).map_err(|e| {
                ImageError::InvalidMetadata {
                    what: "index.json",
                    place: place.clone(),
                    reason: e.to_string(),
                }
            })?;
        let mut descriptor = pick_by_tag(&index, tag, &place)?.clone();
        let mut manifest_digest = descriptor.digest().to_string();
        let mut depth = 0;
        let manifest = loop {
            let bytes = read_blob(&store, &descriptor, limit)?;
            match oci::parse_document(&bytes, &format!("{place} {}", descriptor.digest()))? {
                Document::Manifest(m) => break m,
                Document::Index(i) => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(ImageError::InvalidMetadata {
                            what: "index",
                            place,
                            reason: format!("indexes nested more than {MAX_NESTING} deep"),
                        });
                    }
                    descriptor = oci::select_platform(&i, &opts.platform, &place)?.clone();
                    manifest_digest = descriptor.digest().to_string();
                }
            }
        };
        let config_bytes = read_blob(&store, manifest.config(), limit)?;
        let config = oci::parse_config(&config_bytes).ok();
        let mut meta = ImageMeta {
            target,
            manifest_digest: Some(manifest_digest),
            layers: oci::layers(&manifest, config.as_ref()),
            ..ImageMeta::default()
        };
        oci::describe(
            &mut meta,
            config.as_ref(),
            manifest.config().digest().as_ref(),
        );
        for layer in &meta.layers {
            oci::validate_digest(&layer.info.digest).map_err(|reason| {
                ImageError::InvalidMetadata {
                    what: "manifest",
                    place: place.clone(),
                    reason,
                }
            })?;
        }
        Ok(LayoutSource { store, meta })
    }
}

/// Picks the manifest named `tag`, or the only one when no tag is given.
fn pick_by_tag<'i>(
    index: &'i ImageIndex,
    tag: Option<&str>,
    place: &str,
) -> Result<&'i Descriptor, ImageError> {
    let name_of = |d: &Descriptor| {
        d.annotations()
            .as_ref()
            .and_then(|a| a.get(REF_NAME).cloned())
    };
    let found = match tag {
        Some(tag) => index.manifests().iter().find(|d| {
            name_of(d)
                .is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
        }),
        None if index.manifests().len() == 1 => index.manifests().first(),
        // Several manifests and no tag: an index of platforms is still one image.
        None if index.manifests().iter().all(|d| d.platform().is_some()) => None,
        None => {
            let names: Vec<String> = index.manifests().iter().filter_map(name_of).collect();
            return Err(ImageError::InvalidMetadata {
                what: "index.json",
                place: place.to_string(),
                reason: format!(
                    "the layout holds {} images; name one with :TAG (tags: {})",
                    index.manifests().len(),
                    names.join(", ")
                ),
            });
        }
    };
    match (found, tag) {
        (Some(d), _) => Ok(d),
        (None, Some(tag)) => Err(ImageError::InvalidMetadata {
            what: "index.json",
            place: place.to_string(),
            reason: format!("no manifest tagged {tag:?}"),
        }),
        (None, None) => Err(ImageError::InvalidMetadata {
            what: "index.json",
            place: place.to_string(),
            reason: "the index lists no manifests".into(),
        }),
    }
}

/// Reads a metadata blob named by a descriptor and verifies its digest.
fn read_blob(store: &dyn BlobStore, d: &Descriptor, limit: u64) -> Result<Vec<u8>, ImageError> {
    let digest = d.digest().to_string();
    let bytes = store.read(&blob_path(&digest, &store.place())?, limit)?;
    oci::verify("blob", &digest, &bytes)?;
    Ok(bytes)
}

fn blob_path(digest: &str, place: &str) -> Result<String, ImageError> {
    let (alg, hex) =
        oci::validate_digest(digest).map_err(|reason| ImageError::InvalidMetadata {
            what: "descriptor",
            place: place.to_string(),
            reason,
        })?;
    Ok(format!("blobs/{alg}/{hex}"))
}

impl<S: BlobStore> ImageSource for LayoutSource<S> {
    fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        let desc = self.layer(index)?;
        self.store
            .open(&blob_path(&desc.info.digest, &self.store.place())?)
    }
}
