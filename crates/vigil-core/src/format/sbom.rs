//! What the CycloneDX and SPDX writers share: document time and identity, unique element
//! ids, and the image's own package URL and digest.

use crate::Inventory;
use serde::Serialize;
use std::collections::HashSet;
use std::io;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// The tool name written into SBOM documents.
pub(crate) const TOOL_NAME: &str = "vigil";
/// The version written into SBOM documents (the workspace version).
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Vigil's home, used as the base of SPDX document namespaces.
pub(crate) const HOME: &str = "https://github.com/vigil-sec/vigil";

/// When a document was made and how its unique identifiers are chosen.
///
/// By default a document gets the current time and a random (v4) UUID, as CycloneDX asks
/// ("every BOM generated SHOULD have a unique serial number, even if the contents of the
/// BOM have not changed over time") and SPDX asks of document namespaces. When the
/// reproducible-builds variable `SOURCE_DATE_EPOCH` is set, the time comes from it and the
/// UUID is a v5 UUID of the inventory and that time, so the same inventory gives the same
/// bytes: that is what people who set the variable want.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Creation time, UTC, whole seconds.
    pub created: OffsetDateTime,
    /// Derive identifiers from the content instead of drawing them at random.
    pub reproducible: bool,
}

impl DocumentInfo {
    /// The current time, random identifiers.
    pub fn now() -> DocumentInfo {
        DocumentInfo {
            created: whole_seconds(OffsetDateTime::now_utc()),
            reproducible: false,
        }
    }

    /// A fixed time and identifiers derived from the content.
    pub fn reproducible(created: OffsetDateTime) -> DocumentInfo {
        DocumentInfo {
            created: whole_seconds(created.to_offset(time::UtcOffset::UTC)),
            reproducible: true,
        }
    }

    /// [`DocumentInfo::reproducible`] at `SOURCE_DATE_EPOCH` when it is set, else
    /// [`DocumentInfo::now`]. A value that is not a number of seconds is an error rather
    /// than silently ignored.
    pub fn from_env() -> io::Result<DocumentInfo> {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if !v.trim().is_empty() => {
                let secs: i64 = v.trim().parse().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"),
                    )
                })?;
                let t = OffsetDateTime::from_unix_timestamp(secs).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("SOURCE_DATE_EPOCH={v:?}: {e}"),
                    )
                })?;
                Ok(DocumentInfo::reproducible(t))
            }
            _ => Ok(DocumentInfo::now()),
        }
    }

    /// The creation time as RFC 3339 (`2024-05-01T12:00:00Z`), the form both formats use.
    pub(crate) fn timestamp(&self) -> String {
        self.created
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
    }

    /// A UUID for one document of `kind` (`cyclonedx`, `spdx`) about `subject` (an
    /// inventory, or a vulnerability report).
    pub(crate) fn document_uuid<T: Serialize + ?Sized>(&self, kind: &str, subject: &T) -> Uuid {
        if !self.reproducible {
            return Uuid::new_v4();
        }
        // Inventories and reports serialize deterministically (structs and sorted vectors).
        let mut seed = serde_json::to_vec(subject).unwrap_or_default();
        seed.extend_from_slice(kind.as_bytes());
        seed.extend_from_slice(self.timestamp().as_bytes());
        Uuid::new_v5(&vigil_namespace(), &seed)
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// The v5 namespace of every UUID Vigil derives.
fn vigil_namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, HOME.as_bytes())
}

/// A short stable hexadecimal hash of `parts` (the first 16 hex digits of their v5 UUID),
/// used to tell apart two elements that would otherwise share an id.
pub(crate) fn short_hash(parts: &[&str]) -> String {
    let joined = parts.join("\u{0}");
    let u = Uuid::new_v5(&vigil_namespace(), joined.as_bytes());
    u.simple().to_string().chars().take(16).collect()
}

/// Hands out ids that are unique within one document.
#[derive(Debug, Default)]
pub(crate) struct UniqueIds {
    used: HashSet<String>,
}

impl UniqueIds {
    /// Claims `id` if free; otherwise the first free `id` + `sep` + 2, 3, ....
    pub(crate) fn claim(&mut self, id: String, sep: &str) -> String {
        if !self.used.contains(&id) {
            self.used.insert(id.clone());
            return id;
        }
        // Each try is distinct, so one of the first len+2 is free.
        let mut n = 2usize;
        loop {
            let candidate = format!("{id}{sep}{n}");
            if !self.used.contains(&candidate) {
                self.used.insert(candidate.clone());
                return candidate;
            }
            n += 1;
        }
    }

    /// True if `id` was handed out.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.used.contains(id)
    }
}

/// A digest split into algorithm and lower-case hex, when it is a well-formed
/// `sha256:`/`sha384:`/`sha512:` digest.
pub(crate) fn parse_digest(digest: &str) -> Option<(&'static str, String)> {
    let (alg, hex) = digest.split_once(':')?;
    let (name, len) = match alg {
        "sha256" => ("sha256", 64),
        "sha384" => ("sha384", 96),
        "sha512" => ("sha512", 128),
        _ => return None,
    };
    (hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (name, hex.to_ascii_lowercase()))
}

/// The image's digest: the manifest digest when known, else the config digest.
pub(crate) fn image_digest(inv: &Inventory) -> Option<&str> {
    inv.manifest_digest
        .as_deref()
        .or(inv.image_id.as_deref())
        .filter(|d| !d.is_empty())
}

/// The `pkg:oci` package URL of a registry image whose manifest digest is known
/// (`pkg:oci/app@sha256:…?arch=amd64&repository_url=localhost:5000%2Fteam%2Fapp&tag=1`;
/// the purl library percent-encodes the `/` of qualifier values).
/// Other targets have no repository to name, so no purl.
pub(crate) fn image_purl(inv: &Inventory) -> Option<String> {
    if inv.target.kind != "registry" {
        return None;
    }
    let digest = inv.manifest_digest.as_deref()?;
    parse_digest(digest)?;
    let reference = inv.target.name.trim();
    let reference = reference.strip_prefix("registry:").unwrap_or(reference);
    let (repo, tag) = split_reference(reference)?;
    let repository_url = normalize_repository(repo);
    let name = repository_url.rsplit('/').next()?.to_ascii_lowercase();
    let arch = inv
        .platform
        .as_deref()
        .and_then(|p| p.split('/').nth(1))
        .filter(|a| !a.is_empty());
    let built = (|| -> Result<String, packageurl::Error> {
        let mut p = packageurl::PackageUrl::new("oci", name.as_str())?;
        p.with_version(digest)?;
        if let Some(arch) = arch {
            p.add_qualifier("arch", arch)?;
        }
        p.add_qualifier("repository_url", repository_url.as_str())?;
        if let Some(tag) = tag {
            p.add_qualifier("tag", tag)?;
        }
        Ok(p.to_string())
    })();
    built.ok()
}

/// Splits `host/repo[:tag][@digest]` into repository and tag.
fn split_reference(reference: &str) -> Option<(&str, Option<&str>)> {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match without_digest
        .get(last_slash..)
        .and_then(|last| last.rfind(':'))
    {
        Some(i) => {
            let at = last_slash + i;
            (without_digest.get(..at)?, without_digest.get(at + 1..))
        }
        None => (without_digest, None),
    };
    (!repo.is_empty()).then_some((repo, tag.filter(|t| !t.is_empty())))
}

/// Docker's rules for references without a registry host: `alpine` is
/// `index.docker.io/library/alpine`, `user/app` is `index.docker.io/user/app`.
fn normalize_repository(repo: &str) -> String {
    let first = repo.split('/').next().unwrap_or(repo);
    let has_host =
        repo.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_host {
        repo.to_string()
    } else if repo.contains('/') {
        format!("index.docker.io/{repo}")
    } else {
        format!("index.docker.io/library/{repo}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetInfo;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn registry_inventory(name: &str) -> Inventory {
        Inventory {
            target: TargetInfo {
                kind: "registry".into(),
                reference: format!("registry:{name}"),
                name: name.into(),
            },
            manifest_digest: Some(D.into()),
            platform: Some("linux/arm64/v8".into()),
            ..Inventory::default()
        }
    }

    #[test]
    fn unique_ids() {
        let mut ids = UniqueIds::default();
        assert_eq!(ids.claim("a".into(), "-"), "a");
        assert_eq!(ids.claim("a-2".into(), "-"), "a-2");
        // "a-2" is taken by a real id, so the duplicate of "a" gets "a-3".
        assert_eq!(ids.claim("a".into(), "-"), "a-3");
        assert_eq!(ids.claim("a".into(), "-"), "a-4");
        assert!(ids.contains("a-3"));
    }

    #[test]
    fn short_hashes_are_stable_and_distinct() {
        assert_eq!(short_hash(&["x", "y"]), short_hash(&["x", "y"]));
        assert_ne!(short_hash(&["x", "y"]), short_hash(&["xy", ""]));
        assert_eq!(short_hash(&["x"]).len(), 16);
    }

    #[test]
    fn digests() {
        assert_eq!(parse_digest(D).map(|d| d.0), Some("sha256"));
        assert_eq!(parse_digest("sha256:abc"), None);
        assert_eq!(parse_digest("md5:0123456789abcdef0123456789abcdef"), None);
        assert_eq!(parse_digest(&D.replace('a', "z")), None);
    }

    #[test]
    fn oci_purls() {
        let inv = registry_inventory("localhost:5000/team/App:1.0");
        assert_eq!(
            image_purl(&inv).as_deref(),
            Some(
                "pkg:oci/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\
                 ?arch=arm64&repository_url=localhost:5000%2Fteam%2FApp&tag=1.0"
            )
        );
        let inv = registry_inventory("alpine");
        let p = image_purl(&inv).unwrap_or_default();
        assert!(
            p.contains("repository_url=index.docker.io%2Flibrary%2Falpine"),
            "{p}"
        );
        assert!(!p.contains("tag="), "{p}");
        let inv = registry_inventory(&format!("example.com:443/a/b@{D}"));
        let p = image_purl(&inv).unwrap_or_default();
        assert!(p.starts_with("pkg:oci/b@"), "{p}");
        assert!(p.contains("repository_url=example.com:443%2Fa%2Fb"), "{p}");

        let mut dir = registry_inventory("x");
        dir.target.kind = "dir".into();
        assert_eq!(image_purl(&dir), None);
        let mut no_digest = registry_inventory("x");
        no_digest.manifest_digest = None;
        assert_eq!(image_purl(&no_digest), None);
    }

    #[test]
    fn document_ids() {
        let inv = registry_inventory("alpine");
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let fixed = DocumentInfo::reproducible(t);
        assert_eq!(fixed.timestamp(), "2023-11-14T22:13:20Z");
        let a = fixed.document_uuid("spdx", &inv);
        assert_eq!(a, fixed.document_uuid("spdx", &inv));
        assert_eq!(a.get_version_num(), 5);
        assert_ne!(a, fixed.document_uuid("cyclonedx", &inv));
        let now = DocumentInfo::now();
        assert_eq!(now.document_uuid("spdx", &inv).get_version_num(), 4);
        assert_ne!(
            now.document_uuid("spdx", &inv),
            now.document_uuid("spdx", &inv)
        );
        assert!(now.timestamp().ends_with('Z'));
    }
}
