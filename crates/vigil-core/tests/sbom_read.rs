//! `read_sbom` on SBOMs made by the real tools: Trivy 0.59.1 and Syft 1.18.1, each as
//! CycloneDX and SPDX JSON, of the Debian bookworm fixture's root filesystem (debootstrap
//! minbase with python3 and nginx-light, 8 pip packages, an npm app).
//!
//! `scripts/fixtures/sbom-inputs` (run by `scripts/test`) makes them under
//! `$VIGIL_FIXTURES/sbom-inputs-v1` (default `/var/cache/vigil-fixtures`), with a copy of
//! the fixture's `expected/` package lists: what `dpkg-query`, Python's
//! `importlib.metadata` and `npm ls` say is installed, the sets Vigil's own `vigil sbom`
//! is tested against, and `dpkg-query`'s `${source:Package} ${source:Version}` of each
//! Debian package. Each SBOM read back must give the OS (Debian 12), every one of those
//! packages with the same version, and each Debian package's source package as dpkg
//! names it (`libssl3` from `openssl`).
//!
//! Without the fixture the test prints that it is skipped and why (and fails when
//! `VIGIL_REQUIRE_SERVICES=1` or `CI=true`, where `scripts/test` has made it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use vigil_core::format::read_sbom;
use vigil_core::package::pep503_normalize;
use vigil_core::{Ecosystem, Inventory, Package};

/// The fixture folder, or `None` after saying why.
fn fixtures(test: &str) -> Option<PathBuf> {
    let base = std::env::var_os("VIGIL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/vigil-fixtures"));
    let root = base.join("sbom-inputs-v1");
    if root.join(".complete").is_file() {
        return Some(root);
    }
    let why = format!(
        "the Trivy and Syft SBOMs of the Debian fixture are not at {} \
         (scripts/fixtures/sbom-inputs makes them)",
        root.display()
    );
    if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
    {
        panic!("{test}: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
    None
}

/// `name version` lines of an expected list.
fn expected(root: &std::path::Path, file: &str) -> BTreeMap<String, String> {
    let path = root.join("expected").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect()
}

fn of(inv: &Inventory, eco: Ecosystem) -> Vec<&Package> {
    inv.packages.iter().filter(|p| p.ecosystem == eco).collect()
}

#[test]
fn sboms_from_trivy_and_syft() {
    let Some(root) = fixtures("sboms_from_trivy_and_syft") else {
        return;
    };
    let dpkg = expected(&root, "dpkg.txt");
    let pip = expected(&root, "pip.txt");
    let npm = expected(&root, "npm.txt");
    let sources: BTreeMap<String, (String, String)> = expected(&root, "dpkg-source.txt")
        .into_iter()
        .filter_map(|(pkg, rest)| {
            let (n, v) = rest.split_once(' ')?;
            Some((pkg, (n.to_string(), v.to_string())))
        })
        .collect();
    assert_eq!(sources.len(), dpkg.len());
    assert!(dpkg.len() > 100 && pip.len() == 8 && npm.len() > 50);

    for file in [
        "trivy.cdx.json",
        "trivy.spdx.json",
        "syft.cdx.json",
        "syft.spdx.json",
    ] {
        let path = root.join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reference = format!("sbom:{}", path.display());
        let inv = read_sbom(&bytes, &reference).unwrap_or_else(|e| panic!("{file}: {e}"));
        let counts: Vec<String> = inv
            .counts()
            .iter()
            .map(|(e, n)| format!("{e} {n}"))
            .collect();
        eprintln!(
            "{file}: {} packages ({}), os {:?}, {} warnings",
            inv.packages.len(),
            counts.join(", "),
            inv.os
                .as_ref()
                .map(|o| format!("{} {}", o.id, o.version_id)),
            inv.warnings.len()
        );

        assert_eq!(inv.target.kind, "sbom", "{file}");
        assert_eq!(inv.target.reference, reference, "{file}");
        assert!(!inv.target.name.is_empty(), "{file}");
        let os = inv.os.as_ref().unwrap_or_else(|| panic!("{file}: no OS"));
        assert_eq!(
            (os.id.as_str(), os.version_id.as_str()),
            ("debian", "12"),
            "{file}"
        );
        assert!(inv.complete, "{file}: {:?}", inv.warnings);
        assert!(inv.warnings.is_empty(), "{file}: {:?}", inv.warnings);

        // Debian: every installed package, at dpkg's version (epochs included), each once
        // or nearly: a tool may list a package twice (different paths), never many more.
        let debs = of(&inv, Ecosystem::Deb);
        let got: BTreeMap<&str, &str> = debs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        for (name, version) in &dpkg {
            assert_eq!(
                got.get(name.as_str()),
                Some(&version.as_str()),
                "{file}: deb {name}"
            );
        }
        assert!(
            debs.len() >= dpkg.len() && debs.len() <= dpkg.len() + dpkg.len() / 20,
            "{file}: {} deb packages for {} installed",
            debs.len(),
            dpkg.len()
        );
        assert!(got.contains_key("bash"), "{file}");
        for p in &debs {
            assert!(p.arch.is_some(), "{file}: {} has no arch", p.name);
            assert!(p.purl.starts_with("pkg:deb/debian/"), "{file}: {}", p.purl);
        }
        let libssl = debs
            .iter()
            .find(|p| p.name == "libssl3")
            .unwrap_or_else(|| panic!("{file}: no libssl3"));
        let src = libssl
            .source
            .as_ref()
            .unwrap_or_else(|| panic!("{file}: libssl3 has no source package"));
        assert_eq!(src.name, "openssl", "{file}");
        assert_eq!(src.version, libssl.version, "{file}");
        // util-linux's binaries carry an epoch its source does not.
        let bsd = debs
            .iter()
            .find(|p| p.name == "bsdutils")
            .unwrap_or_else(|| panic!("{file}: no bsdutils"));
        assert!(bsd.version.starts_with("1:"), "{file}: {}", bsd.version);
        assert_eq!(
            bsd.source.as_ref().map(|s| s.name.as_str()),
            Some("util-linux"),
            "{file}"
        );
        // Every Debian package has the source package dpkg names (itself, when its
        // record has no `Source:`), at dpkg's source version.
        for p in &debs {
            let src = p
                .source
                .as_ref()
                .map(|s| (s.name.as_str(), s.version.as_str()));
            let want = sources.get(&p.name).map(|(n, v)| (n.as_str(), v.as_str()));
            assert_eq!(src, want, "{file}: source of {}", p.name);
        }
        let bash = debs.iter().find(|p| p.name == "bash");
        assert_eq!(
            bash.and_then(|p| p.source.as_ref())
                .map(|s| s.name.as_str()),
            Some("bash"),
            "{file}"
        );

        // Python: the 8 pip packages, same versions; the names as the metadata spells them
        // where the SBOM keeps that spelling.
        let pypi: BTreeMap<String, &Package> = of(&inv, Ecosystem::Pypi)
            .into_iter()
            .map(|p| (pep503_normalize(&p.name), p))
            .collect();
        assert_eq!(pypi.len(), pip.len(), "{file}: {:?}", pypi.keys());
        for (name, version) in &pip {
            let p = pypi
                .get(&pep503_normalize(name))
                .unwrap_or_else(|| panic!("{file}: no pypi {name}"));
            assert_eq!(&p.version, version, "{file}: pypi {name}");
            assert!(
                p.location
                    .path
                    .starts_with("/usr/local/lib/python3.11/site-packages/"),
                "{file}: {name} at {:?}",
                p.location.path
            );
        }
        for name in ["flask", "jinja2", "pyyaml"] {
            assert!(pypi.contains_key(name), "{file}: {name}");
        }

        // npm: every package `npm ls` lists, at its version.
        let js: BTreeSet<(&str, &str)> = of(&inv, Ecosystem::Npm)
            .into_iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        for (name, version) in &npm {
            assert!(
                js.contains(&(name.as_str(), version.as_str())),
                "{file}: npm {name} {version}"
            );
        }
        assert!(
            js.len() <= npm.len() + 2,
            "{file}: {} npm packages",
            js.len()
        );

        // Nothing else: the fixture has no other ecosystems.
        assert_eq!(
            inv.packages.len(),
            debs.len() + pypi.len() + of(&inv, Ecosystem::Npm).len(),
            "{file}"
        );
    }
}
