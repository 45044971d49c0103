//! Writing OCI image layouts from files held in memory.
//!
//! Used by `vigil demo` to make its demo image and by tests to make small images with
//! exactly the layer tricks they need (whiteouts, links, compression kinds). Real-world
//! images for tests come from debootstrap and skopeo; this is for the precise cases.

use crate::error::ImageError;
use crate::layer::Compression;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// One entry of a layer.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A regular file with its content and mode.
    File(String, Vec<u8>, u32),
    /// A folder.
    Dir(String),
    /// A symbolic link: path, target.
    Symlink(String, String),
    /// A hard link: path, earlier path in the same layer.
    Hardlink(String, String),
}

/// A layer: its entries in order and how to compress it.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// Entries in archive order.
    pub entries: Vec<Entry>,
    /// gzip, zstd or none.
    pub compression: Compression,
}

/// Builds the tar of a layer.
pub fn layer_tar(entries: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match entry {
            Entry::File(path, content, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(content.len() as u64);
                builder.append_data(&mut header, path, content.as_slice())?;
            }
            Entry::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, path, std::io::empty())?;
            }
            Entry::Symlink(path, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
            Entry::Hardlink(path, target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
        }
    }
    builder.into_inner()
}

fn compress(tar: &[u8], compression: Compression) -> std::io::Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(tar.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(tar)?;
            enc.finish()
        }
        Compression::Zstd => zstd::encode_all(tar, 3),
    }
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A layer blob as stored, with what the config records for it.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The bytes of the blob (compressed or not).
    pub bytes: Vec<u8>,
    /// Its media type.
    pub media_type: String,
    /// The digest of the uncompressed tar.
    pub diff_id: String,
}

/// Compresses a layer into its blob.
pub fn layer_blob(spec: &LayerSpec) -> std::io::Result<Blob> {
    let tar = layer_tar(&spec.entries)?;
    let media_type = match spec.compression {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    };
    Ok(Blob {
        bytes: compress(&tar, spec.compression)?,
        media_type: media_type.to_string(),
        diff_id: digest(&tar),
    })
}

/// Writes an OCI image layout at `dir` holding one linux/amd64 image tagged `tag`.
/// Returns the manifest digest.
pub fn write_oci_layout(dir: &Path, tag: &str, layers: &[LayerSpec]) -> Result<String, ImageError> {
    let blobs = layers
        .iter()
        .map(layer_blob)
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| ImageError::io(dir, e))?;
    write_oci_layout_blobs(dir, tag, &blobs)
}

/// Writes an OCI image layout from ready-made layer blobs (which tests may corrupt).
pub fn write_oci_layout_blobs(dir: &Path, tag: &str, blobs: &[Blob]) -> Result<String, ImageError> {
    write_oci_layout_for(dir, tag, "amd64", blobs)
}

/// Writes an OCI image layout for a linux image of architecture `arch` (`amd64`, `arm64`).
pub fn write_oci_layout_for(
    dir: &Path,
    tag: &str,
    arch: &str,
    blobs: &[Blob],
) -> Result<String, ImageError> {
    let io = |e| ImageError::io(dir, e);
    std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(io)?;
    let put = |bytes: &[u8]| -> Result<String, ImageError> {
        let d = digest(bytes);
        let hex = d.trim_start_matches("sha256:");
        std::fs::write(dir.join("blobs/sha256").join(hex), bytes).map_err(io)?;
        Ok(d)
    };
    let mut layer_descs = Vec::new();
    let mut diff_ids = Vec::new();
    for blob in blobs {
        diff_ids.push(blob.diff_id.clone());
        layer_descs.push(serde_json::json!({
            "mediaType": blob.media_type,
            "digest": put(&blob.bytes)?,
            "size": blob.bytes.len(),
        }));
    }
    let history: Vec<_> = (0..blobs.len())
        .map(|i| serde_json::json!({"created_by": format!("vigil build layer {i}")}))
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .map_err(|e| io(e.into()))?;
    let config_digest = put(&config)?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": layer_descs,
    }))
    .map_err(|e| io(e.into()))?;
    let manifest_digest = put(&manifest)?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).map_err(|e| io(e.into()))?,
    )
    .map_err(io)?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
    Ok(manifest_digest)
}
