//! Where events and alerts go. One sink so far: JSON lines to stdout or a file. The spool
//! and the publisher to the server are further sinks (later slices).

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
