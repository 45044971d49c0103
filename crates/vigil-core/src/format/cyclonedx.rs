//! CycloneDX 1.6 JSON.
//!
//! The shape follows what Trivy writes for container images, so tools that read Trivy's
//! SBOMs read these: the image is `metadata.component` (`type: container`), the OS is an
//! `operating-system` component, every package (OS packages too) is a `library` with its
//! purl, Vigil's extra facts are `vigil:*` properties, and `dependencies` says the image
//! depends on the OS and on each package (flat: the inventory does not record which package
//! needs which).
//!
//! Written with small serde structs rather than the `cyclonedx-bom` crate: its newest
//! release (0.8) models specifications 1.3 to 1.5 only, and the part of 1.6 needed here is
//! a few dozen lines. `tests/sbom_schemas.rs` validates the output against the official
//! 1.6 schema and with the CycloneDX project's own Python validator.

use super::license::{self, License};
use super::sbom::{self, DocumentInfo, UniqueIds};
use crate::{Ecosystem, Inventory, Package};
use serde::Serialize;
use std::io::{self, Write};

/// Writes `inventory` as a CycloneDX 1.6 JSON document followed by a newline.
pub fn write(inventory: &Inventory, info: &DocumentInfo, out: &mut dyn Write) -> io::Result<()> {
    let bom = build(inventory, info);
    serde_json::to_writer_pretty(&mut *out, &bom)?;
    out.write_all(b"\n")
}

/// Builds the document as a JSON value (for callers that embed or inspect it).
pub fn to_value(inventory: &Inventory, info: &DocumentInfo) -> serde_json::Value {
    serde_json::to_value(build(inventory, info)).unwrap_or(serde_json::Value::Null)
}

/// The bom-refs the document gave the image and each package, for writers that add to it
/// (`cyclonedx_vuln` points its `affects` at them).
pub(super) struct Refs {
    /// The image (`metadata.component`).
    pub(super) image: String,
    /// One per `inventory.packages` entry, in the same order.
    pub(super) packages: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    pub(super) serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
    /// Filled by `cyclonedx_vuln`; absent from inventory documents.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) vulnerabilities: Vec<super::cyclonedx_vuln::Vulnerability>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

/// 1.6 form of `tools` (the array form is deprecated since 1.5).
#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
struct Component {
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

/// One entry of `licenses`: the schema allows either a list of `license` objects or a
/// list holding exactly one `expression`, never both.
#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: LicenseObject },
    Expression { expression: String },
}

#[derive(Serialize, Debug, PartialEq, Eq)]
#[serde(untagged)]
enum LicenseObject {
    Id { id: String },
    Name { name: String },
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

fn prop(name: &'static str, value: impl Into<String>) -> Property {
    Property {
        name,
        value: value.into(),
    }
}

fn build(inv: &Inventory, info: &DocumentInfo) -> Bom {
    build_with_refs(inv, info).0
}

/// The inventory document, and the bom-refs it gave the image and packages.
pub(super) fn build_with_refs(inv: &Inventory, info: &DocumentInfo) -> (Bom, Refs) {
    let mut ids = UniqueIds::default();

    let image = image_component(inv, &mut ids);
    let image_ref = image.bom_ref.clone().unwrap_or_default();
    let mut components = Vec::with_capacity(inv.packages.len() + 1);
    let mut depends_on = Vec::with_capacity(inv.packages.len() + 1);

    if let Some(os) = &inv.os {
        let version = (!os.version_id.is_empty()).then(|| os.version_id.clone());
        let bom_ref = ids.claim(
            format!("os:{}@{}", os.id, version.as_deref().unwrap_or("")),
            "-",
        );
        let mut properties = Vec::new();
        if let Some(c) = &os.codename {
            properties.push(prop("vigil:os:codename", c));
        }
        if os.distroless {
            properties.push(prop("vigil:os:distroless", "true"));
        }
        depends_on.push(bom_ref.clone());
        components.push(Component {
            bom_ref: Some(bom_ref),
            kind: "operating-system",
            name: non_empty(&os.id, "unknown"),
            version,
            description: (!os.pretty_name.is_empty()).then(|| os.pretty_name.clone()),
            properties,
            ..Component::default()
        });
    }

    let mut package_refs = Vec::with_capacity(inv.packages.len());
    for p in &inv.packages {
        let c = package_component(p, &mut ids);
        let bom_ref = c.bom_ref.clone().unwrap_or_default();
        depends_on.push(bom_ref.clone());
        package_refs.push(bom_ref);
        components.push(c);
    }

    let mut properties = vec![prop(
        "vigil:inventory:complete",
        if inv.complete { "true" } else { "false" },
    )];
    for w in &inv.warnings {
        let text = if w.path.is_empty() {
            format!("{}: {}", w.source, w.message)
        } else {
            format!("{}: {}: {}", w.path, w.source, w.message)
        };
        properties.push(prop("vigil:inventory:warning", text));
    }

    let bom = Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", info.document_uuid("cyclonedx", inv)),
        version: 1,
        metadata: Metadata {
            timestamp: info.timestamp(),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: sbom::TOOL_NAME.to_string(),
                    version: Some(sbom::TOOL_VERSION.to_string()),
                    ..Component::default()
                }],
            },
            component: image,
            properties,
        },
        components,
        dependencies: vec![Dependency {
            reference: image_ref.clone(),
            depends_on,
        }],
        vulnerabilities: Vec::new(),
    };
    (
        bom,
        Refs {
            image: image_ref,
            packages: package_refs,
        },
    )
}

fn non_empty(s: &str, fallback: &str) -> String {
    if s.trim().is_empty() {
        fallback.to_string()
    } else {
        s.to_string()
    }
}

fn image_component(inv: &Inventory, ids: &mut UniqueIds) -> Component {
    let purl = sbom::image_purl(inv);
    let name = non_empty(&inv.target.name, &non_empty(&inv.target.reference, "image"));
    let bom_ref = ids.claim(
        purl.clone()
            .unwrap_or_else(|| format!("image:{}", sbom::short_hash(&[&inv.target.reference]))),
        "-",
    );
    let digest = sbom::image_digest(inv);
    let hashes = digest
        .and_then(sbom::parse_digest)
        .map(|(alg, content)| Hash {
            alg: match alg {
                "sha256" => "SHA-256",
                "sha384" => "SHA-384",
                _ => "SHA-512",
            },
            content,
        })
        .into_iter()
        .collect();
    let mut properties = vec![
        prop("vigil:image:reference", inv.target.reference.clone()),
        prop("vigil:image:kind", inv.target.kind.clone()),
    ];
    if let Some(d) = &inv.manifest_digest {
        properties.push(prop("vigil:image:manifest-digest", d));
    }
    if let Some(d) = &inv.image_id {
        properties.push(prop("vigil:image:id", d));
    }
    if let Some(p) = &inv.platform {
        properties.push(prop("vigil:image:platform", p));
    }
    for l in &inv.layers {
        properties.push(prop("vigil:image:layer", l.digest.clone()));
    }
    Component {
        bom_ref: Some(bom_ref),
        kind: "container",
        name,
        version: digest.map(str::to_string),
        hashes,
        purl,
        properties,
        ..Component::default()
    }
}

fn package_component(p: &Package, ids: &mut UniqueIds) -> Component {
    let purl = (!p.purl.is_empty()).then(|| p.purl.clone());
    let base = purl
        .clone()
        .unwrap_or_else(|| format!("{}:{}@{}", p.ecosystem, p.name, p.version));
    // The same purl found at two paths is two components: the second gets a
    // `package-id` qualifier derived from where it was found, as Trivy does.
    let bom_ref = if ids.contains(&base) {
        let sep = if base.contains('?') { '&' } else { '?' };
        let id = sbom::short_hash(&[&base, &p.location.path, &p.found_by]);
        ids.claim(format!("{base}{sep}package-id={id}"), "-")
    } else {
        ids.claim(base, "-")
    };
    let (group, name) = match p.ecosystem {
        Ecosystem::Maven => match p.name.split_once(':') {
            Some((g, a)) => (Some(g.to_string()), a.to_string()),
            None => (None, p.name.clone()),
        },
        Ecosystem::Npm if p.name.starts_with('@') => match p.name.split_once('/') {
            Some((scope, n)) => (Some(scope.to_string()), n.to_string()),
            None => (None, p.name.clone()),
        },
        _ => (None, p.name.clone()),
    };
    let mut properties = Vec::new();
    if !p.location.path.is_empty() {
        properties.push(prop("vigil:package:path", p.location.path.clone()));
    }
    if let Some(layer) = &p.location.layer {
        properties.push(prop("vigil:layer:digest", layer.clone()));
    }
    if let Some(src) = &p.source {
        properties.push(prop("vigil:package:source-name", src.name.clone()));
        if !src.version.is_empty() {
            properties.push(prop("vigil:package:source-version", src.version.clone()));
        }
    }
    if let Some(arch) = &p.arch {
        properties.push(prop("vigil:package:arch", arch.clone()));
    }
    properties.push(prop("vigil:package:type", p.ecosystem.as_str()));
    properties.push(prop("vigil:package:found-by", p.found_by.clone()));
    if p.dev {
        properties.push(prop("vigil:package:dev", "true"));
    }
    Component {
        bom_ref: Some(bom_ref),
        kind: "library",
        group,
        name: non_empty(&name, "unknown"),
        version: (!p.version.is_empty()).then(|| p.version.clone()),
        licenses: licenses(&p.licenses),
        purl,
        properties,
        ..Component::default()
    }
}

/// Maps declared licenses onto CycloneDX's `licenses`.
///
/// - ids and names only: one `license` object each (`id` or `name`);
/// - any compound expression and nothing unparseable: one `expression`, the terms joined
///   with `AND` (every declared license applies);
/// - a compound expression beside an unparseable name: the schema cannot hold both, so
///   every entry becomes a `license` object and the expression is kept as a `name`.
fn licenses(declared: &[String]) -> Vec<LicenseChoice> {
    let mut sorted: Vec<License> = Vec::new();
    for raw in declared {
        let Some(mut l) = license::classify(raw) else {
            continue;
        };
        if let License::Id(id) = l
            && license::NOT_IN_CYCLONEDX_1_6.contains(&id)
        {
            l = License::Expression(id.to_string());
        }
        if !sorted.contains(&l) {
            sorted.push(l);
        }
    }
    let has_expression = sorted.iter().any(|l| matches!(l, License::Expression(_)));
    let has_name = sorted.iter().any(|l| matches!(l, License::Name(_)));
    if has_expression && !has_name {
        let terms: Vec<String> = sorted
            .iter()
            .map(|l| match l {
                License::Id(id) => (*id).to_string(),
                License::Expression(e) if sorted.len() > 1 && e.contains(' ') => format!("({e})"),
                License::Expression(e) | License::Name(e) => e.clone(),
            })
            .collect();
        return vec![LicenseChoice::Expression {
            expression: terms.join(" AND "),
        }];
    }
    sorted
        .into_iter()
        .map(|l| LicenseChoice::License {
            license: match l {
                License::Id(id) => LicenseObject::Id { id: id.to_string() },
                License::Expression(name) | License::Name(name) => LicenseObject::Name { name },
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OsInfo, SourcePackage, TargetInfo};
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn license_json(declared: &[&str]) -> serde_json::Value {
        serde_json::to_value(licenses(&strings(declared))).unwrap_or_default()
    }

    #[test]
    fn license_mapping() {
        assert_eq!(license_json(&[]), json!([]));
        assert_eq!(license_json(&["UNKNOWN", " "]), json!([]));
        assert_eq!(license_json(&["MIT"]), json!([{"license": {"id": "MIT"}}]));
        assert_eq!(
            license_json(&["MIT", "BSD License", "MIT"]),
            json!([{"license": {"id": "MIT"}}, {"license": {"name": "BSD License"}}])
        );
        assert_eq!(
            license_json(&["MIT OR Apache-2.0"]),
            json!([{"expression": "MIT OR Apache-2.0"}])
        );
        assert_eq!(
            license_json(&["MIT OR Apache-2.0", "Zlib"]),
            json!([{"expression": "(MIT OR Apache-2.0) AND Zlib"}])
        );
        assert_eq!(
            license_json(&["MIT OR Apache-2.0", "Custom"]),
            json!([
                {"license": {"name": "MIT OR Apache-2.0"}},
                {"license": {"name": "Custom"}}
            ])
        );
        // An id newer than CycloneDX 1.6's list is written as an expression.
        assert_eq!(
            license_json(&["Bugroff"]),
            json!([{"expression": "Bugroff"}])
        );
    }

    fn pkg(eco: Ecosystem, name: &str, version: &str, path: &str) -> Package {
        Package::new(eco, name, version, "test", path)
    }

    fn inventory() -> Inventory {
        let mut deb = pkg(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            "var/lib/dpkg/status",
        );
        deb.source = Some(SourcePackage {
            name: "openssl".into(),
            version: "3.0.11-1~deb12u2".into(),
        });
        deb.location.layer = Some("sha256:aa".into());
        deb.licenses = strings(&["Apache-2.0"]);
        Inventory {
            target: TargetInfo {
                kind: "dir".into(),
                reference: "dir:/srv/root".into(),
                name: "/srv/root".into(),
            },
            os: Some(OsInfo {
                id: "debian".into(),
                version_id: "12".into(),
                codename: Some("bookworm".into()),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                ..OsInfo::default()
            }),
            packages: vec![
                deb,
                pkg(Ecosystem::Npm, "@babel/core", "7.0.0", "app/a/package.json"),
                pkg(Ecosystem::Npm, "@babel/core", "7.0.0", "app/b/package.json"),
                pkg(
                    Ecosystem::Maven,
                    "org.apache.logging.log4j:log4j-core",
                    "2.14.1",
                    "app/app.jar",
                ),
            ],
            complete: true,
            ..Inventory::default()
        }
    }

    #[test]
    fn document_shape() {
        let t = time::OffsetDateTime::UNIX_EPOCH;
        let doc = to_value(&inventory(), &DocumentInfo::reproducible(t));
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], "1.6");
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["metadata"]["timestamp"], "1970-01-01T00:00:00Z");
        assert!(
            doc["serialNumber"]
                .as_str()
                .is_some_and(|s| s.starts_with("urn:uuid:") && s.len() == 45)
        );
        assert_eq!(doc["metadata"]["tools"]["components"][0]["name"], "vigil");
        assert_eq!(doc["metadata"]["component"]["type"], "container");
        assert_eq!(doc["metadata"]["component"]["name"], "/srv/root");

        let comps = doc["components"].as_array().cloned().unwrap_or_default();
        assert_eq!(comps.len(), 5);
        assert_eq!(comps[0]["type"], "operating-system");
        assert_eq!(comps[0]["name"], "debian");
        assert_eq!(comps[0]["version"], "12");
        assert_eq!(comps[1]["type"], "library");
        assert_eq!(
            comps[1]["licenses"],
            json!([{"license": {"id": "Apache-2.0"}}])
        );
        let props = &comps[1]["properties"];
        assert!(props.as_array().is_some_and(|p| {
            p.contains(&json!({"name": "vigil:package:source-name", "value": "openssl"}))
        }));
        assert!(props.as_array().is_some_and(|p| {
            p.contains(&json!({"name": "vigil:layer:digest", "value": "sha256:aa"}))
        }));
        // Scoped npm names and Maven coordinates split into group and name.
        assert_eq!(comps[2]["group"], "@babel");
        assert_eq!(comps[2]["name"], "core");
        assert_eq!(comps[4]["group"], "org.apache.logging.log4j");
        assert_eq!(comps[4]["name"], "log4j-core");

        // The same purl at two paths: two distinct bom-refs, the first the purl itself.
        assert_eq!(comps[2]["bom-ref"], "pkg:npm/%40babel/core@7.0.0");
        let second = comps[3]["bom-ref"].as_str().unwrap_or_default();
        assert!(
            second.starts_with("pkg:npm/%40babel/core@7.0.0?package-id="),
            "{second}"
        );

        // Flat dependencies: the image depends on the OS and every package.
        let deps = doc["dependencies"].as_array().cloned().unwrap_or_default();
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0]["ref"], doc["metadata"]["component"]["bom-ref"]);
        let refs: Vec<&serde_json::Value> = comps.iter().map(|c| &c["bom-ref"]).collect();
        let depends: Vec<&serde_json::Value> = deps[0]["dependsOn"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        assert_eq!(refs, depends);
    }

    #[test]
    fn reproducible_output() {
        let t = time::OffsetDateTime::UNIX_EPOCH;
        let info = DocumentInfo::reproducible(t);
        let mut a = Vec::new();
        let mut b = Vec::new();
        write(&inventory(), &info, &mut a).unwrap_or_default();
        write(&inventory(), &info, &mut b).unwrap_or_default();
        assert_eq!(a, b);
        assert!(!a.is_empty());
    }

    #[test]
    fn identical_packages_still_get_unique_refs() {
        let mut inv = inventory();
        let p = inv.packages[1].clone();
        inv.packages.push(p.clone());
        inv.packages.push(p);
        let doc = to_value(&inv, &DocumentInfo::now());
        let mut refs: Vec<String> = doc["components"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["bom-ref"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let n = refs.len();
        refs.sort();
        refs.dedup();
        assert_eq!(refs.len(), n);
        assert_eq!(n, 7);
    }

    #[test]
    fn incomplete_inventories_say_so() {
        let mut inv = inventory();
        inv.complete = false;
        inv.warnings.push(crate::Warning {
            path: "/var/lib/rpm/Packages".into(),
            source: "rpm".into(),
            message: "corrupt page".into(),
        });
        let doc = to_value(&inv, &DocumentInfo::now());
        let props = doc["metadata"]["properties"].clone();
        assert!(props.as_array().is_some_and(|p| {
            p.contains(&json!({"name": "vigil:inventory:complete", "value": "false"}))
        }));
        assert!(props.as_array().is_some_and(|p| p.contains(&json!({
            "name": "vigil:inventory:warning",
            "value": "/var/lib/rpm/Packages: rpm: corrupt page"
        }))));
    }
}
