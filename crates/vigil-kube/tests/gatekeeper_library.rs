//! The Gatekeeper policy library in `tests/fixtures/gatekeeper`, laid out as the
//! gatekeeper-library is: `<template>/template.yaml` and, for each sample case,
//! `<template>/samples/<case>/{constraint,example_allowed,example_disallowed}.yaml`, with
//! an optional `inventory.yaml` of cluster objects for `data.inventory`.
//!
//! Every object of `example_allowed.yaml` must be matched by the case's constraint and
//! pass it; every object of `example_disallowed.yaml` must be matched and get at least one
//! violation from it. The templates must also load side by side, and a broken one must be
//! reported with its file position while the others keep working.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use vigil_kube::admission::gatekeeper::{self, ClusterData, Library, Match};
use vigil_kube::admission::{Action, Policy, PolicySet, Request};
use vigil_kube::manifest::{self, Limits, Object};

/// How many templates the library holds.
const TEMPLATES: usize = 20;

/// Bound on one template evaluation (generous: the machine may be busy).
const TIMEOUT: Duration = Duration::from_secs(10);

fn library_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gatekeeper")
}

fn read(path: &Path) -> Vec<Object> {
    manifest::load(path, &Limits::default())
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// One sample case of one template.
struct Case {
    template: PathBuf,
    dir: PathBuf,
}

impl Case {
    /// `k8srequiredlabels/namespace-owner`.
    fn label(&self) -> String {
        format!("{}/{}", file_name(&self.template), file_name(&self.dir))
    }

    fn constraint(&self) -> Object {
        let path = self.dir.join("constraint.yaml");
        let mut objects = read(&path);
        assert_eq!(
            objects.len(),
            1,
            "{}: constraint.yaml must hold exactly one object",
            self.label()
        );
        objects.remove(0)
    }

    fn inventory(&self) -> Vec<Object> {
        let path = self.dir.join("inventory.yaml");
        if path.exists() {
            read(&path)
        } else {
            Vec::new()
        }
    }
}

/// The template folders, each with its sample cases, checked for the expected layout.
fn library() -> Vec<(PathBuf, Vec<Case>)> {
    subdirs(&library_dir())
        .into_iter()
        .map(|template| {
            let name = file_name(&template);
            assert!(
                template.join("template.yaml").is_file(),
                "{name}: template.yaml is missing"
            );
            let cases: Vec<Case> = subdirs(&template.join("samples"))
                .into_iter()
                .map(|dir| Case {
                    template: template.clone(),
                    dir,
                })
                .collect();
            assert!(!cases.is_empty(), "{name}: no sample case under samples/");
            for case in &cases {
                for file in [
                    "constraint.yaml",
                    "example_allowed.yaml",
                    "example_disallowed.yaml",
                ] {
                    assert!(
                        case.dir.join(file).is_file(),
                        "{}: {file} is missing",
                        case.label()
                    );
                }
            }
            (template, cases)
        })
        .collect()
}

fn load(objects: &[Object], inventory: &[Object]) -> (Library, Arc<ClusterData>) {
    let cluster = Arc::new(ClusterData::from_objects(inventory));
    (gatekeeper::load(objects, cluster.clone(), TIMEOUT), cluster)
}

fn policy_set(library: Library) -> PolicySet {
    let mut set = PolicySet::new();
    set.extend(
        library
            .constraints
            .into_iter()
            .map(|c| Box::new(c) as Box<dyn Policy>),
    );
    set
}

fn errors(library: &Library) -> String {
    library
        .errors
        .iter()
        .map(|e| format!("\n    {e}"))
        .collect()
}

/// The constraint's `spec.match`, to check that a sample is judged rather than skipped.
fn matcher(constraint: &Object) -> Match {
    let m = constraint
        .value
        .pointer("/spec/match")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    serde_json::from_value(m).expect("spec.match is valid")
}

/// What `set` says about every object of the case's `file`, as problems (empty when each
/// object got the verdict the file's name promises from constraint `name`).
fn judge_examples(
    case: &Case,
    file: &str,
    set: &PolicySet,
    name: &str,
    matcher: &Match,
    cluster: &ClusterData,
) -> (usize, Vec<String>) {
    let allowed = file == "example_allowed.yaml";
    let objects = read(&case.dir.join(file));
    let mut problems = Vec::new();
    if objects.is_empty() {
        problems.push(format!("{}: {file} holds no object", case.label()));
    }
    for o in &objects {
        let what = format!(
            "{}: {file} document {} ({} {})",
            case.label(),
            o.origin.document,
            o.kind(),
            o.name()
        );
        let request = match Request::create(o.value.clone(), "library-test") {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{what}: not a request: {e}"));
                continue;
            }
        };
        if !matcher.matches(&request, cluster) {
            problems.push(format!(
                "{what}: constraint {name} does not match it, so the sample proves nothing"
            ));
            continue;
        }
        let decision = set.decide(&request);
        if !decision.failures.is_empty() {
            problems.push(format!(
                "{what}: a policy failed to evaluate: {:?}",
                decision.failures
            ));
            continue;
        }
        let own: Vec<_> = decision
            .violations
            .iter()
            .filter(|v| v.policy == name)
            .collect();
        if allowed && !own.is_empty() {
            let lines: Vec<String> = own.iter().map(|v| v.line()).collect();
            problems.push(format!(
                "{what}: should be allowed, but got {}",
                lines.join(" | ")
            ));
        }
        if !allowed {
            if own.is_empty() {
                problems.push(format!(
                    "{what}: should be denied, but constraint {name} reported no violation"
                ));
            }
            for v in &own {
                if v.message.trim().is_empty() || v.action != Action::Deny {
                    problems.push(format!(
                        "{what}: a violation with no message or not deny: {v:?}"
                    ));
                }
            }
        }
    }
    (objects.len(), problems)
}

#[test]
fn every_sample_is_allowed_or_denied_as_its_file_says() {
    let library = library();
    assert_eq!(
        library.len(),
        TEMPLATES,
        "the library should hold {TEMPLATES} templates"
    );
    let mut problems = Vec::new();
    let (mut cases, mut judged) = (0, 0);
    for case in library.iter().flat_map(|(_, cases)| cases) {
        cases += 1;
        let constraint = case.constraint();
        let name = constraint.name().to_string();
        let mut objects = read(&case.template.join("template.yaml"));
        objects.push(constraint.clone());
        let (loaded, cluster) = load(&objects, &case.inventory());
        if !loaded.errors.is_empty() {
            problems.push(format!(
                "{}: the library did not load:{}",
                case.label(),
                errors(&loaded)
            ));
            continue;
        }
        if (
            loaded.templates.len(),
            loaded.constraints.len(),
            loaded.ignored,
        ) != (1, 1, 0)
        {
            problems.push(format!(
                "{}: expected one template and one constraint, got {} templates, {} constraints, {} other objects",
                case.label(),
                loaded.templates.len(),
                loaded.constraints.len(),
                loaded.ignored
            ));
            continue;
        }
        let set = policy_set(loaded);
        let matcher = matcher(&constraint);
        for file in ["example_allowed.yaml", "example_disallowed.yaml"] {
            let (n, p) = judge_examples(case, file, &set, &name, &matcher, &cluster);
            judged += n;
            problems.extend(p);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in the Gatekeeper library samples:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    assert!(cases >= TEMPLATES, "only {cases} sample cases");
    assert!(judged > 2 * cases, "only {judged} example objects judged");
}

#[test]
fn the_templates_load_together_into_one_policy_set() {
    let library = library();
    let mut objects = Vec::new();
    let mut inventory = Vec::new();
    let mut first_cases = Vec::new();
    for (template, cases) in &library {
        objects.extend(read(&template.join("template.yaml")));
        // One constraint per template: its first sample case's.
        let case = &cases[0];
        objects.push(case.constraint());
        inventory.extend(case.inventory());
        first_cases.push(case);
    }
    let (loaded, cluster) = load(&objects, &inventory);
    assert!(loaded.errors.is_empty(), "load errors:{}", errors(&loaded));
    let mut kinds: Vec<String> = loaded.templates.iter().map(|t| t.name.clone()).collect();
    kinds.sort();
    let dirs: Vec<String> = library.iter().map(|(t, _)| file_name(t)).collect();
    assert_eq!(kinds, dirs, "every folder's template, named as its folder");
    // Every template of the library compiles to the Rego VM (the interpreter is the
    // fallback for what the VM compiler does not support); the sample verdicts above
    // and below are the VM's.
    let interpreted: Vec<&str> = loaded
        .templates
        .iter()
        .filter(|t| !t.runs_on_vm())
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        interpreted.is_empty(),
        "interpreted, not on the VM: {interpreted:?}"
    );
    assert_eq!(loaded.constraints.len(), TEMPLATES);
    let set = policy_set(loaded);
    assert_eq!(set.len(), TEMPLATES);

    // Side by side (each template with its own copy of the same `lib` packages), every
    // constraint still judges its samples as it does alone.
    let mut problems = Vec::new();
    for case in first_cases {
        let constraint = case.constraint();
        let matcher = matcher(&constraint);
        for file in ["example_allowed.yaml", "example_disallowed.yaml"] {
            let (_, p) = judge_examples(case, file, &set, constraint.name(), &matcher, &cluster);
            problems.extend(p);
        }
    }
    assert!(
        problems.is_empty(),
        "in the full policy set:\n  {}",
        problems.join("\n  ")
    );
}

/// The template broken by [`a_broken_template_is_reported_where_it_breaks`], and the line of
/// its `template.yaml` that gets a syntax error.
const BROKEN: &str = "k8sblocknodeport";
const BROKEN_LINE: usize = 21;
const BROKEN_TEXT: &str = r#"input.review.object.spec.type == "NodePort""#;

/// A template whose `lib.pods` gets broken instead, and the line.
const BROKEN_LIB: &str = "k8sallowedrepos";
const BROKEN_LIB_LINE: usize = 69;
const BROKEN_LIB_TEXT: &str = r#"c := spec[lists[_]][_]"#;

#[test]
fn a_broken_template_is_reported_where_it_breaks() {
    let library = library();
    let dir = tempfile::tempdir().unwrap();
    let mut constraints = Vec::new();
    for (template, cases) in &library {
        let name = file_name(template);
        let mut text = fs::read_to_string(template.join("template.yaml")).unwrap();
        let broken = match name.as_str() {
            BROKEN => Some((BROKEN_LINE, BROKEN_TEXT, "==")),
            BROKEN_LIB => Some((BROKEN_LIB_LINE, BROKEN_LIB_TEXT, ":=")),
            _ => None,
        };
        // The line's first `token` is doubled: `a == == b`, `c := := x`.
        if let Some((line, expected, token)) = broken {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            assert_eq!(
                lines[line - 1].trim(),
                expected,
                "{name}/template.yaml changed: line {line} is no longer the one this test breaks"
            );
            lines[line - 1] = lines[line - 1].replacen(token, &format!("{token} {token}"), 1);
            text = lines.join("\n") + "\n";
        }
        fs::write(dir.path().join(format!("{name}.yaml")), text).unwrap();
        constraints.push(cases[0].constraint());
    }
    let mut objects = read(dir.path());
    objects.extend(constraints);
    let (loaded, _) = load(&objects, &[]);

    // The two broken templates, and the constraints of their kinds, which have no template.
    let report = errors(&loaded);
    assert_eq!(loaded.errors.len(), 4, "errors:{report}");
    assert_eq!(loaded.templates.len(), TEMPLATES - 2, "errors:{report}");
    assert_eq!(loaded.constraints.len(), TEMPLATES - 2, "errors:{report}");
    for (name, line, column) in [
        // `== ==`: the second `==` (column 44) cannot start an expression.
        (BROKEN, BROKEN_LINE, 44),
        // In libs[0]: `:= :=`, the second `:=` (column 18).
        (BROKEN_LIB, BROKEN_LIB_LINE, 18),
    ] {
        let e = loaded
            .errors
            .iter()
            .find(|e| e.object == format!("ConstraintTemplate {name}"))
            .unwrap_or_else(|| panic!("no error names ConstraintTemplate {name}:{report}"));
        assert_eq!(e.file, dir.path().join(format!("{name}.yaml")));
        assert_eq!(e.document, 1);
        let at = format!("line {line}, column {column} ");
        assert!(
            e.message.starts_with(&at),
            "{name}: expected the error at {at:?}, got {:?}",
            e.message
        );
    }
    for kind in ["K8sBlockNodePort", "K8sAllowedRepos"] {
        assert!(
            loaded.errors.iter().any(|e| e.object.starts_with(kind)
                && e.message.contains("no loaded ConstraintTemplate")),
            "the {kind} constraint should be left out:{report}"
        );
    }
}

/// Templates carry their own copies of the `lib` packages they import (Gatekeeper has no
/// shared libraries): every copy of a package must be the same text, so a fix made to one
/// is made to all.
#[test]
fn shared_libs_are_the_same_in_every_template() {
    let mut copies: std::collections::BTreeMap<String, (String, String)> = Default::default();
    let mut users = 0;
    for (template, _) in library() {
        let name = file_name(&template);
        let objects = read(&template.join("template.yaml"));
        let libs = objects[0]
            .value
            .pointer("/spec/targets/0/libs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        users += usize::from(!libs.is_empty());
        for lib in libs {
            let text = lib.as_str().expect("libs are strings").to_string();
            let package = text
                .lines()
                .find_map(|l| l.strip_prefix("package "))
                .unwrap_or_else(|| panic!("{name}: a lib without a package"))
                .trim()
                .to_string();
            match copies.get(&package) {
                None => {
                    copies.insert(package, (name.clone(), text));
                }
                Some((first, original)) => assert_eq!(
                    &text, original,
                    "{name}: its copy of {package} differs from {first}'s"
                ),
            }
        }
    }
    assert!(users >= 2, "only {users} templates use libs");
    assert_eq!(
        copies.keys().collect::<Vec<_>>(),
        ["lib.images", "lib.pods"]
    );
}
