//! Macro and list expansion: the step between parsing and compiling, as in Falco's
//! engine. A bare name in a condition is a macro and is replaced by the macro's condition;
//! an unquoted list item that names a list is replaced by that list's items. Lists may
//! name other lists and macros other macros; a cycle is an error naming its path.

use super::ast::{Check, Expr, Operand, Span, Value};
use std::collections::HashMap;

/// Named lists and macros, as the rules files define them.
#[derive(Debug, Default, Clone)]
pub struct Definitions {
    /// List name → items (as written; lists they name are expanded on use).
    pub lists: HashMap<String, Vec<String>>,
    /// Macro name → parsed condition.
    pub macros: HashMap<String, Expr>,
}

/// Why a condition could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A bare name that is not a macro.
    #[error("undefined macro `{name}`")]
    UndefinedMacro {
        /// The name.
        name: String,
        /// Where it is used.
        span: Span,
    },
    /// Macros that use each other in a circle.
    #[error("macro cycle: {}", path.join(" -> "))]
    MacroCycle {
        /// The macros, first repeated at the end.
        path: Vec<String>,
        /// Where the outermost one is used.
        span: Span,
    },
    /// Lists that name each other in a circle.
    #[error("list cycle: {}", path.join(" -> "))]
    ListCycle {
        /// The lists, first repeated at the end.
        path: Vec<String>,
        /// Where the outermost one is used.
        span: Span,
    },
    /// Expansion grew past the bound.
    #[error("the condition expands to more than {limit} nodes")]
    TooLarge {
        /// The bound.
        limit: usize,
    },
}

impl ExpandError {
    /// Where in the condition the error is.
    pub fn span(&self) -> Span {
        match self {
            ExpandError::UndefinedMacro { span, .. }
            | ExpandError::MacroCycle { span, .. }
            | ExpandError::ListCycle { span, .. } => *span,
            ExpandError::TooLarge { .. } => Span::default(),
        }
    }
}

/// Most nodes an expanded condition may have: macros used inside macros multiply.
pub const MAX_NODES: usize = 1 << 20;

/// Replaces every macro by its condition and every list name in a list operand by its
/// items.
pub fn expand(expr: &Expr, defs: &Definitions) -> Result<Expr, ExpandError> {
    let mut nodes = 0;
    expand_in(expr, defs, &mut Vec::new(), &mut nodes)
}

fn expand_in(
    expr: &Expr,
    defs: &Definitions,
    stack: &mut Vec<String>,
    nodes: &mut usize,
) -> Result<Expr, ExpandError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(ExpandError::TooLarge { limit: MAX_NODES });
    }
    Ok(match expr {
        Expr::And(items) => Expr::And(
            items
                .iter()
                .map(|e| expand_in(e, defs, stack, nodes))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(items) => Expr::Or(
            items
                .iter()
                .map(|e| expand_in(e, defs, stack, nodes))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(inner) => Expr::Not(Box::new(expand_in(inner, defs, stack, nodes)?)),
        Expr::Macro { name, span } => {
            let Some(body) = defs.macros.get(name) else {
                return Err(ExpandError::UndefinedMacro {
                    name: name.clone(),
                    span: *span,
                });
            };
            if stack.contains(name) {
                let mut path = stack.clone();
                path.push(name.clone());
                return Err(ExpandError::MacroCycle { path, span: *span });
            }
            stack.push(name.clone());
            let out = expand_in(body, defs, stack, nodes);
            stack.pop();
            out?
        }
        Expr::Check(c) => Expr::Check(Check {
            operand: match &c.operand {
                Operand::List(items) => Operand::List(expand_list(items, defs, nodes)?),
                other => other.clone(),
            },
            ..c.clone()
        }),
    })
}

fn expand_list(
    items: &[Value],
    defs: &Definitions,
    nodes: &mut usize,
) -> Result<Vec<Value>, ExpandError> {
    let mut out = Vec::new();
    for item in items {
        if item.quoted || !defs.lists.contains_key(&item.text) {
            out.push(item.clone());
            continue;
        }
        let mut path = Vec::new();
        flatten(&item.text, item.span, defs, &mut path, &mut out, nodes)?;
    }
    Ok(out)
}

fn flatten(
    name: &str,
    span: Span,
    defs: &Definitions,
    path: &mut Vec<String>,
    out: &mut Vec<Value>,
    nodes: &mut usize,
) -> Result<(), ExpandError> {
    if path.iter().any(|p| p == name) {
        let mut cycle = path.clone();
        cycle.push(name.to_string());
        return Err(ExpandError::ListCycle { path: cycle, span });
    }
    path.push(name.to_string());
    for text in defs.lists.get(name).into_iter().flatten() {
        *nodes += 1;
        if *nodes > MAX_NODES {
            return Err(ExpandError::TooLarge { limit: MAX_NODES });
        }
        if defs.lists.contains_key(text) {
            flatten(text, span, defs, path, out, nodes)?;
        } else {
            out.push(Value {
                text: text.clone(),
                quoted: false,
                span,
            });
        }
    }
    path.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::ast::Op;
    use crate::condition::parse;

    fn defs() -> Definitions {
        let mut d = Definitions::default();
        d.lists
            .insert("shells".into(), vec!["bash".into(), "sh".into()]);
        d.lists.insert(
            "interpreters".into(),
            vec!["shells".into(), "python3".into()],
        );
        d.macros
            .insert("kevt".into(), parse("jevt.value[/kind] = Event").unwrap());
        d.macros
            .insert("kcreate".into(), parse("ka.verb = create").unwrap());
        d.macros
            .insert("kevt_create".into(), parse("kevt and kcreate").unwrap());
        d
    }

    #[test]
    fn macros_and_nested_lists_expand() {
        let e = expand(
            &parse("kevt_create and proc.name in (interpreters, 'shells', node)").unwrap(),
            &defs(),
        )
        .unwrap();
        let Expr::And(items) = e else { panic!() };
        assert!(matches!(&items[0], Expr::And(inner) if inner.len() == 2));
        let Expr::Check(c) = &items[1] else { panic!() };
        assert_eq!(c.op, Op::In);
        let Operand::List(values) = &c.operand else {
            panic!()
        };
        let texts: Vec<&str> = values.iter().map(|v| v.text.as_str()).collect();
        // A quoted name is a value, not a list.
        assert_eq!(texts, ["bash", "sh", "python3", "shells", "node"]);
    }

    #[test]
    fn undefined_macros_and_cycles_are_errors() {
        let mut d = defs();
        let err = expand(&parse("kevt and nope").unwrap(), &d).unwrap_err();
        assert_eq!(
            err,
            ExpandError::UndefinedMacro {
                name: "nope".into(),
                span: Span { start: 9, end: 13 }
            }
        );
        d.macros.insert("a".into(), parse("b or x = 1").unwrap());
        d.macros.insert("b".into(), parse("not a").unwrap());
        let err = expand(&parse("a").unwrap(), &d).unwrap_err();
        assert_eq!(err.to_string(), "macro cycle: a -> b -> a");
        d.lists.insert("l1".into(), vec!["l2".into()]);
        d.lists.insert("l2".into(), vec!["x".into(), "l1".into()]);
        let err = expand(&parse("f in (l1)").unwrap(), &d).unwrap_err();
        assert_eq!(err.to_string(), "list cycle: l1 -> l2 -> l1");
    }

    #[test]
    fn exponential_macros_are_bounded() {
        let mut d = Definitions::default();
        d.macros.insert("m0".into(), parse("x = 1").unwrap());
        for i in 1..40 {
            d.macros.insert(
                format!("m{i}"),
                parse(&format!("m{p} and m{p}", p = i - 1)).unwrap(),
            );
        }
        assert!(matches!(
            expand(&parse("m39").unwrap(), &d),
            Err(ExpandError::TooLarge { .. })
        ));
    }
}
