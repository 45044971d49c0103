//! `registry:REF` and bare references: pulled through the OCI distribution API.
//!
//! `oci-client` does the protocol work (the `WWW-Authenticate` challenge, bearer tokens,
//! redirects); this file decides what to fetch (only the manifest, the config and the
//! layers, each once), where credentials come from, and when plain HTTP is allowed.

use super::oci::{self, Document};
use super::{ImageMeta, ImageSource, SourceOptions};
use crate::error::ImageError;
use futures_util::StreamExt;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

mod credentials;

/// Called with the number of bytes of each layer as it downloads, for progress bars.
pub trait Progress: Send + Sync {
    /// A layer download starts; `size` is its length when the manifest gives it.
    fn start(&self, digest: &str, size: Option<u64>);
    /// `bytes` more bytes arrived.
    fn advance(&self, bytes: u64);
}

/// How to reach registries.
#[derive(Clone, Default)]
pub struct RegistryOptions {
    /// Allow plain HTTP and unverified TLS for every registry (`--insecure`).
    pub insecure: bool,
    /// Extra PEM root certificates (`--ca-cert`).
    pub ca_certs: Vec<PathBuf>,
    /// Explicit credentials (`--username`, `--password-stdin`).
    pub username: Option<String>,
    /// The password for `username`.
    pub password: Option<String>,
    /// An auth file to read instead of the defaults (`REGISTRY_AUTH_FILE`).
    pub auth_file: Option<PathBuf>,
    /// Progress reporting.
    pub progress: Option<Arc<dyn Progress>>,
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("insecure", &self.insecure)
            .field("ca_certs", &self.ca_certs)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("auth_file", &self.auth_file)
            .finish()
    }
}

/// The manifest media types Vigil accepts, most preferred first.
const ACCEPT: [&str; 4] = [
    oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
    oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
    oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
    oci_client::manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// An image in a registry.
pub struct RegistrySource {
    runtime: tokio::runtime::Runtime,
    client: Client,
    reference: Reference,
    descriptors: Vec<OciDescriptor>,
    progress: Option<Arc<dyn Progress>>,
    meta: ImageMeta,
}

impl RegistrySource {
    /// Resolves the reference to one image manifest and reads its config.
    pub fn open(
        image: &str,
        opts: &SourceOptions,
        target: vigil_core::TargetInfo,
    ) -> Result<Self, ImageError> {
        let err = |reason: String| ImageError::Registry {
            reference: image.to_string(),
            reason,
        };
        let reference: Reference = image
            .parse()
            .map_err(|e| err(format!("invalid reference: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| err(e.to_string()))?;
        let registry = reference.resolve_registry().to_string();
        let auth = credentials::lookup(&registry, &opts.registry).map_err(err)?;
        let plain_http_allowed = opts.registry.insecure || is_loopback(&registry);
        let https = client(&opts.registry, &registry, false).map_err(err)?;
        // Like Docker for insecure registries: try HTTPS first, fall back to HTTP.
        let (client, manifest_bytes, digest) =
            match runtime.block_on(pull_manifest(&https, &reference, &auth)) {
                Ok((bytes, digest)) => (https, bytes, digest),
                Err(e) if plain_http_allowed && is_transport_error(&e) => {
                    tracing::debug!(registry, "HTTPS failed ({e}); trying plain HTTP");
                    let http = client(&opts.registry, &registry, true).map_err(err)?;
                    let (bytes, digest) = runtime
                        .block_on(pull_manifest(&http, &reference, &auth))
                        .map_err(|http_err| {
                            err(format!(
                                "over HTTPS: {}; over plain HTTP: {}",
                                describe(&e),
                                describe(&http_err)
                            ))
                        })?;
                    (http, bytes, digest)
                }
                Err(e) => return Err(err(describe(&e))),
            };
        if let Some(wanted) = reference.digest() {
            oci::verify("manifest", wanted, &manifest_bytes)?;
        }
        let limit = opts.limits.max_metadata_bytes as usize;
        if manifest_bytes.len() > limit {
            return Err(err(format!("manifest larger than {limit} bytes")));
        }
        let (manifest, manifest_digest) = match oci::parse_document(&manifest_bytes, image)? {
            Document::Manifest(m) => (m, digest),
            Document::Index(index) => {
                let chosen = oci::select_platform(&index, &opts.platform, image)?;
                let chosen_digest = chosen.digest().to_string();
                let by_digest = reference.clone_with_digest(chosen_digest.clone());
                let (bytes, _) = runtime
                    .block_on(pull_manifest(&client, &by_digest, &auth))
                    .map_err(|e| err(describe(&e)))?;
                oci::verify("manifest", &chosen_digest, &bytes)?;
                match oci::parse_document(&bytes, image)? {
                    Document::Manifest(m) => (m, chosen_digest),
                    Document::Index(_) => {
                        return Err(err("an index points to another index".into()));
                    }
                }
            }
        };
        let config_desc = descriptor(manifest.config());
        let config_bytes = runtime
            .block_on(read_small(&client, &reference, &config_desc, limit))
            .map_err(err)?;
        oci::verify("config", &config_desc.digest, &config_bytes)?;
        let config = oci::parse_config(&config_bytes).ok();
        let mut meta = ImageMeta {
            target,
            manifest_digest: Some(manifest_digest),
            layers: oci::layers(&manifest, config.as_ref()),
            ..ImageMeta::default()
        };
        oci::describe(&mut meta, config.as_ref(), &config_desc.digest);
        let descriptors = manifest.layers().iter().map(descriptor).collect();
        Ok(RegistrySource {
            runtime,
            client,
            reference,
            descriptors,
            progress: opts.registry.progress.clone(),
            meta,
        })
    }
}

impl ImageSource for RegistrySource {
    fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        let desc = self
            .descriptors
            .get(index)
            .ok_or_else(|| ImageError::CorruptLayer {
                layer: format!("#{index}"),
                reason: "no such layer".into(),
            })?;
        let stream = self
            .runtime
            .block_on(self.client.pull_blob_stream(&self.reference, desc))
            .map_err(|e| ImageError::Registry {
                reference: self.reference.whole(),
                reason: format!("layer {}: {}", desc.digest, describe(&e)),
            })?;
        if let Some(p) = &self.progress {
            p.start(&desc.digest, u64::try_from(desc.size).ok());
        }
        let reader = tokio_util::io::StreamReader::new(stream.stream);
        let bridge =
            tokio_util::io::SyncIoBridge::new_with_handle(reader, self.runtime.handle().clone());
        Ok(Box::new(Counting {
            inner: bridge,
            progress: self.progress.clone(),
        }))
    }
}

/// Reports bytes read to the progress bar.
struct Counting<R> {
    inner: R,
    progress: Option<Arc<dyn Progress>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.advance(n as u64);
        }
        Ok(n)
    }
}

async fn pull_manifest(
    client: &Client,
    reference: &Reference,
    auth: &RegistryAuth,
) -> Result<(Vec<u8>, String), oci_client::errors::OciDistributionError> {
    let (bytes, digest) = client.pull_manifest_raw(reference, auth, &ACCEPT).await?;
    Ok((bytes.to_vec(), digest))
}

/// Reads a small blob (a config), refusing more than `limit` bytes.
async fn read_small(
    client: &Client,
    reference: &Reference,
    desc: &OciDescriptor,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut stream = client
        .pull_blob_stream(reference, desc)
        .await
        .map_err(|e| format!("config {}: {}", desc.digest, describe(&e)))?
        .stream;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("config {}: {e}", desc.digest))?;
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            return Err(format!("config {} larger than {limit} bytes", desc.digest));
        }
    }
    Ok(out)
}

fn descriptor(d: &oci_spec::image::Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type().to_string(),
        digest: d.digest().to_string(),
        size: i64::try_from(d.size()).unwrap_or(i64::MAX),
        ..OciDescriptor::default()
    }
}

/// Builds a client for one registry: system roots plus `--ca-cert`, proxies from the
/// environment, and plain HTTP only when asked.
fn client(opts: &RegistryOptions, registry: &str, plain_http: bool) -> Result<Client, String> {
    let mut certs = Vec::new();
    for path in &opts.ca_certs {
        let data = std::fs::read(path)
            .map_err(|e| format!("cannot read --ca-cert {}: {e}", path.display()))?;
        certs.push(Certificate {
            encoding: CertificateEncoding::Pem,
            data,
        });
    }
    let env = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok())
            .filter(|v| !v.is_empty())
    };
    let config = ClientConfig {
        protocol: if plain_http {
            ClientProtocol::HttpsExcept(vec![registry.to_string()])
        } else {
            ClientProtocol::Https
        },
        accept_invalid_certificates: opts.insecure,
        extra_root_certificates: certs,
        platform_resolver: None,
        https_proxy: env(["HTTPS_PROXY", "https_proxy"]),
        http_proxy: env(["HTTP_PROXY", "http_proxy"]),
        no_proxy: env(["NO_PROXY", "no_proxy"]),
        connect_timeout: Some(std::time::Duration::from_secs(30)),
        read_timeout: Some(std::time::Duration::from_secs(120)),
        user_agent: concat!("vigil/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    };
    Client::try_from(config).map_err(|e| format!("cannot configure the HTTP client: {e}"))
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a port.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.split(':').next().unwrap_or(registry),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Connection and TLS failures (as opposed to answers from the registry).
fn is_transport_error(e: &oci_client::errors::OciDistributionError) -> bool {
    matches!(e, oci_client::errors::OciDistributionError::RequestError(_))
}

/// The error with its causes, so "connection refused" is not hidden behind a summary.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("127.3.2.1"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.com"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
