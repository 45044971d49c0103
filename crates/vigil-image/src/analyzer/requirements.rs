//! pip's `requirements*.txt`.
//!
//! Only pinned requirements (`name==version`) name one release, so only they are reported,
//! as Trivy does. The line syntax is pip's: `\` continues a line, `#` after whitespace
//! starts a comment, options (`-r`, `-c`, `-e`, `--index-url`, and `--hash` after a
//! requirement) are not requirements (included files are not followed: each matching file
//! is read on its own), extras (`name[extra]==1.0`) and environment markers
//! (`; python_version < "3.8"`) are dropped, URLs and paths are skipped. A line that is
//! none of these is a warning. Names keep the spelling written in the file.

use super::lock::Collector;
use super::{AnalyzeError, Analyzer, FileInfo, Found};
use vigil_core::Ecosystem;

/// Reads pip requirements files.
pub struct PipRequirements;

impl Analyzer for PipRequirements {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "pip-requirements"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        let name = file.file_name();
        name.starts_with("requirements") && name.ends_with(".txt")
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = decode(content)?;
        let mut out = Collector::new(Ecosystem::Pypi, self.name());
        for (number, line) in logical_lines(&text) {
            match parse_line(&line) {
                Line::Pinned(name, version) => {
                    out.add(&|| format!("line {number}"), name, version, false)
                }
                Line::Other => {}
                Line::Invalid => {
                    let shown: String = line.chars().take(80).collect();
                    out.warn(format!("line {number}: not a requirement: {shown:?}"))
                }
            }
        }
        Ok(out.finish())
    }
}

/// UTF-8 (with or without a byte-order mark) or UTF-16 with one, as Windows editors save.
fn decode(content: &[u8]) -> Result<String, AnalyzeError> {
    let utf16 = |bytes: &[u8], le: bool| {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| match c {
                [a, b] if le => u16::from_le_bytes([*a, *b]),
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            })
            .collect();
        String::from_utf16(&units)
            .map_err(|e| AnalyzeError::new(format!("invalid UTF-16 requirements file: {e}")))
    };
    match content {
        [0xff, 0xfe, rest @ ..] => utf16(rest, true),
        [0xfe, 0xff, rest @ ..] => utf16(rest, false),
        [0xef, 0xbb, 0xbf, rest @ ..] => Ok(String::from_utf8_lossy(rest).into_owned()),
        _ => Ok(String::from_utf8_lossy(content).into_owned()),
    }
}

/// Lines with `\` continuations joined and comments removed, numbered by their first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in super::lines(text).enumerate() {
        let line = strip_comment(raw);
        let (number, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                joined.push(' ');
                pending = Some((number, joined));
            }
            None => {
                joined.push_str(line);
                let trimmed = joined.trim();
                if !trimmed.is_empty() {
                    out.push((number, trimmed.to_string()));
                }
            }
        }
    }
    if let Some((number, joined)) = pending {
        let trimmed = joined.trim();
        if !trimmed.is_empty() {
            out.push((number, trimmed.to_string()));
        }
    }
    out
}

/// Drops a `#` comment: at the start of the line or after whitespace (pip's rule, so that
/// `https://x/#egg=y` keeps its fragment).
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return line.get(..i).unwrap_or(line).trim_end();
        }
        prev_space = c.is_whitespace();
    }
    line.trim_end()
}

/// What one logical line is.
#[derive(Debug, PartialEq)]
enum Line<'a> {
    /// `name==version`.
    Pinned(&'a str, &'a str),
    /// An option, an unpinned requirement, a URL or a path: not reported.
    Other,
    /// Not a requirement line at all.
    Invalid,
}

fn parse_line(line: &str) -> Line<'_> {
    if line.starts_with('-') {
        return Line::Other;
    }
    // Options after the requirement (`--hash=...`) start at the first ` -`.
    let mut requirement = line;
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        if c == '-' && prev_space {
            requirement = line.get(..i).unwrap_or(line);
            break;
        }
        prev_space = c.is_whitespace();
    }
    // Environment markers are not evaluated: the file lists the package either way.
    let requirement = requirement.split(';').next().unwrap_or(requirement).trim();
    if requirement.contains("://")
        || requirement.starts_with(['.', '/', '~'])
        || requirement.contains(" @ ")
        || [".whl", ".zip", ".tar.gz", ".tgz"]
            .iter()
            .any(|s| requirement.ends_with(s))
    {
        return Line::Other;
    }
    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(requirement.len());
    let (name, rest) = requirement
        .split_at_checked(name_end)
        .unwrap_or((requirement, ""));
    if !valid_name(name) {
        return Line::Invalid;
    }
    let mut rest = rest.trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        let Some((_, after)) = extras.split_once(']') else {
            return Line::Invalid;
        };
        rest = after.trim_start();
    }
    // Old style `name (==1.0)`.
    if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        rest = inner.trim();
    }
    if rest.is_empty() {
        return Line::Other;
    }
    if !rest.starts_with(['=', '<', '>', '!', '~']) {
        return Line::Invalid;
    }
    // Exactly one `==` clause, without wildcard, names one release.
    let Some(version) = rest.strip_prefix("==") else {
        return Line::Other;
    };
    let version = version.trim();
    if version.starts_with('=') || version.contains(',') || version.contains('*') {
        return Line::Other;
    }
    if version.is_empty()
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '!'))
    {
        return Line::Invalid;
    }
    Line::Pinned(name, version)
}

/// PEP 508 names: letters, digits, `.`, `_`, `-`, starting and ending alphanumeric.
fn valid_name(name: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    alnum(name.chars().next()) && alnum(name.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::lock::{file, summary};

    #[test]
    fn which_files() {
        let a = PipRequirements;
        assert!(a.required(&file("app/requirements.txt")));
        assert!(a.required(&file("app/requirements-dev.txt")));
        assert!(a.required(&file("requirements/requirements_prod.txt")));
        assert!(!a.required(&file("app/requirements.in")));
        assert!(!a.required(&file("app/dev-requirements.txt")));
    }

    #[test]
    fn lines() {
        let cases = [
            ("requests==2.31.0", Line::Pinned("requests", "2.31.0")),
            ("PyYAML == 6.0.1", Line::Pinned("PyYAML", "6.0.1")),
            (
                "requests[socks,security]==2.31.0",
                Line::Pinned("requests", "2.31.0"),
            ),
            (
                "Flask[async] == 2.3.3 ; python_version >= \"3.8\"",
                Line::Pinned("Flask", "2.3.3"),
            ),
            ("a==1.0;python_version<\"3.8\"", Line::Pinned("a", "1.0")),
            (
                "zope.interface==6.1 --hash=sha256:ab",
                Line::Pinned("zope.interface", "6.1"),
            ),
            ("b (==2.0)", Line::Pinned("b", "2.0")),
            ("c==1!2.0+local.1", Line::Pinned("c", "1!2.0+local.1")),
            ("d>=1.0", Line::Other),
            ("e==1.*", Line::Other),
            ("f==1.0,!=1.1", Line::Other),
            ("g===1.0", Line::Other),
            ("h", Line::Other),
            ("-r other.txt", Line::Other),
            ("--index-url https://pypi.invalid/simple", Line::Other),
            ("-e ./pkg", Line::Other),
            ("./wheels/x-1.0-py3-none-any.whl", Line::Other),
            ("git+https://example.invalid/x.git#egg=x", Line::Other),
            ("x @ https://example.invalid/x-1.0.tar.gz", Line::Other),
            ("!!!", Line::Invalid),
            ("i==", Line::Invalid),
            ("j[extra==1.0", Line::Invalid),
            ("k ?? 1", Line::Invalid),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line), want, "{line}");
        }
    }

    #[test]
    fn whole_file() {
        let text = "# comment\n\
-r base.txt\n\
-c constraints.txt\n\
requests==2.31.0 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n\
    # via app\n\
certifi==2023.7.22  # pinned for x\n\
https://example.invalid/#egg=z\n\
idna>=3\n\
???\n";
        let found = PipRequirements
            .analyze(&file("requirements.txt"), text.as_bytes())
            .unwrap();
        assert_eq!(summary(&found), ["certifi@2023.7.22", "requests@2.31.0"]);
        assert_eq!(found.warnings, ["line 11: not a requirement: \"???\""]);
        assert_eq!(found.packages[1].purl, "pkg:pypi/requests@2.31.0");
    }

    #[test]
    fn encodings() {
        let mut utf16 = vec![0xff, 0xfe];
        for u in "PyYAML==6.0.1\r\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let found = PipRequirements
            .analyze(&file("requirements.txt"), &utf16)
            .unwrap();
        assert_eq!(summary(&found), ["PyYAML@6.0.1"]);
        assert_eq!(found.packages[0].purl, "pkg:pypi/pyyaml@6.0.1");
        let bom = b"\xef\xbb\xbfsix==1.16.0\n";
        let found = PipRequirements
            .analyze(&file("requirements.txt"), bom)
            .unwrap();
        assert_eq!(summary(&found), ["six@1.16.0"]);
        assert!(
            PipRequirements
                .analyze(&file("requirements.txt"), &[0xff, 0xfe, 0x00, 0xd8])
                .is_err()
        );
    }
}
