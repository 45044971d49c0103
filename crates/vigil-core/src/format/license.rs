//! Declared license strings sorted into what SBOM formats can carry: an SPDX license id,
//! an SPDX expression, or a free-text name.
//!
//! The license list and the expression grammar come from the `spdx` crate (the official
//! SPDX license list, compiled in). Its own `canonicalize` is not used: in lax mode it maps
//! prefixes such as `gpl` or `bsd` to one particular license, which would put a guess into
//! an SBOM as if it had been declared. Here only unambiguous spellings are normalised:
//! `/` for `OR`, a case-insensitive exact id (`mit` -> `MIT`), and the deprecated GNU ids
//! (`GPL-2.0+` -> `GPL-2.0-or-later`, `LGPL-2.1` -> `LGPL-2.1-only`). Anything else that is
//! not a valid SPDX expression stays a name, exactly as written.

use spdx::lexer::{Lexer, Token};
use spdx::{Expression, LicenseId, ParseMode};

/// Longest license string parsed as an expression; longer ones (whole license texts pasted
/// into a `License:` field) are names. Parsing is linear, this only bounds the work.
const MAX_EXPRESSION_LEN: usize = 1024;

/// A declared license, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum License {
    /// One identifier of the SPDX license list, spelled canonically (`Apache-2.0`).
    Id(&'static str),
    /// A valid SPDX expression with more than one term or an operator (`MIT OR
    /// Apache-2.0`, `GPL-2.0-only WITH Classpath-exception-2.0`, `Apache-2.0+`).
    Expression(String),
    /// Anything else, trimmed, as written (`BSD License`, `Artistic`, license texts).
    Name(String),
}

/// Sorts one declared license string. `None` for empty strings, the SPDX "no
/// information" values `NOASSERTION` and `NONE`, and `UNKNOWN` (what setuptools writes
/// into `License:` when a project declares nothing).
pub(crate) fn classify(raw: &str) -> Option<License> {
    let text = raw.trim();
    if text.is_empty()
        || ["NOASSERTION", "NONE", "UNKNOWN"]
            .iter()
            .any(|s| text.eq_ignore_ascii_case(s))
    {
        return None;
    }
    if text.len() <= MAX_EXPRESSION_LEN {
        if let Some(l) = spdx_expression(text) {
            return Some(l);
        }
        // `mit`, `apache-2.0 or mit`: ids in the wrong case are still unambiguous.
        if let Some(fixed) = fix_case(text)
            && let Some(l) = spdx_expression(&fixed)
        {
            return Some(l);
        }
    }
    Some(License::Name(text.to_string()))
}

/// `text` with every word that is a license id, an exception id or an operator in the
/// wrong case spelled as the list spells it; `None` if nothing changed.
fn fix_case(text: &str) -> Option<String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':');
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(start) = rest.find(is_word) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let end = from.find(|c: char| !is_word(c)).unwrap_or(from.len());
        let (word, after) = from.split_at(end);
        let fixed = ["AND", "OR", "WITH"]
            .into_iter()
            .find(|op| word.eq_ignore_ascii_case(op))
            .or_else(|| {
                if spdx::license_id(word).is_some() || spdx::exception_id(word).is_some() {
                    return None;
                }
                spdx::identifiers::LICENSES
                    .iter()
                    .map(|l| l.name)
                    .chain(spdx::identifiers::EXCEPTIONS.iter().map(|e| e.name))
                    .find(|name| name.eq_ignore_ascii_case(word))
            });
        match fixed {
            Some(f) if f != word => {
                out.push_str(f);
                changed = true;
            }
            _ => out.push_str(word),
        }
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Parsing mode: the strict grammar plus `/` for `OR`, `GPL-2.0+`, and deprecated ids
/// (rewritten below); no guessing from imprecise names, no unknown terms.
const MODE: ParseMode = ParseMode {
    allow_slash_as_or_operator: true,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: true,
    allow_deprecated: true,
    allow_unknown: false,
};

/// The canonical form of `text` if it is a valid SPDX expression made only of listed
/// licenses and exceptions. `LicenseRef-`/`DocumentRef-` terms are refused: their
/// definitions are not in this document, so they are kept as names.
fn spdx_expression(text: &str) -> Option<License> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut pending: Option<LicenseId> = None;
    let mut ids = 0usize;
    let mut other_terms = false;
    // Writes a license id as the current list spells it.
    let emit =
        |out: &mut String, id: LicenseId, other_terms: &mut bool| match deprecated_with(id.name) {
            Some(replacement) => {
                out.push_str(replacement);
                *other_terms = true;
            }
            None => out.push_str(canonical_id(id, false)),
        };
    for tok in Lexer::new_mode(text, MODE) {
        let tok = tok.ok()?;
        if !matches!(tok.token, Token::Plus)
            && let Some(id) = pending.take()
        {
            emit(&mut out, id, &mut other_terms);
        }
        match tok.token {
            Token::Spdx(id) => {
                pending = Some(id);
                ids += 1;
                continue;
            }
            Token::Plus => {
                let id = pending.take()?;
                if id.is_gnu() && deprecated_with(id.name).is_none() {
                    // `GPL-2.0+` is the single id `GPL-2.0-or-later`.
                    out.push_str(canonical_id(id, true));
                    continue;
                }
                out.push_str(id.name);
                out.push('+');
            }
            Token::And => out.push_str(" AND "),
            Token::Or => out.push_str(" OR "),
            Token::With => out.push_str(" WITH "),
            Token::OpenParen => out.push('('),
            Token::CloseParen => out.push(')'),
            Token::Exception(e) => out.push_str(e.name),
            Token::LicenseRef { .. } | Token::AdditionRef { .. } | Token::Unknown(_) => {
                return None;
            }
        }
        other_terms = true;
    }
    if let Some(id) = pending {
        emit(&mut out, id, &mut other_terms);
    }
    // The grammar check (balanced parentheses, operators between terms) on the result.
    let strict_but_deprecated = ParseMode {
        allow_deprecated: true,
        ..ParseMode::STRICT
    };
    Expression::parse_mode(&out, strict_but_deprecated).ok()?;
    if ids == 1 && !other_terms {
        let id = spdx::license_id(&out)?;
        Some(License::Id(id.name))
    } else {
        Some(License::Expression(out))
    }
}

/// The current id for `id`: deprecated bare GNU ids become `-only` (or `-or-later` when
/// followed by `+`); every other id is kept.
fn canonical_id(id: LicenseId, or_later: bool) -> &'static str {
    if id.is_gnu() && !id.name.ends_with("-only") && !id.name.ends_with("-or-later") {
        let base = id.name.trim_end_matches('+');
        // `GPL-2.0+` is itself a (deprecated) list entry meaning "or later".
        let or_later = or_later || id.name.ends_with('+');
        if let Some(current) = spdx::gnu_license_id(base, or_later) {
            return current.name;
        }
    }
    id.name
}

/// The deprecated ids that name a license with an exception, and the `WITH` expressions
/// the SPDX list replaced them with. Validators that follow the current list (such as
/// `pyspdxtools`) read the old ids as bare exceptions and refuse them.
const DEPRECATED_WITH: &[(&str, &str)] = &[
    (
        "GPL-2.0-with-GCC-exception",
        "GPL-2.0-only WITH GCC-exception-2.0",
    ),
    (
        "GPL-2.0-with-autoconf-exception",
        "GPL-2.0-only WITH Autoconf-exception-2.0",
    ),
    (
        "GPL-2.0-with-bison-exception",
        "GPL-2.0-only WITH Bison-exception-2.2",
    ),
    (
        "GPL-2.0-with-classpath-exception",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    ),
    (
        "GPL-2.0-with-font-exception",
        "GPL-2.0-only WITH Font-exception-2.0",
    ),
    (
        "GPL-3.0-with-GCC-exception",
        "GPL-3.0-only WITH GCC-exception-3.1",
    ),
    (
        "GPL-3.0-with-autoconf-exception",
        "GPL-3.0-only WITH Autoconf-exception-3.0",
    ),
    ("eCos-2.0", "GPL-2.0-or-later WITH eCos-exception-2.0"),
];

fn deprecated_with(id: &str) -> Option<&'static str> {
    DEPRECATED_WITH
        .iter()
        .find(|(old, _)| *old == id)
        .map(|(_, new)| *new)
}

/// SPDX license ids that are on the license list the `spdx` crate carries but not in
/// the enumeration of CycloneDX 1.6's `spdx.schema.json` (license list 3.28). A
/// CycloneDX `license.id` must be one of that enumeration, so these are written as
/// single-term `expression`s instead. The schema test in `tests/sbom_schemas.rs` compares
/// the two lists and names any id to add here when the `spdx` crate moves on.
pub(crate) const NOT_IN_CYCLONEDX_1_6: &[&str] = &[
    "BSD-2-Clause-pos-unchanged",
    "BSD-3-Clause-OpenWebUI",
    "BSD-Source-Code-no-disclaimer",
    "BSD-Source-alt-GPL",
    "BSD-ask-to-endorse",
    "Brian-Gladman-3-Clause-no-conversion",
    "Bugroff",
    "CC-BY-NC-3.0-IGO",
    "FDK-MPEG-H",
    "GFDL-1.1-invariants",
    "GFDL-1.1-no-invariants",
    "GFDL-1.2-invariants",
    "GFDL-1.2-no-invariants",
    "GFDL-1.3-invariants",
    "GFDL-1.3-no-invariants",
    "Hippocratic-3.0-core",
    "Informatica",
    "MVT-1.1",
    "NOASSERTION",
    "atc-game",
];

/// Replaces every character outside `[A-Za-z0-9.]` with `-` (`+` with `-plus`, so that
/// `GPL-2+` and `GPL-2` stay apart), folds runs of `-`, trims `-` at both ends and keeps
/// at most about `max` bytes: the idstring grammar of SPDX element ids (`SPDXRef-…`) and
/// license references (`LicenseRef-…`).
pub(crate) fn spdx_idstring(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for c in text.chars() {
        if out.len() >= max {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
            continue;
        }
        if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if c == '+' {
            out.push_str("plus-");
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &'static str) -> Option<License> {
        Some(License::Id(s))
    }
    fn expr(s: &str) -> Option<License> {
        Some(License::Expression(s.to_string()))
    }
    fn name(s: &str) -> Option<License> {
        Some(License::Name(s.to_string()))
    }

    #[test]
    fn single_ids() {
        assert_eq!(classify("MIT"), id("MIT"));
        assert_eq!(classify("  Apache-2.0 \n"), id("Apache-2.0"));
        assert_eq!(classify("mit"), id("MIT"));
        assert_eq!(classify("apache-2.0"), id("Apache-2.0"));
        assert_eq!(classify("GPL-2.0-or-later"), id("GPL-2.0-or-later"));
        // Deprecated GNU ids are rewritten to the current ones.
        assert_eq!(classify("GPL-2.0"), id("GPL-2.0-only"));
        assert_eq!(classify("LGPL-2.1"), id("LGPL-2.1-only"));
        assert_eq!(classify("GPL-2.0+"), id("GPL-2.0-or-later"));
        assert_eq!(classify("LGPL-2.1+"), id("LGPL-2.1-or-later"));
        // Other deprecated ids are still ids.
        assert_eq!(classify("wxWindows"), id("wxWindows"));
    }

    #[test]
    fn expressions() {
        assert_eq!(classify("MIT OR Apache-2.0"), expr("MIT OR Apache-2.0"));
        assert_eq!(classify("MIT/Apache-2.0"), expr("MIT OR Apache-2.0"));
        assert_eq!(classify("mit or Apache-2.0"), expr("MIT OR Apache-2.0"));
        assert_eq!(
            classify("gpl-2.0-only with classpath-exception-2.0"),
            expr("GPL-2.0-only WITH Classpath-exception-2.0")
        );
        assert_eq!(
            classify("(MIT OR Apache-2.0) AND BSD-3-Clause"),
            expr("(MIT OR Apache-2.0) AND BSD-3-Clause")
        );
        assert_eq!(
            classify("GPL-2.0 WITH Classpath-exception-2.0"),
            expr("GPL-2.0-only WITH Classpath-exception-2.0")
        );
        assert_eq!(classify("Apache-2.0+"), expr("Apache-2.0+"));
    }

    #[test]
    fn deprecated_ids_with_exceptions_become_with_expressions() {
        assert_eq!(
            classify("GPL-2.0-with-classpath-exception"),
            expr("GPL-2.0-only WITH Classpath-exception-2.0")
        );
        assert_eq!(
            classify("eCos-2.0 OR MIT"),
            expr("GPL-2.0-or-later WITH eCos-exception-2.0 OR MIT")
        );
        // Every replacement is a valid, current expression.
        for (old, new) in DEPRECATED_WITH {
            assert!(
                spdx::license_id(old).is_some_and(|l| l.is_deprecated()),
                "{old}"
            );
            assert!(Expression::parse(new).is_ok(), "{new}");
            assert_eq!(classify(old), expr(new));
        }
    }

    #[test]
    fn names_stay_as_written() {
        // Imprecise names are not guessed at.
        assert_eq!(classify("BSD License"), name("BSD License"));
        assert_eq!(classify("GPL"), name("GPL"));
        assert_eq!(classify("gpl v2"), name("gpl v2"));
        assert_eq!(
            classify("Apache Software License"),
            name("Apache Software License")
        );
        // Debian's short names that are not SPDX ids.
        assert_eq!(classify("GPL-2+"), name("GPL-2+"));
        assert_eq!(classify("Artistic"), name("Artistic"));
        // Broken expressions.
        assert_eq!(classify("MIT OR"), name("MIT OR"));
        assert_eq!(classify("(MIT"), name("(MIT"));
        assert_eq!(classify("MIT Apache-2.0"), name("MIT Apache-2.0"));
        // References defined elsewhere are kept as names.
        assert_eq!(
            classify("LicenseRef-Proprietary"),
            name("LicenseRef-Proprietary")
        );
        let text = "Permission is hereby granted ".repeat(100);
        assert_eq!(classify(&text), name(text.trim()));
    }

    #[test]
    fn no_information() {
        assert_eq!(classify(""), None);
        assert_eq!(classify("   "), None);
        assert_eq!(classify("NOASSERTION"), None);
        assert_eq!(classify("NONE"), None);
        assert_eq!(classify("noassertion"), None);
        assert_eq!(classify("UNKNOWN"), None);
    }

    #[test]
    fn idstrings() {
        assert_eq!(spdx_idstring("@babel/core", 64), "babel-core");
        assert_eq!(spdx_idstring("My Lib (v2)", 64), "My-Lib-v2");
        assert_eq!(spdx_idstring("1:2.3-4~deb12u1", 64), "1-2.3-4-deb12u1");
        assert_eq!(spdx_idstring("ünïcödé", 64), "n-c-d");
        assert_eq!(spdx_idstring("GPL-2+", 64), "GPL-2-plus");
        assert_eq!(spdx_idstring("+x", 64), "plus-x");
        assert_eq!(spdx_idstring("///", 64), "");
        assert_eq!(spdx_idstring(&"a".repeat(100), 10), "a".repeat(10));
    }
}
