//! `docker-archive:FILE[:REF]`: the tar written by `docker save` and `podman save`.

use super::blobs::{BlobStore, TarStore};
use super::oci;
use super::{ImageMeta, ImageSource, LayerDesc};
use crate::error::ImageError;
use crate::layer::Expected;
use crate::limits::Limits;
use serde::Deserialize;
use std::io::Read;

/// One entry of `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// An image inside a docker archive.
pub struct DockerArchiveSource {
    store: TarStore,
    paths: Vec<String>,
    meta: ImageMeta,
}

impl DockerArchiveSource {
    /// Reads `manifest.json` and the config of the chosen image.
    pub fn open(
        store: TarStore,
        wanted: Option<&str>,
        limits: &Limits,
        target: vigil_core::TargetInfo,
    ) -> Result<Self, ImageError> {
        let place = store.place();
        let invalid = |what: &'static str, reason: String| ImageError::InvalidMetadata {
            what,
            place: place.clone(),
            reason,
        };
        let entries: Vec<Entry> =
            serde_json::from_slice(&store.read("manifest.json", limits.max_metadata_bytes)?)
                .map_err(|e| invalid("manifest.json", e.to_string()))?;
        let entry = match wanted {
            Some(w) => entries
                .iter()
                .find(|e| {
                    e.repo_tags
                        .iter()
                        .flatten()
                        .any(|t| t == w || t.ends_with(&format!("/{w}")))
                })
                .ok_or_else(|| invalid("manifest.json", format!("no image tagged {w:?}")))?,
            None if entries.len() == 1 => entries
                .first()
                .ok_or_else(|| invalid("manifest.json", "empty".into()))?,
            None => {
                let tags: Vec<&str> = entries
                    .iter()
                    .flat_map(|e| e.repo_tags.iter().flatten())
                    .map(String::as_str)
                    .collect();
                return Err(invalid(
                    "manifest.json",
                    format!(
                        "{} images in the archive; name one with :REF (tags: {})",
                        entries.len(),
                        tags.join(", ")
                    ),
                ));
            }
        };
        if entries.is_empty() {
            return Err(invalid("manifest.json", "lists no images".into()));
        }
        let config_bytes = store.read(&entry.config, limits.max_metadata_bytes)?;
        let config_digest = oci::sha256_digest(&config_bytes);
        let config = oci::parse_config(&config_bytes).map_err(|e| invalid("config", e))?;
        let diff_ids = config.rootfs().diff_ids().clone();
        if diff_ids.len() != entry.layers.len() {
            return Err(invalid(
                "config",
                format!(
                    "{} layers in manifest.json but {} diff_ids in the config",
                    entry.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let history = oci::created_by(Some(&config));
        let layers = entry
            .layers
            .iter()
            .zip(&diff_ids)
            .enumerate()
            .map(|(i, (path, diff_id))| {
                // Newer Docker stores layers as OCI blobs whose name is their digest.
                let blob = path
                    .strip_prefix("blobs/sha256/")
                    .map(|hex| format!("sha256:{hex}"))
                    .filter(|d| oci::validate_digest(d).is_ok());
                LayerDesc {
                    name: diff_id.clone(),
                    expected: Expected {
                        blob: blob.clone(),
                        diff_id: Some(diff_id.clone()),
                    },
                    info: vigil_core::LayerInfo {
                        digest: blob.unwrap_or_else(|| diff_id.clone()),
                        diff_id: Some(diff_id.clone()),
                        size: None,
                        media_type: None,
                        created_by: history.get(i).cloned().flatten(),
                    },
                }
            })
            .collect();
        let mut meta = ImageMeta {
            target,
            layers,
            ..ImageMeta::default()
        };
        oci::describe(&mut meta, Some(&config), &config_digest);
        Ok(DockerArchiveSource {
            paths: entry.layers.clone(),
            store,
            meta,
        })
    }
}

impl ImageSource for DockerArchiveSource {
    fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        let path = self
            .paths
            .get(index)
            .ok_or_else(|| ImageError::CorruptLayer {
                layer: format!("#{index}"),
                reason: "no such layer".into(),
            })?;
        self.store.open(path)
    }
}
