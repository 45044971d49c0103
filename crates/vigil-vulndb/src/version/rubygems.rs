//! RubyGems versions, as `Gem::Version` (rubygems/version.rb, RubyGems 3.x) reads and
//! orders them: a version matches `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`
//! (blanks around it allowed), every `-` means `.pre.`, the segments are the runs of digits
//! and of letters, and `<=>` compares the canonical segments (trailing zeros dropped from
//! the numeric release part and from the rest) pairwise, a missing segment counting as 0,
//! a string older than a number, numbers as numbers and strings byte-wise (so `1.0.a` is a
//! pre-release of `1.0` and `B < a`).
//!
//! One deliberate difference: `Gem::Version.new("")` is version 0; an empty or blank
//! string is rejected here, because an advisory or lock file never means that.
//!
//! Hand-written: no crate implements `Gem::Version`; it is short.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Num(Vec<u8>),
    Str(Vec<u8>),
}

#[derive(Debug)]
pub(super) struct Version {
    canonical: Vec<Seg>,
}

/// Checks the `Gem::Version` pattern on the trimmed string.
fn check(s: &[u8]) -> Result<(), String> {
    let bad = |c: u8| Err(format!("unexpected {:?}", char::from(c)));
    let n = super::digits_len(s);
    if n == 0 {
        return Err("does not start with a digit".into());
    }
    let mut rest = s.get(n..).unwrap_or_default();
    // (\.[0-9a-zA-Z]+)*
    while let Some((b'.', after)) = rest.split_first() {
        let n = after
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if n == 0 {
            break;
        }
        rest = after.get(n..).unwrap_or_default();
    }
    // (-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?
    if let Some((b'-', mut after)) = rest.split_first() {
        loop {
            let n = after
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
                .count();
            if n == 0 {
                return Err("empty part after '-' or '.'".into());
            }
            after = after.get(n..).unwrap_or_default();
            match after.split_first() {
                None => return Ok(()),
                Some((b'.', more)) => after = more,
                Some((c, _)) => return bad(*c),
            }
        }
    }
    match rest.first() {
        None => Ok(()),
        Some(c) => bad(*c),
    }
}

pub(super) fn parse(v: &str) -> Result<Version, String> {
    // Ruby's \s: space, \t, \n, \v, \f, \r.
    let s = v.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    if s.is_empty() {
        return Err("empty version".into());
    }
    check(s.as_bytes())?;
    // Segments: runs of digits or letters of the version with '-' read as ".pre.".
    let expanded = s.replace('-', ".pre.");
    let mut segs = Vec::new();
    let b = expanded.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = b.get(i..).unwrap_or_default();
        let n = super::digits_len(rest);
        if n > 0 {
            segs.push(Seg::Num(rest.get(..n).unwrap_or_default().to_vec()));
            i += n;
            continue;
        }
        let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if n > 0 {
            segs.push(Seg::Str(rest.get(..n).unwrap_or_default().to_vec()));
            i += n;
            continue;
        }
        i += 1;
    }
    // canonical_segments: split at the first string, drop trailing zeros of each part.
    let split = segs
        .iter()
        .position(|s| matches!(s, Seg::Str(_)))
        .unwrap_or(segs.len());
    let strings = segs.split_off(split);
    let is_zero = |s: &Seg| matches!(s, Seg::Num(d) if d.iter().all(|&c| c == b'0'));
    let mut canonical = Vec::new();
    for mut part in [segs, strings] {
        while part.last().is_some_and(is_zero) {
            part.pop();
        }
        canonical.extend(part);
    }
    Ok(Version { canonical })
}

pub(super) fn compare(a: &Version, b: &Version) -> Ordering {
    let zero = Seg::Num(Vec::new());
    for k in 0..a.canonical.len().max(b.canonical.len()) {
        let x = a.canonical.get(k).unwrap_or(&zero);
        let y = b.canonical.get(k).unwrap_or(&zero);
        let o = match (x, y) {
            (Seg::Num(p), Seg::Num(q)) => super::cmp_digits(p, q),
            (Seg::Str(p), Seg::Str(q)) => p.cmp(q),
            (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
            (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::RubyGems;

    #[test]
    fn gem_version_spaceship() {
        // Cases of the kind RubyGems' test_gem_version.rb checks for <=>.
        assert_pairs(
            S,
            &[
                ("1.0", "=", "1.0.0"),
                ("1.0", ">", "1.0.a"),
                ("1.8.2", ">", "0.0.0"),
                ("1.8.2", ">", "1.8.2.a"),
                ("1.8.2.b", ">", "1.8.2.a"),
                ("1.8.2.a", "<", "1.8.2"),
                ("1.8.2.a10", ">", "1.8.2.a9"),
                ("0.beta.1", "=", "0.0.beta.1"),
                ("5.a", "<", "5.0.0.rc2"),
                ("5.x", ">", "5.0.0.rc2"),
                ("1.0.0-rc1", "=", "1.0.0.pre.rc1"),
                ("1.0-1", "<", "1.0"),
                ("1.0.0.B", "<", "1.0.0.a"),
                ("1.9.3", "<", "1.10"),
                ("10.0", ">", "9.99.99"),
                ("1.0.0.1", ">", "1.0"),
                ("1.a", "=", "1.0.a"),
                ("1.a.0", "=", "1.a"),
                ("2.0.0.pre.alpha", "<", "2.0.0.pre.beta"),
            ],
        );
    }

    #[test]
    fn sorted_list() {
        assert_sorted(
            S,
            &[
                "0.9",
                "1.0.0.a",
                "1.0.0.a1",
                "1.0.0.a2",
                "1.0.0.b1",
                "1.0.0.pre",
                "1.0.0.rc1",
                "1.0",
                "1.0.1",
                "1.1.a",
                "1.1",
                "1.10",
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            S,
            &[
                "", "  ", "junk", "1.0\n2.0", "1..2", "1.2.", "1.2 3", "a1", "1.0-", "1.0-a.",
                "1.0_1", "1.0-a_b", ".1", "1.0+1", "1.0 beta",
            ],
        );
        assert_valid(
            S,
            &[
                "1",
                " 1.0 ",
                "1.0.a",
                "1.0-a-b.c",
                "2.0.0-rc.1",
                "1.0\n",
                "01.0",
                "1-2.3-",
            ],
        );
    }
}
