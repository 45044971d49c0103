//! Does an affected entry include a version? OSV's evaluation, event by event.
//!
//! Follows the OSV schema's reference algorithm: events of a range are sorted by version
//! (`introduced: 0` first); walking them, `introduced <= v` opens the span, `fixed <= v`
//! closes it, `last_affected < v` closes it; a `limit` bounds the whole range from above.
//! A version listed in `versions` is affected whatever the ranges say.

use crate::model::{Affected, Event, RangeKind};
use crate::version::{Scheme, VersionError};
use std::cmp::Ordering;

/// An affected entry that includes the version, with the fixes that would remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The lowest `fixed` above the version in each range that includes it.
    pub fixed: Vec<String>,
}

/// Evaluates `affected` for `version`, ordering versions with `scheme` (ECOSYSTEM ranges)
/// or SemVer (SEMVER ranges; Go's ordering for Go, which agrees with SemVer on its
/// versions and also reads the `v` prefix).
pub fn evaluate(
    affected: &Affected,
    version: &str,
    scheme: Scheme,
) -> Result<Option<Hit>, VersionError> {
    let mut hit = false;
    let mut fixed = Vec::new();
    for listed in &affected.versions {
        if listed == version || scheme.compare(listed, version).ok() == Some(Ordering::Equal) {
            hit = true;
        }
    }
    for range in &affected.ranges {
        let range_scheme = match range.kind {
            RangeKind::Ecosystem => scheme,
            RangeKind::Semver if scheme == Scheme::Go => Scheme::Go,
            RangeKind::Semver => Scheme::Semver,
            RangeKind::Git => continue,
        };
        if let Some(fix) = in_range(&range.events, version, range_scheme)? {
            hit = true;
            if let Some(fix) = fix {
                fixed.push(fix);
            }
        }
    }
    Ok(hit.then_some(Hit { fixed }))
}

/// `None` when the range does not include `version`; otherwise the next fix, if any.
fn in_range(
    events: &[Event],
    version: &str,
    scheme: Scheme,
) -> Result<Option<Option<String>>, VersionError> {
    let cmp = |a: &str, b: &str| -> Result<Ordering, VersionError> {
        if a == "0" {
            return Ok(if b == "0" {
                Ordering::Equal
            } else {
                Ordering::Less
            });
        }
        if b == "0" {
            return Ok(Ordering::Greater);
        }
        scheme.compare(a, b)
    };
    // A range we cannot order is not guessed at: every version is checked before sorting,
    // because sorting with an inconsistent order may panic (Rust 1.81 and later). `limit:
    // *` (no limit) is not a version: it sorts last, where a limit's place does not matter.
    let no_limit = |e: &Event| matches!(e, Event::Limit(v) if v == "*");
    for event in events.iter().filter(|e| !no_limit(e)) {
        cmp(event.version(), event.version())?;
    }
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| match (no_limit(a), no_limit(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => cmp(a.version(), b.version()).unwrap_or(Ordering::Equal),
    });
    let mut affected = false;
    let mut limited = false;
    let mut below_limit = false;
    for event in &sorted {
        match event {
            Event::Introduced(v) => {
                if cmp(version, v)? != Ordering::Less {
                    affected = true;
                }
            }
            Event::Fixed(v) => {
                if cmp(version, v)? != Ordering::Less {
                    affected = false;
                }
            }
            Event::LastAffected(v) => {
                if cmp(version, v)? == Ordering::Greater {
                    affected = false;
                }
            }
            Event::Limit(v) => {
                limited = true;
                if v == "*" || cmp(version, v)? == Ordering::Less {
                    below_limit = true;
                }
            }
        }
    }
    if !affected || (limited && !below_limit) {
        return Ok(None);
    }
    let mut next_fix = None;
    for event in &sorted {
        if let Event::Fixed(v) = event
            && cmp(version, v)? == Ordering::Less
        {
            next_fix = Some(v.clone());
            break;
        }
    }
    Ok(Some(next_fix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Range;

    fn entry(kind: RangeKind, events: Vec<Event>, versions: &[&str]) -> Affected {
        Affected {
            ecosystem: "PyPI".into(),
            name: "x".into(),
            ranges: vec![Range { kind, events }],
            versions: versions.iter().map(|v| v.to_string()).collect(),
            status: None,
            severity: None,
        }
    }

    fn hit(a: &Affected, v: &str, s: Scheme) -> Option<Vec<String>> {
        evaluate(a, v, s).unwrap().map(|h| h.fixed)
    }

    use Event::*;

    #[test]
    fn several_spans_in_one_range_unsorted() {
        // PYSEC-2019-2 (ansible), with its events shuffled.
        let a = entry(
            RangeKind::Ecosystem,
            vec![
                Introduced("2.8.0".into()),
                Fixed("2.8.2".into()),
                Introduced("0".into()),
                Fixed("2.6.18".into()),
                Introduced("2.7.0".into()),
                Fixed("2.7.12".into()),
            ],
            &[],
        );
        let s = Scheme::Pep440;
        assert_eq!(hit(&a, "1.0", s), Some(vec!["2.6.18".into()]));
        assert_eq!(hit(&a, "2.6.18", s), None);
        assert_eq!(hit(&a, "2.6.99", s), None);
        assert_eq!(hit(&a, "2.7.0", s), Some(vec!["2.7.12".into()]));
        assert_eq!(hit(&a, "2.8.1", s), Some(vec!["2.8.2".into()]));
        assert_eq!(hit(&a, "2.8.2", s), None);
        assert_eq!(hit(&a, "2.9", s), None);
    }

    #[test]
    fn last_affected_limit_and_versions() {
        let last = entry(
            RangeKind::Semver,
            vec![Introduced("1.0.0".into()), LastAffected("1.4.2".into())],
            &[],
        );
        assert_eq!(hit(&last, "1.4.2", Scheme::Semver), Some(vec![]));
        assert_eq!(hit(&last, "1.4.3", Scheme::Semver), None);
        assert_eq!(hit(&last, "0.9.0", Scheme::Semver), None);

        let limited = entry(
            RangeKind::Ecosystem,
            vec![Introduced("0".into()), Limit("2.0".into())],
            &[],
        );
        assert!(hit(&limited, "1.9", Scheme::Pep440).is_some());
        assert!(hit(&limited, "2.0", Scheme::Pep440).is_none());

        let listed = entry(
            RangeKind::Git,
            vec![Introduced("abc".into())],
            &["1.0", "1.1"],
        );
        assert!(hit(&listed, "1.1", Scheme::Pep440).is_some());
        assert!(
            hit(&listed, "1.1.0", Scheme::Pep440).is_some(),
            "PEP 440 equality"
        );
        assert!(hit(&listed, "1.2", Scheme::Pep440).is_none());
    }

    #[test]
    fn go_semver_ranges_read_the_v_prefix() {
        let a = entry(
            RangeKind::Semver,
            vec![Introduced("0".into()), Fixed("2.2.4".into())],
            &[],
        );
        assert_eq!(hit(&a, "v2.2.3", Scheme::Go), Some(vec!["2.2.4".into()]));
        assert_eq!(hit(&a, "v2.2.4", Scheme::Go), None);
    }

    #[test]
    fn unreadable_versions_are_errors_not_guesses() {
        let a = entry(
            RangeKind::Ecosystem,
            vec![Introduced("0".into()), Fixed("1.0".into())],
            &[],
        );
        assert!(evaluate(&a, "not a version!", Scheme::Pep440).is_err());
    }

    /// A long range run through the `osv_match` fuzz target, minimized: more than 20 events,
    /// some of them versions the scheme cannot read, made the sort's order inconsistent,
    /// and the standard library's sort panicked instead of the range being reported.
    #[test]
    fn unreadable_events_among_many_are_an_error_not_a_panic() {
        let record = br#"{"id": "X-1", "affected": [{"package": {"ecosystem": "npm", "name": "p"},
          "ranges": [{"type": "SEMVER", "events": [{"fixed": "1.8.0"}, {"fixed": "7.0.0"},
          {"introduced": "bad version!"}, {"fixed": "0.0.0"}, {"fixed": "0.0.0"},
          {"fixed": "1.46.0"}, {"last_affected": "1.1.0"}, {"last_affected": "0.0.0"},
          {"last_affected": "1.13.0"}, {"last_affected": "7.0.0"},
          {"last_affected": "bad version!!"}, {"fixed": "1.35.0"}, {"introduced": "1..0"},
          {"fixed": "x@y"}, {"introduced": "0.0.0"}, {"last_affected": "9.0.0"},
          {"introduced": "bad vion!"}, {"fixed": "bad v0"}, {"fixed": "1.4.0"},
          {"fixaffected": "bad version!"}, {"fixed": "1.29.0"}, {"introduced": "1.12.0"}]}]}]}"#;
        let crate::osv::Parsed::Advisory(advisory, _) =
            crate::osv::parse(record, false, "fuzz").unwrap()
        else {
            panic!("not withdrawn");
        };
        let a = &advisory.affected[0];
        assert!(a.ranges[0].events.len() > 20);
        for v in ["0", "1.8.0", "7.0.0.1"] {
            assert!(evaluate(a, v, Scheme::Semver).is_err(), "{v}");
        }
    }

    #[test]
    fn limit_star_is_no_limit() {
        let a = entry(
            RangeKind::Ecosystem,
            vec![
                Introduced("1.0".into()),
                Limit("*".into()),
                Fixed("2.0".into()),
            ],
            &[],
        );
        assert_eq!(hit(&a, "1.5", Scheme::Pep440), Some(vec!["2.0".into()]));
        assert_eq!(hit(&a, "0.5", Scheme::Pep440), None);
        assert_eq!(hit(&a, "2.0", Scheme::Pep440), None);
    }
}
