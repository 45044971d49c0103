//! Go modules compiled into Go executables, from the build information the Go linker
//! embeds (what `go version -m` prints).
//!
//! The decoding is written here by hand, after Go's own `debug/buildinfo`: no maintained
//! Rust crate reads it. The blob starts with the 14-byte magic `\xff Go buildinf:`, then a
//! pointer size and a flags byte, at a 16-byte aligned address:
//! - Go >= 1.18 (flags & 2): the Go version and the module text follow the 32-byte
//!   header inline, each prefixed by its length as a varint;
//! - older Go: two pointers (4 or 8 bytes, big-endian when the flags are not 0) to Go
//!   string headers `(data pointer, length)` for `runtime.buildVersion` and
//!   `runtime.modinfo`, followed here through the loadable segments.
//!
//! The blob is found in the `.go.buildinfo` section, else (no such section, or no section
//! headers at all as `sstrip` leaves a file) at an aligned magic in the first writable
//! loadable segment, as Go does; when the program headers are unreadable too, at an
//! aligned magic anywhere in the file (only the inline format can then be decoded).
//!
//! What is reported follows Trivy (`pkg/dependency/parser/golang/binary`):
//! - the toolchain as package `stdlib`, version from `go1.22.3` -> `v1.22.3` (cut at the
//!   first space, `go1.22.3 X:boringcrypto`; the `v` as Go modules have it, as Trivy;
//!   Syft reports `go1.22.3`);
//! - every `dep`, or, when a `=>` line replaces it, the replacement's path and version; a
//!   local-folder replacement is reported with its folder as name (`./x`) and no version
//!   (Go records `(devel)`, which Trivy, and so Vigil, reports as no version);
//! - the main module (`mod` line) with its version, none for `(devel)` (any `go build`
//!   before Go 1.24), unless the `-ldflags` build setting stamps a semantic version with
//!   `-X <pkg>.version=` or `.ver=` (see [`ldflags_version`]), which also replaces a
//!   `v0.0.0` pseudo-version. GOPATH-mode binaries (Debian builds them so) have a `path`
//!   line and no `mod` line: only `stdlib` is reported for them.
//!
//! Only ELF files are read (container images are Linux); Go's PE and Mach-O layouts are
//! not.

use super::elf::{self, Elf, Lookup};
use super::{AnalyzeError, Analyzer, FileInfo, FileRanges, Found};
use object::read::ReadRef;
use std::borrow::Cow;
use vigil_core::{Ecosystem, Package};

/// The build-info magic.
const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Size of the build-info header.
const HEADER: usize = 32;
/// Alignment of the header, by virtual address.
const ALIGN: u64 = 16;
/// Longest version or module string followed through pointers (Go itself stops at 4 GiB;
/// the module text of a Kubernetes binary is about 30 KiB).
const MAX_STRING: u64 = 16 << 20;
/// Most modules read from one binary.
const MAX_MODULES: usize = 50_000;
/// Most warnings kept for one binary.
const MAX_WARNINGS: usize = 20;

/// Reads the module build information of Go executables.
pub struct GoBinary;

impl Analyzer for GoBinary {
    fn name(&self) -> &'static str {
        "go-binary"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        elf::wants(file)
    }

    fn analyze(&self, _file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        self.read(content)
    }

    fn magic(&self) -> Option<&'static [u8]> {
        Some(elf::MAGIC)
    }

    fn analyze_file(
        &self,
        _file: &FileInfo<'_>,
        data: &FileRanges<'_>,
    ) -> Result<Found, AnalyzeError> {
        self.read(data)
    }
}

impl GoBinary {
    /// The build information of an executable, from its bytes in memory or on disk.
    fn read<'a, R: ReadRef<'a>>(&self, data: R) -> Result<Found, AnalyzeError> {
        if !elf::is_elf(data) {
            return Ok(Found::default());
        }
        let Some(raw) = read_raw(data)? else {
            return Ok(Found::default());
        };
        Ok(packages(&raw, self.name()))
    }
}

/// The two strings of the build information, undecoded.
#[derive(Debug, PartialEq, Eq)]
struct Raw<'a> {
    go_version: Cow<'a, str>,
    /// The module text without its sentinels; empty when the binary has none.
    modinfo: Cow<'a, str>,
}

/// Finds and decodes the build information; `None` when the file is not a Go binary.
fn read_raw<'a, R: ReadRef<'a>>(data: R) -> Result<Option<Raw<'a>>, AnalyzeError> {
    // The whole file, read only when the headers cannot say where to look.
    let whole = || {
        data.len()
            .and_then(|len| data.read_bytes_at(0, len))
            .unwrap_or_default()
    };
    let elf = match Elf::parse(data, b".go.buildinfo") {
        Ok(elf) => elf,
        Err(e) => {
            // Unreadable ELF headers: the inline (Go >= 1.18) format needs none.
            return match find_magic(whole(), 0) {
                None => Ok(None),
                Some(blob) => decode::<R>(blob, None)
                    .map(Some)
                    .map_err(|m| AnalyzeError::new(format!("malformed ELF ({e}); {m}"))),
            };
        }
    };
    let mut blob = match elf.section {
        Lookup::Found { addr, data } => find_magic(data, addr),
        _ => None,
    };
    if blob.is_none() {
        blob = elf
            .data_segment()
            .and_then(|(vaddr, data)| find_magic(data, vaddr));
    }
    if blob.is_none() && elf.loads.is_err() {
        // No usable program headers either: only the file offsets are left.
        blob = find_magic(whole(), 0);
    }
    match blob {
        None => Ok(None),
        Some(blob) => decode(blob, Some(&elf))
            .map(Some)
            .map_err(AnalyzeError::new),
    }
}

/// The bytes from the first 16-byte aligned magic (by address `base` + offset) with room
/// for a whole header after it.
fn find_magic(data: &[u8], base: u64) -> Option<&[u8]> {
    memchr::memmem::find_iter(data, MAGIC)
        .find(|&i| base.wrapping_add(i as u64).is_multiple_of(ALIGN) && data.len() - i >= HEADER)
        .and_then(|i| data.get(i..))
}

/// Decodes a blob that starts with the magic.
fn decode<'a, R: ReadRef<'a>>(blob: &'a [u8], elf: Option<&Elf<'a, R>>) -> Result<Raw<'a>, String> {
    let ptr_size = blob.get(14).copied().unwrap_or(0);
    let flags = blob.get(15).copied().unwrap_or(0);
    let (version, modinfo) = if flags & 2 != 0 {
        let rest = blob.get(HEADER..).unwrap_or_default();
        let (version, rest) = varint_string(rest)
            .ok_or("Go build info: truncated version string after the header")?;
        let (modinfo, _) = varint_string(rest)
            .ok_or("Go build info: truncated module information after the version")?;
        (version, modinfo)
    } else {
        let elf = elf.ok_or(
            "Go build info in the old pointer format, but the ELF program headers are unreadable",
        )?;
        let big = flags != 0;
        let size = usize::from(ptr_size);
        if size != 4 && size != 8 {
            return Err(format!(
                "Go build info: unsupported pointer size {ptr_size}"
            ));
        }
        let version_at = read_ptr(blob.get(16..), size, big);
        let modinfo_at = read_ptr(blob.get(16 + size..), size, big);
        let (Some(version_at), Some(modinfo_at)) = (version_at, modinfo_at) else {
            return Err("Go build info: truncated header".to_string());
        };
        let version = go_string(elf, version_at, size, big)
            .map_err(|e| format!("Go build info: version string: {e}"))?;
        // Go reads a modinfo it cannot follow as empty; say so instead.
        let modinfo = go_string(elf, modinfo_at, size, big)
            .map_err(|e| format!("Go build info: module information: {e}"))?;
        (version, modinfo)
    };
    if version.is_empty() {
        return Err("Go build info without a Go version".to_string());
    }
    // Strip the 16-byte sentinels around the module text, as Go does: anything else means
    // the binary has no module information (GOPATH mode before Go 1.18).
    let n = modinfo.len();
    let modinfo = if n >= 33 && modinfo.get(n - 17) == Some(&b'\n') {
        modinfo.get(16..n - 16).unwrap_or_default()
    } else {
        &[]
    };
    Ok(Raw {
        go_version: String::from_utf8_lossy(version),
        modinfo: String::from_utf8_lossy(modinfo),
    })
}

/// A string prefixed by its unsigned varint length (Go's `binary.Uvarint`).
fn varint_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut used = 0;
    for (i, &b) in data.iter().take(10).enumerate() {
        len |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            used = i + 1;
            break;
        }
    }
    if used == 0 {
        return None;
    }
    let rest = data.get(used..)?;
    let len = usize::try_from(len).ok()?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// A pointer of `size` bytes at the start of `data`.
fn read_ptr(data: Option<&[u8]>, size: usize, big: bool) -> Option<u64> {
    let bytes = data?.get(..size)?;
    let mut v: u64 = 0;
    for i in 0..size {
        let b = if big {
            bytes.get(i)
        } else {
            bytes.get(size - 1 - i)
        };
        v = (v << 8) | u64::from(*b?);
    }
    Some(v)
}

/// The bytes of the Go string whose header `(data, len)` is at virtual address `addr`.
fn go_string<'a, R: ReadRef<'a>>(
    elf: &Elf<'a, R>,
    addr: u64,
    size: usize,
    big: bool,
) -> Result<&'a [u8], String> {
    let header = elf
        .read_at(addr, 2 * size as u64)
        .ok_or_else(|| format!("header address {addr:#x} is outside the file's segments"))?;
    let data = read_ptr(Some(header), size, big).unwrap_or(0);
    let len = read_ptr(header.get(size..), size, big).unwrap_or(0);
    if len > MAX_STRING {
        return Err(format!("length {len} is over the {MAX_STRING} byte limit"));
    }
    if len == 0 {
        return Ok(&[]);
    }
    elf.read_at(data, len)
        .ok_or_else(|| format!("{len} bytes at address {data:#x} are outside the file's segments"))
}

/// One module line (`mod`, `dep` or `=>`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Module<'a> {
    path: &'a str,
    version: &'a str,
    replace: Option<(&'a str, &'a str)>,
}

/// The parsed module text.
#[derive(Debug, Default, PartialEq, Eq)]
struct BuildInfo<'a> {
    main: Option<Module<'a>>,
    deps: Vec<Module<'a>>,
    /// The `-ldflags` build setting, unquoted.
    ldflags: Option<Cow<'a, str>>,
    warnings: Vec<String>,
}

/// Parses the module text as Go's `debug.ParseBuildInfo` does, turning malformed lines
/// into warnings instead of failing the whole binary.
fn parse_modinfo(text: &str) -> BuildInfo<'_> {
    let mut info = BuildInfo::default();
    // Which module a `=>` line replaces: `None` for main, `Some(i)` for deps[i].
    let mut last: Option<Option<usize>> = None;
    let mut problems = 0usize;
    let mut warn = |info: &mut BuildInfo<'_>, msg: String| {
        problems += 1;
        if info.warnings.len() < MAX_WARNINGS {
            info.warnings.push(msg);
        }
    };
    for (n, line) in super::lines(text).enumerate() {
        let n = n + 1;
        if let Some(rest) = line.strip_prefix("mod\t") {
            match module_line(rest) {
                Some(m) => {
                    info.main = Some(m);
                    last = Some(None);
                }
                None => warn(&mut info, format!("module line {n}: malformed `mod` line")),
            }
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            last = None;
            if info.deps.len() >= MAX_MODULES {
                warn(
                    &mut info,
                    format!("more than {MAX_MODULES} modules; the rest are not read"),
                );
                break;
            }
            match module_line(rest) {
                Some(m) => {
                    info.deps.push(m);
                    last = Some(Some(info.deps.len() - 1));
                }
                None => warn(&mut info, format!("module line {n}: malformed `dep` line")),
            }
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let elems: Vec<&str> = rest.splitn(4, '\t').collect();
            let target = match last.take() {
                Some(None) => info.main.as_mut(),
                Some(Some(i)) => info.deps.get_mut(i),
                None => None,
            };
            match (elems.as_slice(), target) {
                ([path, version, _sum], Some(m)) => m.replace = Some((path, version)),
                (_, None) => warn(
                    &mut info,
                    format!("module line {n}: replacement with no module before it"),
                ),
                _ => warn(&mut info, format!("module line {n}: malformed `=>` line")),
            }
        } else if let Some(value) = line.strip_prefix("build\t-ldflags=") {
            info.ldflags = Some(unquote(value));
        }
    }
    if problems > info.warnings.len() {
        let more = problems - info.warnings.len();
        info.warnings
            .push(format!("{more} more malformed module lines"));
    }
    info
}

/// `path<TAB>version[<TAB>sum]`.
fn module_line(rest: &str) -> Option<Module<'_>> {
    let elems: Vec<&str> = rest.splitn(4, '\t').collect();
    match elems.as_slice() {
        [path, version] | [path, version, _] => Some(Module {
            path,
            version,
            replace: None,
        }),
        _ => None,
    }
}

/// A build-setting value, unquoted when Go quoted it (`strconv.Quote`: values with spaces,
/// quotes or control characters). Common escapes only; others are kept as written.
fn unquote(value: &str) -> Cow<'_, str> {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return Cow::Borrowed(value);
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Most words read from the `-ldflags` setting.
const MAX_LDFLAGS_WORDS: usize = 10_000;

/// The main module's version from `-X <key>=<semver>` linker flags whose key ends in
/// `.version` or `.ver`, as Trivy's `ParseLDFlags` picks it: flags split as a shell would
/// (`shellwords`), `-X k=v`, `-X=k=v` or `-Xk=v` (several pairs joined by commas), later
/// keys overriding earlier ones; then, in order, keys under `<main module>/cmd/`, keys
/// whose last package is `main`, `common`, `version` or `cmd`, any other key. The first
/// group with a version decides; two versions in it give none.
fn ldflags_version(main: &str, ldflags: &str) -> Option<String> {
    let words = shell_words(ldflags);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let Some(rest) = word.strip_prefix("-X") else {
            continue;
        };
        let value = match rest.strip_prefix('=') {
            Some(v) => v,
            None if rest.is_empty() => match words.next() {
                Some(v) => v.as_str(),
                None => break,
            },
            None => rest,
        };
        // pflag's string-to-string flag: one pair (quotes trimmed), or a comma list.
        let list: Vec<&str> = if value.matches('=').count() == 1 {
            vec![value.trim_matches('"')]
        } else {
            value.split(',').collect()
        };
        for pair in list {
            if let Some((k, v)) = pair.split_once('=') {
                pairs.retain(|(key, _)| key != k);
                pairs.push((k.to_string(), v.to_string()));
            }
        }
    }
    let mut groups: [Vec<&str>; 3] = Default::default();
    let cmd = format!("{main}/cmd/");
    for (key, value) in &pairs {
        let key = key.trim_start_matches('\'');
        let value = value.trim_end_matches('\'');
        let lower = key.to_ascii_lowercase();
        if !(lower.ends_with(".version") || lower.ends_with(".ver")) || !is_semver(value) {
            continue;
        }
        let last = lower.rsplit('/').next().unwrap_or(&lower);
        let package = last.split('.').next().unwrap_or(last);
        let group = if key.starts_with(&cmd) {
            0
        } else if ["main", "common", "version", "cmd"].contains(&package) {
            1
        } else {
            2
        };
        if let Some(g) = groups.get_mut(group)
            && !g.contains(&value)
        {
            g.push(value);
        }
    }
    let group = groups.iter().find(|g| !g.is_empty())?;
    match group.as_slice() {
        [one] => Some((*one).to_string()),
        _ => None,
    }
}

/// Splits a command line into words as a POSIX shell would without expansions: blanks
/// separate words, single quotes keep everything, double quotes keep all but `\"` and
/// `\\`, a backslash outside quotes escapes the next character.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if words.len() >= MAX_LDFLAGS_WORDS {
            break;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => word.push('\\'),
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    word.push(e);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Go's `semver.IsValid`, also accepting the version without its leading `v`:
/// `v1`, `v1.2`, `v1.2.3`, `v1.2.3-pre.1+build`.
fn is_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (core, build) = match v.split_once('+') {
        Some((c, b)) => (c, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let number = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let ident = |s: &str, numeric_rule: bool| {
        s.split('.').all(|id| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !(numeric_rule
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && id.len() > 1
                    && id.starts_with('0'))
        })
    };
    if numbers.is_empty() || numbers.len() > 3 || !numbers.iter().all(|n| number(n)) {
        return false;
    }
    // Shorthands (`v1`, `v1.2`) take no pre-release or build suffix.
    if numbers.len() < 3 && (pre.is_some() || build.is_some()) {
        return false;
    }
    pre.is_none_or(|p| ident(p, true)) && build.is_none_or(|b| ident(b, false))
}

/// The packages of one binary.
fn packages(raw: &Raw<'_>, found_by: &str) -> Found {
    let info = parse_modinfo(&raw.modinfo);
    let mut found = Found {
        warnings: info.warnings.clone(),
        ..Found::default()
    };
    // Trivy's `checkVersion`: `(devel)` means no version.
    let known = |v: &str| if v == "(devel)" { "" } else { v }.to_string();
    if let Some(main) = info.main.as_ref().filter(|m| !m.path.is_empty()) {
        let mut version = known(main.version);
        if version.is_empty() || version.starts_with("v0.0.0") {
            let stamped = info
                .ldflags
                .as_deref()
                .and_then(|flags| ldflags_version(main.path, flags));
            if let Some(v) = stamped {
                version = v;
            }
        }
        found.packages.push(Package::new(
            Ecosystem::Go,
            main.path,
            version,
            found_by,
            "",
        ));
    }
    // `go1.22.3 X:boringcrypto` -> `v1.22.3`, with the `v` Go modules' versions have.
    let go = raw.go_version.as_ref();
    let go = go.strip_prefix("go").unwrap_or(go);
    let go = go.split(' ').next().unwrap_or(go);
    found.packages.push(Package::new(
        Ecosystem::Go,
        "stdlib",
        format!("v{go}"),
        found_by,
        "",
    ));
    for dep in &info.deps {
        // Binaries of old Go versions may list a module with no path (Trivy skips it too).
        if dep.path.is_empty() {
            continue;
        }
        let (path, version) = dep.replace.unwrap_or((dep.path, dep.version));
        found.packages.push(Package::new(
            Ecosystem::Go,
            path,
            known(version),
            found_by,
            "",
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::elf::testelf::{Part, build};
    use super::*;

    const START: &[u8; 16] = b"0\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8; 16] = b"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";

    const MODINFO: &str = "path\texample.com/hello\n\
        mod\texample.com/hello\t(devel)\t\n\
        dep\tgithub.com/a/b\tv1.2.3\th1:abc=\n\
        dep\texample.com/old\tv1.0.0\n\
        =>\texample.com/new\tv1.1.0\th1:def=\n\
        dep\texample.com/local\tv0.0.0\n\
        =>\t./local\t(devel)\t\n\
        \n\
        build\t-compiler=gc\n\
        build\t-ldflags=\"-s -w -X 'example.com/hello/internal.Version=v2.4.1'\"\n";

    fn framed(text: &str) -> Vec<u8> {
        let mut m = START.to_vec();
        m.extend_from_slice(text.as_bytes());
        m.extend_from_slice(END);
        m
    }

    fn varint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// A Go >= 1.18 blob.
    fn inline_blob(version: &str, modinfo: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[8, 2]);
        b.resize(HEADER, 0);
        varint(version.len(), &mut b);
        b.extend_from_slice(version.as_bytes());
        varint(modinfo.len(), &mut b);
        b.extend_from_slice(modinfo);
        b
    }

    fn put(v: u64, size: usize, big: bool, out: &mut Vec<u8>) {
        let mut b = v.to_le_bytes()[..size].to_vec();
        if big {
            b.reverse();
        }
        out.extend_from_slice(&b);
    }

    /// A pre-1.18 binary: `.go.buildinfo` holds pointers to two string headers in a data
    /// segment, whose bytes live in a read-only segment.
    fn pointer_binary(bits: u8, big: bool, version: &str, modinfo: &[u8]) -> Vec<u8> {
        let size = usize::from(bits / 8);
        let rodata_addr = 0x40_0000u64;
        let mut rodata = version.as_bytes().to_vec();
        rodata.extend_from_slice(modinfo);
        let data_addr = 0x60_0000u64;
        let mut data = Vec::new();
        put(rodata_addr, size, big, &mut data);
        put(version.len() as u64, size, big, &mut data);
        put(rodata_addr + version.len() as u64, size, big, &mut data);
        put(modinfo.len() as u64, size, big, &mut data);
        let mut blob = MAGIC.to_vec();
        blob.extend_from_slice(&[size as u8, u8::from(big)]);
        put(data_addr, size, big, &mut blob);
        put(data_addr + 2 * size as u64, size, big, &mut blob);
        blob.resize(HEADER, 0);
        build(
            bits,
            big,
            &[
                Part {
                    name: Some(".rodata"),
                    addr: rodata_addr,
                    flags: 4,
                    data: rodata,
                },
                Part {
                    name: Some(".data"),
                    addr: data_addr,
                    flags: 6,
                    data,
                },
                Part {
                    name: Some(".go.buildinfo"),
                    addr: 0x70_0000,
                    flags: 6,
                    data: blob,
                },
            ],
            true,
        )
    }

    fn analyze(content: &[u8]) -> Result<Found, AnalyzeError> {
        let f = FileInfo {
            path: "usr/bin/hello",
            size: content.len() as u64,
            mode: 0o755,
        };
        GoBinary.analyze(&f, content)
    }

    fn names(found: &Found) -> Vec<String> {
        found
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect()
    }

    const EXPECTED: [&str; 5] = [
        "example.com/hello v2.4.1",
        "stdlib v1.17.13",
        "github.com/a/b v1.2.3",
        "example.com/new v1.1.0",
        "./local ",
    ];

    #[test]
    fn inline_format_in_section_segment_and_sectionless_file() {
        let blob = inline_blob("go1.17.13", &framed(MODINFO));
        for bits in [32, 64] {
            for big in [false, true] {
                for sections in [true, false] {
                    let file = build(
                        bits,
                        big,
                        &[Part {
                            name: Some(".go.buildinfo"),
                            addr: 0x50_0010,
                            flags: 6,
                            data: blob.clone(),
                        }],
                        sections,
                    );
                    let found = analyze(&file).unwrap();
                    assert_eq!(names(&found), EXPECTED, "{bits} {big} {sections}");
                    assert!(found.warnings.is_empty());
                    assert_eq!(found.packages[1].purl, "pkg:golang/stdlib@v1.17.13");
                    assert_eq!(found.packages[2].purl, "pkg:golang/github.com/a/b@v1.2.3");
                }
            }
        }
    }

    #[test]
    fn inline_format_found_by_file_offset_when_headers_are_damaged() {
        let blob = inline_blob("go1.17.13", &framed(MODINFO));
        let part = Part {
            name: Some(".go.buildinfo"),
            addr: 0x50_0000,
            flags: 6,
            data: blob,
        };
        let mut file = build(64, false, &[part], true);
        file[32..40].copy_from_slice(&(u64::MAX - 64).to_le_bytes()); // e_phoff
        file[40..48].copy_from_slice(&(u64::MAX - 64).to_le_bytes()); // e_shoff
        assert_eq!(names(&analyze(&file).unwrap()), EXPECTED);
        // An unknown ELF class: not parsed at all, still found.
        file[4] = 9;
        assert_eq!(names(&analyze(&file).unwrap()), EXPECTED);
    }

    #[test]
    fn pointer_format_every_width_and_byte_order() {
        for bits in [32, 64] {
            for big in [false, true] {
                let file = pointer_binary(bits, big, "go1.17.13", &framed(MODINFO));
                let found = analyze(&file).unwrap();
                assert_eq!(names(&found), EXPECTED, "{bits} {big}");
            }
        }
    }

    #[test]
    fn misaligned_magic_is_skipped() {
        let mut data = vec![0u8; 8];
        data.extend_from_slice(MAGIC); // at address 0x..08: not aligned
        data.resize(16, 0);
        data.extend_from_slice(&inline_blob("go1.21.0", &framed("mod\tx.io/m\tv1.0.0\t\n")));
        let file = build(
            64,
            false,
            &[Part {
                name: None,
                addr: 0x60_0000,
                flags: 6,
                data,
            }],
            true,
        );
        assert_eq!(
            names(&analyze(&file).unwrap()),
            ["x.io/m v1.0.0", "stdlib v1.21.0"]
        );
    }

    #[test]
    fn gopath_binaries_report_stdlib_only() {
        // No sentinels around the text: no module information.
        let blob = inline_blob("go1.19.8 X:boringcrypto", b"");
        let file = build(
            64,
            false,
            &[Part {
                name: Some(".go.buildinfo"),
                addr: 0x1000,
                flags: 6,
                data: blob,
            }],
            true,
        );
        assert_eq!(names(&analyze(&file).unwrap()), ["stdlib v1.19.8"]);
    }

    #[test]
    fn not_go_is_nothing() {
        assert!(analyze(b"#!/bin/sh\necho hi\n").unwrap().is_empty());
        let plain = build(
            64,
            false,
            &[Part {
                name: Some(".data"),
                addr: 0x1000,
                flags: 6,
                data: vec![1; 100],
            }],
            true,
        );
        assert!(analyze(&plain).unwrap().is_empty());
        assert!(analyze(b"\x7fELF").unwrap().is_empty());
    }

    #[test]
    fn hostile_pointers_and_lengths_are_errors() {
        // Pointers out of every segment.
        let mut file = pointer_binary(64, false, "go1.16", &framed(MODINFO));
        let at = memchr::memmem::find(&file, MAGIC).unwrap();
        file[at + 16..at + 24].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = analyze(&file).unwrap_err();
        assert!(e.0.contains("outside"), "{e}");
        // A string header claiming a huge length.
        let mut file = pointer_binary(64, false, "go1.16", &framed(MODINFO));
        let mut header = 0x40_0000u64.to_le_bytes().to_vec();
        header.extend_from_slice(&6u64.to_le_bytes());
        let hdr = memchr::memmem::find(&file, &header).unwrap();
        file[hdr + 8..hdr + 16].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        let e = analyze(&file).unwrap_err();
        assert!(e.0.contains("limit"), "{e}");
        // Bad pointer size.
        let mut file = pointer_binary(64, false, "go1.16", &framed(MODINFO));
        let at = memchr::memmem::find(&file, MAGIC).unwrap();
        file[at + 14] = 3;
        assert!(analyze(&file).unwrap_err().0.contains("pointer size"));
        // Inline lengths past the end, and a varint that never ends.
        for tail in [
            &[0xff, 0xff, 0xff, 0x7f][..],
            &[0x80; 12][..],
            &[5, b'g', b'o'][..],
        ] {
            let mut blob = MAGIC.to_vec();
            blob.extend_from_slice(&[8, 2]);
            blob.resize(HEADER, 0);
            blob.extend_from_slice(tail);
            let file = build(
                64,
                false,
                &[Part {
                    name: Some(".go.buildinfo"),
                    addr: 0x1000,
                    flags: 6,
                    data: blob,
                }],
                true,
            );
            assert!(analyze(&file).unwrap_err().0.contains("truncated"));
        }
        // Every truncation of a real-looking binary: no panic.
        let file = pointer_binary(32, true, "go1.16", &framed(MODINFO));
        for cut in 0..file.len() {
            let _ = analyze(&file[..cut]);
        }
    }

    #[test]
    fn modinfo_lines_and_warnings() {
        let info = parse_modinfo(
            "mod\tm\tv1.0.0\t\n=>\tother\tv2.0.0\t\n\
             dep\tbad\n=>\tx\ty\t\ndep\ta\tv1\t\t\textra\ndep\tb\tv2\n=>\tonly-two\tcols\n",
        );
        assert_eq!(info.main.unwrap().replace, Some(("other", "v2.0.0")));
        assert_eq!(info.deps.len(), 1);
        assert_eq!(info.deps[0].path, "b");
        assert_eq!(info.warnings.len(), 4, "{:?}", info.warnings);
    }

    #[test]
    fn ldflags_versions_as_trivy() {
        let v = |flags: &str| ldflags_version("github.com/o/app", flags);
        assert_eq!(v("-s -w -X main.version=1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(
            v("-X=main.Version=v1.2.3-rc.1").as_deref(),
            Some("v1.2.3-rc.1")
        );
        assert_eq!(v("-Xmain.version=v1.0.0").as_deref(), Some("v1.0.0"));
        assert_eq!(v("-X 'a/b.ver=v3'").as_deref(), Some("v3"));
        assert_eq!(v(r#"-X "main.version=2.0.0""#).as_deref(), Some("2.0.0"));
        assert_eq!(v("-X a.x=1,main.version=4.0.0").as_deref(), Some("4.0.0"));
        assert_eq!(v("-X main.commit=1.2.3"), None);
        assert_eq!(v("-X main.version=dev"), None);
        assert_eq!(v("-X main.version=01.2.3"), None);
        assert_eq!(v("-X"), None);
        // Groups: the module's own cmd packages, then main/common/version/cmd, then others.
        let flags = "-X github.com/x/other.version=9.9.9 -X github.com/o/app/internal/version.Version=v2.0.0 \
                     -X github.com/o/app/cmd/app/build.ver=v3.0.0";
        assert_eq!(v(flags).as_deref(), Some("v3.0.0"));
        assert_eq!(
            v("-X lib.version=1.0.0 -X main.version=1.1.0").as_deref(),
            Some("1.1.0")
        );
        // Two versions in the deciding group: none; a key set twice: the last.
        assert_eq!(v("-X main.version=1.0.0 -X version.Version=1.1.0"), None);
        assert_eq!(
            v("-X main.version=1.0.0 -X main.version=1.1.0").as_deref(),
            Some("1.1.0")
        );
        assert_eq!(
            shell_words(r#"-s  -X 'a b' "c \"d\"" e\ f"#),
            ["-s", "-X", "a b", "c \"d\"", "e f"]
        );
        assert!(is_semver("v1.2.3+meta.1") && !is_semver("v1.2-pre") && !is_semver("1.2.3.4"));
        assert_eq!(
            unquote(r#""-X \"a.version=1.0.0\"""#),
            r#"-X "a.version=1.0.0""#
        );
        // A pseudo-version main module is overridden too, a release version is not.
        let raw = |v: &str| Raw {
            go_version: "go1.24.0".into(),
            modinfo: format!("mod\tm\t{v}\t\nbuild\t-ldflags=\"-X main.version=1.5.0\"\n").into(),
        };
        assert_eq!(
            packages(&raw("v0.0.0-20240101000000-abcdef123456+dirty"), "t").packages[0].version,
            "1.5.0"
        );
        assert_eq!(packages(&raw("v1.4.0"), "t").packages[0].version, "v1.4.0");
        assert_eq!(packages(&raw("(devel)"), "t").packages[0].version, "1.5.0");
        assert_eq!(
            packages(&raw("(devel)"), "t").packages[1].purl,
            "pkg:golang/stdlib@v1.24.0"
        );
    }
}
