//! A Gatekeeper `ConstraintTemplate` compiled to a Rego engine of its own.
//!
//! Each template gets its own `regorus` engine holding its Rego, its `libs` and
//! `data.inventory`, so templates cannot see each other's rules and need no package
//! rewriting (Gatekeeper rewrites packages to share one OPA instance). The engine is
//! compiled once at load; a request clones it (reference-counted, cheap) and evaluates
//! `data.<package>.violation` with Gatekeeper's input: `{review, parameters}`.

use super::cel::CelPolicy;
use crate::admission::Request;
use regorus::Engine;
use regorus::languages::rego::compiler::Compiler as RvmCompiler;
use regorus::rvm::RegoVM;
use regorus::utils::limits::ExecutionTimerConfig;
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The only Gatekeeper target there is for admission.
pub const TARGET: &str = "admission.k8s.gatekeeper.sh";

/// Interpreter steps between two looks at the clock for the time limit.
const TIMER_CHECK_INTERVAL: NonZeroU32 = match NonZeroU32::new(256) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// Largest Rego source accepted per template (with its libs).
const MAX_REGO_BYTES: usize = 1 << 20;

/// A compiled template.
pub struct Template {
    /// `metadata.name` (the lower-case kind).
    pub name: String,
    /// The Constraint kind it defines (`spec.crd.spec.names.kind`).
    pub kind: String,
    body: Body,
    /// `spec.crd.spec.validation.openAPIV3Schema`: what a Constraint's `parameters` must be.
    parameters: Option<jsonschema::Validator>,
}

/// The policy code, in one of Gatekeeper's engines.
enum Body {
    /// Rego: the engine with the template's modules and `data.inventory`, and the rule
    /// that lists violations.
    Rego {
        engine: Box<Engine>,
        rule: String,
        vm: Option<Compiled>,
    },
    /// CEL (`K8sNativeValidation`).
    Cel(CelPolicy),
}

/// A Rego template compiled to regorus's virtual machine (RVM), which runs the usual
/// Gatekeeper template two to four times faster than the tree-walking interpreter.
/// Machines are kept for reuse (one per concurrent request), since each holds the
/// program's registers and the data document.
struct Compiled {
    program: Arc<regorus::rvm::Program>,
    data: regorus::Value,
    timer: ExecutionTimerConfig,
    idle: Mutex<Vec<RegoVM>>,
}

/// Machines kept per template when idle: enough for the webhook's worker threads.
const IDLE_MACHINES: usize = 8;

impl Compiled {
    /// Compiles `rule` of `engine` (prepared, with its data) for the RVM; `None` when the
    /// compiler does not support something the template uses (the interpreter then runs
    /// it).
    fn new(
        engine: &mut Engine,
        rule: &str,
        data: regorus::Value,
        timer: ExecutionTimerConfig,
    ) -> Option<Compiled> {
        let compiled = engine.compile_with_entrypoint(&rule.into()).ok()?;
        let program = RvmCompiler::compile_from_policy(&compiled, &[rule]).ok()?;
        Some(Compiled {
            program,
            data,
            timer,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn run(&self, input: regorus::Value) -> Result<regorus::Value, String> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut vm = match reused {
            Some(vm) => vm,
            None => {
                let mut vm = RegoVM::new();
                vm.load_program(Arc::clone(&self.program));
                vm.set_data(self.data.clone()).map_err(|e| e.to_string())?;
                vm.set_execution_timer_config(Some(self.timer));
                vm
            }
        };
        vm.set_input(input);
        let result = vm.execute().map_err(|e| one_line(&e.to_string()));
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_MACHINES
        {
            idle.push(vm);
        }
        result
    }
}

/// A Constraint's `parameters`, in the form each engine reads.
pub struct Parameters {
    json: Value,
    rego: regorus::Value,
}

impl Parameters {
    /// From `spec.parameters` (an object).
    pub fn new(json: Value) -> Parameters {
        let rego = regorus::Value::from(json.clone());
        Parameters { json, rego }
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field(
                "engine",
                &match &self.body {
                    Body::Rego { rule, vm, .. } => {
                        format!(
                            "Rego ({rule}, {})",
                            if vm.is_some() { "RVM" } else { "interpreter" }
                        )
                    }
                    Body::Cel(_) => "CEL".to_string(),
                },
            )
            .finish()
    }
}

/// Where a template's Rego sits in its file, to turn Rego positions into file positions.
pub struct SourceText<'a> {
    /// The template's document (the whole file when it holds one).
    pub text: &'a str,
    /// The 1-based file line of the first line of `text`.
    pub first_line: usize,
}

impl Template {
    /// Compiles a `ConstraintTemplate` object (v1, v1beta1 or v1alpha1: the same shape).
    /// `inventory` is `data.inventory`; `timeout` bounds one evaluation.
    pub fn compile(
        object: &Value,
        source: Option<&SourceText<'_>>,
        inventory: &regorus::Value,
        timeout: Duration,
    ) -> Result<Template, String> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = object
            .pointer("/spec/crd/spec/names/kind")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or("spec.crd.spec.names.kind is missing")?
            .to_string();
        if name != kind.to_ascii_lowercase() {
            return Err(format!(
                "metadata.name {name:?} must be the lower-case kind {:?} (as Gatekeeper requires)",
                kind.to_ascii_lowercase()
            ));
        }
        let parameters = match object.pointer("/spec/crd/spec/validation/openAPIV3Schema") {
            None | Some(Value::Null) => None,
            Some(schema) => Some(
                jsonschema::draft4::new(schema)
                    .map_err(|e| format!("spec.crd.spec.validation.openAPIV3Schema: {e}"))?,
            ),
        };
        let targets = object
            .pointer("/spec/targets")
            .and_then(Value::as_array)
            .ok_or("spec.targets is missing")?;
        let [target] = targets.as_slice() else {
            return Err(format!(
                "spec.targets must hold exactly one target, not {}",
                targets.len()
            ));
        };
        match target.get("target").and_then(Value::as_str) {
            Some(TARGET) => {}
            other => return Err(format!("target {other:?} is not {TARGET:?}")),
        }
        let (rego, libs) = match code_source(target)? {
            Code::Rego(rego, libs) => (rego, libs),
            Code::Cel(source) => {
                return Ok(Template {
                    name,
                    kind,
                    body: Body::Cel(CelPolicy::compile(source)?),
                    parameters,
                });
            }
        };
        if rego.len() + libs.iter().map(|l| l.len()).sum::<usize>() > MAX_REGO_BYTES {
            return Err(format!("Rego source larger than {MAX_REGO_BYTES} bytes"));
        }

        let mut engine = Engine::new();
        // Gatekeeper templates are Rego v0 (no `if`/`contains` keywords needed).
        engine.set_rego_v0(true);
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: timeout,
            // Reading the clock at every step cost a tenth of the evaluation time; every
            // 256 steps still stops a runaway policy within microseconds of its limit.
            check_interval: TIMER_CHECK_INTERVAL,
        });
        let file = format!("{kind}.rego");
        // Each block under the name regorus gives it, and the name errors show.
        let mut blocks = vec![Block {
            file: file.clone(),
            label: "Rego".into(),
            text: rego,
        }];
        blocks.extend(libs.iter().enumerate().map(|(i, lib)| Block {
            file: format!("{kind}.lib{i}.rego"),
            label: format!("libs[{i}]"),
            text: lib,
        }));
        let located = |e: &dyn std::fmt::Display| locate_error(&e.to_string(), &blocks, source);
        let package = engine
            .add_policy(file.clone(), rego.to_string())
            .map_err(|e| located(&e))?;
        for (i, block) in blocks[1..].iter().enumerate() {
            let pkg = engine
                .add_policy(block.file.clone(), block.text.to_string())
                .map_err(|e| located(&e))?;
            if !(pkg == "data.lib" || pkg.starts_with("data.lib.")) {
                return Err(format!(
                    "libs[{i}]: package {} must be under `lib` (as Gatekeeper requires)",
                    pkg.trim_start_matches("data.")
                ));
            }
        }
        match engine.has_declared_rule_rooted_at(&file, "violation") {
            Ok(true) => {}
            Ok(false) => return Err("the Rego declares no `violation` rule".into()),
            Err(e) => return Err(e.to_string()),
        }
        engine
            .add_data(rego_object([("inventory", inventory.clone())]))
            .map_err(|e| format!("data.inventory: {e}"))?;
        let rule = format!("{package}.violation");
        // A first evaluation resolves every function and reference, so a call to a
        // built-in that does not exist fails here, at load, not on the first request.
        engine.set_input(regorus::Value::new_object());
        let on_empty = engine.eval_rule(rule.clone()).map_err(|e| located(&e))?;
        let timer = ExecutionTimerConfig {
            limit: timeout,
            check_interval: TIMER_CHECK_INTERVAL,
        };
        let data = rego_object([("inventory", inventory.clone())]);
        // The machine must agree with the interpreter on the input both just saw.
        let vm = Compiled::new(&mut engine, &rule, data, timer)
            .filter(|vm| vm.run(regorus::Value::new_object()).ok() == Some(on_empty.clone()));
        if vm.is_none() {
            tracing::debug!(template = %name, "the Rego VM cannot run this template; interpreting it");
        }
        Ok(Template {
            name,
            kind,
            parameters,
            body: Body::Rego {
                engine: Box::new(engine),
                rule,
                vm,
            },
        })
    }

    /// Checks a Constraint's `parameters` against the template's schema, as the API server
    /// does when the Constraint is created (OpenAPI v3 schemas are JSON Schema draft 4
    /// plus extensions, which are ignored).
    pub fn check_parameters(&self, parameters: &Value) -> Result<(), String> {
        let Some(schema) = &self.parameters else {
            return Ok(());
        };
        let errors: Vec<String> = schema
            .iter_errors(parameters)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("spec.parameters: {}", errors.join("; ")))
        }
    }

    /// True when a Rego template runs on the virtual machine (false when interpreted, or CEL).
    pub fn runs_on_vm(&self) -> bool {
        matches!(&self.body, Body::Rego { vm: Some(_), .. })
    }

    /// The engine the template is written for: `Rego` or `K8sNativeValidation`.
    pub fn engine(&self) -> &'static str {
        match self.body {
            Body::Rego { .. } => "Rego",
            Body::Cel(_) => "K8sNativeValidation",
        }
    }

    /// The violations of `request` with `parameters`: `(msg, details)` pairs.
    pub fn violations(
        &self,
        request: &Request,
        parameters: &Parameters,
    ) -> Result<Vec<(String, Value)>, String> {
        match &self.body {
            Body::Rego { engine, rule, vm } => {
                let input = rego_object([
                    ("review", request.rego_review().clone()),
                    ("parameters", parameters.rego.clone()),
                ]);
                let result = match vm {
                    Some(vm) => vm.run(input)?,
                    None => {
                        let mut engine = engine.as_ref().clone();
                        engine.set_input(input);
                        engine
                            .eval_rule(rule.clone())
                            .map_err(|e| one_line(&e.to_string()))?
                    }
                };
                violations_of(&result)
            }
            Body::Cel(cel) => cel.violations(&request.review, &parameters.json),
        }
    }
}

/// The `(msg, details)` of each element of a `violation` set.
fn violations_of(result: &regorus::Value) -> Result<Vec<(String, Value)>, String> {
    let json: Value = serde_json::to_value(result).map_err(|e| e.to_string())?;
    let items = match json {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => return Err(format!("violation is not a set: {other}")),
    };
    items
        .into_iter()
        .map(|item| {
            let msg = item
                .get("msg")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("a violation has no string msg: {item}"))?
                .to_string();
            let details = item.get("details").cloned().unwrap_or(Value::Null);
            Ok((msg, details))
        })
        .collect()
}

/// A Rego object of string keys.
pub(crate) fn rego_object<const N: usize>(pairs: [(&str, regorus::Value); N]) -> regorus::Value {
    regorus::Value::from(
        pairs
            .into_iter()
            .map(|(k, v)| (regorus::Value::from(k), v))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
}

/// A template's code in one engine.
enum Code<'a> {
    /// Rego and libs.
    Rego(&'a str, Vec<&'a str>),
    /// The `source` of a `K8sNativeValidation` entry.
    Cel(&'a Value),
}

/// The template's code: the `rego`/`libs` fields, or else the `Rego` entry of `code`
/// (Gatekeeper 3.13+ multi-engine templates), or else its `K8sNativeValidation` entry.
/// Rego is preferred when both are given: it can read `data.inventory`.
fn code_source(target: &Value) -> Result<Code<'_>, String> {
    fn libs_of(v: Option<&Value>) -> Result<Vec<&str>, String> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|l| l.as_str().ok_or_else(|| "libs must be strings".to_string()))
                .collect(),
            Some(_) => Err("libs must be a list".into()),
        }
    }
    if let Some(rego) = target.get("rego").and_then(Value::as_str) {
        return Ok(Code::Rego(rego, libs_of(target.get("libs"))?));
    }
    let code = target.get("code").and_then(Value::as_array);
    if let Some(entry) = code
        .into_iter()
        .flatten()
        .find(|c| c.get("engine").and_then(Value::as_str) == Some("Rego"))
    {
        let source = entry.get("source").ok_or("code[Rego].source is missing")?;
        let rego = source
            .get("rego")
            .and_then(Value::as_str)
            .ok_or("code[Rego].source.rego is missing")?;
        return Ok(Code::Rego(rego, libs_of(source.get("libs"))?));
    }
    if let Some(entry) = code
        .into_iter()
        .flatten()
        .find(|c| c.get("engine").and_then(Value::as_str) == Some("K8sNativeValidation"))
    {
        return entry
            .get("source")
            .map(Code::Cel)
            .ok_or_else(|| "code[K8sNativeValidation].source is missing".to_string());
    }
    let engines: Vec<&str> = code
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("engine").and_then(Value::as_str))
        .collect();
    if engines.is_empty() {
        Err("the target has no rego".into())
    } else {
        Err(format!(
            "the target has no Rego; engines {engines:?} are not supported"
        ))
    }
}

/// One Rego source of a template: its `rego` or one of its `libs`.
struct Block<'a> {
    /// The name it was added to the engine under (what errors name).
    file: String,
    /// How messages name it: `Rego`, `libs[0]`.
    label: String,
    text: &'a str,
}

/// regorus errors start with `--> file:line:col`; say where that is in the template's
/// file when the block it names can be found there, and keep the message on one line.
fn locate_error(message: &str, blocks: &[Block<'_>], source: Option<&SourceText<'_>>) -> String {
    let position = message
        .split_once("--> ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|loc| {
            let mut parts = loc.rsplitn(3, ':');
            let col: usize = parts.next()?.parse().ok()?;
            let line: usize = parts.next()?.parse().ok()?;
            Some((parts.next()?, line, col))
        });
    let what = message
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim().trim_start_matches("error:").trim())
        .unwrap_or_else(|| message.trim());
    let Some((file, line, col)) = position else {
        return one_line(message);
    };
    let Some(block) = blocks.iter().find(|b| b.file == file) else {
        return format!("{file} line {line}, column {col}: {what}");
    };
    let label = &block.label;
    match source.and_then(|s| {
        let (l, c) = block_position(s.text, block.text, line, col)?;
        Some((l + s.first_line - 1, c))
    }) {
        Some((file_line, file_col)) => {
            format!(
                "line {file_line}, column {file_col} ({label} line {line}, column {col}): {what}"
            )
        }
        None => format!("{label} line {line}, column {col}: {what}"),
    }
}

/// The position in `text` of `(line, col)` of `block`, a YAML block scalar of `text`: the
/// block's lines appear in the text in order, each with the same indentation.
fn block_position(text: &str, block: &str, line: usize, col: usize) -> Option<(usize, usize)> {
    let block_lines: Vec<&str> = block.lines().collect();
    let first = block_lines.iter().position(|l| !l.trim().is_empty())?;
    let file_lines: Vec<&str> = text.lines().collect();
    let fits = |start: usize| {
        let indent = file_lines.get(start)?.find(block_lines[first])?;
        block_lines[first..]
            .iter()
            .enumerate()
            .all(|(i, b)| {
                b.trim().is_empty()
                    || file_lines
                        .get(start + i)
                        .is_some_and(|f| f.get(indent..) == Some(b))
            })
            .then_some(indent)
    };
    (0..file_lines.len()).find_map(|start| {
        let indent = fits(start)?;
        let block_start = start.checked_sub(first)?;
        Some((block_start + line, col + indent))
    })
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(rego: &str) -> Value {
        json!({
            "apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate",
            "metadata": {"name": "k8stest"},
            "spec": {
                "crd": {"spec": {"names": {"kind": "K8sTest"}}},
                "targets": [{"target": TARGET, "rego": rego}]
            }
        })
    }

    fn compile(v: &Value) -> Result<Template, String> {
        Template::compile(
            v,
            None,
            &regorus::Value::new_object(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn a_template_reports_violations_with_details() {
        let t = compile(&template(
            r#"package k8stest
violation[{"msg": msg, "details": {"got": input.review.object.x}}] {
  input.review.object.x > input.parameters.max
  msg := sprintf("x is %v", [input.review.object.x])
}"#,
        ))
        .unwrap();
        assert!(t.runs_on_vm(), "{t:?}");
        let review = Request::create(json!({"kind": "Pod", "x": 5}), "u").unwrap();
        let v = t
            .violations(&review, &Parameters::new(json!({"max": 3})))
            .unwrap();
        assert_eq!(v, [("x is 5".to_string(), json!({"got": 5}))]);
        assert!(
            t.violations(&review, &Parameters::new(json!({"max": 9})))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_templates_are_refused_with_a_position() {
        let err = compile(&template(
            "package k8stest\nviolation[{\"msg\": m}] {\n  m := 1 +* 2\n}",
        ))
        .unwrap_err();
        assert!(err.starts_with("Rego line 2"), "{err}");
        let err = compile(&template(
            "package k8stest\nviolation[{\"msg\": m}] {\n  m := nope(2)\n}",
        ))
        .unwrap_err();
        assert!(err.contains("nope"), "{err}");
        let err = compile(&template("package k8stest\ndeny[m] { m := 1 }")).unwrap_err();
        assert!(err.contains("no `violation`"), "{err}");
        let mut wrong_name = template("package k8stest\nviolation[{\"msg\": \"x\"}] { true }");
        wrong_name["metadata"]["name"] = json!("other");
        assert!(
            compile(&wrong_name)
                .unwrap_err()
                .contains("lower-case kind")
        );
        let mut lib =
            template("package k8stest\nimport data.other.x\nviolation[{\"msg\": \"x\"}] { x }");
        lib["spec"]["targets"][0]["libs"] = json!(["package other\nx { true }"]);
        assert!(compile(&lib).unwrap_err().contains("under `lib`"));
    }

    #[test]
    fn a_runaway_template_fails_at_its_time_limit() {
        let v = template(
            r#"package k8stest
violation[{"msg": "slow"}] {
  r := numbers.range(1, input.parameters.n)
  n := count([x | x := r[i] * r[j]; x % 7 == 0])
  n > 0
}"#,
        );
        // The limit is checked between interpreter steps (not inside one built-in call),
        // so the runaway part is a loop: n * n steps.
        let t = Template::compile(
            &v,
            None,
            &regorus::Value::new_object(),
            Duration::from_millis(50),
        )
        .unwrap();
        let pod = Request::create(json!({"kind": "Pod"}), "u").unwrap();
        let started = std::time::Instant::now();
        let err = t
            .violations(&pod, &Parameters::new(json!({"n": 5000})))
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(
            err.to_lowercase().contains("time") || err.contains("limit"),
            "{err}"
        );
    }

    #[test]
    fn parameters_are_checked_against_the_schema() {
        let mut v = template("package k8stest\nviolation[{\"msg\": \"x\"}] { false }");
        v["spec"]["crd"]["spec"]["validation"] = json!({"openAPIV3Schema": {
            "type": "object",
            "properties": {
                "labels": {"type": "array", "items": {"type": "string"}},
                "max": {"type": "integer", "minimum": 0},
                "mode": {"type": "string", "enum": ["strict", "loose"]}
            },
            "x-kubernetes-preserve-unknown-fields": false
        }});
        let t = compile(&v).unwrap();
        t.check_parameters(&json!({"labels": ["owner"], "max": 3, "mode": "strict"}))
            .unwrap();
        t.check_parameters(&json!({})).unwrap();
        let err = t.check_parameters(&json!({"labels": "owner"})).unwrap_err();
        assert!(err.starts_with("spec.parameters: /labels: "), "{err}");
        let err = t
            .check_parameters(&json!({"max": -1, "mode": "lax"}))
            .unwrap_err();
        assert!(err.contains("/max") && err.contains("/mode"), "{err}");
        // A template without a schema takes any parameters.
        let free = compile(&template(
            "package k8stest\nviolation[{\"msg\": \"x\"}] { false }",
        ))
        .unwrap();
        free.check_parameters(&json!({"anything": [1, {}]}))
            .unwrap();
        // A schema that is not one is refused at load.
        let mut bad = v.clone();
        bad["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]["type"] = json!(7);
        assert!(compile(&bad).unwrap_err().contains("openAPIV3Schema"));
    }

    #[test]
    fn errors_point_into_the_yaml_file() {
        let text = "kind: ConstraintTemplate\nspec:\n  targets:\n    - rego: |\n        package k8stest\n        violation[{\"msg\": m}] {\n          m := 1 +* 2\n        }\n";
        let rego = "package k8stest\nviolation[{\"msg\": m}] {\n  m := 1 +* 2\n}\n";
        assert_eq!(block_position(text, rego, 2, 23), Some((6, 31)));
        let err = Template::compile(
            &template(rego),
            Some(&SourceText {
                text,
                first_line: 1,
            }),
            &regorus::Value::new_object(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.starts_with("line 6, column"), "{err}");
    }

    #[test]
    fn an_error_in_a_lib_points_into_the_lib_of_its_own_document() {
        let rego =
            "package k8stest\nimport data.lib.x\nviolation[{\"msg\": m}] {\n  m := x.f(1)\n}\n";
        let lib = "package lib.x\n\nf(a) = b {\n  b := nope(a)\n}\n";
        let mut v = template(rego);
        v["spec"]["targets"][0]["libs"] = json!([lib]);
        let indent = |text: &str, by: &str| -> String {
            text.lines()
                .map(|l| {
                    if l.is_empty() {
                        "\n".into()
                    } else {
                        format!("{by}{l}\n")
                    }
                })
                .collect()
        };
        let document = format!(
            "kind: ConstraintTemplate\nspec:\n  targets:\n    - rego: |\n{}      libs:\n        - |\n{}",
            indent(rego, "        "),
            indent(lib, "          ")
        );
        // Two templates with the same lib in one file; the second one's is at fault.
        let file = format!("{document}---\n{document}");
        let (first_line, text) = crate::manifest::yaml_document(&file, 2).unwrap();
        // Each document is 16 lines; the second starts after the `---` on line 17.
        assert_eq!(first_line, 18);
        let err = Template::compile(
            &v,
            Some(&SourceText {
                text: &text,
                first_line,
            }),
            &regorus::Value::new_object(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        // The lib starts on the document's line 12, so its line 4 is the document's 15th,
        // the file's 18 + 14 = 32; `nope` is after the lib's 10 columns of indentation.
        assert!(
            err.starts_with("line 32, column 22 (libs[0] line 4, column 12): "),
            "{err}"
        );
        assert!(err.contains("nope"), "{err}");
        let unplaced = compile(&v).unwrap_err();
        assert!(
            unplaced.starts_with("libs[0] line 4, column 12"),
            "{unplaced}"
        );
    }

    #[test]
    fn the_rego_engine_entry_of_code_is_used() {
        let v = json!({
            "metadata": {"name": "k8stest"},
            "spec": {
                "crd": {"spec": {"names": {"kind": "K8sTest"}}},
                "targets": [{"target": TARGET, "code": [
                    {"engine": "K8sNativeValidation", "source": {"validations": []}},
                    {"engine": "Rego", "source": {"rego": "package k8stest\nviolation[{\"msg\": \"always\"}] { true }"}}
                ]}]
            }
        });
        let t = compile(&v).unwrap();
        assert_eq!(t.engine(), "Rego");
        let pod = Request::create(json!({"kind": "Pod"}), "u").unwrap();
        let out = t.violations(&pod, &Parameters::new(json!({}))).unwrap();
        assert_eq!(out[0].0, "always");

        // Without Rego, the CEL entry is the template.
        let mut cel = v.clone();
        cel["spec"]["targets"][0]["code"] = json!([{"engine": "K8sNativeValidation", "source": {
            "validations": [{"expression": "has(object.metadata) && has(object.metadata.labels)",
                             "messageExpression": "'label ' + variables.params.label + ' needed'"}]}}]);
        let t = compile(&cel).unwrap();
        assert_eq!(t.engine(), "K8sNativeValidation");
        let out = t
            .violations(&pod, &Parameters::new(json!({"label": "owner"})))
            .unwrap();
        assert_eq!(out, [("label owner needed".to_string(), Value::Null)]);
    }
}
