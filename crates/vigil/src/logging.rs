//! Logs on stderr: text for people, JSON lines for machines.

use tracing_subscriber::EnvFilter;

/// `--log-format`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. `RUST_LOG` wins over `-v`.
pub fn init(verbose: u8, format: LogFormat) {
    let default = match verbose {
        // rustls' platform verifier logs every failed handshake at ERROR; Vigil reports
        // the failure itself, once, with its context.
        0 => "warn,rustls_platform_verifier=off",
        1 => "info,vigil=debug,vigil_image=debug,vigil_core=debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
