//! A layer blob (any compression) through the tar walk with every analyzer attached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use vigil_image::Limits;
use vigil_image::layer::{Expected, Walker};

fuzz_target!(|data: &[u8]| {
    let analyzers = vigil_image::analyzer::all();
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_total_bytes: 64 << 20,
        max_entries_per_layer: 10_000,
        ..Limits::default()
    };
    let walker = Walker {
        analyzers: &analyzers,
        limits: &limits,
        total: Arc::new(AtomicU64::new(0)),
    };
    let _ = walker.scan_layer("fuzz", Box::new(data), &Expected::default());
});
