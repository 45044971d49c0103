//! A detector: the compiled rules and the stateful detections, judging one stream.

use crate::audit::AuditEvent;
use crate::engine::Engine;
use crate::stateful::{self, Limits, Stateful};
use vigil_core::Alert;

/// Everything that judges a stream of audit events.
#[derive(Debug)]
pub struct Detector {
    /// The rules (built-in and the user's).
    pub engine: Engine,
    /// The detections that remember the stream, unless turned off.
    pub stateful: Option<Stateful>,
}

impl Detector {
    /// `engine`, with the stateful detections within `limits` unless `None`.
    pub fn new(engine: Engine, limits: Option<Limits>) -> Detector {
        Detector {
            engine,
            stateful: limits.map(Stateful::new),
        }
    }

    /// Judges one event, appending its alerts to `out`.
    pub fn judge(&mut self, event: &AuditEvent<'_>, out: &mut Vec<Alert>) {
        self.engine.evaluate(event, out);
        if let Some(s) = &mut self.stateful {
            s.observe(event, out);
        }
    }

    /// How many detections judge: the rules and the stateful ones.
    pub fn len(&self) -> usize {
        self.engine.len()
            + if self.stateful.is_some() {
                stateful::RULE_IDS.len()
            } else {
                0
            }
    }

    /// True when nothing judges.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
