//! The operations of a JSON patch (RFC 6902) request, for the `ka.req.jsonpatch.ops`
//! field.
//!
//! For a patch request the API server logs the patch body as the request object; a JSON
//! patch is an array of `{"op", "path", "value"}`. Each operation is given as one text,
//! `"<op> <path>"` (e.g. `add /spec/template/spec/containers/-`), so a rule can test the
//! operation and the place it writes together, which two separate list fields (every op,
//! every path) could not: they would pair an `add` of a label with a `remove` of a
//! container.

use serde_json::Value;
use std::ops::ControlFlow;

/// Most operations read from one patch; a longer patch is judged on its first ones.
pub const MAX_OPS: usize = 1024;

/// Calls `f` with `"<op> <path>"` for each operation of the JSON patch `patch` (nothing
/// when it is not an array, as merge and strategic-merge patches are not). The shape of
/// a computed field step in [`crate::audit`].
pub fn ops(patch: &Value, f: &mut dyn FnMut(&str) -> ControlFlow<()>) -> ControlFlow<()> {
    let mut text = String::new();
    for op in patch.as_array().into_iter().flatten().take(MAX_OPS) {
        let (Some(name), Some(path)) = (
            op.get("op").and_then(Value::as_str),
            op.get("path").and_then(Value::as_str),
        ) else {
            continue;
        };
        text.clear();
        text.push_str(name);
        text.push(' ');
        text.push_str(path);
        f(&text)?;
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(v: Value) -> Vec<String> {
        let mut out = Vec::new();
        let _ = ops(&v, &mut |s| {
            out.push(s.to_string());
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn operations_as_op_and_path() {
        let patch = json!([
            {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "s", "image": "evil"}},
            {"op": "replace", "path": "/metadata/labels/x", "value": "y"},
            {"path": "/no/op"},
            "junk"
        ]);
        assert_eq!(
            all(patch),
            [
                "add /spec/template/spec/containers/-",
                "replace /metadata/labels/x"
            ]
        );
        assert!(all(json!({"spec": {"replicas": 3}})).is_empty());
        let many = Value::Array(vec![json!({"op": "test", "path": "/a"}); MAX_OPS + 5]);
        assert_eq!(all(many).len(), MAX_OPS);
    }
}
