//! Assertions the scheme tests share.

use super::Scheme;
use std::cmp::Ordering;

/// Every pair of the list compares as its positions do: `i < j` means `list[i] < list[j]`
/// (which also checks antisymmetry and, over the whole list, transitivity).
pub fn assert_sorted(scheme: Scheme, list: &[&str]) {
    let groups: Vec<Vec<&str>> = list.iter().map(|v| vec![*v]).collect();
    assert_groups(scheme, &groups);
}

/// Like [`assert_sorted`] for groups of versions equal to each other.
pub fn assert_groups(scheme: Scheme, groups: &[Vec<&str>]) {
    for (i, gi) in groups.iter().enumerate() {
        for (j, gj) in groups.iter().enumerate() {
            for a in gi {
                for b in gj {
                    let got = scheme
                        .compare(a, b)
                        .unwrap_or_else(|e| panic!("{scheme:?}: {a} vs {b}: {e}"));
                    assert_eq!(got, i.cmp(&j), "{scheme:?}: {a} vs {b}");
                }
            }
        }
    }
}

/// Each `(a, op, b)` holds, and so does its mirror image.
pub fn assert_pairs(scheme: Scheme, pairs: &[(&str, &str, &str)]) {
    for (a, op, b) in pairs {
        let want = match *op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("bad operator {other}"),
        };
        let got = scheme
            .compare(a, b)
            .unwrap_or_else(|e| panic!("{scheme:?}: {a} vs {b}: {e}"));
        assert_eq!(got, want, "{scheme:?}: {a} {op} {b}");
        let back = scheme
            .compare(b, a)
            .unwrap_or_else(|e| panic!("{scheme:?}: {b} vs {a}: {e}"));
        assert_eq!(back, want.reverse(), "{scheme:?}: {b} vs {a} (mirror)");
    }
}

/// Each version is rejected with an error.
pub fn assert_invalid(scheme: Scheme, list: &[&str]) {
    for v in list {
        assert!(!scheme.is_valid(v), "{scheme:?}: {v:?} should be invalid");
    }
}

/// Each version is accepted.
pub fn assert_valid(scheme: Scheme, list: &[&str]) {
    for v in list {
        if let Err(e) = scheme.validate(v) {
            panic!("{scheme:?}: {v:?} should be valid: {e}");
        }
    }
}
