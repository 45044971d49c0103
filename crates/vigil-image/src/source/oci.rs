//! OCI and Docker v2 metadata shared by layouts, archives and registries: picking a
//! platform from an index, and turning a manifest plus config into layer descriptors.

use super::{ImageMeta, LayerDesc};
use crate::error::ImageError;
use crate::layer::Expected;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;
use std::fmt;

/// `os/architecture[/variant]`, as `--platform` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v8`, `v7`, ...
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(os), Some(arch), variant, None) if !os.is_empty() && !arch.is_empty() => {
                Ok(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: variant.filter(|v| !v.is_empty()).map(str::to_string),
                })
            }
            _ => Err(format!(
                "invalid platform {s:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64"
            )),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A manifest document of either kind.
pub enum Document {
    /// An OCI image index or Docker manifest list.
    Index(Box<ImageIndex>),
    /// An OCI image manifest or Docker v2 schema 2 manifest.
    Manifest(Box<ImageManifest>),
}

/// Just enough of a document to know its kind before parsing it properly.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion", default)]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
}

/// Parses a manifest or index, whichever it is.
pub fn parse_document(bytes: &[u8], place: &str) -> Result<Document, ImageError> {
    let invalid = |what: &'static str, reason: String| ImageError::InvalidMetadata {
        what,
        place: place.to_string(),
        reason,
    };
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| invalid("manifest", e.to_string()))?;
    if probe.schema_version == 1 {
        return Err(invalid(
            "manifest",
            "Docker schema 1 manifests are deprecated and not supported; re-push the image".into(),
        ));
    }
    let is_index = probe.manifests.is_some()
        || probe
            .media_type
            .as_deref()
            .is_some_and(|m| m.contains("index") || m.contains("manifest.list"));
    if is_index {
        serde_json::from_slice(bytes)
            .map(|i| Document::Index(Box::new(i)))
            .map_err(|e| invalid("index", e.to_string()))
    } else {
        serde_json::from_slice(bytes)
            .map(|m| Document::Manifest(Box::new(m)))
            .map_err(|e| invalid("manifest", e.to_string()))
    }
}

/// Picks the manifest for `platform` from an index. Attestation manifests (BuildKit's
/// `unknown/unknown`) never match.
pub fn select_platform<'i>(
    index: &'i ImageIndex,
    platform: &super::Platform,
    place: &str,
) -> Result<&'i Descriptor, ImageError> {
    let matches = |d: &&Descriptor| {
        d.platform().as_ref().is_some_and(|p| {
            p.os().to_string() == platform.os
                && p.architecture().to_string() == platform.architecture
                && match (&platform.variant, p.variant()) {
                    (Some(want), Some(have)) => want == have,
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
    };
    if let Some(d) = index.manifests().iter().find(matches) {
        return Ok(d);
    }
    // An index without platform fields (a plain OCI layout with one image) is taken as is.
    if index.manifests().len() == 1
        && let Some(d) = index.manifests().first()
        && d.platform().is_none()
    {
        return Ok(d);
    }
    let available: Vec<String> = index
        .manifests()
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .map(|p| match p.variant() {
            Some(v) => format!("{}/{}/{v}", p.os(), p.architecture()),
            None => format!("{}/{}", p.os(), p.architecture()),
        })
        .collect();
    Err(ImageError::NoMatchingPlatform {
        place: place.to_string(),
        platform: platform.to_string(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

/// Checks that a digest is `sha256:<64 hex>` (or sha512), so it can safely name a file.
pub fn validate_digest(digest: &str) -> Result<(&str, &str), String> {
    let (alg, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("invalid digest {digest:?}"))?;
    let want = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(format!("unsupported digest algorithm in {digest:?}")),
    };
    if hex.len() != want
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(format!("invalid digest {digest:?}"));
    }
    Ok((alg, hex))
}

/// The `sha256:` digest of bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Verifies that `bytes` hash to `digest` (sha256 only; other algorithms are accepted
/// unverified after validation, as they are vanishingly rare).
pub fn verify(what: &'static str, digest: &str, bytes: &[u8]) -> Result<(), ImageError> {
    if digest.starts_with("sha256:") {
        let actual = sha256_digest(bytes);
        if actual != digest {
            return Err(ImageError::DigestMismatch {
                what,
                expected: digest.to_string(),
                actual,
            });
        }
    }
    Ok(())
}

/// Parses an image config; a config Vigil cannot parse only loses the history and
/// platform, never the layers, so it yields `None` and the caller warns.
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfiguration, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// Builds the layer list from a manifest and its config.
pub fn layers(manifest: &ImageManifest, config: Option<&ImageConfiguration>) -> Vec<LayerDesc> {
    let diff_ids: Vec<String> = config
        .map(|c| c.rootfs().diff_ids().clone())
        .unwrap_or_default();
    let history = created_by(config);
    manifest
        .layers()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let digest = d.digest().to_string();
            LayerDesc {
                name: digest.clone(),
                expected: Expected {
                    blob: Some(digest.clone()),
                    diff_id: None,
                },
                info: vigil_core::LayerInfo {
                    digest,
                    diff_id: diff_ids.get(i).cloned(),
                    size: Some(d.size()),
                    media_type: Some(d.media_type().to_string()),
                    created_by: history.get(i).cloned().flatten(),
                },
            }
        })
        .collect()
}

/// The `created_by` of each non-empty history entry, in layer order.
pub fn created_by(config: Option<&ImageConfiguration>) -> Vec<Option<String>> {
    config
        .and_then(|c| c.history().as_ref())
        .map(|h| {
            h.iter()
                .filter(|e| !e.empty_layer().unwrap_or(false))
                .map(|e| e.created_by().clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Fills platform and image id from a config.
pub fn describe(meta: &mut ImageMeta, config: Option<&ImageConfiguration>, config_digest: &str) {
    meta.image_id = Some(config_digest.to_string());
    if let Some(c) = config {
        let mut p = format!("{}/{}", c.os(), c.architecture());
        if let Some(v) = c.variant() {
            p.push('/');
            p.push_str(v);
        }
        meta.platform = Some(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse() {
        let p: Platform = "linux/arm64/v8".parse().unwrap_or_default();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        assert!("a/b/c/d".parse::<Platform>().is_err());
    }

    #[test]
    fn digests_are_validated_before_naming_files() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert!(validate_digest(&good).is_ok());
        assert!(validate_digest("sha256:../../etc/passwd").is_err());
        assert!(validate_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(validate_digest("md5:abc").is_err());
    }

    #[test]
    fn schema1_is_refused_clearly() {
        let err = parse_document(br#"{"schemaVersion":1,"name":"x"}"#, "here");
        assert!(
            matches!(err, Err(ImageError::InvalidMetadata { reason, .. }) if reason.contains("schema 1"))
        );
    }
}
