//! Ctrl-C and SIGTERM as a clean stop: long-running commands (`audit tail`, `audit
//! serve`) finish what they hold, print their summary and exit 0, as a process
//! supervisor (systemd, the kubelet) expects. A second signal exits at once (130), for
//! a person whose clean stop takes too long.

use anyhow::{Context, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The stop signals, listened for from the moment this is built (inside a tokio
/// runtime), so one sent right after is not lost.
pub struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn new() -> Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next Ctrl-C or SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => tracing::info!("interrupted"),
            _ = self.term.recv() => tracing::info!("terminated"),
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }

    /// Waits for the first signal, then leaves a task that exits at the second.
    pub async fn first(mut self) {
        self.recv().await;
        tokio::spawn(async move {
            self.recv().await;
            eprintln!("vigil: second signal, exiting now");
            std::process::exit(130);
        });
    }
}

/// A flag set at the first Ctrl-C or SIGTERM, for blocking loops that look at it between
/// steps. A small thread of its own waits for the signals; the handlers are in place when
/// this returns.
pub fn stop_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(e).context("starting the signal thread"));
                    return;
                }
            };
            runtime.block_on(async move {
                let mut signals = match Signals::new() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                signals.recv().await;
                set.store(true, Ordering::Relaxed);
                signals.recv().await;
                eprintln!("vigil: second signal, exiting now");
                std::process::exit(130);
            });
        })
        .context("starting the signal thread")?;
    ready_rx
        .recv()
        .context("the signal thread ended before it was ready")??;
    Ok(flag)
}
