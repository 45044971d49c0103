//! What the integration tests share: finding the test services and the cached fixtures.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

/// The registries started by `scripts/test-services`, read from `$VIGIL_TEST_STATE/env`.
/// `None` (with a message saying why) when they are not running; under `scripts/test`
/// (`VIGIL_REQUIRE_SERVICES=1`) their absence fails the test instead.
pub fn services() -> Option<HashMap<String, String>> {
    let state = std::env::var("VIGIL_TEST_STATE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/test-services").to_string()
    });
    let env = PathBuf::from(&state).join("env");
    match std::fs::read_to_string(&env) {
        Ok(text) => Some(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        Err(e) => absent(&format!(
            "test registries are not running ({}: {e}); start them with scripts/test-services start",
            env.display()
        )),
    }
}

/// The debootstrap image fixture built by `scripts/fixtures/debian-image`.
pub fn debian_fixture() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("VIGIL_FIXTURES").unwrap_or_else(|_| "/var/cache/vigil-fixtures".into()),
    )
    .join("debian-bookworm");
    if dir.join("ready").exists() {
        Some(dir)
    } else {
        absent(&format!(
            "the Debian image fixture is missing ({}); build it with scripts/fixtures/debian-image",
            dir.display()
        ))
    }
}

/// The language-package fixture built by `scripts/fixtures/langs`.
pub fn langs_fixture() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("VIGIL_FIXTURES").unwrap_or_else(|_| "/var/cache/vigil-fixtures".into()),
    )
    .join("langs");
    if dir.join("ready").exists() {
        Some(dir)
    } else {
        absent(&format!(
            "the language fixture is missing ({}); build it with scripts/fixtures/langs",
            dir.display()
        ))
    }
}

fn absent<T>(why: &str) -> Option<T> {
    if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// Runs skopeo with the arguments, panicking with its output on failure.
pub fn skopeo(args: &[&str]) {
    let out = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is installed by scripts/test");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sorted `name@version` of one ecosystem.
pub fn names(inv: &vigil_core::Inventory, eco: vigil_core::Ecosystem) -> Vec<String> {
    let mut v: Vec<String> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == eco)
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Reads an `expected/*.txt` file of the fixture as sorted `name@version`.
pub fn expected(fixture: &std::path::Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture.join("expected").join(file)).unwrap();
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, ver)| format!("{n}@{ver}"))
        .collect();
    v.sort();
    v.dedup();
    v
}
