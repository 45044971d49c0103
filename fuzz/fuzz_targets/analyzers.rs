//! Every package-database parser on arbitrary bytes: the first byte picks the analyzer,
//! the rest is the file content. A new analyzer is covered as soon as `all()` lists it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_image::analyzer::{FileInfo, all};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let analyzers = all();
    let Some(analyzer) = analyzers.get(pick as usize % analyzers.len()) else {
        return;
    };
    let info = FileInfo {
        path: "fuzz/input",
        size: content.len() as u64,
        mode: 0o755,
    };
    let _ = analyzer.analyze(&info, content);
});
