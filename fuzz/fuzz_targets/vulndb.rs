//! Every parser of untrusted input in vigil-vulndb, and the SBOM reader: the first byte
//! picks the parser, the rest is its input.
//!
//! Version comparison splits the rest at the first newline (or in the middle) into two
//! strings and compares them under every scheme, checking that a valid version equals
//! itself and that swapping the operands reverses the order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cmp::Ordering;
use vigil_vulndb::suppress::{IgnoreList, Vex};
use vigil_vulndb::version::Scheme;

const SCHEMES: [Scheme; 10] = [
    Scheme::Dpkg,
    Scheme::Rpm,
    Scheme::Apk,
    Scheme::Semver,
    Scheme::Go,
    Scheme::Pep440,
    Scheme::Maven,
    Scheme::RubyGems,
    Scheme::NuGet,
    Scheme::Packagist,
];

/// Fails to compile when a scheme is added without being listed in `SCHEMES`.
#[allow(dead_code)]
fn listed(s: Scheme) {
    match s {
        Scheme::Dpkg
        | Scheme::Rpm
        | Scheme::Apk
        | Scheme::Semver
        | Scheme::Go
        | Scheme::Pep440
        | Scheme::Maven
        | Scheme::RubyGems
        | Scheme::NuGet
        | Scheme::Packagist => {}
    }
}

fn versions(data: &[u8]) {
    let at = data
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(data.len() / 2);
    let (a, b) = data.split_at(at);
    let b = b.strip_prefix(b"\n").unwrap_or(b);
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    for scheme in SCHEMES {
        for v in [&a, &b] {
            if let Ok(o) = scheme.compare(v, v) {
                assert_eq!(o, Ordering::Equal, "{scheme:?}: {v:?} vs itself");
            }
        }
        let ab = scheme.compare(&a, &b);
        let ba = scheme.compare(&b, &a);
        if let (Ok(ab), Ok(ba)) = (&ab, &ba) {
            assert_eq!(*ab, ba.reverse(), "{scheme:?}: {a:?} vs {b:?}");
        }
        assert_eq!(ab.is_ok(), ba.is_ok(), "{scheme:?}: {a:?} vs {b:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 8 {
        0 => drop(vigil_vulndb::osv::parse(rest, false, "s")),
        1 => drop(vigil_vulndb::osv::parse(rest, true, "s")),
        2 => drop(vigil_vulndb::alpine::parse(rest)),
        3 => drop(vigil_vulndb::debian::parse(rest)),
        4 => drop(Vex::default().read(rest)),
        5 => drop(IgnoreList::default().read(&String::from_utf8_lossy(rest))),
        6 => drop(vigil_core::format::read_sbom(rest, "fuzz")),
        _ => versions(rest),
    }
});
