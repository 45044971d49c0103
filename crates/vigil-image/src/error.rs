//! Errors from reading images. Each names the input and the place that failed.

use std::path::PathBuf;

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The target string is not one Vigil understands.
    #[error("invalid target {target:?}: {reason}")]
    InvalidTarget {
        /// The target as given.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A local file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A manifest, index or config is not what its media type promises.
    #[error("invalid {what} in {place}: {reason}")]
    InvalidMetadata {
        /// `manifest`, `index`, `config`, `manifest.json`, ...
        what: &'static str,
        /// The file or reference it came from.
        place: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing in an index or manifest list matches the requested platform.
    #[error("{place}: no image for platform {platform} (available: {available})")]
    NoMatchingPlatform {
        /// The index.
        place: String,
        /// The platform asked for.
        platform: String,
        /// The platforms the index offers.
        available: String,
    },
    /// A blob's content does not hash to the digest that names it.
    #[error("digest mismatch for {what} {expected}: content hashes to {actual}")]
    DigestMismatch {
        /// `layer`, `manifest`, `config`.
        what: &'static str,
        /// The digest that was promised.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// A layer could not be read as a (compressed) tar stream.
    #[error("corrupt layer {layer}: {reason}")]
    CorruptLayer {
        /// The layer digest (or its path in an archive).
        layer: String,
        /// What went wrong and where.
        reason: String,
    },
    /// A configured limit was reached; the scan stops rather than report a partial result.
    #[error("limit exceeded in {place}: {reason}")]
    LimitExceeded {
        /// The layer or file.
        place: String,
        /// Which limit, and how to raise it.
        reason: String,
    },
    /// The registry refused or failed a request.
    #[error("registry {reference}: {reason}")]
    Registry {
        /// The image reference.
        reference: String,
        /// The registry's answer or the transport error.
        reason: String,
    },
}

impl ImageError {
    /// Wraps an I/O error on a local path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ImageError {
        ImageError::Io {
            path: path.into(),
            source,
        }
    }
}
