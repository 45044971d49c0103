//! `vigil admission test`: a policy author's loop — one template, one constraint, one
//! object, judged as a CREATE request, and the verdict on stdout.

use super::PolicyArgs;
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_kube::admission::{Action, FailureMode, Request};

/// `vigil admission test` arguments.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Prints `allowed`, or `denied` and one `[constraint] message` line per
violation; warnings (enforcementAction: warn) and dry-run violations are printed too, and
do not deny. Exit status: 0 allowed, 1 denied, 2 when the policy or object cannot be read.
Every object in OBJECT is judged; the verdict is denied when any of them is denied.

Examples:
  vigil admission test template.yaml constraint.yaml pod.yaml
  vigil admission test template.yaml constraint.yaml ingress.yaml --inventory existing-ingresses.yaml"
)]
pub struct TestArgs {
    /// The ConstraintTemplate (YAML or JSON; may hold several, and libs).
    pub template: PathBuf,
    /// The Constraint(s).
    pub constraint: PathBuf,
    /// The object(s) to judge.
    pub object: PathBuf,
    /// Cluster objects for `data.inventory` (manifests or a snapshot). Repeatable.
    #[arg(long, value_name = "PATH")]
    pub inventory: Vec<PathBuf>,
    /// The requesting user (`input.review.userInfo.username`).
    #[arg(long, default_value = "vigil-admission-test")]
    pub user: String,
    /// Time one template may take.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = super::parse_duration)]
    pub policy_timeout: std::time::Duration,
}

/// Runs `vigil admission test`.
pub fn run(args: TestArgs) -> Result<ExitCode> {
    let policies = PolicyArgs {
        policies: vec![args.template.clone(), args.constraint.clone()],
        inventory: args.inventory.clone(),
        policy_timeout: args.policy_timeout,
        ..PolicyArgs::default()
    };
    let loaded = policies.load()?;
    if !loaded.errors.is_empty() {
        let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        bail!("the policy did not load:\n  {}", errors.join("\n  "));
    }
    if loaded.set.is_empty() {
        bail!(
            "no Constraint bound to a ConstraintTemplate in {} and {}",
            args.template.display(),
            args.constraint.display()
        );
    }
    let objects = super::read_objects(&args.object)?;
    if objects.is_empty() {
        bail!("{}: no object", args.object.display());
    }
    let mut denied = false;
    for object in objects {
        let what = format!("{} {}", object.kind(), object.name());
        let request = Request::create(object.value, &args.user)?;
        let decision = loaded.set.decide(&request);
        let allowed = decision.allowed(FailureMode::Fail);
        denied |= !allowed;
        println!("{what}: {}", if allowed { "allowed" } else { "denied" });
        for v in decision.with_action(Action::Deny) {
            println!("  {}", v.line());
        }
        for v in decision.with_action(Action::Warn) {
            println!("  warning: {}", v.line());
        }
        for v in decision.with_action(Action::Dryrun) {
            println!("  dryrun: {}", v.line());
        }
        for f in &decision.failures {
            println!("  [{}] policy failed: {}", f.policy, f.error);
        }
    }
    Ok(if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
