//! `Packages` as Berkeley DB wrote it (rpm before 4.16): a hash database whose keys are
//! package numbers and whose values are header blobs.
//!
//! Written by hand: no maintained Rust crate reads Berkeley DB files (the bindings wrap
//! libdb, which is neither wanted in-process on hostile input nor available everywhere),
//! and rpm needs only a sliver of the format: like rpm's own `bdb_ro` backend and
//! go-rpmdb, we read the metadata page, then every hash page in file order, taking each
//! key/value pair's value either inline or from its chain of overflow pages.
//!
//! Layout (Berkeley DB 4.x–5.x, `dbinc/db_page.h`), in the byte order the metadata
//! page's magic reveals:
//! - page 0, metadata: magic at 12, version at 16, page size at 20, encryption at 24,
//!   page type at 25, meta flags at 26 (bit 0: page checksums), last page at 32;
//! - every page: number at 8, next page at 16, entry count at 20, `hf_offset` at 22
//!   (on overflow pages: the bytes of data on the page), type at 25; 26 bytes long, 32
//!   with checksums; hash pages then hold a `u16` offset per item, items packed from the
//!   end of the page in index order, keys and values alternating;
//! - item, first byte its kind: 1 = inline data, 3 = off-page (`pgno` at 4, total length
//!   at 8), whose data sits in overflow pages chained through "next page".
//!
//! Every page number and offset is checked against the file, and each overflow page may
//! be used once only, which stops cycles and chains that share pages (so the work stays
//! linear in the file size).

use super::{Collector, MAX_HEADER_BYTES};
use crate::analyzer::AnalyzeError;
use std::ops::ControlFlow;

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const PAGE_HEADER: usize = 26;
/// Extra header bytes when pages carry checksums (2 unused bytes and the checksum).
const CHECKSUM_BYTES: usize = 6;

/// True if the bytes start like a Berkeley DB file (hash or btree, either byte order).
pub(super) fn is_bdb(content: &[u8]) -> bool {
    let magic = |big| read_u32(content, 12, big);
    [false, true]
        .iter()
        .any(|&big| matches!(magic(big), Some(HASH_MAGIC | BTREE_MAGIC)))
}

fn read_u32(bytes: &[u8], at: usize, big: bool) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn read_u16(bytes: &[u8], at: usize, big: bool) -> Option<u16> {
    let b: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// The database as a sequence of pages.
struct Db<'a> {
    content: &'a [u8],
    big: bool,
    page_size: usize,
    /// Bytes before a hash page's index (or an overflow page's data).
    header: usize,
    /// Pages present in the file (the last may be cut short and is then not counted).
    pages: u32,
    /// Overflow pages already read.
    used: Vec<bool>,
}

impl<'a> Db<'a> {
    fn page(&self, pgno: u32) -> Option<&'a [u8]> {
        let start = (pgno as usize).checked_mul(self.page_size)?;
        self.content.get(start..start.checked_add(self.page_size)?)
    }

    fn u32(&self, page: &[u8], at: usize) -> u32 {
        read_u32(page, at, self.big).unwrap_or(0)
    }

    fn u16(&self, page: &[u8], at: usize) -> usize {
        usize::from(read_u16(page, at, self.big).unwrap_or(0))
    }

    /// Reads an off-page item's data by following its overflow chain.
    fn overflow(&mut self, first: u32, total: u32) -> Result<Vec<u8>, String> {
        let total = total as usize;
        if total > MAX_HEADER_BYTES {
            return Err(format!(
                "value of {total} bytes is larger than {MAX_HEADER_BYTES}"
            ));
        }
        if total > self.content.len() {
            return Err(format!(
                "value of {total} bytes is larger than the file ({} bytes)",
                self.content.len()
            ));
        }
        let mut out = Vec::with_capacity(total);
        let mut pgno = first;
        while pgno != 0 {
            let page = self
                .page(pgno)
                .filter(|_| pgno < self.pages)
                .ok_or_else(|| format!("overflow page {pgno} is past the end of the file"))?;
            match self.used.get_mut(pgno as usize) {
                Some(used) if !*used => *used = true,
                _ => {
                    return Err(format!(
                        "overflow page {pgno} is reached twice (a cycle or a shared chain)"
                    ));
                }
            }
            if page.get(25) != Some(&P_OVERFLOW) {
                return Err(format!("page {pgno} is not an overflow page"));
            }
            let len = self.u16(page, 22);
            let data = page
                .get(self.header..self.header + len)
                .ok_or_else(|| format!("overflow page {pgno} claims {len} bytes"))?;
            if out.len() + data.len() > total {
                return Err(format!(
                    "overflow chain from page {first} holds more than its {total} bytes"
                ));
            }
            out.extend_from_slice(data);
            pgno = self.u32(page, 16);
        }
        if out.len() != total {
            return Err(format!(
                "overflow chain from page {first} holds {} of its {total} bytes",
                out.len()
            ));
        }
        Ok(out)
    }
}

pub(super) fn read(content: &[u8], out: &mut Collector) -> Result<(), AnalyzeError> {
    let fail = |m: String| AnalyzeError::new(format!("Berkeley DB Packages: {m}"));
    let big = match (read_u32(content, 12, false), read_u32(content, 12, true)) {
        (Some(HASH_MAGIC), _) => false,
        (_, Some(HASH_MAGIC)) => true,
        _ => {
            return Err(fail(
                "a btree database, not the hash database rpm writes".into(),
            ));
        }
    };
    let version = read_u32(content, 16, big).unwrap_or(0);
    let page_size = read_u32(content, 20, big).unwrap_or(0) as usize;
    let (encrypted, kind, flags) = (content.get(24), content.get(25), content.get(26));
    let last_pgno = read_u32(content, 32, big).unwrap_or(0);
    if !(8..=10).contains(&version) {
        return Err(fail(format!("hash version {version} is not supported")));
    }
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(fail(format!("page size {page_size} is not valid")));
    }
    if encrypted != Some(&0) {
        return Err(fail("the database is encrypted".into()));
    }
    if kind != Some(&P_HASHMETA) {
        return Err(fail(format!("page 0 has type {kind:?}, not hash metadata")));
    }
    let header = PAGE_HEADER
        + if flags.is_some_and(|f| f & 1 != 0) {
            CHECKSUM_BYTES
        } else {
            0
        };
    let in_file = u32::try_from(content.len() / page_size).unwrap_or(u32::MAX);
    let pages = last_pgno.saturating_add(1).min(in_file);
    if last_pgno >= in_file {
        out.warn(format!(
            "Berkeley DB Packages: truncated: {} pages expected, {in_file} present",
            u64::from(last_pgno) + 1
        ));
    }
    let mut db = Db {
        content,
        big,
        page_size,
        header,
        pages,
        used: vec![false; pages as usize],
    };
    for pgno in 1..pages {
        let Some(page) = db.page(pgno) else { break };
        if !matches!(page.get(25), Some(&P_HASH | &P_HASH_UNSORTED)) {
            continue;
        }
        if hash_page(&mut db, pgno, page, out).is_break() {
            break;
        }
    }
    Ok(())
}

/// Reads the key/value pairs of one hash page.
fn hash_page(db: &mut Db<'_>, pgno: u32, page: &[u8], out: &mut Collector) -> ControlFlow<()> {
    let entries = db.u16(page, 20);
    let index_end = db.header + 2 * entries;
    if index_end > page.len() {
        out.warn(format!(
            "page {pgno}: {entries} entries do not fit the page; skipped"
        ));
        return ControlFlow::Continue(());
    }
    if !entries.is_multiple_of(2) {
        out.warn(format!(
            "page {pgno}: odd number of entries ({entries}); the last is ignored"
        ));
    }
    // Item `i` runs from its offset to the previous item's (or the page's end).
    let (big, header) = (db.big, db.header);
    let offset = |i: usize| usize::from(read_u16(page, header + 2 * i, big).unwrap_or(0));
    let item = |i: usize| -> Option<&[u8]> {
        let start = offset(i);
        let end = if i == 0 { page.len() } else { offset(i - 1) };
        if start < index_end || start >= end {
            return None;
        }
        page.get(start..end)
    };
    for pair in 0..entries / 2 {
        let place = format!("page {pgno} item {}", 2 * pair + 1);
        let (Some(key), Some(value)) = (item(2 * pair), item(2 * pair + 1)) else {
            out.warn(format!("{place}: offsets out of bounds; skipped"));
            continue;
        };
        // rpm keeps its next package number under key 0; it is no package.
        let number = match key {
            [H_KEYDATA, rest @ ..] if rest.len() == 4 => read_u32(rest, 0, db.big),
            _ => None,
        };
        if number == Some(0) {
            continue;
        }
        let place = match number {
            Some(n) => format!("package {n}"),
            None => place,
        };
        let flow = match value.first() {
            Some(&H_KEYDATA) => out.header(&place, value.get(1..).unwrap_or_default()),
            Some(&H_OFFPAGE) => {
                let first = read_u32(value, 4, db.big).unwrap_or(0);
                let total = read_u32(value, 8, db.big).unwrap_or(0);
                match db.overflow(first, total) {
                    Ok(blob) => out.header(&place, &blob),
                    Err(e) => {
                        out.warn(format!("{place}: {e}; skipped"));
                        ControlFlow::Continue(())
                    }
                }
            }
            other => {
                out.warn(format!(
                    "{place}: item kind {other:?} is not a stored value; skipped"
                ));
                ControlFlow::Continue(())
            }
        };
        flow?;
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::super::header::tests::{long, sample};
    use super::*;

    /// A little-endian hash database: metadata, one hash page, overflow pages.
    /// `values[i]` goes inline when short, else off-page starting at page 2.
    fn database(page_size: usize, values: &[Vec<u8>]) -> Vec<u8> {
        let mut pages: Vec<Vec<u8>> = vec![vec![0; page_size], vec![0; page_size]];
        let mut items: Vec<Vec<u8>> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut key = vec![H_KEYDATA];
            key.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            items.push(key);
            if v.len() + 1 < page_size / 4 {
                let mut item = vec![H_KEYDATA];
                item.extend_from_slice(v);
                items.push(item);
            } else {
                let first = pages.len() as u32;
                let room = page_size - PAGE_HEADER;
                let chunks: Vec<_> = v.chunks(room).collect();
                for (c, chunk) in chunks.iter().enumerate() {
                    let mut p = vec![0; page_size];
                    let no = pages.len() as u32;
                    p[8..12].copy_from_slice(&no.to_le_bytes());
                    if c + 1 < chunks.len() {
                        p[16..20].copy_from_slice(&(no + 1).to_le_bytes());
                    }
                    p[22..24].copy_from_slice(&(chunk.len() as u16).to_le_bytes());
                    p[25] = P_OVERFLOW;
                    p[PAGE_HEADER..PAGE_HEADER + chunk.len()].copy_from_slice(chunk);
                    pages.push(p);
                }
                let mut item = vec![H_OFFPAGE, 0, 0, 0];
                item.extend_from_slice(&first.to_le_bytes());
                item.extend_from_slice(&(v.len() as u32).to_le_bytes());
                items.push(item);
            }
        }
        let hash = &mut pages[1];
        hash[20..22].copy_from_slice(&(items.len() as u16).to_le_bytes());
        hash[25] = P_HASH;
        let mut end = page_size;
        for (i, item) in items.iter().enumerate() {
            let start = end - item.len();
            hash[start..end].copy_from_slice(item);
            hash[PAGE_HEADER + 2 * i..PAGE_HEADER + 2 * i + 2]
                .copy_from_slice(&(start as u16).to_le_bytes());
            end = start;
        }
        let last = pages.len() as u32 - 1;
        let meta = &mut pages[0];
        meta[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        meta[16..20].copy_from_slice(&9u32.to_le_bytes());
        meta[20..24].copy_from_slice(&(page_size as u32).to_le_bytes());
        meta[25] = P_HASHMETA;
        meta[32..36].copy_from_slice(&last.to_le_bytes());
        pages.concat()
    }

    fn run(db: &[u8]) -> Result<crate::analyzer::Found, AnalyzeError> {
        let mut c = Collector::new(db.len());
        read(db, &mut c)?;
        Ok(c.finish())
    }

    fn names(found: &crate::analyzer::Found) -> Vec<&str> {
        found.packages.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn inline_and_overflow_values() {
        let big = sample("big");
        let small = super::super::header::tests::blob(&[
            (1000, super::super::header::tests::Value::Str("s")),
            (1001, super::super::header::tests::Value::Str("1")),
            (1002, super::super::header::tests::Value::Str("1")),
        ]);
        let db = database(512, &[big, small, long("l")]);
        let found = run(&db).unwrap();
        assert_eq!(names(&found), ["big", "s", "l"]);
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    #[test]
    fn overflow_cycles_and_wild_pages_are_caught() {
        let db = database(512, &[long("a")]);
        assert_eq!(names(&run(&db).unwrap()), ["a"]);
        // Page 3's "next" points back to page 2.
        let mut cycle = db.clone();
        cycle[3 * 512 + 16..3 * 512 + 20].copy_from_slice(&2u32.to_le_bytes());
        let found = run(&cycle).unwrap();
        assert!(found.packages.is_empty());
        assert!(
            found.warnings[0].contains("twice") || found.warnings[0].contains("more than"),
            "{:?}",
            found.warnings
        );
        // A page that points at itself with no data.
        let mut selfloop = db.clone();
        selfloop[2 * 512 + 16..2 * 512 + 20].copy_from_slice(&2u32.to_le_bytes());
        selfloop[2 * 512 + 22..2 * 512 + 24].copy_from_slice(&0u16.to_le_bytes());
        let found = run(&selfloop).unwrap();
        assert!(found.warnings[0].contains("twice"), "{:?}", found.warnings);
        // A chain that leaves the file.
        let mut wild = db.clone();
        wild[2 * 512 + 16..2 * 512 + 20].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let found = run(&wild).unwrap();
        assert!(
            found.warnings[0].contains("past the end"),
            "{:?}",
            found.warnings
        );
        // A huge claimed length.
        let mut huge = db.clone();
        let hash = &huge[512..1024];
        let off = u16::from_le_bytes([hash[PAGE_HEADER + 2], hash[PAGE_HEADER + 3]]) as usize;
        huge[512 + off + 8..512 + off + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let found = run(&huge).unwrap();
        assert!(found.warnings[0].contains("larger"), "{:?}", found.warnings);
        // Index offsets outside the page.
        let mut offsets = db.clone();
        offsets[512 + PAGE_HEADER..512 + PAGE_HEADER + 2].copy_from_slice(&9999u16.to_le_bytes());
        let found = run(&offsets).unwrap();
        assert!(
            found.warnings[0].contains("out of bounds"),
            "{:?}",
            found.warnings
        );
        // Too many entries.
        let mut entries = db.clone();
        entries[512 + 20..512 + 22].copy_from_slice(&60000u16.to_le_bytes());
        let found = run(&entries).unwrap();
        assert!(
            found.warnings[0].contains("do not fit"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn bad_metadata_and_truncation() {
        let db = database(512, &[sample("a"), sample("b")]);
        for cut in (0..db.len()).step_by(97) {
            let r = run(&db[..cut]);
            if let Ok(found) = r {
                assert!(
                    found.packages.len() < 2 && !found.warnings.is_empty(),
                    "cut {cut}"
                );
            }
        }
        let mut size = db.clone();
        size[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(run(&size).unwrap_err().0.contains("page size"));
        let mut enc = db.clone();
        enc[24] = 1;
        assert!(run(&enc).unwrap_err().0.contains("encrypted"));
        let mut btree = db.clone();
        btree[12..16].copy_from_slice(&BTREE_MAGIC.to_le_bytes());
        assert!(is_bdb(&btree));
        assert!(run(&btree).unwrap_err().0.contains("btree"));
        // A last page number far past the file is a warning, not an allocation.
        let mut last = db.clone();
        last[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let found = run(&last).unwrap();
        assert_eq!(names(&found), ["a", "b"]);
        assert!(
            found.warnings[0].contains("truncated"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn random_damage_never_panics() {
        let db = database(512, &[sample("a"), sample("b"), sample("c")]);
        let mut state = 99u64;
        for _ in 0..3000 {
            let mut bad = db.clone();
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (state >> 33) as usize % bad.len();
                bad[at] = (state >> 20) as u8;
            }
            let _ = run(&bad);
        }
    }
}
