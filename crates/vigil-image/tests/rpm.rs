//! The rpm analyzer against databases written by real rpm and real Berkeley DB.
//!
//! `tests/fixtures/rpm/make-fixtures.sh` builds small packages with Debian's `rpmbuild`,
//! installs them with `rpm` into an image root (an `rpmdb.sqlite`), records `rpm -qa`
//! and `rpm -qal` of it, and writes the same headers as Berkeley DB hash files (with
//! `db5.3_load`, each read back by rpm's `bdb_ro` backend) and as an ndb file. The result
//! is cached under /var/cache/vigil-fixtures/rpm/, keyed by the fixture sources' hash.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use vigil_core::Package;
use vigil_image::analyzer::rpm::RpmDb;
use vigil_image::analyzer::{Analyzer, FileInfo, Found};

const TOOLS: [&str; 5] = ["rpmbuild", "rpm", "db5.3_load", "gpg", "/usr/bin/python3"];

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The fixture folder, built once per source version; `None` (after saying why) when the
/// tools are missing, which `scripts/test` installs.
fn fixtures() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let missing: Vec<_> = TOOLS.iter().filter(|t| !have(t)).collect();
        if !missing.is_empty() {
            eprintln!(
                "SKIPPED: rpm fixtures need {missing:?} (Debian packages rpm, db5.3-util, gpg, \
                 python3; scripts/test installs them)"
            );
            return None;
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpm");
        let mut names: Vec<_> = std::fs::read_dir(&src)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let mut hash = Sha256::new();
        for path in &names {
            hash.update(path.file_name().unwrap().as_encoded_bytes());
            hash.update(std::fs::read(path).unwrap());
        }
        let key = hex::encode(&hash.finalize()[..8]);
        let cache = [
            PathBuf::from("/var/cache/vigil-fixtures/rpm"),
            std::env::temp_dir().join("vigil-fixtures/rpm"),
        ]
        .into_iter()
        .find(|d| std::fs::create_dir_all(d).is_ok())
        .unwrap();
        let out = cache.join(key);
        if !out.join("expected.txt").exists() {
            let status = Command::new("bash")
                .arg(src.join("make-fixtures.sh"))
                .arg(&out)
                .status()
                .unwrap();
            assert!(status.success(), "make-fixtures.sh failed");
        }
        Some(out)
    })
    .as_deref()
}

fn analyze(path: &str, file: &Path) -> Found {
    let content = std::fs::read(file).unwrap();
    let info = FileInfo {
        path,
        size: content.len() as u64,
        mode: 0o644,
    };
    assert!(RpmDb.required(&info), "{path}");
    RpmDb.analyze(&info, &content).unwrap()
}

/// The database files of every format, with the image path each would have.
fn databases(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        (
            "var/lib/rpm/rpmdb.sqlite",
            dir.join("root/var/lib/rpm/rpmdb.sqlite"),
        ),
        ("var/lib/rpm/Packages", dir.join("bdb/Packages")),
        ("usr/share/rpm/Packages", dir.join("bdb-512-be/Packages")),
        (
            "usr/lib/sysimage/rpm/Packages",
            dir.join("bdb-64k/Packages"),
        ),
        ("var/lib/rpm/Packages", dir.join("bdb-chksum/Packages")),
        (
            "usr/lib/sysimage/rpm/Packages.db",
            dir.join("ndb/Packages.db"),
        ),
    ]
}

/// (name, version, arch, licenses, source name, source version).
type Row = (String, String, String, String, String, String);

fn row(p: &Package) -> Row {
    let src = p.source.clone().unwrap();
    (
        p.name.clone(),
        p.version.clone(),
        p.arch.clone().unwrap_or_default(),
        p.licenses.join(";"),
        src.name,
        src.version,
    )
}

fn rows(found: &Found) -> Vec<Row> {
    let mut rows: Vec<_> = found.packages.iter().map(row).collect();
    rows.sort();
    rows
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn every_format_gives_rpms_own_answer() {
    let Some(dir) = fixtures() else { return };
    let expected: Vec<Row> = vec![
        (
            s("vigil-big"),
            s("3.1.0~rc1-7"),
            s("noarch"),
            s("BSD-3-Clause"),
            s("vigil-big"),
            s("3.1.0~rc1-7"),
        ),
        (
            s("vigil-foo"),
            s("0.9-1.fc99"),
            s("x86_64"),
            s("GPL-2.0-or-later"),
            s("vigil-foo"),
            s("0.9-1.fc99"),
        ),
        (
            s("vigil-hello"),
            s("2:1.4.2-3.vg1"),
            s("noarch"),
            s("MIT AND Apache-2.0"),
            s("vigil-hello"),
            s("2:1.4.2-3.vg1"),
        ),
        (
            s("vigil-libfoo"),
            s("0.9-1.fc99"),
            s("x86_64"),
            s("LGPL-2.1-only"),
            s("vigil-foo"),
            s("0.9-1.fc99"),
        ),
    ];
    // rpm's own listing says the same (the gpg-pubkey aside).
    let mut from_rpm: Vec<Row> = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("gpg-pubkey|"))
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let evr = |v: &str, r: &str| match f[1] {
                "(none)" | "0" => format!("{v}-{r}"),
                e => format!("{e}:{v}-{r}"),
            };
            let srpm = f[5].trim_end_matches(".src.rpm");
            let src_name = srpm
                .strip_suffix(&format!("-{}-{}", f[2], f[3]))
                .unwrap()
                .to_string();
            (
                s(f[0]),
                evr(f[2], f[3]),
                s(f[4]),
                s(f[6]),
                src_name,
                evr(f[2], f[3]),
            )
        })
        .collect();
    from_rpm.sort();
    assert_eq!(from_rpm, expected);
    let files: BTreeSet<String> = std::fs::read_to_string(dir.join("files.txt"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(str::to_string)
        .collect();
    // vigil-big: its folder, 12 subfolders, 300 files; vigil-hello: 2 folders, 2 files;
    // one file each for vigil-foo and vigil-libfoo.
    assert_eq!(files.len(), 313 + 4 + 1 + 1);
    for (path, file) in databases(dir) {
        let found = analyze(path, &file);
        assert!(found.warnings.is_empty(), "{file:?}: {:?}", found.warnings);
        assert_eq!(rows(&found), expected, "{file:?}");
        assert!(found.packages.iter().all(|p| p.found_by == "rpm"
            && p.ecosystem == vigil_core::Ecosystem::Rpm
            && p.location.path.is_empty()));
        let owned: BTreeSet<String> = found.owned_files.iter().cloned().collect();
        assert_eq!(owned.len(), found.owned_files.len(), "{file:?}: duplicates");
        assert!(
            owned == files,
            "{file:?}: {:?}",
            owned.symmetric_difference(&files)
        );
        assert!(owned.contains("/usr/lib/python3.11/site-packages/hello_rpm-1.0.dist-info"));
        assert!(owned.contains("/usr/lib64/libvigilfoo.so.0"));
    }
}

/// The image root rpm installed into, scanned as a whole: the Python distribution that
/// rpm installed is reported once, as part of its rpm package.
#[test]
fn scanning_the_installed_root() {
    let Some(dir) = fixtures() else { return };
    let root = dir.join("root");
    let inv = vigil_image::sbom(
        &format!("dir:{}", root.display()),
        &vigil_image::SourceOptions::default(),
    )
    .unwrap();
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let names: Vec<_> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem.as_str(),
                p.name.as_str(),
                p.location.path.as_str(),
            )
        })
        .collect();
    // Without the rpmdb, the Python analyzer does report the distribution rpm installed.
    let alone = tempfile::tempdir().unwrap();
    let site = "usr/lib/python3.11/site-packages/hello_rpm-1.0.dist-info";
    std::fs::create_dir_all(alone.path().join(site)).unwrap();
    std::fs::copy(
        root.join(site).join("METADATA"),
        alone.path().join(site).join("METADATA"),
    )
    .unwrap();
    let without = vigil_image::sbom(
        &format!("dir:{}", alone.path().display()),
        &vigil_image::SourceOptions::default(),
    )
    .unwrap();
    let pypi: Vec<_> = without.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pypi, ["hello-rpm"]);
    let db = "/var/lib/rpm/rpmdb.sqlite";
    assert_eq!(
        names,
        [
            ("rpm", "vigil-big", db),
            ("rpm", "vigil-foo", db),
            ("rpm", "vigil-hello", db),
            ("rpm", "vigil-libfoo", db),
        ]
    );
}

/// The other formats at the other paths, each alone in an image root.
#[test]
fn scanning_each_format_at_each_path() {
    let Some(dir) = fixtures() else { return };
    for (path, file) in databases(dir).into_iter().skip(1) {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join(path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, &dest).unwrap();
        let inv = vigil_image::sbom(
            &format!("dir:{}", root.path().display()),
            &vigil_image::SourceOptions::default(),
        )
        .unwrap();
        assert!(inv.warnings.is_empty(), "{path}: {:?}", inv.warnings);
        let names: Vec<_> = inv.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["vigil-big", "vigil-foo", "vigil-hello", "vigil-libfoo"],
            "{path}"
        );
        assert!(
            inv.packages
                .iter()
                .all(|p| p.location.path == format!("/{path}"))
        );
    }
}

/// Real databases cut short or with bytes changed: never a panic, and never a result
/// that looks complete but is not.
#[test]
fn damaged_real_databases() {
    let Some(dir) = fixtures() else { return };
    for (path, file) in databases(dir) {
        let content = std::fs::read(&file).unwrap();
        let info = FileInfo {
            path,
            size: 0,
            mode: 0o644,
        };
        let step = (content.len() / 60).max(1);
        for cut in (1..content.len()).step_by(step) {
            if let Ok(found) = RpmDb.analyze(&info, &content[..cut]) {
                assert!(
                    found.packages.len() == 4 || !found.warnings.is_empty(),
                    "{file:?} cut at {cut}: {} packages and no warning",
                    found.packages.len()
                );
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..150 {
            let mut bad = content.clone();
            for _ in 0..16 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (state >> 33) as usize % bad.len();
                bad[at] = (state >> 24) as u8;
            }
            let _ = RpmDb.analyze(&info, &bad);
        }
    }
}

/// An ndb file written by rpm's own ndb code (see tests/fixtures/rpm/README.md); needs
/// no tools, so it always runs.
#[test]
fn ndb_written_by_rpm() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rpm/rpm-written-ndb-Packages.db");
    let found = analyze("usr/lib/sysimage/rpm/Packages.db", &file);
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let rows: Vec<(String, String)> = rows(&found).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        rows,
        [
            (s("vigil-big"), s("3.1.0~rc1-7")),
            (s("vigil-foo"), s("0.9-1.fc99")),
            (s("vigil-hello"), s("2:1.4.2-3.vg1")),
            (s("vigil-libfoo"), s("0.9-1.fc99")),
        ]
    );
    assert_eq!(found.owned_files.len(), 319);
    assert!(
        found
            .owned_files
            .iter()
            .any(|f| f == "/usr/share/vigil-big/directory-with-a-long-name-12/file-with-a-fairly-long-name-25.txt")
    );
}
