//! `dir:PATH`: a root filesystem on disk, walked in place without following links.
//!
//! The walk is [`walk::Walk`]: folders are read on every core, and every folder, file and
//! link is reached relative to its parent folder's descriptor, never by a path from the
//! root, so no link in the tree (even one swapped in during the walk) leads outside it.

mod walk;

use super::{ImageMeta, ImageSource};
use crate::error::ImageError;
use crate::layer::{Content, FileResult, LayerScan, Node, Pending, Walker};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
    fn open_nofollow(&self, rel: &str) -> io::Result<File> {
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

    /// Every entry of the tree, in no particular order (the merge keys by path).
    fn scan_layer(&self, _index: usize, walker: &Walker<'_>) -> Result<LayerScan, ImageError> {
        let name = &self.meta.layers[0].name;
        let walk = walk::Walk {
            root: &self.root,
            // `/` holds the host's kernel file systems, which are not part of an image.
            skip_top: if self.root == Path::new("/") {
                &["proc", "sys", "dev"]
            } else {
                &[]
            },
        };
        let scans = walk.run(|scan: &mut LayerScan, found: walk::Found<'_>| {
            let walk::Found { rel, node, open } = found;
            if let (Node::File { .. }, Some(open)) = (&node, open) {
                let mut file = OnDisk::new(|| open.open());
                if let Err(e) = walker.on_entry(name, rel.clone(), &node, &mut file, scan) {
                    scan.skipped
                        .push((rel.clone(), "walk".into(), e.to_string()));
                }
            }
            scan.nodes.push((rel, node));
        });
        let mut all = LayerScan {
            distinct: true,
            ..LayerScan::default()
        };
        for scan in scans {
            all.nodes.extend(scan.nodes);
            all.results.extend(scan.results);
            all.skipped.extend(scan.skipped);
        }
        Ok(all)
    }

    fn fetch(
        &self,
        _index: usize,
        walker: &Walker<'_>,
        wanted: &[Pending],
    ) -> Result<Vec<FileResult>, ImageError> {
        let mut results = Vec::new();
        for want in wanted {
            let file = self
                .open_nofollow(&want.source)
                .map_err(|e| ImageError::io(self.root.join(&want.source), e))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut scan = LayerScan::default();
            let node = Node::File { size, mode: 0o644 };
            let mut file = OnDisk {
                open: || Err(io::Error::other("already open")),
                file: Some(file),
            };
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

/// A file of the tree, opened only when an analyzer asks for its bytes, so unwanted files
/// cost a `stat` and nothing more.
struct OnDisk<F: FnMut() -> io::Result<File>> {
    open: F,
    file: Option<File>,
}

impl<F: FnMut() -> io::Result<File>> OnDisk<F> {
    fn new(open: F) -> Self {
        OnDisk { open, file: None }
    }

    fn get(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            self.file = Some((self.open)()?);
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("file not opened"))
    }
}

impl<F: FnMut() -> io::Result<File>> Content for OnDisk<F> {
    fn stream(&mut self) -> io::Result<&mut dyn Read> {
        Ok(self.get()?)
    }

    fn file(&mut self) -> io::Result<Option<&File>> {
        Ok(Some(&*self.get()?))
    }
}
