//! Parsing `vigil sbom TARGET`, following skopeo's transport prefixes.

use crate::error::ImageError;
use std::path::PathBuf;

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `registry:REF` or a bare reference: pulled with the OCI distribution API.
    Registry(String),
    /// `oci:DIR[:TAG]`: an OCI image layout folder.
    OciLayout {
        /// The layout folder.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick, if the layout holds several.
        tag: Option<String>,
    },
    /// `oci-archive:FILE[:TAG]`: an OCI image layout in a tar.
    OciArchive {
        /// The tar.
        file: PathBuf,
        /// As for [`Target::OciLayout`].
        tag: Option<String>,
    },
    /// `docker-archive:FILE[:REF]`: the output of `docker save` / `podman save`.
    DockerArchive {
        /// The tar (optionally compressed).
        file: PathBuf,
        /// A `RepoTags` entry to pick when the archive holds several images.
        reference: Option<String>,
    },
    /// `dir:PATH`: a root filesystem on disk.
    Dir(PathBuf),
}

impl Target {
    /// Parses a target string. A string without a known prefix is a registry reference.
    pub fn parse(s: &str) -> Result<Target, ImageError> {
        let invalid = |reason: &str| ImageError::InvalidTarget {
            target: s.to_string(),
            reason: reason.to_string(),
        };
        let (kind, rest) = match s.split_once(':') {
            Some((k, r))
                if [
                    "registry",
                    "docker",
                    "oci",
                    "oci-archive",
                    "docker-archive",
                    "dir",
                ]
                .contains(&k) =>
            {
                (k, r)
            }
            _ => ("registry", s),
        };
        if rest.is_empty() {
            return Err(invalid("nothing after the prefix"));
        }
        Ok(match kind {
            // skopeo spells it `docker://REF`.
            "registry" | "docker" => Target::Registry(rest.trim_start_matches("//").to_string()),
            "oci" => {
                let (dir, tag) = split_tag(rest);
                Target::OciLayout { dir, tag }
            }
            "oci-archive" => {
                let (file, tag) = split_tag(rest);
                Target::OciArchive { file, tag }
            }
            "docker-archive" => {
                let (file, reference) = split_tag(rest);
                Target::DockerArchive { file, reference }
            }
            _ => Target::Dir(PathBuf::from(rest)),
        })
    }

    /// The source kind as reported in the inventory.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Registry(_) => "registry",
            Target::OciLayout { .. } => "oci",
            Target::OciArchive { .. } => "oci-archive",
            Target::DockerArchive { .. } => "docker-archive",
            Target::Dir(_) => "dir",
        }
    }
}

/// Splits `PATH:TAG` as skopeo does: the part after the last `:` is a tag unless the whole
/// string names an existing file or folder.
fn split_tag(rest: &str) -> (PathBuf, Option<String>) {
    if std::path::Path::new(rest).exists() {
        return (PathBuf::from(rest), None);
    }
    match rest.rsplit_once(':') {
        Some((path, tag)) if !tag.is_empty() && !tag.contains('/') => {
            (PathBuf::from(path), Some(tag.to_string()))
        }
        _ => (PathBuf::from(rest), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(
            Target::parse("localhost:5000/app:1").ok(),
            Some(Target::Registry("localhost:5000/app:1".into()))
        );
        assert_eq!(
            Target::parse("docker://alpine").ok(),
            Some(Target::Registry("alpine".into()))
        );
        assert_eq!(
            Target::parse("oci:/nonexistent/layout:v1").ok(),
            Some(Target::OciLayout {
                dir: "/nonexistent/layout".into(),
                tag: Some("v1".into())
            })
        );
        assert_eq!(Target::parse("dir:/").ok(), Some(Target::Dir("/".into())));
        assert!(Target::parse("oci:").is_err());
    }
}
