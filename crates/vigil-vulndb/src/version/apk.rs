//! Alpine (apk) package versions, following apk-tools' src/version.c (the tokenizer of
//! apk-tools 2.14/3.x): `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}`.
//! Tokens are compared pairwise while they are of the same kind; numbers as numbers,
//! except that a dotted component with a leading zero on either side is compared as a
//! string (Gentoo's rule); suffixes in the order `alpha < beta < pre < rc < (none) < cvs <
//! svn < git < hg < p`. When one version runs out or switches kind first, a pre-release
//! suffix makes it older; otherwise the token kind that comes earlier in the grammar
//! (more version left) wins.
//!
//! Hand-written: no maintained crate implements the current apk-tools grammar (the `~hash`
//! token and the validation rules). apk-tools compares numbers in 64 bits; this compares
//! them exactly, which differs only for numbers of more than 19 digits.

use std::cmp::Ordering;

/// Token kinds in grammar order; the order matters for the tail rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
}

/// Suffix values as apk numbers them; below `NONE` is a pre-release.
const SUFFIXES: [&str; 10] = [
    "alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p",
];
const SUFFIX_NONE: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    value: &'a [u8],
    suffix: usize,
}

#[derive(Debug)]
pub(super) struct Version<'a> {
    tokens: Vec<Token<'a>>,
}

pub(super) fn parse(v: &str) -> Result<Version<'_>, String> {
    let mut rest = v.as_bytes();
    let mut tokens = Vec::new();
    let n = super::digits_len(rest);
    if n == 0 {
        return Err("does not start with a digit".into());
    }
    let (value, r) = rest.split_at(n);
    tokens.push(Token {
        kind: Kind::InitialDigit,
        value,
        suffix: 0,
    });
    rest = r;
    let mut kind = Kind::InitialDigit;
    while let Some(&c) = rest.first() {
        let invalid = || Err(format!("unexpected {:?} in version", char::from(c)));
        let token = match c {
            b'a'..=b'z' => {
                if kind > Kind::Digit {
                    return invalid();
                }
                let (value, r) = rest.split_at(1);
                rest = r;
                Token {
                    kind: Kind::Letter,
                    value,
                    suffix: 0,
                }
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if kind > Kind::Digit {
                        return invalid();
                    }
                    rest = rest.get(1..).unwrap_or_default();
                }
                let kind = match kind {
                    Kind::InitialDigit | Kind::Digit => Kind::Digit,
                    Kind::Suffix => Kind::SuffixNo,
                    _ => return invalid(),
                };
                let n = super::digits_len(rest);
                if n == 0 {
                    return Err("expected digits".into());
                }
                let (value, r) = rest.split_at(n);
                rest = r;
                Token {
                    kind,
                    value,
                    suffix: 0,
                }
            }
            b'_' => {
                if kind > Kind::SuffixNo {
                    return invalid();
                }
                rest = rest.get(1..).unwrap_or_default();
                let n = rest.iter().take_while(|c| c.is_ascii_lowercase()).count();
                let (value, r) = rest.split_at(n);
                rest = r;
                let suffix = SUFFIXES
                    .iter()
                    .position(|s| !s.is_empty() && s.as_bytes() == value)
                    .ok_or_else(|| format!("unknown suffix _{}", String::from_utf8_lossy(value)))?;
                Token {
                    kind: Kind::Suffix,
                    value,
                    suffix,
                }
            }
            b'~' => {
                if kind >= Kind::CommitHash {
                    return invalid();
                }
                rest = rest.get(1..).unwrap_or_default();
                let n = rest
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
                    .count();
                if n == 0 {
                    return Err("empty commit hash after '~'".into());
                }
                let (value, r) = rest.split_at(n);
                rest = r;
                Token {
                    kind: Kind::CommitHash,
                    value,
                    suffix: 0,
                }
            }
            b'-' => {
                if kind >= Kind::RevisionNo || rest.get(1) != Some(&b'r') {
                    return invalid();
                }
                rest = rest.get(2..).unwrap_or_default();
                let n = super::digits_len(rest);
                if n == 0 {
                    return Err("expected digits after -r".into());
                }
                let (value, r) = rest.split_at(n);
                rest = r;
                Token {
                    kind: Kind::RevisionNo,
                    value,
                    suffix: 0,
                }
            }
            _ => return invalid(),
        };
        kind = token.kind;
        tokens.push(token);
    }
    Ok(Version { tokens })
}

fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        Kind::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Kind::Digit | Kind::InitialDigit | Kind::SuffixNo | Kind::RevisionNo => {
            super::cmp_digits(a.value, b.value)
        }
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        Kind::Letter | Kind::CommitHash | Kind::End => a.value.cmp(b.value),
    }
}

pub(super) fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    let end = Token {
        kind: Kind::End,
        value: b"",
        suffix: 0,
    };
    let mut i = 0;
    loop {
        let ta = a.tokens.get(i).copied().unwrap_or(end);
        let tb = b.tokens.get(i).copied().unwrap_or(end);
        if ta.kind != tb.kind {
            // One version goes on where the other stops or switches: a pre-release
            // suffix is older, otherwise more version (an earlier token kind) is newer.
            if ta.kind == Kind::Suffix && ta.suffix < SUFFIX_NONE {
                return Ordering::Less;
            }
            if tb.kind == Kind::Suffix && tb.suffix < SUFFIX_NONE {
                return Ordering::Greater;
            }
            return tb.kind.cmp(&ta.kind);
        }
        if ta.kind == Kind::End {
            return Ordering::Equal;
        }
        let ord = token_cmp(&ta, &tb);
        if ord != Ordering::Equal {
            return ord;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::Apk;

    #[test]
    fn suffix_order() {
        assert_sorted(
            S,
            &[
                "1.0_alpha",
                "1.0_alpha1",
                "1.0_alpha2_pre1",
                "1.0_alpha2",
                "1.0_beta",
                "1.0_pre",
                "1.0_rc1",
                "1.0",
                "1.0-r1",
                "1.0_cvs",
                "1.0_svn",
                "1.0_git20240101",
                "1.0_hg",
                "1.0_p1",
                "1.0_p2",
                "1.0a",
                "1.0b-r2",
                "1.0.1",
            ],
        );
    }

    #[test]
    fn apk_tools_style_pairs() {
        assert_pairs(
            S,
            &[
                ("2.34", ">", "0.1.0_alpha"),
                ("0.1.0_alpha2", ">", "0.1.0_alpha"),
                ("1.1", ">", "1.1_alpha1"),
                ("1.2.1", ">", "1.2"),
                ("2.3.0b-r1", "<", "2.3.0b-r2"),
                ("0.12.3", ">", "0.12"),
                ("3.1_p16", "<", "3.1_p17"),
                ("1.06-r6", "<", "006"),
                ("006", ">", "1.0.0"),
                ("2.01.01_alpha10", ">", "0.94"),
                ("0.99.3.20040818", "<", "1.0"),
                ("1.02", "<", "1.03-r1"),
                ("2.8.0.6-r1", ">", "0.5.2.7"),
                ("1.02.07", "<", "1.02.10-r1"),
                ("3.0.20060720", "<", "20060720"),
                ("1.2.12.04", "<", "1.2.12.05"),
                ("1.2.07.8", "<", "1.2.12.04"),
                ("1.07-r1", "<", "1.07.5"),
                ("0.20070118", "<", "0.20070207_rc1"),
                ("4.5_p1-r1", ">", "4.5_p1"),
                ("0.9.8c-r1", "<", "0.9.8d"),
                ("2.12r-r4", "<", "2.12r-r5"),
                ("1.0.1", "=", "1.0.1"),
                ("1.3_pre1-r1", "<", "1.3.2"),
                ("1.0_p10-r0", ">", "1.0_p9-r0"),
                ("0.1.0_alpha_pre2", "<", "0.1.0_alpha"),
                (
                    "1.0.0_pre20191002222144-r0",
                    "<",
                    "1.0.0_pre20210530193627-r0",
                ),
                ("1.2.3~abc123-r0", ">", "1.2.3"),
                ("1.2.3~abc123", "<", "1.2.3~abd"),
                ("1.2.3~abc-r1", ">", "1.2.3-r1"), // a hash is more version than none
                ("1.0-r0", ">", "1.0"),
                ("1.01", "<", "1.1"),
                ("1.010", ">", "1.01"),
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
                ".1",
                "1.",
                "1..2",
                "1.0bc",
                "23_foo",
                "1.0_",
                "1.0-r",
                "1.0-1",
                "1.0-r1a",
                "1.0~",
                "1.0~xyz",
                "1.0_alpha.1",
                "1.0a.1",
                "1.0A",
                "1.0 ",
                "1.0-r1-r2",
                "1.0-r1_p1",
                "1.0-r1~abc",
            ],
        );
        assert_valid(S, &["1", "1_p", "1a_alpha1_p2~f00-r0", "1.0_alpha_beta"]);
    }
}
