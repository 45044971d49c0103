//! Rust crates compiled into executables built with `cargo auditable`: the `.dep-v0`
//! section holds zlib-compressed JSON listing every crate of the build.
//!
//! The JSON model and its checks (one root, no dependency cycles) are the reference
//! implementation's, `auditable-serde`. The section is found with the same ELF reader as
//! the Go analyzer (`object`) rather than `auditable-extract`, which would parse every
//! executable a second time with a second ELF parser; decompression uses `flate2`, already
//! in the tree, with the same 8 MiB output limit `auditable-info` applies by default.
//!
//! Reported: every crate, the root package included (as Trivy does). Crates of kind
//! `build` (build scripts, proc-macros and their dependencies) ran at build time and are
//! not linked into the binary; Trivy drops them, Vigil keeps them (a compromised build
//! dependency matters) with `dev = false`, since they are not development-only
//! dependencies either.

use super::elf::{self, Elf, Lookup};
use super::{AnalyzeError, Analyzer, FileInfo, FileRanges, Found};
use auditable_serde::VersionInfo;
use object::read::ReadRef;
use std::io::Read;
use vigil_core::{Ecosystem, Package};

/// Most bytes of decompressed JSON (`auditable-info`'s default limit).
const MAX_JSON: u64 = 8 << 20;

/// Reads the dependency list `cargo auditable` embeds in Rust executables.
pub struct RustBinary;

impl Analyzer for RustBinary {
    fn name(&self) -> &'static str {
        "rust-binary"
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

impl RustBinary {
    /// The audit data of an executable, from its bytes in memory or on disk.
    fn read<'a, R: ReadRef<'a>>(&self, data: R) -> Result<Found, AnalyzeError> {
        if !elf::is_elf(data) {
            return Ok(Found::default());
        }
        let elf = Elf::parse(data, b".dep-v0")
            .map_err(|e| AnalyzeError::new(format!("malformed ELF: {e}")))?;
        let compressed = match elf.section {
            Lookup::Found { data, .. } => data,
            // Not built with `cargo auditable` (or the section headers were stripped).
            Lookup::Absent | Lookup::NoSections => return Ok(Found::default()),
            Lookup::Broken(e) => {
                return Err(AnalyzeError::new(format!(
                    "malformed ELF, cannot look for cargo auditable data: {e}"
                )));
            }
        };
        let info = decode(compressed)?;
        let packages = info
            .packages
            .iter()
            .map(|p| {
                Package::new(
                    Ecosystem::Cargo,
                    p.name.as_str(),
                    p.version.to_string(),
                    self.name(),
                    "",
                )
            })
            .collect();
        Ok(Found {
            packages,
            ..Found::default()
        })
    }
}

/// Decompresses (at most [`MAX_JSON`] bytes) and parses the audit data.
fn decode(compressed: &[u8]) -> Result<VersionInfo, AnalyzeError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| AnalyzeError::new(format!("cargo auditable data: bad zlib stream: {e}")))?;
    if json.len() as u64 > MAX_JSON {
        return Err(AnalyzeError::new(format!(
            "cargo auditable data decompresses to more than {MAX_JSON} bytes; not read"
        )));
    }
    serde_json::from_slice(&json)
        .map_err(|e| AnalyzeError::new(format!("cargo auditable data: invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::elf::testelf::{Part, build};
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn binary(section: &'static str, data: Vec<u8>) -> Vec<u8> {
        build(
            64,
            false,
            &[Part {
                name: Some(section),
                addr: 0,
                flags: 0,
                data,
            }],
            true,
        )
    }

    fn analyze(content: &[u8]) -> Result<Found, AnalyzeError> {
        let f = FileInfo {
            path: "usr/local/bin/app",
            size: content.len() as u64,
            mode: 0o755,
        };
        RustBinary.analyze(&f, content)
    }

    const JSON: &str = r#"{"packages":[
        {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},
        {"name":"itoa","version":"1.0.11","source":"crates.io"},
        {"name":"autocfg","version":"1.4.0","source":"crates.io","kind":"build"}]}"#;

    #[test]
    fn reads_every_crate_with_its_version() {
        let found = analyze(&binary(".dep-v0", zlib(JSON.as_bytes()))).unwrap();
        let got: Vec<_> = found.packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            got,
            [
                "pkg:cargo/app@0.1.0",
                "pkg:cargo/itoa@1.0.11",
                "pkg:cargo/autocfg@1.4.0"
            ]
        );
        assert!(found.packages.iter().all(|p| !p.dev));
    }

    #[test]
    fn other_binaries_are_nothing() {
        assert!(analyze(&binary(".data", vec![1, 2, 3])).unwrap().is_empty());
        assert!(analyze(b"#!/bin/sh\n").unwrap().is_empty());
    }

    #[test]
    fn hostile_sections_are_errors() {
        // A zip bomb: 64 MiB of spaces compress to about 64 KiB.
        let bomb = zlib(&vec![b' '; 64 << 20]);
        let e = analyze(&binary(".dep-v0", bomb)).unwrap_err();
        assert!(e.0.contains("more than"), "{e}");
        assert!(analyze(&binary(".dep-v0", b"not zlib".to_vec())).is_err());
        assert!(analyze(&binary(".dep-v0", zlib(b"{\"packages\": 3}"))).is_err());
        let two_roots = r#"{"packages":[{"name":"a","version":"1.0.0","source":"local","root":true},
            {"name":"b","version":"1.0.0","source":"local","root":true}]}"#;
        assert!(analyze(&binary(".dep-v0", zlib(two_roots.as_bytes()))).is_err());
        let file = binary(".dep-v0", zlib(JSON.as_bytes()));
        for cut in 0..file.len() {
            let _ = analyze(&file[..cut]);
        }
        // Truncated just after the header: the section table is gone.
        assert!(
            analyze(&file[..64])
                .unwrap_err()
                .0
                .contains("malformed ELF")
        );
    }
}
