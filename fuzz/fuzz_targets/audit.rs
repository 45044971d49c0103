//! Control-plane detection on hostile input. The bytes up to the first NUL are a rules
//! file, loaded after the built-in rules (so it can append to, override or break them)
//! and compiled for audit events; the rest is an audit log, read by the log reader, whose
//! events the engine judges. Every JSON document of the log (each line, lines after a
//! CloudWatch timestamp, documents written back to back, and the whole log) also goes
//! through the cloud envelope unwrapping, and what comes out is judged too. Errors are
//! fine; panics, hangs and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;
use vigil_detect::audit::AuditEvent;
use vigil_detect::audit_log::AuditLog;
use vigil_detect::cloud;
use vigil_detect::engine::Engine;
use vigil_detect::rules::RuleSet;
use vigil_detect::stateful::{Limits, Stateful};

/// The built-in rules, loaded once: every input starts from them.
fn builtin() -> &'static (RuleSet, Engine) {
    static BUILTIN: OnceLock<(RuleSet, Engine)> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        let mut set = RuleSet::default();
        set.load(
            vigil_detect::BUILTIN_AUDIT_RULES,
            Path::new("k8s_audit.yaml"),
        )
        .expect("the built-in rules load");
        let engine = Engine::audit(&set).expect("the built-in rules compile");
        (set, engine)
    })
}

fn judge(engine: &Engine, value: Value) {
    let text = value.to_string();
    let Ok(event) = AuditEvent::parse(&text) else {
        return;
    };
    let mut alerts = Vec::new();
    engine.evaluate(&event, &mut alerts);
    for a in &alerts {
        assert!(!a.rule_id.is_empty());
    }
}

fn unwrap_envelope(engine: &Engine, doc: &Value) {
    let Some(Ok(u)) = cloud::events_from_envelope(doc) else {
        return;
    };
    for e in u.events {
        assert_eq!(e.event.get("kind").and_then(Value::as_str), Some("Event"));
        judge(engine, e.event);
    }
}

fuzz_target!(|data: &[u8]| {
    let (base_set, base_engine) = builtin();
    let (rules, log) = match data.iter().position(|&b| b == 0) {
        Some(i) => (
            data.get(..i).unwrap_or_default(),
            data.get(i + 1..).unwrap_or_default(),
        ),
        None => (&[][..], data),
    };
    let compiled;
    let engine = if rules.is_empty() {
        base_engine
    } else {
        let mut set = base_set.clone();
        let text = String::from_utf8_lossy(rules);
        match set
            .load(&text, Path::new("fuzz.yaml"))
            .and_then(|()| Engine::audit(&set))
        {
            Ok(e) => {
                compiled = e;
                &compiled
            }
            Err(_) => base_engine,
        }
    };

    // The reader, as `vigil audit scan` drives it (envelopes included), with the
    // stateful detections.
    let mut reader = AuditLog::new(log);
    let mut stateful = Stateful::new(Limits {
        max_identities: 64,
        burst_count: 3,
        learn_secs: 0,
        ..Limits::default()
    });
    let _ = reader.for_each(|e| {
        let mut alerts = Vec::new();
        engine.evaluate(e, &mut alerts);
        stateful.observe(e, &mut alerts);
    });

    // Cloud envelopes, on every JSON document the log holds.
    let text = String::from_utf8_lossy(log);
    if let Ok(doc) = serde_json::from_str::<Value>(&text) {
        unwrap_envelope(engine, &doc);
    }
    for line in text.lines() {
        if let Ok(doc) = serde_json::from_str::<Value>(line) {
            unwrap_envelope(engine, &doc);
        } else if let Some(json) = cloud::strip_cloudwatch_timestamp(line) {
            if let Ok(doc) = serde_json::from_str::<Value>(json) {
                unwrap_envelope(engine, &doc);
            }
        } else if let Some(docs) = cloud::concatenated_documents(line) {
            for doc in &docs {
                unwrap_envelope(engine, doc);
            }
        }
    }
});
