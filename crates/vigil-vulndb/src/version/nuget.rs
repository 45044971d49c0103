//! NuGet package versions, as NuGet.Versioning's `NuGetVersion.TryParse` reads them and
//! `VersionComparer.Default` orders them (NuGet's "Package versioning" documentation):
//! one to four dot-separated numbers (`1` is `1.0.0.0`; leading zeros allowed, each at
//! most `int.MaxValue`), an optional `-` and dot-separated release labels (letters, digits,
//! `-`; numeric labels without leading zeros), optional `+metadata`. Order: the four
//! numbers, then a release is newer than any pre-release, then labels pairwise (labels
//! that parse as a 32-bit integer numerically and below the others, the others
//! case-insensitively), a longer label list newer. Metadata is ignored.
//!
//! Hand-written: no Rust crate implements NuGet's rules (four parts, case-insensitive
//! labels). There is no NuGet on this platform to test against, so the tests use the
//! examples of NuGet's documentation and its NuGet.Versioning tests. Stricter than
//! `TryParse` in one way: blanks and `+` signs inside the numbers, which .NET's
//! `Version.TryParse` tolerates, are rejected.

use std::cmp::Ordering;

#[derive(Debug)]
pub(super) struct Version<'a> {
    nums: [u32; 4],
    labels: Vec<&'a str>,
}

pub(super) fn parse(v: &str) -> Result<Version<'_>, String> {
    // NuGet trims the value first.
    let v = v.trim_matches(|c: char| c.is_ascii_whitespace());
    let (main, metadata) = match v.split_once('+') {
        Some((m, md)) => (m, Some(md)),
        None => (v, None),
    };
    let (core, labels) = match main.split_once('-') {
        Some((c, l)) => (c, Some(l)),
        None => (main, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 4 {
        return Err("more than four version numbers".into());
    }
    let mut nums = [0u32; 4];
    for (slot, part) in nums.iter_mut().zip(parts.iter()) {
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("version number {part:?} is not a number"));
        }
        *slot = part
            .parse::<u32>()
            .ok()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| format!("version number {part} is too big"))?;
    }
    let mut out = Vec::new();
    if let Some(labels) = labels {
        for label in labels.split('.') {
            check_part(label, false)?;
            out.push(label);
        }
    }
    if let Some(md) = metadata {
        for part in md.split('.') {
            check_part(part, true)?;
        }
    }
    Ok(Version { nums, labels: out })
}

fn check_part(s: &str, allow_leading_zeros: bool) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty label".into());
    }
    if !allow_leading_zeros
        && s.len() > 1
        && s.starts_with('0')
        && s.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(format!("numeric label {s} has a leading zero"));
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        Some(c) => Err(format!("invalid character {c:?} in label")),
        None => Ok(()),
    }
}

/// `int.TryParse` on a label: an optional `-` and digits within the 32-bit range.
fn as_int(label: &str) -> Option<i64> {
    let digits = label.strip_prefix('-').unwrap_or(label);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = label.parse().ok()?;
    (i64::from(i32::MIN)..=i64::from(i32::MAX))
        .contains(&n)
        .then_some(n)
}

fn compare_label(a: &str, b: &str) -> Ordering {
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        // StringComparer.OrdinalIgnoreCase: upper-case both, then ordinal.
        (None, None) => a
            .bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
    }
}

pub(super) fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    a.nums
        .cmp(&b.nums)
        .then_with(|| match (a.labels.is_empty(), b.labels.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => a
                .labels
                .iter()
                .zip(b.labels.iter())
                .map(|(x, y)| compare_label(x, y))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.labels.len().cmp(&b.labels.len())),
        })
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::NuGet;

    #[test]
    fn documented_order() {
        // NuGet's "Package versioning" page: pre-release ordering examples.
        assert_sorted(
            S,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.0.1",
                "1.0.1-0",
                "1.0.1",
                "1.1",
            ],
        );
    }

    #[test]
    fn normalization_and_case() {
        assert_groups(
            S,
            &[vec![
                "1",
                "1.0",
                "1.0.0",
                "1.0.0.0",
                "01.0.0",
                "1.00.0",
                "1.0.0+build",
                "1.0.0.0+a.b-c",
                " 1.0.0 ",
            ]],
        );
        assert_pairs(
            S,
            &[
                ("1.0.0-BETA", "=", "1.0.0-beta"),
                ("1.0.0-Beta.1", "=", "1.0.0-beta.1+meta"),
                ("1.0.0-alpha", "<", "1.0.0-Beta"),
                ("1.0.0-beta.2", "<", "1.0.0-beta.10"),
                ("1.0.0-beta.x", ">", "1.0.0-beta.10"),
                ("1.0.0-a-b", "<", "1.0.0-a-c"),
                ("1.0.0-a", "<", "1.0.0-a-"),
                ("1.0.0-9999999999", ">", "1.0.0-2"), // beyond int: compared as a string
                ("2147483647.0.0", ">", "2147483646.9.9.9"),
                ("1.2.3.4", ">", "1.2.3"),
                ("1.2.3.4-pre", "<", "1.2.3.4"),
                ("1.2.3.4-pre", ">", "1.2.3.3"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            S,
            &[
                "",
                "a",
                "1.",
                ".1",
                "1..0",
                "1.0.0.0.0",
                "1.0.0-",
                "1.0.0+",
                "1.0.0-a..b",
                "1.0.0-01",
                "1.0.0-a_b",
                "1.0.0+a_b",
                "1.0.0-+a",
                "-1.0.0",
                "1.-1.0",
                "2147483648.0.0",
                "v1.0.0",
                "1.0 .0",
                "1.0.0-ä",
            ],
        );
        assert_valid(S, &["1.0.0-0", "1.0.0-0a", "1.0.0+01", "1.0.0-a.-1", "0"]);
    }
}
