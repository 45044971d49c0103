//! Maven versions, ordered as `org.apache.maven.artifact.versioning.ComparableVersion`
//! of Maven 3.8.7 (maven-artifact) orders them, which is also the "Version Order
//! Specification" of the POM reference: the version is split into items at `.`, at `-`
//! (which opens a nested list) and at every switch between digits and letters; numbers
//! compare as numbers; the known qualifiers order `alpha < beta < milestone < rc = cr <
//! snapshot < "" = ga = final = release < sp`, with `a1`/`b1`/`m1` short for
//! `alpha-1`/`beta-1`/`milestone-1`, and unknown qualifiers after all of them in
//! (case-insensitive) lexical order; trailing "null" items (0, "", empty lists) are
//! dropped, so `1.0.0 = 1`. Whether a number, a qualifier or a sub-list is newer when they
//! meet follows the reference item by item (`1.1 > 1-1 > 1-sp > 1`).
//!
//! ComparableVersion has changed between Maven releases in corner cases (3.8 added the
//! `release` alias and changed how a qualifier followed by digits is nested; later
//! releases may differ again); this follows 3.8.7, the implementation Debian ships and
//! the differential tests run, item for item.
//!
//! Hand-written: no crate reproduces ComparableVersion's item tree exactly. Input is
//! limited to printable ASCII (Maven would take any string); anything else is an error.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
enum Item {
    /// Digits with leading zeros removed (so "" is zero).
    Int(Vec<u8>),
    /// A qualifier after lower-casing, shorthand expansion and aliasing.
    Str(String),
    /// An index into the version's list arena.
    List(usize),
}

#[derive(Debug)]
pub(super) struct Version {
    lists: Vec<Vec<Item>>,
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn string_item(value: &str, followed_by_digit: bool) -> Item {
    let value = match (followed_by_digit, value) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        _ => value,
    };
    let value = match value {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        v => v,
    };
    Item::Str(value.to_string())
}

fn parse_item(is_digit: bool, buf: &str) -> Item {
    if is_digit {
        Item::Int(buf.trim_start_matches('0').as_bytes().to_vec())
    } else {
        string_item(buf, false)
    }
}

pub(super) fn parse(v: &str) -> Result<Version, String> {
    if v.is_empty() {
        return Err("empty version".into());
    }
    if let Some(c) = v.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("invalid character {c:?}"));
    }
    let v = v.to_ascii_lowercase();
    let mut lists: Vec<Vec<Item>> = vec![Vec::new()];
    let mut cur = 0usize;
    let mut is_digit = false;
    let mut start = 0usize;
    // Adds a new sub-list to the current list and makes it current.
    fn open(lists: &mut Vec<Vec<Item>>, cur: &mut usize) {
        let id = lists.len();
        lists.push(Vec::new());
        if let Some(l) = lists.get_mut(*cur) {
            l.push(Item::List(id));
        }
        *cur = id;
    }
    fn push(lists: &mut [Vec<Item>], cur: usize, item: Item) {
        if let Some(l) = lists.get_mut(cur) {
            l.push(item);
        }
    }
    let is_empty = |lists: &[Vec<Item>], cur: usize| lists.get(cur).is_none_or(Vec::is_empty);
    let sub = |a: usize, b: usize| v.get(a..b).unwrap_or_default();
    for (i, c) in v.bytes().enumerate() {
        match c {
            b'.' | b'-' => {
                let item = if i == start {
                    Item::Int(Vec::new())
                } else {
                    parse_item(is_digit, sub(start, i))
                };
                push(&mut lists, cur, item);
                start = i + 1;
                if c == b'-' {
                    open(&mut lists, &mut cur);
                }
            }
            b'0'..=b'9' => {
                if !is_digit && i > start {
                    if !is_empty(&lists, cur) {
                        open(&mut lists, &mut cur);
                    }
                    push(&mut lists, cur, string_item(sub(start, i), true));
                    start = i;
                    open(&mut lists, &mut cur);
                }
                is_digit = true;
            }
            _ => {
                if is_digit && i > start {
                    push(&mut lists, cur, parse_item(true, sub(start, i)));
                    start = i;
                    open(&mut lists, &mut cur);
                }
                is_digit = false;
            }
        }
    }
    if v.len() > start {
        if !is_digit && !is_empty(&lists, cur) {
            open(&mut lists, &mut cur);
        }
        push(&mut lists, cur, parse_item(is_digit, sub(start, v.len())));
    }
    // Normalize innermost (most recently opened) lists first, as Maven pops its stack.
    for id in (0..lists.len()).rev() {
        let list = lists.get(id).cloned().unwrap_or_default();
        let mut keep = list.len();
        while keep > 0 {
            let Some(item) = list.get(keep - 1) else {
                break;
            };
            if is_null(&lists, item) {
                keep -= 1;
                if let Some(l) = lists.get_mut(id) {
                    l.remove(keep);
                }
            } else if matches!(item, Item::List(_)) {
                keep -= 1;
            } else {
                break;
            }
        }
    }
    Ok(Version { lists })
}

fn is_null(lists: &[Vec<Item>], item: &Item) -> bool {
    match item {
        Item::Int(d) => d.is_empty(),
        Item::Str(s) => s.is_empty(),
        Item::List(id) => lists.get(*id).is_none_or(Vec::is_empty),
    }
}

/// ComparableVersion's `comparableQualifier`: the index of a known qualifier, or
/// "7-" and the qualifier, compared as strings.
fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

/// `a.compareTo(b)`, with `None` for Java's `null` (the other version ran out).
fn cmp_item(va: &Version, a: &Item, vb: &Version, b: Option<&Item>) -> Ordering {
    match (a, b) {
        (Item::Int(x), None) => {
            if x.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Item::Int(x), Some(Item::Int(y))) => super::cmp_digits(x, y),
        (Item::Int(_), Some(_)) => Ordering::Greater,
        (Item::Str(x), None) => comparable_qualifier(x).as_str().cmp("5"),
        (Item::Str(_), Some(Item::Int(_) | Item::List(_))) => Ordering::Less,
        (Item::Str(x), Some(Item::Str(y))) => comparable_qualifier(x).cmp(&comparable_qualifier(y)),
        (Item::List(l), None) => {
            for item in va.lists.get(*l).map(Vec::as_slice).unwrap_or_default() {
                let o = cmp_item(va, item, vb, None);
                if o.is_ne() {
                    return o;
                }
            }
            Ordering::Equal
        }
        (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
        (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
        (Item::List(l), Some(Item::List(r))) => cmp_lists(va, *l, vb, *r),
    }
}

fn cmp_lists(va: &Version, l: usize, vb: &Version, r: usize) -> Ordering {
    let left = va.lists.get(l).map(Vec::as_slice).unwrap_or_default();
    let right = vb.lists.get(r).map(Vec::as_slice).unwrap_or_default();
    for k in 0..left.len().max(right.len()) {
        let o = match (left.get(k), right.get(k)) {
            (Some(x), y) => cmp_item(va, x, vb, y),
            (None, Some(y)) => cmp_item(vb, y, va, None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

pub(super) fn compare(a: &Version, b: &Version) -> Ordering {
    cmp_lists(a, 0, b, 0)
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::Maven;

    #[test]
    fn qualifier_sequence() {
        // The shape of ComparableVersionTest's VERSIONS_QUALIFIER list.
        assert_sorted(
            S,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
    }

    #[test]
    fn number_sequence() {
        // The shape of ComparableVersionTest's VERSIONS_NUMBER list.
        assert_sorted(
            S,
            &[
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn equalities() {
        assert_groups(
            S,
            &[vec![
                "1",
                "1.0",
                "1.0.0",
                "1-0",
                "1.0-0",
                "1-ga",
                "1-GA",
                "1-final",
                "1-release",
                "1.ga",
                "1.final",
                "1.0.0.ga",
                "1-",
                "1.",
            ]],
        );
        assert_pairs(
            S,
            &[
                ("1-cr1", "=", "1-rc1"),
                ("1a1", "=", "1-alpha-1"),
                ("1b2", "=", "1-beta-2"),
                ("1m3", "=", "1-milestone-3"),
                ("1.0-alpha", "<", "1.0"),
                ("1.0-SNAPSHOT", "<", "1.0"),
                ("1.0-SNAPSHOT", ">", "1.0-rc1"),
                ("1.0-sp1", ">", "1.0"),
                ("1.0.1", ">", "1.0-sp1"),
                ("2.0.0.Final", "=", "2.0.0"),
                ("1.0.0.RELEASE", "=", "1.0.0"),
                ("12345678901234567890", "<", "12345678901234567891"),
                ("0001.2", "=", "1.2"),
                ("1.2.3-xyz", ">", "1.2.3-sp"),
            ],
        );
        assert_invalid(S, &["", "1.0 beta", "1.0\t", "1.0é"]);
    }
}
