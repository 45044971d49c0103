//! TLS for the listeners: a certificate chain and key from PEM files, on the same rustls
//! provider (aws-lc-rs) as Vigil's clients, so the binary carries one TLS stack.

use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// A server configuration from `cert_path` (PEM: the certificate, then any
/// intermediates) and `key_path` (PEM: PKCS#8, PKCS#1 or SEC1), speaking HTTP/1.1 over
/// TLS 1.2 and 1.3.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>> {
    build(cert_path, key_path, None)
}

/// [`server_config`] that also requires every client to present a certificate signed by
/// a CA of `client_ca` (PEM): mutual TLS, so only holders of such a certificate may even
/// reach the bearer-token check.
pub fn server_config_with_client_ca(
    cert_path: &Path,
    key_path: &Path,
    client_ca: &Path,
) -> Result<Arc<ServerConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(client_ca)
        .and_then(|certs| certs.collect())
        .with_context(|| format!("reading the client CA {}", client_ca.display()))?;
    if cas.is_empty() {
        bail!("{} holds no PEM certificate", client_ca.display());
    }
    for ca in cas {
        roots
            .add(ca)
            .with_context(|| format!("{}: not a CA certificate", client_ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .context("setting up client certificate checks")?;
    build(cert_path, key_path, Some(verifier))
}

fn build(
    cert_path: &Path,
    key_path: &Path,
    clients: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> Result<Arc<ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect())
        .with_context(|| format!("reading the certificate {}", cert_path.display()))?;
    if chain.is_empty() {
        bail!("{} holds no PEM certificate", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("reading the private key {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?;
    let builder = match clients {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).with_context(|| {
        format!(
            "the key {} does not go with the certificate {}",
            key_path.display(),
            cert_path.display()
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
