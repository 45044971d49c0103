//! The disk spool between the pipeline and the publisher: what the collector handed over
//! survives a backend that is away for hours and a sensor restart.
//!
//! Two lanes, alerts and raw events, each a series of segment files of JSON lines. The
//! pipeline appends to each lane's open segment (`LANE-SEQ.open`); a segment is sealed
//! (synced, renamed to `LANE-SEQ.jsonl`) when it is big or old enough, and the publisher
//! sends sealed segments, alerts first, deleting each once the server acknowledged it.
//! Appends reach the kernel at once, so a crashed sensor loses nothing it appended; an
//! `.open` segment found at start is sealed as it is (a torn last line dropped).
//!
//! The spool is bounded. Past `max_bytes` the oldest sealed event segments are deleted
//! and counted; alert segments are never deleted for room.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which lane a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Alerts: never dropped for room.
    Alerts,
    /// Raw events: the oldest go first when the spool is full.
    Events,
}

impl Lane {
    fn name(self) -> &'static str {
        match self {
            Lane::Alerts => "alerts",
            Lane::Events => "events",
        }
    }

    const ALL: [Lane; 2] = [Lane::Alerts, Lane::Events];
}

/// Bounds of a spool.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// All segments together, bytes.
    pub max_bytes: u64,
    /// A segment is sealed at this size.
    pub segment_bytes: u64,
    /// ...or when its first line is this old.
    pub segment_age: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 1 << 30,
            segment_bytes: 4 << 20,
            segment_age: Duration::from_secs(1),
        }
    }
}

/// A sealed segment, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its lane.
    pub lane: Lane,
    /// Its sequence number (increasing per spool).
    pub seq: u64,
    /// The file.
    pub path: PathBuf,
}

/// What the spool has dropped for room since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Raw events (lines).
    pub events: u64,
    /// Bytes.
    pub bytes: u64,
}

struct Open {
    file: File,
    seq: u64,
    bytes: u64,
    since: Instant,
}

/// A spool directory.
pub struct Spool {
    dir: PathBuf,
    id: String,
    limits: Limits,
    next_seq: u64,
    open: [Option<Open>; 2],
    /// Bytes in sealed segments plus open ones.
    bytes: u64,
    dropped: Dropped,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spool({}, {} bytes)", self.dir.display(), self.bytes)
    }
}

fn parse_name(name: &str) -> Option<(Lane, u64, bool)> {
    let (stem, sealed) = if let Some(s) = name.strip_suffix(".jsonl") {
        (s, true)
    } else if let Some(s) = name.strip_suffix(".open") {
        (s, false)
    } else {
        return None;
    };
    let (lane, seq) = stem.split_once('-')?;
    let lane = Lane::ALL.into_iter().find(|l| l.name() == lane)?;
    Some((lane, seq.parse().ok()?, sealed))
}

fn lane_index(lane: Lane) -> usize {
    match lane {
        Lane::Alerts => 0,
        Lane::Events => 1,
    }
}

/// Cuts a torn last line (one without its newline) off a segment a crash left open.
fn drop_torn_tail(path: &Path) -> io::Result<()> {
    let bytes = fs::read(path)?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep != bytes.len() {
        OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(keep as u64)?;
    }
    Ok(())
}

impl Spool {
    /// Opens the spool at `dir` (made when missing), sealing segments a previous run left
    /// open. The spool's id, kept in `dir/id`, makes its batch ids unique across spools.
    pub fn open(dir: &Path, limits: Limits) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        let id_path = dir.join("id");
        let id = match fs::read_to_string(&id_path) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
            _ => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
                let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                fs::write(&id_path, &id)?;
                id
            }
        };
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            id,
            limits,
            next_seq: 1,
            open: [None, None],
            bytes: 0,
            dropped: Dropped::default(),
        };
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some((lane, seq, sealed)) = name.to_str().and_then(parse_name) else {
                continue;
            };
            let mut path = entry.path();
            if !sealed {
                drop_torn_tail(&path)?;
                let to = spool.sealed_path(lane, seq);
                fs::rename(&path, &to)?;
                path = to;
            }
            spool.bytes += fs::metadata(&path)?.len();
            spool.next_seq = spool.next_seq.max(seq + 1);
        }
        Ok(spool)
    }

    /// The spool's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn sealed_path(&self, lane: Lane, seq: u64) -> PathBuf {
        self.dir.join(format!("{}-{seq:016}.jsonl", lane.name()))
    }

    fn open_path(&self, lane: Lane, seq: u64) -> PathBuf {
        self.dir.join(format!("{}-{seq:016}.open", lane.name()))
    }

    /// Appends one JSON line (without its newline) to `lane`.
    pub fn push(&mut self, lane: Lane, line: &[u8]) -> io::Result<()> {
        let i = lane_index(lane);
        if self.open.get(i).is_some_and(Option::is_none) {
            let seq = self.next_seq;
            self.next_seq += 1;
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(self.open_path(lane, seq))?;
            if let Some(slot) = self.open.get_mut(i) {
                *slot = Some(Open {
                    file,
                    seq,
                    bytes: 0,
                    since: Instant::now(),
                });
            }
        }
        let Some(Some(open)) = self.open.get_mut(i) else {
            return Err(io::Error::other("spool lane missing"));
        };
        // One write per line: a crash leaves whole lines and at most one torn tail.
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        open.file.write_all(&buf)?;
        open.bytes += buf.len() as u64;
        self.bytes += buf.len() as u64;
        if open.bytes >= self.limits.segment_bytes {
            self.seal(lane)?;
        }
        if self.bytes > self.limits.max_bytes {
            self.make_room()?;
        }
        Ok(())
    }

    /// Seals `lane`'s open segment: synced and renamed, ready to send.
    pub fn seal(&mut self, lane: Lane) -> io::Result<()> {
        let Some(open) = self.open.get_mut(lane_index(lane)).and_then(Option::take) else {
            return Ok(());
        };
        open.file.sync_data()?;
        drop(open.file);
        fs::rename(
            self.open_path(lane, open.seq),
            self.sealed_path(lane, open.seq),
        )?;
        Ok(())
    }

    /// Seals the open segments whose first line is older than the limit.
    pub fn seal_aged(&mut self) -> io::Result<()> {
        for lane in Lane::ALL {
            let aged = self
                .open
                .get(lane_index(lane))
                .and_then(Option::as_ref)
                .is_some_and(|o| o.since.elapsed() >= self.limits.segment_age);
            if aged {
                self.seal(lane)?;
            }
        }
        Ok(())
    }

    /// Deletes the oldest sealed event segments until the spool fits, counting their
    /// lines as dropped. Alerts are never deleted for room.
    fn make_room(&mut self) -> io::Result<()> {
        for segment in self.sealed()? {
            if self.bytes <= self.limits.max_bytes {
                break;
            }
            if segment.lane != Lane::Events {
                continue;
            }
            let len = fs::metadata(&segment.path)?.len();
            let lines = BufReader::new(File::open(&segment.path)?).lines().count() as u64;
            fs::remove_file(&segment.path)?;
            self.bytes = self.bytes.saturating_sub(len);
            self.dropped.events += lines;
            self.dropped.bytes += len;
            tracing::warn!(
                events = lines,
                bytes = len,
                "spool full: dropped the oldest raw events (alerts are kept)"
            );
        }
        Ok(())
    }

    /// Sealed segments, alerts first, then oldest first.
    pub fn sealed(&self) -> io::Result<Vec<Segment>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if let Some((lane, seq, true)) = entry.file_name().to_str().and_then(parse_name) {
                out.push(Segment {
                    lane,
                    seq,
                    path: entry.path(),
                });
            }
        }
        out.sort_by_key(|s| (lane_index(s.lane), s.seq));
        Ok(out)
    }

    /// Deletes a segment the server acknowledged.
    pub fn remove(&mut self, segment: &Segment) -> io::Result<()> {
        let len = fs::metadata(&segment.path).map(|m| m.len()).unwrap_or(0);
        match fs::remove_file(&segment.path) {
            Ok(()) => {
                self.bytes = self.bytes.saturating_sub(len);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves a segment the server refused for good aside (`rejected/`), kept for a person
    /// to look at rather than retried forever or lost.
    pub fn reject(&mut self, segment: &Segment) -> io::Result<()> {
        let dir = self.dir.join("rejected");
        fs::create_dir_all(&dir)?;
        let len = fs::metadata(&segment.path).map(|m| m.len()).unwrap_or(0);
        let name = segment.path.file_name().unwrap_or_default();
        fs::rename(&segment.path, dir.join(name))?;
        self.bytes = self.bytes.saturating_sub(len);
        Ok(())
    }

    /// Bytes held (sealed and open segments).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What was dropped for room.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: u64, segment: u64) -> Limits {
        Limits {
            max_bytes: max,
            segment_bytes: segment,
            segment_age: Duration::from_secs(3600),
        }
    }

    #[test]
    fn lines_survive_a_crash_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20, 1 << 20)).unwrap();
        let id = spool.id().to_string();
        spool.push(Lane::Events, br#"{"kind":"exec"}"#).unwrap();
        spool.push(Lane::Alerts, br#"{"rule_id":"R"}"#).unwrap();
        // A crash: the spool is gone without sealing, and a half line was written.
        let open = dir.path().join("events-0000000000000001.open");
        let mut f = OpenOptions::new().append(true).open(&open).unwrap();
        f.write_all(br#"{"kind":"ex"#).unwrap();
        drop(spool);
        let spool = Spool::open(dir.path(), limits(1 << 20, 1 << 20)).unwrap();
        assert_eq!(spool.id(), id, "the id is kept");
        let sealed = spool.sealed().unwrap();
        assert_eq!(sealed.len(), 2);
        assert_eq!(sealed[0].lane, Lane::Alerts, "alerts first");
        let events = fs::read_to_string(&sealed[1].path).unwrap();
        assert_eq!(events, "{\"kind\":\"exec\"}\n");
        assert_eq!(spool.next_seq, 3);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_events_never_alerts() {
        let dir = tempfile::tempdir().unwrap();
        // Segments of about one line each; room for about ten lines.
        let mut spool = Spool::open(dir.path(), limits(200, 10)).unwrap();
        for i in 0..5 {
            spool
                .push(Lane::Alerts, format!(r#"{{"alert":{i}}}"#).as_bytes())
                .unwrap();
        }
        for i in 0..30 {
            spool
                .push(Lane::Events, format!(r#"{{"event":{i:03}}}"#).as_bytes())
                .unwrap();
        }
        assert!(spool.bytes() <= 200, "{}", spool.bytes());
        let sealed = spool.sealed().unwrap();
        let alerts = sealed.iter().filter(|s| s.lane == Lane::Alerts).count();
        assert_eq!(alerts, 5, "every alert kept");
        let dropped = spool.dropped();
        assert!(dropped.events > 0);
        let kept: Vec<String> = sealed
            .iter()
            .filter(|s| s.lane == Lane::Events)
            .map(|s| fs::read_to_string(&s.path).unwrap())
            .collect();
        assert_eq!(kept.len() as u64 + dropped.events, 30);
        assert!(
            kept.last().unwrap().contains("029"),
            "the newest events are kept"
        );
        assert!(!kept.iter().any(|k| k.contains("\"event\":000")));
    }

    #[test]
    fn sent_segments_are_removed_and_refused_ones_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20, 1 << 20)).unwrap();
        spool.push(Lane::Events, b"{}").unwrap();
        spool.seal(Lane::Events).unwrap();
        spool.push(Lane::Events, b"{}").unwrap();
        spool.seal(Lane::Events).unwrap();
        let sealed = spool.sealed().unwrap();
        spool.remove(&sealed[0]).unwrap();
        spool.reject(&sealed[1]).unwrap();
        assert!(spool.sealed().unwrap().is_empty());
        assert_eq!(spool.bytes(), 0);
        assert!(
            dir.path()
                .join("rejected")
                .join(sealed[1].path.file_name().unwrap())
                .exists()
        );
    }
}
