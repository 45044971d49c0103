//! What users say does not apply: ignore lists (`--ignore`, `.vigilignore`) and OpenVEX
//! documents (`--vex`). Suppressed findings are counted and named in the log, never
//! silently lost.

use serde::Deserialize;
use vigil_core::{Inventory, VulnMatch};

/// Identifiers to ignore, from `--ignore ID` and an ignore file.
#[derive(Debug, Default, Clone)]
pub struct IgnoreList {
    entries: Vec<IgnoreEntry>,
}

#[derive(Debug, Clone)]
struct IgnoreEntry {
    id: String,
    /// `exp:YYYY-MM-DD`: the entry stops applying after that day (as in `.trivyignore`).
    expires: Option<String>,
}

impl IgnoreList {
    /// Adds one id (from the command line).
    pub fn add(&mut self, id: &str) {
        self.entries.push(IgnoreEntry {
            id: id.trim().to_owned(),
            expires: None,
        });
    }

    /// Reads an ignore file: one id per line, `#` comments, optional ` exp:YYYY-MM-DD`.
    pub fn read(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let id = parts.next().unwrap_or_default().to_owned();
            let mut expires = None;
            for part in parts {
                match part.strip_prefix("exp:") {
                    Some(date) if is_date(date) => expires = Some(date.to_owned()),
                    _ => return Err(format!("line {}: unexpected {part:?}", n + 1)),
                }
            }
            self.entries.push(IgnoreEntry { id, expires });
        }
        Ok(())
    }

    /// True when `finding` is ignored on `today` (`YYYY-MM-DD`).
    pub fn ignores(&self, finding: &VulnMatch, today: &str) -> bool {
        self.entries.iter().any(|e| {
            e.expires.as_deref().is_none_or(|exp| today <= exp)
                && (finding.id == e.id || finding.aliases.contains(&e.id))
        })
    }
}

fn is_date(s: &str) -> bool {
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// One OpenVEX document's statements (v0.2.0, and the earlier string forms).
#[derive(Debug, Default, Clone)]
pub struct Vex {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    ids: Vec<String>,
    products: Vec<Product>,
    status: String,
}

#[derive(Debug, Clone)]
struct Product {
    id: String,
    subcomponents: Vec<String>,
}

#[derive(Deserialize)]
struct VexDoc {
    #[serde(default)]
    statements: Vec<VexStatement>,
}

#[derive(Deserialize)]
struct VexStatement {
    vulnerability: Option<VexVulnerability>,
    #[serde(default)]
    products: Vec<VexProduct>,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VexVulnerability {
    Name(String),
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(rename = "@id", default)]
        id: Option<String>,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VexProduct {
    Id(String),
    Object {
        #[serde(rename = "@id", default)]
        id: String,
        #[serde(default)]
        subcomponents: Vec<VexProduct>,
    },
}

impl VexProduct {
    fn id(&self) -> &str {
        match self {
            VexProduct::Id(id) | VexProduct::Object { id, .. } => id,
        }
    }
}

impl Vex {
    /// Adds the statements of one OpenVEX JSON document.
    pub fn read(&mut self, bytes: &[u8]) -> Result<(), String> {
        let doc: VexDoc =
            serde_json::from_slice(bytes).map_err(|e| format!("not an OpenVEX document: {e}"))?;
        for s in doc.statements {
            let ids = match s.vulnerability {
                Some(VexVulnerability::Name(name)) => vec![name],
                Some(VexVulnerability::Object { name, id, aliases }) => {
                    name.into_iter().chain(id).chain(aliases).collect()
                }
                None => return Err("a statement has no vulnerability".into()),
            };
            let products = s
                .products
                .iter()
                .map(|p| Product {
                    id: p.id().to_owned(),
                    subcomponents: match p {
                        VexProduct::Object { subcomponents, .. } => {
                            subcomponents.iter().map(|c| c.id().to_owned()).collect()
                        }
                        VexProduct::Id(_) => Vec::new(),
                    },
                })
                .collect();
            self.statements.push(Statement {
                ids,
                products,
                status: s.status,
            });
        }
        Ok(())
    }

    /// True when the last statement about `finding` in this image says `not_affected` or
    /// `fixed`.
    pub fn suppresses(&self, finding: &VulnMatch, inventory: &Inventory) -> bool {
        let mut verdict = None;
        for s in &self.statements {
            let names_it = s
                .ids
                .iter()
                .any(|id| *id == finding.id || finding.aliases.contains(id));
            if names_it
                && s.products
                    .iter()
                    .any(|p| product_covers(p, finding, inventory))
            {
                verdict = Some(matches!(s.status.as_str(), "not_affected" | "fixed"));
            }
        }
        verdict.unwrap_or(false)
    }
}

/// A product names the package itself, or the image (`pkg:oci/...`, optionally at its
/// digest) with the package among its subcomponents or no subcomponents at all.
fn product_covers(product: &Product, finding: &VulnMatch, inventory: &Inventory) -> bool {
    if purl_matches(&product.id, &finding.package.purl) {
        return true;
    }
    let is_image = product.id.starts_with("pkg:oci/")
        && match (digest_of(&product.id), inventory.manifest_digest.as_deref()) {
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
            (None, _) => true,
        };
    is_image
        && (product.subcomponents.is_empty()
            || product
                .subcomponents
                .iter()
                .any(|c| purl_matches(c, &finding.package.purl)))
}

/// Same type, namespace and name; and the same version when the statement gives one.
fn purl_matches(statement: &str, package: &str) -> bool {
    let (Ok(want), Ok(have)) = (
        packageurl::PackageUrl::from_str(statement),
        packageurl::PackageUrl::from_str(package),
    ) else {
        return false;
    };
    want.ty() == have.ty()
        && want.namespace() == have.namespace()
        && want.name() == have.name()
        && want.version().is_none_or(|v| Some(v) == have.version())
}

fn digest_of(purl: &str) -> Option<String> {
    let parsed = packageurl::PackageUrl::from_str(purl).ok()?;
    parsed.version().map(|v| v.replace("%3A", ":"))
}

use std::str::FromStr;

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::{Ecosystem, Location, MatchedPackage, Severity, VulnStatus};

    fn finding(id: &str, aliases: &[&str], purl: &str) -> VulnMatch {
        VulnMatch {
            package: MatchedPackage {
                ecosystem: Ecosystem::Pypi,
                name: "jinja2".into(),
                version: "2.10".into(),
                purl: purl.into(),
                source_name: None,
                locations: vec![Location::default()],
            },
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            title: String::new(),
            severity: Severity::High,
            cvss: Vec::new(),
            fixed_versions: Vec::new(),
            status: VulnStatus::Fixed,
            sources: Vec::new(),
            url: None,
            published: None,
        }
    }

    #[test]
    fn ignore_file_with_expiry_and_aliases() {
        let mut list = IgnoreList::default();
        list.read("# accepted risk\nCVE-2019-10906 exp:2026-01-31\nGHSA-462w-v97r-4m45\n")
            .unwrap();
        let a = finding("CVE-2019-10906", &[], "pkg:pypi/jinja2@2.10");
        assert!(list.ignores(&a, "2026-01-31"));
        assert!(!list.ignores(&a, "2026-02-01"), "expired");
        let b = finding(
            "CVE-2019-8341",
            &["GHSA-462w-v97r-4m45"],
            "pkg:pypi/jinja2@2.10",
        );
        assert!(list.ignores(&b, "2030-01-01"));
        assert!(list.read("CVE-1 until:tomorrow").is_err());
    }

    #[test]
    fn openvex_statements_about_packages_and_images() {
        let inventory = Inventory {
            manifest_digest: Some("sha256:abc".into()),
            ..Inventory::default()
        };
        let doc = br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
          {"vulnerability":{"name":"CVE-2019-10906"},"products":[{"@id":"pkg:pypi/jinja2"}],
           "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
          {"vulnerability":{"name":"CVE-2019-8341"},
           "products":[{"@id":"pkg:oci/app@sha256%3Aabc","subcomponents":[{"@id":"pkg:pypi/jinja2@2.10"}]}],
           "status":"not_affected"},
          {"vulnerability":{"name":"CVE-2020-28493"},"products":[{"@id":"pkg:oci/app@sha256%3Aother"}],
           "status":"not_affected"},
          {"vulnerability":"CVE-2024-1","products":["pkg:pypi/jinja2@2.10"],"status":"fixed"},
          {"vulnerability":"CVE-2024-1","products":["pkg:pypi/jinja2@2.10"],"status":"affected"}
        ]}"#;
        let mut vex = Vex::default();
        vex.read(doc).unwrap();
        let purl = "pkg:pypi/jinja2@2.10";
        assert!(vex.suppresses(&finding("CVE-2019-10906", &[], purl), &inventory));
        assert!(vex.suppresses(&finding("GHSA-x", &["CVE-2019-8341"], purl), &inventory));
        assert!(
            !vex.suppresses(&finding("CVE-2020-28493", &[], purl), &inventory),
            "another image"
        );
        assert!(
            !vex.suppresses(&finding("CVE-2024-1", &[], purl), &inventory),
            "last statement wins"
        );
        assert!(!vex.suppresses(
            &finding("CVE-2019-10906", &[], "pkg:npm/jinja2@2.10"),
            &inventory
        ));
        assert!(Vex::default().read(b"[1]").is_err());
    }
}
