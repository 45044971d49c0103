//! `vigil admission audit`: the policies run over objects that already exist, as
//! Gatekeeper's audit does — each object judged as if it were created now, with the
//! cluster itself as `data.inventory`.

use super::PolicyArgs;
use crate::cmd::k8s::source::SourceArgs;
use crate::cmd::sbom::write_output;
use anyhow::{Result, bail};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_kube::admission::{Action, Request};

/// `vigil admission audit` arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Sources (one of):
  (default)            the live cluster of --kubeconfig/--context (read-only)
  -f PATH              manifests: files, folders, `-`
  --snapshot FILE      a snapshot written by `vigil k8s snapshot`

Every object is judged as a CREATE by the policies (Gatekeeper constraints, --pod-security,
--image-results); the objects read are also `data.inventory`. Output: one line per
violation (table) or JSON lines; every enforcement action is reported.

Examples:
  vigil admission audit --policy policies/ --context prod
  vigil admission audit --cluster-policies --context prod   (the cluster's own constraints)
  vigil admission audit --policy policies/ -f deploy/ --exit-code 1
  vigil admission audit --pod-security restricted --snapshot prod.json --format json")]
pub struct AuditArgs {
    #[command(flatten)]
    pub policies: PolicyArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output: a table, or JSON lines (one violation per line).
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with this code when a violation with enforcement action deny is found.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub exit_code: u8,
    /// Also audit with the ConstraintTemplates and Constraints the live cluster declares
    /// (Gatekeeper's CRDs), as Gatekeeper's own audit does.
    #[arg(long, conflicts_with_all = ["files", "snapshot"])]
    pub cluster_policies: bool,
}

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditFormat {
    /// One line per violation.
    Table,
    /// JSON lines.
    Json,
}

/// One violation by one existing object.
#[derive(Debug, Serialize)]
struct Finding<'a> {
    policy: &'a str,
    kind: &'a str,
    action: Action,
    object: ObjectRef<'a>,
    message: &'a str,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    details: &'a serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRef<'a> {
    api_version: &'a str,
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    name: &'a str,
}

/// Runs `vigil admission audit`.
pub fn run(args: AuditArgs) -> Result<ExitCode> {
    if args.policies.is_empty() && !args.cluster_policies {
        bail!("no policy: give --policy, --pod-security, --image-results or --cluster-policies");
    }
    let declared = if args.cluster_policies {
        let read = super::cluster::ClusterPolicies::new(args.source.cluster.clone())?.read()?;
        super::cluster::report_gaps(&read.gaps);
        read.policies
    } else {
        Vec::new()
    };
    let mut inventory = args.source.read()?.inventory;
    // Objects read without a namespace are where `kubectl apply` would put them.
    let namespaces: Vec<String> = inventory
        .objects
        .iter()
        .map(|o| inventory.namespace_of(o).to_string())
        .collect();
    let objects: Vec<_> = std::mem::take(&mut inventory.objects)
        .into_iter()
        .zip(namespaces)
        .map(|(mut o, ns)| {
            if o.namespace().is_empty()
                && !ns.is_empty()
                && let Some(meta) = o.value.get_mut("metadata").and_then(|m| m.as_object_mut())
            {
                meta.insert("namespace".into(), ns.into());
            }
            o
        })
        .collect();
    let loaded = args.policies.load_with(&declared, &objects)?;
    super::report_load(&loaded);
    let mut judged = Vec::new();
    for object in &objects {
        let Ok(request) = Request::create(object.value.clone(), "vigil-admission-audit") else {
            continue;
        };
        let decision = loaded.set.decide(&request);
        for f in &decision.failures {
            eprintln!(
                "vigil: [{}] failed on {} {}/{}: {}",
                f.policy,
                object.kind(),
                object.namespace(),
                object.name(),
                f.error
            );
        }
        if !decision.violations.is_empty() {
            judged.push((object, decision));
        }
    }
    let mut denied = false;
    let mut count = 0usize;
    write_output(args.output.as_deref(), |out| {
        for (object, decision) in &judged {
            for v in &decision.violations {
                denied |= v.action == Action::Deny;
                count += 1;
                let finding = Finding {
                    policy: &v.policy,
                    kind: &v.kind,
                    action: v.action,
                    object: ObjectRef {
                        api_version: object.api_version(),
                        kind: object.kind(),
                        namespace: object.namespace(),
                        name: object.name(),
                    },
                    message: &v.message,
                    details: &v.details,
                };
                match args.format {
                    AuditFormat::Json => {
                        serde_json::to_writer(&mut *out, &finding)
                            .map_err(std::io::Error::other)?;
                        writeln!(out)?;
                    }
                    AuditFormat::Table => {
                        let ns = if finding.object.namespace.is_empty() {
                            String::new()
                        } else {
                            format!("{}/", finding.object.namespace)
                        };
                        writeln!(
                            out,
                            "{:<6} {:<28} {} {}{}: {}",
                            v.action.as_str(),
                            v.policy,
                            finding.object.kind,
                            ns,
                            finding.object.name,
                            v.message
                        )?;
                    }
                }
            }
        }
        Ok(())
    })?;
    eprintln!(
        "{} objects judged by {} policies: {count} violations",
        objects.len(),
        loaded.set.len()
    );
    Ok(if denied && args.exit_code != 0 {
        ExitCode::from(args.exit_code)
    } else {
        ExitCode::SUCCESS
    })
}
