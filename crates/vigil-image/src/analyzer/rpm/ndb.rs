//! `Packages.db`: rpm's own "ndb" package store (SUSE and openSUSE since 2020).
//!
//! Written by hand after rpm's `lib/backend/ndb/rpmpkg.c`; no crate reads it. All numbers
//! are little-endian:
//! - a 32-byte header at the start of the first 4096-byte slot page: `"RpmP"`, format
//!   version 0, generation, number of slot pages, next package index;
//! - slot pages: 16-byte slots `"Slot"`, package index, block offset, block count (the
//!   first two slots of page 0 are the header; offset 0 marks a free slot);
//! - blobs in 16-byte blocks after the slot pages: `"BlbS"`, package index, timestamp,
//!   length, the header blob, zero padding, then Adler-32 of everything before it, the
//!   length again, `"BlbE"`.
//!
//! Each slot is checked against the file, slots are sorted by offset and overlapping
//! ones refused (rpm refuses them too), so every byte is read at most once.

use super::Collector;
use crate::analyzer::AnalyzeError;

/// The header's magic, `'R' | 'p' << 8 | 'm' << 16 | 'P' << 24`.
pub(super) const MAGIC: &[u8] = b"RpmP";
const SLOT_MAGIC: &[u8] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8] = b"BlbE";
const PAGE: usize = 4096;
const SLOT: usize = 16;
const BLOCK: usize = 16;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Adler-32 (RFC 1950), which ndb keeps in each blob's tail. Ten lines; not worth a crate.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before `b` could overflow a u32.
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// One used slot.
#[derive(Debug, Clone, Copy)]
struct Slot {
    number: usize,
    pkgidx: u32,
    blkoff: u32,
    blkcnt: u32,
}

pub(super) fn read(content: &[u8], out: &mut Collector) -> Result<(), AnalyzeError> {
    let fail = |m: String| AnalyzeError::new(format!("ndb Packages.db: {m}"));
    let version = le32(content, 4).ok_or_else(|| fail("truncated header".into()))?;
    if version != 0 {
        return Err(fail(format!("format version {version} is not supported")));
    }
    let slot_pages = le32(content, 12).unwrap_or(0) as usize;
    if slot_pages == 0 {
        return Err(fail("no slot pages".into()));
    }
    let present = content.len() / PAGE;
    if slot_pages > present {
        out.warn(format!(
            "ndb Packages.db: truncated: {slot_pages} slot pages expected, {present} present"
        ));
    }
    let first_blob_block = slot_pages.saturating_mul(PAGE / BLOCK);
    let file_blocks = content.len() / BLOCK;
    let slot_area = content
        .get(..slot_pages.min(present) * PAGE)
        .unwrap_or_default();
    let mut slots: Vec<Slot> = Vec::new();
    let mut bad_magic = 0usize;
    // The first two slots hold the header.
    for (number, raw) in slot_area.chunks_exact(SLOT).enumerate().skip(2) {
        if raw.get(..4) != Some(SLOT_MAGIC) {
            bad_magic += 1;
            continue;
        }
        let field = |i: usize| le32(raw, i * 4).unwrap_or(0);
        let slot = Slot {
            number,
            pkgidx: field(1),
            blkoff: field(2),
            blkcnt: field(3),
        };
        if slot.blkoff == 0 {
            continue; // free
        }
        let end = slot.blkoff as usize + slot.blkcnt as usize;
        if slot.pkgidx == 0 || slot.blkcnt == 0 || (slot.blkoff as usize) < first_blob_block {
            out.warn(format!(
                "slot {number}: package {}, blocks {}+{} are not valid; skipped",
                slot.pkgidx, slot.blkoff, slot.blkcnt
            ));
        } else if end > file_blocks {
            out.warn(format!(
                "package {}: blob past the end of the file (truncated?); skipped",
                slot.pkgidx
            ));
        } else {
            slots.push(slot);
        }
    }
    if bad_magic > 0 {
        out.warn(format!(
            "ndb Packages.db: {bad_magic} slots without slot magic; skipped"
        ));
    }
    slots.sort_by_key(|s| s.blkoff);
    let mut done_to = 0usize;
    for slot in slots {
        let place = format!("package {}", slot.pkgidx);
        let start = slot.blkoff as usize;
        if start < done_to {
            out.warn(format!(
                "{place}: slot {} overlaps the previous blob; skipped",
                slot.number
            ));
            continue;
        }
        done_to = start + slot.blkcnt as usize;
        let area = content
            .get(start * BLOCK..done_to * BLOCK)
            .unwrap_or_default();
        match blob(area, slot.pkgidx) {
            Ok(blob) => {
                if out.header(&place, blob).is_break() {
                    break;
                }
            }
            Err(e) => out.warn(format!("{place}: {e}; skipped")),
        }
    }
    Ok(())
}

/// The header blob inside one slot's blocks, after checking head, tail and checksum.
fn blob(area: &[u8], pkgidx: u32) -> Result<&[u8], String> {
    if area.get(..4) != Some(BLOB_HEAD_MAGIC) {
        return Err("no blob magic where the slot points".into());
    }
    if le32(area, 4) != Some(pkgidx) {
        return Err(format!(
            "blob belongs to package {}",
            le32(area, 4).unwrap_or(0)
        ));
    }
    let len = le32(area, 12).unwrap_or(0) as usize;
    let blocks = (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK);
    if blocks * BLOCK != area.len() {
        return Err(format!(
            "blob of {len} bytes does not fill its {} blocks",
            area.len() / BLOCK
        ));
    }
    let tail_at = area.len() - BLOB_TAIL;
    let (body, tail) = area.split_at(tail_at);
    if tail.get(8..12) != Some(BLOB_TAIL_MAGIC) || le32(tail, 4) != Some(len as u32) {
        return Err("blob tail is damaged".into());
    }
    if le32(tail, 0) != Some(adler32(body)) {
        return Err("blob checksum does not match".into());
    }
    body.get(BLOB_HEAD..BLOB_HEAD + len)
        .ok_or_else(|| "blob length out of bounds".into())
}

#[cfg(test)]
mod tests {
    use super::super::header::tests::sample;
    use super::*;

    /// An ndb file with one slot page and the given (package index, blob) pairs.
    fn database(blobs: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..PAGE / SLOT {
            out.extend_from_slice(SLOT_MAGIC);
            out.extend_from_slice(&[0; 12]);
        }
        let mut blkoff = PAGE / BLOCK;
        for (i, (idx, blob)) in blobs.iter().enumerate() {
            let blkcnt = (BLOB_HEAD + blob.len() + BLOB_TAIL).div_ceil(BLOCK);
            let mut body = Vec::new();
            body.extend_from_slice(BLOB_HEAD_MAGIC);
            body.extend_from_slice(&idx.to_le_bytes());
            body.extend_from_slice(&0u32.to_le_bytes());
            body.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            body.extend_from_slice(blob);
            body.resize(blkcnt * BLOCK - BLOB_TAIL, 0);
            let sum = adler32(&body);
            out.extend_from_slice(&body);
            out.extend_from_slice(&sum.to_le_bytes());
            out.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            out.extend_from_slice(BLOB_TAIL_MAGIC);
            let at = (2 + i) * SLOT;
            for (k, n) in [*idx, blkoff as u32, blkcnt as u32].iter().enumerate() {
                out[at + 4 + 4 * k..at + 8 + 4 * k].copy_from_slice(&n.to_le_bytes());
            }
            blkoff += blkcnt;
        }
        out[0..4].copy_from_slice(MAGIC);
        out[4..20].copy_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0]);
        out[20..32].fill(0);
        out
    }

    fn run(db: &[u8]) -> Result<crate::analyzer::Found, AnalyzeError> {
        let mut c = Collector::new(db.len());
        read(db, &mut c)?;
        Ok(c.finish())
    }

    #[test]
    fn adler32_matches_zlib() {
        // Values from zlib's adler32().
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let big = vec![0xffu8; 100_000];
        let mut a = 1u64;
        let mut b = 0u64;
        for &x in &big {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }

    #[test]
    fn reads_blobs() {
        let db = database(&[(1, sample("a")), (7, sample("b"))]);
        let found = run(&db).unwrap();
        let names: Vec<_> = found.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    #[test]
    fn damage_is_reported() {
        let db = database(&[(1, sample("a")), (2, sample("b"))]);
        // A flipped byte inside blob 1 fails its checksum; blob 2 is still read.
        let mut flipped = db.clone();
        flipped[PAGE + 40] ^= 0x55;
        let found = run(&flipped).unwrap();
        assert_eq!(found.packages.len(), 1);
        assert!(
            found.warnings[0].contains("checksum"),
            "{:?}",
            found.warnings
        );
        // Slot 3 pointed at slot 2's blob: overlap.
        let mut overlap = db.clone();
        let (a, b) = (2 * SLOT, 3 * SLOT);
        let first: Vec<u8> = overlap[a + 8..a + 16].to_vec();
        overlap[b + 8..b + 16].copy_from_slice(&first);
        let found = run(&overlap).unwrap();
        assert!(
            found.warnings.iter().any(|w| w.contains("overlaps")),
            "{:?}",
            found.warnings
        );
        // A slot past the end, a slot inside the slot page, a bad magic.
        let mut wild = db.clone();
        wild[2 * SLOT + 8..2 * SLOT + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        wild[3 * SLOT + 8..3 * SLOT + 12].copy_from_slice(&3u32.to_le_bytes());
        wild[4 * SLOT..4 * SLOT + 4].copy_from_slice(b"Nope");
        let found = run(&wild).unwrap();
        assert!(found.packages.is_empty());
        assert_eq!(found.warnings.len(), 3, "{:?}", found.warnings);
        // Huge slot page count.
        let mut pages = db.clone();
        pages[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let found = run(&pages).unwrap();
        assert!(
            found.warnings[0].contains("truncated"),
            "{:?}",
            found.warnings
        );
        // Unknown version.
        let mut version = db.clone();
        version[4] = 1;
        assert!(run(&version).is_err());
        // Every truncation.
        for cut in (4..db.len()).step_by(13) {
            if let Ok(found) = run(&db[..cut]) {
                assert!(
                    found.packages.len() < 2 || cut >= db.len() - 15,
                    "cut {cut}"
                );
            }
        }
    }

    #[test]
    fn random_damage_never_panics() {
        let db = database(&[(1, sample("a")), (2, sample("b")), (3, sample("c"))]);
        let mut state = 5u64;
        for _ in 0..3000 {
            let mut bad = db.clone();
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Mostly hit the slots and blob heads, where the structure is.
                let span = if state & 1 == 0 { 128 } else { bad.len() };
                let at = (state >> 33) as usize % span;
                bad[at] = (state >> 20) as u8;
            }
            let _ = run(&bad);
        }
    }
}
