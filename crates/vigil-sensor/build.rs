//! Compiles bpf/sensor.bpf.c with clang into a CO-RE object and generates its Rust
//! skeleton (OUT_DIR/sensor.skel.rs). The kernel types come from a vmlinux.h generated
//! here from the build machine's BTF with bpftool, so no multi-megabyte header is
//! committed; CO-RE relocations make the object load on other kernels with BTF.
//!
//! Overrides: VIGIL_VMLINUX_H (use this header instead of generating one), VIGIL_BTF (the
//! BTF file, default /sys/kernel/btf/vmlinux), BPFTOOL and CLANG (the tools' paths).

use libbpf_cargo::SkeletonBuilder;
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const SRC: &str = "bpf/sensor.bpf.c";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    for path in ["bpf/sensor.bpf.c", "bpf/events.h"] {
        println!("cargo:rerun-if-changed={path}");
    }
    for var in ["VIGIL_VMLINUX_H", "VIGIL_BTF", "BPFTOOL", "CLANG"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let include = out.join("include");
    std::fs::create_dir_all(&include)
        .map_err(|e| format!("creating {}: {e}", include.display()))?;
    let vmlinux = include.join("vmlinux.h");
    match env::var_os("VIGIL_VMLINUX_H") {
        Some(given) => {
            std::fs::copy(&given, &vmlinux).map_err(|e| {
                format!(
                    "copying VIGIL_VMLINUX_H {}: {e}",
                    Path::new(&given).display()
                )
            })?;
        }
        None => generate_vmlinux_h(&vmlinux)?,
    }

    let mut builder = SkeletonBuilder::new();
    builder.source(SRC).clang_args([
        "-I".to_string(),
        include.display().to_string(),
        "-Ibpf".to_string(),
        "-Wall".to_string(),
        "-Wno-unused-function".to_string(),
    ]);
    if let Some(clang) = env::var_os("CLANG") {
        builder.clang(clang);
    }
    builder
        .build_and_generate(out.join("sensor.skel.rs"))
        .map_err(|e| {
            format!(
                "building {SRC} (needs clang; Debian: apt-get install clang libelf-dev \
                 zlib1g-dev pkg-config): {e:#}"
            )
        })
}

/// vmlinux.h from the kernel's BTF, with bpftool.
fn generate_vmlinux_h(dest: &Path) -> Result<(), String> {
    let btf = env::var_os("VIGIL_BTF")
        .map_or_else(|| PathBuf::from("/sys/kernel/btf/vmlinux"), PathBuf::from);
    if !btf.exists() {
        return Err(format!(
            "{} is missing: the build needs the kernel's BTF to generate vmlinux.h \
             (a kernel built with CONFIG_DEBUG_INFO_BTF=y), or VIGIL_VMLINUX_H pointing \
             to a generated header",
            btf.display()
        ));
    }
    let bpftool = find_bpftool().ok_or(
        "bpftool not found (PATH, /usr/sbin, /sbin); Debian: apt-get install bpftool, or set BPFTOOL",
    )?;
    let output = Command::new(&bpftool)
        .args(["btf", "dump", "file"])
        .arg(&btf)
        .args(["format", "c"])
        .output()
        .map_err(|e| format!("running {}: {e}", bpftool.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} btf dump file {} failed: {}",
            bpftool.display(),
            btf.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // Only rewrite an unchanged header if it differs, so clang's inputs keep their time.
    if std::fs::read(dest).ok().as_deref() != Some(&output.stdout[..]) {
        std::fs::write(dest, &output.stdout)
            .map_err(|e| format!("writing {}: {e}", dest.display()))?;
    }
    Ok(())
}

fn find_bpftool() -> Option<PathBuf> {
    if let Some(p) = env::var_os("BPFTOOL") {
        return Some(PathBuf::from(p));
    }
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("bpftool"))
        .find(|p| p.is_file())
}
