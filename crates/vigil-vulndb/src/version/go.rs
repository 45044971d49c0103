//! Go module versions, ordered as golang.org/x/mod/semver orders them: SemVer 2.0 with a
//! `v` prefix, the shorthands `v1` and `v1.2` (meaning `v1.0.0` and `v1.2.0`, and taking
//! no pre-release or build suffix), and build metadata ignored, so `+incompatible` does
//! not change the order. Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`,
//! `v1.2.4-0.20191109021931-daa7c04131f5`) are ordinary pre-releases and sort as the Go
//! command intends.
//!
//! OSV writes Go versions without the `v` (`1.2.3`); module graphs and binaries have it.
//! Both are accepted. Where x/mod's `Compare` puts every invalid version below every
//! valid one and calls invalid versions equal, this rejects them.
//!
//! Hand-written: it is the SemVer module's grammar plus the shorthands; no crate
//! implements x/mod's exact rules.

use super::semver::{Version, parse_numbers, parse_suffixes};

/// Once parsed, a Go version orders exactly as SemVer does.
pub(super) use super::semver::compare;

pub(super) fn parse(v: &str) -> Result<Version<'_>, String> {
    let s = v.as_bytes();
    let s = s.strip_prefix(b"v").unwrap_or(s);
    let (nums, rest) = parse_numbers(s, 1, 3)?;
    if nums.len() < 3 && !rest.is_empty() {
        return Err("a shortened version (v1, v1.2) takes no suffix".into());
    }
    let pre = parse_suffixes(rest)?;
    let [a, b, c] = [0, 1, 2].map(|i| nums.get(i).copied().unwrap_or(b"0"));
    Ok(Version {
        nums: [a, b, c],
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Scheme;
    use super::super::testutil::*;

    const S: Scheme = Scheme::Go;

    #[test]
    fn x_mod_semver_order() {
        // The ordering of x/mod/semver's own test list.
        assert_groups(
            S,
            &[
                vec!["v0.0.0-20191109021931-daa7c04131f5"],
                vec!["v0.1.0-alpha"],
                vec!["v0.1.0-alpha.1"],
                vec!["v0.1.0-beta"],
                vec!["v0.1.0-rc.1"],
                vec!["v0.1.0"],
                vec!["v1", "v1.0", "v1.0.0", "1.0.0", "v1.0.0+meta"],
                vec!["v1.0.1-0.20191109021931-daa7c04131f5"],
                vec!["v1.0.1"],
                vec!["v1.2", "v1.2.0"],
                vec!["v1.2.3-456"],
                vec!["v1.2.3-456.789"],
                vec!["v1.2.3-456-789"],
                vec!["v1.2.3-456a"],
                vec!["v1.2.3-pre"],
                vec!["v1.2.3-pre.1"],
                vec!["v1.2.3-zzz"],
                vec!["v1.2.3", "v1.2.3+meta", "v1.2.3+meta-pre", "1.2.3"],
                vec!["v2.0.0+incompatible", "2.0.0+incompatible", "v2.0.0"],
                vec!["v2.0.1-0.20200101000000-abcdefabcdef+incompatible"],
                vec!["v2.0.1"],
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
                "bad",
                "v1-alpha.beta.gamma",
                "v1-pre",
                "v1+meta",
                "v1.2-pre",
                "v1.2+meta",
                "v1.0.0-",
                "v1.0.0+",
                "v1.0.0-01",
                "v01.0.0",
                "v1.00.0",
                "V1.0.0",
                "v1.2.3.4",
                "v1.2.3-a_b",
                "vv1.0.0",
                " v1.0.0",
            ],
        );
        assert_valid(S, &["v1.0.0-0", "v1.0.0+01", "0.0.0", "v0"]);
    }
}
