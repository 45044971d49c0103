//! `vigil sbom TARGET`: the inventory of one image.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_core::format::{InventoryFormat, write_inventory};
use vigil_image::{Limits, Platform, RegistryOptions, SourceOptions};

/// Image source options shared by every command that reads images.
#[derive(clap::Args, Debug)]
pub struct ImageArgs {
    /// Platform to pick from multi-platform images (OS/ARCH[/VARIANT]).
    #[arg(long, default_value = "linux/amd64")]
    pub platform: Platform,
    /// Allow plain HTTP and unverified TLS (always allowed for loopback registries).
    #[arg(long)]
    pub insecure: bool,
    /// Extra PEM root certificate to trust for registries (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Registry user name (the password is read from stdin with --password-stdin).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the registry password from stdin.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Credentials file (default: REGISTRY_AUTH_FILE, podman's auth.json, ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Largest file an analyzer reads (bytes; K, M, G suffixes); larger files are skipped
    /// with a warning. What a Java archive inflates to (nested archives included) is
    /// bounded by twice this.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Most decompressed bytes read from an image before giving up.
    #[arg(long, value_name = "SIZE", default_value = "64G", value_parser = parse_size)]
    pub max_image_size: u64,
}

impl ImageArgs {
    /// Builds source options, reading the password from stdin if asked.
    pub fn source_options(&self) -> Result<SourceOptions> {
        let password = if self.password_stdin {
            let mut p = String::new();
            std::io::stdin()
                .read_to_string(&mut p)
                .context("reading the password from stdin")?;
            Some(p.trim_end_matches(['\r', '\n']).to_string())
        } else {
            None
        };
        Ok(SourceOptions {
            limits: Limits {
                max_file_bytes: self.max_file_size,
                max_total_bytes: self.max_image_size,
                ..Limits::default()
            },
            platform: self.platform.clone(),
            registry: RegistryOptions {
                insecure: self.insecure,
                ca_certs: self.ca_cert.clone(),
                username: self.username.clone(),
                password,
                auth_file: self.authfile.clone(),
                progress: crate::progress::layer_progress(),
            },
        })
    }
}

/// `vigil sbom` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "TARGET forms:
  registry:HOST/REPO[:TAG|@DIGEST]   pull from a registry (also a bare reference)
  oci:DIR[:TAG]                      an OCI image layout folder
  oci-archive:FILE[:TAG]             an OCI image layout in a tar
  docker-archive:FILE[:REF]          `docker save` / `podman save` output
  dir:PATH                           a root filesystem folder

Examples:
  vigil sbom localhost:5000/app:1.0
  vigil sbom docker-archive:app.tar --format cyclonedx -o app.cdx.json
  vigil sbom dir:/ --format json")]
pub struct Args {
    /// The image to read (see TARGET forms below).
    pub target: String,
    /// Output format.
    #[arg(short, long, default_value = "table", value_parser = clap::builder::PossibleValuesParser::new(InventoryFormat::NAMES))]
    pub format: String,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub image: ImageArgs,
}

/// Runs `vigil sbom`.
pub fn run(args: Args) -> Result<ExitCode> {
    let Some(format) = InventoryFormat::from_name(&args.format) else {
        bail!("unknown format {}", args.format);
    };
    let inventory = super::inventory(&args.target, &args.image)?;
    write_output(args.output.as_deref(), |out| {
        write_inventory(format, &inventory, out)
    })?;
    if !inventory.complete {
        eprintln!(
            "warning: the inventory of {} is incomplete ({} warnings; see the output)",
            args.target,
            inventory.warnings.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to `-o FILE` or stdout.
///
/// A regular file (new or existing, also behind a symlink) is written to a temporary file
/// beside it and renamed into place, so readers never see half a document. Anything else
/// that already exists — `/dev/null`, `/dev/stdout`, a FIFO — is written in place: renaming
/// over it would replace the device node with a plain file.
pub fn write_output(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let Some(path) = path else {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::new(stdout.lock());
        return match write(&mut lock).and_then(|_| lock.flush()) {
            // `vigil sbom ... | head` is fine.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(e).context("writing to stdout")
            }
            _ => Ok(()),
        };
    };
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let existing = std::fs::metadata(&resolved).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&resolved)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut buf = std::io::BufWriter::new(file);
        return write(&mut buf)
            .and_then(|_| buf.flush())
            .with_context(|| format!("writing {}", path.display()));
    }
    let dir = resolved
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    {
        let mut buf = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buf)
            .and_then(|_| buf.flush())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // A temporary file is private (0600); the result gets the replaced file's mode, or
    // the usual 0644 for a new one.
    let mode = existing.map_or(0o644, |m| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions())
    });
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(&resolved)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Parses `256M`, `1G`, `4096` into bytes (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => {
            let unit = s.get(i..).unwrap_or("").trim().to_ascii_uppercase();
            let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 0,
                "K" => 10,
                "M" => 20,
                "G" => 30,
                "T" => 40,
                _ => {
                    return Err(format!(
                        "invalid size {s:?}: use a number with K, M, G or T"
                    ));
                }
            };
            (s.get(..i).unwrap_or(""), shift)
        }
        None => (s, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("invalid size {s:?}"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("99999999999999T").is_err());
    }
}
