//! Which advisories apply to a package: the OSV ecosystem (with the OS release for
//! distribution packages), the name to look up, the version to compare, and its ordering.
//! One arm per packaging system, as Grype keeps one matcher per ecosystem.

use crate::version::Scheme;
use vigil_core::{Ecosystem, OsInfo, Package};

/// What to look up for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The stored ecosystem key ([`lookup_ecosystem`]): `Debian:12`, `Alpine:v3.19`, `PyPI`.
    pub ecosystem: String,
    /// The normalized name; the source package for distributions that key advisories by it.
    pub name: String,
    /// The version to compare (the source version for Debian source packages).
    pub version: String,
    /// The ordering.
    pub scheme: Scheme,
    /// Set when `name` is a source package other than the package's own name.
    pub source_name: Option<String>,
}

/// Why a package has no query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// An OS package on a distribution Vigil has no advisory ecosystem for.
    UnsupportedOs(String),
    /// The package has no version.
    NoVersion,
}

/// The key the store files an ecosystem under: OSV's Ubuntu ecosystems carry a `:LTS`
/// suffix that images do not, so it is dropped.
pub fn lookup_ecosystem(ecosystem: &str) -> String {
    ecosystem
        .strip_suffix(":LTS")
        .unwrap_or(ecosystem)
        .to_owned()
}

/// The query for `package` in an image running `os`.
pub fn query(package: &Package, os: Option<&OsInfo>) -> Result<Query, Unmatched> {
    if package.version.is_empty() {
        return Err(Unmatched::NoVersion);
    }
    if !package.ecosystem.is_os() {
        let Some(eco) = package.ecosystem.osv_name() else {
            return Err(Unmatched::UnsupportedOs(package.ecosystem.as_str().into()));
        };
        let scheme = Scheme::for_osv_ecosystem(eco).ok_or(Unmatched::NoVersion)?;
        return Ok(Query {
            ecosystem: eco.into(),
            name: crate::normalize_name(eco, &package.name),
            version: package.version.clone(),
            scheme,
            source_name: None,
        });
    }
    let os_name = os.map_or("unknown", |o| o.id.as_str());
    let ecosystem = os
        .and_then(|os| distro_ecosystem(package.ecosystem, os))
        .ok_or_else(|| Unmatched::UnsupportedOs(os_name.into()))?;
    let scheme = Scheme::for_osv_ecosystem(&ecosystem)
        .ok_or_else(|| Unmatched::UnsupportedOs(os_name.into()))?;
    // Debian, Ubuntu and Alpine key advisories by source package; the fixed versions are
    // source versions (a binNMU's `+b1` is not a different fix).
    let source = package.source.as_ref().filter(|s| !s.name.is_empty());
    let name = source.map_or(package.name.as_str(), |s| s.name.as_str());
    let version = match (package.ecosystem, source) {
        (Ecosystem::Deb, Some(s)) if !s.version.is_empty() => s.version.clone(),
        _ => package.version.clone(),
    };
    Ok(Query {
        ecosystem,
        name: name.to_owned(),
        version,
        scheme,
        source_name: (name != package.name).then(|| name.to_owned()),
    })
}

/// `Debian:12`, `Ubuntu:22.04`, `Alpine:v3.19`, ... from the image's os-release.
fn distro_ecosystem(format: Ecosystem, os: &OsInfo) -> Option<String> {
    let major = os.version_id.split('.').next().unwrap_or_default();
    let major_minor = os
        .version_id
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let id = if os.distroless {
        "debian"
    } else {
        os.id.as_str()
    };
    Some(match (format, id) {
        (Ecosystem::Deb, "debian") if major.is_empty() => "Debian:sid".into(),
        (Ecosystem::Deb, "debian") => format!("Debian:{major}"),
        (Ecosystem::Deb, "ubuntu") => format!("Ubuntu:{}", os.version_id),
        (Ecosystem::Apk, "alpine") => format!("Alpine:v{major_minor}"),
        (Ecosystem::Apk, "wolfi") => "Wolfi".into(),
        (Ecosystem::Apk, "chainguard") => "Chainguard".into(),
        (Ecosystem::Rpm, "rocky") => format!("Rocky Linux:{major}"),
        (Ecosystem::Rpm, "almalinux") => format!("AlmaLinux:{major}"),
        (Ecosystem::Rpm, "opensuse-leap") => format!("openSUSE:Leap {}", os.version_id),
        (Ecosystem::Rpm, "mageia") => format!("Mageia:{}", os.version_id),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::SourcePackage;

    fn os(id: &str, version: &str) -> OsInfo {
        OsInfo {
            id: id.into(),
            version_id: version.into(),
            ..OsInfo::default()
        }
    }

    #[test]
    fn distro_packages_use_the_release_and_source_package() {
        let mut libssl = Package::new(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1~deb12u2+b1",
            "dpkg",
            "/x",
        );
        libssl.source = Some(SourcePackage {
            name: "openssl".into(),
            version: "3.0.11-1~deb12u2".into(),
        });
        let q = query(&libssl, Some(&os("debian", "12"))).unwrap();
        assert_eq!(
            (q.ecosystem.as_str(), q.name.as_str(), q.version.as_str()),
            ("Debian:12", "openssl", "3.0.11-1~deb12u2")
        );
        assert_eq!(q.source_name.as_deref(), Some("openssl"));

        let musl = Package::new(Ecosystem::Apk, "musl", "1.1.24-r2", "apk", "/x");
        let q = query(&musl, Some(&os("alpine", "3.11.6"))).unwrap();
        assert_eq!(q.ecosystem, "Alpine:v3.11");
        assert_eq!(q.scheme, Scheme::Apk);

        assert!(matches!(
            query(&musl, Some(&os("plan9", "4"))),
            Err(Unmatched::UnsupportedOs(_))
        ));
    }

    #[test]
    fn language_packages_use_normalized_names() {
        let p = Package::new(Ecosystem::Pypi, "PyYAML", "5.3.1", "python", "/x");
        let q = query(&p, None).unwrap();
        assert_eq!((q.ecosystem.as_str(), q.name.as_str()), ("PyPI", "pyyaml"));
        assert_eq!(lookup_ecosystem("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
    }
}
