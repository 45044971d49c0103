//! A real image: debootstrap bookworm with python3 and nginx, pip packages installed with
//! `pip install --target`, and an npm app (scripts/fixtures/debian-image builds it). Every
//! target form must find exactly the packages the real tools (dpkg-query, importlib.metadata,
//! npm ls) report.

mod common;

use common::{debian_fixture, expected, names, services, skopeo};
use vigil_core::Ecosystem;
use vigil_image::SourceOptions;

fn check(target: &str, fixture: &std::path::Path) -> vigil_core::Inventory {
    let inv = vigil_image::sbom(target, &SourceOptions::default())
        .unwrap_or_else(|e| panic!("{target}: {e}"));
    assert!(inv.complete, "{target}: {:?}", inv.warnings);
    assert_eq!(
        names(&inv, Ecosystem::Deb),
        expected(fixture, "dpkg.txt"),
        "{target}: deb"
    );
    assert_eq!(
        names(&inv, Ecosystem::Npm),
        expected(fixture, "npm.txt"),
        "{target}: npm"
    );
    let lower = |v: Vec<String>| {
        let mut v: Vec<String> = v.into_iter().map(|s| s.to_lowercase()).collect();
        v.sort();
        v
    };
    assert_eq!(
        lower(names(&inv, Ecosystem::Pypi)),
        lower(expected(fixture, "pip.txt")),
        "{target}: pypi"
    );
    let os = inv.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
    // Python modules that dpkg installed (python3's own) are OS packages, not PyPI ones.
    assert!(
        inv.packages
            .iter()
            .all(|p| !p.location.path.starts_with("/usr/lib/python3/"))
    );
    // Licenses come from the copyright files.
    let bash = inv.packages.iter().find(|p| p.name == "bash").unwrap();
    assert!(
        bash.licenses.iter().any(|l| l.starts_with("GPL-3.0")),
        "{:?}",
        bash.licenses
    );
    let libc = inv.packages.iter().find(|p| p.name == "libc6").unwrap();
    assert_eq!(libc.source.as_ref().map(|s| s.name.as_str()), Some("glibc"));
    assert!(
        libc.purl.starts_with("pkg:deb/debian/libc6@"),
        "{}",
        libc.purl
    );
    assert!(libc.purl.contains("distro=debian-12"), "{}", libc.purl);
    inv
}

#[test]
fn every_target_form_finds_the_same_packages() {
    let Some(f) = debian_fixture() else { return };
    let dir = check(&format!("dir:{}", f.join("rootfs").display()), &f);
    let oci = check(&format!("oci:{}:bookworm", f.join("oci").display()), &f);
    let oci_archive = check(
        &format!("oci-archive:{}", f.join("image.oci.tar").display()),
        &f,
    );
    let docker = check(
        &format!("docker-archive:{}", f.join("image.docker.tar").display()),
        &f,
    );
    // Image targets know their layers; the app packages come from the second one.
    assert_eq!(oci.layers.len(), 2);
    let express = oci.packages.iter().find(|p| p.name == "express").unwrap();
    assert_eq!(
        express.location.layer.as_deref(),
        Some(oci.layers[1].digest.as_str())
    );
    assert_eq!(oci.image_id, oci_archive.image_id);
    assert_eq!(docker.layers.len(), 2);
    assert_eq!(dir.packages.len(), oci.packages.len());
}

#[test]
fn the_same_image_from_the_registry() {
    let (Some(f), Some(env)) = (debian_fixture(), services()) else {
        return;
    };
    let reg = &env["VIGIL_TEST_REGISTRY"];
    let dest = format!("docker://{reg}/vigil/bookworm:fixture");
    let src = format!("oci:{}:bookworm", f.join("oci").display());
    skopeo(&["copy", "--quiet", "--dest-tls-verify=false", &src, &dest]);
    let inv = check(&format!("{reg}/vigil/bookworm:fixture"), &f);
    assert_eq!(inv.layers.len(), 2);
}
