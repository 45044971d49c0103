//! The layer walk and merge on images built by the test: whiteouts, opaque folders,
//! overrides, links, compression kinds, corrupt blobs, limits and hostile paths.

use std::path::Path;
use vigil_core::{Ecosystem, Inventory};
use vigil_image::build::{Entry, LayerSpec, layer_blob, write_oci_layout, write_oci_layout_blobs};
use vigil_image::layer::Compression;
use vigil_image::{ImageError, Limits, SourceOptions};

const DEBIAN: &[u8] =
    b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";

fn file(path: &str, content: &[u8]) -> Entry {
    Entry::File(path.into(), content.to_vec(), 0o644)
}

fn status(pkgs: &[(&str, &str)]) -> Vec<u8> {
    pkgs.iter()
        .map(|(n, v)| {
            format!(
                "Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn npm(name: &str, version: &str) -> Vec<u8> {
    format!(r#"{{"name":"{name}","version":"{version}"}}"#).into_bytes()
}

fn layer(entries: Vec<Entry>, compression: Compression) -> LayerSpec {
    LayerSpec {
        entries,
        compression,
    }
}

fn scan_layout(dir: &Path, opts: &SourceOptions) -> Result<Inventory, ImageError> {
    vigil_image::sbom(&format!("oci:{}:t", dir.display()), opts)
}

fn scan(layers: &[LayerSpec]) -> Inventory {
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), "t", layers).unwrap();
    scan_layout(dir.path(), &SourceOptions::default()).unwrap()
}

fn names(inv: &Inventory, eco: Ecosystem) -> Vec<String> {
    inv.packages
        .iter()
        .filter(|p| p.ecosystem == eco)
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect()
}

#[test]
fn upper_layers_override_delete_and_hide() {
    let base = layer(
        vec![
            file("etc/os-release", DEBIAN),
            file("var/lib/dpkg/status", &status(&[("old", "1.0")])),
            file("app/node_modules/gone/package.json", &npm("gone", "1.0.0")),
            file("app/node_modules/kept/package.json", &npm("kept", "1.0.0")),
            file(
                "opq/node_modules/hidden/package.json",
                &npm("hidden", "1.0.0"),
            ),
        ],
        Compression::Gzip,
    );
    let upper = layer(
        vec![
            file("var/lib/dpkg/status", &status(&[("new", "2.0")])),
            file("app/node_modules/.wh.gone", b""),
            Entry::Dir("opq".into()),
            file("opq/.wh..wh..opq", b""),
            file(
                "opq/node_modules/fresh/package.json",
                &npm("fresh", "2.0.0"),
            ),
        ],
        Compression::Zstd,
    );
    let inv = scan(&[base, upper]);
    assert!(inv.complete, "{:?}", inv.warnings);
    assert_eq!(names(&inv, Ecosystem::Deb), ["new@2.0"]);
    assert_eq!(names(&inv, Ecosystem::Npm), ["fresh@2.0.0", "kept@1.0.0"]);
    assert_eq!(inv.os.as_ref().map(|o| o.id.as_str()), Some("debian"));
    // Each package names the layer that last wrote its file.
    let new = inv.packages.iter().find(|p| p.name == "new").unwrap();
    let kept = inv.packages.iter().find(|p| p.name == "kept").unwrap();
    assert_eq!(
        new.location.layer.as_deref(),
        Some(inv.layers[1].digest.as_str())
    );
    assert_eq!(
        kept.location.layer.as_deref(),
        Some(inv.layers[0].digest.as_str())
    );
    assert_eq!(inv.layers.len(), 2);
    assert!(inv.layers.iter().all(|l| l.diff_id.is_some()));
}

#[test]
fn every_compression_reads_the_same() {
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let inv = scan(&[layer(
            vec![
                file("etc/os-release", DEBIAN),
                file("var/lib/dpkg/status", &status(&[("a", "1")])),
            ],
            c,
        )]);
        assert_eq!(names(&inv, Ecosystem::Deb), ["a@1"], "{c:?}");
    }
}

#[test]
fn links_are_followed_inside_the_image() {
    let inv = scan(&[
        layer(
            vec![
                file("usr/lib/os-release", DEBIAN),
                Entry::Symlink("etc/os-release".into(), "../usr/lib/os-release".into()),
                // A required path that is a link to a file no analyzer wants: the layer is
                // read again for it.
                file("opt/real-status", &status(&[("via-symlink", "1")])),
                Entry::Symlink(
                    "var/lib/dpkg/status".into(),
                    "/../../opt/real-status".into(),
                ),
            ],
            Compression::Gzip,
        ),
        layer(
            vec![
                file("opt/apk-db", b"P:via-hardlink\nV:1.0-r0\nA:x86_64\n\n"),
                Entry::Hardlink("lib/apk/db/installed".into(), "opt/apk-db".into()),
            ],
            Compression::Gzip,
        ),
    ]);
    assert!(inv.complete, "{:?}", inv.warnings);
    assert_eq!(inv.os.as_ref().map(|o| o.version_id.as_str()), Some("12"));
    assert_eq!(names(&inv, Ecosystem::Deb), ["via-symlink@1"]);
    assert_eq!(names(&inv, Ecosystem::Apk), ["via-hardlink@1.0-r0"]);
    let apk = inv
        .packages
        .iter()
        .find(|p| p.ecosystem == Ecosystem::Apk)
        .unwrap();
    assert_eq!(apk.location.path, "/lib/apk/db/installed");
}

#[test]
fn hostile_paths_and_link_loops_stay_inside() {
    // Raw tar entries whose names climb out of the root: they land inside it, as in a chroot.
    let mut tar = tar::Builder::new(Vec::new());
    raw_entry(
        &mut tar,
        "../../../../etc/os-release",
        b"ID=inside\nVERSION_ID=1\n",
    );
    raw_entry(
        &mut tar,
        "/var/lib/dpkg/../dpkg/./status",
        &status(&[("climber", "1")]),
    );
    let bytes = tar.into_inner().unwrap();
    let hostile = vigil_image::build::Blob {
        diff_id: sha256(&bytes),
        bytes,
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
    };
    let loops = layer_blob(&layer(
        vec![
            Entry::Symlink("loop-a".into(), "loop-b".into()),
            Entry::Symlink("loop-b".into(), "/loop-a".into()),
            Entry::Symlink("lib/apk/db/installed".into(), "/loop-a".into()),
            Entry::Symlink(
                "usr/lib/os-release".into(),
                "../../../../../../../usr/lib/os-release".into(),
            ),
        ],
        Compression::Gzip,
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout_blobs(dir.path(), "t", &[hostile, loops]).unwrap();
    let inv = scan_layout(dir.path(), &SourceOptions::default()).unwrap();
    assert_eq!(inv.os.as_ref().map(|o| o.id.as_str()), Some("inside"));
    assert_eq!(names(&inv, Ecosystem::Deb), ["climber@1"]);
    assert!(names(&inv, Ecosystem::Apk).is_empty());
}

fn raw_entry(tar: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_old();
    let field = &mut header.as_old_mut().name;
    field[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, data).unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[test]
fn a_tampered_layer_fails_naming_its_digest() {
    let mut blob = layer_blob(&layer(
        vec![file("etc/os-release", DEBIAN)],
        Compression::None,
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout_blobs(dir.path(), "t", std::slice::from_ref(&blob)).unwrap();
    // Replace the blob file's content after the manifest was written.
    let digest = sha256(&blob.bytes);
    let path = dir
        .path()
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    blob.bytes[600] ^= 1;
    std::fs::write(&path, &blob.bytes).unwrap();
    let err = scan_layout(dir.path(), &SourceOptions::default()).unwrap_err();
    match err {
        ImageError::DigestMismatch { expected, .. } => assert_eq!(expected, digest),
        other => panic!("expected a digest mismatch, got {other}"),
    }
}

#[test]
fn a_corrupt_gzip_layer_fails_naming_its_digest() {
    let mut blob = layer_blob(&layer(
        vec![file("etc/os-release", DEBIAN)],
        Compression::Gzip,
    ))
    .unwrap();
    let len = blob.bytes.len();
    blob.bytes.truncate(len / 2);
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout_blobs(dir.path(), "t", std::slice::from_ref(&blob)).unwrap();
    let err = scan_layout(dir.path(), &SourceOptions::default()).unwrap_err();
    let digest = sha256(&blob.bytes);
    match &err {
        ImageError::CorruptLayer { layer, .. } => assert_eq!(*layer, digest),
        other => panic!("expected a corrupt layer, got {other}"),
    }
    assert!(err.to_string().contains(&digest));
}

#[test]
fn limits_warn_per_file_and_fail_per_image() {
    let big_status = status(&(0..200).map(|_| ("p", "1")).collect::<Vec<_>>());
    let layers = [layer(
        vec![
            file("etc/os-release", DEBIAN),
            file("var/lib/dpkg/status", &big_status),
        ],
        Compression::Gzip,
    )];
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), "t", &layers).unwrap();

    let small_files = SourceOptions {
        limits: Limits {
            max_file_bytes: 1000,
            ..Limits::default()
        },
        ..SourceOptions::default()
    };
    let inv = scan_layout(dir.path(), &small_files).unwrap();
    assert!(!inv.complete);
    assert!(names(&inv, Ecosystem::Deb).is_empty());
    let w = &inv.warnings[0];
    assert_eq!(w.path, "/var/lib/dpkg/status");
    assert!(w.message.contains("larger than"), "{}", w.message);

    let small_image = SourceOptions {
        limits: Limits {
            max_total_bytes: 4096,
            ..Limits::default()
        },
        ..SourceOptions::default()
    };
    let err = scan_layout(dir.path(), &small_image).unwrap_err();
    assert!(err.to_string().contains("--max-image-size"), "{err}");
}

#[test]
fn unreadable_package_databases_are_reported_not_dropped() {
    let inv = scan(&[layer(
        vec![
            file("etc/os-release", DEBIAN),
            file(
                "app/node_modules/broken/package.json",
                b"{\"name\": \"broken\", ",
            ),
            file("app/node_modules/fine/package.json", &npm("fine", "1.2.3")),
        ],
        Compression::Gzip,
    )]);
    assert!(!inv.complete);
    assert_eq!(names(&inv, Ecosystem::Npm), ["fine@1.2.3"]);
    assert_eq!(inv.warnings.len(), 1);
    assert_eq!(
        inv.warnings[0].path,
        "/app/node_modules/broken/package.json"
    );
    assert_eq!(inv.warnings[0].source, "node-installed");
}

#[test]
fn installed_packages_win_over_lock_file_entries() {
    let lock = br#"{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{
        "":{"name":"app","version":"1.0.0"},
        "node_modules/lodash":{"version":"4.17.21"},
        "node_modules/jest":{"version":"29.0.0","dev":true}}}"#;
    let inv = scan(&[layer(
        vec![
            file("app/package-lock.json", lock),
            file(
                "app/node_modules/lodash/package.json",
                &npm("lodash", "4.17.21"),
            ),
        ],
        Compression::Gzip,
    )]);
    assert!(inv.complete, "{:?}", inv.warnings);
    let npm: Vec<(&str, &str, bool)> = inv
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.found_by.as_str(), p.dev))
        .collect();
    assert_eq!(
        npm,
        [
            ("jest", "npm-lock", true),
            ("lodash", "node-installed", false)
        ]
    );
}

#[test]
fn a_blob_longer_than_its_manifest_says_is_refused() {
    let blob = layer_blob(&layer(
        vec![file("etc/os-release", DEBIAN)],
        Compression::Gzip,
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout_blobs(dir.path(), "t", std::slice::from_ref(&blob)).unwrap();
    let digest = sha256(&blob.bytes);
    let path = dir
        .path()
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let mut longer = blob.bytes.clone();
    longer.extend(std::iter::repeat_n(0u8, 1 << 20));
    std::fs::write(&path, &longer).unwrap();
    // Either the bytes past the end fail to decompress or the digest no longer matches;
    // both name the layer, and nothing past size + 1 bytes is read.
    let err = scan_layout(dir.path(), &SourceOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::DigestMismatch { .. } | ImageError::CorruptLayer { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&digest), "{err}");
}
