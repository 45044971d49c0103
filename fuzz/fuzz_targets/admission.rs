//! Admission on hostile input: the bytes as an AdmissionReview judged by a fixed set of
//! policies (a Rego template, a CEL template, Pod Security restricted, the image gate),
//! and as policy files (templates and constraints) that, if they load, judge a fixed pod.
//! Errors are fine; panics, hangs and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use vigil_core::Severity;
use vigil_kube::admission::gatekeeper::{self, ClusterData};
use vigil_kube::admission::image_gate::ImageGate;
use vigil_kube::admission::pod_security::PodSecurity;
use vigil_kube::admission::{Action, FailureMode, Policy, PolicySet, Request};
use vigil_kube::pss::{Level, Version};
use vigil_kube::{Limits, manifest};

const POLICIES: &str = r#"
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sfuzzlabels}
spec:
  crd: {spec: {names: {kind: K8sFuzzLabels}}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sfuzzlabels
        violation[{"msg": msg}] {
          provided := {l | input.review.object.metadata.labels[l]}
          missing := {l | l := input.parameters.labels[_]} - provided
          count(missing) > 0
          msg := sprintf("missing %v in %v", [missing, input.review.object.spec.containers[_].image])
        }
---
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sfuzzcel}
spec:
  crd: {spec: {names: {kind: K8sFuzzCel}}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            variables:
              - name: containers
                expression: "has(variables.anyObject.spec) && has(variables.anyObject.spec.containers) ? variables.anyObject.spec.containers : []"
            validations:
              - expression: "variables.containers.all(c, !c.image.endsWith(':latest'))"
                messageExpression: "'latest: ' + variables.containers.map(c, c.name).join(',')"
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sFuzzLabels
metadata: {name: labels}
spec:
  match: {kinds: [{apiGroups: ["*"], kinds: ["*"]}], labelSelector: {matchExpressions: [{key: skip, operator: DoesNotExist}]}}
  parameters: {labels: [owner]}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sFuzzCel
metadata: {name: cel}
spec: {enforcementAction: warn}
"#;

fn limits() -> Limits {
    Limits {
        max_file_bytes: 1 << 20,
        max_documents: 64,
        max_objects: 256,
        max_files: 1,
        max_depth: 32,
    }
}

static SET: LazyLock<PolicySet> = LazyLock::new(|| {
    let objects = manifest::parse(POLICIES.as_bytes(), Path::new("policies.yaml"), &limits())
        .expect("the fixed policies parse");
    let library = gatekeeper::load(&objects, Arc::new(ClusterData::default()), Duration::from_secs(1));
    assert!(library.errors.is_empty(), "{:?}", library.errors);
    let mut set = PolicySet::new();
    set.extend(library.constraints.into_iter().map(|c| Box::new(c) as Box<dyn Policy>));
    set.push(Box::new(PodSecurity::new(Level::Restricted, Version::Latest, Action::Deny, vec![])));
    set.push(Box::new(ImageGate::new(&[], Severity::High, Action::Deny, Some(Action::Warn))));
    set
});

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::from_review(data) {
        let decision = SET.decide(&request);
        let verdict = decision.verdict(FailureMode::Fail);
        let _ = vigil_kube::admission::review::response(&request.api_version, &request.uid, &verdict);
    }
    if let Ok(objects) = manifest::parse(data, Path::new("fuzz.yaml"), &limits()) {
        let library = gatekeeper::load(&objects, Arc::new(ClusterData::from_objects(&objects)), Duration::from_millis(200));
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
                         "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}});
        if let Ok(request) = Request::create(pod, "fuzz") {
            for c in &library.constraints {
                let _ = c.evaluate(&request);
            }
        }
    }
});
