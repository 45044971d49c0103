//! The sensor's user-space pipeline as one [`Handler`]: each record updates the process
//! cache, becomes an [`Event`](crate::event::Event), is judged by the rules (when given)
//! and goes to the sink, followed by the alerts it raised.

use crate::collector::{Attached, Handler, Stats};
use crate::detect::Runtime;
use crate::enrich::Enricher;
use crate::event::{self, Clock};
use crate::fields::RuntimeEvent;
use crate::sink::Sink;
use crate::watch::WatchTable;
use crate::wire::{Body, Record};
use std::sync::Arc;
use vigil_core::Alert;
use vigil_detect::engine::Engine;

/// A callback for when the programs are attached.
type OnAttached = Box<dyn FnMut(&Attached)>;

/// Enrichment and a sink, behind the collector.
pub struct Pipeline<S: Sink> {
    enricher: Enricher,
    node: String,
    clock: Clock,
    watches: WatchTable,
    sink: S,
    rules: Option<Arc<Engine<Runtime>>>,
    alerts_only: bool,
    /// The current event's alerts (reused).
    alerts: Vec<Alert>,
    /// Alerts raised so far.
    pub alert_count: u64,
    /// Events the sink refused (an I/O error), counted, not retried.
    pub sink_errors: u64,
    /// The last sink error, for the summary.
    pub last_error: Option<std::io::Error>,
    /// The last counters the collector reported.
    pub stats: Stats,
    /// What was attached, once it is.
    pub attached: Option<Attached>,
    on_attached: Option<OnAttached>,
}

impl<S: Sink> Pipeline<S> {
    /// A pipeline naming events after `node`.
    pub fn new(enricher: Enricher, node: String, watches: WatchTable, sink: S) -> Pipeline<S> {
        Pipeline {
            enricher,
            node,
            clock: Clock::now(),
            watches,
            sink,
            rules: None,
            alerts_only: false,
            alerts: Vec::new(),
            alert_count: 0,
            sink_errors: 0,
            last_error: None,
            stats: Stats::default(),
            attached: None,
            on_attached: None,
        }
    }

    /// Calls `f` once the programs are attached (a "ready" line, a test's signal).
    pub fn on_attached(mut self, f: impl FnMut(&Attached) + 'static) -> Pipeline<S> {
        self.on_attached = Some(Box::new(f));
        self
    }

    /// Judges every event with `rules` (compiled once, shareable); with `alerts_only`,
    /// only alerts go to the sink.
    pub fn with_rules(mut self, rules: Arc<Engine<Runtime>>, alerts_only: bool) -> Pipeline<S> {
        self.rules = Some(rules);
        self.alerts_only = alerts_only;
        self
    }

    /// The sink back.
    pub fn into_sink(self) -> S {
        self.sink
    }
}

impl<S: Sink> Handler for Pipeline<S> {
    fn attached(&mut self, attached: &Attached) {
        if let Some(f) = self.on_attached.as_mut() {
            f(attached);
        }
        self.attached = Some(attached.clone());
    }

    fn record(&mut self, rec: &Record<'_>) {
        self.enricher.observe(rec);
        let container = self
            .enricher
            .get(rec.header.pid)
            .and_then(|p| p.container.clone());
        let info = container.and_then(|id| self.enricher.container_info(&id));
        let ev = event::build(
            rec,
            &self.enricher,
            info,
            &self.node,
            &self.clock,
            &self.watches,
        );
        if let Some(rules) = &self.rules {
            let judged = RuntimeEvent {
                event: &ev,
                procs: &self.enricher,
            };
            rules.evaluate(&judged, &mut self.alerts);
        }
        if !self.alerts_only
            && let Err(e) = self.sink.send(&ev)
        {
            self.sink_errors += 1;
            self.last_error = Some(e);
        }
        self.alert_count += self.alerts.len() as u64;
        for alert in self.alerts.drain(..) {
            if let Err(e) = self.sink.alert(&alert) {
                self.sink_errors += 1;
                self.last_error = Some(e);
            }
        }
        if let Body::Exit(_) = rec.body {
            self.enricher.forget(rec.header.pid);
        }
    }

    fn idle(&mut self) {
        if let Err(e) = self.sink.flush() {
            self.sink_errors += 1;
            self.last_error = Some(e);
        }
    }

    fn tick(&mut self, stats: &Stats) {
        self.stats = stats.clone();
    }
}
