//! Ruby gems: installed specifications (`specifications/*.gemspec`, default gems in
//! `specifications/default/`) and Bundler's `Gemfile.lock`.
//!
//! Both are read by hand: a gemspec is Ruby source, of which only the literal
//! assignments RubyGems writes when it installs a gem are understood (no Ruby is run),
//! and `Gemfile.lock` is Bundler's own indented format, for which no Rust crate exists.

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use std::collections::HashSet;
use vigil_core::{Ecosystem, Package};

/// Most packages taken from one lock file; the rest are dropped with a warning.
const MAX_PACKAGES: usize = 100_000;
/// Most licenses kept from one gemspec.
const MAX_LICENSES: usize = 32;

/// Installed gem specifications, as RubyGems writes them (`Gem::Specification#to_ruby`).
pub struct GemSpec;

impl Analyzer for GemSpec {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        let p = file.path;
        p.ends_with(".gemspec")
            && (p.starts_with("specifications/") || p.contains("/specifications/"))
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let spec = parse_gemspec(&String::from_utf8_lossy(content));
        let name = spec
            .name
            .ok_or_else(|| AnalyzeError::new("no literal `name` assignment"))?;
        let version = spec
            .version
            .ok_or_else(|| AnalyzeError::new(format!("{name}: no literal `version` assignment")))?;
        let mut pkg = Package::new(Ecosystem::Gem, name, version, self.name(), "");
        pkg.licenses = spec.licenses;
        Ok(Found {
            packages: vec![pkg],
            ..Found::default()
        })
    }
}

/// What Vigil reads from a gemspec.
#[derive(Debug, Default, PartialEq)]
struct Spec {
    name: Option<String>,
    version: Option<String>,
    licenses: Vec<String>,
}

/// Reads `s.name = "x"`, `s.version = "1.2.3"` (or `Gem::Version.new("1.2.3")`),
/// `s.license = "MIT"` and `s.licenses = ["MIT".freeze, "Ruby".freeze]`, in the forms
/// RubyGems has written over the years (`.freeze`, `%q{...}`, single quotes). The first
/// assignment of each wins; the receiver may have any name (`s.`, `spec.`).
fn parse_gemspec(text: &str) -> Spec {
    let mut spec = Spec::default();
    for line in super::lines(text) {
        let Some((lhs, rhs)) = line.split_once('=') else {
            continue;
        };
        // `==` is a comparison, `=>` a hash entry: not assignments.
        if rhs.starts_with(['=', '>', '~']) || lhs.ends_with(['!', '<', '>', '=']) {
            continue;
        }
        let Some((receiver, attribute)) = lhs.trim().split_once('.') else {
            continue;
        };
        if receiver.is_empty() || !receiver.chars().all(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rhs = rhs.trim_start();
        match attribute.trim() {
            "name" if spec.name.is_none() => spec.name = ruby_string(rhs).filter(|s| !s.is_empty()),
            "version" if spec.version.is_none() => {
                let v = rhs
                    .strip_prefix("Gem::Version.new(")
                    .unwrap_or(rhs)
                    .trim_start();
                spec.version = ruby_string(v).filter(|s| !s.is_empty());
            }
            "license" if spec.licenses.is_empty() => spec.licenses.extend(ruby_string(rhs)),
            "licenses" if spec.licenses.is_empty() => spec.licenses = ruby_strings(rhs),
            _ => {}
        }
    }
    spec.licenses.retain(|l| !l.is_empty());
    spec
}

/// The Ruby string literal at the start of `s` (`"x"`, `'x'`, `%q{x}`, `%Q(x)`, `%(x)`),
/// anything after it (`.freeze`) ignored. `None` for anything else (a constant, `nil`).
fn ruby_string(s: &str) -> Option<String> {
    ruby_string_at(s).map(|(value, _)| value)
}

/// Like [`ruby_string`], also returning the rest of `s` after the literal.
fn ruby_string_at(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    let (open, close, escapes) = match first {
        '"' => ('"', '"', true),
        '\'' => ('\'', '\'', false),
        '%' => {
            let (_, mut c) = chars.next()?;
            let escapes = c != 'q';
            if c == 'q' || c == 'Q' {
                c = chars.next()?.1;
            }
            let close = match c {
                '{' => '}',
                '(' => ')',
                '[' => ']',
                '<' => '>',
                c if c.is_ascii_punctuation() => c,
                _ => return None,
            };
            (c, close, escapes)
        }
        _ => return None,
    };
    let mut out = String::new();
    let mut depth = 0u32;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, next) = chars.next()?;
                match next {
                    'n' if escapes => out.push('\n'),
                    't' if escapes => out.push('\t'),
                    c if c == close || c == '\\' || c == open => out.push(c),
                    // `'\x'` keeps its backslash; other double-quoted escapes
                    // (`\u00E9`) do not occur in names, versions or licenses.
                    c => {
                        if !escapes {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                }
            }
            c if c == close && depth == 0 => return Some((out, s.get(i + c.len_utf8()..)?)),
            c if c == close => {
                depth -= 1;
                out.push(c);
            }
            c if c == open && open != close => {
                depth += 1;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    None
}

/// The string literals of an array (`["MIT".freeze, "Ruby".freeze]`, `%w[MIT Ruby]`).
fn ruby_strings(s: &str) -> Vec<String> {
    if let Some(words) = s.strip_prefix("%w[").or_else(|| s.strip_prefix("%w(")) {
        let end = words.find([']', ')']).unwrap_or(words.len());
        return words
            .get(..end)
            .unwrap_or_default()
            .split_whitespace()
            .take(MAX_LICENSES)
            .map(str::to_string)
            .collect();
    }
    let Some(mut rest) = s.strip_prefix('[') else {
        return ruby_string(s).into_iter().collect();
    };
    let mut out = Vec::new();
    while out.len() < MAX_LICENSES {
        rest = rest.trim_start();
        let Some((value, after)) = ruby_string_at(rest) else {
            break;
        };
        out.push(value);
        // Skip `.freeze` and the comma.
        match after.find([',', ']']) {
            Some(i) if after.get(i..i + 1) == Some(",") => rest = after.get(i + 1..).unwrap_or(""),
            _ => break,
        }
    }
    out
}

/// Bundler's `Gemfile.lock` (and `gems.locked`, its other name).
pub struct GemfileLock;

impl Analyzer for GemfileLock {
    fn lock_file(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "gemfile-lock"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        matches!(file.file_name(), "Gemfile.lock" | "gems.locked") && !in_installed_gem(file.path)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        let text = String::from_utf8_lossy(content);
        let mut found = parse_lock(&text, self.name());
        if std::str::from_utf8(content).is_err() {
            found
                .warnings
                .push("not valid UTF-8; invalid bytes were replaced".to_string());
        }
        Ok(found)
    }
}

/// True inside an installed gem's folder (`<GEM_HOME>/gems/rbs-2.1.0/steep/Gemfile.lock`,
/// git gems in `bundler/gems/<name>-<rev>/`): gems ship the lock file of their own
/// development, which says nothing about what the image runs. The folder is recognised
/// as a `gems/` folder holding `<name>-<version>`.
fn in_installed_gem(path: &str) -> bool {
    let parts: Vec<&str> = std::iter::once("").chain(path.split('/')).collect();
    parts.windows(4).any(|w| match w {
        [before, "gems", dir, _] => {
            *before == "bundler"
                || dir.match_indices('-').any(|(i, _)| {
                    dir.get(i + 1..)
                        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
                })
        }
        _ => false,
    })
}

/// Reads the gems of every source section (`GEM`, `GIT`, `PATH`, `PLUGIN SOURCE`):
///
/// ```text
/// GEM
///   remote: https://rubygems.org/
///   specs:
///     nokogiri (1.13.10-x86_64-linux)
///       racc (~> 1.4)
/// ```
///
/// Gems are the four-space lines under `specs:`; six-space lines are their requirements.
/// The version is what Bundler's own parser takes: up to the first `-`, the rest being
/// the platform. A gem locked for several platforms is reported once.
fn parse_lock(text: &str, found_by: &str) -> Found {
    let mut found = Found::default();
    let mut seen = HashSet::new();
    let mut in_source = false;
    let mut in_specs = false;
    for (n, line) in super::lines(text).enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim();
        if body.is_empty() {
            in_source = false;
            in_specs = false;
            continue;
        }
        match indent {
            0 => {
                in_source = matches!(body, "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE");
                in_specs = false;
            }
            2 if in_source => in_specs = body == "specs:",
            4 if in_specs => {
                if found.packages.len() >= MAX_PACKAGES {
                    found.warnings.push(format!(
                        "more than {MAX_PACKAGES} gems; the rest were not read"
                    ));
                    break;
                }
                match spec_line(body) {
                    Some((name, version)) => {
                        if seen.insert((name, version)) {
                            found.packages.push(Package::new(
                                Ecosystem::Gem,
                                name,
                                version,
                                found_by,
                                "",
                            ));
                        }
                    }
                    None => found.warnings.push(format!(
                        "line {}: not `name (version)`: {body:?}; skipped",
                        n + 1
                    )),
                }
            }
            _ => {}
        }
    }
    found
}

/// `rake (13.0.6)` -> (`rake`, `13.0.6`); `nokogiri (1.13.10-x86_64-linux)` ->
/// (`nokogiri`, `1.13.10`).
fn spec_line(body: &str) -> Option<(&str, &str)> {
    let (name, rest) = body.split_once(" (")?;
    let inner = rest.strip_suffix(')')?;
    let version = inner.split('-').next().unwrap_or(inner);
    let valid = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    (valid(name) && valid(version)).then_some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    #[test]
    fn which_files() {
        assert!(GemSpec.required(&file(
            "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec"
        )));
        assert!(GemSpec.required(&file(
            "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec"
        )));
        assert!(!GemSpec.required(&file("app/gems/rake-13.0.6/rake.gemspec")));
        assert!(GemfileLock.required(&file("srv/app/Gemfile.lock")));
        assert!(GemfileLock.required(&file("gems.locked")));
        assert!(!GemfileLock.required(&file("srv/Gemfile")));
        // The development lock files that installed gems ship.
        assert!(!GemfileLock.required(&file(
            "usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/steep/Gemfile.lock"
        )));
        assert!(!GemfileLock.required(&file("gems/typeprof-0.21.2/Gemfile.lock")));
        assert!(!GemfileLock.required(&file(
            "usr/local/bundle/bundler/gems/rails-8124c87b1f00/Gemfile.lock"
        )));
        assert!(GemfileLock.required(&file("srv/gems/myapp/Gemfile.lock")));
    }

    #[test]
    fn gemspec_forms() {
        // As RubyGems 3 writes them (Debian's ruby3.1, rake-13.0.6.gemspec).
        let s = parse_gemspec(
            "# stub: rake 13.0.6 ruby lib\nGem::Specification.new do |s|\n  s.name = \"rake\".freeze\n  s.version = \"13.0.6\"\n  s.required_rubygems_version = Gem::Requirement.new(\">= 0\".freeze) if s.respond_to? :required_rubygems_version=\n  s.licenses = [\"Ruby\".freeze, \"BSD-2-Clause\".freeze]\n  s.rubygems_version = \"3.3.7\".freeze\nend\n",
        );
        assert_eq!(
            s,
            Spec {
                name: Some("rake".into()),
                version: Some("13.0.6".into()),
                licenses: vec!["Ruby".into(), "BSD-2-Clause".into()],
            }
        );
        // Older RubyGems: %q{} and Gem::Version; single license; other receivers.
        let s = parse_gemspec(
            "Gem::Specification.new do |spec|\n  spec.name = %q{json_pure}\n  spec.version = Gem::Version.new('1.8.6')\n  spec.license = 'MIT'\nend\n",
        );
        assert_eq!(s.name.as_deref(), Some("json_pure"));
        assert_eq!(s.version.as_deref(), Some("1.8.6"));
        assert_eq!(s.licenses, ["MIT"]);
        assert_eq!(ruby_strings("%w[MIT Ruby]"), ["MIT", "Ruby"]);
        assert_eq!(ruby_string(r#""a\"b{".freeze"#).as_deref(), Some("a\"b{"));
        assert_eq!(ruby_string("%q{a{b}c}").as_deref(), Some("a{b}c"));
    }

    #[test]
    fn gemspec_without_literals_is_an_error() {
        let err = GemSpec.analyze(
            &file("specifications/x.gemspec"),
            b"Gem::Specification.new do |s|\n  s.name = \"x\"\n  s.version = X::VERSION\nend\n",
        );
        assert_eq!(
            err,
            Err(AnalyzeError::new("x: no literal `version` assignment"))
        );
        assert!(
            GemSpec
                .analyze(&file("specifications/x.gemspec"), b"\xff\xfe garbage")
                .is_err()
        );
        // Unterminated literals and stray quotes do not panic.
        for bad in [
            "s.name = \"abc",
            "s.name = %q",
            "s.name = %",
            "s.licenses = [\"a\", ",
            "s.name = '\\",
        ] {
            let _ = parse_gemspec(bad);
        }
    }

    #[test]
    fn lock_sections_platforms_and_duplicates() {
        let lock = "GIT\n  remote: https://github.com/rails/rails.git\n  revision: 1a2b\n  specs:\n    rails (7.1.0.alpha)\n      actioncable (= 7.1.0.alpha)\n\n\
PATH\n  remote: .\n  specs:\n    myapp (0.1.0)\n\n\
GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.10-x86_64-linux)\n      racc (~> 1.4)\n    nokogiri (1.13.10-arm64-darwin)\n    racc (1.6.2)\n    broken line\n\n\
PLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri\n  rails!\n\nBUNDLED WITH\n   2.3.26\n";
        let found = parse_lock(lock, "gemfile-lock");
        let got: Vec<_> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("rails", "7.1.0.alpha"),
                ("myapp", "0.1.0"),
                ("nokogiri", "1.13.10"),
                ("racc", "1.6.2")
            ]
        );
        assert_eq!(found.packages[2].purl, "pkg:gem/nokogiri@1.13.10");
        assert_eq!(
            found.warnings,
            ["line 20: not `name (version)`: \"broken line\"; skipped"]
        );
        let found = GemfileLock
            .analyze(&file("Gemfile.lock"), b"GEM\n  specs:\n    a (1)\n\xff")
            .unwrap_or_default();
        assert_eq!(found.packages.len(), 1);
        assert_eq!(
            found.warnings,
            ["not valid UTF-8; invalid bytes were replaced"]
        );
    }
}
