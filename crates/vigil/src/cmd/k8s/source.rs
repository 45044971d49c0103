//! Where a Kubernetes command reads objects from: a live cluster (the default), a
//! snapshot file, or manifests — the flags `vigil k8s scan` and `vigil admission audit`
//! share.

use anyhow::Result;
use std::path::PathBuf;
use vigil_kube::Inventory;

/// The source flags.
#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    /// Manifest file or folder, or `-` for standard input. Repeatable.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "PATH",
        conflicts_with = "snapshot"
    )]
    pub files: Vec<PathBuf>,
    /// A cluster snapshot written by `vigil k8s snapshot`.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Namespace for manifest objects that name none.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    #[command(flatten)]
    pub cluster: super::live::ClusterArgs,
}

/// What was read: the inventory, the kind of source (`snapshot`, `manifests`, `cluster`)
/// and a name for reports.
pub struct Read {
    /// The objects.
    pub inventory: Inventory,
    /// `snapshot`, `manifests` or `cluster`.
    pub kind: &'static str,
    /// The cluster's name, or the files read.
    pub name: String,
}

impl SourceArgs {
    /// Reads the snapshot, the manifests, or else the live cluster.
    pub fn read(&self) -> Result<Read> {
        if let Some(path) = &self.snapshot {
            let inventory = Inventory::read_snapshot(path)?;
            let name = if inventory.cluster.name.is_empty() {
                path.display().to_string()
            } else {
                format!("{} ({})", inventory.cluster.name, path.display())
            };
            return Ok(Read {
                inventory,
                kind: "snapshot",
                name,
            });
        }
        if !self.files.is_empty() {
            let limits = vigil_kube::Limits::default();
            let mut objects = Vec::new();
            for path in &self.files {
                objects.extend(vigil_kube::manifest::load(path, &limits)?);
            }
            let name = self
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Ok(Read {
                inventory: Inventory::from_manifests(objects, &self.namespace),
                kind: "manifests",
                name,
            });
        }
        let inventory = super::live::read_cluster(&self.cluster)?;
        let name = if inventory.cluster.name.is_empty() {
            inventory.cluster.server.clone()
        } else {
            inventory.cluster.name.clone()
        };
        Ok(Read {
            inventory,
            kind: "cluster",
            name,
        })
    }
}
