//! Debian package versions, as Debian Policy §5.6.12 defines them and as dpkg's
//! `parseversion()` and `verrevcmp()` (lib/dpkg/parsehelp.c, lib/dpkg/version.c) implement
//! them: `[epoch:]upstream[-revision]`, compared epoch first (as a number), then upstream,
//! then revision, each with the "non-digit run, then digit run" algorithm in which `~`
//! sorts before everything, even the end of the string, and letters sort before other
//! characters.
//!
//! Hand-written: the crates that exist either are unmaintained or accept what dpkg
//! rejects; the whole algorithm is some sixty lines. Where dpkg only *warns* (an upstream
//! version not starting with a digit, a character outside Policy's set), this rejects the
//! version: such strings are not in the archive, and the matcher must not guess.

use std::cmp::Ordering;

/// A parsed Debian version, borrowing its parts from the input.
#[derive(Debug)]
pub(super) struct Version<'a> {
    epoch: u32,
    upstream: &'a [u8],
    revision: &'a [u8],
}

pub(super) fn parse(v: &str) -> Result<Version<'_>, String> {
    // dpkg skips leading and trailing blanks, and rejects embedded ones.
    let v = v.trim_matches(|c: char| c.is_ascii_whitespace());
    if v.is_empty() {
        return Err("empty version".into());
    }
    if v.bytes().any(|c| c.is_ascii_whitespace()) {
        return Err("version has embedded spaces".into());
    }
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) => {
            if e.is_empty() {
                return Err("epoch is empty".into());
            }
            if !e.bytes().all(|c| c.is_ascii_digit()) {
                return Err("epoch is not a number".into());
            }
            let epoch = e
                .parse::<u32>()
                .ok()
                .filter(|&n| i32::try_from(n).is_ok())
                .ok_or("epoch is too big")?;
            if rest.is_empty() {
                return Err("nothing after the epoch's colon".into());
            }
            (epoch, rest)
        }
        None => (0, v),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => {
            if r.is_empty() {
                return Err("revision is empty".into());
            }
            (u, r)
        }
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err("upstream version is empty".into());
    }
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("upstream version does not start with a digit".into());
    }
    if let Some(c) = upstream
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".-+~:".contains(c)))
    {
        return Err(format!("invalid character {c:?} in upstream version"));
    }
    if let Some(c) = revision
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~".contains(c)))
    {
        return Err(format!("invalid character {c:?} in revision"));
    }
    Ok(Version {
        epoch,
        upstream: upstream.as_bytes(),
        revision: revision.as_bytes(),
    })
}

pub(super) fn compare(a: &Version<'_>, b: &Version<'_>) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision))
}

/// The weight of one character in a non-digit run: the end of the string and digits
/// weigh 0, `~` less, letters their code, anything else its code plus 256.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let non_digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| !c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        // The non-digit runs, character by character.
        while non_digit(a, i) || non_digit(b, j) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        // The digit runs, as numbers of any length.
        let da = super::digits_len(a.get(i..).unwrap_or_default());
        let db = super::digits_len(b.get(j..).unwrap_or_default());
        let ord = super::cmp_digits(
            a.get(i..i + da).unwrap_or_default(),
            b.get(j..j + db).unwrap_or_default(),
        );
        if ord != Ordering::Equal {
            return ord;
        }
        i += da;
        j += db;
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::Dpkg;

    #[test]
    fn policy_tilde_ordering() {
        // Policy 5.6.12: "~~" < "~~a" < "~" < "" < "a", written as upstream suffixes.
        assert_sorted(S, &["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"]);
        assert_sorted(
            S,
            &["1.0~rc1-1", "1.0~rc2-1", "1.0-1", "1.0+dfsg-1", "1.0.1-1"],
        );
    }

    #[test]
    fn epochs_upstreams_and_revisions() {
        assert_sorted(
            S,
            &[
                "0.9-1",
                "1.0-1~bpo1",
                "1.0-1",
                "1.0-1+deb12u1",
                "1.0-1.1",
                "1.0-2",
                "1.0-10",
                "1.2",
                "1.10",
                "2:0.1",
                "10:0.1",
            ],
        );
        assert_pairs(
            S,
            &[
                ("1.0", "=", "0:1.0"),
                ("1.0", "=", "1.0-0"),
                ("1.001", "=", "1.1"),
                ("1.0-a", "<", "1.0-b"),
                ("1.0-A", "<", "1.0-a"),
                ("1.0+", ">", "1.0z"), // letters before other characters
                ("1.0.", ">", "1.0a"),
                ("2.30-1", ">", "2.3-1"),
                ("1:1.0-1", ">", "1.9999-9"),
                ("1:1.2.3:4-1", ">", "1:1.2.3:3-1"),
                ("7.4.052-1", ">", "7.4.0001-1"),
                ("1.0-1ubuntu0.22.04.1", "<", "1.0-1ubuntu0.22.04.2"),
                ("99999999999999999999999", "<", "100000000000000000000000"),
            ],
        );
    }

    #[test]
    fn rejects_what_dpkg_rejects() {
        assert_invalid(
            S,
            &[
                "",
                " ",
                ":1.0",
                "a:1.0",
                "-1:1.0",
                "1:",
                "1.0-",
                "1 0",
                "a1.0",
                "1.0_1",
                "1.0-1_2",
                "1.0-1:2",
                "1.2.3:4-1",
                "99999999999:1.0",
                "1.0é",
            ],
        );
        assert_valid(S, &["0", "1:0", " 1.0 ", "1.0-1-2", "2147483647:1"]);
    }
}
