#![allow(missing_docs)] // criterion_group! generates an undocumented function.

//! Matching a 1,000-package inventory against a database, warm (the pages the lookups
//! touch are cached after the first iteration).
//!
//! `VIGIL_BENCH_DB=FILE cargo bench -p vigil-vulndb --bench match` — `benches/vulndb.sh`
//! builds the databases (the real OSV data, and a 500,000-record synthesized one) and runs
//! this against each, so the figures show whether match time stays flat as the database
//! grows.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use vigil_core::{Ecosystem, Inventory, Package};
use vigil_vulndb::Database;

/// 1,000 packages named like real ones in the database (Go modules, crates, PyPI
/// projects), at versions that hit some advisories and miss others.
fn inventory(db: &std::path::Path) -> Inventory {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database");
    let mut stmt = conn
        .prepare(
            "SELECT DISTINCT ecosystem, name FROM affected
             WHERE ecosystem IN ('Go', 'crates.io', 'PyPI') AND name NOT LIKE '%-copy-%'
             ORDER BY ecosystem, name LIMIT 1000",
        )
        .expect("query names");
    let names: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("names")
        .collect::<Result<_, _>>()
        .expect("names");
    assert!(
        names.len() >= 1000,
        "only {} names in the database",
        names.len()
    );
    let versions = ["0.1.0", "1.0.0", "1.2.3", "2.0.1", "0.0.1"];
    let packages = names
        .iter()
        .enumerate()
        .map(|(i, (eco, name))| {
            let ecosystem = match eco.as_str() {
                "Go" => Ecosystem::Go,
                "crates.io" => Ecosystem::Cargo,
                _ => Ecosystem::Pypi,
            };
            let v = versions[i % versions.len()];
            let v = if ecosystem == Ecosystem::Go {
                format!("v{v}")
            } else {
                v.to_string()
            };
            Package::new(ecosystem, name, v, "bench", "/bench")
        })
        .collect();
    Inventory {
        packages,
        ..Inventory::default()
    }
}

fn bench(c: &mut Criterion) {
    let Some(path) = std::env::var_os("VIGIL_BENCH_DB").map(PathBuf::from) else {
        eprintln!("set VIGIL_BENCH_DB to a database (benches/vulndb.sh builds them)");
        return;
    };
    let inventory = inventory(&path);
    let label = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    c.bench_function(&format!("open+match 1000 packages ({label})"), |b| {
        b.iter(|| {
            let db = Database::open(&path).expect("open");
            let outcome = vigil_vulndb::matcher::match_inventory(&db, &inventory).expect("match");
            std::hint::black_box(outcome.matches.len())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
