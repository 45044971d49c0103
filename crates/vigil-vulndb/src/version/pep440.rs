//! Python package versions by PEP 440 ("Version Identification and Dependency
//! Specification", now the PyPA "Version specifiers" specification), with the parsing
//! latitude of the reference implementation, `packaging.version.Version`: case-insensitive,
//! an optional `v`, surrounding blanks, `-`, `_` or `.` (or nothing) around pre-, post- and
//! dev-release markers, the spellings `alpha`/`beta`/`c`/`pre`/`preview`/`rev`/`r`, the
//! implicit post release `1.0-1`, and implicit numbers (`1.0rc` is `1.0rc0`).
//!
//! Order (the specification's "Summary of permitted suffixes and relative ordering", as
//! `packaging`'s `_cmpkey` realises it): epoch, release with trailing zeros ignored, then
//! dev-only releases < pre-releases < the release < post-releases, dev releases before
//! what they are dev releases of, and a local version label (`+ubuntu1`) newer than none,
//! compared segment by segment with numbers above strings.
//!
//! Only ASCII blanks are trimmed (Python's `\s` also takes Unicode spaces, which no real
//! version has).
//!
//! Hand-written: the `pep440_rs` crate is exact but drags in a large dependency tree for
//! what is a hundred lines here; `packaging` itself is the test oracle.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSeg {
    /// Strings sort below numbers.
    Str(Vec<u8>),
    Num(Vec<u8>),
}

#[derive(Debug)]
pub(super) struct Version {
    epoch: Vec<u8>,
    release: Vec<Vec<u8>>,
    /// 0 = a, 1 = b, 2 = rc, with the number.
    pre: Option<(u8, Vec<u8>)>,
    post: Option<Vec<u8>>,
    dev: Option<Vec<u8>>,
    local: Option<Vec<LocalSeg>>,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }
    fn rest(&self) -> &[u8] {
        self.s.get(self.i..).unwrap_or_default()
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn digits(&mut self) -> Option<Vec<u8>> {
        let n = super::digits_len(self.rest());
        if n == 0 {
            return None;
        }
        let d = self.rest().get(..n).map(<[u8]>::to_vec);
        self.i += n;
        d
    }
    fn sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// `[-_.]?` then one of the labels (first match, in the given order), then
    /// `[-_.]?[0-9]*`; the trailing separator is kept even without a number (the regex
    /// would hand it to the next part, which accepts it just the same).
    fn marker(&mut self, labels: &[&str]) -> Option<(usize, Vec<u8>)> {
        let start = self.i;
        self.sep();
        let Some(which) = labels
            .iter()
            .position(|l| self.rest().starts_with(l.as_bytes()))
        else {
            self.i = start;
            return None;
        };
        self.i += labels.get(which).map_or(0, |l| l.len());
        self.sep();
        let n = self.digits().unwrap_or_else(|| b"0".to_vec());
        Some((which, n))
    }
}

pub(super) fn parse(v: &str) -> Result<Version, String> {
    let lower = v
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase();
    let mut c = Cursor {
        s: lower.as_bytes(),
        i: 0,
    };
    c.eat("v");
    // Epoch: digits and '!'.
    let mut epoch = b"0".to_vec();
    let save = c.i;
    if let Some(d) = c.digits() {
        if c.eat("!") {
            epoch = d;
        } else {
            c.i = save;
        }
    }
    // Release: N(.N)*
    let mut release = vec![c.digits().ok_or("expected a release number")?];
    while c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
        c.i += 1;
        release.extend(c.digits());
    }
    // Pre-release.
    let pre = c
        .marker(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"])
        .map(|(which, n)| {
            let kind = match which {
                0 | 1 => 0,
                2 | 3 => 1,
                _ => 2,
            };
            (kind, n)
        });
    // Post-release: "-N", or a marker.
    let mut post = None;
    if c.peek() == Some(b'-') && c.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
        c.i += 1;
        post = c.digits();
    } else if let Some((_, n)) = c.marker(&["post", "rev", "r"]) {
        post = Some(n);
    }
    // Dev release.
    let dev = c.marker(&["dev"]).map(|(_, n)| n);
    // Local label.
    let mut local = None;
    if c.eat("+") {
        let mut segs = Vec::new();
        loop {
            let n = c
                .rest()
                .iter()
                .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                .count();
            if n == 0 {
                return Err("empty segment in the local version label".into());
            }
            let seg = c.rest().get(..n).map(<[u8]>::to_vec).unwrap_or_default();
            c.i += n;
            segs.push(if seg.iter().all(u8::is_ascii_digit) {
                LocalSeg::Num(seg)
            } else {
                LocalSeg::Str(seg)
            });
            if !c.sep() {
                break;
            }
        }
        local = Some(segs);
    }
    if let Some(ch) = c.peek() {
        return Err(format!(
            "unexpected {:?} at byte {}",
            char::from(ch),
            c.i + (v.len() - v.trim_start().len())
        ));
    }
    Ok(Version {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

/// Three-way values with the infinities `packaging` uses in its sort key.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<T> {
    NegInf,
    Val(T),
    PosInf,
}

#[derive(Debug, PartialEq, Eq)]
struct Num<'a>(&'a [u8]);

impl PartialOrd for Num<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Num<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        super::cmp_digits(self.0, other.0)
    }
}

fn release_cmp(a: &[Vec<u8>], b: &[Vec<u8>]) -> Ordering {
    let trim = |r: &[Vec<u8>]| {
        r.len()
            - r.iter()
                .rev()
                .take_while(|n| n.iter().all(|&d| d == b'0'))
                .count()
    };
    let (la, lb) = (trim(a), trim(b));
    for (x, y) in a.iter().take(la).zip(b.iter().take(lb)) {
        let o = super::cmp_digits(x, y);
        if o.is_ne() {
            return o;
        }
    }
    la.cmp(&lb)
}

fn local_seg_cmp(a: &LocalSeg, b: &LocalSeg) -> Ordering {
    match (a, b) {
        (LocalSeg::Num(x), LocalSeg::Num(y)) => super::cmp_digits(x, y),
        (LocalSeg::Str(x), LocalSeg::Str(y)) => x.cmp(y),
        (LocalSeg::Num(_), LocalSeg::Str(_)) => Ordering::Greater,
        (LocalSeg::Str(_), LocalSeg::Num(_)) => Ordering::Less,
    }
}

fn pre_key(v: &Version) -> Key<(u8, Num<'_>)> {
    match (&v.pre, &v.post, &v.dev) {
        (None, None, Some(_)) => Key::NegInf,
        (None, _, _) => Key::PosInf,
        (Some((k, n)), _, _) => Key::Val((*k, Num(n))),
    }
}

fn post_key(v: &Version) -> Key<Num<'_>> {
    match &v.post {
        None => Key::NegInf,
        Some(n) => Key::Val(Num(n)),
    }
}

fn dev_key(v: &Version) -> Key<Num<'_>> {
    match &v.dev {
        None => Key::PosInf,
        Some(n) => Key::Val(Num(n)),
    }
}

pub(super) fn compare(a: &Version, b: &Version) -> Ordering {
    super::cmp_digits(&a.epoch, &b.epoch)
        .then_with(|| release_cmp(&a.release, &b.release))
        .then_with(|| pre_key(a).cmp(&pre_key(b)))
        .then_with(|| post_key(a).cmp(&post_key(b)))
        .then_with(|| dev_key(a).cmp(&dev_key(b)))
        .then_with(|| match (&a.local, &b.local) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x
                .iter()
                .zip(y.iter())
                .map(|(p, q)| local_seg_cmp(p, q))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| x.len().cmp(&y.len())),
        })
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::Pep440;

    #[test]
    fn specification_ordering_example() {
        // The specification's example of a fully ordered release sequence.
        assert_sorted(
            S,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
    }

    #[test]
    fn normalization_equivalences() {
        // The specification's "Normalization" section: each spelling equals the
        // normal form.
        assert_groups(
            S,
            &[
                vec![
                    "1.0a1",
                    "1.0alpha1",
                    "1.0-a1",
                    "1.0_a1",
                    "1.0.a1",
                    "1.0a.1",
                    "1.0A1",
                ],
                vec!["1.0b0", "1.0b", "1.0beta", "1.0-b", "1.0.beta.0"],
                vec![
                    "1.0rc1",
                    "1.0c1",
                    "1.0pre1",
                    "1.0preview1",
                    "1.0RC1",
                    "1.0-rc-1",
                    "1.0.rc.1",
                ],
                vec!["1.0", "1.0.0", "v1.0", " 1.0\t", "0!1.0", "01.00"],
                vec![
                    "1.0.post0",
                    "1.0.post",
                    "1.0-post",
                    "1.0post",
                    "1.0.r",
                    "1.0-rev0",
                ],
                vec![
                    "1.0.post1",
                    "1.0-1",
                    "1.0-post1",
                    "1.0_post-1",
                    "1.0rev1",
                    "1.0r1",
                ],
                vec![
                    "1.0.post2.dev0",
                    "1.0-2.dev",
                    "1.0.post2-dev0",
                    "1.0post2_dev",
                ],
                vec!["1.0.post2"],
                vec!["1.0.1"],
                vec!["1!0.1", "1!0.1.0", "V1!0.1"],
            ],
        );
    }

    #[test]
    fn local_labels() {
        assert_sorted(
            S,
            &[
                "1.0",
                "1.0+a",
                "1.0+a.b",
                "1.0+ab",
                "1.0+b",
                "1.0+0",
                "1.0+1",
                "1.0+1.a",
                "1.0+1.0",
                "1.0+2",
                "1.0+10",
                "1.0.post1",
            ],
        );
        assert_pairs(
            S,
            &[
                ("1.0+ubuntu-1", "=", "1.0+ubuntu.1"),
                ("1.0+ubuntu_1", "=", "1.0+UBUNTU.1"),
                ("1.0+01", "=", "1.0+1"),
            ],
        );
    }

    #[test]
    fn invalid() {
        assert_invalid(
            S,
            &[
                "",
                "v",
                "1.0-",
                "1.0.",
                ".1",
                "1..0",
                "a1.0",
                "1.0foo",
                "1.0+",
                "1.0+a..b",
                "1.0+a-",
                "1!",
                "!1.0",
                "1.0a1a1",
                "1.0.post1.post2",
                "1.0 .1",
                "1.0dev1dev2",
                "1.0+ä",
                "1.0-alpha-beta",
                "1.0--1",
                "1.0--post1",
            ],
        );
        assert_valid(
            S,
            &[
                "1.0a-",
                "1.0-a-",
                "1.0.dev-",
                "1.0a1-post-1-dev-1+local",
                "1.0a--post1",
                "0",
            ],
        );
    }
}
