//! The sensor's records as user space meets them: bytes from the ring buffer decoded
//! (`wire::decode`), then enriched and written as JSON lines by the same pipeline
//! `vigil sensor` runs, judged by the built-in runtime rules. Argv, paths and names in
//! records are whatever a process chose, so no input may panic or loop. Input: the text `/proc/PID/cgroup` answers, a newline,
//! then records, each prefixed by its length (u16, little-endian).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use vigil_detect::engine::Engine;
use vigil_sensor::detect::{self, Runtime};
use vigil_sensor::collector::Handler;
use vigil_sensor::enrich::{Enricher, NoMetadata, ProcSource};
use vigil_sensor::pipeline::Pipeline;
use vigil_sensor::sink::JsonLines;
use vigil_sensor::watch::WatchTable;
use vigil_sensor::wire;

/// A `/proc` with no processes, whose every cgroup file reads as the input's first line.
struct FakeProc(String);

impl ProcSource for FakeProc {
    fn cgroup(&self, _pid: u32) -> Option<String> {
        Some(self.0.clone())
    }
    fn snapshot(&self) -> Vec<(u32, u32, String, Option<String>)> {
        Vec::new()
    }
}

/// The built-in rules, compiled once for all inputs.
static RULES: LazyLock<Arc<Engine<Runtime>>> = LazyLock::new(|| {
    Arc::new(detect::engine(true, &[] as &[&Path]).expect("the built-in rules compile"))
});

fuzz_target!(|data: &[u8]| {
    let (cgroup, mut rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let proc = FakeProc(String::from_utf8_lossy(cgroup).into_owned());
    let enricher = Enricher::new(Box::new(proc), Box::new(NoMetadata));
    let sink = JsonLines::new(std::io::sink());
    let mut pipeline = Pipeline::new(enricher, "node".into(), WatchTable::defaults(), sink)
        .with_rules(RULES.clone(), false);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (record, tail) = rest[2..].split_at(len);
        rest = tail;
        if let Ok(record) = wire::decode(record) {
            pipeline.record(&record);
        }
    }
});
