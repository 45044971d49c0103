//! Scans an audit log with the built-in rules and stateful detections, as `vigil audit
//! scan --format json` does, writing alerts as JSON lines to stdout: a quick harness to
//! profile the reader and the engine without building the whole CLI.
//!
//!     cargo run --release -p vigil-detect --example audit_scan -- LOG > alerts.jsonl

use std::io::Write;
use std::path::Path;
use vigil_detect::audit_log;
use vigil_detect::detector::Detector;
use vigil_detect::engine::Engine;
use vigil_detect::rules::RuleSet;
use vigil_detect::stateful::Limits;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: audit_scan LOG")?;
    let mut set = RuleSet::default();
    set.load(
        vigil_detect::BUILTIN_AUDIT_RULES,
        Path::new("<built-in k8s_audit.yaml>"),
    )?;
    let mut detector = Detector::new(Engine::audit(&set)?, Some(Limits::default()));
    let mut log = audit_log::open(std::fs::File::open(&path)?)?;
    let mut alerts = Vec::new();
    let mut events = 0usize;
    log.for_each(|e| {
        events += 1;
        detector.judge(e, &mut alerts);
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &alerts {
        serde_json::to_writer(&mut out, a)?;
        writeln!(out)?;
    }
    eprintln!(
        "{events} events, {} alerts, {} malformed",
        alerts.len(),
        log.stats().malformed_count
    );
    Ok(())
}
