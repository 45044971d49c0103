//! The Pod Security Standards as scan findings: every workload judged at
//! `baseline:latest` and `restricted:latest` (see [`crate::pss`]); each violated control
//! is one finding, tagged `PSS:baseline` or `PSS:restricted`.

use super::{CheckInfo, Context, Family};
use crate::pss;
use vigil_core::Finding;

/// The Pod Security Standards family.
pub struct PodSecurity;

impl Family for PodSecurity {
    fn name(&self) -> &'static str {
        "pod-security"
    }

    fn checks(&self) -> Vec<&'static CheckInfo> {
        pss::checks().into_iter().map(|c| &c.control).collect()
    }

    fn run(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        for (i, w) in ctx.workloads.iter().enumerate() {
            let Some(evals) = ctx.pss(i) else { continue };
            let resource = ctx.inv.resource_ref(w.object);
            // Baseline, then the Restricted-only controls: at `restricted` a Restricted
            // check can stand in for a Baseline one (volume types for hostPath), and a
            // hostPath must still be reported as the Baseline violation it is.
            for eval in evals {
                let own_level = format!("PSS:{}", eval.level);
                for mut f in eval.findings() {
                    if !f.controls.contains(&own_level) {
                        continue;
                    }
                    // Same object, but named with the cluster the inventory came from.
                    f.id = Finding::stable_id(&f.check_id, &resource);
                    f.resource = resource.clone();
                    out.push(f);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{findings, fired};

    #[test]
    fn workloads_get_baseline_and_restricted_findings_once() {
        let yaml = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  template:
    spec:
      hostNetwork: true
      containers: [{name: app, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: shop
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec: {template: {spec: {hostNetwork: true, containers: [{name: app, image: nginx}]}}}
"#;
        let got = fired(&PodSecurity, yaml);
        assert!(
            got.contains(&"PSS-baseline-privileged Deployment shop/web".to_string()),
            "{got:?}"
        );
        assert!(got.contains(&"PSS-baseline-host-namespaces Deployment shop/web".to_string()));
        assert!(got.contains(&"PSS-restricted-run-as-non-root Deployment shop/web".to_string()));
        // Each control once, though Restricted runs the Baseline checks too.
        let mut unique = got.clone();
        unique.dedup();
        assert_eq!(unique, got);
        assert!(got.iter().all(|f| !f.contains("ReplicaSet")), "{got:?}");
        let all = findings(&PodSecurity, yaml);
        let privileged = all
            .iter()
            .find(|f| f.check_id == "PSS-baseline-privileged")
            .unwrap();
        assert!(privileged.controls.contains(&"PSS:baseline".to_string()));
        assert_eq!(
            privileged.evidence.first().unwrap().path,
            "spec.template.spec.containers[0].securityContext.privileged"
        );
    }

    #[test]
    fn host_path_is_a_baseline_finding_even_where_restricted_overrides_it() {
        let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x}
spec:
  volumes: [{name: h, hostPath: {path: /}}]
  containers: [{name: c, image: x}]
"#;
        let got = fired(&PodSecurity, yaml);
        assert!(
            got.contains(&"PSS-baseline-host-path-volumes Pod x/p".to_string()),
            "{got:?}"
        );
        assert!(
            got.contains(&"PSS-restricted-volume-types Pod x/p".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn a_restricted_pod_has_no_findings() {
        let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"#;
        assert_eq!(fired(&PodSecurity, yaml), Vec::<String>::new());
    }
}
