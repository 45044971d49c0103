//! Packagist (Composer) versions: each version is first normalized as Composer's
//! `VersionParser::normalize()` (composer/semver 3.x) does — an optional `v`, one to four
//! numbers padded to four (`1.2` → `1.2.0.0`), date versions (`20240101`, `2024.01.01`),
//! a stability suffix (`-dev`, `alpha`/`a`, `beta`/`b`, `RC`, `patch`/`pl`/`p`, with
//! optional numbers) and `x`-branches (`1.x-dev` → `1.9999999.9999999.9999999-dev`);
//! build metadata, `@stability` flags and `as` aliases are stripped — and the normalized
//! strings are then compared with PHP's `version_compare()` (ext/standard/versioning.c),
//! which Composer's constraints use: `dev < alpha = a < beta = b < RC = rc < (number) <
//! patch = pl = p`, anything unknown below `dev`.
//!
//! Named branches (`dev-main`, `master`) have no order in Composer (a constraint never
//! matches them by comparison) and are rejected, as is anything `normalize()` throws on.
//!
//! Hand-written: there is no Rust port of Composer's normalizer, and `version_compare`'s
//! canonicalization rules are easy to get subtly wrong with a generic algorithm.

use std::cmp::Ordering;

#[derive(Debug)]
pub(super) struct Version {
    normalized: String,
}

const PHP_TRIM: &[char] = &[' ', '\t', '\n', '\r', '\0', '\x0b'];

/// PCRE's `\s` (without /u): space, \t, \n, \x0b, \x0c, \r.
fn is_pcre_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ci(s: &[u8], lit: &str) -> bool {
    s.len() >= lit.len()
        && s.iter()
            .zip(lit.bytes())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
}

/// A successful match of Composer's modifier regex against a whole remainder:
/// `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?$`.
struct Modifier {
    stability: Option<String>,
    numbers: String,
    dev: bool,
}

fn match_modifier(s: &[u8]) -> Option<Modifier> {
    const LABELS: [&str; 9] = [
        "stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p",
    ];
    let seps: &[bool] = if matches!(s.first(), Some(b'.' | b'_' | b'-')) {
        &[true, false]
    } else {
        &[false]
    };
    for &sep in seps {
        let pos = usize::from(sep);
        let rest = s.get(pos..).unwrap_or_default();
        let mut alternatives: Vec<Option<&str>> = LABELS.iter().map(|l| Some(*l)).collect();
        alternatives.push(None);
        for alt in alternatives {
            let (stability, numbers, after) = match alt {
                Some(label) => {
                    if !starts_with_ci(rest, label) {
                        continue;
                    }
                    let label_text = rest.get(..label.len()).unwrap_or_default();
                    let mut p = label.len();
                    // (?:[.-]?\d+)*+ — possessive, so taken greedily once.
                    loop {
                        let q = if matches!(rest.get(p), Some(b'.' | b'-')) {
                            p + 1
                        } else {
                            p
                        };
                        let n = super::digits_len(rest.get(q..).unwrap_or_default());
                        if n == 0 {
                            break;
                        }
                        p = q + n;
                    }
                    let numbers = rest.get(label.len()..p).unwrap_or_default();
                    (
                        Some(String::from_utf8_lossy(label_text).into_owned()),
                        String::from_utf8_lossy(numbers).into_owned(),
                        rest.get(p..).unwrap_or_default(),
                    )
                }
                None => (None, String::new(), rest),
            };
            // ([.-]?dev)? then the end.
            let dev_tail = after
                .strip_prefix(b".")
                .or_else(|| after.strip_prefix(b"-"))
                .filter(|t| starts_with_ci(t, "dev") && t.len() == 3);
            if dev_tail.is_some() || (starts_with_ci(after, "dev") && after.len() == 3) {
                return Some(Modifier {
                    stability,
                    numbers,
                    dev: true,
                });
            }
            if after.is_empty() {
                return Some(Modifier {
                    stability,
                    numbers,
                    dev: false,
                });
            }
        }
    }
    None
}

/// Composer's `expandStability()`.
fn expand_stability(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "a" => "alpha".into(),
        "b" => "beta".into(),
        "p" | "pl" => "patch".into(),
        "rc" => "RC".into(),
        other => other.into(),
    }
}

/// Appends the modifier as `normalize()` does; `None` when the version is returned bare.
fn with_modifier(mut version: String, m: &Modifier) -> String {
    if let Some(stab) = &m.stability {
        if stab == "stable" {
            return version;
        }
        version.push('-');
        version.push_str(&expand_stability(stab));
        version.push_str(m.numbers.trim_start_matches(['.', '-']));
    }
    if m.dev {
        version.push_str("-dev");
    }
    version
}

/// `^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?` + modifier.
fn classical(s: &[u8]) -> Option<String> {
    let s = match s.first() {
        Some(b'v' | b'V') => s.get(1..).unwrap_or_default(),
        _ => s,
    };
    let n = super::digits_len(s);
    if n == 0 || n > 5 {
        return None;
    }
    let mut parts = vec![s.get(..n).unwrap_or_default()];
    let mut rest = s.get(n..).unwrap_or_default();
    while parts.len() < 4 {
        match rest.split_first() {
            Some((b'.', after)) => {
                let n = super::digits_len(after);
                if n == 0 {
                    break;
                }
                parts.push(after.get(..n).unwrap_or_default());
                rest = after.get(n..).unwrap_or_default();
            }
            _ => break,
        }
    }
    let m = match_modifier(rest)?;
    let mut version = String::new();
    for k in 0..4 {
        if k > 0 {
            version.push('.');
        }
        version.push_str(&String::from_utf8_lossy(
            parts.get(k).copied().unwrap_or(b"0"),
        ));
    }
    Some(with_modifier(version, &m))
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)` + modifier, with PCRE's
/// backtracking order (greedy repetitions and optional parts tried present first).
fn date(s: &[u8]) -> Option<String> {
    let s = match s.first() {
        Some(b'v' | b'V') => s.get(1..).unwrap_or_default(),
        _ => s,
    };
    if s.len() < 4 || super::digits_len(s) < 4 {
        return None;
    }
    let is_sep = |c: Option<&u8>| matches!(c, Some(b'.' | b':' | b'-'));
    // Ends of (?:[.:-]?\d{2}) from position p, separator first.
    let two = |p: usize| -> Vec<usize> {
        let mut out = Vec::new();
        for q in [p + 1, p] {
            if q == p + 1 && !is_sep(s.get(p)) {
                continue;
            }
            if super::digits_len(s.get(q..).unwrap_or_default()) >= 2 {
                out.push(q + 2);
            }
        }
        out
    };
    // Depth-first over the repetition, most repetitions first.
    fn reps(two: &dyn Fn(usize) -> Vec<usize>, p: usize, count: usize, out: &mut Vec<usize>) {
        if count < 6 {
            for q in two(p) {
                reps(two, q, count + 1, out);
            }
        }
        if count >= 1 {
            out.push(p);
        }
    }
    let mut ends = Vec::new();
    reps(&two, 4, 0, &mut ends);
    for e in ends {
        // (?:[.:-]?\d{1,3})? — present (separator first, 3 digits first), then absent.
        let mut tails = Vec::new();
        for q in [e + 1, e] {
            if q == e + 1 && !is_sep(s.get(e)) {
                continue;
            }
            let n = super::digits_len(s.get(q..).unwrap_or_default()).min(3);
            for k in (1..=n).rev() {
                tails.push(q + k);
            }
        }
        tails.push(e);
        for t in tails {
            if let Some(m) = match_modifier(s.get(t..).unwrap_or_default()) {
                let head: String = s
                    .get(..t)
                    .unwrap_or_default()
                    .iter()
                    .map(|&c| {
                        if c.is_ascii_digit() {
                            char::from(c)
                        } else {
                            '.'
                        }
                    })
                    .collect();
                return Some(with_modifier(head, &m));
            }
        }
    }
    None
}

/// Composer's `normalizeBranch()` for the numeric branches it accepts.
fn numeric_branch(name: &str) -> Option<String> {
    let s = name.trim_matches(PHP_TRIM).as_bytes();
    let s = match s.first() {
        Some(b'v' | b'V') => s.get(1..).unwrap_or_default(),
        _ => s,
    };
    let n = super::digits_len(s);
    if n == 0 {
        return None;
    }
    let mut out = String::from_utf8_lossy(s.get(..n).unwrap_or_default()).into_owned();
    let mut rest = s.get(n..).unwrap_or_default();
    let mut parts = 1;
    while let Some((b'.', after)) = rest.split_first() {
        if parts == 4 {
            return None;
        }
        let n = super::digits_len(after);
        if n > 0 {
            out.push('.');
            out.push_str(&String::from_utf8_lossy(after.get(..n).unwrap_or_default()));
            rest = after.get(n..).unwrap_or_default();
        } else if matches!(after.first(), Some(b'x' | b'X' | b'*')) {
            out.push_str(".x");
            rest = after.get(1..).unwrap_or_default();
        } else {
            return None;
        }
        parts += 1;
    }
    if !rest.is_empty() {
        return None;
    }
    for _ in parts..4 {
        out.push_str(".x");
    }
    Some(out.replace('x', "9999999") + "-dev")
}

/// `VersionParser::normalize()`; `Err` where it throws or yields a named branch.
pub(super) fn normalize(v: &str) -> Result<String, String> {
    let mut version = v.trim_matches(PHP_TRIM).to_string();
    // Strip an alias: `^([^,\s]++) ++as ++([^,\s]++)$`.
    if let Some(sp) = version.find(' ') {
        let (left, rest) = version.split_at(sp);
        let rest = rest.trim_start_matches(' ');
        if let Some(right) = rest.strip_prefix("as ") {
            let right = right.trim_start_matches(' ');
            let plain =
                |t: &str| !t.is_empty() && !t.bytes().any(|c| c == b',' || is_pcre_space(c));
            if plain(left) && plain(right) {
                version = left.to_string();
            }
        }
    }
    // Strip a stability flag: `@(stable|RC|beta|alpha|dev)$`, case-insensitive.
    if let Some(at) = version.rfind('@') {
        let flag = version.get(at + 1..).unwrap_or_default();
        if ["stable", "rc", "beta", "alpha", "dev"].contains(&flag.to_ascii_lowercase().as_str()) {
            version.truncate(at);
        }
    }
    if ["master", "trunk", "default"].contains(&version.as_str())
        || version
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("dev-"))
    {
        return Err("a named branch has no version order".into());
    }
    // Strip build metadata: `^([^,\s+]++)\+[^\s]++$`.
    if let Some((left, right)) = version.split_once('+')
        && !left.is_empty()
        && !left.bytes().any(|c| c == b',' || is_pcre_space(c))
        && !right.is_empty()
        && !right.bytes().any(is_pcre_space)
    {
        version = left.to_string();
    }
    let b = version.as_bytes();
    if let Some(n) = classical(b).or_else(|| date(b)) {
        return Ok(n);
    }
    // `(.*?)[.-]?dev$`: a numeric branch such as 1.x-dev.
    if version.len() >= 3
        && version
            .get(version.len() - 3..)
            .is_some_and(|t| t.eq_ignore_ascii_case("dev"))
    {
        let head = version.get(..version.len() - 3).unwrap_or_default();
        let head = head
            .strip_suffix('.')
            .or_else(|| head.strip_suffix('-'))
            .unwrap_or(head);
        if let Some(n) = numeric_branch(head) {
            return Ok(n);
        }
    }
    Err("not a version Composer can normalize".into())
}

pub(super) fn parse(v: &str) -> Result<Version, String> {
    if v.bytes()
        .any(|c| !(c.is_ascii_graphic() || c == b' ' || c == b'\t'))
    {
        return Err("non-printable or non-ASCII character".into());
    }
    Ok(Version {
        normalized: normalize(v)?,
    })
}

pub(super) fn compare(a: &Version, b: &Version) -> Ordering {
    php_version_compare(a.normalized.as_bytes(), b.normalized.as_bytes())
}

/// `php_canonicalize_version()`: `-`, `_` and `+` become `.`, a `.` goes between a digit
/// and a non-digit, other non-alphanumerics become `.`, never two in a row.
fn canonicalize(v: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = v.split_first() else {
        return Vec::new();
    };
    let isdig = |c: u8| c.is_ascii_digit();
    let isndig = |c: u8| !c.is_ascii_digit() && c != b'.';
    let mut out = vec![first];
    let mut lp = first;
    for &p in rest {
        let lq = out.last().copied().unwrap_or(0);
        if matches!(p, b'-' | b'_' | b'+') {
            if lq != b'.' {
                out.push(b'.');
            }
        } else if (isndig(lp) && isdig(p)) || (isdig(lp) && isndig(p)) {
            if lq != b'.' {
                out.push(b'.');
            }
            out.push(p);
        } else if !p.is_ascii_alphanumeric() {
            if lq != b'.' {
                out.push(b'.');
            }
        } else {
            out.push(p);
        }
        lp = p;
    }
    out
}

/// `compare_special_version_forms()`: the order of a non-numeric segment (prefix match,
/// case-sensitive); unknown forms are -1.
fn special_form(form: &[u8]) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name.as_bytes()))
        .map_or(-1, |(_, order)| *order)
}

/// C's `strtol` on a run of digits: saturates at `LONG_MAX`.
fn strtol(seg: &[u8]) -> i64 {
    let mut n: i64 = 0;
    for c in seg.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    n
}

/// PHP 8's `php_version_compare()`.
fn php_version_compare(v1: &[u8], v2: &[u8]) -> Ordering {
    if v1.is_empty() || v2.is_empty() {
        return (!v1.is_empty()).cmp(&!v2.is_empty());
    }
    let c1 = if v1.first() == Some(&b'#') {
        v1.to_vec()
    } else {
        canonicalize(v1)
    };
    let c2 = if v2.first() == Some(&b'#') {
        v2.to_vec()
    } else {
        canonicalize(v2)
    };
    let digit_at = |s: &[u8], p: usize| s.get(p).is_some_and(u8::is_ascii_digit);
    let (mut p1, mut p2) = (0usize, 0usize);
    let (mut more1, mut more2) = (true, true); // C's n1/n2 != NULL
    let mut compare = Ordering::Equal;
    while p1 < c1.len() && p2 < c2.len() && more1 && more2 {
        let n1 = c1
            .get(p1..)
            .and_then(|r| r.iter().position(|&c| c == b'.'))
            .map(|k| p1 + k);
        let n2 = c2
            .get(p2..)
            .and_then(|r| r.iter().position(|&c| c == b'.'))
            .map(|k| p2 + k);
        let s1 = c1.get(p1..n1.unwrap_or(c1.len())).unwrap_or_default();
        let s2 = c2.get(p2..n2.unwrap_or(c2.len())).unwrap_or_default();
        let (d1, d2) = (digit_at(s1, 0), digit_at(s2, 0));
        compare = match (d1, d2) {
            (true, true) => strtol(s1).cmp(&strtol(s2)),
            (false, false) => special_form(s1).cmp(&special_form(s2)),
            (true, false) => special_form(b"#N#").cmp(&special_form(s2)),
            (false, true) => special_form(s1).cmp(&special_form(b"#N#")),
        };
        more1 = n1.is_some();
        more2 = n2.is_some();
        if compare.is_ne() {
            break;
        }
        if let Some(n) = n1 {
            p1 = n + 1;
        }
        if let Some(n) = n2 {
            p2 = n + 1;
        }
    }
    if compare.is_eq() {
        if more1 {
            let rest = c1.get(p1..).unwrap_or_default();
            compare = if digit_at(rest, 0) {
                Ordering::Greater
            } else {
                php_version_compare(rest, b"#N#")
            };
        } else if more2 {
            let rest = c2.get(p2..).unwrap_or_default();
            compare = if digit_at(rest, 0) {
                Ordering::Less
            } else {
                php_version_compare(b"#N#", rest)
            };
        }
    }
    compare
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;
    use super::normalize;

    const S: Scheme = Scheme::Packagist;

    #[test]
    fn normalize_like_composer() {
        // Cases of the kind composer/semver's VersionParserTest::successfulNormalizedVersions
        // lists.
        let cases = [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0-pl3", "1.0.0.0-patch3"),
            ("1.0", "1.0.0.0"),
            ("0", "0.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("v1.13.11-beta.0", "1.13.11.0-beta0"),
            ("1.13.11.0-beta0", "1.13.11.0-beta0"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("10.4.13-b5", "10.4.13.0-beta5"),
            ("v1.0.0", "1.0.0.0"),
            ("v20100102", "20100102"),
            ("2010.01", "2010.01.0.0"),
            ("123456.0", "123456.0"),
            ("1.0.0-", "1.0.0.0"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010-01-02", "2010.01.02"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("2010.1.555", "2010.1.555.0"),
            ("2010-01-02-10-20-30.5", "2010.01.02.10.20.30.5"),
            ("20100102-203040", "20100102.203040"),
            ("20100102203040-10", "20100102203040.10"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
            ("1.0.0-beta.5+foo", "1.0.0.0-beta5"),
            ("1.0.0+foo", "1.0.0.0"),
            ("1.0.0-alpha.3.1+foo", "1.0.0.0-alpha3.1"),
            ("1.0.0-alpha2.1+foo", "1.0.0.0-alpha2.1"),
            ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
            ("1.0.0-dev", "1.0.0.0-dev"),
            ("1.0.0 as 2.0.0", "1.0.0.0"),
            ("1.0.0@beta", "1.0.0.0"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2.1.x-dev", "2.1.9999999.9999999-dev"),
            ("v1.2.*-dev", "1.2.9999999.9999999-dev"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0-STABLE", "1.0.0.0-stable"),
            ("99999", "99999.0.0.0"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn order() {
        assert_sorted(
            S,
            &[
                "1.0.0-dev",
                "1.0.0-alpha1",
                "1.0.0-alpha2",
                "1.0.0-beta",
                "1.0.0-beta2",
                "1.0.0-RC1",
                "1.0.0",
                "1.0.0-p1",
                "1.0.0.1",
                "1.0.1",
                "1.1.x-dev",
                "1.2",
                "2.0",
                "20100102",
            ],
        );
        assert_pairs(
            S,
            &[
                ("v1.0.0", "=", "1.0"),
                ("1.0.0-b2", "=", "1.0.0-beta.2"),
                ("1.0.0-pl1", "=", "1.0.0-patch1"),
                ("1.0.0+build", "=", "1.0.0"),
                ("1.0.0-STABLE", "<", "1.0.0"),
                ("1.0.0-rc1", "<", "1.0.0-rc2"),
                ("1.0.0-beta1-dev", "<", "1.0.0-beta1"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            S,
            &[
                "",
                "dev-main",
                "master",
                "foo",
                "1.0.0.0.0",
                "1.0.0-gamma",
                "a.b.c",
                "1.0 .0",
                "1.0.0+",
                "feature-dev",
            ],
        );
    }
}
