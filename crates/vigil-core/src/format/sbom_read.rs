//! Reading SBOMs back into an [`Inventory`], so an image can be scanned from its SBOM alone.
//!
//! Three kinds of JSON document are recognised by their own markers:
//! - CycloneDX (`"bomFormat": "CycloneDX"`, `specVersion` 1.x; written by Vigil, Trivy,
//!   Syft and others). Components are walked iteratively, nested ones too.
//! - SPDX 2.x (`"spdxVersion": "SPDX-2.2"`/`"SPDX-2.3"`). SPDX 3 (JSON-LD) and the
//!   tag-value form are refused with a message saying so, as is CycloneDX XML.
//! - Vigil's own inventory JSON (`vigil sbom --format json`, the [`Inventory`] type).
//!
//! Every package is rebuilt from its package URL: the purl type gives the ecosystem, the
//! namespace and name give the name as Vigil spells it (Maven `group:artifact`, Go and
//! Composer `namespace/name`, npm `@scope/name`), the `arch` qualifier the architecture and
//! an `epoch` qualifier (how Vigil writes RPM epochs, and Trivy any epoch) goes back in
//! front of the version (`1:2.3-4`), as Vigil records versions. When the document's own
//! name for the package is the same name in another spelling (`PyYAML` for
//! `pkg:pypi/pyyaml`, `github.com/Azure/x` for the lower-cased purl namespace), that
//! spelling is kept.
//!
//! What else a package carries comes from the producer's annotations where present:
//! - source package: Vigil's `vigil:package:source-name`/`-version`, Trivy's
//!   `aquasecurity:trivy:SrcName`/`SrcVersion`/`SrcRelease`/`SrcEpoch`, Syft's
//!   `syft:metadata:source`/`sourceVersion`, SPDX `sourceInfo` (`built package from: NAME
//!   VERSION`, as Vigil and Trivy write it), else the purl's `upstream` qualifier (`name`
//!   or Syft's `name@version`). An OS package whose source version is not given has the
//!   binary's version, as dpkg does for a `Source:` field without one, and a Debian
//!   package with no source at all is its own source, as for a package without `Source:`;
//! - location: `vigil:package:path`/`vigil:layer:digest`, Trivy's `FilePath`/`LayerDigest`,
//!   Syft's `syft:location:N:path` (the package database when among them), SPDX
//!   `sourceInfo` (`package found in: PATH (layer DIGEST) by the X analyzer`, or Syft's
//!   `acquired package info from ...: PATH, PATH`) or the files an SPDX package CONTAINS.
//!   Syft's `layerID` is a diff id, not the layer digest Vigil records, so it is not used;
//! - the analyzer: Vigil's own name, `trivy:<PkgType>`, `syft:<cataloger>`, else `sbom`;
//! - licenses: CycloneDX `licenses` (ids, names, expressions), SPDX `licenseDeclared` (else
//!   `licenseConcluded`), each `LicenseRef-` replaced by its extracted text.
//!
//! The operating system comes from a CycloneDX `operating-system` component or an SPDX
//! package whose purpose is OPERATING-SYSTEM, failing that from the `distro` qualifier most
//! OS packages carry (`debian-12`, `alpine-3.19.1`). Debian's `VERSION_ID` is its major
//! release, so a point release (`12.15`, which Trivy reads from `/etc/debian_version`) is
//! cut to it.
//!
//! A component that cannot become a package (no purl, a purl that does not parse, a purl
//! type Vigil does not scan) is a [`Warning`] naming it, and makes the inventory
//! incomplete; so does a Vigil document that says its own inventory was incomplete.
//! Components that are not packages (the image, files, the OS) are not warned about. A
//! package listed twice with the same purl and path is read once.
//!
//! The input is untrusted: documents over [`MAX_SBOM_BYTES`] are refused, JSON nesting is
//! bounded by `serde_json`'s recursion limit (so deep component trees are an error, not a
//! stack overflow), nested components are walked with an explicit stack, and warnings
//! beyond [`MAX_WARNINGS`] are counted in one summary.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::package::pep503_normalize;
use crate::{
    Ecosystem, Inventory, LayerInfo, Location, OsInfo, Package, SourcePackage, TargetInfo, Warning,
};
use packageurl::PackageUrl;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

/// The largest document [`read_sbom`] accepts, in bytes (512 MiB).
pub const MAX_SBOM_BYTES: usize = 512 * 1024 * 1024;

/// The most warnings about single components; the rest are counted in one more.
pub const MAX_WARNINGS: usize = 100;

/// The `source` of every warning the reader adds.
const WARNING_SOURCE: &str = "sbom";

/// Why a document could not be read at all. Problems with single components are
/// [`Warning`]s in the inventory instead.
#[derive(Debug, thiserror::Error)]
pub enum SbomReadError {
    /// The document is larger than [`MAX_SBOM_BYTES`].
    #[error("the SBOM is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the document.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or JSON of another kind.
    #[error("not a CycloneDX or SPDX document (nor a Vigil inventory): {0}")]
    NotRecognised(String),
    /// A recognised format in a version or encoding Vigil does not read.
    #[error("{0}")]
    Unsupported(String),
    /// Recognised, but not well formed.
    #[error("invalid {format} document: {source}")]
    Invalid {
        /// `CycloneDX`, `SPDX` or `Vigil inventory`.
        format: &'static str,
        /// What serde_json said, with the line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a CycloneDX JSON, SPDX 2.x JSON or Vigil inventory JSON document.
///
/// The inventory's target is `kind: sbom` with `reference` as given (the caller's name for
/// the document, `sbom:/path/to/file.json`) and the name of the image or directory the
/// SBOM describes (its CycloneDX metadata component, the package an SPDX document
/// DESCRIBES, or the target of a Vigil inventory), else `reference`.
pub fn read_sbom(bytes: &[u8], reference: &str) -> Result<Inventory, SbomReadError> {
    read_limited(bytes, reference, MAX_SBOM_BYTES)
}

fn read_limited(bytes: &[u8], reference: &str, limit: usize) -> Result<Inventory, SbomReadError> {
    if bytes.len() > limit {
        return Err(SbomReadError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|i| bytes.get(i..))
        .unwrap_or_default();
    if start.starts_with(b"<") {
        return Err(SbomReadError::Unsupported(
            "XML SBOMs are not supported: give the CycloneDX or SPDX document as JSON".into(),
        ));
    }
    if start.starts_with(b"SPDXVersion:") || start.starts_with(b"##") {
        return Err(SbomReadError::Unsupported(
            "SPDX tag-value documents are not supported: give the SPDX document as JSON".into(),
        ));
    }
    if start.is_empty() {
        return Err(SbomReadError::NotRecognised("the document is empty".into()));
    }
    if !start.starts_with(b"{") {
        return Err(SbomReadError::NotRecognised(
            "the document is not a JSON object".into(),
        ));
    }
    let probe: Probe = serde_json::from_slice(start)
        .map_err(|e| SbomReadError::NotRecognised(format!("not valid JSON ({e})")))?;
    if let Some(format) = &probe.bom_format {
        if format.as_str() != Some("CycloneDX") {
            return Err(SbomReadError::NotRecognised(format!(
                "bomFormat is {}, not \"CycloneDX\"",
                clip(&format.to_string(), 80)
            )));
        }
        let spec = probe
            .spec_version
            .as_ref()
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if !spec.starts_with("1.") {
            return Err(SbomReadError::Unsupported(format!(
                "CycloneDX specVersion {spec:?} is not supported (1.x is)"
            )));
        }
        return read_cyclonedx(start, reference);
    }
    if let Some(v) = &probe.spdx_version {
        let version = v.as_str().unwrap_or_default();
        if !version.starts_with("SPDX-2.") {
            return Err(SbomReadError::Unsupported(format!(
                "SPDX version {v} is not supported (SPDX-2.2 and SPDX-2.3 JSON are)"
            )));
        }
        return read_spdx(start, reference);
    }
    if probe.context.is_some() && probe.graph.is_some() {
        return Err(SbomReadError::Unsupported(
            "SPDX 3 (JSON-LD) documents are not supported (SPDX-2.2 and SPDX-2.3 JSON are)".into(),
        ));
    }
    if let Some(v) = &probe.schema_version
        && probe.target.is_some()
    {
        let version = v.as_u64().unwrap_or(u64::MAX);
        if version == 0 || version > u64::from(crate::INVENTORY_SCHEMA_VERSION) {
            return Err(SbomReadError::Unsupported(format!(
                "Vigil inventory schema_version {v} is not supported (1 to {} are)",
                crate::INVENTORY_SCHEMA_VERSION
            )));
        }
        return read_vigil(start, reference);
    }
    Err(SbomReadError::NotRecognised(
        "no \"bomFormat\", \"spdxVersion\" or \"schema_version\" field".into(),
    ))
}

/// The fields that tell the formats apart; everything else is skipped unread.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "bomFormat", default)]
    bom_format: Option<serde_json::Value>,
    #[serde(rename = "specVersion", default)]
    spec_version: Option<serde_json::Value>,
    #[serde(rename = "spdxVersion", default)]
    spdx_version: Option<serde_json::Value>,
    #[serde(rename = "@context", default)]
    context: Option<IgnoredAny>,
    #[serde(rename = "@graph", default)]
    graph: Option<IgnoredAny>,
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    target: Option<IgnoredAny>,
}

/// `null` read as the type's default, for producers that write `null` for "none".
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// What the formats share: one package as a document describes it, and the inventory
// being built.

/// What a document says about one package, before it is checked.
#[derive(Default)]
struct Described {
    purl: String,
    /// The document's own spellings of the name (`name`, `group/name`, `group:name`).
    names: Vec<String>,
    version: Option<String>,
    /// Source package name and version, when annotated.
    source: Option<(String, String)>,
    arch: Option<String>,
    licenses: Vec<String>,
    /// Candidate paths, best first.
    paths: Vec<String>,
    layer: Option<String>,
    found_by: Option<String>,
    dev: bool,
}

/// The inventory being read.
struct Builder {
    reference: String,
    name: Option<String>,
    os: Option<OsInfo>,
    /// `distro` qualifiers of OS packages, counted, for when no OS is described.
    distros: BTreeMap<String, usize>,
    packages: Vec<Package>,
    seen: HashSet<(String, String)>,
    warnings: Vec<Warning>,
    /// Components that could not be read.
    dropped: usize,
    /// Warnings carried over from the document (a Vigil SBOM's own).
    carried: Vec<Warning>,
    /// The document says its inventory is incomplete.
    said_incomplete: bool,
    manifest_digest: Option<String>,
    image_id: Option<String>,
    platform: Option<String>,
    layers: Vec<LayerInfo>,
}

impl Builder {
    fn new(reference: &str) -> Builder {
        Builder {
            reference: reference.to_string(),
            name: None,
            os: None,
            distros: BTreeMap::new(),
            packages: Vec::new(),
            seen: HashSet::new(),
            warnings: Vec::new(),
            dropped: 0,
            carried: Vec::new(),
            said_incomplete: false,
            manifest_digest: None,
            image_id: None,
            platform: None,
            layers: Vec::new(),
        }
    }

    /// Records a component that could not be read.
    fn drop_component(&mut self, what: String, reason: &str) {
        self.dropped += 1;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(Warning {
                path: String::new(),
                source: WARNING_SOURCE.to_string(),
                message: format!("{what}: {reason}; not read"),
            });
        }
    }

    /// Adds a package, or a warning about `what` if it cannot be one.
    fn add(&mut self, what: String, d: Described) {
        match package(d) {
            Ok((p, distro)) => {
                if let Some(distro) = distro {
                    *self.distros.entry(distro).or_default() += 1;
                }
                if self.seen.insert((p.purl.clone(), p.location.path.clone())) {
                    self.packages.push(p);
                }
            }
            Err(reason) => self.drop_component(what, &reason),
        }
    }

    fn set_os(&mut self, os: OsInfo) {
        if self.os.is_none() && !os.id.is_empty() {
            self.os = Some(os);
        }
    }

    fn finish(mut self) -> Inventory {
        if self.dropped > self.warnings.len() {
            let more = self.dropped - self.warnings.len();
            self.warnings.push(Warning {
                path: String::new(),
                source: WARNING_SOURCE.to_string(),
                message: format!("{more} more components not read ({} in all)", self.dropped),
            });
        }
        let os = self.os.take().or_else(|| {
            // The most common distro qualifier; ties go to the first in order.
            let mut best: Option<(&String, usize)> = None;
            for (d, n) in &self.distros {
                if best.is_none_or(|(_, m)| *n > m) {
                    best = Some((d, *n));
                }
            }
            best.map(|(d, _)| os_from_distro(d))
        });
        let os = os.map(|mut os| {
            os.version_id = os_version(&os.id, &os.version_id);
            os
        });
        let complete = self.dropped == 0 && !self.said_incomplete;
        let mut warnings = self.carried;
        if self.said_incomplete && warnings.is_empty() {
            warnings.push(Warning {
                path: String::new(),
                source: WARNING_SOURCE.to_string(),
                message: "the SBOM says its inventory is incomplete".to_string(),
            });
        }
        warnings.extend(self.warnings);
        let mut packages = self.packages;
        packages.sort_by(|a, b| a.key().cmp(&b.key()).then_with(|| a.purl.cmp(&b.purl)));
        let name = self
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| self.reference.clone());
        Inventory {
            schema_version: crate::INVENTORY_SCHEMA_VERSION,
            target: TargetInfo {
                kind: "sbom".to_string(),
                reference: self.reference,
                name,
            },
            manifest_digest: self.manifest_digest,
            image_id: self.image_id,
            platform: self.platform,
            os,
            layers: self.layers,
            packages,
            warnings,
            complete,
        }
    }
}

/// The ecosystem of a purl type Vigil scans.
fn ecosystem(purl_type: &str) -> Option<Ecosystem> {
    Ecosystem::ALL
        .iter()
        .copied()
        .find(|e| e.purl_type() == purl_type)
}

/// The name as Vigil spells it, from a purl's namespace and name.
fn purl_name(eco: Ecosystem, p: &PackageUrl<'_>) -> String {
    let name = p.name();
    match (eco, p.namespace().filter(|ns| !ns.is_empty())) {
        (Ecosystem::Maven, Some(ns)) => format!("{ns}:{name}"),
        (Ecosystem::Npm, Some(ns)) if ns.starts_with('@') => format!("{ns}/{name}"),
        (Ecosystem::Npm, Some(ns)) => format!("@{ns}/{name}"),
        (Ecosystem::Go | Ecosystem::Composer, Some(ns)) => format!("{ns}/{name}"),
        // OS packages: the namespace is the vendor (`debian`, `redhat`), not part of the name.
        _ => name.to_string(),
    }
}

/// True if `version` starts with a dpkg/rpm epoch (`1:`).
fn has_epoch(version: &str) -> bool {
    version
        .split_once(':')
        .is_some_and(|(e, _)| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
}

/// Shortens `s` for a message.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A package from what the document says, and its `distro` qualifier if it is an OS
/// package; or why not.
fn package(d: Described) -> Result<(Package, Option<String>), String> {
    let purl_text = d.purl.trim();
    let purl = PackageUrl::from_str(purl_text)
        .map_err(|e| format!("bad purl {:?}: {e}", clip(purl_text, 200)))?;
    let eco = ecosystem(purl.ty()).ok_or_else(|| {
        format!(
            "purl type {:?} is not one Vigil scans ({})",
            clip(purl.ty(), 40),
            clip(purl_text, 200)
        )
    })?;
    let from_purl = purl_name(eco, &purl);
    let norm = |s: &str| {
        if eco == Ecosystem::Pypi {
            pep503_normalize(s)
        } else {
            s.to_ascii_lowercase()
        }
    };
    let want = norm(&from_purl);
    let name = d
        .names
        .iter()
        .find(|n| !n.is_empty() && norm(n) == want)
        .cloned()
        .unwrap_or(from_purl);
    let qualifiers = purl.qualifiers();
    let qualifier = |k: &str| {
        qualifiers
            .get(k)
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    };
    let mut version = purl
        .version()
        .map(str::to_string)
        .filter(|v| !v.is_empty())
        .or(d.version)
        .unwrap_or_default();
    // Vigil writes RPM epochs, and Trivy any epoch, as a qualifier.
    if matches!(eco, Ecosystem::Deb | Ecosystem::Rpm)
        && let Some(epoch) = qualifier("epoch")
        && epoch.bytes().all(|b| b.is_ascii_digit())
        && !has_epoch(&version)
    {
        version = format!("{epoch}:{version}");
    }
    let source = d
        .source
        .or_else(|| {
            // `upstream=openssl` (Vigil, Syft) or `upstream=util-linux@2.38.1-5` (Syft).
            qualifier("upstream").map(|u| match u.split_once('@') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (u, String::new()),
            })
        })
        .filter(|(n, _)| !n.is_empty())
        .map(|(n, v)| SourcePackage {
            name: n,
            version: if v.is_empty() && eco.is_os() {
                version.clone()
            } else {
                v
            },
        })
        // dpkg's rule, as Vigil's dpkg analyzer applies it: a package without a `Source:`
        // field is its own source (Syft says nothing then).
        .or_else(|| {
            (eco == Ecosystem::Deb).then(|| SourcePackage {
                name: name.clone(),
                version: version.clone(),
            })
        });
    let path = choose_path(&d.paths)
        .map(|p| format!("/{}", p.trim_start_matches('/')))
        .unwrap_or_default();
    let distro = if eco.is_os() {
        qualifier("distro")
    } else {
        None
    };
    let package = Package {
        ecosystem: eco,
        name,
        version,
        purl: purl_text.to_string(),
        source,
        arch: qualifier("arch").or(d.arch).filter(|a| !a.is_empty()),
        licenses: d.licenses,
        location: Location {
            path,
            layer: d.layer.filter(|l| !l.is_empty()),
        },
        found_by: d
            .found_by
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| WARNING_SOURCE.to_string()),
        dev: d.dev,
    };
    Ok((package, distro))
}

/// The package database among candidate paths (Syft lists a Debian package's copyright
/// file and md5sums beside `/var/lib/dpkg/status`), else the first.
fn choose_path(paths: &[String]) -> Option<&str> {
    let db = |p: &&String| {
        let p = p.as_str();
        let p = p.strip_prefix('/').unwrap_or(p);
        !p.ends_with(".md5sums")
            && (p == "var/lib/dpkg/status"
                || p.starts_with("var/lib/dpkg/status.d/")
                || p == "lib/apk/db/installed"
                || p.starts_with("var/lib/rpm/")
                || p.starts_with("usr/lib/sysimage/rpm/"))
    };
    paths
        .iter()
        .find(db)
        .or_else(|| paths.iter().find(|p| !p.trim().is_empty()))
        .map(|p| p.trim())
}

/// `debian-12` -> debian, 12; `alpine-3.19.1` -> alpine, 3.19.1; `wolfi` -> wolfi.
fn os_from_distro(distro: &str) -> OsInfo {
    let (id, version) = match distro.rsplit_once('-') {
        Some((id, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => (id, v),
        _ => (distro, ""),
    };
    OsInfo {
        id: id.to_ascii_lowercase(),
        version_id: version.to_string(),
        ..OsInfo::default()
    }
}

/// Debian's `VERSION_ID` is the major release (`12`); `/etc/debian_version` and tools
/// that read it say `12.15`.
fn os_version(id: &str, version: &str) -> String {
    match version.split_once('.') {
        Some((major, _)) if id == "debian" && major.bytes().all(|b| b.is_ascii_digit()) => {
            major.to_string()
        }
        _ => version.to_string(),
    }
}

/// The parts of a license expression joined by AND, each `LicenseRef-` replaced by its
/// text; a more complex expression stays whole.
fn expression_terms(expr: &str, refs: &HashMap<String, String>) -> Vec<String> {
    let expr = expr.trim();
    if expr.is_empty() || matches!(expr, "NOASSERTION" | "NONE") {
        return Vec::new();
    }
    if expr.contains('(') || expr.contains(" OR ") || expr.contains(" WITH ") {
        return vec![expr.to_string()];
    }
    expr.split(" AND ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| refs.get(t).cloned().unwrap_or_else(|| t.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// CycloneDX

#[derive(Deserialize)]
struct CdxBom {
    #[serde(default, deserialize_with = "nullable")]
    metadata: Option<CdxMetadata>,
    #[serde(default, deserialize_with = "nullable")]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize, Default)]
struct CdxMetadata {
    #[serde(default, deserialize_with = "nullable")]
    component: Option<CdxComponent>,
    #[serde(default, deserialize_with = "nullable")]
    properties: Vec<CdxProperty>,
}

#[derive(Deserialize, Default)]
struct CdxComponent {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    group: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    version: String,
    #[serde(default, deserialize_with = "nullable")]
    description: String,
    #[serde(default, deserialize_with = "nullable")]
    purl: String,
    #[serde(default, deserialize_with = "nullable")]
    licenses: Vec<CdxLicenseChoice>,
    #[serde(default, deserialize_with = "nullable")]
    properties: Vec<CdxProperty>,
    #[serde(default, deserialize_with = "nullable")]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize, Default)]
struct CdxLicenseChoice {
    #[serde(default, deserialize_with = "nullable")]
    license: Option<CdxLicense>,
    #[serde(default, deserialize_with = "nullable")]
    expression: String,
}

#[derive(Deserialize, Default)]
struct CdxLicense {
    #[serde(default, deserialize_with = "nullable")]
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize, Default)]
struct CdxProperty {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    value: String,
}

impl CdxComponent {
    fn prop(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `component 12 (name 1.0)`, for messages.
    fn describe(&self, index: usize) -> String {
        let mut s = format!("component {index}");
        let label = [
            self.group.as_str(),
            self.name.as_str(),
            self.version.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
        if !label.is_empty() {
            s.push_str(&format!(" ({})", clip(&label, 120)));
        }
        s
    }
}

fn read_cyclonedx(bytes: &[u8], reference: &str) -> Result<Inventory, SbomReadError> {
    let bom: CdxBom = serde_json::from_slice(bytes).map_err(|source| SbomReadError::Invalid {
        format: "CycloneDX",
        source,
    })?;
    let mut b = Builder::new(reference);
    if let Some(meta) = &bom.metadata {
        if let Some(c) = &meta.component {
            b.name = Some(c.name.clone());
            for p in &c.properties {
                let v = Some(p.value.clone()).filter(|v| !v.is_empty());
                match p.name.as_str() {
                    "vigil:image:manifest-digest" => b.manifest_digest = v,
                    "vigil:image:id" => b.image_id = v,
                    "vigil:image:platform" => b.platform = v,
                    "vigil:image:layer" if !p.value.is_empty() => b.layers.push(LayerInfo {
                        digest: p.value.clone(),
                        ..LayerInfo::default()
                    }),
                    _ => {}
                }
            }
        }
        for p in &meta.properties {
            match p.name.as_str() {
                "vigil:inventory:complete" if p.value == "false" => b.said_incomplete = true,
                "vigil:inventory:warning" => b.carried.push(Warning {
                    path: String::new(),
                    source: WARNING_SOURCE.to_string(),
                    message: p.value.clone(),
                }),
                _ => {}
            }
        }
    }

    // Depth-first in document order, with an explicit stack.
    let mut stack: Vec<&CdxComponent> = bom.components.iter().rev().collect();
    let mut index = 0usize;
    while let Some(c) = stack.pop() {
        index += 1;
        stack.extend(c.components.iter().rev());
        match c.kind.as_str() {
            "operating-system" => b.set_os(cdx_os(c)),
            "" | "library" | "framework" | "application" => {
                if !c.purl.trim().is_empty() {
                    b.add(c.describe(index), cdx_described(c));
                } else if c.prop("aquasecurity:trivy:Class").is_none() {
                    // (Trivy groups language packages under purl-less components with a
                    // Class property; those are not packages themselves.)
                    b.drop_component(c.describe(index), "no purl, so its ecosystem is not known");
                }
            }
            // The image, files, data, devices...: not packages.
            _ => {}
        }
    }
    Ok(b.finish())
}

fn cdx_os(c: &CdxComponent) -> OsInfo {
    let syft_id = c.prop("syft:distro:id");
    let syft_version = c.prop("syft:distro:versionID");
    OsInfo {
        id: syft_id.unwrap_or(&c.name).trim().to_ascii_lowercase(),
        version_id: syft_version.unwrap_or(&c.version).trim().to_string(),
        codename: c
            .prop("vigil:os:codename")
            .or_else(|| c.prop("syft:distro:versionCodename"))
            .map(str::to_string),
        pretty_name: c
            .prop("syft:distro:prettyName")
            .unwrap_or(&c.description)
            .to_string(),
        id_like: Vec::new(),
        distroless: c.prop("vigil:os:distroless") == Some("true"),
    }
}

fn cdx_described(c: &CdxComponent) -> Described {
    let mut names = vec![c.name.clone()];
    if !c.group.is_empty() {
        names.push(format!("{}/{}", c.group, c.name));
        names.push(format!("{}:{}", c.group, c.name));
    }
    let source = if let Some(name) = c.prop("vigil:package:source-name") {
        Some((
            name.to_string(),
            c.prop("vigil:package:source-version")
                .unwrap_or_default()
                .to_string(),
        ))
    } else if let Some(name) = c.prop("aquasecurity:trivy:SrcName") {
        let mut version = c
            .prop("aquasecurity:trivy:SrcVersion")
            .unwrap_or_default()
            .to_string();
        if let Some(release) = c.prop("aquasecurity:trivy:SrcRelease") {
            version = format!("{version}-{release}");
        }
        if let Some(epoch) = c
            .prop("aquasecurity:trivy:SrcEpoch")
            .filter(|e| *e != "0" && !version.is_empty())
        {
            version = format!("{epoch}:{version}");
        }
        Some((name.to_string(), version))
    } else {
        c.prop("syft:metadata:source").map(|name| {
            (
                name.to_string(),
                c.prop("syft:metadata:sourceVersion")
                    .unwrap_or_default()
                    .to_string(),
            )
        })
    };
    let mut paths: Vec<String> = c
        .prop("vigil:package:path")
        .or_else(|| c.prop("aquasecurity:trivy:FilePath"))
        .map(str::to_string)
        .into_iter()
        .collect();
    if paths.is_empty() {
        // syft:location:0:path, syft:location:1:path, ... in their order.
        let mut syft: Vec<(usize, &str)> = c
            .properties
            .iter()
            .filter_map(|p| {
                let n = p
                    .name
                    .strip_prefix("syft:location:")?
                    .strip_suffix(":path")?;
                Some((n.parse().ok()?, p.value.as_str()))
            })
            .collect();
        syft.sort_by_key(|(n, _)| *n);
        paths = syft.into_iter().map(|(_, p)| p.to_string()).collect();
    }
    let found_by = c
        .prop("vigil:package:found-by")
        .map(str::to_string)
        .or_else(|| {
            c.prop("aquasecurity:trivy:PkgType")
                .map(|t| format!("trivy:{t}"))
        })
        .or_else(|| c.prop("syft:package:foundBy").map(|f| format!("syft:{f}")));
    let mut licenses = Vec::new();
    for l in &c.licenses {
        let text = match &l.license {
            Some(l) if !l.id.is_empty() => l.id.as_str(),
            Some(l) => l.name.as_str(),
            None => l.expression.as_str(),
        };
        let text = text.trim();
        if !text.is_empty() && !licenses.iter().any(|x: &String| x == text) {
            licenses.push(text.to_string());
        }
    }
    Described {
        purl: c.purl.clone(),
        names,
        version: Some(c.version.clone()).filter(|v| !v.is_empty()),
        source,
        arch: c.prop("vigil:package:arch").map(str::to_string),
        licenses,
        paths,
        layer: c
            .prop("vigil:layer:digest")
            .or_else(|| c.prop("aquasecurity:trivy:LayerDigest"))
            .map(str::to_string),
        found_by,
        dev: c.prop("vigil:package:dev") == Some("true"),
    }
}

// ---------------------------------------------------------------------------------------
// SPDX 2.x

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDocument {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    comment: String,
    #[serde(default, deserialize_with = "nullable")]
    document_describes: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    packages: Vec<SpdxPackage>,
    #[serde(default, deserialize_with = "nullable")]
    files: Vec<SpdxFile>,
    #[serde(default, deserialize_with = "nullable")]
    relationships: Vec<SpdxRelationship>,
    #[serde(default, deserialize_with = "nullable")]
    has_extracted_licensing_infos: Vec<SpdxExtractedLicense>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID", default, deserialize_with = "nullable")]
    spdx_id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    version_info: String,
    #[serde(default, deserialize_with = "nullable")]
    source_info: String,
    #[serde(default, deserialize_with = "nullable")]
    description: String,
    #[serde(default, deserialize_with = "nullable")]
    comment: String,
    #[serde(default, deserialize_with = "nullable")]
    license_declared: String,
    #[serde(default, deserialize_with = "nullable")]
    license_concluded: String,
    #[serde(default, deserialize_with = "nullable")]
    external_refs: Vec<SpdxExternalRef>,
    #[serde(default, deserialize_with = "nullable")]
    primary_package_purpose: String,
    #[serde(default, deserialize_with = "nullable")]
    has_files: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    annotations: Vec<SpdxAnnotation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxExternalRef {
    #[serde(default, deserialize_with = "nullable")]
    reference_type: String,
    #[serde(default, deserialize_with = "nullable")]
    reference_locator: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxFile {
    #[serde(rename = "SPDXID", default, deserialize_with = "nullable")]
    spdx_id: String,
    #[serde(default, deserialize_with = "nullable")]
    file_name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxRelationship {
    #[serde(default, deserialize_with = "nullable")]
    spdx_element_id: String,
    #[serde(default, deserialize_with = "nullable")]
    relationship_type: String,
    #[serde(default, deserialize_with = "nullable")]
    related_spdx_element: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxExtractedLicense {
    #[serde(default, deserialize_with = "nullable")]
    license_id: String,
    #[serde(default, deserialize_with = "nullable")]
    extracted_text: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize, Default)]
struct SpdxAnnotation {
    #[serde(default, deserialize_with = "nullable")]
    comment: String,
}

impl SpdxPackage {
    /// `package 12 (name 1.0)`, for messages.
    fn describe(&self, index: usize) -> String {
        let label = [self.name.as_str(), self.version_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        if label.is_empty() {
            format!("package {index}")
        } else {
            format!("package {index} ({})", clip(&label, 120))
        }
    }

    /// An annotation `Key: value` (how Trivy writes its properties in SPDX).
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.iter().find_map(|a| {
            a.comment
                .strip_prefix(key)?
                .strip_prefix(": ")
                .map(str::trim)
                .filter(|v| !v.is_empty())
        })
    }

    fn purpose(&self) -> String {
        self.primary_package_purpose.replace('_', "-")
    }
}

fn read_spdx(bytes: &[u8], reference: &str) -> Result<Inventory, SbomReadError> {
    let doc: SpdxDocument =
        serde_json::from_slice(bytes).map_err(|source| SbomReadError::Invalid {
            format: "SPDX",
            source,
        })?;
    let mut b = Builder::new(reference);

    let mut described: HashSet<&str> = doc.document_describes.iter().map(String::as_str).collect();
    let file_names: HashMap<&str, &str> = doc
        .files
        .iter()
        .map(|f| (f.spdx_id.as_str(), f.file_name.as_str()))
        .collect();
    let mut contained_files: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &doc.relationships {
        match r.relationship_type.as_str() {
            "DESCRIBES" if r.spdx_element_id == "SPDXRef-DOCUMENT" => {
                described.insert(&r.related_spdx_element);
            }
            "DESCRIBED_BY" if r.related_spdx_element == "SPDXRef-DOCUMENT" => {
                described.insert(&r.spdx_element_id);
            }
            "CONTAINS" => {
                if let Some(f) = file_names.get(r.related_spdx_element.as_str()) {
                    contained_files
                        .entry(r.spdx_element_id.as_str())
                        .or_default()
                        .push(f);
                }
            }
            _ => {}
        }
    }
    let refs: HashMap<String, String> = doc
        .has_extracted_licensing_infos
        .iter()
        .map(|l| {
            let text = l.extracted_text.trim();
            let text = if !text.is_empty() && text.len() <= 256 && !text.contains('\n') {
                text
            } else if !l.name.trim().is_empty() {
                l.name.trim()
            } else {
                l.license_id.as_str()
            };
            (l.license_id.clone(), text.to_string())
        })
        .collect();

    // Vigil writes an incomplete inventory's warnings into the document comment.
    if let Some(rest) = doc.comment.strip_prefix("INCOMPLETE INVENTORY") {
        b.said_incomplete = true;
        for line in rest.lines().filter_map(|l| l.strip_prefix("- ")) {
            b.carried.push(Warning {
                path: String::new(),
                source: WARNING_SOURCE.to_string(),
                message: line.to_string(),
            });
        }
    }

    for (i, p) in doc.packages.iter().enumerate() {
        let index = i + 1;
        let purpose = p.purpose();
        if purpose == "OPERATING-SYSTEM" {
            b.set_os(OsInfo {
                id: p.name.trim().to_ascii_lowercase(),
                version_id: p.version_info.trim().to_string(),
                pretty_name: p.description.clone(),
                ..OsInfo::default()
            });
            continue;
        }
        if described.contains(p.spdx_id.as_str()) || purpose == "CONTAINER" {
            if b.name.is_none() && !p.name.is_empty() {
                b.name = Some(p.name.clone());
            }
            continue;
        }
        let purl = p
            .external_refs
            .iter()
            .filter(|r| r.reference_type == "purl" && !r.reference_locator.trim().is_empty())
            .map(|r| r.reference_locator.as_str())
            .collect::<Vec<_>>();
        // A package can have several; prefer the first of a type Vigil scans.
        let purl = purl
            .iter()
            .find(|r| {
                PackageUrl::from_str(r)
                    .ok()
                    .and_then(|u| ecosystem(u.ty()))
                    .is_some()
            })
            .or(purl.first())
            .copied();
        let Some(purl) = purl else {
            b.drop_component(p.describe(index), "no purl, so its ecosystem is not known");
            continue;
        };
        let mut d = spdx_described(p, &refs);
        d.purl = purl.to_string();
        if d.paths.is_empty() {
            let files = contained_files.get(p.spdx_id.as_str());
            d.paths = files
                .into_iter()
                .flatten()
                .map(|f| f.to_string())
                .chain(
                    p.has_files
                        .iter()
                        .filter_map(|id| file_names.get(id.as_str()).map(|f| f.to_string())),
                )
                .collect();
        }
        b.add(p.describe(index), d);
    }
    if b.name.is_none() && !doc.name.is_empty() {
        b.name = Some(doc.name.clone());
    }
    Ok(b.finish())
}

fn spdx_described(p: &SpdxPackage, refs: &HashMap<String, String>) -> Described {
    let mut d = Described {
        names: vec![p.name.clone()],
        version: Some(p.version_info.clone()).filter(|v| !v.is_empty()),
        dev: p.comment == "development dependency",
        layer: p.annotation("LayerDigest").map(str::to_string),
        found_by: p.annotation("PkgType").map(|t| format!("trivy:{t}")),
        ..Described::default()
    };
    if let Some(path) = p.annotation("FilePath") {
        d.paths.push(path.to_string());
    }
    let declared = expression_terms(&p.license_declared, refs);
    d.licenses = if declared.is_empty() {
        expression_terms(&p.license_concluded, refs)
    } else {
        declared
    };

    // Vigil: "package found in: PATH (layer L) by the X analyzer; built package from: N V".
    // Trivy: "built package from: N V". Syft: "acquired package info from WHAT: P1, P2".
    let mut info = p.source_info.trim();
    if let Some(i) = info.rfind("built package from: ") {
        let built = info
            .get(i + "built package from: ".len()..)
            .unwrap_or_default();
        let (name, version) = built.trim().split_once(' ').unwrap_or((built.trim(), ""));
        d.source = Some((name.to_string(), version.trim().to_string()));
        info = info
            .get(..i)
            .unwrap_or_default()
            .trim_end()
            .trim_end_matches(';');
    }
    if let Some(rest) = info.strip_prefix("package found in: ") {
        let mut rest = rest.trim();
        if let Some((head, analyzer)) = rest.rsplit_once(" by the ")
            && let Some(analyzer) = analyzer.strip_suffix(" analyzer")
        {
            d.found_by = Some(analyzer.to_string());
            rest = head;
        }
        if let Some((head, layer)) = rest.rsplit_once(" (layer ")
            && let Some(layer) = layer.strip_suffix(')')
        {
            d.layer = Some(layer.to_string());
            rest = head;
        }
        d.paths.insert(0, rest.to_string());
    } else if info.starts_with("acquired package info from ")
        && let Some((_, list)) = info.split_once(": ")
    {
        d.paths
            .extend(list.split(", ").map(str::trim).map(str::to_string));
    }
    d
}

// ---------------------------------------------------------------------------------------
// Vigil's inventory JSON

fn read_vigil(bytes: &[u8], reference: &str) -> Result<Inventory, SbomReadError> {
    let mut inv: Inventory =
        serde_json::from_slice(bytes).map_err(|source| SbomReadError::Invalid {
            format: "Vigil inventory",
            source,
        })?;
    let name = if inv.target.name.trim().is_empty() {
        inv.target.reference.clone()
    } else {
        inv.target.name.clone()
    };
    inv.target = TargetInfo {
        kind: "sbom".to_string(),
        reference: reference.to_string(),
        name: if name.trim().is_empty() {
            reference.to_string()
        } else {
            name
        },
    };
    Ok(inv)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::format::{DocumentInfo, cyclonedx, spdx};
    use serde_json::json;

    /// A package as Vigil's scanner makes it: OS packages get the distro namespace and
    /// qualifiers (`vigil-image`'s `os_purl`: RPM epochs as a qualifier, `upstream` when
    /// the source differs).
    fn pkg(eco: Ecosystem, name: &str, version: &str, found_by: &str, path: &str) -> Package {
        Package::new(eco, name, version, found_by, path)
    }

    fn os_pkg(
        eco: Ecosystem,
        name: &str,
        version: &str,
        source: Option<(&str, &str)>,
        os: &OsInfo,
    ) -> Package {
        let (found_by, path) = match eco {
            Ecosystem::Deb => ("dpkg", "var/lib/dpkg/status"),
            Ecosystem::Apk => ("apk", "lib/apk/db/installed"),
            _ => ("rpm", "var/lib/rpm/rpmdb.sqlite"),
        };
        let mut p = pkg(eco, name, version, found_by, path);
        p.arch = Some("x86_64".into());
        p.source = source.map(|(n, v)| SourcePackage {
            name: n.into(),
            version: v.into(),
        });
        p.location.layer = Some("sha256:aa".into());
        let distro = os.purl_distro();
        let mut q: Vec<(&str, &str)> = vec![("arch", "x86_64"), ("distro", distro.as_str())];
        let mut v = version;
        if eco == Ecosystem::Rpm
            && let Some((e, rest)) = version.split_once(':')
        {
            q.push(("epoch", e));
            v = rest;
        }
        if let Some(src) = &p.source
            && src.name != name
        {
            q.push(("upstream", src.name.as_str()));
        }
        let ns = match eco {
            Ecosystem::Rpm => "redhat",
            _ => os.id.as_str(),
        };
        p.purl = crate::package::purl(eco, name, v, Some(ns), &q);
        p
    }

    fn debian() -> OsInfo {
        OsInfo {
            id: "debian".into(),
            version_id: "12".into(),
            codename: Some("bookworm".into()),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..OsInfo::default()
        }
    }

    fn every_ecosystem() -> Inventory {
        let os = debian();
        let mut packages = vec![
            os_pkg(
                Ecosystem::Deb,
                "libgcrypt20",
                "1:1.10.1-3",
                Some(("libgcrypt20", "1:1.10.1-3")),
                &os,
            ),
            os_pkg(
                Ecosystem::Deb,
                "libssl3",
                "3.0.11-1~deb12u2",
                Some(("openssl", "3.0.11-1~deb12u2")),
                &os,
            ),
            os_pkg(
                Ecosystem::Rpm,
                "openssl-libs",
                "1:3.0.7-24.el9",
                Some(("openssl", "1:3.0.7-24.el9")),
                &os,
            ),
            os_pkg(
                Ecosystem::Apk,
                "libcrypto3",
                "3.1.4-r5",
                Some(("openssl", "3.1.4-r5")),
                &os,
            ),
            pkg(
                Ecosystem::Pypi,
                "PyYAML",
                "6.0.1",
                "python-installed",
                "usr/lib/python3/site-packages/PyYAML-6.0.1.dist-info/METADATA",
            ),
            pkg(
                Ecosystem::Npm,
                "@babel/core",
                "7.23.0",
                "npm-installed",
                "srv/app/node_modules/@babel/core/package.json",
            ),
            pkg(
                Ecosystem::Go,
                "github.com/Azure/go-autorest",
                "v14.2.0+incompatible",
                "go-binary",
                "usr/bin/app",
            ),
            pkg(
                Ecosystem::Cargo,
                "serde",
                "1.0.190",
                "rust-audit",
                "usr/bin/tool",
            ),
            pkg(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                "java-archive",
                "opt/app.jar",
            ),
            pkg(
                Ecosystem::Gem,
                "rack",
                "2.2.8",
                "gem-spec",
                "usr/lib/ruby/gems/specifications/rack-2.2.8.gemspec",
            ),
            pkg(
                Ecosystem::Composer,
                "symfony/http-foundation",
                "v6.3.4",
                "composer-installed",
                "srv/vendor/composer/installed.json",
            ),
            pkg(
                Ecosystem::Nuget,
                "Newtonsoft.Json",
                "13.0.1",
                "dotnet-deps",
                "app/app.deps.json",
            ),
        ];
        packages[4].licenses = vec!["MIT".into()];
        packages[5].dev = true;
        packages.sort_by(|a, b| a.key().cmp(&b.key()));
        Inventory {
            schema_version: crate::INVENTORY_SCHEMA_VERSION,
            target: TargetInfo {
                kind: "registry".into(),
                reference: "registry:localhost:5000/app:1".into(),
                name: "localhost:5000/app:1".into(),
            },
            os: Some(os),
            packages,
            complete: true,
            ..Inventory::default()
        }
    }

    type Row = (
        Ecosystem,
        String,
        String,
        Option<SourcePackage>,
        Option<String>,
        String,
        Option<String>,
        String,
        bool,
    );

    fn rows(inv: &Inventory) -> Vec<Row> {
        inv.packages
            .iter()
            .map(|p| {
                (
                    p.ecosystem,
                    p.name.clone(),
                    p.version.clone(),
                    p.source.clone(),
                    p.arch.clone(),
                    p.location.path.clone(),
                    p.location.layer.clone(),
                    p.found_by.clone(),
                    p.dev,
                )
            })
            .collect()
    }

    fn write_with(
        w: fn(&Inventory, &DocumentInfo, &mut dyn std::io::Write) -> std::io::Result<()>,
        inv: &Inventory,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        w(inv, &DocumentInfo::now(), &mut out).unwrap();
        out
    }

    #[test]
    fn cyclonedx_round_trip() {
        let inv = every_ecosystem();
        let bytes = write_with(cyclonedx::write, &inv);
        let back = read_sbom(&bytes, "sbom:app.cdx.json").unwrap();
        assert_eq!(rows(&back), rows(&inv));
        assert_eq!(back.os, inv.os);
        assert!(back.complete, "{:?}", back.warnings);
        assert!(back.warnings.is_empty());
        assert_eq!(back.target.kind, "sbom");
        assert_eq!(back.target.reference, "sbom:app.cdx.json");
        assert_eq!(back.target.name, "localhost:5000/app:1");
        let purls: Vec<&str> = back.packages.iter().map(|p| p.purl.as_str()).collect();
        let want: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(purls, want);
        let pyyaml = back.packages.iter().find(|p| p.name == "PyYAML").unwrap();
        assert_eq!(pyyaml.licenses, ["MIT"]);
    }

    #[test]
    fn spdx_round_trip() {
        let inv = every_ecosystem();
        let bytes = write_with(spdx::write, &inv);
        let back = read_sbom(&bytes, "sbom:app.spdx.json").unwrap();
        assert_eq!(rows(&back), rows(&inv));
        let os = back.os.clone().unwrap();
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
        assert_eq!(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert!(back.complete, "{:?}", back.warnings);
        assert_eq!(back.target.name, "localhost:5000/app:1");
    }

    #[test]
    fn vigil_json_round_trip() {
        let inv = every_ecosystem();
        let bytes = serde_json::to_vec(&inv).unwrap();
        let back = read_sbom(&bytes, "sbom:inv.json").unwrap();
        assert_eq!(back.packages, inv.packages);
        assert_eq!(back.os, inv.os);
        assert_eq!(back.target.kind, "sbom");
        assert_eq!(back.target.reference, "sbom:inv.json");
        assert_eq!(back.target.name, "localhost:5000/app:1");
        let mut future = serde_json::to_value(&inv).unwrap();
        future["schema_version"] = json!(99);
        let err = read_sbom(future.to_string().as_bytes(), "x").unwrap_err();
        assert!(err.to_string().contains("schema_version 99"), "{err}");
    }

    #[test]
    fn incomplete_vigil_sboms_stay_incomplete() {
        let mut inv = every_ecosystem();
        inv.complete = false;
        inv.warnings.push(Warning {
            path: "/var/lib/rpm/Packages".into(),
            source: "rpm".into(),
            message: "corrupt page".into(),
        });
        for w in [cyclonedx::write, spdx::write] {
            let back = read_sbom(&write_with(w, &inv), "x").unwrap();
            assert!(!back.complete);
            assert_eq!(back.warnings.len(), 1);
            assert!(back.warnings[0].message.contains("corrupt page"));
        }
    }

    #[test]
    fn vigil_image_facts_come_back() {
        let mut inv = every_ecosystem();
        inv.manifest_digest = Some(format!("sha256:{}", "ab".repeat(32)));
        inv.platform = Some("linux/amd64".into());
        inv.layers = vec![LayerInfo {
            digest: "sha256:aa".into(),
            ..LayerInfo::default()
        }];
        let back = read_sbom(&write_with(cyclonedx::write, &inv), "x").unwrap();
        assert_eq!(back.manifest_digest, inv.manifest_digest);
        assert_eq!(back.platform, inv.platform);
        assert_eq!(back.layers, inv.layers);
    }

    fn cdx(components: serde_json::Value) -> Vec<u8> {
        json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {"component": {"type": "container", "name": "alpine:3.19"}},
            "components": components
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn trivy_cyclonedx() {
        let doc = cdx(json!([
            {"type": "operating-system", "name": "debian", "version": "12.15",
             "properties": [{"name": "aquasecurity:trivy:Class", "value": "os-pkgs"}]},
            {"type": "library", "name": "bsdutils", "version": "1:2.38.1-5+deb12u3",
             "purl": "pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12.15&epoch=1",
             "licenses": [{"license": {"name": "GPL-2.0-only"}}, {"license": {"name": "MIT"}}],
             "properties": [
                {"name": "aquasecurity:trivy:PkgType", "value": "debian"},
                {"name": "aquasecurity:trivy:SrcName", "value": "util-linux"},
                {"name": "aquasecurity:trivy:SrcRelease", "value": "5+deb12u3"},
                {"name": "aquasecurity:trivy:SrcVersion", "value": "2.38.1"},
                {"name": "aquasecurity:trivy:LayerDigest", "value": "sha256:bb"}
             ]},
            {"type": "library", "name": "vim", "version": "2:9.0.1378-2",
             "purl": "pkg:rpm/redhat/vim@9.0.1378-2?arch=x86_64&epoch=2",
             "properties": [
                {"name": "aquasecurity:trivy:SrcName", "value": "vim"},
                {"name": "aquasecurity:trivy:SrcEpoch", "value": "2"},
                {"name": "aquasecurity:trivy:SrcVersion", "value": "9.0.1378"},
                {"name": "aquasecurity:trivy:SrcRelease", "value": "2"}
             ]},
            {"type": "application", "name": "srv/app/package-lock.json",
             "properties": [{"name": "aquasecurity:trivy:Class", "value": "lang-pkgs"}],
             "components": [
                {"type": "library", "name": "Flask", "version": "2.3.3", "purl": "pkg:pypi/flask@2.3.3",
                 "properties": [{"name": "aquasecurity:trivy:FilePath",
                                 "value": "usr/lib/python3/site-packages/flask-2.3.3.dist-info/METADATA"},
                                {"name": "aquasecurity:trivy:PkgType", "value": "python-pkg"}]}
             ]}
        ]));
        let inv = read_sbom(&doc, "sbom:trivy.json").unwrap();
        assert!(inv.complete, "{:?}", inv.warnings);
        let os = inv.os.clone().unwrap();
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
        assert_eq!(inv.target.name, "alpine:3.19");
        let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bsdutils", "vim", "Flask"]);
        let bsd = &inv.packages[0];
        assert_eq!(bsd.version, "1:2.38.1-5+deb12u3");
        assert_eq!(
            bsd.source,
            Some(SourcePackage {
                name: "util-linux".into(),
                version: "2.38.1-5+deb12u3".into()
            })
        );
        assert_eq!(bsd.arch.as_deref(), Some("amd64"));
        assert_eq!(bsd.licenses, ["GPL-2.0-only", "MIT"]);
        assert_eq!(bsd.location.layer.as_deref(), Some("sha256:bb"));
        assert_eq!(bsd.found_by, "trivy:debian");
        let vim = &inv.packages[1];
        assert_eq!(vim.version, "2:9.0.1378-2");
        assert_eq!(vim.source.as_ref().unwrap().version, "2:9.0.1378-2");
        let flask = &inv.packages[2];
        assert_eq!(
            flask.location.path,
            "/usr/lib/python3/site-packages/flask-2.3.3.dist-info/METADATA"
        );
    }

    #[test]
    fn syft_cyclonedx() {
        let doc = cdx(json!([
            {"type": "library", "name": "bsdutils", "version": "1:2.38.1-5+deb12u3",
             "purl": "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3",
             "properties": [
                {"name": "syft:package:foundBy", "value": "dpkg-db-cataloger"},
                {"name": "syft:location:0:path", "value": "/usr/share/doc/bsdutils/copyright"},
                {"name": "syft:location:1:path", "value": "/var/lib/dpkg/info/bsdutils.md5sums"},
                {"name": "syft:location:2:path", "value": "/var/lib/dpkg/status"},
                {"name": "syft:metadata:source", "value": "util-linux"},
                {"name": "syft:metadata:sourceVersion", "value": "2.38.1-5+deb12u3"}
             ]},
            {"type": "library", "name": "libssl3", "version": "3.0.20-1~deb12u2",
             "purl": "pkg:deb/debian/libssl3@3.0.20-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"},
            {"type": "library", "name": "bash", "version": "5.2.15-2+b13",
             "purl": "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"},
            {"type": "library", "name": "apt", "version": "2.6.1",
             "purl": "pkg:deb/debian/apt@2.6.1?arch=amd64&distro=debian-12"}
        ]));
        let inv = read_sbom(&doc, "x").unwrap();
        let os = inv.os.clone().unwrap();
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
        let by_name = |n: &str| inv.packages.iter().find(|p| p.name == n).unwrap();
        let bsd = by_name("bsdutils");
        assert_eq!(bsd.location.path, "/var/lib/dpkg/status");
        assert_eq!(bsd.found_by, "syft:dpkg-db-cataloger");
        assert_eq!(bsd.source.as_ref().unwrap().name, "util-linux");
        let ssl = by_name("libssl3");
        assert_eq!(
            ssl.source,
            Some(SourcePackage {
                name: "openssl".into(),
                version: "3.0.20-1~deb12u2".into()
            })
        );
        assert_eq!(ssl.found_by, "sbom");
        assert_eq!(by_name("bash").source.as_ref().unwrap().version, "5.2.15-2");
        // No source named: the package is its own, as in dpkg.
        assert_eq!(
            by_name("apt").source,
            Some(SourcePackage {
                name: "apt".into(),
                version: "2.6.1".into()
            })
        );
    }

    #[test]
    fn unreadable_components_are_warnings() {
        let doc = cdx(json!([
            {"type": "library", "name": "nopurl", "version": "1"},
            {"type": "library", "name": "python", "version": "3.11", "purl": "pkg:generic/python@3.11"},
            {"type": "library", "name": "bad", "purl": "pkg:"},
            {"type": "library", "name": "ok", "version": "1", "purl": "pkg:cargo/ok@1"},
            {"type": "library", "name": "ok", "version": "1", "purl": "pkg:cargo/ok@1"},
            {"type": "file", "name": "/etc/passwd"},
            {"type": "container", "name": "img", "purl": "pkg:oci/img@sha256:aa"}
        ]));
        let inv = read_sbom(&doc, "x").unwrap();
        assert!(!inv.complete);
        assert_eq!(inv.packages.len(), 1, "duplicates are read once");
        let msgs: Vec<&str> = inv.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(
            msgs[0].starts_with("component 1 (nopurl 1): no purl"),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].starts_with("component 2 (python 3.11): purl type \"generic\""),
            "{}",
            msgs[1]
        );
        assert!(
            msgs[2].starts_with("component 3 (bad): bad purl \"pkg:\""),
            "{}",
            msgs[2]
        );
        assert!(inv.warnings.iter().all(|w| w.source == "sbom"));
    }

    #[test]
    fn many_bad_components_are_counted() {
        let comps: Vec<serde_json::Value> = (0..250)
            .map(|i| json!({"type": "library", "name": format!("c{i}")}))
            .collect();
        let inv = read_sbom(&cdx(json!(comps)), "x").unwrap();
        assert_eq!(inv.warnings.len(), MAX_WARNINGS + 1);
        assert_eq!(
            inv.warnings[MAX_WARNINGS].message,
            "150 more components not read (250 in all)"
        );
    }

    #[test]
    fn nested_components_are_read_and_deep_nesting_is_an_error() {
        // 40 levels deep: read, in document order.
        let mut c = json!({"type": "library", "name": "leaf", "purl": "pkg:npm/leaf@1"});
        for i in 0..40 {
            c = json!({"type": "library", "name": format!("n{i}"), "purl": format!("pkg:npm/n{i}@1"),
                       "components": [c]});
        }
        let inv = read_sbom(&cdx(json!([c])), "x").unwrap();
        assert_eq!(inv.packages.len(), 41);
        // Far deeper than serde_json's recursion limit: an error, not a stack overflow.
        let depth = 5000;
        let mut s = String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":"#);
        for _ in 0..depth {
            s.push_str(r#"[{"type":"library","name":"x","components":"#);
        }
        s.push_str("[]");
        for _ in 0..depth {
            s.push_str("}]");
        }
        s.push('}');
        let err = read_sbom(s.as_bytes(), "x").unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        assert!(
            err.to_string().starts_with("invalid CycloneDX document"),
            "{err}"
        );
    }

    #[test]
    fn os_from_distro_qualifier() {
        let doc = cdx(json!([
            {"type": "library", "name": "musl", "purl": "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"},
            {"type": "library", "name": "busybox", "purl": "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1"},
            {"type": "library", "name": "x", "purl": "pkg:npm/x@1"}
        ]));
        let inv = read_sbom(&doc, "x").unwrap();
        let os = inv.os.unwrap();
        assert_eq!(
            (os.id.as_str(), os.version_id.as_str()),
            ("alpine", "3.19.1")
        );
        assert_eq!(os_from_distro("wolfi").id, "wolfi");
        assert_eq!(os_from_distro("opensuse-leap-15.5").id, "opensuse-leap");
        assert_eq!(os_from_distro("debian-12.15").version_id, "12.15");
        assert_eq!(os_version("debian", "12.15"), "12");
        assert_eq!(os_version("ubuntu", "22.04"), "22.04");
    }

    #[test]
    fn spdx_from_other_tools() {
        let doc = json!({
            "spdxVersion": "SPDX-2.2",
            "name": "doc",
            "packages": [
                {"SPDXID": "SPDXRef-root", "name": "/srv/rootfs", "primaryPackagePurpose": "FILE"},
                {"SPDXID": "SPDXRef-os", "name": "debian", "versionInfo": "12.15",
                 "primaryPackagePurpose": "OPERATING-SYSTEM"},
                {"SPDXID": "SPDXRef-1", "name": "libssl3", "versionInfo": "3.0.20-1~deb12u2",
                 "sourceInfo": "built package from: openssl 3.0.20-1~deb12u2",
                 "licenseDeclared": "Apache-2.0 AND LicenseRef-abc",
                 "externalRefs": [
                    {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:x"},
                    {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                     "referenceLocator": "pkg:deb/debian/libssl3@3.0.20-1~deb12u2?arch=amd64&distro=debian-12.15"}],
                 "annotations": [{"comment": "PkgType: debian"}]},
                {"SPDXID": "SPDXRef-2", "name": "Jinja2", "versionInfo": "3.1.2",
                 "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:pypi/jinja2@3.1.2"}]},
                {"SPDXID": "SPDXRef-3", "name": "urllib3", "versionInfo": "2.0.7",
                 "sourceInfo": "acquired package info from installed python package manifest file: /usr/lib/urllib3-2.0.7.dist-info/METADATA, /usr/lib/urllib3-2.0.7.dist-info/RECORD",
                 "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:pypi/urllib3@2.0.7"}]},
                {"SPDXID": "SPDXRef-4", "name": "mystery"}
            ],
            "files": [{"SPDXID": "SPDXRef-File-1", "fileName": "usr/lib/Jinja2-3.1.2.dist-info/METADATA"}],
            "relationships": [
                {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-root"},
                {"spdxElementId": "SPDXRef-2", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-File-1"}
            ],
            "hasExtractedLicensingInfos": [{"licenseId": "LicenseRef-abc", "extractedText": "Artistic", "name": "Artistic"}]
        });
        let inv = read_sbom(doc.to_string().as_bytes(), "x").unwrap();
        assert_eq!(inv.target.name, "/srv/rootfs");
        let os = inv.os.clone().unwrap();
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
        assert!(!inv.complete);
        assert_eq!(inv.warnings.len(), 1);
        assert!(
            inv.warnings[0]
                .message
                .starts_with("package 6 (mystery): no purl")
        );
        let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
        assert_eq!(ssl.source.as_ref().unwrap().name, "openssl");
        assert_eq!(ssl.licenses, ["Apache-2.0", "Artistic"]);
        assert_eq!(ssl.found_by, "trivy:debian");
        let jinja = inv.packages.iter().find(|p| p.name == "Jinja2").unwrap();
        assert_eq!(
            jinja.location.path,
            "/usr/lib/Jinja2-3.1.2.dist-info/METADATA"
        );
        let urllib = inv.packages.iter().find(|p| p.name == "urllib3").unwrap();
        assert_eq!(
            urllib.location.path,
            "/usr/lib/urllib3-2.0.7.dist-info/METADATA"
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let err = |b: &[u8]| read_sbom(b, "x").unwrap_err().to_string();
        assert!(
            err(b"").contains("not a CycloneDX or SPDX document"),
            "{}",
            err(b"")
        );
        assert!(
            err(b" [1,2]").contains("not a JSON object"),
            "{}",
            err(b"[1,2]")
        );
        assert!(err(b"{]").contains("not valid JSON"), "{}", err(b"{]"));
        assert!(err(br#"{"a": 1}"#).contains("no \"bomFormat\""));
        assert!(err(b"<?xml version=\"1.0\"?><bom/>").contains("XML"));
        assert!(err(b"SPDXVersion: SPDX-2.3\n").contains("tag-value"));
        assert!(err(br#"{"bomFormat": "Other"}"#).contains("bomFormat is \"Other\""));
        assert!(
            err(br#"{"bomFormat": "CycloneDX", "specVersion": "2.0"}"#)
                .contains("specVersion \"2.0\"")
        );
        assert!(err(br#"{"spdxVersion": "SPDX-3.0"}"#).contains("SPDX-3.0"));
        assert!(
            err(br#"{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}"#)
                .contains("SPDX 3")
        );
        let bad = err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": 5}"#);
        assert!(bad.starts_with("invalid CycloneDX document: "), "{bad}");
        match read_limited(&cdx(json!([])), "x", 10) {
            Err(SbomReadError::TooLarge { limit: 10, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_never_panics() {
        // Truncations and byte flips of real documents of each format:
        // errors or inventories, never a panic.
        let inv = every_ecosystem();
        let docs = [
            write_with(cyclonedx::write, &inv),
            write_with(spdx::write, &inv),
            serde_json::to_vec(&inv).unwrap(),
        ];
        for doc in &docs {
            for cut in (0..doc.len()).step_by(3) {
                let _ = read_sbom(&doc[..cut], "x");
            }
            for i in (0..doc.len()).step_by(7) {
                for b in [b'"', b'[', b'%', 0xff] {
                    let mut d = doc.clone();
                    d[i] = b;
                    let _ = read_sbom(&d, "x");
                }
            }
        }
    }
}
