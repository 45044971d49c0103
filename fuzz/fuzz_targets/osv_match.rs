//! An OSV JSON record through the matcher: every affected entry is evaluated against
//! versions taken from the record itself (its events and listed versions, and variations
//! of them), under the entry's own scheme, or every scheme for an ecosystem Vigil does
//! not know. Errors are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_vulndb::matcher::range::evaluate;
use vigil_vulndb::osv::{Parsed, parse};
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

fuzz_target!(|data: &[u8]| {
    let Ok(Parsed::Advisory(advisory, _)) = parse(data, false, "fuzz") else {
        return;
    };
    for affected in advisory.affected.iter().take(8) {
        let mut candidates: Vec<String> = vec!["0".into()];
        let events = affected
            .ranges
            .iter()
            .flat_map(|r| r.events.iter().map(|e| e.version()));
        for v in events
            .chain(affected.versions.iter().map(String::as_str))
            .take(6)
        {
            candidates.push(v.to_owned());
            candidates.push(format!("{v}.1"));
            if let Some((i, _)) = v.char_indices().last() {
                candidates.push(v[..i].to_owned());
            }
        }
        let schemes: Vec<Scheme> = match Scheme::for_osv_ecosystem(&affected.ecosystem) {
            Some(s) => vec![s],
            None => SCHEMES.to_vec(),
        };
        for scheme in schemes {
            for version in &candidates {
                let result = evaluate(affected, version, scheme);
                // A listed version is affected whenever the ranges could be evaluated.
                if affected.versions.contains(version) {
                    if let Ok(hit) = &result {
                        assert!(hit.is_some(), "{scheme:?}: listed {version:?} not affected");
                    }
                }
            }
        }
    }
});
