//! Following a growing log file as `tail -F` does, behind `std::io::Read`, so the audit
//! log reader (or any line reader) works on a live file unchanged.
//!
//! [`Follow`] blocks instead of reporting end of file: at the end it polls (a short
//! sleep; portable, and an audit log grows in bursts anyway) until the file grows, is
//! rotated (renamed and recreated: the path names another inode, so the old file's
//! remainder is read first, then the new file from its start), is truncated (it shrank
//! under the read position: read again from 0, as after `copytruncate`), or appears
//! (a file that did not exist yet is read from its start). It only ever hands out whole
//! lines: a writer caught mid-line is waited for, so a reader never sees half an event.
//! The one exception is a file that is finished (rotated away or truncated) with an
//! unterminated last line: that line is ended with a newline, so it cannot glue onto the
//! next file's first line. End of file is reported only once the stop flag is set (and,
//! when asked for, once at each switch to another file, so a reader can restart its line
//! numbers).

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Longest unterminated line held back waiting for its end; a longer one is handed out
/// as it is (the audit log reader then skips it as overlong), so memory stays bounded.
/// Matches the audit log reader's document cap.
pub const MAX_PENDING_LINE: usize = 16 << 20;

/// How much is read from the file at a time.
const CHUNK: usize = 64 << 10;

/// Where reading starts in a file that already exists when following begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At its first byte.
    Beginning,
    /// After its last complete line: only what is written from now on is read.
    End,
}

/// Inode identity: a path naming another file means the log was rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(m: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId(m.dev(), m.ino()))
}

/// Without inode numbers rotation is not detected; truncation still is.
#[cfg(not(unix))]
fn file_id(_: &Metadata) -> Option<FileId> {
    None
}

/// What happened to the followed path since the last read reached the end.
enum Change {
    /// Nothing: wait.
    None,
    /// The path names another file now.
    Rotated,
    /// The file is shorter than what was read.
    Truncated,
}

/// A file followed across growth, rotation and truncation; see the module doc.
#[derive(Debug)]
pub struct Follow {
    path: PathBuf,
    file: Option<File>,
    id: Option<FileId>,
    /// Bytes read from the current file.
    offset: u64,
    /// Bytes read but not handed out yet: `buf[pos..ready]` are whole lines,
    /// `buf[ready..]` the start of a line still being written.
    buf: Vec<u8>,
    pos: usize,
    ready: usize,
    /// Started in the middle of a line: drop bytes up to its end.
    skip_partial: bool,
    poll: Duration,
    stop: Arc<AtomicBool>,
    eof_at_switch: bool,
    /// A switch to another file (or a truncation) happened since the last end of file.
    switched: bool,
    files_opened: u64,
}

impl Follow {
    /// Follows `path`. An existing file is opened now and read from `start`; a path that
    /// does not exist yet is waited for, and read from its start once it appears.
    pub fn new(path: impl Into<PathBuf>, start: Start) -> io::Result<Follow> {
        let mut follow = Follow {
            path: path.into(),
            file: None,
            id: None,
            offset: 0,
            buf: Vec::new(),
            pos: 0,
            ready: 0,
            skip_partial: false,
            poll: Duration::from_millis(200),
            stop: Arc::new(AtomicBool::new(false)),
            eof_at_switch: false,
            switched: false,
            files_opened: 0,
        };
        if follow.open()? && start == Start::End {
            follow.seek_to_end()?;
        }
        Ok(follow)
    }

    /// Ends reading (end of file at the next line boundary) once `stop` is set, e.g. by
    /// a signal handler. Lines still being written are dropped, never handed out half.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Follow {
        self.stop = stop;
        self
    }

    /// How long to sleep between looks at an idle file (default 200 ms).
    pub fn with_poll_interval(mut self, poll: Duration) -> Follow {
        self.poll = poll;
        self
    }

    /// Reports end of file once at each switch to another file (rotation, truncation),
    /// after the old file's last line, so a reader can start afresh (line numbers,
    /// unfinished documents) and then go on reading the same `Follow`.
    pub fn with_eof_at_switch(mut self, yes: bool) -> Follow {
        self.eof_at_switch = yes;
        self
    }

    /// The flag that stops reading.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// True once the stop flag is set.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True while the path has not appeared yet.
    pub fn waiting(&self) -> bool {
        self.file.is_none()
    }

    /// How many files (the first one, then one per rotation) have been opened.
    pub fn files_opened(&self) -> u64 {
        self.files_opened
    }

    /// Opens the path, reading from its start. `false` when it does not exist (yet).
    fn open(&mut self) -> io::Result<bool> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        self.id = file_id(&file.metadata()?);
        self.file = Some(file);
        self.offset = 0;
        self.files_opened += 1;
        Ok(true)
    }

    /// Moves to the end of the current file, after its last complete line.
    fn seek_to_end(&mut self) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let len = file.seek(SeekFrom::End(0))?;
        self.offset = len;
        if len > 0 {
            // A writer caught mid-line: its line started before us, skip the rest of it.
            file.seek(SeekFrom::Start(len - 1))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last)?;
            self.skip_partial = last != *b"\n";
        }
        Ok(())
    }

    /// Takes bytes read from the file, keeping the held-back tail of a line apart.
    fn take(&mut self, mut data: &[u8]) {
        if self.skip_partial {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    data = data.get(i + 1..).unwrap_or_default();
                    self.skip_partial = false;
                }
                None => return,
            }
        }
        let base = self.buf.len();
        self.buf.extend_from_slice(data);
        if let Some(i) = data.iter().rposition(|&b| b == b'\n') {
            self.ready = base + i + 1;
        }
        if self.buf.len() - self.ready > MAX_PENDING_LINE {
            self.ready = self.buf.len();
        }
    }

    /// The current file is finished: end its unterminated last line, if any.
    fn finish_file(&mut self) {
        if self.buf.len() > self.ready {
            self.buf.push(b'\n');
            self.ready = self.buf.len();
        }
        self.skip_partial = false;
        self.switched = true;
    }

    /// Looks at the path and the open file once the file's end was reached.
    fn change(&mut self) -> io::Result<Change> {
        let Some(file) = self.file.as_ref() else {
            return Ok(Change::None);
        };
        match std::fs::metadata(&self.path) {
            Ok(m) if file_id(&m) != self.id => return Ok(Change::Rotated),
            // Renamed away and not recreated yet: keep reading the old file.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Change::None),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        if file.metadata()?.len() < self.offset {
            return Ok(Change::Truncated);
        }
        Ok(Change::None)
    }

    /// Reads what the file has next. `false` when there was nothing new to read.
    fn fill(&mut self) -> io::Result<bool> {
        if self.file.is_none() && !self.open()? {
            return Ok(false);
        }
        let mut chunk = vec![0u8; CHUNK];
        let n = match self.file.as_mut() {
            Some(f) => f.read(&mut chunk)?,
            None => 0,
        };
        if n > 0 {
            self.offset += n as u64;
            self.take(chunk.get(..n).unwrap_or_default());
            return Ok(true);
        }
        match self.change()? {
            Change::None => Ok(false),
            Change::Truncated => {
                self.finish_file();
                if let Some(f) = self.file.as_mut() {
                    f.seek(SeekFrom::Start(0))?;
                }
                self.offset = 0;
                Ok(true)
            }
            Change::Rotated => {
                // The end was reached before the path was looked at: read what the
                // writer added to the old file meanwhile, then move on to the new one.
                let n = match self.file.as_mut() {
                    Some(f) => f.read(&mut chunk)?,
                    None => 0,
                };
                if n > 0 {
                    self.offset += n as u64;
                    self.take(chunk.get(..n).unwrap_or_default());
                    return Ok(true);
                }
                self.finish_file();
                self.file = None;
                // Gone again between the look and the open: wait for it like at start.
                self.open()?;
                Ok(true)
            }
        }
    }
}

impl Read for Follow {
    /// Whole lines as they are written; blocks while there are none, until stopped.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos < self.ready {
                let lines = self.buf.get(self.pos..self.ready).unwrap_or_default();
                let n = lines.len().min(out.len());
                if let (Some(dst), Some(src)) = (out.get_mut(..n), lines.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.pos += n;
                if self.pos == self.ready {
                    self.buf.drain(..self.ready);
                    self.pos = 0;
                    self.ready = 0;
                }
                return Ok(n);
            }
            if self.switched {
                self.switched = false;
                if self.eof_at_switch {
                    return Ok(0);
                }
            }
            if self.stopped() {
                return Ok(0);
            }
            if !self.fill()? {
                std::thread::sleep(self.poll);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;
    use std::time::Instant;

    const POLL: Duration = Duration::from_millis(10);
    const WAIT: Duration = Duration::from_secs(10);

    /// Reads lines of `follow` on a thread of its own; `None` marks end of file.
    fn lines(follow: Follow) -> (mpsc::Receiver<Option<String>>, Arc<AtomicBool>) {
        let stop = follow.stop_handle();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(follow);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) => {
                        if tx.send(None).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        });
        (rx, stop)
    }

    fn next(rx: &mpsc::Receiver<Option<String>>) -> Option<String> {
        rx.recv_timeout(WAIT).expect("a line in time")
    }

    /// Nothing more arrives for a while.
    fn quiet(rx: &mpsc::Receiver<Option<String>>) {
        match rx.recv_timeout(POLL * 20) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn follow(path: &Path, start: Start) -> Follow {
        Follow::new(path, start).unwrap().with_poll_interval(POLL)
    }

    #[test]
    fn appended_lines_from_the_end_and_never_half_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        append(&path, "old 1\nold 2\nhalf of a li");
        let (rx, _stop) = lines(follow(&path, Start::End));
        quiet(&rx);
        // The line that was being written when following began is not ours.
        append(&path, "ne\nnew 1\n");
        assert_eq!(next(&rx).as_deref(), Some("new 1\n"));
        append(&path, "{\"partial\":");
        quiet(&rx);
        append(&path, "true}\n");
        assert_eq!(next(&rx).as_deref(), Some("{\"partial\":true}\n"));
    }

    #[test]
    fn from_the_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        append(&path, "a\nb\n");
        let (rx, _stop) = lines(follow(&path, Start::Beginning));
        assert_eq!(next(&rx).as_deref(), Some("a\n"));
        assert_eq!(next(&rx).as_deref(), Some("b\n"));
        quiet(&rx);
    }

    #[test]
    fn rotation_reads_the_old_remainder_then_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let rotated = dir.path().join("audit.log.1");
        append(&path, "");
        let (rx, _stop) = lines(follow(&path, Start::End));
        append(&path, "1\n");
        assert_eq!(next(&rx).as_deref(), Some("1\n"));
        std::fs::rename(&path, &rotated).unwrap();
        // The writer still had these for the old file, the last one unterminated.
        append(&rotated, "2\n3");
        append(&path, "4\n");
        assert_eq!(next(&rx).as_deref(), Some("2\n"));
        assert_eq!(next(&rx).as_deref(), Some("3\n"));
        assert_eq!(next(&rx).as_deref(), Some("4\n"));
        append(&path, "5\n");
        assert_eq!(next(&rx).as_deref(), Some("5\n"));
        quiet(&rx);
    }

    #[test]
    fn end_of_file_at_each_switch_when_asked_then_reading_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        append(&path, "");
        let (rx, _stop) = lines(follow(&path, Start::End).with_eof_at_switch(true));
        append(&path, "1\n");
        assert_eq!(next(&rx).as_deref(), Some("1\n"));
        std::fs::rename(&path, dir.path().join("old")).unwrap();
        append(&path, "2\n");
        assert_eq!(next(&rx), None);
        assert_eq!(next(&rx).as_deref(), Some("2\n"));
    }

    #[test]
    fn truncation_reads_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        append(&path, "");
        let (rx, _stop) = lines(follow(&path, Start::End));
        append(&path, "a long first line\n");
        assert_eq!(next(&rx).as_deref(), Some("a long first line\n"));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        // Let the shrink be seen before the file grows past the old length again.
        quiet(&rx);
        append(&path, "b\n");
        assert_eq!(next(&rx).as_deref(), Some("b\n"));
    }

    #[test]
    fn a_file_created_later_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let f = follow(&path, Start::End);
        assert!(f.waiting());
        let (rx, _stop) = lines(f);
        quiet(&rx);
        append(&path, "first\nsecond\n");
        assert_eq!(next(&rx).as_deref(), Some("first\n"));
        assert_eq!(next(&rx).as_deref(), Some("second\n"));
    }

    #[test]
    fn stop_ends_reading_without_handing_out_half_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        append(&path, "");
        let (rx, stop) = lines(follow(&path, Start::End));
        append(&path, "whole\nhal");
        assert_eq!(next(&rx).as_deref(), Some("whole\n"));
        let started = Instant::now();
        stop.store(true, Ordering::Relaxed);
        assert_eq!(next(&rx), None);
        assert!(started.elapsed() < WAIT);
    }

    #[test]
    fn an_endless_line_is_handed_out_rather_than_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        append(&path, &"x".repeat(MAX_PENDING_LINE + 10));
        let mut f = follow(&path, Start::Beginning);
        let mut buf = vec![0u8; 1024];
        assert_eq!(f.read(&mut buf).unwrap(), 1024);
    }
}
