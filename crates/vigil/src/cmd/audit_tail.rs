//! `vigil audit tail FILE`: follow a growing audit log (`tail -F`) and raise alerts as
//! events are written, across rotation and truncation, until Ctrl-C or SIGTERM.

use crate::cmd::audit_judge::{self, AlertFormat, AlertWriter, RuleArgs};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;
use vigil_detect::audit_log::AuditLog;
use vigil_detect::follow::{Follow, Start};

/// `vigil audit tail` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Follows FILE as `tail -F` does: from its end (or its start with \
--from-start), on through rotation (the file renamed and a new one created: the old \
file's last lines are read, then the new file from its start) and truncation (read again \
from the start); a FILE that does not exist yet is waited for. Plain-text logs only (the \
API server's --audit-log-path); judge rotated .gz files with `vigil audit scan`.

Alerts are written and flushed one by one as events arrive. Malformed lines are reported \
with their line numbers when their file is rotated away and at stop. Ctrl-C or SIGTERM \
stops it cleanly with a summary on stderr.

Examples:
  vigil audit tail /var/log/kubernetes/audit/audit.log
  vigil audit tail audit.log --format json --rules mine.yaml >> alerts.jsonl"
)]
pub struct TailArgs {
    /// The audit log to follow (JSON lines, as the API server writes with
    /// --audit-log-path).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output: one table line per alert, JSON lines, or OCSF Detection Finding lines.
    #[arg(long, value_enum, default_value_t = AlertFormat::Table)]
    pub format: AlertFormat,
    /// Append the alerts to FILE instead of writing them to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read the file from its start, not only what is written from now on.
    #[arg(long)]
    pub from_start: bool,
    /// How often an idle file is looked at, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200, hide = true)]
    pub poll_ms: u64,
}

/// Runs `vigil audit tail`.
pub fn tail(args: TailArgs) -> Result<ExitCode> {
    let mut detector = args.rules.detector()?;
    let stop = crate::signal::stop_flag()?;
    let start = if args.from_start {
        Start::Beginning
    } else {
        Start::End
    };
    let mut follow = Follow::new(&args.file, start)
        .with_context(|| format!("opening {}", args.file.display()))?
        .with_stop(stop.clone())
        .with_poll_interval(Duration::from_millis(args.poll_ms.max(1)))
        .with_eof_at_switch(true);
    let mut writer = AlertWriter::open(args.format, args.output.as_deref())?;
    let name = args.file.display().to_string();
    // The first line on stderr says reading has begun (scripts and tests wait for it).
    if follow.waiting() {
        eprintln!("vigil: waiting for {name} to appear");
    } else if args.from_start {
        eprintln!("vigil: following {name} from its start");
    } else {
        eprintln!("vigil: following {name} from its end");
    }
    let mut events = 0;
    // One audit log reader per file: line numbers and unfinished documents start afresh
    // at each rotation (the follow reports end of file there).
    loop {
        let mut log = AuditLog::new(&mut follow);
        events += audit_judge::judge_log(&mut log, &mut detector, |alerts| {
            match writer.write(alerts) {
                // `vigil audit tail FILE | head`: the reader is gone, stop.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    stop.store(true, Ordering::Relaxed);
                    Ok(())
                }
                other => other.context("writing alerts"),
            }
        })
        .with_context(|| format!("following {name}"))?;
        // Line numbers are this file's: the reader starts afresh at each rotation.
        audit_judge::report_malformed(&name, log.stats());
        if follow.stopped() {
            break;
        }
        tracing::info!(file = %name, "the file was rotated or truncated; reading the new one");
    }
    let _ = writer.flush();
    eprintln!(
        "{events} events judged by {} rules: {} alerts",
        detector.len(),
        writer.written
    );
    Ok(ExitCode::SUCCESS)
}
