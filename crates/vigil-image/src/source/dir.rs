//! `dir:PATH`: a root filesystem on disk, walked in place without following links.

use super::{ImageMeta, ImageSource};
use crate::error::ImageError;
use crate::layer::{FileResult, LayerScan, Node, Pending, Walker};
use crate::path;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Kernel file systems that are not part of an image when the root is `/`.
const VIRTUAL_DIRS: [&str; 3] = ["proc", "sys", "dev"];

/// A root filesystem folder.
pub struct DirSource {
    root: PathBuf,
    meta: ImageMeta,
}

impl DirSource {
    /// Checks that `root` is a folder.
    pub fn open(root: &Path, target: vigil_core::TargetInfo) -> Result<Self, ImageError> {
        let md = std::fs::metadata(root).map_err(|e| ImageError::io(root, e))?;
        if !md.is_dir() {
            return Err(ImageError::InvalidTarget {
                target: target.reference,
                reason: format!("{} is not a folder", root.display()),
            });
        }
        Ok(DirSource {
            root: root.to_path_buf(),
            meta: ImageMeta {
                target,
                layers: vec![super::LayerDesc {
                    name: root.display().to_string(),
                    ..super::LayerDesc::default()
                }],
                ..ImageMeta::default()
            },
        })
    }

    /// Opens a file of the tree without following a link in its last component, so a
    /// link swapped in after the walk cannot lead outside the root.
    fn open_nofollow(&self, rel: &str) -> std::io::Result<File> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.root.join(rel))
    }
}

impl ImageSource for DirSource {
    fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    fn open_layer(&self, _index: usize) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        Err(ImageError::InvalidTarget {
            target: self.meta.target.reference.clone(),
            reason: "a folder has no layer stream".into(),
        })
    }

    fn scan_layer(&self, _index: usize, walker: &Walker<'_>) -> Result<LayerScan, ImageError> {
        let mut scan = LayerScan::default();
        let is_host_root = self.root == Path::new("/");
        let walk = walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                !(is_host_root
                    && e.depth() == 1
                    && VIRTUAL_DIRS.iter().any(|d| e.file_name() == *d))
            });
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let rel = e
                        .path()
                        .and_then(|p| p.strip_prefix(&self.root).ok())
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    scan.skipped.push((rel, "walk".into(), e.to_string()));
                    continue;
                }
            };
            if entry.depth() == 0 {
                continue;
            }
            let rel = path::normalize(
                &entry
                    .path()
                    .strip_prefix(&self.root)
                    .unwrap_or(entry.path())
                    .to_string_lossy(),
            );
            let ft = entry.file_type();
            let node = if ft.is_dir() {
                Node::Dir
            } else if ft.is_symlink() {
                match std::fs::read_link(entry.path()) {
                    Ok(t) => Node::Symlink(t.to_string_lossy().into_owned()),
                    Err(e) => {
                        scan.skipped.push((rel, "walk".into(), e.to_string()));
                        continue;
                    }
                }
            } else if ft.is_file() {
                match entry.metadata() {
                    Ok(md) => Node::File {
                        size: md.len(),
                        mode: md.mode() & 0o7777,
                    },
                    Err(e) => {
                        scan.skipped.push((rel, "walk".into(), e.to_string()));
                        continue;
                    }
                }
            } else {
                Node::Other
            };
            if let Node::File { .. } = node {
                let mut opened: Option<std::io::Result<File>> = None;
                let mut lazy = LazyFile {
                    open: || self.open_nofollow(&rel),
                    file: &mut opened,
                };
                if let Err(e) = walker.on_entry(
                    &self.meta.layers[0].name,
                    rel.clone(),
                    &node,
                    &mut lazy,
                    &mut scan,
                ) {
                    scan.skipped
                        .push((rel.clone(), "walk".into(), e.to_string()));
                }
            }
            scan.nodes.push((rel, node));
        }
        Ok(scan)
    }

    fn fetch(
        &self,
        _index: usize,
        walker: &Walker<'_>,
        wanted: &[Pending],
    ) -> Result<Vec<FileResult>, ImageError> {
        let mut results = Vec::new();
        for want in wanted {
            let mut file = self
                .open_nofollow(&want.source)
                .map_err(|e| ImageError::io(self.root.join(&want.source), e))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut scan = LayerScan::default();
            let node = Node::File { size, mode: 0o644 };
            walker.on_entry(
                &self.meta.layers[0].name,
                want.path.clone(),
                &node,
                &mut file,
                &mut scan,
            )?;
            results.extend(
                scan.results
                    .into_iter()
                    .filter(|r| r.analyzer == want.analyzer),
            );
        }
        Ok(results)
    }
}

/// Opens the file only when an analyzer asks for its bytes, so unwanted files cost a
/// `stat` and nothing more.
struct LazyFile<'f, F: FnMut() -> std::io::Result<File>> {
    open: F,
    file: &'f mut Option<std::io::Result<File>>,
}

impl<F: FnMut() -> std::io::Result<File>> Read for LazyFile<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            *self.file = Some((self.open)());
        }
        match self.file {
            Some(Ok(f)) => f.read(buf),
            Some(Err(e)) => Err(std::io::Error::new(e.kind(), e.to_string())),
            None => Ok(0),
        }
    }
}
