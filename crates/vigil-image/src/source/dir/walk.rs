//! A parallel walk of a folder tree by file descriptors.
//!
//! Why not a crate: `walkdir` runs on one thread; `jwalk` and the `ignore` crate's
//! parallel walker spread folders over threads, but stat and open every entry by its path
//! from the root, which the kernel resolves again component by component for each of
//! them (a tenth of the walk's time on a Debian root filesystem), and which a link swapped
//! into a parent folder during the walk could redirect. Here every folder is read through
//! its own descriptor and each entry is reached by its name alone (`openat` and `fstatat`
//! relative to the folder, `O_NOFOLLOW`), with `rustix`'s safe system calls; the threads
//! share a stack of folders still to read.
//!
//! Descriptors: a folder's stays open while folders below it wait on the stack. The stack
//! is last-in first-out, so that is about one per level of the deepest path being walked
//! per thread; a tree deeper than the open-file limit reports the folders it could not
//! open as warnings (`walkdir`, which walks by paths, stops at the path length limit).

use crate::layer::{LayerScan, Node};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

/// What to walk.
pub(super) struct Walk<'a> {
    /// The root folder (links in this path itself are followed: the user named it).
    pub root: &'a Path,
    /// Names skipped directly under the root.
    pub skip_top: &'a [&'a str],
}

/// One entry of the tree, handed to the visitor.
pub(super) struct Found<'d> {
    /// Path relative to the root, without a leading `/`.
    pub rel: String,
    /// What it is.
    pub node: Node,
    /// For regular files: opens the file through its folder.
    pub open: Option<Opener<'d>>,
}

/// Opens one regular file relative to its folder, without following a link.
pub(super) struct Opener<'d> {
    dir: BorrowedFd<'d>,
    name: &'d CStr,
}

impl Opener<'_> {
    /// Opens the file for reading.
    pub fn open(&self) -> std::io::Result<File> {
        let fd = rustix::fs::openat(
            self.dir,
            self.name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }
}

/// A folder still to read: its name in its parent, whose descriptor it keeps open.
struct Job {
    parent: Arc<OwnedFd>,
    name: CString,
    rel: String,
}

/// The stack of folders shared by the walking threads.
struct Shared {
    jobs: Vec<Job>,
    /// Threads reading a folder (which may push more).
    busy: usize,
}

impl Walk<'_> {
    /// Walks the tree on `available_parallelism` threads and returns one scan per thread:
    /// `visit` records each entry; unreadable entries are recorded as skipped, with the
    /// walk as their source.
    pub fn run<V>(&self, visit: V) -> Vec<LayerScan>
    where
        V: Fn(&mut LayerScan, Found<'_>) + Sync,
    {
        let root = match rustix::fs::openat(
            rustix::fs::CWD,
            self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Arc::new(fd),
            Err(e) => {
                let mut scan = LayerScan::default();
                skipped(&mut scan, String::new(), e);
                return vec![scan];
            }
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Every thread counts as busy until it first asks for work, so none can see an
        // empty stack and stop before the root has been read.
        let shared = Mutex::new(Shared {
            jobs: Vec::new(),
            busy: threads,
        });
        let wake = Condvar::new();
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|i| {
                    let (shared, wake, visit, root) = (&shared, &wake, &visit, &root);
                    s.spawn(move || {
                        let mut scan = LayerScan::default();
                        let mut found = Vec::new();
                        // The first thread reads the root; the others wait for folders.
                        if i == 0 {
                            self.read_folder(root, true, "", &mut found, &mut scan, visit);
                        }
                        loop {
                            let Some(job) = take(shared, wake, &mut found) else {
                                break;
                            };
                            match open_folder(&job) {
                                Ok(fd) => {
                                    self.read_folder(
                                        &fd, false, &job.rel, &mut found, &mut scan, visit,
                                    );
                                }
                                Err(e) => skipped(&mut scan, job.rel, e),
                            }
                        }
                        scan
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_default())
                .collect()
        })
    }

    /// Reads one folder: visits each entry and adds its sub-folders to `found`.
    fn read_folder<V>(
        &self,
        fd: &Arc<OwnedFd>,
        top: bool,
        rel: &str,
        found: &mut Vec<Job>,
        scan: &mut LayerScan,
        visit: &V,
    ) where
        V: Fn(&mut LayerScan, Found<'_>) + Sync,
    {
        // `Dir` reads through a duplicate; the folder's own descriptor serves `*at` calls.
        let dir = match fd.try_clone().map(Dir::new) {
            Ok(Ok(dir)) => dir,
            Ok(Err(e)) => return skipped(scan, rel.to_string(), e),
            Err(e) => return skipped(scan, rel.to_string(), e),
        };
        for entry in dir {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => return skipped(scan, rel.to_string(), e),
            };
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text == "." || text == ".." || (top && self.skip_top.contains(&&*text)) {
                continue;
            }
            let child = if rel.is_empty() {
                text.into_owned()
            } else {
                format!("{rel}/{text}")
            };
            let mut kind = entry.file_type();
            let mut meta = (0, 0);
            if matches!(kind, FileType::RegularFile | FileType::Unknown) {
                match rustix::fs::statat(fd.as_fd(), name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => {
                        let mode = st.st_mode;
                        kind = FileType::from_raw_mode(mode);
                        meta = (u64::try_from(st.st_size).unwrap_or(0), mode & 0o7777);
                    }
                    Err(e) => {
                        skipped(scan, child, e);
                        continue;
                    }
                }
            }
            let node = match kind {
                FileType::Directory => {
                    found.push(Job {
                        parent: Arc::clone(fd),
                        name: name.to_owned(),
                        rel: child.clone(),
                    });
                    Node::Dir
                }
                FileType::Symlink => match rustix::fs::readlinkat(fd.as_fd(), name, Vec::new()) {
                    Ok(target) => Node::Symlink(target.to_string_lossy().into_owned()),
                    Err(e) => {
                        skipped(scan, child, e);
                        continue;
                    }
                },
                FileType::RegularFile => Node::File {
                    size: meta.0,
                    mode: meta.1,
                },
                _ => Node::Other,
            };
            let open = matches!(node, Node::File { .. }).then(|| Opener {
                dir: fd.as_fd(),
                name,
            });
            visit(
                scan,
                Found {
                    rel: child,
                    node,
                    open,
                },
            );
        }
    }
}

/// Opens a folder by its name in its parent, refusing a link.
fn open_folder(job: &Job) -> rustix::io::Result<Arc<OwnedFd>> {
    rustix::fs::openat(
        job.parent.as_fd(),
        job.name.as_c_str(),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(Arc::new)
}

/// Hands the folders this thread found to the others and takes the next folder to read;
/// `None` once the stack is empty and no thread is reading (none can add more).
fn take(shared: &Mutex<Shared>, wake: &Condvar, found: &mut Vec<Job>) -> Option<Job> {
    let mut sh = shared.lock().ok()?;
    let had = found.len();
    sh.jobs.append(found);
    sh.busy = sh.busy.saturating_sub(1);
    if had > 1 {
        wake.notify_all();
    }
    loop {
        if let Some(job) = sh.jobs.pop() {
            sh.busy += 1;
            return Some(job);
        }
        if sh.busy == 0 {
            wake.notify_all();
            return None;
        }
        sh = wake.wait(sh).ok()?;
    }
}

/// Records an entry the walk could not read.
fn skipped(scan: &mut LayerScan, rel: String, e: impl Into<std::io::Error>) {
    scan.skipped
        .push((rel, "walk".into(), e.into().to_string()));
}
