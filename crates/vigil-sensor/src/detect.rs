//! Runtime detection: the sensor's events as a [`Source`] of `vigil-detect`'s engine
//! (Falco's `syscall` rules, indexed by `evt.type`), and the alerts they raise: each
//! names the node, container, pod and image, carries the process tree (the process,
//! its parent and further ancestors from the process cache) and the event as evidence.

use crate::fields::{RuntimeEvent, RuntimeFields, evt_type};
use std::path::Path;
use vigil_core::{Alert, ProcessNode, RuntimeDetails};
use vigil_detect::engine::{Engine, RuleMeta, Source};
use vigil_detect::rules::{RuleSet, RulesError};

/// Vigil's built-in runtime detections (`rules/runtime.yaml`), in Falco's format.
pub const BUILTIN_RUNTIME_RULES: &str = include_str!("../rules/runtime.yaml");

/// How many processes an alert's process tree holds: the process and its ancestors.
pub const TREE_DEPTH: usize = 8;

/// The sensor's events (`source: syscall`, Falco's runtime fields).
#[derive(Debug, Default, Clone, Copy)]
pub struct Runtime;

impl Source for Runtime {
    const NAME: &'static str = "syscall";
    const INDEX_FIELD: &'static str = "evt.type";
    type Fields = RuntimeFields;
    type Event<'e> = RuntimeEvent<'e>;
    type Details = RuntimeDetails;

    fn index_value<'a>(event: &'a RuntimeEvent<'_>) -> &'a str {
        evt_type(event.event.kind)
    }

    fn details(event: &RuntimeEvent<'_>) -> RuntimeDetails {
        let ev = event.event;
        let info = ev.container.as_deref();
        let text = |s: Option<&String>| s.cloned().unwrap_or_default();
        let processes = event
            .procs
            .ancestry(ev.process.pid, TREE_DEPTH)
            .map(|(pid, p)| ProcessNode {
                pid,
                // The acting process's name as of this event.
                name: if pid == ev.process.pid {
                    ev.process.name.to_string()
                } else {
                    p.name.to_string()
                },
                exe: p.exe.as_deref().unwrap_or_default().to_string(),
                cmdline: p
                    .exec
                    .as_deref()
                    .map(|x| x.cmdline().to_string())
                    .unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        // A process the cache does not know (it exited and was forgotten) is still named.
        let processes = if processes.is_empty() {
            vec![ProcessNode {
                pid: ev.process.pid,
                name: ev.process.name.to_string(),
                exe: ev.process.exe.unwrap_or_default().to_string(),
                cmdline: String::new(),
            }]
        } else {
            processes
        };
        RuntimeDetails {
            node: ev.node.to_string(),
            container_id: ev.container_id.unwrap_or_default().to_string(),
            container_name: text(info.and_then(|i| i.name.as_ref())),
            image: text(info.and_then(|i| i.image.as_ref())),
            pod: text(info.and_then(|i| i.pod.as_ref())),
            processes,
        }
    }

    fn alert(
        meta: &RuleMeta,
        event: &RuntimeEvent<'_>,
        details: RuntimeDetails,
        output: String,
    ) -> Alert {
        let ev = event.event;
        let mut alert = meta.alert_base(output);
        let me = details.processes.first();
        alert.dedup_key = Alert::dedup_key_of(
            &meta.id,
            &[
                &details.node,
                &details.container_id,
                me.map_or("", |p| p.exe.as_str()),
                me.map_or("", |p| p.cmdline.as_str()),
            ],
        );
        alert.time = Some(ev.time.clone());
        alert.namespace = ev
            .container
            .as_deref()
            .and_then(|i| i.namespace.clone())
            .unwrap_or_default();
        alert.evidence = serde_json::to_value(ev).into_iter().collect();
        alert.runtime = Some(details);
        alert
    }
}

/// The rules `vigil sensor` runs: the built-ins unless `builtin` is false, then each
/// file of `files` in order (so they can add rules, disable built-in ones or override
/// them), compiled. A bad rules file fails here, never while judging.
pub fn engine(builtin: bool, files: &[impl AsRef<Path>]) -> Result<Engine<Runtime>, RulesError> {
    let mut set = RuleSet::default();
    if builtin {
        set.load(BUILTIN_RUNTIME_RULES, Path::new("<built-in runtime.yaml>"))?;
    }
    for path in files {
        set.load_file(path.as_ref())?;
    }
    Engine::compile(&set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_compile_and_are_indexed_by_event_type() {
        let engine = engine(true, &[] as &[&Path]).unwrap();
        assert!(engine.len() >= 25, "{}", engine.len());
        // An event meets the rules of its type only; a fork or exit meets none.
        assert!(engine.candidates("execve") < engine.len());
        assert!(engine.candidates("openat") < engine.len() / 3);
        assert!(engine.candidates("connect") < engine.len() / 5);
        assert_eq!(engine.candidates("clone"), 0);
        assert_eq!(engine.candidates("procexit"), 0);
    }
}
