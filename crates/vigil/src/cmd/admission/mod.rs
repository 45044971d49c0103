//! `vigil admission`: the validating admission webhook and the tools around it.

mod audit;
mod cluster;
mod manifests;
mod metrics;
mod serve;
mod test;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use vigil_core::Severity;
use vigil_kube::admission::gatekeeper::{self, ClusterData, LoadError};
use vigil_kube::admission::image_gate::ImageGate;
use vigil_kube::admission::pod_security::PodSecurity;
use vigil_kube::admission::{Action, Policy, PolicySet};
use vigil_kube::pss::{Level, Version};
use vigil_kube::{Inventory, Object};

/// `vigil admission` arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `vigil admission` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serve the validating webhook (AdmissionReview v1 over HTTPS).
    Serve(Box<serve::ServeArgs>),
    /// Judge one object as a CREATE request: exit 0 when allowed, 1 when denied.
    Test(test::TestArgs),
    /// Judge every existing object of a cluster, snapshot or manifest folder (Gatekeeper's audit).
    Audit(audit::AuditArgs),
    /// Print the manifests that install the webhook in a cluster.
    Manifests(manifests::ManifestsArgs),
}

/// Runs `vigil admission`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Serve(a) => serve::run(*a),
        Command::Test(a) => test::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Manifests(a) => manifests::run(a),
    }
}

/// How images with no scan result are treated by the image gate.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unscanned {
    /// Let them through.
    Allow,
    /// Let them through with a warning.
    Warn,
    /// Refuse them.
    Deny,
}

/// The policies a command loads.
#[derive(clap::Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Gatekeeper ConstraintTemplates and Constraints: YAML or JSON files or folders.
    /// Repeatable.
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Cluster objects for templates that read `data.inventory`, and namespace labels for
    /// `namespaceSelector`: manifests, or a `vigil k8s snapshot` file. Repeatable.
    #[arg(long = "inventory", value_name = "PATH")]
    pub inventory: Vec<PathBuf>,
    /// Enforce the Pod Security Standards at this level (baseline or restricted).
    #[arg(long, value_name = "LEVEL")]
    pub pod_security: Option<Level>,
    /// Pod Security Standards policy version (`latest` or `v1.N`).
    #[arg(long, value_name = "VERSION", default_value = "latest")]
    pub pod_security_version: Version,
    /// What a pod that breaks the Pod Security Standards gets: deny, warn or dryrun
    /// (workloads with pod templates are only ever warned, as pod-security-admission does).
    #[arg(long, value_name = "ACTION", default_value = "deny")]
    pub pod_security_action: Action,
    /// Namespaces the Pod Security policy skips (`*` at either end is a wildcard). Repeatable.
    #[arg(long = "pod-security-exempt", value_name = "NAMESPACE")]
    pub pod_security_exempt: Vec<String>,
    /// `vigil image --format json` results for the image vulnerability gate. Repeatable.
    #[arg(long = "image-results", value_name = "FILE")]
    pub image_results: Vec<PathBuf>,
    /// The gate acts on vulnerabilities at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "critical")]
    pub image_severity: Severity,
    /// What a pod with such vulnerabilities gets: deny, warn or dryrun.
    #[arg(long, value_name = "ACTION", default_value = "deny")]
    pub image_action: Action,
    /// What a pod with an image that has no result gets (with --image-results).
    #[arg(long, value_enum, default_value_t = Unscanned::Allow)]
    pub unscanned: Unscanned,
    /// Time one template may take on one request (e.g. 500ms, 2s); over it the template
    /// fails and the failure policy decides.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub policy_timeout: Duration,
}

impl Default for PolicyArgs {
    /// No policy, and the flags' defaults.
    fn default() -> PolicyArgs {
        PolicyArgs {
            policies: Vec::new(),
            inventory: Vec::new(),
            pod_security: None,
            pod_security_version: Version::Latest,
            pod_security_action: Action::Deny,
            pod_security_exempt: Vec::new(),
            image_results: Vec::new(),
            image_severity: Severity::Critical,
            image_action: Action::Deny,
            unscanned: Unscanned::Allow,
            policy_timeout: Duration::from_secs(1),
        }
    }
}

/// What loading policies produced.
pub struct Loaded {
    /// The policies, Gatekeeper constraints first, then the built-ins.
    pub set: PolicySet,
    /// Templates and constraints that did not load.
    pub errors: Vec<LoadError>,
    /// Templates compiled.
    pub templates: usize,
}

impl PolicyArgs {
    /// True when no policy at all is configured.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty() && self.pod_security.is_none() && self.image_results.is_empty()
    }

    /// Reads and compiles every configured policy. A broken template or constraint is
    /// returned in `errors` and left out; unreadable files are an error.
    pub fn load(&self) -> Result<Loaded> {
        self.load_with(&[], &[])
    }

    /// [`PolicyArgs::load`], with templates and constraints read from a cluster added to
    /// the files' (`policies`), and `cluster` objects added to `data.inventory` (audit
    /// mode audits a cluster with the cluster as its inventory, and the webhook watching a
    /// cluster uses what Gatekeeper's sync configuration names, as Gatekeeper does).
    pub fn load_with(&self, policies: &[Object], cluster: &[Object]) -> Result<Loaded> {
        let limits = vigil_kube::Limits::default();
        let mut objects = policies.to_vec();
        for path in &self.policies {
            objects.extend(
                vigil_kube::manifest::load(path, &limits)
                    .with_context(|| format!("reading policies from {}", path.display()))?,
            );
        }
        let inventory = self.inventory_objects()?;
        let cluster = Arc::new(ClusterData::from_objects(inventory.iter().chain(cluster)));
        let library = gatekeeper::load(&objects, cluster, self.policy_timeout);
        let mut set = PolicySet::new();
        let templates = library.templates.len();
        set.extend(
            library
                .constraints
                .into_iter()
                .map(|c| Box::new(c) as Box<dyn Policy>),
        );
        if let Some(level) = self.pod_security {
            set.push(Box::new(PodSecurity::new(
                level,
                self.pod_security_version,
                self.pod_security_action,
                self.pod_security_exempt.clone(),
            )));
        }
        if !self.image_results.is_empty() {
            let reports = crate::cmd::k8s::scan::read_images(&self.image_results)?;
            let unscanned = match self.unscanned {
                Unscanned::Allow => None,
                Unscanned::Warn => Some(Action::Warn),
                Unscanned::Deny => Some(Action::Deny),
            };
            set.push(Box::new(ImageGate::new(
                &reports,
                self.image_severity,
                self.image_action,
                unscanned,
            )));
        }
        Ok(Loaded {
            set,
            errors: library.errors,
            templates,
        })
    }

    /// The objects of `--inventory`: snapshot files (JSON written by `vigil k8s snapshot`)
    /// or manifests.
    pub fn inventory_objects(&self) -> Result<Vec<Object>> {
        let mut objects = Vec::new();
        for path in &self.inventory {
            objects.extend(read_objects(path)?);
        }
        Ok(objects)
    }

    /// Every file the policies come from, for noticing changes.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for path in self
            .policies
            .iter()
            .chain(&self.inventory)
            .chain(&self.image_results)
        {
            if path.is_dir() {
                files.extend(
                    walkdir::WalkDir::new(path)
                        .sort_by_file_name()
                        .into_iter()
                        .flatten()
                        .filter(|e| e.file_type().is_file())
                        .map(|e| e.into_path()),
                );
            } else {
                files.push(path.clone());
            }
        }
        files
    }
}

/// Objects from a snapshot file or from manifests.
pub fn read_objects(path: &Path) -> Result<Vec<Object>> {
    if path.is_file()
        && path.extension().is_some_and(|e| e == "json")
        && let Ok(inv) = Inventory::read_snapshot(path)
    {
        return Ok(inv.objects);
    }
    vigil_kube::manifest::load(path, &vigil_kube::Limits::default())
        .with_context(|| format!("reading {}", path.display()))
}

/// `500ms`, `2s`, `1m`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (e.g. 500ms, 2s, 1m)");
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = number.parse().map_err(|_| bad())?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: the duration must be more than zero"));
    }
    Ok(d)
}

/// Logs every load error and says how many policies are in force.
pub fn report_load(loaded: &Loaded) {
    for e in &loaded.errors {
        tracing::error!("{e}");
        eprintln!("vigil: policy not loaded: {e}");
    }
    tracing::info!(
        policies = loaded.set.len(),
        templates = loaded.templates,
        errors = loaded.errors.len(),
        "policies loaded"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("s").is_err());
    }
}
