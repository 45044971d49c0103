//! Just enough ELF for the binary analyzers (Go build info, `cargo auditable` data): the
//! file header, the loadable segments and one named section.
//!
//! Read with the `object` crate's low-level ELF API, which checks every offset and size
//! against the file and allocates nothing sized by the input. It reads through `ReadRef`:
//! a whole file in memory (a layer's tar entry) or a file on disk read by offset
//! ([`super::FileRanges`]), where only the headers and the few ranges looked at are read. The high-level
//! `object::File` would also parse symbol and relocation tables, which these analyzers
//! never use and which would make a binary with a damaged symbol table unreadable.

use super::FileInfo;
use object::Endianness;
use object::elf;
use object::read::ReadRef;
use object::read::SectionIndex;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader, SectionTable};

/// The smallest possible ELF file: a 32-bit file header.
const MIN_ELF_BYTES: u64 = 52;
/// Most loadable segments kept; real executables have two to six.
const MAX_LOADS: usize = 64;

/// The `required()` rule both binary analyzers share: a regular file with an execute bit
/// (as Trivy's `IsExecutable`) big enough to hold an ELF header. No upper bound here: the
/// walk refuses files over `--max-file-size` with a warning naming them, so a large
/// executable is reported as not analyzed rather than skipped silently.
pub(crate) fn wants(file: &FileInfo<'_>) -> bool {
    file.is_executable() && file.size >= MIN_ELF_BYTES
}

/// The first bytes of every ELF file.
pub(crate) const MAGIC: &[u8] = b"\x7fELF";

/// True when the content starts with the ELF magic: scripts and other executables are
/// turned away before any parsing.
pub(crate) fn is_elf<'a, R: ReadRef<'a>>(data: R) -> bool {
    data.read_bytes_at(0, MAGIC.len() as u64)
        .is_ok_and(|head| head == MAGIC)
}

/// A `PT_LOAD` segment: where a range of the file is mapped in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Load {
    /// Virtual address of the segment's first byte.
    pub vaddr: u64,
    /// File offset of the segment's first byte.
    pub offset: u64,
    /// Bytes of the segment present in the file (the rest of `p_memsz` is zero-filled).
    pub filesz: u64,
    /// `p_flags` (`PF_X`, `PF_W`, `PF_R`).
    pub flags: u32,
}

/// What the section headers say about the section asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    /// The file has no section headers (removed by `sstrip` and similar tools).
    NoSections,
    /// The file has section headers, none with that name.
    Absent,
    /// The section, with its virtual address and file bytes (empty for `SHT_NOBITS`).
    Found { addr: u64, data: &'a [u8] },
    /// The section headers or the section's file range are damaged.
    Broken(String),
}

/// A parsed ELF file: its loadable segments and one looked-up section.
#[derive(Debug)]
pub(crate) struct Elf<'a, R: ReadRef<'a>> {
    data: R,
    /// The `PT_LOAD` segments (at most [`MAX_LOADS`]), or why they could not be read.
    pub loads: Result<Vec<Load>, String>,
    /// The section asked for.
    pub section: Lookup<'a>,
}

impl<'a, R: ReadRef<'a>> Elf<'a, R> {
    /// Parses the headers of `data` and looks up the section called `section`. Fails only
    /// when the file header itself is unreadable; damaged program or section headers are
    /// recorded in [`Elf::loads`] and [`Elf::section`].
    pub(crate) fn parse(data: R, section: &[u8]) -> Result<Elf<'a, R>, String> {
        // `e_ident[EI_CLASS]`.
        match data.read_bytes_at(4, 1).ok().and_then(|b| b.first()) {
            Some(&c) if c == elf::ELFCLASS32.0 => {
                parse_as::<elf::FileHeader32<Endianness>, R>(data, section)
            }
            Some(&c) if c == elf::ELFCLASS64.0 => {
                parse_as::<elf::FileHeader64<Endianness>, R>(data, section)
            }
            Some(c) => Err(format!("unknown ELF class {c}")),
            None => Err("truncated ELF header".to_string()),
        }
    }

    /// The `len` file bytes mapped at virtual address `addr`, if one segment holds them
    /// all (as Go's `debug/buildinfo` reads pointers).
    pub(crate) fn read_at(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        let loads = self.loads.as_ref().ok()?;
        let load = loads
            .iter()
            .find(|l| addr >= l.vaddr && addr - l.vaddr < l.filesz)?;
        let within = addr - load.vaddr;
        if len > load.filesz - within {
            return None;
        }
        self.data
            .read_bytes_at(load.offset.checked_add(within)?, len)
            .ok()
    }

    /// The first writable, non-executable loadable segment (the data segment) with its
    /// virtual address and file bytes: where Go's linker puts the build info when no
    /// section says so.
    pub(crate) fn data_segment(&self) -> Option<(u64, &'a [u8])> {
        let loads = self.loads.as_ref().ok()?;
        let w = elf::PF_W.0;
        let x = elf::PF_X.0;
        let load = loads.iter().find(|l| l.flags & (w | x) == w)?;
        // A segment running past the end of a truncated file is read as far as it goes.
        let end = load
            .offset
            .saturating_add(load.filesz)
            .min(self.data.len().ok()?);
        let len = end.checked_sub(load.offset)?;
        Some((load.vaddr, self.data.read_bytes_at(load.offset, len).ok()?))
    }
}

fn parse_as<'a, H: FileHeader<Endian = Endianness>, R: ReadRef<'a>>(
    data: R,
    name: &[u8],
) -> Result<Elf<'a, R>, String> {
    let header = H::parse(data).map_err(|e| e.to_string())?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let loads = header
        .program_headers(endian, data)
        .map(|headers| {
            headers
                .iter()
                .filter(|p| p.p_type(endian) == elf::PT_LOAD)
                .take(MAX_LOADS)
                .map(|p| Load {
                    vaddr: p.p_vaddr(endian).into(),
                    offset: p.p_offset(endian).into(),
                    filesz: p.p_filesz(endian).into(),
                    flags: p.p_flags(endian).0,
                })
                .collect()
        })
        .map_err(|e| format!("program headers: {e}"));
    let section = match header.sections(endian, data) {
        Err(e) => Lookup::Broken(format!("section headers: {e}")),
        Ok(table) if table.is_empty() => Lookup::NoSections,
        Ok(table) => match find_section(header, &table, endian, data, name) {
            None => Lookup::Absent,
            Some(s) => match s.data(endian, data) {
                Ok(bytes) => Lookup::Found {
                    addr: s.sh_addr(endian).into(),
                    data: bytes,
                },
                Err(e) => Lookup::Broken(format!("section {}: {e}", String::from_utf8_lossy(name))),
            },
        },
    };
    Ok(Elf {
        data,
        loads,
        section,
    })
}

/// The section called `name`, as `SectionTable::section_by_name` finds it (sections
/// with unreadable names are passed over), but with the name table read in one piece:
/// through a file on disk, looking up each name separately costs a read per section.
fn find_section<'a, H: FileHeader<Endian = Endianness>, R: ReadRef<'a>>(
    header: &H,
    table: &SectionTable<'a, H, R>,
    endian: Endianness,
    data: R,
    name: &[u8],
) -> Option<&'a H::SectionHeader> {
    let index = header.shstrndx(endian, data).ok()?;
    let names = table
        .section(SectionIndex(index as usize))
        .ok()?
        .data(endian, data)
        .ok()?;
    table.iter().find(|s| {
        let at = usize::try_from(s.sh_name(endian)).unwrap_or(usize::MAX);
        names
            .get(at..)
            .and_then(|rest| rest.split(|&b| b == 0).next().filter(|_| rest.contains(&0)))
            == Some(name)
    })
}

/// Builds small ELF files for tests: a file header, program headers for the given
/// segments and, optionally, section headers with a name table.
#[cfg(test)]
pub(crate) mod testelf {
    /// One segment or section to place in the file.
    pub struct Part {
        /// Section name (`None`: no section for this part).
        pub name: Option<&'static str>,
        /// Virtual address.
        pub addr: u64,
        /// `p_flags` of the segment made for it (`0`: no segment).
        pub flags: u32,
        /// Content.
        pub data: Vec<u8>,
    }

    /// Writes an ELF file. `bits` is 32 or 64; sections are written when `sections`.
    pub fn build(bits: u8, big: bool, parts: &[Part], sections: bool) -> Vec<u8> {
        let wide = bits == 64;
        let put = |out: &mut Vec<u8>, v: u64, n: usize| {
            let bytes = v.to_le_bytes();
            let mut b: Vec<u8> = bytes[..n].to_vec();
            if big {
                b.reverse();
            }
            out.extend_from_slice(&b);
        };
        let word = if wide { 8 } else { 4 };
        let ehsize = if wide { 64 } else { 52 };
        let phentsize = if wide { 56 } else { 32 };
        let shentsize = if wide { 64 } else { 40 };
        let segs: Vec<&Part> = parts.iter().filter(|p| p.flags != 0).collect();
        // Layout: header, program headers, part data (16-aligned), name table, sections.
        let mut offset = ehsize + phentsize * segs.len();
        let mut offsets = Vec::new();
        for p in parts {
            offset = offset.div_ceil(16) * 16;
            offsets.push(offset);
            offset += p.data.len();
        }
        let mut names = vec![0u8];
        let mut name_at = Vec::new();
        for p in parts {
            name_at.push(names.len());
            names.extend_from_slice(p.name.unwrap_or("").as_bytes());
            names.push(0);
        }
        let shstrtab_name = names.len();
        names.extend_from_slice(b".shstrtab\0");
        let names_off = offset;
        let sh_off = (names_off + names.len()).div_ceil(8) * 8;
        let named: Vec<usize> = (0..parts.len())
            .filter(|&i| parts[i].name.is_some())
            .collect();
        let shnum = if sections { named.len() + 2 } else { 0 };

        let mut out = Vec::new();
        out.extend_from_slice(b"\x7fELF");
        out.push(if wide { 2 } else { 1 });
        out.push(if big { 2 } else { 1 });
        out.push(1);
        out.extend_from_slice(&[0; 9]);
        put(&mut out, 2, 2); // e_type EXEC
        put(&mut out, 62, 2); // e_machine
        put(&mut out, 1, 4); // e_version
        put(&mut out, 0, word); // e_entry
        put(&mut out, ehsize as u64, word); // e_phoff
        put(&mut out, if sections { sh_off as u64 } else { 0 }, word);
        put(&mut out, 0, 4); // e_flags
        put(&mut out, ehsize as u64, 2);
        put(&mut out, phentsize as u64, 2);
        put(&mut out, segs.len() as u64, 2);
        put(&mut out, shentsize as u64, 2);
        put(&mut out, shnum as u64, 2);
        put(&mut out, if sections { shnum as u64 - 1 } else { 0 }, 2);
        for (i, p) in parts.iter().enumerate() {
            if p.flags == 0 {
                continue;
            }
            let (off, len) = (offsets[i] as u64, p.data.len() as u64);
            put(&mut out, 1, 4); // PT_LOAD
            if wide {
                put(&mut out, u64::from(p.flags), 4);
            }
            put(&mut out, off, word);
            put(&mut out, p.addr, word);
            put(&mut out, p.addr, word);
            put(&mut out, len, word);
            put(&mut out, len, word);
            if !wide {
                put(&mut out, u64::from(p.flags), 4);
            }
            put(&mut out, 16, word);
        }
        for (i, p) in parts.iter().enumerate() {
            out.resize(offsets[i], 0);
            out.extend_from_slice(&p.data);
        }
        out.resize(names_off, 0);
        out.extend_from_slice(&names);
        if sections {
            out.resize(sh_off, 0);
            let shdr =
                |out: &mut Vec<u8>, name: usize, kind: u64, addr: u64, off: u64, size: u64| {
                    put(out, name as u64, 4);
                    put(out, kind, 4);
                    put(out, 3, word); // flags: WA
                    put(out, addr, word);
                    put(out, off, word);
                    put(out, size, word);
                    put(out, 0, 4);
                    put(out, 0, 4);
                    put(out, 16, word);
                    put(out, 0, word);
                };
            shdr(&mut out, 0, 0, 0, 0, 0);
            for &i in &named {
                let p = &parts[i];
                shdr(
                    &mut out,
                    name_at[i],
                    1,
                    p.addr,
                    offsets[i] as u64,
                    p.data.len() as u64,
                );
            }
            shdr(
                &mut out,
                shstrtab_name,
                3,
                0,
                names_off as u64,
                names.len() as u64,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testelf::{Part, build};
    use super::*;

    fn parts() -> Vec<Part> {
        vec![
            Part {
                name: Some(".text"),
                addr: 0x1000,
                flags: 5,
                data: vec![0xc3; 32],
            },
            Part {
                name: Some(".data"),
                addr: 0x8000,
                flags: 6,
                data: b"hello, data".to_vec(),
            },
        ]
    }

    #[test]
    fn reads_segments_and_sections_in_every_layout() {
        for bits in [32, 64] {
            for big in [false, true] {
                let file = build(bits, big, &parts(), true);
                let elf = Elf::parse(&file[..], b".data").unwrap();
                assert_eq!(elf.loads.as_ref().unwrap().len(), 2);
                assert_eq!(
                    elf.section,
                    Lookup::Found {
                        addr: 0x8000,
                        data: b"hello, data"
                    }
                );
                assert_eq!(elf.read_at(0x8007, 4), Some(&b"data"[..]));
                assert_eq!(elf.read_at(0x8007, 5), None, "past the segment");
                assert_eq!(elf.read_at(0x7fff, 1), None);
                assert_eq!(elf.read_at(u64::MAX, 8), None);
                assert_eq!(elf.data_segment(), Some((0x8000, &b"hello, data"[..])));
                assert_eq!(
                    Elf::parse(&file[..], b".nope").unwrap().section,
                    Lookup::Absent
                );
                let bare = build(bits, big, &parts(), false);
                assert_eq!(
                    Elf::parse(&bare[..], b".data").unwrap().section,
                    Lookup::NoSections
                );
            }
        }
    }

    #[test]
    fn damaged_headers_are_errors_not_panics() {
        let file = build(64, false, &parts(), true);
        for cut in [0, 3, 4, 5, 20, 63, 64, 100, file.len() - 1] {
            if let Ok(elf) = Elf::parse(&file[..cut], b".data") {
                let _ = elf.read_at(0x8000, 4);
                let _ = elf.data_segment();
            }
        }
        // A section claiming to be far larger than the file.
        let mut huge = file.clone();
        let sh_off = u64::from_le_bytes(huge[40..48].try_into().unwrap()) as usize;
        let size_field = sh_off + 64 + 32; // section 1 (.text), sh_size
        huge[size_field..size_field + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let elf = Elf::parse(&huge[..], b".text").unwrap();
        assert!(
            matches!(elf.section, Lookup::Broken(_)),
            "{:?}",
            elf.section
        );
        // Program headers pointing outside the file.
        let mut bad = file;
        bad[32..40].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
        let elf = Elf::parse(&bad[..], b".data").unwrap();
        assert!(elf.loads.is_err());
        assert_eq!(elf.read_at(0x8000, 1), None);
        assert!(Elf::parse(&b"\x7fELF\x07"[..], b".data").is_err());
    }

    #[test]
    fn wants_executables_only() {
        let f = |mode, size| FileInfo {
            path: "usr/bin/x",
            size,
            mode,
        };
        assert!(wants(&f(0o755, 1 << 20)));
        assert!(wants(&f(0o700, 52)));
        assert!(!wants(&f(0o644, 1 << 20)));
        assert!(!wants(&f(0o755, 10)));
        assert!(is_elf(&b"\x7fELF\x02"[..]));
        assert!(!is_elf(&b"#!/bin/sh\n"[..]));
    }
}
