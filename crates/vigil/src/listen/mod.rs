//! HTTP(S) listeners for the commands that other programs call: `vigil audit serve`
//! today, the admission webhook and the server later. One place decides what every
//! Vigil listener does at its edge: TLS (rustls), plain HTTP on loopback only unless the
//! user says otherwise, a bound on connections, timeouts against slow clients, bearer
//! tokens ([`bearer`]) and a graceful stop.
//!
//! HTTP/1.1 only: the API server's webhook clients and probes speak it, and it keeps the
//! edge small.

pub mod bearer;
pub mod reply;
pub mod tls;

use anyhow::{Context, Result, bail};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// A response with its whole body in memory (small answers only).
pub type Reply = Response<Full<Bytes>>;

/// Bounds on what clients may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time for a client to finish the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time for a client to send a request's headers (also caps an idle keep-alive).
    pub header_timeout: Duration,
    /// Time open requests get to finish at shutdown.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Resolves `HOST:PORT` (an IP address or a name such as `localhost`) to the address to
/// bind.
pub fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("{addr:?} is not an address to listen on (HOST:PORT)"))?
        .next()
        .with_context(|| format!("{addr:?} resolves to no address"))
}

/// Refuses plain HTTP outside loopback unless `insecure`: tokens and audit events would
/// cross the network in clear.
pub fn check_plain_http(addr: SocketAddr, tls: bool, insecure: bool) -> Result<()> {
    if tls || insecure || addr.ip().is_loopback() {
        return Ok(());
    }
    bail!(
        "refusing plain HTTP on {addr}, which is not a loopback address: give --tls-cert \
         and --tls-key, or listen on 127.0.0.1, or pass --insecure to allow it"
    )
}

/// Where to listen and how: `addr` (`HOST:PORT`) resolved, TLS from `cert`/`key` when
/// both are given, and plain HTTP refused off loopback unless `insecure`.
pub fn endpoint(
    addr: &str,
    cert: Option<&Path>,
    key: Option<&Path>,
    insecure: bool,
) -> Result<(SocketAddr, Option<Arc<rustls::ServerConfig>>)> {
    let addr = resolve(addr)?;
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    check_plain_http(addr, tls.is_some(), insecure)?;
    Ok((addr, tls))
}

/// Serves `handler` on `addr` on a runtime of its own until SIGTERM or Ctrl-C, printing
/// `vigil: listening on URL` first on stderr (port 0 picks a free one); returns once open
/// requests are drained and the runtime is gone.
pub fn serve_until_signal<H, F>(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: H,
) -> Result<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    serve_until_signal_then(addr, tls, handler, |_| {})
}

/// [`serve_until_signal`], calling `listening` with the bound URL once the socket is open
/// (after the `listening on` line), for commands that print more about where they are.
pub fn serve_until_signal_then<H, F>(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: H,
    listening: impl FnOnce(&str) + Send + 'static,
) -> Result<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let served = runtime.block_on(async move {
        let signals = crate::signal::Signals::new()?;
        let listener = Listener::bind(addr, tls, Limits::default()).await?;
        eprintln!("vigil: listening on {}", listener.url());
        listening(&listener.url());
        listener.serve(handler, signals.first()).await
    });
    // Requests cut off by the drain timeout still hold their tasks; end them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

/// A bound socket, ready to serve.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    addr: SocketAddr,
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port; see [`Listener::local_addr`]).
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: Limits,
    ) -> Result<Listener> {
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let addr = tcp.local_addr().context("reading the bound address")?;
        Ok(Listener {
            tcp,
            tls: tls.map(TlsAcceptor::from),
            limits,
            addr,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://ADDR/` or `http://ADDR/`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/", self.local_addr())
    }

    /// Serves each request with `handler` until `shutdown` resolves, then stops
    /// accepting and gives open requests [`Limits::drain_timeout`] to finish.
    pub async fn serve<H, F>(self, handler: H, shutdown: impl Future<Output = ()>) -> Result<()>
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Reply> + Send + 'static,
    {
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(self.limits.max_connections.max(1)));
        let limits = self.limits;
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                s = Arc::clone(&slots).acquire_owned() => match s {
                    Ok(s) => s,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (tcp, peer) = tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = tcp.set_nodelay(true);
            let handler = handler.clone();
            let tls = self.tls.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _slot = slot;
                let service = service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let mut http = http1::Builder::new();
                http.timer(TokioTimer::new())
                    .header_read_timeout(limits.header_timeout);
                let served = match tls {
                    Some(acceptor) => {
                        let stream = match tokio::time::timeout(
                            limits.handshake_timeout,
                            acceptor.accept(tcp),
                        )
                        .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, "TLS handshake: {e}");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                        watcher
                            .watch(http.serve_connection(TokioIo::new(stream), service))
                            .await
                    }
                    None => {
                        watcher
                            .watch(http.serve_connection(TokioIo::new(tcp), service))
                            .await
                    }
                };
                if let Err(e) = served {
                    tracing::debug!(%peer, "connection: {e}");
                }
            });
        }
        drop(self.tcp);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(limits.drain_timeout) => {
                tracing::warn!("requests still open after {:?}; stopping anyway", limits.drain_timeout);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_on_loopback_only() {
        let on = |a: &str| resolve(a).unwrap();
        assert!(check_plain_http(on("127.0.0.1:8080"), false, false).is_ok());
        assert!(check_plain_http(on("[::1]:8080"), false, false).is_ok());
        assert!(check_plain_http(on("0.0.0.0:8080"), true, false).is_ok());
        assert!(check_plain_http(on("0.0.0.0:8080"), false, true).is_ok());
        let err = check_plain_http(on("0.0.0.0:8080"), false, false).unwrap_err();
        assert!(err.to_string().contains("refusing plain HTTP"), "{err}");
        assert!(resolve("nonsense").is_err());
    }
}
