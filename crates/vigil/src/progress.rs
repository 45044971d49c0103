//! A progress bar for layer downloads, shown only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use vigil_image::source::registry::Progress;

/// Bytes downloaded across all layers.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, digest: &str, size: Option<u64>) {
        if let Some(size) = size {
            self.0.inc_length(size);
        }
        let short = digest
            .trim_start_matches("sha256:")
            .get(..12)
            .unwrap_or(digest);
        self.0.set_message(format!("layer {short}"));
    }

    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// A progress reporter when stderr is a terminal, else `None`.
pub fn layer_progress() -> Option<Arc<dyn Progress>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{spinner} {msg} {bytes}/{total_bytes} ({bytes_per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(Arc::new(Bar(bar)))
}

/// A byte-counting bar for downloads (`vigil db update`) when stderr is a terminal.
pub fn download_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}
