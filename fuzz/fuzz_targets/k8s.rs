//! Kubernetes posture on hostile input: the bytes as a manifest stream and as a cluster
//! snapshot; whatever parses goes through every check family, the attack paths and a diff
//! against itself. Errors are fine; panics, hangs and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use vigil_kube::{Inventory, Limits, attack, checks, diff, manifest};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_documents: 256,
        max_objects: 1024,
        max_files: 1,
        max_depth: 32,
    };
    let mut inventories = Vec::new();
    if let Ok(objects) = manifest::parse(data, Path::new("fuzz.yaml"), &limits) {
        inventories.push(Inventory::from_manifests(objects, "default"));
    }
    if let Ok(inv) = Inventory::parse_snapshot(data.to_vec(), Path::new("fuzz.json")) {
        inventories.push(inv);
    }
    for inv in &inventories {
        let findings = checks::run_all(inv);
        let _ = attack::paths(inv, &findings, &[]);
        let d = diff::diff(inv, inv);
        assert!(d.new_findings.is_empty() && d.resolved_findings.is_empty());
    }
});
