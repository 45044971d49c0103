//! The matcher through the public API, on databases the tests write: alias merging across
//! sources, distribution release keys, and ranges that cannot be ordered.

use vigil_core::{Ecosystem, Inventory, OsInfo, Package, Severity, SourcePackage, VulnStatus};
use vigil_vulndb::matcher::match_inventory;
use vigil_vulndb::{Advisory, Affected, Database, Event, Range, RangeKind};

fn advisory(id: &str, source: &str, aliases: &[&str], affected: Vec<Affected>) -> Advisory {
    Advisory {
        id: id.into(),
        source: source.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        summary: format!("summary of {id}"),
        severity: None,
        cvss: Vec::new(),
        url: None,
        published: None,
        modified: None,
        affected,
    }
}

fn fixed_in(ecosystem: &str, name: &str, fixed: &str) -> Affected {
    Affected {
        ecosystem: ecosystem.into(),
        name: name.into(),
        ranges: vec![Range {
            kind: RangeKind::Ecosystem,
            events: vec![Event::Introduced("0".into()), Event::Fixed(fixed.into())],
        }],
        versions: Vec::new(),
        status: None,
        severity: None,
    }
}

fn database(advisories: &[(&str, Advisory)]) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let mut db = Database::create(&path).unwrap();
        let writer = db.writer().unwrap();
        for (feed, a) in advisories {
            writer.put(feed, a).unwrap();
            writer.mark_source(feed, "test", None, None).unwrap();
        }
        writer.commit().unwrap();
    }
    let db = Database::open(&path).unwrap();
    (dir, db)
}

fn inventory(packages: Vec<Package>, os: Option<OsInfo>) -> Inventory {
    Inventory {
        packages,
        os,
        ..Inventory::default()
    }
}

#[test]
fn one_vulnerability_from_several_sources_is_one_finding() {
    let mut ghsa = advisory(
        "GHSA-8q59-q68h-6hv4",
        "osv:GHSA",
        &["CVE-2020-14343"],
        vec![fixed_in("PyPI", "pyyaml", "5.4")],
    );
    ghsa.cvss = vec!["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()];
    let pysec = advisory(
        "PYSEC-2021-142",
        "osv:PYSEC",
        &["CVE-2020-14343", "GHSA-8q59-q68h-6hv4"],
        vec![fixed_in("PyPI", "pyyaml", "5.4")],
    );
    // Joined only through the PYSEC record's alias list: merging is transitive.
    let other = advisory(
        "OTHER-1",
        "osv:OTHER",
        &["PYSEC-2021-142"],
        vec![fixed_in("PyPI", "pyyaml", "5.4.1")],
    );
    let unrelated = advisory(
        "PYSEC-2020-96",
        "osv:PYSEC",
        &["CVE-2020-1747"],
        vec![fixed_in("PyPI", "pyyaml", "5.3.1")],
    );
    let (_dir, db) = database(&[
        ("osv:PyPI", ghsa),
        ("osv:PyPI", pysec),
        ("osv:PyPI", other),
        ("osv:PyPI", unrelated),
    ]);
    let inv = inventory(
        vec![Package::new(
            Ecosystem::Pypi,
            "PyYAML",
            "5.3.1",
            "python",
            "/x",
        )],
        None,
    );
    let outcome = match_inventory(&db, &inv).unwrap();
    assert_eq!(outcome.matches.len(), 1, "{:#?}", outcome.matches);
    let m = &outcome.matches[0];
    assert_eq!(m.id, "CVE-2020-14343");
    assert_eq!(
        m.aliases,
        ["GHSA-8q59-q68h-6hv4", "OTHER-1", "PYSEC-2021-142"]
    );
    assert_eq!(m.sources, ["osv:GHSA", "osv:OTHER", "osv:PYSEC"]);
    assert_eq!(m.fixed_versions, ["5.4", "5.4.1"]);
    assert_eq!(m.severity, Severity::Critical);
    assert_eq!(m.cvss[0].score, 9.8);
    assert_eq!(m.status, VulnStatus::Fixed);
}

#[test]
fn distro_packages_match_their_release_only() {
    let a = advisory(
        "CVE-2023-0286",
        "debian-tracker",
        &[],
        vec![
            fixed_in("Debian:12", "openssl", "3.0.8-1"),
            fixed_in("Debian:11", "openssl", "1.1.1n-0+deb11u4"),
        ],
    );
    let (_dir, db) = database(&[("debian-tracker", a)]);
    let mut libssl = Package::new(
        Ecosystem::Deb,
        "libssl3",
        "3.0.7-1",
        "dpkg",
        "/var/lib/dpkg/status",
    );
    libssl.source = Some(SourcePackage {
        name: "openssl".into(),
        version: String::new(),
    });
    let bookworm = OsInfo {
        id: "debian".into(),
        version_id: "12".into(),
        ..OsInfo::default()
    };
    let found = match_inventory(&db, &inventory(vec![libssl.clone()], Some(bookworm))).unwrap();
    assert_eq!(found.matches.len(), 1);
    assert_eq!(found.matches[0].fixed_versions, ["3.0.8-1"]);
    assert_eq!(
        found.matches[0].package.source_name.as_deref(),
        Some("openssl")
    );

    let ubuntu = OsInfo {
        id: "ubuntu".into(),
        version_id: "22.04".into(),
        ..OsInfo::default()
    };
    let none = match_inventory(&db, &inventory(vec![libssl.clone()], Some(ubuntu))).unwrap();
    assert!(
        none.matches.is_empty(),
        "Debian advisories never apply to Ubuntu"
    );

    let plan9 = OsInfo {
        id: "plan9".into(),
        ..OsInfo::default()
    };
    let uncovered = match_inventory(&db, &inventory(vec![libssl], Some(plan9))).unwrap();
    assert_eq!(uncovered.uncovered.get("OS plan9"), Some(&1));
}

#[test]
fn an_unorderable_version_is_a_warning_not_a_finding() {
    let a = advisory(
        "GHSA-x",
        "osv:GHSA",
        &[],
        vec![fixed_in("npm", "left-pad", "1.3.0")],
    );
    let (_dir, db) = database(&[("osv:npm", a)]);
    let inv = inventory(
        vec![Package::new(
            Ecosystem::Npm,
            "left-pad",
            "not-a-version",
            "npm",
            "/app/package-lock.json",
        )],
        None,
    );
    let outcome = match_inventory(&db, &inv).unwrap();
    assert!(outcome.matches.is_empty());
    assert_eq!(outcome.warnings.len(), 1);
    assert!(
        outcome.warnings[0].message.contains("GHSA-x"),
        "{:?}",
        outcome.warnings
    );
    assert_eq!(outcome.warnings[0].path, "/app/package-lock.json");
}
