//! The `vigil` binary as users run it.

use std::process::Command;

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

#[test]
fn demo_builds_its_image_and_finds_the_demo_advisories() {
    let out = vigil().args(["demo", "--format", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inv = &report["inventory"];
    assert_eq!(inv["complete"], true);
    assert_eq!(inv["os"]["id"], "debian");
    let names: Vec<&str> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for want in ["bash", "libssl3", "lodash", "PyYAML"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // The application layer's whiteout removed /etc/motd; nothing refers to it.
    assert_eq!(inv["layers"].as_array().unwrap().len(), 2);
    let mut found: Vec<String> = report["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {}",
                m["package"]["name"].as_str().unwrap(),
                m["id"].as_str().unwrap(),
                m["severity"].as_str().unwrap(),
                m["status"].as_str().unwrap()
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "PyYAML CVE-2020-14343 CRITICAL fixed",
            "libc6 CVE-2019-1010022 LOW affected",
            "lodash CVE-2020-28500 MEDIUM fixed",
            "lodash CVE-2020-8203 HIGH fixed",
            "lodash CVE-2021-23337 HIGH fixed",
            "tar CVE-2005-2541 LOW affected",
        ]
    );
}

#[test]
fn sbom_writes_the_output_file_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let status = vigil()
        .args(["demo", "--keep"])
        .arg(&layout)
        .output()
        .unwrap();
    assert!(status.status.success());
    let out_file = dir.path().join("inv.json");
    let target = format!("oci:{}:demo", layout.display());
    let out = vigil()
        .args(["sbom", &target, "-f", "json", "-o"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let inv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(inv["target"]["kind"], "oci");

    let table = vigil().args(["sbom", &target]).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("OS: Debian GNU/Linux 12 (bookworm)"),
        "{text}"
    );
    assert!(text.contains("lodash"), "{text}");
}

/// `-o` replaces regular files atomically but writes devices, FIFOs and the target of a
/// symlink in place: `-o /dev/null` once turned the machine's /dev/null into a plain file.
#[test]
fn output_to_a_fifo_or_through_a_symlink_keeps_the_node() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian\nVERSION_ID=12\n").unwrap();
    let target = format!("dir:{}", root.display());

    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = vigil()
        .args(["sbom", &target, "-f", "json", "-o"])
        .arg(&fifo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: serde_json::Value = serde_json::from_slice(&reader.join().unwrap()).unwrap();
    assert_eq!(inv["os"]["id"], "debian");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );

    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = vigil()
        .args(["sbom", &target, "-f", "json", "-o"])
        .arg(&link)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let inv: serde_json::Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    assert_eq!(inv["os"]["id"], "debian");
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn bad_targets_fail_with_a_message() {
    let out = vigil()
        .args(["sbom", "oci:/nonexistent/layout"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/layout"), "{err}");

    let out = vigil()
        .args(["sbom", "dir:/", "--format", "xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("xml"));
}

#[test]
fn help_and_version() {
    let out = vigil().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("sbom") && help.contains("demo"), "{help}");
    let out = vigil().args(["sbom", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("docker-archive:FILE"));
    let out = vigil().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vigil "));
}

#[test]
fn json_logs_on_request() {
    let out = vigil()
        .args(["-v", "--log-format", "json", "demo"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON log line");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(v["level"].is_string(), "{line}");
}
