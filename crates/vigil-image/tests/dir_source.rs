//! `dir:` targets: a root filesystem on disk, whose links must never lead to the host.

use std::os::unix::fs::symlink;
use std::path::Path;
use vigil_core::Ecosystem;
use vigil_image::SourceOptions;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn reads_a_root_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "usr/lib/os-release",
        "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    );
    std::fs::create_dir_all(root.join("etc")).unwrap();
    symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
    write(
        root,
        "lib/apk/db/installed",
        "P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\nL:MIT\nF:lib\nR:libc.musl-x86_64.so.1\n\n",
    );
    write(
        root,
        "usr/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
        "Name: six\nVersion: 1.16.0\n",
    );
    let inv = vigil_image::sbom(
        &format!("dir:{}", root.display()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert!(inv.complete, "{:?}", inv.warnings);
    let os = inv.os.unwrap();
    assert_eq!(
        (os.id.as_str(), os.version_id.as_str()),
        ("alpine", "3.19.1")
    );
    let musl = inv.packages.iter().find(|p| p.name == "musl").unwrap();
    assert_eq!(
        musl.purl,
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    );
    assert_eq!(musl.location.layer, None);
    assert!(
        inv.packages
            .iter()
            .any(|p| p.ecosystem == Ecosystem::Pypi && p.name == "six")
    );
    assert!(inv.layers.is_empty());
}

#[test]
fn absolute_and_climbing_links_resolve_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // The host has /etc/os-release and /var/lib/dpkg/status; none of it may show up.
    std::fs::create_dir_all(root.join("etc")).unwrap();
    symlink("/etc/os-release", root.join("etc/os-release")).unwrap();
    symlink(
        "../../../../../../../../usr/lib/os-release",
        root.join("usr-lib-os-release"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    symlink(
        "/../../../../image-status",
        root.join("var/lib/dpkg/status"),
    )
    .unwrap();
    write(
        root,
        "image-status",
        "Package: inside\nStatus: install ok installed\nVersion: 1\n\n",
    );
    let inv = vigil_image::sbom(
        &format!("dir:{}", root.display()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert!(inv.os.is_none(), "read the host's os-release: {:?}", inv.os);
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["inside"]);
    assert_eq!(inv.packages[0].location.path, "/var/lib/dpkg/status");
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let err =
        vigil_image::sbom("dir:/nonexistent/vigil-root", &SourceOptions::default()).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/vigil-root"), "{err}");
}
