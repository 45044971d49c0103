//! Reading one layer: decompress, verify, walk the tar once, and run the analyzers on the
//! files they ask for. The result records everything the merge needs; no file content
//! outlives the analyzer call that read it.

use crate::analyzer::{AnalyzeError, Analyzer, FileInfo, FileRanges, Found, Pread};
use crate::error::ImageError;
use crate::limits::Limits;
use crate::path;
use object::read::ReadRef;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a path is, as far as the merge needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A regular file (hard links are recorded as files).
    File {
        /// Size in bytes.
        size: u64,
        /// Permission bits.
        mode: u32,
    },
    /// A folder.
    Dir,
    /// A symbolic link with its target exactly as written.
    Symlink(String),
    /// A device, fifo or socket.
    Other,
}

/// The analyzers' answer for one file of one layer.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// Normalized image path.
    pub path: String,
    /// Index into the analyzer list.
    pub analyzer: usize,
    /// What it found (possibly nothing: an empty result still records that the file
    /// was analyzed, which links rely on).
    pub found: Found,
}

/// Everything one layer contributes to the merged image.
#[derive(Debug, Default)]
pub struct LayerScan {
    /// Every entry, in archive order.
    pub nodes: Vec<(String, Node)>,
    /// Paths deleted by `.wh.<name>` entries.
    pub whiteouts: Vec<String>,
    /// Folders made opaque by `.wh..wh..opq` entries.
    pub opaque_dirs: Vec<String>,
    /// Analyzer results.
    pub results: Vec<FileResult>,
    /// Files the walk could not hand to an analyzer (too large, unreadable), as
    /// (path, analyzer name, message).
    pub skipped: Vec<(String, String, String)>,
    /// Files wanted by an analyzer under a link path whose content must be fetched again:
    /// (path where the content is, path to report, analyzer index).
    pub pending: Vec<Pending>,
    /// True when every path appears once in `nodes` and nothing lies below a file or a
    /// link, as in a folder tree on disk: the merge then takes the nodes as they are
    /// instead of replaying them one by one.
    pub distinct: bool,
}

/// A file whose content an analyzer still needs, under another path (a link).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pending {
    /// Where the bytes are.
    pub source: String,
    /// The path the analyzer is told about and the result is recorded under.
    pub path: String,
    /// The analyzer.
    pub analyzer: usize,
}

/// Expected digests of a layer, verified while reading.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Digest of the blob as stored (`sha256:...`).
    pub blob: Option<String>,
    /// Digest of the uncompressed tar (`sha256:...`).
    pub diff_id: Option<String>,
}

/// A file's bytes as a source offers them to the analyzers.
pub(crate) trait Content {
    /// The bytes as a stream from the start (a tar entry, or a file on disk).
    fn stream(&mut self) -> io::Result<&mut dyn Read>;
    /// The file itself when it is on disk, so analyzers can read parts of it by offset.
    fn file(&mut self) -> io::Result<Option<&std::fs::File>>;
}

/// A tar entry: a stream only.
struct Stream<'r>(&'r mut dyn Read);

impl Content for Stream<'_> {
    fn stream(&mut self) -> io::Result<&mut dyn Read> {
        Ok(&mut *self.0)
    }

    fn file(&mut self) -> io::Result<Option<&std::fs::File>> {
        Ok(None)
    }
}

/// Shared state of one image read: the analyzers, the limits and the running byte total.
pub struct Walker<'a> {
    /// The analyzers, indexed by [`FileResult::analyzer`].
    pub analyzers: &'a [Box<dyn Analyzer>],
    /// Limits.
    pub limits: &'a Limits,
    /// Decompressed bytes read so far, across all layers.
    pub total: Arc<AtomicU64>,
}

impl Walker<'_> {
    /// Walks one layer stream and returns what it contributes. `name` identifies the layer
    /// in errors (its digest).
    pub fn scan_layer(
        &self,
        name: &str,
        blob: Box<dyn Read + Send + '_>,
        expected: &Expected,
    ) -> Result<LayerScan, ImageError> {
        let mut scan = LayerScan::default();
        self.walk(
            name,
            blob,
            expected,
            |path, node, entry, scan: &mut LayerScan| {
                self.on_entry(name, path, node, &mut Stream(entry), scan)
            },
            &mut scan,
        )?;
        self.resolve_hardlinks(&mut scan);
        Ok(scan)
    }

    /// Reads the layer again and analyzes only the `wanted` files under their link paths.
    pub fn fetch(
        &self,
        name: &str,
        blob: Box<dyn Read + Send + '_>,
        expected: &Expected,
        wanted: &[Pending],
    ) -> Result<Vec<FileResult>, ImageError> {
        let mut by_source: HashMap<&str, Vec<&Pending>> = HashMap::new();
        for p in wanted {
            by_source.entry(p.source.as_str()).or_default().push(p);
        }
        let mut results = Vec::new();
        self.walk(
            name,
            blob,
            expected,
            |path, node, entry, _: &mut LayerScan| {
                let (Some(wants), Node::File { size, mode }) = (by_source.get(path.as_str()), node)
                else {
                    return Ok(());
                };
                let content = read_bounded(entry, *size, self.limits.max_file_bytes)
                    .map_err(|e| corrupt(name, &path, e))?;
                let Some(content) = content else {
                    return Ok(());
                };
                for want in wants {
                    if let Some(analyzer) = self.analyzers.get(want.analyzer) {
                        let info = FileInfo {
                            path: &want.path,
                            size: *size,
                            mode: *mode,
                        };
                        results.push(FileResult {
                            path: want.path.clone(),
                            analyzer: want.analyzer,
                            found: run(analyzer.analyze(&info, &content)),
                        });
                    }
                }
                Ok(())
            },
            &mut LayerScan::default(),
        )?;
        Ok(results)
    }

    /// Decompresses and verifies the stream, calling `visit` for each entry in order.
    ///
    /// Decompression (and hashing of the blob) runs on a thread of its own, handing
    /// 256 KiB blocks to the tar walk through a short queue, so a single big layer uses
    /// two cores: one inflates while the other walks and analyzes.
    fn walk<F>(
        &self,
        name: &str,
        blob: Box<dyn Read + Send + '_>,
        expected: &Expected,
        visit: F,
        scan: &mut LayerScan,
    ) -> Result<(), ImageError>
    where
        F: FnMut(String, &Node, &mut dyn Read, &mut LayerScan) -> Result<(), ImageError>,
    {
        let wants_blob = expected
            .blob
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"));
        // The blob is hashed on the decompression thread. An uncompressed blob is its own
        // tar: its digest is also the diff_id, so it is hashed once, there, and the walk
        // thread does no hashing at all (for a docker archive's plain tars, hashing is
        // half the work). The compression is known only once the first bytes are read,
        // so hashing starts whenever either digest may be needed and is dropped after.
        let mut raw = BufReader::with_capacity(
            256 << 10,
            Hashing::new(blob, wants_blob || expected.diff_id.is_some()),
        );
        let head = raw.fill_buf().map_err(|e| corrupt(name, "", e))?;
        let compression = Compression::sniff(head);
        if compression != Compression::None && !wants_blob {
            raw.get_mut().hasher = None;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
        let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let (blob_digest, diff_id) = std::thread::scope(|threads| {
            let producer = threads.spawn(move || inflate(raw, compression, &tx, &spent_rx));
            let blocks = Blocks {
                rx,
                spent: spent_tx,
                block: Vec::new(),
                pos: 0,
            };
            let counted = Counted {
                // A compressed layer's tar is hashed here, if a diff_id is expected.
                inner: Hashing::new(
                    blocks,
                    expected.diff_id.is_some() && compression != Compression::None,
                ),
                total: &self.total,
                limit: self.limits.max_total_bytes,
            };
            let walked = self.walk_tar(name, counted, visit, scan);
            // `walk_tar` consumed the receiver, so a producer still sending stops now.
            let produced = producer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the decompression thread failed")));
            let diff_id = walked?;
            let blob_digest = produced.map_err(|e| corrupt(name, "", e))?;
            Ok::<_, ImageError>((blob_digest, diff_id))
        })?;
        let diff_id = match compression {
            Compression::None => diff_id.or_else(|| blob_digest.clone()),
            _ => diff_id,
        };
        if let Some(actual) = &blob_digest {
            check_digest("layer", expected.blob.as_deref(), actual)?;
        }
        if let Some(actual) = &diff_id {
            check_digest("layer diff_id", expected.diff_id.as_deref(), actual)?;
        }
        Ok(())
    }

    /// Walks the tar entries of a decompressed stream; returns its digest if it hashed it.
    fn walk_tar<F>(
        &self,
        name: &str,
        counted: Counted<'_, Blocks>,
        mut visit: F,
        scan: &mut LayerScan,
    ) -> Result<Option<String>, ImageError>
    where
        F: FnMut(String, &Node, &mut dyn Read, &mut LayerScan) -> Result<(), ImageError>,
    {
        // The tar reader asks for 512-byte headers and 8 KiB chunks; a large buffer lets
        // the decompressor work in big blocks instead.
        let mut archive = tar::Archive::new(BufReader::with_capacity(256 << 10, counted));
        let mut entries_seen = 0u64;
        let entries = archive.entries().map_err(|e| corrupt(name, "", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.read_error(name, "tar header", e))?;
            entries_seen += 1;
            if entries_seen > self.limits.max_entries_per_layer {
                return Err(ImageError::LimitExceeded {
                    place: format!("layer {name}"),
                    reason: format!(
                        "more than {} entries (--max-entries)",
                        self.limits.max_entries_per_layer
                    ),
                });
            }
            let raw_path = entry
                .path()
                .map_err(|e| corrupt(name, "entry name", e))?
                .to_string_lossy()
                .into_owned();
            let path = path::normalize(&raw_path);
            if path.is_empty() {
                continue;
            }
            let file_name = path.rsplit('/').next().unwrap_or(&path);
            if file_name == ".wh..wh..opq" {
                scan.opaque_dirs.push(path::parent(&path).to_string());
                continue;
            }
            if let Some(hidden) = file_name.strip_prefix(".wh.") {
                let dir = path::parent(&path);
                scan.whiteouts.push(path::join_link(dir, hidden));
                continue;
            }
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644) & 0o7777;
            let link = || -> Result<String, ImageError> {
                Ok(entry
                    .link_name()
                    .map_err(|e| corrupt(name, &path, e))?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default())
            };
            let node = match header.entry_type() {
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => Node::File {
                    size: entry.size(),
                    mode,
                },
                tar::EntryType::Directory => Node::Dir,
                tar::EntryType::Symlink => Node::Symlink(link()?),
                tar::EntryType::Link => {
                    let target = path::normalize(&link()?);
                    scan.pending.push(Pending {
                        source: target,
                        path: path.clone(),
                        analyzer: usize::MAX,
                    });
                    Node::File { size: 0, mode }
                }
                _ => Node::Other,
            };
            visit(path.clone(), &node, &mut entry, scan)?;
            scan.nodes.push((path, node));
        }
        // Read whatever follows the end-of-archive marker so every byte is hashed.
        let mut buffered = archive.into_inner();
        io::copy(&mut buffered, &mut io::sink())
            .map_err(|e| self.read_error(name, "trailer", e))?;
        Ok(buffered.into_inner().inner.finish())
    }

    /// Runs the analyzers that want this entry, reading no more of it than they need: an
    /// entry whose first bytes no analyzer recognises ([`Analyzer::magic`]) is not read
    /// further, and a file on disk is handed over for reads by offset.
    pub(crate) fn on_entry(
        &self,
        name: &str,
        path: String,
        node: &Node,
        entry: &mut dyn Content,
        scan: &mut LayerScan,
    ) -> Result<(), ImageError> {
        let Node::File { size, mode } = *node else {
            return Ok(());
        };
        let info = FileInfo {
            path: &path,
            size,
            mode,
        };
        let mut wanted: Vec<(usize, &dyn Analyzer)> = self
            .analyzers
            .iter()
            .enumerate()
            .filter(|(_, a)| a.required(&info))
            .map(|(i, a)| (i, a.as_ref()))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let too_big = |scan: &mut LayerScan, wanted: Vec<(usize, &dyn Analyzer)>| {
            for (_, analyzer) in wanted {
                scan.skipped.push((
                    path.clone(),
                    analyzer.name().to_string(),
                    format!(
                        "file of {size} bytes is larger than the {} byte limit (--max-file-size); not analyzed",
                        self.limits.max_file_bytes
                    ),
                ));
            }
        };
        if size > self.limits.max_file_bytes {
            too_big(scan, wanted);
            return Ok(());
        }
        // The longest magic, when every analyzer has one.
        let magic_len = wanted
            .iter()
            .try_fold(0, |n, (_, a)| a.magic().map(|m| n.max(m.len())));
        if let Some(file) = entry.file().map_err(|e| corrupt(name, &path, e))? {
            let ranges = FileRanges::new(Pread::new(file, size));
            if let Some(len) = magic_len {
                let head = ranges
                    .read_bytes_at(0, (len as u64).min(size))
                    .unwrap_or_default();
                recognised(&mut wanted, head, &path, scan);
            }
            for (i, analyzer) in wanted {
                scan.results.push(FileResult {
                    path: path.clone(),
                    analyzer: i,
                    found: run(analyzer.analyze_file(&info, &ranges)),
                });
            }
            return Ok(());
        }
        let mut head = Vec::new();
        if let Some(len) = magic_len {
            let stream = entry.stream().map_err(|e| corrupt(name, &path, e))?;
            stream
                .take(len as u64)
                .read_to_end(&mut head)
                .map_err(|e| corrupt(name, &path, e))?;
            recognised(&mut wanted, &head, &path, scan);
            if wanted.is_empty() {
                return Ok(());
            }
        }
        let stream = entry.stream().map_err(|e| corrupt(name, &path, e))?;
        let content = read_bounded(&mut head.chain(stream), size, self.limits.max_file_bytes)
            .map_err(|e| corrupt(name, &path, e))?;
        let Some(content) = content else {
            too_big(scan, wanted);
            return Ok(());
        };
        for (i, analyzer) in wanted {
            scan.results.push(FileResult {
                path: path.clone(),
                analyzer: i,
                found: run(analyzer.analyze(&info, &content)),
            });
        }
        Ok(())
    }

    /// Hard links carry no content in tar: the link names an earlier entry of the same
    /// layer. Results already computed for the target are copied to the link; targets no
    /// analyzer read are left in `pending` for a second read of this layer.
    fn resolve_hardlinks(&self, scan: &mut LayerScan) {
        let links: Vec<Pending> = std::mem::take(&mut scan.pending);
        if links.is_empty() {
            return;
        }
        let files: HashMap<&str, (u64, u32)> = scan
            .nodes
            .iter()
            .filter_map(|(p, n)| match n {
                Node::File { size, mode } => Some((p.as_str(), (*size, *mode))),
                _ => None,
            })
            .collect();
        let analyzed: HashSet<(&str, usize)> = scan
            .results
            .iter()
            .map(|r| (r.path.as_str(), r.analyzer))
            .collect();
        let mut copies = Vec::new();
        let mut pending = Vec::new();
        let mut sizes = Vec::new();
        for link in &links {
            let Some(&(size, mode)) = files.get(link.source.as_str()) else {
                continue; // a link to nothing: tar would fail to extract it too
            };
            sizes.push((link.path.clone(), size, mode));
            let info = FileInfo {
                path: &link.path,
                size,
                mode,
            };
            for (i, analyzer) in self.analyzers.iter().enumerate() {
                if !analyzer.required(&info) {
                    continue;
                }
                if analyzed.contains(&(link.source.as_str(), i)) {
                    copies.push((link.source.clone(), link.path.clone(), i));
                } else {
                    pending.push(Pending {
                        source: link.source.clone(),
                        path: link.path.clone(),
                        analyzer: i,
                    });
                }
            }
        }
        for (source, path, analyzer) in copies {
            let found = scan
                .results
                .iter()
                .find(|r| r.path == source && r.analyzer == analyzer)
                .map(|r| r.found.clone());
            if let Some(found) = found {
                scan.results.push(FileResult {
                    path,
                    analyzer,
                    found,
                });
            }
        }
        // The link's node was recorded with size 0; give it the target's metadata.
        for (path, size, mode) in sizes {
            if let Some((_, node)) = scan.nodes.iter_mut().rev().find(|(p, _)| *p == path) {
                *node = Node::File { size, mode };
            }
        }
        scan.pending = pending;
    }

    fn read_error(&self, name: &str, place: &str, e: io::Error) -> ImageError {
        if e.kind() == io::ErrorKind::OutOfMemory {
            ImageError::LimitExceeded {
                place: format!("layer {name}"),
                reason: e.to_string(),
            }
        } else {
            corrupt(name, place, e)
        }
    }
}

/// The decompression side of [`Walker::walk`]: inflates the blob into blocks sent to the
/// walk, then reads the blob to its end and returns its digest (if it was hashed). Blocks
/// the walk is done with come back through `spent` and are filled again, so the stream
/// costs a few blocks of memory and no zeroing of fresh ones.
fn inflate<R: Read>(
    mut raw: BufReader<Hashing<R>>,
    compression: Compression,
    tx: &std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>,
    spent: &std::sync::mpsc::Receiver<Vec<u8>>,
) -> io::Result<Option<String>> {
    {
        let mut decoded: Box<dyn Read + '_> = match compression {
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(&mut raw)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(&mut raw)?),
            Compression::None => Box::new(&mut raw),
        };
        loop {
            let mut block = spent.try_recv().unwrap_or_default();
            block.resize(BLOCK, 0);
            let mut filled = 0;
            while filled < block.len() {
                match decoded.read(block.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let message = e.to_string();
                        let _ = tx.send(Err(e));
                        return Err(io::Error::other(message));
                    }
                }
            }
            if filled == 0 {
                break;
            }
            block.truncate(filled);
            if tx.send(Ok(block)).is_err() {
                // The walk stopped early (an error it reports itself).
                return Ok(None);
            }
        }
    }
    io::copy(&mut raw, &mut io::sink())?;
    Ok(raw.into_inner().finish())
}

/// Size of the blocks handed from the decompression thread to the walk.
const BLOCK: usize = 256 << 10;

/// The walk side of [`Walker::walk`]: a reader over the blocks the decompressor sends;
/// each block read to its end goes back to be filled again.
struct Blocks {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    spent: std::sync::mpsc::Sender<Vec<u8>>,
    block: Vec<u8>,
    pos: usize,
}

impl Read for Blocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.block.len() {
            match self.rx.recv() {
                Ok(Ok(block)) => {
                    let done = std::mem::replace(&mut self.block, block);
                    if done.capacity() > 0 {
                        // The decompressor may have finished already; then it is dropped.
                        let _ = self.spent.send(done);
                    }
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The sender is gone: the stream ended.
                Err(_) => return Ok(0),
            }
        }
        let rest = self.block.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

/// Keeps the analyzers whose [`Analyzer::magic`] `head` starts with; the others get the
/// empty result they would have answered themselves.
fn recognised(
    wanted: &mut Vec<(usize, &dyn Analyzer)>,
    head: &[u8],
    path: &str,
    scan: &mut LayerScan,
) {
    wanted.retain(|(i, a)| {
        let known = a.magic().is_some_and(|m| head.starts_with(m));
        if !known {
            scan.results.push(FileResult {
                path: path.to_string(),
                analyzer: *i,
                found: Found::default(),
            });
        }
        known
    });
}

/// An analyzer's answer, its error turned into a warning so one bad file loses only itself.
fn run(answer: Result<Found, AnalyzeError>) -> Found {
    match answer {
        Ok(found) => found,
        Err(e) => Found {
            warnings: vec![format!("cannot be read: {e}")],
            ..Found::default()
        },
    }
}

/// Reads a whole entry if it fits the limit; `None` if it does not.
fn read_bounded(entry: &mut dyn Read, size: u64, limit: u64) -> io::Result<Option<Vec<u8>>> {
    if size > limit {
        return Ok(None);
    }
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(64 << 20));
    entry.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Ok(None);
    }
    Ok(Some(buf))
}

fn corrupt(layer: &str, place: &str, e: io::Error) -> ImageError {
    ImageError::CorruptLayer {
        layer: layer.to_string(),
        reason: if place.is_empty() {
            e.to_string()
        } else {
            format!("{place}: {e}")
        },
    }
}

fn check_digest(
    what: &'static str,
    expected: Option<&str>,
    actual: &str,
) -> Result<(), ImageError> {
    match expected {
        Some(exp) if exp.starts_with("sha256:") && exp != actual => {
            Err(ImageError::DigestMismatch {
                what,
                expected: exp.to_string(),
                actual: actual.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// The compression of a layer blob, recognised by its first bytes rather than trusted
/// from the media type (docker archives often hold plain tars under gzip names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
    /// A plain tar.
    None,
}

impl Compression {
    /// Recognises the compression from the first bytes of a stream.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A reader that hashes (SHA-256) everything read through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Option<Sha256>,
}

impl<R> Hashing<R> {
    /// Wraps `inner`; hashes only when `enabled`, so unverified streams cost nothing.
    pub fn new(inner: R, enabled: bool) -> Self {
        Hashing {
            inner,
            hasher: enabled.then(Sha256::new),
        }
    }

    /// The `sha256:<hex>` digest of everything read so far, if hashing was enabled.
    pub fn finish(&mut self) -> Option<String> {
        self.hasher
            .take()
            .map(|h| format!("sha256:{}", hex::encode(h.finalize())))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(n)
    }
}

/// Counts decompressed bytes against the image-wide limit.
struct Counted<'t, R> {
    inner: Hashing<R>,
    total: &'t AtomicU64,
    limit: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.total.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "more than {} decompressed bytes in the image (--max-image-size)",
                    self.limit
                ),
            ));
        }
        Ok(n)
    }
}
