//! Inventory + database -> findings.
//!
//! For each package: one indexed lookup ([`target::query`]), each affected entry evaluated
//! with the ecosystem's ordering ([`range::evaluate`]), then the advisories that describe
//! the same vulnerability (sharing an id or alias: PYSEC, GHSA and the CVE they name) are
//! merged into one finding that lists every source.

pub mod range;
pub mod target;

pub use target::{Query, Unmatched, lookup_ecosystem};

use crate::model::Advisory;
use crate::score;
use crate::store::{Database, DbError};
use crate::version::Scheme;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use vigil_core::{Inventory, MatchedPackage, Package, Severity, VulnMatch, VulnStatus, Warning};

/// Findings for an inventory, and what could not be judged.
#[derive(Debug, Default)]
pub struct MatchOutcome {
    /// Findings, most severe first, then by package name and id.
    pub matches: Vec<VulnMatch>,
    /// Versions or ranges that could not be compared, each naming the package and
    /// advisory; the affected entry was skipped, not guessed.
    pub warnings: Vec<Warning>,
    /// Packages no advisory source covers, by reason (`OS plan9`), with counts.
    pub uncovered: BTreeMap<String, usize>,
}

/// One affected entry that includes a package's version.
struct RawHit {
    advisory: i64,
    fixed: Vec<String>,
    status: Option<VulnStatus>,
    severity: Option<Severity>,
}

/// Matches every package of `inventory` against `db`.
pub fn match_inventory(db: &Database, inventory: &Inventory) -> Result<MatchOutcome, DbError> {
    let _batch = db.read_batch()?;
    let mut outcome = MatchOutcome::default();
    let mut advisories: HashMap<i64, Advisory> = HashMap::new();
    for package in &inventory.packages {
        let query = match target::query(package, inventory.os.as_ref()) {
            Ok(q) => q,
            Err(Unmatched::UnsupportedOs(os)) => {
                *outcome.uncovered.entry(format!("OS {os}")).or_default() += 1;
                continue;
            }
            Err(Unmatched::NoVersion) => {
                *outcome.uncovered.entry("no version".into()).or_default() += 1;
                continue;
            }
        };
        let mut hits = Vec::new();
        for stored in db.affected(&query.ecosystem, &query.name)? {
            let entry = &stored.affected;
            if entry.status == Some(VulnStatus::NotAffected) {
                hits.push(RawHit {
                    advisory: stored.advisory,
                    fixed: Vec::new(),
                    status: entry.status,
                    severity: entry.severity,
                });
                continue;
            }
            match range::evaluate(entry, &query.version, query.scheme) {
                Ok(Some(hit)) => hits.push(RawHit {
                    advisory: stored.advisory,
                    fixed: hit.fixed,
                    status: entry.status,
                    severity: entry.severity,
                }),
                Ok(None) => {}
                Err(e) => {
                    let advisory = cached(db, &mut advisories, stored.advisory)?;
                    outcome.warnings.push(Warning {
                        path: package.location.path.clone(),
                        source: "matcher".into(),
                        message: format!(
                            "{} {} against {}: {e}",
                            package.name, package.version, advisory.id
                        ),
                    });
                }
            }
        }
        for rowid in hits.iter().map(|h| h.advisory) {
            cached(db, &mut advisories, rowid)?;
        }
        outcome
            .matches
            .extend(merge(package, &query, &hits, &advisories));
    }
    outcome.matches.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.package.name.cmp(&b.package.name))
            .then_with(|| a.package.version.cmp(&b.package.version))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(outcome)
}

fn cached<'a>(
    db: &Database,
    cache: &'a mut HashMap<i64, Advisory>,
    rowid: i64,
) -> Result<&'a Advisory, DbError> {
    Ok(match cache.entry(rowid) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => e.insert(db.advisory(rowid)?),
    })
}

/// Groups the hits of one package by vulnerability (shared ids or aliases) and builds one
/// finding per group.
fn merge(
    package: &Package,
    query: &Query,
    hits: &[RawHit],
    advisories: &HashMap<i64, Advisory>,
) -> Vec<VulnMatch> {
    let mut groups: Vec<(BTreeSet<String>, Vec<&RawHit>)> = Vec::new();
    for hit in hits {
        let Some(advisory) = advisories.get(&hit.advisory) else {
            continue;
        };
        let mut ids: BTreeSet<String> = advisory.aliases.iter().cloned().collect();
        ids.insert(advisory.id.clone());
        let mut members = vec![hit];
        // Absorb every group that shares an identifier (this can join several).
        let mut i = 0;
        while i < groups.len() {
            if groups[i].0.is_disjoint(&ids) {
                i += 1;
            } else {
                let (other_ids, other_members) = groups.swap_remove(i);
                ids.extend(other_ids);
                members.extend(other_members);
            }
        }
        groups.push((ids, members));
    }
    groups
        .into_iter()
        .map(|(ids, members)| finding(package, query, ids, &members, advisories))
        .collect()
}

fn finding(
    package: &Package,
    query: &Query,
    ids: BTreeSet<String>,
    members: &[&RawHit],
    advisories: &HashMap<i64, Advisory>,
) -> VulnMatch {
    let docs: Vec<&Advisory> = members
        .iter()
        .filter_map(|h| advisories.get(&h.advisory))
        .collect();
    // The finding is named by its CVE when there is one, as every scanner does.
    let id = ids
        .iter()
        .find(|i| i.starts_with("CVE-"))
        .or_else(|| docs.first().map(|d| &d.id))
        .cloned()
        .unwrap_or_default();
    let aliases = ids.into_iter().filter(|i| *i != id).collect();
    let mut cvss = Vec::new();
    for doc in &docs {
        for vector in &doc.cvss {
            if cvss.iter().all(|c: &vigil_core::Cvss| c.vector != *vector) {
                cvss.extend(score::score(vector, &doc.source));
            }
        }
    }
    let distro = members.iter().filter_map(|h| h.severity).max();
    let best_cvss = cvss.iter().map(|c| c.score).reduce(f64::max);
    let severity = distro
        .or(best_cvss.map(score::severity))
        .or(docs.iter().filter_map(|d| d.severity).max())
        .unwrap_or(Severity::Unknown);
    let mut fixed: Vec<String> = members
        .iter()
        .flat_map(|h| h.fixed.iter().cloned())
        .collect();
    sort_fixes(query.scheme, &mut fixed);
    let status = if !fixed.is_empty() {
        VulnStatus::Fixed
    } else if members
        .iter()
        .all(|h| h.status == Some(VulnStatus::NotAffected))
    {
        VulnStatus::NotAffected
    } else {
        members
            .iter()
            .filter_map(|h| h.status)
            .find(|s| *s != VulnStatus::NotAffected)
            .unwrap_or(VulnStatus::Affected)
    };
    let mut sources: Vec<String> = docs.iter().map(|d| d.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let primary = docs.iter().find(|d| d.id == id).or(docs.first());
    VulnMatch {
        package: MatchedPackage {
            ecosystem: package.ecosystem,
            name: package.name.clone(),
            version: package.version.clone(),
            purl: package.purl.clone(),
            source_name: query.source_name.clone(),
            locations: vec![package.location.clone()],
        },
        id,
        aliases,
        title: docs
            .iter()
            .map(|d| d.summary.as_str())
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_owned(),
        severity,
        cvss,
        fixed_versions: fixed,
        status,
        sources,
        url: primary.and_then(|d| d.url.clone()),
        published: docs.iter().filter_map(|d| d.published.clone()).min(),
    }
}

/// Sorts fixed versions in the scheme's order, lowest first, without duplicates. A fix
/// the scheme cannot read (one from a SEMVER range of another ecosystem) sorts after the
/// readable ones, by text.
fn sort_fixes(scheme: Scheme, fixed: &mut Vec<String>) {
    // Readability is decided once per fix: a comparison falling back to text pair by pair
    // is not a total order, and the standard library's sort may panic on one.
    let mut keyed: Vec<(bool, String)> =
        fixed.drain(..).map(|f| (!scheme.is_valid(&f), f)).collect();
    keyed.sort_by(|(a_bad, a), (b_bad, b)| match (a_bad, b_bad) {
        (false, false) => scheme.compare(a, b).unwrap_or(Ordering::Equal),
        _ => a_bad.cmp(b_bad).then_with(|| a.cmp(b)),
    });
    fixed.extend(keyed.into_iter().map(|(_, f)| f));
    fixed.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A comparison that falls back to text for unreadable fixes is not a total order
    /// (`2.0` < `10.0` by version, `10.0` < `12.0-x!` < `2.0` by text): sorting with it
    /// gave no consistent order and, on most shuffles of these 40 fixes, panicked.
    #[test]
    fn unreadable_fixes_sort_after_readable_ones_without_panicking() {
        let name = |i: u64| {
            if i.is_multiple_of(3) {
                format!("{i}.0-x!")
            } else {
                format!("{i}.0")
            }
        };
        let mut expected: Vec<String> = (1..40_u64)
            .filter(|i| !i.is_multiple_of(3))
            .map(name)
            .collect();
        let mut unreadable: Vec<String> = (1..40_u64)
            .filter(|i| i.is_multiple_of(3))
            .map(name)
            .collect();
        unreadable.sort();
        expected.extend(unreadable);
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20 {
            let mut fixed: Vec<String> = (1..40).map(name).collect();
            fixed.push("2.0".into());
            for i in (1..fixed.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                fixed.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            sort_fixes(Scheme::Pep440, &mut fixed);
            assert_eq!(fixed, expected);
        }
    }
}
