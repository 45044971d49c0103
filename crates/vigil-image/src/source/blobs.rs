//! Where the files of an image layout or archive live: a folder, or a tar read in place.

use crate::error::ImageError;
use crate::layer::Compression;
use crate::limits::Limits;
use crate::path;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Named files of a layout or archive (`index.json`, `blobs/sha256/...`, `manifest.json`).
pub trait BlobStore: Send + Sync {
    /// Opens a file for streaming.
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>, ImageError>;

    /// Whether the file exists.
    fn exists(&self, name: &str) -> bool;

    /// Describes the store in messages.
    fn place(&self) -> String;

    /// Reads a small file whole, failing past `limit` bytes.
    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>, ImageError> {
        let mut buf = Vec::new();
        self.open(name)?
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ImageError::io(format!("{}/{name}", self.place()), e))?;
        if buf.len() as u64 > limit {
            return Err(ImageError::LimitExceeded {
                place: format!("{}/{name}", self.place()),
                reason: format!("larger than {limit} bytes"),
            });
        }
        Ok(buf)
    }
}

/// A folder on disk (an OCI layout). Names are joined under the root after
/// normalization, so none can point outside it.
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root`.
    pub fn new(root: PathBuf) -> DirStore {
        DirStore { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(path::normalize(name))
    }
}

impl BlobStore for DirStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        let p = self.path(name);
        let file = File::open(&p).map_err(|e| ImageError::io(&p, e))?;
        Ok(Box::new(file))
    }

    fn exists(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    fn place(&self) -> String {
        self.root.display().to_string()
    }
}

/// Where a member's bytes sit in the tar.
#[derive(Debug, Clone)]
enum Member {
    Data { offset: u64, size: u64 },
    Link(String),
}

/// A tar archive (`docker save`, `oci-archive`) indexed once by its headers and read in
/// place: members are streamed from their offsets, never extracted. A compressed archive
/// is first decompressed to a temporary file, since members must be reachable by offset.
pub struct TarStore {
    /// The archive as the user named it, for messages.
    origin: PathBuf,
    /// The tar actually read (a temporary file when the archive was compressed).
    file: PathBuf,
    members: HashMap<String, Member>,
    _temp: Option<tempfile::TempPath>,
}

impl TarStore {
    /// Indexes `file`.
    pub fn open(file: &Path, limits: &Limits) -> Result<TarStore, ImageError> {
        let io_err = |e| ImageError::io(file, e);
        let mut reader = BufReader::new(File::open(file).map_err(io_err)?);
        let compression = Compression::sniff(reader.fill_buf().map_err(io_err)?);
        let (path, temp) = match compression {
            Compression::None => (file.to_path_buf(), None),
            c => {
                let mut tmp = tempfile::NamedTempFile::new().map_err(io_err)?;
                let mut decoder: Box<dyn Read> = match c {
                    Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
                    _ => {
                        Box::new(zstd::stream::read::Decoder::with_buffer(reader).map_err(io_err)?)
                    }
                };
                let copied = io::copy(
                    &mut (&mut decoder).take(limits.max_total_bytes + 1),
                    &mut tmp,
                )
                .map_err(io_err)?;
                if copied > limits.max_total_bytes {
                    return Err(ImageError::LimitExceeded {
                        place: file.display().to_string(),
                        reason: format!(
                            "decompresses to more than {} bytes",
                            limits.max_total_bytes
                        ),
                    });
                }
                let temp = tmp.into_temp_path();
                (temp.to_path_buf(), Some(temp))
            }
        };
        let members = index(&path).map_err(|e| ImageError::InvalidMetadata {
            what: "archive",
            place: file.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(TarStore {
            origin: file.to_path_buf(),
            file: path,
            members,
            _temp: temp,
        })
    }

    fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = path::normalize(name);
        for _ in 0..8 {
            match self.members.get(&name)? {
                Member::Data { offset, size } => return Some((*offset, *size)),
                Member::Link(target) => name = target.clone(),
            }
        }
        None
    }
}

/// Reads the headers of a tar, seeking over member data.
fn index(path: &Path) -> io::Result<HashMap<String, Member>> {
    let mut archive = tar::Archive::new(File::open(path)?);
    let mut members = HashMap::new();
    for entry in archive.entries_with_seek()? {
        let entry = entry?;
        let name = path::normalize(&entry.path()?.to_string_lossy());
        let link = |e: &tar::Entry<'_, File>| -> io::Result<String> {
            Ok(e.link_name()?
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default())
        };
        let member = match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Member::Data {
                offset: entry.raw_file_position(),
                size: entry.size(),
            },
            tar::EntryType::Symlink => {
                Member::Link(path::join_link(path::parent(&name), &link(&entry)?))
            }
            tar::EntryType::Link => Member::Link(path::normalize(&link(&entry)?)),
            _ => continue,
        };
        members.insert(name, member);
    }
    Ok(members)
}

impl BlobStore for TarStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        let (offset, size) = self.locate(name).ok_or_else(|| {
            ImageError::io(
                format!("{}/{name}", self.origin.display()),
                io::Error::new(io::ErrorKind::NotFound, "no such member in the archive"),
            )
        })?;
        let io_err = |e| ImageError::io(&self.file, e);
        let mut file = File::open(&self.file).map_err(io_err)?;
        file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
        Ok(Box::new(file.take(size)))
    }

    fn exists(&self, name: &str) -> bool {
        self.locate(name).is_some()
    }

    fn place(&self) -> String {
        self.origin.display().to_string()
    }
}
