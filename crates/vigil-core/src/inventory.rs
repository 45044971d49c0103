//! The inventory of one image: what it is, which OS it runs, and every package in it.

use crate::package::Package;
use serde::{Deserialize, Serialize};

/// What was scanned, as the user named it and as Vigil resolved it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The source kind: `registry`, `oci`, `oci-archive`, `docker-archive` or `dir`; `sbom`
    /// for an inventory read from an SBOM ([`crate::format::read_sbom`]).
    pub kind: String,
    /// The target exactly as given (`registry:localhost:5000/app:1`, `dir:/srv/root`).
    pub reference: String,
    /// A short display name (repository and tag, or the path).
    pub name: String,
}

/// The operating system of an image, from `os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `rhel`, `rocky`, `almalinux`, `fedora`,
    /// `amzn`, `wolfi`, ...).
    pub id: String,
    /// `VERSION_ID` (`12`, `3.19.1`, `9.3`); empty when the file has none (Debian sid,
    /// rolling distributions).
    pub version_id: String,
    /// `VERSION_CODENAME` when present (`bookworm`, `jammy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// `PRETTY_NAME`, for display.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pretty_name: String,
    /// `ID_LIKE` entries (`rhel centos fedora`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// True for Google's distroless images (Debian underneath, no package manager).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distroless: bool,
}

impl OsInfo {
    /// The `distro` purl qualifier for OS packages (`debian-12`, `alpine-3.19.1`).
    pub fn purl_distro(&self) -> String {
        if self.version_id.is_empty() {
            self.id.clone()
        } else {
            format!("{}-{}", self.id, self.version_id)
        }
    }
}

/// One layer of an image, in order from the base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Digest of the layer blob as stored (compressed), `sha256:...`.
    pub digest: String,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Size of the blob in bytes, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Media type of the blob, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The build step that made the layer (`created_by` in the config history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// Something that made the inventory less than complete, said so it is never silently lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The file (or layer) concerned, with a leading `/` for image paths.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The analyzer or stage that reported it.
    pub source: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// Everything Vigil found in one image. Vigil's own JSON output (`--format json`) is this
/// type serialized; `docs/inventory-schema.md` documents it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// [`crate::INVENTORY_SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// What was scanned.
    pub target: TargetInfo,
    /// Manifest digest for registry and layout targets, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// Config digest (the image id), when the target has a config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// Platform (`linux/amd64`), when the target says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Operating system, if one was recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// Layers from the base up.
    #[serde(default)]
    pub layers: Vec<LayerInfo>,
    /// Every package, sorted by ecosystem, name, version and path.
    #[serde(default)]
    pub packages: Vec<Package>,
    /// Problems met on the way. A non-empty list means some part may be missing.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// False when any part of the image could not be read in full.
    pub complete: bool,
}

impl Inventory {
    /// Counts packages per ecosystem, in [`crate::Ecosystem::ALL`] order, omitting zeros.
    pub fn counts(&self) -> Vec<(crate::Ecosystem, usize)> {
        crate::Ecosystem::ALL
            .iter()
            .map(|e| {
                (
                    *e,
                    self.packages.iter().filter(|p| p.ecosystem == *e).count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
