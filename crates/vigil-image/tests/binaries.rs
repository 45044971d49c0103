//! Go binaries, `cargo auditable` binaries and Cargo.lock files made by the real toolchains
//! (scripts/fixtures/binaries builds them once): every one must give exactly the modules
//! and crates that `go version -m` and `cargo metadata` report, through every layout the
//! readers support (32/64-bit, both byte orders, stripped, section-less, pre-Go 1.18
//! pointer format), and damaged copies must give errors, never panics.

use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use vigil_core::Ecosystem;
use vigil_image::SourceOptions;
use vigil_image::analyzer::{AnalyzeError, Analyzer, FileInfo, Found, all};

/// The fixture folder, or `None` (with the reason printed) when it was not built; under
/// scripts/test (`VIGIL_REQUIRE_SERVICES=1`) its absence fails the test.
fn fixture() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("VIGIL_FIXTURES").unwrap_or_else(|_| "/var/cache/vigil-fixtures".into()),
    )
    .join("binaries-v1");
    if dir.join("ready").exists() {
        return Some(dir);
    }
    let why = format!(
        "the binaries fixture is missing ({}); build it with scripts/fixtures/binaries",
        dir.display()
    );
    if std::env::var("VIGIL_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

fn analyzer(name: &str) -> Box<dyn Analyzer> {
    all().into_iter().find(|a| a.name() == name).unwrap()
}

fn run(name: &str, path: &str, content: &[u8]) -> Result<Found, AnalyzeError> {
    let a = analyzer(name);
    let info = FileInfo {
        path,
        size: content.len() as u64,
        mode: 0o755,
    };
    // (Files shorter than an ELF header are not even asked for.)
    assert!(a.required(&info) || content.len() < 52);
    a.analyze(&info, content)
}

/// Sorted `name@version`.
fn names(found: &Found) -> Vec<String> {
    let mut v: Vec<String> = found
        .packages
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    v.sort();
    v
}

/// What Trivy's rules make of `go version -m` output: `stdlib` at the Go version (with a
/// `v`), every dependency or its replacement (`(devel)` read as no version), and the main
/// module at the `-ldflags` version the fixture sets.
fn expected_go(fx: &Path, binary: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fx.join(format!("expected/go-{binary}.txt"))).unwrap();
    let mut lines = text.lines();
    let go = lines.next().unwrap().trim();
    let mut out = vec![format!("stdlib@v{}", go.strip_prefix("go").unwrap())];
    let mut deps: Vec<(String, String)> = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match cols.as_slice() {
            ["mod", path, "(devel)", ..] => {
                assert!(text.contains("-ldflags=\"-X main.version=1.4.2\""));
                out.push(format!("{path}@1.4.2"));
            }
            ["dep", path, version, ..] => deps.push((path.to_string(), version.to_string())),
            ["=>", path, version, ..] => {
                let version = if *version == "(devel)" { "" } else { version };
                *deps.last_mut().unwrap() = (path.to_string(), version.to_string())
            }
            _ => {}
        }
    }
    out.extend(deps.into_iter().map(|(p, v)| format!("{p}@{v}")));
    out.sort();
    out
}

fn read(fx: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(fx.join(rel)).unwrap()
}

const HELLO: [&str; 5] = [
    "./local@",
    "example.com/greet@v1.2.3",
    "example.com/hello@1.4.2",
    "example.com/new@v1.1.0",
    "stdlib@v1.19.8",
];

#[test]
fn go_binaries_of_every_layout_match_go_version_m() {
    let Some(fx) = fixture() else { return };
    for bin in [
        "hello",
        "hello.stripped",
        "hello-386",
        "hello-s390x",
        "hello-mips",
    ] {
        let found = run(
            "go-binary",
            "usr/bin/hello",
            &read(&fx, &format!("go/{bin}")),
        )
        .unwrap();
        assert_eq!(names(&found), expected_go(&fx, bin), "{bin}");
        assert!(found.warnings.is_empty(), "{bin}: {:?}", found.warnings);
        assert!(
            found
                .packages
                .iter()
                .all(|p| p.ecosystem == Ecosystem::Go && p.found_by == "go-binary")
        );
        // The list the fixture was written to produce (Go's version aside).
        let mut want = expected_go(&fx, bin);
        want.retain(|n| !n.starts_with("stdlib@"));
        let mut hello: Vec<&str> = HELLO.to_vec();
        hello.retain(|n| !n.starts_with("stdlib@"));
        assert_eq!(want, hello, "{bin}");
    }
    let found = run("go-binary", "x", &read(&fx, "go/hello")).unwrap();
    let new = found
        .packages
        .iter()
        .find(|p| p.name == "example.com/new")
        .unwrap();
    assert_eq!(new.purl, "pkg:golang/example.com/new@v1.1.0");
}

#[test]
fn debian_docker_registry_gives_the_toolchain() {
    let Some(fx) = fixture() else { return };
    // Debian builds Go programs in GOPATH mode: a `path` line, no modules.
    let expected = expected_go(&fx, "docker-registry");
    assert_eq!(expected.len(), 1, "{expected:?}");
    let content = read(&fx, "go/docker-registry");
    let found = run("go-binary", "usr/bin/docker-registry", &content).unwrap();
    assert_eq!(names(&found), expected);
    // Without its section headers (as `sstrip` leaves it) the data segment is searched.
    let bare = drop_section_headers(&content);
    let found = run("go-binary", "usr/bin/docker-registry", &bare).unwrap();
    assert_eq!(names(&found), expected);
}

/// Zeroes `e_shoff`, `e_shnum` and `e_shstrndx` of a 64-bit little-endian ELF file.
fn drop_section_headers(content: &[u8]) -> Vec<u8> {
    assert_eq!(&content[4..6], &[2, 1], "64-bit little-endian");
    let mut bare = content.to_vec();
    bare[40..48].fill(0);
    bare[60..64].fill(0);
    bare
}

#[test]
fn go_binary_without_or_with_damaged_section_headers() {
    let Some(fx) = fixture() else { return };
    let content = read(&fx, "go/hello");
    let want = expected_go(&fx, "hello");
    let found = run("go-binary", "x", &drop_section_headers(&content)).unwrap();
    assert_eq!(names(&found), want);
    // Section headers pointing past the end of the file (Go's linker writes them right
    // after the program headers, so a cut file keeps them): unreadable, and the data
    // segment still holds the build info.
    let mut damaged = content.clone();
    damaged[40..48].copy_from_slice(&(content.len() as u64 + 4096).to_le_bytes());
    let found = run("go-binary", "x", &damaged).unwrap();
    assert_eq!(names(&found), want);
    // Any truncation: an answer or an error, never a panic.
    for i in 0..200 {
        let cut = content.len() * i / 200;
        let _ = run("go-binary", "x", &content[..cut]);
        let _ = run("rust-binary", "x", &content[..cut]);
    }
    let e = run("rust-binary", "x", &damaged).unwrap_err();
    assert!(e.0.contains("malformed ELF"), "{e}");
}

/// Rewrites a real Go >= 1.18 binary into the older pointer format: the header's flags
/// say "pointers", its two pointers get the addresses of `runtime.buildVersion` and
/// `runtime.modinfo` (Go string headers the linker still fills in), and the inline strings
/// are wiped so that only the pointers can give the answer.
fn to_pointer_format(content: &[u8]) -> Vec<u8> {
    let file = object::File::parse(content).unwrap();
    let big = !file.is_little_endian();
    let size = if file.is_64() { 8 } else { 4 };
    let symbol = |name: &str| {
        file.symbols()
            .find(|s| s.name() == Ok(name))
            .unwrap_or_else(|| panic!("{name}"))
            .address()
    };
    let (version, modinfo) = (symbol("runtime.buildVersion"), symbol("runtime.modinfo"));
    let section = file.section_by_name(".go.buildinfo").unwrap();
    let (offset, len) = section.file_range().unwrap();
    let (offset, len) = (offset as usize, len as usize);
    let mut out = content.to_vec();
    let put = |out: &mut Vec<u8>, at: usize, v: u64| {
        let bytes = if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        let bytes = if big {
            &bytes[8 - size..]
        } else {
            &bytes[..size]
        };
        out[at..at + size].copy_from_slice(bytes);
    };
    assert_eq!(&out[offset..offset + 14], b"\xff Go buildinf:");
    out[offset + 14] = size as u8;
    out[offset + 15] = u8::from(big);
    out[offset + 16..offset + 32].fill(0);
    put(&mut out, offset + 16, version);
    put(&mut out, offset + 16 + size, modinfo);
    out[offset + 32..offset + len].fill(0);
    out
}

#[test]
fn pre_go_1_18_pointer_format_in_real_binaries() {
    let Some(fx) = fixture() else { return };
    for bin in ["hello", "hello-386", "hello-s390x", "hello-mips"] {
        let patched = to_pointer_format(&read(&fx, &format!("go/{bin}")));
        let found = run("go-binary", "x", &patched).unwrap();
        assert_eq!(names(&found), expected_go(&fx, bin), "{bin}");
        // The same with a pointer leading nowhere.
        let at = memchr::memmem::find(&patched, b"\xff Go buildinf:").unwrap();
        let mut bad = patched.clone();
        bad[at + 16..at + 20].fill(0xee);
        let e = run("go-binary", "x", &bad).unwrap_err();
        assert!(e.0.contains("outside"), "{bin}: {e}");
    }
}

const RUST_APP: [&str; 5] = [
    "autocfg@1.4.0",
    "fnv@1.0.7",
    "greet@0.3.0",
    "itoa@1.0.11",
    "vigil-fixture-app@0.1.0",
];

fn expected_metadata(fx: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fx.join("expected").join(file)).unwrap();
    let mut v: Vec<String> = text.lines().map(|l| l.replacen(' ', "@", 1)).collect();
    v.sort();
    v
}

#[test]
fn cargo_auditable_binary_lists_its_crates() {
    let Some(fx) = fixture() else { return };
    let content = read(&fx, "rust/vigil-fixture-app");
    let found = run("rust-binary", "usr/local/bin/app", &content).unwrap();
    assert_eq!(names(&found), RUST_APP);
    assert_eq!(names(&found), expected_metadata(&fx, "cargo-metadata.txt"));
    let itoa = found.packages.iter().find(|p| p.name == "itoa").unwrap();
    assert_eq!(itoa.purl, "pkg:cargo/itoa@1.0.11");
    assert_eq!(itoa.found_by, "rust-binary");
    // Neither reader claims the other's binaries.
    assert!(run("go-binary", "x", &content).unwrap().is_empty());
    assert!(
        run("rust-binary", "x", &read(&fx, "go/hello"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn cargo_auditable_zip_bomb_is_refused() {
    let Some(fx) = fixture() else { return };
    let content = read(&fx, "rust/vigil-fixture-app");
    // Append 64 MiB of compressed JSON whitespace and point .dep-v0 at it.
    let mut bomb = Vec::new();
    {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(&mut bomb, flate2::Compression::best());
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..64 {
            z.write_all(&chunk).unwrap();
        }
        z.finish().unwrap();
    }
    let elf = ElfFile64::<Endianness>::parse(content.as_slice()).unwrap();
    let header = elf.elf_header();
    let endian = elf.endian();
    let index = elf.section_by_name(".dep-v0").unwrap().index().0;
    let shoff = header.e_shoff(endian) as usize;
    let entsize = header.e_shentsize(endian) as usize;
    let at = shoff + index * entsize;
    let old = elf
        .elf_section_table()
        .section(object::SectionIndex(index))
        .unwrap();
    assert!(old.sh_size(endian) < 4096);
    let mut patched = content.clone();
    let new_offset = patched.len() as u64;
    patched.extend_from_slice(&bomb);
    patched[at + 24..at + 32].copy_from_slice(&new_offset.to_le_bytes());
    patched[at + 32..at + 40].copy_from_slice(&(bomb.len() as u64).to_le_bytes());
    let e = run("rust-binary", "x", &patched).unwrap_err();
    assert!(e.0.contains("more than"), "{e}");
    // A section running far past the end of the file.
    patched[at + 32..at + 40].copy_from_slice(&(u64::MAX / 4).to_le_bytes());
    let e = run("rust-binary", "x", &patched).unwrap_err();
    assert!(e.0.contains(".dep-v0"), "{e}");
}

fn lock(path: &Path) -> Found {
    let a = analyzer("cargo-lock");
    let content = std::fs::read(path).unwrap();
    let info = FileInfo {
        path: "srv/app/Cargo.lock",
        size: content.len() as u64,
        mode: 0o644,
    };
    assert!(a.required(&info));
    a.analyze(&info, &content).unwrap()
}

#[test]
fn cargo_lock_v3_and_v4_written_by_cargo() {
    let Some(fx) = fixture() else { return };
    for (dir, meta) in [
        ("rust", "cargo-metadata.txt"),
        ("rust-v3", "cargo-metadata-v3.txt"),
    ] {
        let found = lock(&fx.join(dir).join("Cargo.lock"));
        assert_eq!(names(&found), expected_metadata(&fx, meta), "{dir}");
        assert_eq!(names(&found), RUST_APP, "{dir}");
        assert!(found.warnings.is_empty());
    }
}

#[test]
fn cargo_lock_v1_and_v2_handmade() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cargo-lock");
    let v1 = lock(&dir.join("v1/Cargo.lock"));
    assert_eq!(
        names(&v1),
        [
            "bitflags@1.3.2",
            "cfg-if@0.1.10",
            "libc@0.2.66",
            "log@0.4.8",
            "old-app@0.2.0",
            "private-fork@0.1.0",
        ]
    );
    assert!(v1.warnings.is_empty());
    let v2 = lock(&dir.join("v2/Cargo.lock"));
    assert_eq!(
        names(&v2),
        [
            "cfg-if@1.0.0",
            "member@0.1.0",
            "serde@1.0.130",
            "workspace-root@1.0.0"
        ]
    );
}

#[test]
fn a_root_filesystem_with_binaries_and_lock_files() {
    let Some(fx) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let copy = |from: &str, to: &str| {
        let to = root.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fx.join(from), &to).unwrap();
    };
    copy("go/hello", "usr/local/bin/hello");
    copy("rust/vigil-fixture-app", "usr/local/bin/app");
    copy("rust/Cargo.lock", "src/app/Cargo.lock");
    // Cargo's download cache holds crates' own lock files: not reported.
    copy(
        "rust-v3/Cargo.lock",
        "root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/x-1.0.0/Cargo.lock",
    );
    // A script with an execute bit is turned away by its first bytes.
    std::fs::write(root.join("usr/local/bin/run.sh"), "#!/bin/sh\nexec app\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        root.join("usr/local/bin/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let inv = vigil_image::sbom(
        &format!("dir:{}", root.display()),
        &SourceOptions::default(),
    )
    .unwrap();
    assert!(inv.complete, "{:?}", inv.warnings);
    let at = |eco: Ecosystem, path: &str| {
        let mut v: Vec<String> = inv
            .packages
            .iter()
            .filter(|p| p.ecosystem == eco && p.location.path == path)
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        at(Ecosystem::Go, "/usr/local/bin/hello"),
        expected_go(&fx, "hello")
    );
    assert_eq!(at(Ecosystem::Cargo, "/usr/local/bin/app"), RUST_APP);
    // The lock file declares the same crates the binary carries: reported once, as
    // found in the binary.
    assert!(at(Ecosystem::Cargo, "/src/app/Cargo.lock").is_empty());
    assert_eq!(
        inv.packages
            .iter()
            .filter(|p| matches!(p.ecosystem, Ecosystem::Go | Ecosystem::Cargo))
            .count(),
        expected_go(&fx, "hello").len() + RUST_APP.len()
    );
}
