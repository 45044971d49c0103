//! `vigil`: open-source container security in one binary.

mod cmd;
mod listen;
mod logging;
mod progress;
mod signal;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Vigil finds what is in your container images and what is wrong with them.
///
/// Start with `vigil demo`, which builds a small image and lists its packages, or
/// `vigil sbom TARGET` on an image of your own.
#[derive(Parser)]
#[command(
    name = "vigil",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// More log output on stderr (-v: debug, -vv: trace). `RUST_LOG` overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = logging::LogFormat::Text, global = true)]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every package in an image (a software bill of materials).
    Sbom(cmd::sbom::Args),
    /// Find known vulnerabilities in an image's packages.
    Image(Box<cmd::image::Args>),
    /// Manage the vulnerability database and compare versions.
    Db(cmd::db::Args),
    /// Kubernetes posture: scan a cluster, a snapshot or manifests; snapshots, RBAC set-up.
    K8s(cmd::k8s::Args),
    /// Control-plane threat detection: judge Kubernetes audit logs with detection rules.
    Audit(cmd::audit::Args),
    /// Admission control: a validating webhook running Gatekeeper policies, Pod Security
    /// Standards and an image vulnerability gate.
    Admission(cmd::admission::Args),
    /// Runtime threat detection: the eBPF sensor; writes process, file and network events
    /// as JSON lines.
    Sensor(cmd::sensor::Args),
    /// The backend: ingest from clusters, storage, correlation, the API and the dashboard.
    Server(cmd::server::Args),
    /// Everything on this machine: the server with the dashboard, the demo image and demo
    /// cluster scanned, and the runtime sensor when run as root.
    Up(cmd::up::Args),
    /// Build a small demo image from material Vigil ships, then inventory it.
    Demo(cmd::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.log_format);
    let result = match cli.command {
        Command::Sbom(args) => cmd::sbom::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Db(args) => cmd::db::run(args),
        Command::Image(args) => cmd::image::run(*args),
        Command::K8s(args) => cmd::k8s::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Admission(args) => cmd::admission::run(args),
        Command::Sensor(args) => cmd::sensor::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Up(args) => cmd::up::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
