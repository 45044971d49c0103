//! Analyzers: one per file type, fed by a single pass over the image.
//!
//! Modelled on Trivy's `analyzer.go`: an analyzer first says from a file's path and
//! metadata whether it wants the file ([`Analyzer::required`]); only then are the bytes
//! read and handed to [`Analyzer::analyze`]. The list in [`all`] is explicit, so adding an
//! analyzer is one new file plus one line there.

use object::read::{ReadCache, ReadCacheOps, ReadRef};
use std::os::unix::fs::FileExt;
use vigil_core::{OsInfo, Package};

mod apk;
mod cargo_lock;
mod dotnet;
mod dpkg;
mod elf;
mod gobinary;
mod java;
mod lock;
mod node;
mod npm_lock;
mod os_release;
mod php;
mod pipenv;
mod pnpm_lock;
mod poetry;
mod python;
mod requirements;
pub mod rpm;
mod ruby;
mod rustbinary;
mod uv_lock;
mod yarn_lock;

pub use os_release::OS_RELEASE_PATHS;

/// What the walk knows about a regular file before reading it (only regular files, and
/// links resolved to them, are offered to analyzers).
#[derive(Debug, Clone, Copy)]
pub struct FileInfo<'a> {
    /// Path relative to the image root, without a leading `/` (`etc/os-release`).
    pub path: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// Unix permission bits (`0o755`).
    pub mode: u32,
}

impl FileInfo<'_> {
    /// The last path component.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// True if any execute bit is set.
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

/// What an analyzer found in one file.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Found {
    /// The operating system, from an os-release file.
    pub os: Option<OsInfo>,
    /// Packages; their location path is filled in by the walk when left empty.
    pub packages: Vec<Package>,
    /// Files installed by the OS package manager (image paths with a leading `/`), so that
    /// language packages it installed are not reported twice.
    pub owned_files: Vec<String>,
    /// Licenses for OS packages found apart from the package database (dpkg copyright
    /// files): (package name, licenses).
    pub licenses: Vec<(String, Vec<String>)>,
    /// Problems that did not stop the analyzer but make its answer partial.
    pub warnings: Vec<String>,
}

impl Found {
    /// True when there is nothing to keep.
    pub fn is_empty(&self) -> bool {
        self.os.is_none()
            && self.packages.is_empty()
            && self.owned_files.is_empty()
            && self.licenses.is_empty()
            && self.warnings.is_empty()
    }
}

/// A file could not be understood; becomes a warning naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnalyzeError(pub String);

impl AnalyzeError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> AnalyzeError {
        AnalyzeError(message.into())
    }
}

/// One kind of file Vigil understands.
pub trait Analyzer: Send + Sync {
    /// Short stable name, recorded as the package's `found_by`.
    fn name(&self) -> &'static str;
    /// Bumped whenever the analyzer's output for the same input changes; part of cache keys.
    fn version(&self) -> u32;
    /// True for lock files and requirement lists: they declare what an application
    /// wants, while installed-package records say what is there. When both name the
    /// same package, the inventory keeps the installed record.
    fn lock_file(&self) -> bool {
        false
    }
    /// Whether the file should be read and passed to [`Analyzer::analyze`].
    fn required(&self, file: &FileInfo<'_>) -> bool;
    /// Reads the file's content. `content` is at most [`crate::Limits::max_file_bytes`].
    fn analyze(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError>;
    /// The bytes every file this analyzer understands starts with (`\x7fELF` for
    /// executables), or `None`. When every analyzer that wants a file has a magic, the
    /// walk reads the first bytes and does not read further unless one matches: most
    /// executables of an image are scripts, and a layer of big non-ELF executables then
    /// costs no memory. A file without the magic is recorded as analyzed, with nothing
    /// found, exactly as [`Analyzer::analyze`] would have answered.
    fn magic(&self) -> Option<&'static [u8]> {
        None
    }
    /// Reads a file on disk (a `dir:` target). The default reads the whole file (the
    /// `file.size` bytes the walk saw) and calls [`Analyzer::analyze`]; analyzers of big
    /// files override it to read only the parts they need, at their offsets.
    fn analyze_file(
        &self,
        file: &FileInfo<'_>,
        data: &FileRanges<'_>,
    ) -> Result<Found, AnalyzeError> {
        let len = data
            .len()
            .map_err(|()| AnalyzeError::new("cannot read the file's size"))?
            .min(file.size);
        let content = data
            .read_bytes_at(0, len)
            .map_err(|()| AnalyzeError::new("cannot read the file"))?;
        self.analyze(file, content)
    }
}

/// A file on disk read in parts: `object`'s cache keeps every range read (for as long as
/// the analyzers of this one file run), so ELF headers and sections are read by offset
/// instead of loading a whole executable.
pub type FileRanges<'f> = ReadCache<Pread<'f>>;

/// The reads behind [`FileRanges`]: one `pread` each (no `lseek` before every read), over
/// the size the walk saw, so a file that grows meanwhile is read as it was listed.
#[derive(Debug)]
pub struct Pread<'f> {
    file: &'f std::fs::File,
    pos: u64,
    len: u64,
}

impl<'f> Pread<'f> {
    /// Reads `file`, seen by the walk at `len` bytes.
    pub fn new(file: &'f std::fs::File, len: u64) -> Self {
        Pread { file, pos: 0, len }
    }
}

impl ReadCacheOps for Pread<'_> {
    fn len(&mut self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn seek(&mut self, pos: u64) -> Result<u64, ()> {
        self.pos = pos;
        Ok(pos)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let room = usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let buf = buf.get_mut(..room.min(buf.len())).unwrap_or_default();
        let n = self.file.read_at(buf, self.pos).map_err(|_| ())?;
        self.pos += n as u64;
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        if self.pos.saturating_add(buf.len() as u64) > self.len {
            return Err(());
        }
        self.file.read_exact_at(buf, self.pos).map_err(|_| ())?;
        self.pos += buf.len() as u64;
        Ok(())
    }
}

/// Every analyzer under the default limits, in the order their results are reported.
pub fn all() -> Vec<Box<dyn Analyzer>> {
    with_limits(&crate::Limits::default())
}

/// Every analyzer, in the order their results are reported; those that decompress what
/// they read (Java archives) stay within `limits`.
pub fn with_limits(limits: &crate::Limits) -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(os_release::OsRelease),
        Box::new(dpkg::DpkgStatus),
        Box::new(dpkg::DpkgFileLists),
        Box::new(dpkg::DpkgCopyright),
        Box::new(apk::ApkInstalled),
        Box::new(rpm::RpmDb),
        Box::new(python::PythonInstalled),
        Box::new(node::NodePackageJson),
        Box::new(java::JavaArchive::new(limits)),
        Box::new(ruby::GemSpec),
        Box::new(ruby::GemfileLock),
        Box::new(php::ComposerLock),
        Box::new(php::ComposerInstalled),
        Box::new(dotnet::DotnetDeps),
        Box::new(requirements::PipRequirements),
        Box::new(poetry::PoetryLock),
        Box::new(pipenv::PipfileLock),
        Box::new(uv_lock::UvLock),
        Box::new(npm_lock::NpmLock),
        Box::new(yarn_lock::YarnLock),
        Box::new(pnpm_lock::PnpmLock),
        Box::new(gobinary::GoBinary),
        Box::new(rustbinary::RustBinary),
        Box::new(cargo_lock::CargoLock),
    ]
}

/// The analyzer with this [`Analyzer::name`], for fuzz targets and tools that test one.
pub fn by_name(name: &str) -> Option<Box<dyn Analyzer>> {
    all().into_iter().find(|a| a.name() == name)
}

/// Splits text into lines without allocating, accepting `\n` and `\r\n`.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}
