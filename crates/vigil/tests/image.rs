//! `vigil image` and `vigil db` as users run them: real advisories (../shared/data) against
//! root filesystems that hold real vulnerable packages (scripts/fixtures/vuln-images), and
//! the distro statuses, filters, VEX and exit codes on databases the tests write.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `../shared/data`, which only the project's own machines have.
fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: ../shared/data is absent (a user's checkout has none)");
        None
    }
}

/// A root filesystem from scripts/fixtures/vuln-images.
fn vuln_fixture(name: &str) -> Option<PathBuf> {
    let base = std::env::var_os("VIGIL_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/vigil-fixtures"))
        .join("vuln-images-v1");
    if base.join("ready").is_file() {
        return Some(base.join(name));
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "fixture {} missing: run scripts/fixtures/vuln-images",
        base.display()
    );
    eprintln!(
        "SKIPPED: run scripts/fixtures/vuln-images to build {}",
        base.display()
    );
    None
}

/// One database of the real OSV and Alpine data, imported once for all tests here.
fn real_db() -> Option<&'static Path> {
    static DB: OnceLock<Option<PathBuf>> = OnceLock::new();
    DB.get_or_init(|| {
        let data = shared_data()?;
        let dir = tempfile::tempdir().unwrap().keep();
        let db = dir.join("real.sqlite");
        let out = run(vigil()
            .args(["db", "--db"])
            .arg(&db)
            .arg("import")
            .arg(data.join("osv"))
            .arg(data.join("alpine-secdb")));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("osv:PyPI: 26"), "{text}");
        Some(db)
    })
    .as_deref()
}

fn scan(db: &Path, target: &str, extra: &[&str]) -> Value {
    let out = run(vigil()
        .args(["image", target, "-f", "json", "--db"])
        .arg(db)
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn finding<'a>(report: &'a Value, package: &str, id: &str) -> &'a Value {
    report["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["package"]["name"] == package && m["id"] == id)
        .unwrap_or_else(|| panic!("no {id} for {package} in {report:#}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn real_advisories_match_pip_go_and_cargo_packages() {
    let (Some(db), Some(app)) = (real_db(), vuln_fixture("app")) else {
        return;
    };
    let report = scan(db, &format!("dir:{}", app.display()), &[]);

    // requests 2.19.1: PYSEC-2018-28 names CVE-2018-18074 and the GHSA: one finding.
    let requests = finding(&report, "requests", "CVE-2018-18074");
    assert_eq!(
        strings(&requests["aliases"]),
        ["GHSA-x84v-xcm2-53pg", "PYSEC-2018-28"]
    );
    assert_eq!(strings(&requests["fixed_versions"]), ["2.20.0"]);
    assert_eq!(requests["status"], "fixed");
    assert_eq!(strings(&requests["sources"]), ["osv:PYSEC"]);
    assert!(
        requests["package"]["locations"][0]["path"]
            .as_str()
            .unwrap()
            .contains("requests-2.19.1.dist-info"),
        "{requests}"
    );
    finding(&report, "urllib3", "CVE-2019-11324");
    let jinja = finding(&report, "Jinja2", "CVE-2019-10906");
    assert_eq!(strings(&jinja["fixed_versions"]), ["2.10.1"]);

    // Cargo.lock: RUSTSEC records, scored from their CVSS vectors.
    let smallvec = finding(&report, "smallvec", "CVE-2021-25900");
    assert!(strings(&smallvec["aliases"]).contains(&"RUSTSEC-2021-0003"));
    assert_eq!(smallvec["severity"], "CRITICAL");
    assert_eq!(smallvec["cvss"][0]["score"], 9.8);
    assert_eq!(strings(&smallvec["fixed_versions"]), ["1.6.1"]);
    finding(&report, "time", "CVE-2020-26235");
    finding(&report, "regex", "CVE-2022-24713");

    // Debian's docker-registry: its Go toolchain (stdlib v1.19.x) has the HTTP/2 rapid
    // reset advisory, fixed in 1.20.10 (the nearest fix above 1.19).
    let rapid_reset = finding(&report, "stdlib", "CVE-2023-39325");
    assert!(strings(&rapid_reset["aliases"]).contains(&"GO-2023-2102"));
    assert_eq!(strings(&rapid_reset["fixed_versions"]), ["1.20.10"]);

    // Nothing matched across ecosystems: each finding comes from the database of its
    // package's ecosystem (the shared data holds all three, with overlapping names).
    for m in report["matches"].as_array().unwrap() {
        let want = match m["package"]["ecosystem"].as_str().unwrap() {
            "pypi" => "osv:PYSEC",
            "cargo" => "osv:RUSTSEC",
            "go" => "osv:GO",
            other => panic!("unexpected ecosystem {other}: {m}"),
        };
        assert_eq!(strings(&m["sources"]), [want], "{m}");
    }
}

#[test]
fn alpine_packages_match_secdb_through_their_origin() {
    let (Some(db), Some(root)) = (real_db(), vuln_fixture("alpine")) else {
        return;
    };
    let report = scan(db, &format!("dir:{}", root.display()), &[]);
    let musl = finding(&report, "musl", "CVE-2019-14697");
    assert_eq!(strings(&musl["fixed_versions"]), ["1.1.23-r2"]);
    assert_eq!(strings(&musl["sources"]), ["alpine-secdb"]);
    let ssl = finding(&report, "libssl1.1", "CVE-2019-1551");
    assert_eq!(ssl["package"]["source_name"], "openssl");
    assert_eq!(strings(&ssl["fixed_versions"]), ["1.1.1d-r3"]);
    finding(&report, "libcrypto1.1", "CVE-2019-1547");
    // 3.11's secdb lists CVE-2016-8859 for musl fixed in 1.1.15-r4: long fixed here.
    assert!(
        report["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != "CVE-2016-8859")
    );
}

#[test]
fn filters_ignores_vex_and_exit_codes() {
    let (Some(db), Some(app)) = (real_db(), vuln_fixture("app")) else {
        return;
    };
    let target = format!("dir:{}", app.display());
    let critical = scan(db, &target, &["--severity", "CRITICAL"]);
    let ids: Vec<&str> = critical["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"CVE-2021-25900"), "{ids:?}");
    assert!(
        critical["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["severity"] == "CRITICAL")
    );

    let dir = tempfile::tempdir().unwrap();
    let ignorefile = dir.path().join("ignore");
    std::fs::write(
        &ignorefile,
        "# accepted\nRUSTSEC-2021-0003\nCVE-2099-1 exp:2000-01-01\n",
    )
    .unwrap();
    let vex = dir.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1",
            "author":"test","timestamp":"2026-01-01T00:00:00Z","version":1,
            "statements":[{"vulnerability":{"name":"CVE-2018-18074"},
              "products":[{"@id":"pkg:pypi/requests@2.19.1"}],
              "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let filtered = scan(
        db,
        &target,
        &[
            "--ignorefile",
            ignorefile.to_str().unwrap(),
            "--vex",
            vex.to_str().unwrap(),
            "--ignore",
            "GO-2023-2102",
        ],
    );
    for gone in ["CVE-2021-25900", "CVE-2018-18074", "CVE-2023-39325"] {
        assert!(
            filtered["matches"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["id"] != gone),
            "{gone} should be suppressed"
        );
    }
    finding(&filtered, "requests", "CVE-2023-32681");

    let unfixed = scan(db, &target, &["--ignore-unfixed"]);
    assert!(
        unfixed["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "fixed")
    );

    let status = vigil()
        .args(["image", &target, "--exit-code", "3", "-f", "sarif", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(3));
    let sarif: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let none = vigil()
        .args([
            "image",
            &target,
            "--exit-code",
            "3",
            "--severity",
            "LOW",
            "--db",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(0), "no LOW findings: exit 0");
}

/// The Debian tracker's states become statuses, matched through source packages, on the
/// demo image (all data written by this test; no ../shared needed).
#[test]
fn debian_tracker_statuses_on_the_demo_image() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    run(vigil().args(["demo", "--keep"]).arg(&layout));
    // Test data in the tracker's shape: issue ids and versions are invented.
    let tracker = dir.path().join("tracker.json");
    std::fs::write(
        &tracker,
        r#"{
          "openssl": {"CVE-2099-0001": {"description": "test: fixed in a later openssl",
            "releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.99-1~deb12u1", "urgency": "high"}}}},
          "zlib": {"CVE-2099-0002": {"description": "test: ignored",
            "releases": {"bookworm": {"status": "open", "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "ignored"}}}},
          "tar": {"CVE-2099-0003": {"description": "test: postponed",
            "releases": {"bookworm": {"status": "open", "urgency": "medium", "nodsa": "Minor issue", "nodsa_reason": "postponed"}}}},
          "bash": {"CVE-2099-0004": {"description": "test: never affected bookworm",
            "releases": {"bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "not yet assigned"}}},
                   "CVE-2099-0005": {"description": "test: fixed before bookworm's bash",
            "releases": {"bookworm": {"status": "resolved", "fixed_version": "5.1-1", "urgency": "low"}}}}
        }"#,
    )
    .unwrap();
    let db = dir.path().join("db.sqlite");
    run(vigil()
        .args(["db", "--db"])
        .arg(&db)
        .arg("import")
        .arg(&tracker));
    let report = scan(&db, &format!("oci:{}:demo", layout.display()), &[]);
    for (package, id, status, severity) in [
        ("libssl3", "CVE-2099-0001", "fixed", "HIGH"),
        ("openssl", "CVE-2099-0001", "fixed", "HIGH"),
        ("zlib1g", "CVE-2099-0002", "will_not_fix", "LOW"),
        ("tar", "CVE-2099-0003", "fix_deferred", "MEDIUM"),
        ("bash", "CVE-2099-0004", "not_affected", "UNKNOWN"),
    ] {
        let m = finding(&report, package, id);
        assert_eq!(
            (m["status"].as_str(), m["severity"].as_str()),
            (Some(status), Some(severity)),
            "{m}"
        );
    }
    assert_eq!(
        strings(&finding(&report, "libssl3", "CVE-2099-0001")["fixed_versions"]),
        ["3.0.99-1~deb12u1"]
    );
    assert!(
        report["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != "CVE-2099-0005")
    );
    // not_affected is in the JSON (nothing silently dropped) but not in the table.
    let table = run(vigil()
        .args(["image", &format!("oci:{}:demo", layout.display()), "--db"])
        .arg(&db));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("CVE-2099-0002") && !text.contains("CVE-2099-0004 "),
        "{text}"
    );
}

#[test]
fn import_skips_malformed_records_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    std::fs::write(records.join("bad.json"), "{ not json").unwrap();
    std::fs::write(records.join("noid.json"), r#"{"affected": []}"#).unwrap();
    std::fs::write(
        records.join("odd.json"),
        r#"{"id":"X-1","affected":[{"package":{"ecosystem":"Nowhere","name":"x"}}]}"#,
    )
    .unwrap();
    std::fs::write(
        records.join("good.json"),
        r#"{"id":"GHSA-good","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
            "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]}"#,
    )
    .unwrap();
    let db = dir.path().join("db.sqlite");
    let out = run(vigil()
        .args(["db", "--db"])
        .arg(&db)
        .arg("import")
        .arg(&records));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("osv:npm: 1 advisories"), "{stdout}");
    assert!(stderr.contains("2 documents skipped"), "{stderr}");
    assert!(
        stderr.contains("bad.json") && stderr.contains("noid.json"),
        "{stderr}"
    );
    assert!(stderr.contains("\"Nowhere\""), "{stderr}");
    let show = run(vigil()
        .args(["db", "--db"])
        .arg(&db)
        .args(["show", "GHSA-good"]));
    assert!(String::from_utf8_lossy(&show.stdout).contains("left-pad"));
    let status = run(vigil().args(["db", "--db"]).arg(&db).arg("status"));
    assert!(String::from_utf8_lossy(&status.stdout).contains("npm"));
    let missing = vigil()
        .args(["image", "dir:/nonexistent", "--db", "/nonexistent/db"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("vigil db update"));
}

#[test]
fn compare_prints_one_result_per_line() {
    let out = run(vigil().args(["db", "compare", "Debian", "1:1.0-1", "2.0-1"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), ">\n");
    let mut child = vigil()
        .args(["db", "compare", "PyPI", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"1.0 1.0.0\n1.0rc1 1.0\n2.0.post1 2.0\nnot-a-version 1\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "=\n<\n>\nerror\n");
    assert_eq!(out.status.code(), Some(1));
    let unknown = vigil()
        .args(["db", "compare", "Nowhere", "1", "2"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown ecosystem"));
}

/// `sbom:FILE` finds what scanning the image finds: the demo image, its CycloneDX and SPDX
/// SBOMs, and the demo advisories (all made here).
#[test]
fn sboms_scan_like_their_image() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    run(vigil().args(["demo", "--keep"]).arg(&layout));
    let db = dir.path().join("db.sqlite");
    let advisories = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/advisories");
    run(vigil()
        .args(["db", "--db"])
        .arg(&db)
        .arg("import")
        .arg(&advisories));
    let image = format!("oci:{}:demo", layout.display());
    let ids = |report: &Value| {
        let mut v: Vec<String> = report["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{} {} {}", m["package"]["name"], m["id"], m["status"]))
            .collect();
        v.sort();
        v
    };
    let direct = ids(&scan(&db, &image, &[]));
    assert_eq!(direct.len(), 6, "{direct:?}");
    for format in ["cyclonedx", "spdx", "json"] {
        let sbom = dir.path().join(format!("demo.{format}.json"));
        run(vigil()
            .args(["sbom", &image, "-f", format, "-o"])
            .arg(&sbom));
        let from_sbom = scan(&db, &format!("sbom:{}", sbom.display()), &[]);
        assert_eq!(ids(&from_sbom), direct, "{format}");
        assert_eq!(from_sbom["inventory"]["target"]["kind"], "sbom");
    }
    // `vigil db query PURL` reads purls the way SBOMs are read.
    let query = |purl: &str| {
        let out = run(vigil()
            .args(["db", "--db"])
            .arg(&db)
            .args(["query", purl, "-f", "json"]));
        ids(&serde_json::from_slice(&out.stdout).unwrap())
    };
    assert_eq!(query("pkg:npm/lodash@4.17.15").len(), 3);
    assert!(query("pkg:npm/lodash@4.17.21").is_empty());
    assert_eq!(
        query("pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?distro=debian-12"),
        ["\"tar\" \"CVE-2005-2541\" \"affected\""]
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[1, 2]").unwrap();
    let out = vigil()
        .args(["image", &format!("sbom:{}", bad.display()), "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a CycloneDX or SPDX"));
}
