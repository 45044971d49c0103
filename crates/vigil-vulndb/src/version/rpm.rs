//! RPM versions: an `[epoch:]version[-release]` string split as rpm's `parseEVR()`
//! (rpmio/rpmver.c) splits it, each part compared with `rpmvercmp()` (rpmio/rpmvercmp.c,
//! rpm 4.15+ with the `^` caret operator): alphanumeric segments separated by anything
//! else, digits against digits as numbers, letters against letters as bytes, a digit
//! segment newer than a letter one, `~` older than everything (even the end) and `^`
//! newer than the end but older than anything else. A missing epoch is 0. A missing
//! release compares as an empty one, as rpm 4.18's `rpm.vercmp()` does (so `1.0` is older
//! than `1.0-1`).
//!
//! Hand-written: the algorithm is short and exact here; the crates that port it either
//! skip `^`, compare the whole EVR as one rpmvercmp string, or are unmaintained.

use std::cmp::Ordering;

#[derive(Debug)]
pub(super) struct Version<'a> {
    epoch: &'a [u8],
    version: &'a [u8],
    release: &'a [u8],
}

pub(super) fn parse(v: &str) -> Result<Version<'_>, String> {
    if v.is_empty() {
        return Err("empty version".into());
    }
    if let Some(c) = v.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("invalid character {c:?}"));
    }
    let b = v.as_bytes();
    // The epoch is the run of digits before a colon; without one, the whole string is
    // version[-release].
    let d = super::digits_len(b);
    let (epoch, rest): (&[u8], &[u8]) = match b.get(d) {
        Some(b':') => {
            let e = b.get(..d).unwrap_or_default();
            (
                if e.is_empty() { b"0" } else { e },
                b.get(d + 1..).unwrap_or_default(),
            )
        }
        _ => (b"0", b),
    };
    let (version, release): (&[u8], &[u8]) = match rest.iter().rposition(|&c| c == b'-') {
        Some(p) => (
            rest.get(..p).unwrap_or_default(),
            rest.get(p + 1..).unwrap_or_default(),
        ),
        None => (rest, b""),
    };
    if version.is_empty() {
        return Err("empty version part".into());
    }
    if rest.contains(&b'-') && release.is_empty() {
        return Err("empty release after '-'".into());
    }
    Ok(Version {
        epoch,
        version,
        release,
    })
}

pub(super) fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    rpmvercmp(a.epoch, b.epoch)
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| rpmvercmp(a.release, b.release))
}

/// rpm's segment comparison of two version (or release) strings.
pub(super) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let sep = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while a.get(i).is_some_and(sep) {
            i += 1;
        }
        while b.get(j).is_some_and(sep) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        // Tilde: older than anything, including the end.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret: like tilde, but the end of the other string is older.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let rest_a = a.get(i..).unwrap_or_default();
        let rest_b = b.get(j..).unwrap_or_default();
        let numeric = ca.is_ascii_digit();
        let run = |s: &[u8]| {
            if numeric {
                super::digits_len(s)
            } else {
                s.iter().take_while(|c| c.is_ascii_alphabetic()).count()
            }
        };
        let (la, lb) = (run(rest_a), run(rest_b));
        // A numeric segment against an alphabetic one: the number is newer.
        if lb == 0 {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (
            rest_a.get(..la).unwrap_or_default(),
            rest_b.get(..lb).unwrap_or_default(),
        );
        let ord = if numeric {
            super::cmp_digits(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        i += la;
        j += lb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;
    use super::rpmvercmp;
    use std::cmp::Ordering;

    const S: Scheme = Scheme::Rpm;

    /// Cases in the spirit of rpm's tests/rpmvercmp.at: plain segments, leading zeros,
    /// letters against digits, separators, tilde and caret.
    #[test]
    fn rpmvercmp_cases() {
        let cases: &[(&str, &str, i8)] = &[
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0.1", 0),
            ("2.0", "2.0.1", -1),
            ("2.0.1a", "2.0.1", 1),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "8", -1),
            ("8", "xyz.4", 1),
            ("5.5p1", "5.5p1", 0),
            ("5.6p1", "5.5p1", 1),
            ("6.0.rc1", "6.0", 1),
            ("10b2", "10a1", 1),
            ("1.0aa", "1.0a", 1),
            ("10.0001", "10.1", 0),
            ("10.0001", "10.0039", -1),
            ("4.999.9", "5.0", -1),
            ("20101121", "20101122", -1),
            ("2_0", "2_0", 0),
            ("2.0", "2_0", 0),
            ("a", "a", 0),
            ("a+", "a+", 0),
            ("a+", "a_", 0),
            ("+a", "_a", 0),
            ("+_", "_+", 0),
            ("1.0~rc1", "1.0~rc1", 0),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0", 1),
            ("1.0^git1", "1.0^git2", -1),
            ("1.0^git1", "1.01", -1),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0^20160101^git1", "1.0^20160101", 1),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0^git1~pre", "1.0^git1", -1),
        ];
        for (a, b, want) in cases {
            let want = want.cmp(&0);
            assert_eq!(rpmvercmp(a.as_bytes(), b.as_bytes()), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b.as_bytes(), a.as_bytes()), want.reverse());
        }
        assert_eq!(rpmvercmp(b"", b""), Ordering::Equal);
    }

    #[test]
    fn evr() {
        assert_sorted(
            S,
            &[
                "1.0~rc1-1.el9",
                "1.0-1.el9",
                "1.0-1.el9_2",
                "1.0-2.el9",
                "1.0^git1-1",
                "1.0.1-1",
                "1:0.5-1",
                "2:0.1-1",
            ],
        );
        assert_pairs(
            S,
            &[
                ("0:1.0-1", "=", "1.0-1"),
                (":1.0-1", "=", "1.0-1"),
                ("1.0", "<", "1.0-1"),
                ("1.0-1", "<", "1.0.0-1"),
                ("3.2.1-5.fc39", ">", "3.2.1-5.fc38"),
            ],
        );
        assert_invalid(S, &["", "1.0-", "-1", "1:", "1.0 -1", "1.0\n"]);
    }
}
