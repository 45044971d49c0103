//! Pulling from real registries (Debian's docker-registry, started by scripts/test-services):
//! anonymous, htpasswd basic auth, and bearer tokens over HTTPS with a private CA.

mod common;

use common::{names, services, skopeo};
use std::path::Path;
use vigil_core::Ecosystem;
use vigil_image::build::{Entry, LayerSpec, layer_blob, write_oci_layout, write_oci_layout_for};
use vigil_image::layer::Compression;
use vigil_image::{ImageError, RegistryOptions, SourceOptions};

fn image(dir: &Path, pkg: &str) {
    let layers = [LayerSpec {
        entries: vec![
            Entry::File(
                "etc/os-release".into(),
                b"ID=debian\nVERSION_ID=12\n".to_vec(),
                0o644,
            ),
            Entry::File(
                "var/lib/dpkg/status".into(),
                format!("Package: {pkg}\nStatus: install ok installed\nVersion: 1.0\n\n")
                    .into_bytes(),
                0o644,
            ),
        ],
        compression: Compression::Gzip,
    }];
    write_oci_layout(dir, "t", &layers).unwrap();
}

fn push(layout: &Path, dest: &str, extra: &[&str]) {
    let src = format!("oci:{}:t", layout.display());
    let dst = format!("docker://{dest}");
    let mut args = vec!["copy", "--quiet"];
    args.extend_from_slice(extra);
    args.push(&src);
    args.push(&dst);
    skopeo(&args);
}

fn unique(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000
}

#[test]
fn anonymous_registry_by_tag_and_digest() {
    let Some(env) = services() else { return };
    let reg = &env["VIGIL_TEST_REGISTRY"];
    let dir = tempfile::tempdir().unwrap();
    image(dir.path(), "anon-pkg");
    let repo = unique("vigil/anon");
    push(
        dir.path(),
        &format!("{reg}/{repo}:1"),
        &["--dest-tls-verify=false"],
    );

    let inv = vigil_image::sbom(
        &format!("registry:{reg}/{repo}:1"),
        &SourceOptions::default(),
    )
    .unwrap();
    assert_eq!(names(&inv, Ecosystem::Deb), ["anon-pkg@1.0"]);
    assert_eq!(inv.target.kind, "registry");
    let digest = inv.manifest_digest.clone().unwrap();
    assert_eq!(inv.platform.as_deref(), Some("linux/amd64"));

    // By digest, as a bare reference: the manifest is verified against it.
    let by_digest =
        vigil_image::sbom(&format!("{reg}/{repo}@{digest}"), &SourceOptions::default()).unwrap();
    assert_eq!(by_digest.manifest_digest.as_deref(), Some(digest.as_str()));
    assert_eq!(by_digest.packages, inv.packages);

    let missing =
        vigil_image::sbom(&format!("{reg}/{repo}:nope"), &SourceOptions::default()).unwrap_err();
    assert!(
        missing.to_string().contains("manifest unknown"),
        "{missing}"
    );
}

#[test]
fn basic_auth_from_flags_and_auth_files() {
    let Some(env) = services() else { return };
    let reg = &env["VIGIL_TEST_REGISTRY_BASIC"];
    let (user, pass) = (
        &env["VIGIL_TEST_REGISTRY_USER"],
        &env["VIGIL_TEST_REGISTRY_PASSWORD"],
    );
    let dir = tempfile::tempdir().unwrap();
    image(dir.path(), "basic-pkg");
    let repo = unique("vigil/basic");
    let creds = format!("{user}:{pass}");
    push(
        dir.path(),
        &format!("{reg}/{repo}:1"),
        &["--dest-tls-verify=false", "--dest-creds", &creds],
    );
    let target = format!("{reg}/{repo}:1");

    let anonymous = SourceOptions {
        registry: RegistryOptions {
            auth_file: Some(dir.path().join("no-such-auth.json")),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = vigil_image::sbom(&target, &anonymous).unwrap_err();
    assert!(matches!(err, ImageError::Registry { .. }), "{err}");
    assert!(err.to_string().contains("Not authorized"), "{err}");

    let flags = SourceOptions {
        registry: RegistryOptions {
            username: Some(user.clone()),
            password: Some(pass.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let inv = vigil_image::sbom(&target, &flags).unwrap();
    assert_eq!(names(&inv, Ecosystem::Deb), ["basic-pkg@1.0"]);

    // A Docker config.json, as `docker login` writes it.
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(&creds);
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"http://{reg}/v2/":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let from_file = SourceOptions {
        registry: RegistryOptions {
            auth_file: Some(config),
            ..Default::default()
        },
        ..Default::default()
    };
    let inv = vigil_image::sbom(&target, &from_file).unwrap();
    assert_eq!(names(&inv, Ecosystem::Deb), ["basic-pkg@1.0"]);

    let wrong = SourceOptions {
        registry: RegistryOptions {
            username: Some(user.clone()),
            password: Some("wrong".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(vigil_image::sbom(&target, &wrong).is_err());
}

#[test]
fn bearer_tokens_over_https_with_a_private_ca() {
    let Some(env) = services() else { return };
    let reg = &env["VIGIL_TEST_REGISTRY_TOKEN"];
    let (user, pass) = (
        &env["VIGIL_TEST_REGISTRY_USER"],
        &env["VIGIL_TEST_REGISTRY_PASSWORD"],
    );
    let ca = Path::new(&env["VIGIL_TEST_CA"]);
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(ca, certs.path().join("ca.crt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    image(dir.path(), "token-pkg");
    let repo = unique("vigil/token");
    let creds = format!("{user}:{pass}");
    let cert_dir = certs.path().to_str().unwrap();
    push(
        dir.path(),
        &format!("{reg}/{repo}:1"),
        &["--dest-cert-dir", cert_dir, "--dest-creds", &creds],
    );
    let target = format!("registry:{reg}/{repo}:1");

    let good = SourceOptions {
        registry: RegistryOptions {
            username: Some(user.clone()),
            password: Some(pass.clone()),
            ca_certs: vec![ca.to_path_buf()],
            ..Default::default()
        },
        ..Default::default()
    };
    let inv = vigil_image::sbom(&target, &good).unwrap();
    assert_eq!(names(&inv, Ecosystem::Deb), ["token-pkg@1.0"]);

    // Without the CA the TLS handshake fails, and the error says so.
    let no_ca = SourceOptions {
        registry: RegistryOptions {
            username: Some(user.clone()),
            password: Some(pass.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = vigil_image::sbom(&target, &no_ca).unwrap_err().to_string();
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );

    // The token service refuses requests without credentials.
    let anon = SourceOptions {
        registry: RegistryOptions {
            ca_certs: vec![ca.to_path_buf()],
            auth_file: Some(dir.path().join("none.json")),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(vigil_image::sbom(&target, &anon).is_err());
}

#[test]
fn multi_platform_indexes_pick_the_requested_platform() {
    let Some(env) = services() else { return };
    let reg = &env["VIGIL_TEST_REGISTRY"];
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("multi");
    // Two single-platform layouts whose blobs are merged under one index.
    let mut manifests = Vec::new();
    for (arch, pkg) in [("amd64", "on-amd64"), ("arm64", "on-arm64")] {
        let part = dir.path().join(arch);
        let blob = layer_blob(&LayerSpec {
            entries: vec![Entry::File(
                "var/lib/dpkg/status".into(),
                format!("Package: {pkg}\nStatus: install ok installed\nVersion: 1\n\n")
                    .into_bytes(),
                0o644,
            )],
            compression: Compression::Gzip,
        })
        .unwrap();
        let digest = write_oci_layout_for(&part, "t", arch, &[blob]).unwrap();
        let size = std::fs::metadata(
            part.join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap()
        .len();
        std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
        for e in std::fs::read_dir(part.join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), layout.join("blobs/sha256").join(e.file_name())).unwrap();
        }
        manifests.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": size,
            "platform": {"os": "linux", "architecture": arch},
        }));
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    let index_bytes = serde_json::to_vec(&index).unwrap();
    let index_digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&index_bytes))
    };
    std::fs::write(
        layout.join("blobs/sha256").join(&index_digest),
        &index_bytes,
    )
    .unwrap();
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": format!("sha256:{index_digest}"), "size": index_bytes.len(),
        "annotations": {"org.opencontainers.image.ref.name": "t"}}]});
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();

    // The layout itself already resolves platforms.
    let local = vigil_image::sbom(
        &format!("oci:{}:t", layout.display()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert_eq!(names(&local, Ecosystem::Deb), ["on-amd64@1"]);

    let repo = unique("vigil/multi");
    let src = format!("oci:{}:t", layout.display());
    let dst = format!("docker://{reg}/{repo}:1");
    skopeo(&[
        "copy",
        "--quiet",
        "--all",
        "--dest-tls-verify=false",
        &src,
        &dst,
    ]);
    let target = format!("{reg}/{repo}:1");
    let amd = vigil_image::sbom(&target, &SourceOptions::default()).unwrap();
    assert_eq!(names(&amd, Ecosystem::Deb), ["on-amd64@1"]);
    let arm_opts = SourceOptions {
        platform: "linux/arm64".parse().unwrap(),
        ..Default::default()
    };
    let arm = vigil_image::sbom(&target, &arm_opts).unwrap();
    assert_eq!(names(&arm, Ecosystem::Deb), ["on-arm64@1"]);
    assert_eq!(arm.platform.as_deref(), Some("linux/arm64"));
    let s390 = SourceOptions {
        platform: "linux/s390x".parse().unwrap(),
        ..Default::default()
    };
    let err = vigil_image::sbom(&target, &s390).unwrap_err().to_string();
    assert!(err.contains("linux/amd64, linux/arm64"), "{err}");
}
