//! Gatekeeper's `K8sNativeValidation` engine: templates written in CEL, with the
//! variables of a ValidatingAdmissionPolicy as Gatekeeper provides them.
//!
//! Expressions see `object`, `oldObject` and `request` (the AdmissionRequest), and
//! `variables`: `variables.params` (the Constraint's parameters), `variables.anyObject`
//! (`object`, or `oldObject` on DELETE) and the template's own `variables`, evaluated in
//! order so each may use the ones before it. A validation that evaluates to `false` is a
//! violation, with its `messageExpression`, its `message`, or Kubernetes' default
//! `failed expression: ...`.

use cel::{Context, Env, Program, Value as CelValue};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Longest CEL expression accepted (the API server caps CEL cost; this caps size).
const MAX_EXPRESSION_BYTES: usize = 64 << 10;

/// The `source` of a `K8sNativeValidation` code entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(default)]
    validations: Vec<ValidationSource>,
    #[serde(default)]
    variables: Vec<VariableSource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidationSource {
    expression: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    message_expression: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VariableSource {
    name: String,
    expression: String,
}

struct Validation {
    expression: Program,
    text: String,
    message: Option<String>,
    message_expression: Option<Program>,
}

/// A compiled CEL template body.
pub struct CelPolicy {
    env: Arc<Env>,
    variables: Vec<(String, Program)>,
    validations: Vec<Validation>,
}

impl std::fmt::Debug for CelPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelPolicy")
            .field("variables", &self.variables.len())
            .field("validations", &self.validations.len())
            .finish()
    }
}

/// Names Gatekeeper reserves under `variables`.
const RESERVED: [&str; 2] = ["params", "anyObject"];

impl CelPolicy {
    /// Compiles a code entry's `source`.
    pub fn compile(source: &Value) -> Result<CelPolicy, String> {
        let source = Source::deserialize(source).map_err(|e| format!("CEL source: {e}"))?;
        if source.validations.is_empty() {
            return Err("CEL source has no validations".into());
        }
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings)
            .and_then(|()| env.add_extension(cel::extensions::lists))
            .map_err(|e| format!("CEL environment: {e:?}"))?;
        let compile = |what: &str, text: &str| -> Result<Program, String> {
            if text.len() > MAX_EXPRESSION_BYTES {
                return Err(format!("{what}: longer than {MAX_EXPRESSION_BYTES} bytes"));
            }
            env.compile(text)
                .map_err(|e| format!("{what}: {}", one_line(&e.to_string())))
        };
        let mut variables = Vec::new();
        for v in &source.variables {
            if RESERVED.contains(&v.name.as_str()) {
                return Err(format!("variable {:?} is reserved by Gatekeeper", v.name));
            }
            variables.push((
                v.name.clone(),
                compile(&format!("variable {}", v.name), &v.expression)?,
            ));
        }
        let mut validations = Vec::new();
        for (i, v) in source.validations.iter().enumerate() {
            validations.push(Validation {
                expression: compile(&format!("validations[{i}].expression"), &v.expression)?,
                text: v.expression.clone(),
                message: v.message.clone(),
                message_expression: v
                    .message_expression
                    .as_deref()
                    .map(|m| compile(&format!("validations[{i}].messageExpression"), m))
                    .transpose()?,
            });
        }
        Ok(CelPolicy {
            env: Arc::new(env),
            variables,
            validations,
        })
    }

    /// The violations of `review` (an AdmissionRequest) with `parameters`.
    pub fn violations(
        &self,
        review: &Value,
        parameters: &Value,
    ) -> Result<Vec<(String, Value)>, String> {
        let object = review
            .get("object")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or(Value::Null);
        let old = review
            .get("oldObject")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or(Value::Null);
        // Gatekeeper's input already shows the deleted object as `object` on DELETE; the
        // VAP variables keep `object` null then, as the API server does.
        let deleting = review.get("operation").and_then(Value::as_str) == Some("DELETE");
        let any_object = object.clone();
        let object = if deleting { Value::Null } else { object };
        let mut context = Context::with_env(Arc::clone(&self.env));
        let add =
            |context: &mut Context<'_, '_>, name: &str, value: &Value| -> Result<(), String> {
                let value = cel::to_value(value).map_err(|e| format!("{name}: {e}"))?;
                context.add_variable_from_value(name.to_string(), value);
                Ok(())
            };
        add(&mut context, "object", &object)?;
        add(&mut context, "oldObject", &old)?;
        add(&mut context, "request", review)?;
        add(&mut context, "namespaceObject", &Value::Null)?;
        let mut vars = Map::new();
        vars.insert("params".into(), parameters.clone());
        vars.insert("anyObject".into(), any_object);
        add(&mut context, "variables", &Value::Object(vars.clone()))?;
        for (name, program) in &self.variables {
            let value = program
                .execute(&context)
                .map_err(|e| format!("variable {name}: {e}"))?;
            let json = value.json().map_err(|e| format!("variable {name}: {e}"))?;
            vars.insert(name.clone(), json);
            add(&mut context, "variables", &Value::Object(vars.clone()))?;
        }
        let mut out = Vec::new();
        for (i, v) in self.validations.iter().enumerate() {
            match v.expression.execute(&context) {
                Ok(CelValue::Bool(true)) => {}
                Ok(CelValue::Bool(false)) => {
                    let message = match &v.message_expression {
                        Some(p) => match p.execute(&context) {
                            Ok(CelValue::String(s)) => s.to_string(),
                            Ok(other) => {
                                return Err(format!(
                                    "validations[{i}].messageExpression is not a string: {other:?}"
                                ));
                            }
                            Err(e) => {
                                return Err(format!("validations[{i}].messageExpression: {e}"));
                            }
                        },
                        None => v
                            .message
                            .clone()
                            .unwrap_or_else(|| format!("failed expression: {}", v.text.trim())),
                    };
                    out.push((message, Value::Null));
                }
                Ok(other) => {
                    return Err(format!("validations[{i}] is not a bool: {other:?}"));
                }
                Err(e) => return Err(format!("validations[{i}]: {e}")),
            }
        }
        Ok(out)
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(source: Value) -> CelPolicy {
        CelPolicy::compile(&source).unwrap()
    }

    #[test]
    fn validations_with_variables_params_and_messages() {
        let p = policy(json!({
            "variables": [
                {"name": "containers", "expression": "has(variables.anyObject.spec.containers) ? variables.anyObject.spec.containers : []"},
                {"name": "bad", "expression": "variables.containers.filter(c, !variables.params.repos.exists(r, c.image.startsWith(r))).map(c, c.name)"}
            ],
            "validations": [
                {"expression": "size(variables.bad) == 0",
                 "messageExpression": "'containers with images from other registries: ' + variables.bad.join(', ')"},
                {"expression": "object == null || has(object.metadata.labels)", "message": "labels are required"},
                {"expression": "object == null || object.metadata.name.lowerAscii() == object.metadata.name"}
            ]
        }));
        let params = json!({"repos": ["registry.example/"]});
        let review =
            |object: Value, op: &str| json!({"operation": op, "object": object, "oldObject": null});
        let pod = json!({"metadata": {"name": "Web"}, "spec": {"containers": [
            {"name": "a", "image": "registry.example/a:1"}, {"name": "b", "image": "docker.io/b:1"}]}});
        let v = p
            .violations(&review(pod.clone(), "CREATE"), &params)
            .unwrap();
        let messages: Vec<&str> = v.iter().map(|(m, _)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "containers with images from other registries: b",
                "labels are required",
                "failed expression: object == null || object.metadata.name.lowerAscii() == object.metadata.name"
            ]
        );
        // On DELETE `object` is null and `variables.anyObject` is the deleted object.
        let v = p.violations(&review(pod, "DELETE"), &params).unwrap();
        assert_eq!(v.len(), 1);
        let ok = json!({"metadata": {"name": "web", "labels": {}}, "spec": {"containers": [{"name": "a", "image": "registry.example/a"}]}});
        assert!(
            p.violations(&review(ok, "CREATE"), &params)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_sources_are_refused_and_runtime_errors_reported() {
        assert!(CelPolicy::compile(&json!({"validations": []})).is_err());
        let err =
            CelPolicy::compile(&json!({"validations": [{"expression": "object.("}]})).unwrap_err();
        assert!(err.starts_with("validations[0].expression"), "{err}");
        assert!(CelPolicy::compile(&json!({"variables": [{"name": "params", "expression": "1"}], "validations": [{"expression": "true"}]})).is_err());
        let p = policy(json!({"validations": [{"expression": "object.spec.replicas"}]}));
        let err = p
            .violations(&json!({"object": {"spec": {"replicas": 3}}}), &json!({}))
            .unwrap_err();
        assert!(err.contains("not a bool"), "{err}");
    }
}
