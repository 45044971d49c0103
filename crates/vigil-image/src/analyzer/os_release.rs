//! The operating system, from `etc/os-release` or `usr/lib/os-release`.
//!
//! Both paths are required so that the usual symlink between them needs no resolving;
//! when both exist the walk prefers `etc/os-release`, as systemd does.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use vigil_core::OsInfo;

/// Reads os-release files (freedesktop.org format).
pub struct OsRelease;

/// The two places os-release lives, in order of precedence.
pub const OS_RELEASE_PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

impl Analyzer for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        OS_RELEASE_PATHS.contains(&file.path)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let os = parse(&text).ok_or_else(|| AnalyzeError::new("os-release has no ID field"))?;
        Ok(Found {
            os: Some(os),
            ..Found::default()
        })
    }
}

/// Parses `KEY=value` lines, with shell quoting, into [`OsInfo`].
pub fn parse(text: &str) -> Option<OsInfo> {
    let mut os = OsInfo::default();
    for line in super::lines(text) {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "ID" => os.id = value.to_ascii_lowercase(),
            "VERSION_ID" => os.version_id = value,
            "VERSION_CODENAME" if !value.is_empty() => os.codename = Some(value),
            "PRETTY_NAME" => os.pretty_name = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    if os.id.is_empty() {
        return None;
    }
    // Google's distroless images are Debian underneath but name themselves apart.
    os.distroless = os.pretty_name.starts_with("Distroless");
    Some(os)
}

/// Removes one layer of shell quoting and the escapes os-release allows.
fn unquote(value: &str) -> String {
    let inner = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(value);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_bookworm() {
        let os = parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
             VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        );
        let os = os.unwrap_or_default();
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id, "12");
        assert_eq!(os.codename.as_deref(), Some("bookworm"));
        assert!(!os.distroless);
    }

    #[test]
    fn rocky_id_like_and_distroless() {
        let os = parse("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n")
            .unwrap_or_default();
        assert_eq!(os.id_like, ["rhel", "centos", "fedora"]);
        let d =
            parse("PRETTY_NAME=\"Distroless\"\nID=debian\nVERSION_ID=\"12\"\n").unwrap_or_default();
        assert!(d.distroless);
    }

    #[test]
    fn missing_id_is_an_error() {
        assert!(parse("NAME=nothing\n").is_none());
        assert!(parse("").is_none());
    }
}
