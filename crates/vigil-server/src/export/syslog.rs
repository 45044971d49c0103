//! Syslog (RFC 5424) over TCP, or TLS (RFC 5425), with a CEF payload: what SIEMs such as
//! ArcSight, QRadar, Sentinel's CEF connector and Splunk's CEF add-on ingest.
//!
//! Frames use octet counting (`LEN SP MSG`, RFC 6587 and RFC 5425), so a message may hold
//! any byte; the connection stays open between alerts and is made again after an error.

use super::{ExportError, Sink, sink_name};
use crate::store::AlertDetail;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use vigil_core::Severity;

/// Where syslog goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (RFC 5425) rather than plain TCP.
    pub tls: bool,
}

impl Target {
    /// `tcp://HOST:PORT` or `tls://HOST:PORT` (port 6514 by default for TLS, 514 for TCP).
    pub fn parse(url: &str) -> Result<Target, ExportError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("tls://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("tcp://") {
            (false, r)
        } else {
            return Err(ExportError(format!(
                "{url:?}: give tcp://HOST:PORT or tls://HOST:PORT"
            )));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse()
                    .map_err(|_| ExportError(format!("{url:?}: bad port {p:?}")))?;
                (h, port)
            }
            _ => (rest, if tls { 6514 } else { 514 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(ExportError(format!("{url:?}: no host")));
        }
        Ok(Target {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

trait Stream: Write + Send {}
impl<T: Write + Send> Stream for T {}

/// A syslog sink.
pub struct Syslog {
    name: String,
    target: Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    hostname: String,
    conn: Option<Box<dyn Stream>>,
}

/// A TLS client configuration trusting the system's roots and `extra_ca` (PEM).
pub fn tls_config(extra_ca: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, ExportError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = extra_ca {
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ExportError::new("reading the export CA", e))?;
            roots
                .add(cert)
                .map_err(|e| ExportError::new("adding the export CA", e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ExportError::new("setting up TLS", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Syslog {
    /// Sends to `target`; TLS connections trust the system's roots and `extra_ca`.
    pub fn new(url: &str, extra_ca: Option<&[u8]>) -> Result<Syslog, ExportError> {
        let target = Target::parse(url)?;
        let tls = if target.tls {
            Some(tls_config(extra_ca)?)
        } else {
            None
        };
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or_else(|| "-".to_string());
        Ok(Syslog {
            name: sink_name("syslog", url),
            target,
            tls,
            hostname,
            conn: None,
        })
    }

    fn connect(&self) -> Result<Box<dyn Stream>, ExportError> {
        let t = &self.target;
        let addr = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| ExportError::new(format!("resolving {}", t.host), e))?
            .next()
            .ok_or_else(|| ExportError(format!("{} resolves to no address", t.host)))?;
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| ExportError::new(format!("connecting to {addr}"), e))?;
        let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some(config) => {
                let name = ServerName::try_from(t.host.clone())
                    .map_err(|e| ExportError::new(format!("TLS name {}", t.host), e))?;
                let conn = rustls::ClientConnection::new(Arc::clone(config), name)
                    .map_err(|e| ExportError::new("starting TLS", e))?;
                Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
            }
        }
    }
}

/// RFC 5424 severity of an alert (facility 10, security/authorization).
fn priority(s: Severity) -> u8 {
    let severity = match s {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Informational | Severity::Unknown => 6,
    };
    10 * 8 + severity
}

/// CEF's 0–10 severity.
fn cef_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 10,
        Severity::High => 8,
        Severity::Medium => 5,
        Severity::Low => 3,
        Severity::Informational => 1,
        Severity::Unknown => 0,
    }
}

fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

/// The CEF record of an alert.
pub fn cef(alert: &AlertDetail) -> String {
    let r = &alert.row;
    let mut ext: Vec<(String, String)> = vec![
        ("externalId".into(), r.id.to_string()),
        (
            "rt".into(),
            crate::ingest::parse_time(&r.first_seen)
                .unwrap_or(0)
                .to_string(),
        ),
        ("cnt".into(), r.count.to_string()),
        ("msg".into(), r.output.clone()),
        ("cs1Label".into(), "cluster".into()),
        ("cs1".into(), r.cluster.clone()),
    ];
    for (key, value) in [("dvchost", &r.node), ("duser", &r.user)] {
        if !value.is_empty() {
            ext.push((key.into(), value.clone()));
        }
    }
    let labelled = [
        ("cs2", "namespace", &r.namespace),
        ("cs3", "pod", &r.pod),
        ("cs4", "container", &r.container),
        ("cs5", "image", &r.image),
    ];
    for (key, label, value) in labelled {
        if !value.is_empty() {
            ext.push((format!("{key}Label"), label.into()));
            ext.push((key.into(), value.clone()));
        }
    }
    if let Some(t) = &r.mitre_tactic {
        ext.push(("cat".into(), t.clone()));
    }
    if let Some(t) = &r.mitre_technique {
        ext.push(("cs6Label".into(), "mitreTechnique".into()));
        ext.push(("cs6".into(), t.clone()));
    }
    let ext: Vec<String> = ext
        .into_iter()
        .map(|(k, v)| format!("{k}={}", cef_value(&v)))
        .collect();
    format!(
        "CEF:0|Vigil|Vigil|{}|{}|{}|{}|{}",
        cef_header(env!("CARGO_PKG_VERSION")),
        cef_header(&r.rule_id),
        cef_header(&r.rule),
        cef_severity(r.severity),
        ext.join(" ")
    )
}

impl Syslog {
    /// The RFC 5424 message of an alert, framed with its length.
    pub fn frame(&self, alert: &AlertDetail) -> Vec<u8> {
        let msg = format!(
            "<{}>1 {} {} vigil - alert - {}",
            priority(alert.row.severity),
            alert.row.first_seen,
            self.hostname,
            cef(alert)
        );
        let mut out = format!("{} ", msg.len()).into_bytes();
        out.extend_from_slice(msg.as_bytes());
        out
    }
}

impl Sink for Syslog {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&mut self, alert: &AlertDetail) -> Result<(), ExportError> {
        let frame = self.frame(alert);
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
        }
        let written = match self.conn.as_mut() {
            Some(c) => c.write_all(&frame).and_then(|()| c.flush()),
            None => Ok(()),
        };
        written.map_err(|e| {
            // Connect again on the next try.
            self.conn = None;
            ExportError::new("writing to syslog", e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::parse("tls://siem.example:6514").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.tls),
            ("siem.example", 6514, true)
        );
        let t = Target::parse("tcp://10.0.0.5").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("10.0.0.5", 514, false));
        let t = Target::parse("tcp://[::1]:1514").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 1514));
        assert!(Target::parse("udp://x:514").is_err());
        assert!(Target::parse("tcp://x:port").is_err());
    }

    #[test]
    fn cef_escapes_its_separators() {
        assert_eq!(cef_header("a|b\\c"), "a\\|b\\\\c");
        assert_eq!(cef_value("k=v\nnext\\"), "k\\=v\\nnext\\\\");
    }
}
