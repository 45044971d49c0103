//! Output formats for inventories, vulnerability reports and alerts. Each format is one
//! file with one `write` function.

use crate::{Inventory, VulnReport};
use std::io::{self, Write};

mod advisory;
pub mod cyclonedx;
pub mod cyclonedx_vuln;
pub mod json;
mod license;
pub mod ocsf;
pub mod posture_sarif;
pub mod posture_table;
pub mod sarif;
mod sbom;
pub mod sbom_read;
pub mod spdx;
pub mod table;
pub mod text;
pub mod vuln_table;

pub use sbom::DocumentInfo;
pub use sbom_read::{SbomReadError, read_sbom};

/// The formats `vigil sbom --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    /// A human-readable table.
    Table,
    /// Vigil's own JSON schema (the [`Inventory`] type).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

impl InventoryFormat {
    /// The names accepted on the command line, in the order `--help` lists them
    /// (aliases last).
    pub const NAMES: &'static [&'static str] = &[
        "table",
        "json",
        "cyclonedx",
        "spdx",
        "cyclonedx-json",
        "spdx-json",
    ];

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<InventoryFormat> {
        match name {
            "table" => Some(InventoryFormat::Table),
            "json" => Some(InventoryFormat::Json),
            "cyclonedx" | "cyclonedx-json" => Some(InventoryFormat::Cyclonedx),
            "spdx" | "spdx-json" => Some(InventoryFormat::Spdx),
            _ => None,
        }
    }
}

/// Writes `inventory` in `format`. SBOM formats take their time and identifiers from
/// [`DocumentInfo::from_env`] (`SOURCE_DATE_EPOCH` makes them reproducible).
pub fn write_inventory(
    format: InventoryFormat,
    inventory: &Inventory,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        InventoryFormat::Table => table::write(inventory, out),
        InventoryFormat::Json => json::write(inventory, out),
        InventoryFormat::Cyclonedx => cyclonedx::write(inventory, &DocumentInfo::from_env()?, out),
        InventoryFormat::Spdx => spdx::write(inventory, &DocumentInfo::from_env()?, out),
    }
}

/// The formats `vigil image --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VulnFormat {
    /// A human-readable table of findings.
    Table,
    /// Vigil's own JSON schema (the [`VulnReport`] type).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF readers.
    Sarif,
    /// CycloneDX 1.6 JSON: the inventory's components plus `vulnerabilities`.
    Cyclonedx,
}

impl VulnFormat {
    /// The names accepted on the command line, in the order `--help` lists them
    /// (aliases last).
    pub const NAMES: &'static [&'static str] =
        &["table", "json", "sarif", "cyclonedx", "cyclonedx-json"];

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<VulnFormat> {
        match name {
            "table" => Some(VulnFormat::Table),
            "json" => Some(VulnFormat::Json),
            "sarif" => Some(VulnFormat::Sarif),
            "cyclonedx" | "cyclonedx-json" => Some(VulnFormat::Cyclonedx),
            _ => None,
        }
    }
}

/// Writes `report` in `format`. The table is plain text (call [`vuln_table::write`] to
/// colour it on a terminal); CycloneDX takes its time and identifiers from
/// [`DocumentInfo::from_env`].
pub fn write_report(
    format: VulnFormat,
    report: &VulnReport,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        VulnFormat::Table => vuln_table::write(report, false, out),
        VulnFormat::Json => json::write(report, out),
        VulnFormat::Sarif => sarif::write(report, out),
        VulnFormat::Cyclonedx => cyclonedx_vuln::write(report, &DocumentInfo::from_env()?, out),
    }
}

/// Formats of `vigil k8s scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostureFormat {
    /// Counts per check and one row per finding, then the attack paths.
    Table,
    /// The [`crate::PostureReport`] as JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

impl PostureFormat {
    /// The names accepted on the command line.
    pub const NAMES: &'static [&'static str] = &["table", "json", "sarif"];

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<PostureFormat> {
        match name {
            "table" => Some(PostureFormat::Table),
            "json" => Some(PostureFormat::Json),
            "sarif" => Some(PostureFormat::Sarif),
            _ => None,
        }
    }
}

/// Writes a posture report in `format` (the table uncoloured; call
/// [`posture_table::write`] to colour it).
pub fn write_posture(
    format: PostureFormat,
    report: &crate::PostureReport,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        PostureFormat::Table => posture_table::write(report, false, out),
        PostureFormat::Json => json::write(report, out),
        PostureFormat::Sarif => posture_sarif::write(report, out),
    }
}

/// A small hand-made report shared by the formats' unit tests.
#[cfg(test)]
pub(crate) mod testdata {
    /// A posture report with a critical RBAC finding on a cluster subject, a low finding
    /// read from a manifest, an attack path and a gap.
    pub fn posture_report() -> crate::PostureReport {
        use crate::{
            AttackPath, Evidence, Finding, PathStep, PostureReport, PostureTarget, ResourceRef,
        };
        let sa = ResourceRef {
            cluster: "prod".into(),
            api_version: "v1".into(),
            kind: "ServiceAccount".into(),
            namespace: "ci".into(),
            name: "deployer".into(),
            uid: String::new(),
        };
        let web = ResourceRef {
            kind: "Deployment".into(),
            api_version: "apps/v1".into(),
            name: "web".into(),
            ..sa.clone()
        };
        let finding =
            |check: &str, severity, resource: &ResourceRef, location: Option<&str>| Finding {
                id: Finding::stable_id(check, resource),
                check_id: check.into(),
                severity,
                title: format!("{check} title"),
                resource: resource.clone(),
                evidence: vec![Evidence {
                    path: "spec".into(),
                    value: "x".into(),
                }],
                remediation: "fix it".into(),
                controls: vec!["CIS-5.1.1".into()],
                location: location.map(String::from),
            };
        PostureReport {
            schema_version: crate::posture::POSTURE_REPORT_SCHEMA_VERSION,
            target: PostureTarget {
                source: "cluster".into(),
                name: "prod".into(),
                server_version: Some("v1.31.2".into()),
                taken_at: Some("2026-11-29T12:00:00Z".into()),
                objects: 3,
            },
            partial: vec!["secrets: forbidden".into()],
            findings: vec![
                finding("K8S-rbac-cluster-admin", Severity::Critical, &sa, None),
                finding(
                    "K8S-hygiene-no-digest",
                    Severity::Low,
                    &web,
                    Some("./deploy/web app.yaml"),
                ),
            ],
            attack_paths: vec![AttackPath {
                id: "p1".into(),
                title: "Internet to cluster-admin".into(),
                severity: Severity::Critical,
                risk: 9.0,
                steps: vec![
                    PathStep {
                        resource: web.clone(),
                        description: "exposed".into(),
                        findings: vec![],
                    },
                    PathStep {
                        resource: sa.clone(),
                        description: "holds cluster-admin".into(),
                        findings: vec![],
                    },
                ],
            }],
        }
    }

    use crate::{
        Cvss, DatabaseInfo, Ecosystem, Inventory, MatchedPackage, OsInfo, Package, Severity,
        SourcePackage, TargetInfo, VulnMatch, VulnReport, VulnStatus,
    };

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn deb(name: &str, version: &str) -> Package {
        let mut p = Package::new(Ecosystem::Deb, name, version, "dpkg", "var/lib/dpkg/status");
        p.purl = crate::package::purl(
            Ecosystem::Deb,
            name,
            version,
            Some("debian"),
            &[("arch", "amd64"), ("distro", "debian-12")],
        );
        p.source = Some(SourcePackage {
            name: "openssl".into(),
            version: version.into(),
        });
        p.location.layer = Some("sha256:aa".into());
        p
    }

    fn matched(p: &Package) -> MatchedPackage {
        MatchedPackage {
            ecosystem: p.ecosystem,
            name: p.name.clone(),
            version: p.version.clone(),
            purl: p.purl.clone(),
            source_name: p.source.as_ref().map(|s| s.name.clone()),
            locations: vec![p.location.clone()],
        }
    }

    fn finding(p: &Package, id: &str, severity: Severity, status: VulnStatus) -> VulnMatch {
        VulnMatch {
            package: matched(p),
            id: id.into(),
            aliases: Vec::new(),
            title: String::new(),
            severity,
            cvss: Vec::new(),
            fixed_versions: Vec::new(),
            status,
            sources: vec!["debian-tracker".into()],
            url: None,
            published: None,
        }
    }

    fn cvss(version: &str, vector: &str, score: f64) -> Cvss {
        Cvss {
            version: version.into(),
            vector: vector.into(),
            score,
            source: "nvd".into(),
        }
    }

    /// A registry image on Debian 12 with OS, PyPI and npm packages (lodash at two
    /// paths) and findings of every kind: two packages with one CVE, aliases, CVSS 3.1
    /// and 4.0, a distro severity below the CVSS one, no CVSS at all, each status that
    /// changes what a format writes.
    pub(crate) fn report() -> VulnReport {
        let libssl = deb("libssl3", "3.0.11-1~deb12u2");
        let openssl = deb("openssl", "3.0.11-1~deb12u2");
        let requests = Package::new(
            Ecosystem::Pypi,
            "requests",
            "2.31.0",
            "python-dist-info",
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
        );
        let lodash_a = Package::new(
            Ecosystem::Npm,
            "lodash",
            "4.17.20",
            "node-installed",
            "srv/app/node_modules/lodash/package.json",
        );
        let lodash_b = Package::new(
            Ecosystem::Npm,
            "lodash",
            "4.17.20",
            "node-installed",
            "srv/other app/node_modules/lodash/package.json",
        );

        let v31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let title = "OpenSSL: a very long title that goes on about the PKCS12 parser and the null pointer it dereferences";
        let mut crit_a = finding(
            &libssl,
            "CVE-2024-0001",
            Severity::Critical,
            VulnStatus::Fixed,
        );
        crit_a.title = title.into();
        crit_a.cvss = vec![cvss("3.1", v31, 9.8)];
        crit_a.fixed_versions = vec!["3.0.13-1~deb12u1".into()];
        crit_a.url = Some("https://security-tracker.debian.org/tracker/CVE-2024-0001".into());
        crit_a.published = Some("2024-01-26T09:15:00Z".into());
        let mut crit_b = crit_a.clone();
        crit_b.package = matched(&openssl);

        let mut high = finding(
            &lodash_a,
            "CVE-2021-23337",
            Severity::High,
            VulnStatus::Fixed,
        );
        high.package.locations.push(lodash_b.location.clone());
        high.title = "Command Injection in lodash".into();
        high.aliases = vec!["GHSA-35jh-r3h4-6jhm".into()];
        high.cvss = vec![cvss(
            "3.1",
            "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
            7.2,
        )];
        high.fixed_versions = vec!["4.17.21".into()];
        high.sources = vec!["osv:npm".into()];
        high.url = Some("https://osv.dev/vulnerability/GHSA-35jh-r3h4-6jhm".into());
        high.published = Some("2021-02-15".into());

        let mut medium = finding(
            &requests,
            "CVE-2024-35195",
            Severity::Medium,
            VulnStatus::Fixed,
        );
        medium.title = "Requests `Session` object does not verify requests after making first request with verify=False"
            .into();
        medium.aliases = vec!["GHSA-9wx4-h78v-vm56".into(), "PYSEC-2024-60".into()];
        medium.cvss = vec![
            cvss("3.1", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N", 5.6),
            cvss(
                "4.0",
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N",
                6.8,
            ),
        ];
        medium.fixed_versions = vec!["2.32.0".into()];
        medium.sources = vec!["osv:PyPI".into()];

        // The distribution rates it low though its CVSS says high, and will not fix it.
        let mut low = finding(
            &libssl,
            "CVE-2023-9999",
            Severity::Low,
            VulnStatus::WillNotFix,
        );
        low.title = "minor issue".into();
        low.cvss = vec![cvss(
            "3.1",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
            7.5,
        )];

        let unknown = finding(
            &libssl,
            "TEMP-0000000-ABCDEF",
            Severity::Unknown,
            VulnStatus::UnderInvestigation,
        );
        let not_affected = finding(
            &openssl,
            "CVE-2022-1111",
            Severity::Unknown,
            VulnStatus::NotAffected,
        );

        VulnReport {
            schema_version: crate::VULN_REPORT_SCHEMA_VERSION,
            inventory: Inventory {
                schema_version: crate::INVENTORY_SCHEMA_VERSION,
                target: TargetInfo {
                    kind: "registry".into(),
                    reference: "registry:localhost:5000/app:1".into(),
                    name: "localhost:5000/app:1".into(),
                },
                manifest_digest: Some(DIGEST.into()),
                platform: Some("linux/amd64".into()),
                os: Some(OsInfo {
                    id: "debian".into(),
                    version_id: "12".into(),
                    codename: Some("bookworm".into()),
                    pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                    ..OsInfo::default()
                }),
                packages: vec![libssl, openssl, requests, lodash_a, lodash_b],
                complete: true,
                ..Inventory::default()
            },
            matches: vec![crit_a, crit_b, high, medium, low, unknown, not_affected],
            database: DatabaseInfo {
                sources: vec!["debian-tracker".into(), "osv:PyPI".into(), "osv:npm".into()],
                updated: Some("2024-06-01T00:00:00Z".into()),
            },
        }
    }

    #[test]
    fn the_sample_is_consistent() {
        let r = report();
        assert_eq!(r.matches.len(), 7);
        assert_eq!(r.matches[0].max_cvss_score(), Some(9.8));
        assert_eq!(r.matches[3].max_cvss_score(), Some(6.8));
        assert_eq!(r.matches[5].max_cvss_score(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses() {
        for name in InventoryFormat::NAMES {
            assert!(InventoryFormat::from_name(name).is_some(), "{name}");
        }
        assert_eq!(
            InventoryFormat::from_name("cyclonedx-json"),
            Some(InventoryFormat::Cyclonedx)
        );
        assert_eq!(
            InventoryFormat::from_name("spdx-json"),
            Some(InventoryFormat::Spdx)
        );
        assert_eq!(InventoryFormat::from_name("xml"), None);
        for name in VulnFormat::NAMES {
            assert!(VulnFormat::from_name(name).is_some(), "{name}");
        }
        assert_eq!(VulnFormat::from_name("sarif"), Some(VulnFormat::Sarif));
        assert_eq!(VulnFormat::from_name("spdx"), None);
    }

    #[test]
    fn json_is_the_report_as_is() {
        let report = testdata::report();
        let mut buf = Vec::new();
        write_report(VulnFormat::Json, &report, &mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert!(buf.ends_with(b"}\n"));
        let back: VulnReport = serde_json::from_slice(&buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
    }
}
