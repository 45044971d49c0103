//! Where events and alerts go: JSON lines to stdout or a file ([`JsonLines`]), the disk
//! spool the publisher sends to the server ([`SpoolSink`]), or both ([`Tee`]).

use crate::event::Event;
use std::io::{self, Write};
use vigil_core::Alert;

/// A destination for events and alerts.
pub trait Sink {
    /// Takes one event.
    fn send(&mut self, event: &Event<'_>) -> io::Result<()>;
    /// Takes one alert (raised on the event sent just before, unless only alerts go out).
    fn alert(&mut self, alert: &Alert) -> io::Result<()>;
    /// Pushes out what is buffered (called when the ring buffer is drained).
    fn flush(&mut self) -> io::Result<()>;
}

/// An alert as a line among events: `"kind": "alert"`, then the alert's fields, so a
/// reader tells the lines apart by `kind` as it does events.
#[derive(serde::Serialize)]
struct AlertLine<'a> {
    kind: &'static str,
    #[serde(flatten)]
    alert: &'a Alert,
}

/// One JSON object per line. Serializes into a reused buffer, then writes the line.
pub struct JsonLines<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> JsonLines<W> {
    /// A sink writing to `out` (give it a buffered writer).
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines {
            out,
            line: Vec::with_capacity(4096),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn send(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, event)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(
            &mut self.line,
            &AlertLine {
                kind: "alert",
                alert,
            },
        )?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Events and alerts into the disk [`Spool`](crate::spool::Spool) the publisher sends from:
/// raw events to its event lane, alerts to its alert lane (never dropped for room).
pub struct SpoolSink {
    spool: std::sync::Arc<std::sync::Mutex<crate::spool::Spool>>,
    line: Vec<u8>,
}

impl SpoolSink {
    /// A sink appending to `spool`.
    pub fn new(spool: std::sync::Arc<std::sync::Mutex<crate::spool::Spool>>) -> SpoolSink {
        SpoolSink {
            spool,
            line: Vec::with_capacity(4096),
        }
    }

    fn push(&mut self, lane: crate::spool::Lane) -> io::Result<()> {
        self.spool
            .lock()
            .map_err(|_| io::Error::other("the spool lock is poisoned"))?
            .push(lane, &self.line)
    }
}

impl Sink for SpoolSink {
    fn send(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, event)?;
        self.push(crate::spool::Lane::Events)
    }

    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, alert)?;
        self.push(crate::spool::Lane::Alerts)
    }

    /// Seals the segments old enough, so the publisher sends within about a second.
    fn flush(&mut self) -> io::Result<()> {
        self.spool
            .lock()
            .map_err(|_| io::Error::other("the spool lock is poisoned"))?
            .seal_aged()
    }
}

/// Two sinks fed the same events and alerts (the spool, and JSON lines beside it).
pub struct Tee<A, B>(pub A, pub B);

impl<A: Sink, B: Sink> Sink for Tee<A, B> {
    fn send(&mut self, event: &Event<'_>) -> io::Result<()> {
        let a = self.0.send(event);
        self.1.send(event).and(a)
    }

    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        let a = self.0.alert(alert);
        self.1.alert(alert).and(a)
    }

    fn flush(&mut self) -> io::Result<()> {
        let a = self.0.flush();
        self.1.flush().and(a)
    }
}

/// A sink that may be absent: `None` takes nothing (an unused side of a [`Tee`]).
impl<S: Sink> Sink for Option<S> {
    fn send(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.as_mut().map_or(Ok(()), |s| s.send(event))
    }

    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.as_mut().map_or(Ok(()), |s| s.alert(alert))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.as_mut().map_or(Ok(()), Sink::flush)
    }
}
