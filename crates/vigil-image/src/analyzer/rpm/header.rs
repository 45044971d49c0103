//! The rpm header blob: the record that every rpmdb format stores for each package.
//!
//! Layout (rpm's `lib/header.c`; all numbers big-endian): `il: u32` index entries,
//! `dl: u32` bytes of data, then `il` 16-byte entries `(tag: u32, type: u32, offset: u32,
//! count: u32)`, then the `dl`-byte data store the entries point into. The database copy
//! has no 8-byte magic in front; that is only in `.rpm` files.
//!
//! Written by hand: the `rpm` crate reads whole `.rpm` package files (lead, signature
//! header, magic) and brings a signing stack along, while we need a bare blob, eight
//! tags and strict limits. Only the entries we read are decoded and checked; the others
//! (signatures, dependencies, region trailers) are skipped without being trusted.

use std::fmt::Write as _;

/// rpm's own cap on index entries (`HEADER_TAGS_MAX`).
const MAX_ENTRIES: usize = 0xffff;
/// rpm's own cap on the data store (`HEADER_DATA_MAX`).
const MAX_DATA: usize = 0x0fff_ffff;
/// Most bytes of file paths built from one header (a directory name repeated through
/// `DIRINDEXES` could otherwise multiply a small blob into gigabytes).
const MAX_PATH_BYTES: usize = 64 << 20;
/// Longest file path kept (Linux `PATH_MAX`).
const MAX_PATH_LEN: usize = 4096;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_OLDFILENAMES: u32 = 1027;
const TAG_SOURCERPM: u32 = 1044;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// A header blob that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(pub String);

/// What Vigil reads from one installed package's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `EPOCH`, when the package has one (an explicit 0 included).
    pub epoch: Option<u32>,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH` (`x86_64`, `noarch`); absent for `gpg-pubkey` pseudo-packages.
    pub arch: Option<String>,
    /// `SOURCERPM`, the file name of the source package (`openssl-3.0.7-24.el9.src.rpm`).
    pub source_rpm: Option<String>,
    /// `LICENSE`, as declared (often an SPDX expression, sometimes Fedora's old short names).
    pub license: Option<String>,
    /// `VENDOR`.
    pub vendor: Option<String>,
    /// Installed paths (`/usr/bin/ls`), from `DIRNAMES` + `BASENAMES` via `DIRINDEXES`, or
    /// from `OLDFILENAMES` in headers older than rpm 4.
    pub files: Vec<String>,
    /// Problems that left the header readable but some of it unread (a bad file list).
    pub problems: Vec<String>,
}

/// One index entry, offsets already known to lie inside the data store.
#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: u32,
    offset: usize,
    count: usize,
}

/// Parses one header blob as stored in an rpm database (no magic, `il`, `dl`, index,
/// data), reading the tags Vigil needs.
///
/// This is the entry point for fuzzing the header parser: it takes untrusted bytes and
/// returns an error rather than panicking, allocating at most a bounded multiple of the
/// input's size. `NAME`, `VERSION` and `RELEASE` are required; any other tag may be
/// missing. Bytes after the data store are ignored.
pub fn parse_header_blob(blob: &[u8]) -> Result<RpmHeader, HeaderError> {
    let header = Header::parse(blob)?;
    let required = |tag: u32, what: &str| -> Result<String, HeaderError> {
        header
            .string(tag)?
            .ok_or_else(|| HeaderError(format!("header has no {what}")))
    };
    let name = required(TAG_NAME, "NAME")?;
    let version = required(TAG_VERSION, "VERSION")?;
    let release = required(TAG_RELEASE, "RELEASE")?;
    let mut out = RpmHeader {
        epoch: header.int32(TAG_EPOCH)?,
        arch: header.string(TAG_ARCH)?,
        source_rpm: header.string(TAG_SOURCERPM)?,
        license: header.string(TAG_LICENSE)?,
        vendor: header.string(TAG_VENDOR)?,
        name,
        version,
        release,
        ..RpmHeader::default()
    };
    if let Err(HeaderError(problem)) = header.files(&mut out.files) {
        out.problems.push(format!("file list: {problem}"));
    }
    Ok(out)
}

/// The index of a header, for looking tags up in its data store.
struct Header<'a> {
    data: &'a [u8],
    /// The entries for the tags we read, the last one winning as in rpm, where entries
    /// added after the signed region replace the region's own.
    wanted: Vec<(u32, Entry)>,
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(HeaderError(format!(
                "header blob of {} bytes is shorter than its 8-byte preamble",
                blob.len()
            )));
        };
        let (il, dl) = (il as usize, dl as usize);
        if il == 0 || il > MAX_ENTRIES {
            return Err(HeaderError(format!("header claims {il} index entries")));
        }
        if dl > MAX_DATA {
            return Err(HeaderError(format!("header claims {dl} bytes of data")));
        }
        let data_start = 8 + il * 16;
        let data = blob.get(data_start..data_start + dl).ok_or_else(|| {
            HeaderError(format!(
                "header truncated: {il} entries and {dl} data bytes need {} bytes, blob has {}",
                data_start + dl,
                blob.len()
            ))
        })?;
        let index = blob.get(8..data_start).unwrap_or_default();
        let mut wanted: Vec<(u32, Entry)> = Vec::new();
        for raw in index.chunks_exact(16) {
            let field = |i: usize| be32(raw, i * 4).unwrap_or(0);
            let tag = field(0);
            if !matches!(
                tag,
                TAG_NAME
                    | TAG_VERSION
                    | TAG_RELEASE
                    | TAG_EPOCH
                    | TAG_VENDOR
                    | TAG_LICENSE
                    | TAG_ARCH
                    | TAG_OLDFILENAMES
                    | TAG_SOURCERPM
                    | TAG_DIRINDEXES
                    | TAG_BASENAMES
                    | TAG_DIRNAMES
            ) {
                continue;
            }
            let entry = Entry {
                kind: field(1),
                offset: field(2) as usize,
                count: field(3) as usize,
            };
            if entry.offset >= data.len() || entry.count == 0 || entry.count > data.len() {
                return Err(HeaderError(format!(
                    "tag {tag}: offset {} and count {} do not fit {} bytes of data",
                    entry.offset,
                    entry.count,
                    data.len()
                )));
            }
            match wanted.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, e)) => *e = entry,
                None => wanted.push((tag, entry)),
            }
        }
        Ok(Header { data, wanted })
    }

    fn entry(&self, tag: u32) -> Option<Entry> {
        self.wanted.iter().find(|(t, _)| *t == tag).map(|(_, e)| *e)
    }

    /// `count` NUL-terminated strings starting at `offset`.
    fn strings(&self, tag: u32, e: Entry) -> Result<Vec<&'a [u8]>, HeaderError> {
        let mut out = Vec::with_capacity(e.count.min(4096));
        let mut rest = self.data.get(e.offset..).unwrap_or_default();
        for i in 0..e.count {
            let Some(end) = memchr::memchr(0, rest) else {
                return Err(HeaderError(format!(
                    "tag {tag}: string {i} of {} runs past the data store",
                    e.count
                )));
            };
            out.push(rest.get(..end).unwrap_or_default());
            rest = rest.get(end + 1..).unwrap_or_default();
        }
        Ok(out)
    }

    /// A string tag (the first string of an array or of an i18n table).
    fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        match e.kind {
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
                let first = Entry { count: 1, ..e };
                let s = self.strings(tag, first)?;
                Ok(s.first()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .filter(|s| !s.is_empty()))
            }
            kind => Err(HeaderError(format!("tag {tag}: type {kind}, not a string"))),
        }
    }

    fn int32s(&self, tag: u32, e: Entry) -> Result<Vec<u32>, HeaderError> {
        if e.kind != TYPE_INT32 {
            return Err(HeaderError(format!(
                "tag {tag}: type {}, not an int32",
                e.kind
            )));
        }
        let bytes = e
            .count
            .checked_mul(4)
            .and_then(|n| self.data.get(e.offset..e.offset.checked_add(n)?))
            .ok_or_else(|| {
                HeaderError(format!(
                    "tag {tag}: {} int32 values run past the data store",
                    e.count
                ))
            })?;
        Ok((0..e.count).filter_map(|i| be32(bytes, i * 4)).collect())
    }

    fn int32(&self, tag: u32) -> Result<Option<u32>, HeaderError> {
        match self.entry(tag) {
            Some(e) => Ok(self.int32s(tag, Entry { count: 1, ..e })?.first().copied()),
            None => Ok(None),
        }
    }

    fn string_array(&self, tag: u32) -> Result<Option<Vec<&'a [u8]>>, HeaderError> {
        match self.entry(tag) {
            Some(e) if e.kind == TYPE_STRING_ARRAY => self.strings(tag, e).map(Some),
            Some(e) => Err(HeaderError(format!(
                "tag {tag}: type {}, not a string array",
                e.kind
            ))),
            None => Ok(None),
        }
    }

    /// The installed paths, appended to `out`; on error `out` keeps what was read.
    fn files(&self, out: &mut Vec<String>) -> Result<(), HeaderError> {
        let mut budget = MAX_PATH_BYTES;
        let mut push = |out: &mut Vec<String>, dir: &[u8], base: &[u8]| {
            let mut path = String::with_capacity(dir.len() + base.len() + 1);
            if !(if dir.is_empty() { base } else { dir }).starts_with(b"/") {
                path.push('/');
            }
            path.push_str(&String::from_utf8_lossy(dir));
            path.push_str(&String::from_utf8_lossy(base));
            if path.len() > MAX_PATH_LEN {
                return Err(HeaderError(format!(
                    "a path of {} bytes is longer than {MAX_PATH_LEN}",
                    path.len()
                )));
            }
            budget = budget.checked_sub(path.len()).ok_or_else(|| {
                HeaderError(format!("paths add up to more than {MAX_PATH_BYTES} bytes"))
            })?;
            out.push(path);
            Ok(())
        };
        let Some(bases) = self.string_array(TAG_BASENAMES)? else {
            for path in self.string_array(TAG_OLDFILENAMES)?.unwrap_or_default() {
                push(out, b"", path)?;
            }
            return Ok(());
        };
        let dirs = self.string_array(TAG_DIRNAMES)?.unwrap_or_default();
        let indexes = match self.entry(TAG_DIRINDEXES) {
            Some(e) => self.int32s(TAG_DIRINDEXES, e)?,
            None => Vec::new(),
        };
        if indexes.len() != bases.len() {
            return Err(HeaderError(format!(
                "{} base names but {} directory indexes",
                bases.len(),
                indexes.len()
            )));
        }
        let mut bad = 0usize;
        let mut first_bad = String::new();
        for (base, &i) in bases.iter().zip(&indexes) {
            match dirs.get(i as usize) {
                Some(dir) => push(out, dir, base)?,
                None => {
                    if bad == 0 {
                        let _ = write!(first_bad, "{i}");
                    }
                    bad += 1;
                }
            }
        }
        if bad > 0 {
            return Err(HeaderError(format!(
                "{bad} files point past the {} directory names (first: index {first_bad})",
                dirs.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tag value for [`blob`].
    pub(crate) enum Value<'a> {
        Str(&'a str),
        I18n(&'a str),
        Strs(&'a [&'a str]),
        Ints(&'a [u32]),
    }

    /// Builds a header blob from tags, the way rpm lays one out (ints aligned to 4).
    pub(crate) fn blob(tags: &[(u32, Value<'_>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, value) in tags {
            let (kind, count) = match value {
                Value::Str(_) => (TYPE_STRING, 1),
                Value::I18n(_) => (TYPE_I18NSTRING, 1),
                Value::Strs(s) => (TYPE_STRING_ARRAY, s.len()),
                Value::Ints(v) => {
                    while !data.len().is_multiple_of(4) {
                        data.push(0);
                    }
                    (TYPE_INT32, v.len())
                }
            };
            for n in [*tag, kind, data.len() as u32, count as u32] {
                index.extend_from_slice(&n.to_be_bytes());
            }
            match value {
                Value::Str(s) | Value::I18n(s) => {
                    data.extend_from_slice(s.as_bytes());
                    data.push(0);
                }
                Value::Strs(list) => {
                    for s in *list {
                        data.extend_from_slice(s.as_bytes());
                        data.push(0);
                    }
                }
                Value::Ints(v) => v
                    .iter()
                    .for_each(|n| data.extend_from_slice(&n.to_be_bytes())),
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }

    /// A small complete package header.
    pub(crate) fn sample(name: &str) -> Vec<u8> {
        blob(&[
            (TAG_NAME, Value::Str(name)),
            (TAG_EPOCH, Value::Ints(&[1])),
            (TAG_VERSION, Value::Str("3.0.7")),
            (TAG_RELEASE, Value::Str("24.el9")),
            (TAG_ARCH, Value::Str("x86_64")),
            (TAG_LICENSE, Value::Str("Apache-2.0")),
            (TAG_VENDOR, Value::Str("Red Hat, Inc.")),
            (TAG_SOURCERPM, Value::Str("openssl-3.0.7-24.el9.src.rpm")),
            (TAG_DIRINDEXES, Value::Ints(&[0, 1, 1])),
            (
                TAG_BASENAMES,
                Value::Strs(&["openssl", "libssl.so.3", "libcrypto.so.3"]),
            ),
            (TAG_DIRNAMES, Value::Strs(&["/usr/bin/", "/usr/lib64/"])),
        ])
    }

    /// A header of more than 1200 bytes (its license is long).
    pub(crate) fn long(name: &str) -> Vec<u8> {
        let license = "MIT OR ".repeat(180) + "MIT";
        blob(&[
            (TAG_NAME, Value::Str(name)),
            (TAG_VERSION, Value::Str("1")),
            (TAG_RELEASE, Value::Str("1")),
            (TAG_LICENSE, Value::Str(&license)),
        ])
    }

    #[test]
    fn reads_the_tags_and_the_file_list() {
        let h = parse_header_blob(&sample("openssl-libs")).unwrap();
        assert_eq!(h.name, "openssl-libs");
        assert_eq!(h.epoch, Some(1));
        assert_eq!(
            (h.version.as_str(), h.release.as_str()),
            ("3.0.7", "24.el9")
        );
        assert_eq!(h.arch.as_deref(), Some("x86_64"));
        assert_eq!(h.license.as_deref(), Some("Apache-2.0"));
        assert_eq!(h.vendor.as_deref(), Some("Red Hat, Inc."));
        assert_eq!(
            h.source_rpm.as_deref(),
            Some("openssl-3.0.7-24.el9.src.rpm")
        );
        assert_eq!(
            h.files,
            [
                "/usr/bin/openssl",
                "/usr/lib64/libssl.so.3",
                "/usr/lib64/libcrypto.so.3"
            ]
        );
        assert!(h.problems.is_empty());
    }

    #[test]
    fn old_file_names_and_i18n_strings_and_later_entries_winning() {
        let h = parse_header_blob(&blob(&[
            (TAG_NAME, Value::I18n("old")),
            (TAG_VERSION, Value::Str("1")),
            (TAG_RELEASE, Value::Str("1")),
            (TAG_RELEASE, Value::Str("2")),
            (TAG_OLDFILENAMES, Value::Strs(&["/etc/old.conf", "bin/rel"])),
        ]))
        .unwrap();
        assert_eq!((h.name.as_str(), h.release.as_str()), ("old", "2"));
        assert_eq!(h.epoch, None);
        assert_eq!(h.files, ["/etc/old.conf", "/bin/rel"]);
    }

    #[test]
    fn bad_file_lists_are_problems_not_errors() {
        let h = parse_header_blob(&blob(&[
            (TAG_NAME, Value::Str("x")),
            (TAG_VERSION, Value::Str("1")),
            (TAG_RELEASE, Value::Str("1")),
            (TAG_DIRINDEXES, Value::Ints(&[0, 7])),
            (TAG_BASENAMES, Value::Strs(&["a", "b"])),
            (TAG_DIRNAMES, Value::Strs(&["/d/"])),
        ]))
        .unwrap();
        assert_eq!(h.files, ["/d/a"]);
        assert_eq!(h.problems.len(), 1, "{:?}", h.problems);
        assert!(h.problems[0].contains("index 7"), "{:?}", h.problems);
    }

    #[test]
    fn path_blowup_is_capped() {
        let dir = format!("/{}/", "d".repeat(4000));
        let indexes = vec![0u32; 20_000];
        let bases = vec!["f"; 20_000];
        let h = parse_header_blob(&blob(&[
            (TAG_NAME, Value::Str("x")),
            (TAG_VERSION, Value::Str("1")),
            (TAG_RELEASE, Value::Str("1")),
            (TAG_DIRINDEXES, Value::Ints(&indexes)),
            (TAG_BASENAMES, Value::Strs(&bases)),
            (TAG_DIRNAMES, Value::Strs(&[dir.as_str()])),
        ]))
        .unwrap();
        assert!(h.files.len() < 20_000);
        assert!(h.problems[0].contains("more than"), "{:?}", h.problems);
    }

    #[test]
    fn hostile_blobs_are_errors() {
        let good = sample("p");
        // Every truncation fails cleanly.
        for n in 0..good.len() {
            assert!(parse_header_blob(&good[..n]).is_err(), "prefix {n}");
        }
        // Huge counts and offsets.
        let mut huge = good.clone();
        huge[0..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert!(parse_header_blob(&huge).is_err());
        let mut far = good.clone();
        far[8 + 8..8 + 12].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(
            parse_header_blob(&far)
                .unwrap_err()
                .0
                .contains("do not fit")
        );
        let mut count = good.clone();
        count[8 + 12..8 + 16].copy_from_slice(&0xffff_ffffu32.to_be_bytes());
        assert!(parse_header_blob(&count).is_err());
        // A string that never ends.
        let mut open = blob(&[(TAG_NAME, Value::Str("x"))]);
        let last = open.len() - 1;
        open[last] = b'x';
        assert!(parse_header_blob(&open).unwrap_err().0.contains("past"));
        // Wrong types.
        let wrong = blob(&[(TAG_NAME, Value::Ints(&[1]))]);
        assert!(
            parse_header_blob(&wrong)
                .unwrap_err()
                .0
                .contains("not a string")
        );
        assert!(parse_header_blob(&blob(&[(TAG_VERSION, Value::Str("1"))])).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let good = sample("p");
        for round in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = good.clone();
            // Flip a few bytes of a real blob, or use pure noise.
            if round % 4 == 0 {
                bytes.iter_mut().for_each(|b| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    *b = (state >> 56) as u8;
                });
            } else {
                for k in 0..(1 + round % 5) {
                    let at = ((state >> (k * 8)) as usize) % bytes.len();
                    bytes[at] ^= (state >> 40) as u8 | 1;
                }
            }
            let _ = parse_header_blob(&bytes);
        }
    }
}
