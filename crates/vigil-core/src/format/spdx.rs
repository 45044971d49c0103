//! SPDX 2.3 JSON.
//!
//! The image is a package with `primaryPackagePurpose: CONTAINER` that the document
//! DESCRIBES; the OS (when recognised) and every package found are packages the image
//! CONTAINS. Each package carries its purl as a `PACKAGE-MANAGER` external reference and
//! where it was found in `sourceInfo`. Declared licenses become one SPDX expression per
//! package (`licenseDeclared`); a license that is not on the SPDX list becomes a
//! `LicenseRef-…` defined in `hasExtractedLicensingInfos`, so the expression stays valid.
//! Nothing was concluded, so `licenseConcluded` is NOASSERTION.
//!
//! `tests/sbom_schemas.rs` validates the output against the official SPDX 2.3 JSON schema
//! and with the SPDX project's own validator (`pyspdxtools`).

use super::license::{self, License};
use super::sbom::{self, DocumentInfo, UniqueIds};
use crate::{Inventory, Package};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Write};

/// Writes `inventory` as an SPDX 2.3 JSON document followed by a newline.
pub fn write(inventory: &Inventory, info: &DocumentInfo, out: &mut dyn Write) -> io::Result<()> {
    let doc = build(inventory, info);
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// Builds the document as a JSON value (for callers that embed or inspect it).
pub fn to_value(inventory: &Inventory, info: &DocumentInfo) -> serde_json::Value {
    serde_json::to_value(build(inventory, info)).unwrap_or(serde_json::Value::Null)
}

const NOASSERTION: &str = "NOASSERTION";
/// Longest idstring taken from a name for an SPDX element id or license reference.
const MAX_ID_PART: usize = 128;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    creators: Vec<String>,
    created: String,
    license_list_version: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: String,
    name: String,
}

/// The `LicenseRef-…` definitions of one document: one per distinct license text.
#[derive(Default)]
struct LicenseRefs {
    by_text: HashMap<String, String>,
    ids: UniqueIds,
    defined: Vec<ExtractedLicense>,
}

impl LicenseRefs {
    /// The reference for `text`, defining it on first use.
    fn reference(&mut self, text: &str) -> String {
        if let Some(id) = self.by_text.get(text) {
            return id.clone();
        }
        let short = license::spdx_idstring(
            text.strip_prefix("LicenseRef-").unwrap_or(text),
            MAX_ID_PART,
        );
        let base = if short.is_empty() {
            "LicenseRef-unnamed".to_string()
        } else {
            format!("LicenseRef-{short}")
        };
        let id = self.ids.claim(base, "-");
        // The name is a label: the first line, shortened.
        let first_line = text.lines().next().unwrap_or(text);
        let mut name: String = first_line.chars().take(120).collect();
        if name.len() < text.len() {
            name.push('…');
        }
        self.by_text.insert(text.to_string(), id.clone());
        self.defined.push(ExtractedLicense {
            license_id: id.clone(),
            extracted_text: text.to_string(),
            name,
        });
        id
    }

    /// `licenseDeclared` for a package: the declared licenses joined with AND (every
    /// declared license applies), or NOASSERTION when none were declared.
    fn declared(&mut self, declared: &[String]) -> String {
        let mut terms: Vec<String> = Vec::new();
        let sorted: Vec<License> = declared
            .iter()
            .filter_map(|d| license::classify(d))
            .collect();
        let several = sorted.len() > 1;
        for l in sorted {
            let term = match l {
                License::Id(id) => id.to_string(),
                License::Expression(e) if several && e.contains(' ') => format!("({e})"),
                License::Expression(e) => e,
                License::Name(text) => self.reference(&text),
            };
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        if terms.is_empty() {
            NOASSERTION.to_string()
        } else {
            terms.join(" AND ")
        }
    }
}

fn build(inv: &Inventory, info: &DocumentInfo) -> Document {
    let mut ids = UniqueIds::default();
    let mut refs = LicenseRefs::default();
    let name = if inv.target.name.trim().is_empty() {
        if inv.target.reference.trim().is_empty() {
            "image".to_string()
        } else {
            inv.target.reference.clone()
        }
    } else {
        inv.target.name.clone()
    };

    let mut packages = Vec::with_capacity(inv.packages.len() + 2);
    let mut relationships = Vec::with_capacity(inv.packages.len() + 2);

    let image = image_package(inv, &name, &mut ids);
    let image_id = image.spdx_id.clone();
    relationships.push(Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_string(),
        relationship_type: "DESCRIBES",
        related_spdx_element: image_id.clone(),
    });
    packages.push(image);

    if let Some(os) = &inv.os {
        let spdx_id = element_id(
            &mut ids,
            "OperatingSystem",
            &format!("{}-{}", os.id, os.version_id),
        );
        relationships.push(contains(&image_id, &spdx_id));
        packages.push(SpdxPackage {
            spdx_id,
            name: if os.id.is_empty() {
                "unknown".to_string()
            } else {
                os.id.clone()
            },
            version_info: (!os.version_id.is_empty()).then(|| os.version_id.clone()),
            description: (!os.pretty_name.is_empty()).then(|| os.pretty_name.clone()),
            // The JSON schema spells it with an underscore (tag-value uses a hyphen).
            primary_package_purpose: "OPERATING_SYSTEM",
            ..unasserted()
        });
    }

    for p in &inv.packages {
        let pkg = package(p, &mut ids, &mut refs);
        relationships.push(contains(&image_id, &pkg.spdx_id));
        packages.push(pkg);
    }

    let comment = (!inv.complete || !inv.warnings.is_empty()).then(|| {
        let mut text = if inv.complete {
            "Vigil reported warnings while reading this image:".to_string()
        } else {
            "INCOMPLETE INVENTORY: parts of this image could not be read, so packages may be missing.".to_string()
        };
        for w in &inv.warnings {
            text.push_str("\n- ");
            if !w.path.is_empty() {
                text.push_str(&w.path);
                text.push_str(": ");
            }
            text.push_str(&w.source);
            text.push_str(": ");
            text.push_str(&w.message);
        }
        text
    });

    let uuid = info.document_uuid("spdx", inv);
    let slug = license::spdx_idstring(&name, 64);
    let slug = if slug.is_empty() { "image" } else { &slug };
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name,
        document_namespace: format!("{}/spdxdocs/{slug}-{uuid}", sbom::HOME),
        creation_info: CreationInfo {
            creators: vec![format!("Tool: {}-{}", sbom::TOOL_NAME, sbom::TOOL_VERSION)],
            created: info.timestamp(),
            license_list_version: license_list_version(),
        },
        comment,
        packages,
        relationships,
        has_extracted_licensing_infos: refs.defined,
    }
}

/// `M.N` of the license list compiled in (the field's format; the crate says `3.29.0`).
fn license_list_version() -> String {
    let v = spdx::license_version();
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => v.to_string(),
    }
}

/// A package with every assertion left open.
fn unasserted() -> SpdxPackage {
    SpdxPackage {
        download_location: NOASSERTION,
        files_analyzed: false,
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_string(),
        copyright_text: NOASSERTION,
        ..SpdxPackage::default()
    }
}

fn contains(image: &str, element: &str) -> Relationship {
    Relationship {
        spdx_element_id: image.to_string(),
        relationship_type: "CONTAINS",
        related_spdx_element: element.to_string(),
    }
}

/// `SPDXRef-<kind>-<idstring of detail>`, unique in the document.
fn element_id(ids: &mut UniqueIds, kind: &str, detail: &str) -> String {
    let detail = license::spdx_idstring(detail, MAX_ID_PART);
    let base = if detail.is_empty() {
        format!("SPDXRef-{kind}")
    } else {
        format!("SPDXRef-{kind}-{detail}")
    };
    ids.claim(base, "-")
}

fn purl_ref(purl: String) -> ExternalRef {
    ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: purl,
    }
}

fn image_package(inv: &Inventory, name: &str, ids: &mut UniqueIds) -> SpdxPackage {
    let digest = sbom::image_digest(inv);
    let checksums = digest
        .and_then(sbom::parse_digest)
        .map(|(alg, value)| Checksum {
            algorithm: match alg {
                "sha256" => "SHA256",
                "sha384" => "SHA384",
                _ => "SHA512",
            },
            checksum_value: value,
        })
        .into_iter()
        .collect();
    let mut comment = format!(
        "Vigil target {} ({})",
        inv.target.reference, inv.target.kind
    );
    if let Some(p) = &inv.platform {
        comment.push_str(&format!(", platform {p}"));
    }
    if let Some(id) = &inv.image_id {
        comment.push_str(&format!(", image id {id}"));
    }
    SpdxPackage {
        spdx_id: element_id(ids, "Image", name),
        name: name.to_string(),
        version_info: digest.map(str::to_string),
        checksums,
        comment: Some(comment),
        external_refs: sbom::image_purl(inv).map(purl_ref).into_iter().collect(),
        primary_package_purpose: "CONTAINER",
        ..unasserted()
    }
}

fn package(p: &Package, ids: &mut UniqueIds, refs: &mut LicenseRefs) -> SpdxPackage {
    let detail = format!("{}-{}-{}", p.ecosystem, p.name, p.version);
    let mut source_info = String::new();
    if !p.location.path.is_empty() {
        source_info.push_str("package found in: ");
        source_info.push_str(&p.location.path);
        if let Some(layer) = &p.location.layer {
            source_info.push_str(&format!(" (layer {layer})"));
        }
        source_info.push_str(&format!(" by the {} analyzer", p.found_by));
    }
    if let Some(src) = &p.source {
        if !source_info.is_empty() {
            source_info.push_str("; ");
        }
        source_info.push_str("built package from: ");
        source_info.push_str(&src.name);
        if !src.version.is_empty() {
            source_info.push(' ');
            source_info.push_str(&src.version);
        }
    }
    SpdxPackage {
        spdx_id: element_id(ids, "Package", &detail),
        name: if p.name.is_empty() {
            "unknown".to_string()
        } else {
            p.name.clone()
        },
        version_info: (!p.version.is_empty()).then(|| p.version.clone()),
        license_declared: refs.declared(&p.licenses),
        source_info: (!source_info.is_empty()).then_some(source_info),
        comment: p.dev.then(|| "development dependency".to_string()),
        external_refs: (!p.purl.is_empty())
            .then(|| purl_ref(p.purl.clone()))
            .into_iter()
            .collect(),
        primary_package_purpose: "LIBRARY",
        ..unasserted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ecosystem, OsInfo, SourcePackage, TargetInfo};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn declared_licenses() {
        let mut refs = LicenseRefs::default();
        assert_eq!(refs.declared(&[]), "NOASSERTION");
        assert_eq!(refs.declared(&strings(&["UNKNOWN"])), "NOASSERTION");
        assert_eq!(refs.declared(&strings(&["MIT"])), "MIT");
        assert_eq!(
            refs.declared(&strings(&["MIT/Apache-2.0"])),
            "MIT OR Apache-2.0"
        );
        assert_eq!(
            refs.declared(&strings(&[
                "MIT OR Apache-2.0",
                "Zlib",
                "MIT OR Apache-2.0"
            ])),
            "(MIT OR Apache-2.0) AND Zlib"
        );
        assert_eq!(
            refs.declared(&strings(&["BSD License", "GPL-2.0+"])),
            "LicenseRef-BSD-License AND GPL-2.0-or-later"
        );
        // The same text reuses its reference; a different text with the same idstring
        // gets a new one.
        assert_eq!(
            refs.declared(&strings(&["BSD License"])),
            "LicenseRef-BSD-License"
        );
        assert_eq!(
            refs.declared(&strings(&["BSD/License"])),
            "LicenseRef-BSD-License-2"
        );
        assert_eq!(refs.declared(&strings(&["©®"])), "LicenseRef-unnamed");
        assert_eq!(
            refs.declared(&strings(&["LicenseRef-Corp"])),
            "LicenseRef-Corp"
        );
        let ids: Vec<&str> = refs.defined.iter().map(|d| d.license_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "LicenseRef-BSD-License",
                "LicenseRef-BSD-License-2",
                "LicenseRef-unnamed",
                "LicenseRef-Corp"
            ]
        );
        assert_eq!(refs.defined[1].extracted_text, "BSD/License");
    }

    #[test]
    fn long_license_texts_get_short_names() {
        let mut refs = LicenseRefs::default();
        let text = format!(
            "Copyright (c) Someone\n{}",
            "Permission is granted. ".repeat(200)
        );
        let id = refs.declared(std::slice::from_ref(&text));
        assert!(
            id.starts_with("LicenseRef-Copyright-c-Someone-Permission"),
            "{id}"
        );
        assert!(id.len() <= "LicenseRef-".len() + MAX_ID_PART);
        assert_eq!(refs.defined[0].name, "Copyright (c) Someone…");
        assert_eq!(refs.defined[0].extracted_text, text.trim());
    }

    fn inventory() -> Inventory {
        let mut deb = Package::new(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            "dpkg",
            "var/lib/dpkg/status",
        );
        deb.source = Some(SourcePackage {
            name: "openssl".into(),
            version: "3.0.11-1~deb12u2".into(),
        });
        deb.location.layer = Some("sha256:aa".into());
        let a = Package::new(
            Ecosystem::Npm,
            "@scope/my lib",
            "1.0.0",
            "npm",
            "a/package.json",
        );
        let b = Package::new(
            Ecosystem::Npm,
            "@scope/my lib",
            "1.0.0",
            "npm",
            "b/package.json",
        );
        Inventory {
            target: TargetInfo {
                kind: "oci".into(),
                reference: "oci:/srv/layout:1".into(),
                name: "/srv/layout:1".into(),
            },
            manifest_digest: Some(
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
            ),
            os: Some(OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                ..OsInfo::default()
            }),
            packages: vec![deb, a, b],
            complete: true,
            ..Inventory::default()
        }
    }

    #[test]
    fn document_shape() {
        let info = DocumentInfo::reproducible(time::OffsetDateTime::UNIX_EPOCH);
        let doc = to_value(&inventory(), &info);
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["dataLicense"], "CC0-1.0");
        assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
        assert_eq!(doc["name"], "/srv/layout:1");
        let ns = doc["documentNamespace"].as_str().unwrap_or_default();
        assert!(
            ns.starts_with("https://github.com/vigil-sec/vigil/spdxdocs/srv-layout-1-"),
            "{ns}"
        );
        assert_eq!(
            doc["creationInfo"]["creators"][0],
            format!("Tool: vigil-{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(doc["creationInfo"]["created"], "1970-01-01T00:00:00Z");
        assert!(doc.get("comment").is_none());

        let pkgs = doc["packages"].as_array().cloned().unwrap_or_default();
        assert_eq!(pkgs.len(), 5);
        assert_eq!(pkgs[0]["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(pkgs[0]["SPDXID"], "SPDXRef-Image-srv-layout-1");
        assert_eq!(pkgs[0]["checksums"][0]["algorithm"], "SHA256");
        assert_eq!(pkgs[1]["primaryPackagePurpose"], "OPERATING_SYSTEM");
        assert_eq!(pkgs[1]["SPDXID"], "SPDXRef-OperatingSystem-debian-12");
        assert_eq!(
            pkgs[2]["SPDXID"],
            "SPDXRef-Package-deb-libssl3-3.0.11-1-deb12u2"
        );
        assert_eq!(
            pkgs[2]["sourceInfo"],
            "package found in: /var/lib/dpkg/status (layer sha256:aa) by the dpkg analyzer; \
             built package from: openssl 3.0.11-1~deb12u2"
        );
        assert_eq!(pkgs[2]["downloadLocation"], "NOASSERTION");
        assert_eq!(pkgs[2]["filesAnalyzed"], false);
        assert_eq!(pkgs[2]["licenseConcluded"], "NOASSERTION");
        assert_eq!(pkgs[2]["licenseDeclared"], "NOASSERTION");
        assert_eq!(
            pkgs[2]["externalRefs"][0]["referenceLocator"],
            "pkg:deb/libssl3@3.0.11-1~deb12u2"
        );
        // Odd names are sanitized, and the duplicate gets its own id.
        assert_eq!(pkgs[3]["SPDXID"], "SPDXRef-Package-npm-scope-my-lib-1.0.0");
        assert_eq!(
            pkgs[4]["SPDXID"],
            "SPDXRef-Package-npm-scope-my-lib-1.0.0-2"
        );
        assert_eq!(pkgs[3]["name"], "@scope/my lib");

        let rels = doc["relationships"].as_array().cloned().unwrap_or_default();
        assert_eq!(rels.len(), 5);
        assert_eq!(rels[0]["spdxElementId"], "SPDXRef-DOCUMENT");
        assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
        assert_eq!(rels[0]["relatedSpdxElement"], "SPDXRef-Image-srv-layout-1");
        for (r, p) in rels.iter().skip(1).zip(pkgs.iter().skip(1)) {
            assert_eq!(r["spdxElementId"], "SPDXRef-Image-srv-layout-1");
            assert_eq!(r["relationshipType"], "CONTAINS");
            assert_eq!(r["relatedSpdxElement"], p["SPDXID"]);
        }
    }

    #[test]
    fn incomplete_inventories_say_so() {
        let mut inv = inventory();
        inv.complete = false;
        inv.warnings.push(crate::Warning {
            path: "/lib/apk/db/installed".into(),
            source: "apk".into(),
            message: "truncated record".into(),
        });
        let doc = to_value(&inv, &DocumentInfo::now());
        let c = doc["comment"].as_str().unwrap_or_default();
        assert!(c.starts_with("INCOMPLETE INVENTORY"), "{c}");
        assert!(
            c.contains("/lib/apk/db/installed: apk: truncated record"),
            "{c}"
        );
    }

    #[test]
    fn license_list_version_is_major_minor() {
        let v = license_list_version();
        assert_eq!(v.split('.').count(), 2, "{v}");
    }
}
