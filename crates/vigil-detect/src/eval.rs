//! Compiling an expanded condition into a predicate tree, and evaluating it on events.
//!
//! Compilation resolves every field against the event source's [`FieldTable`] (an
//! unknown field, or an operator the field's type does not take, is a compile error with
//! the place in the condition) and prepares every operand once: numbers parsed, sets
//! built, regexes compiled, case folded. Evaluation then only reads: an event hands out
//! borrowed field values through [`Event::values`], and nothing is allocated per event
//! except where a transformer changes text (`tolower()` of text with capitals, `b64()`)
//! or case has to be folded (`icontains`, `iglob`). Transformers are Falco's: `tolower`,
//! `toupper`, `basename`, `trim`, `b64`, and `len` (outermost; compares the length).
//!
//! Fields with several values (`ka.user.groups`, `ka.req.pod.containers.privileged`)
//! follow Falco: `in` holds when every value is in the set, `intersects` when one is, and
//! every other operator when some value satisfies it.

use crate::condition::ast::{Check, Expr, Op, Operand, Span};
use crate::net::{Net, NetSet};
use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::ControlFlow;

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    Str,
    /// A signed integer.
    Int,
    /// `true` / `false`.
    Bool,
}

/// A field resolved by a [`FieldTable`]: its id in that table, its argument, its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The table's id for the field.
    pub id: u32,
    /// The argument in brackets, if any.
    pub arg: Option<String>,
    /// The type of its values.
    pub ty: FieldType,
    /// True when it may have several values.
    pub list: bool,
    /// Its name, for messages.
    pub name: String,
}

/// The fields an event source offers (`ka.*` for audit events, `proc.*` for runtime).
pub trait FieldTable {
    /// Resolves `name` with its bracket argument, or says why not.
    fn resolve(&self, name: &str, arg: Option<&str>) -> Result<Field, String>;

    /// A rough cost of reading `field` from an event (1 = a value at hand), so the
    /// cheap tests of a conjunction run first and decide most events alone.
    fn cost(&self, field: &Field) -> u32 {
        let _ = field;
        1
    }
}

/// One value of a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// Text.
    Str(&'a str),
    /// A number.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// An event the predicates read.
pub trait Event {
    /// Calls `f` with each value of `field` (once for a single-valued field), stopping
    /// when `f` breaks. Calls nothing when the event has no such value.
    fn values(&self, field: &Field, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>);

    /// The value of a single-valued text field handed out directly, when the event can:
    /// `Some(None)` when the event has none. `None` means "ask [`Event::values`]". Most
    /// tests read such a field (`ka.verb`, `ka.target.resource`), and on every event,
    /// so they skip the callback.
    fn text(&self, field: &Field) -> Option<Option<&str>> {
        let _ = field;
        None
    }
}

/// A compile error at a place in the condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// A compiled condition.
#[derive(Debug)]
pub enum Predicate {
    /// All hold.
    And(Vec<Predicate>),
    /// One holds.
    Or(Vec<Predicate>),
    /// Does not hold.
    Not(Box<Predicate>),
    /// A field test.
    Test(Test),
}

/// A field, its transformers, and what its value must satisfy.
#[derive(Debug)]
pub struct Test {
    field: Field,
    /// Applied to each text value in order, innermost first.
    transforms: Vec<Transform>,
    /// `len(...)`: the matcher compares the (transformed) text's length in bytes.
    len: bool,
    matcher: Matcher,
    cost: u32,
}

/// The strings of an `in` / `intersects` list, for membership tests on every event.
#[derive(Debug)]
enum StrSet {
    /// Rule lists are mostly a handful of items: comparing them is quicker than hashing.
    Few(Vec<String>),
    /// Long lists (feeds, image names) are hashed; the items are the rule author's, so
    /// a fast hash without flooding protection will do.
    Many(HashSet<String, foldhash::fast::RandomState>),
}

impl StrSet {
    const FEW: usize = 8;

    fn new(values: &[&str]) -> StrSet {
        if values.len() <= StrSet::FEW {
            let mut few: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            few.sort();
            few.dedup();
            StrSet::Few(few)
        } else {
            StrSet::Many(values.iter().map(|v| v.to_string()).collect())
        }
    }

    fn contains(&self, s: &str) -> bool {
        match self {
            StrSet::Few(items) => items.iter().any(|i| i == s),
            StrSet::Many(set) => set.contains(s),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            StrSet::Few(items) => items.is_empty(),
            StrSet::Many(set) => set.is_empty(),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            StrSet::Few(items) => Box::new(items.iter().map(String::as_str)),
            StrSet::Many(set) => Box::new(set.iter().map(String::as_str)),
        }
    }
}

#[derive(Debug)]
enum Matcher {
    Exists,
    StrEq(String, bool),
    IntCmp(Op, i64),
    Bool(bool, bool),
    Contains(String),
    IContains(String),
    StartsWith(String),
    /// Several `startswith` tests of one field joined by `or`, merged at compile time so
    /// the field is read (and transformed) once: `tolower(ka.useragent) startswith a or
    /// tolower(ka.useragent) startswith b ...` runs on every event.
    StartsWithAny(Vec<String>),
    EndsWith(String),
    Glob(String, bool),
    PMatch(Vec<String>),
    Regex(regex::Regex),
    InStr(StrSet, bool),
    InInt(HashSet<i64>, bool),
    Net(NetSet),
}

/// Compiles an expanded condition against `table`. The operands of each `and` and `or`
/// are put in order of cost, cheapest first: evaluation has no side effects, so the
/// order changes only how soon an answer is found.
pub fn compile(expr: &Expr, table: &dyn FieldTable) -> Result<Predicate, CompileError> {
    let all = |items: &[Expr]| -> Result<Vec<Predicate>, CompileError> {
        let mut out = items
            .iter()
            .map(|e| compile(e, table))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(Predicate::cost);
        Ok(out)
    };
    Ok(match expr {
        Expr::And(items) => Predicate::And(all(items)?),
        Expr::Or(items) => Predicate::Or(merge_prefixes(all(items)?)),
        Expr::Not(inner) => Predicate::Not(Box::new(compile(inner, table)?)),
        Expr::Macro { name, span } => {
            return Err(CompileError {
                message: format!("`{name}` is not expanded (undefined macro)"),
                span: *span,
            });
        }
        Expr::Check(c) => Predicate::Test(compile_check(c, table)?),
    })
}

/// Merges the `startswith` tests of one field (same argument and transformers) among
/// the operands of an `or` into one test that reads the field once. The merged test
/// takes the place of the first; the operands are in cost order and stay so, since the
/// merged ones had the same field and so the same cost.
fn merge_prefixes(items: Vec<Predicate>) -> Vec<Predicate> {
    let mut out: Vec<Predicate> = Vec::with_capacity(items.len());
    for item in items {
        if let Predicate::Test(t) = &item
            && let Matcher::StartsWith(prefix) = &t.matcher
            && let Some(Predicate::Test(u)) = out.iter_mut().find(|p| match p {
                Predicate::Test(u) => {
                    matches!(
                        u.matcher,
                        Matcher::StartsWith(_) | Matcher::StartsWithAny(_)
                    ) && u.field == t.field
                        && u.transforms == t.transforms
                        && u.len == t.len
                }
                _ => false,
            })
        {
            u.matcher = match std::mem::replace(&mut u.matcher, Matcher::Exists) {
                Matcher::StartsWith(first) => Matcher::StartsWithAny(vec![first, prefix.clone()]),
                Matcher::StartsWithAny(mut all) => {
                    all.push(prefix.clone());
                    Matcher::StartsWithAny(all)
                }
                other => other,
            };
            continue;
        }
        out.push(item);
    }
    out
}

fn compile_check(c: &Check, table: &dyn FieldTable) -> Result<Test, CompileError> {
    let err = |message: String| CompileError {
        message,
        span: c.span,
    };
    let field = table
        .resolve(&c.field.name, c.field.arg.as_deref())
        .map_err(|m| CompileError {
            message: m,
            span: c.field.span,
        })?;
    let mut transforms = Vec::new();
    let mut len = false;
    for t in &c.field.transformers {
        if len {
            return Err(err("len() must be the outermost transformer".into()));
        }
        transforms.push(match t.as_str() {
            "tolower" => Transform::Lower,
            "toupper" => Transform::Upper,
            "basename" => Transform::Basename,
            "trim" => Transform::Trim,
            "b64" => Transform::B64,
            "len" => {
                len = true;
                continue;
            }
            other => return Err(err(format!("unknown transformer {other}()"))),
        });
    }
    if !c.field.transformers.is_empty() && field.ty != FieldType::Str {
        return Err(err(format!(
            "transformers take text; {} is not text",
            field.name
        )));
    }
    // What the matcher compares: the field's values, or their lengths.
    let ty = if len { FieldType::Int } else { field.ty };
    let values: Vec<&str> = match &c.operand {
        Operand::None => Vec::new(),
        Operand::Value(v) => vec![v.text.as_str()],
        Operand::List(items) => items.iter().map(|v| v.text.as_str()).collect(),
    };
    let one = || values.first().copied().unwrap_or_default().to_string();
    let int = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| err(format!("{} is a number; {s:?} is not", field.name)))
    };
    let boolean = |s: &str| match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(err(format!(
            "{} is true or false; {s:?} is neither",
            field.name
        ))),
    };
    let text_only = |what: &str| {
        if ty == FieldType::Str {
            Ok(())
        } else {
            Err(err(format!(
                "`{what}` needs a text field; {} is not",
                field.name
            )))
        }
    };
    let matcher = match c.op {
        Op::Exists => Matcher::Exists,
        Op::Eq | Op::Ne => match ty {
            FieldType::Str => Matcher::StrEq(one(), c.op == Op::Eq),
            FieldType::Int => Matcher::IntCmp(c.op, int(&one())?),
            FieldType::Bool => Matcher::Bool(boolean(&one())?, c.op == Op::Eq),
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            if ty != FieldType::Int {
                return Err(err(format!(
                    "`{}` needs a numeric field; {} is not",
                    op_text(c.op),
                    field.name
                )));
            }
            Matcher::IntCmp(c.op, int(&one())?)
        }
        Op::Contains => {
            text_only("contains")?;
            Matcher::Contains(one())
        }
        Op::IContains => {
            text_only("icontains")?;
            Matcher::IContains(one().to_lowercase())
        }
        Op::StartsWith => {
            text_only("startswith")?;
            Matcher::StartsWith(one())
        }
        Op::EndsWith => {
            text_only("endswith")?;
            Matcher::EndsWith(one())
        }
        Op::Glob | Op::IGlob => {
            text_only("glob")?;
            let case = c.op == Op::IGlob;
            Matcher::Glob(if case { one().to_lowercase() } else { one() }, case)
        }
        Op::PMatch => {
            text_only("pmatch")?;
            Matcher::PMatch(
                values
                    .iter()
                    .map(|v| v.trim_end_matches('/').to_string())
                    .collect(),
            )
        }
        Op::Regex => {
            text_only("regex")?;
            Matcher::Regex(regex::Regex::new(&one()).map_err(|e| err(format!("bad regex: {e}")))?)
        }
        Op::NetMatch => {
            text_only("netmatch")?;
            // Every entry is checked here, so a bad address fails at load; an empty list
            // (a threat-intelligence list nobody filled) is valid and matches nothing.
            Matcher::Net(
                values
                    .iter()
                    .map(|v| Net::parse(v).map_err(|e| err(format!("netmatch: {e}"))))
                    .collect::<Result<_, _>>()?,
            )
        }
        Op::BContains | Op::BStartsWith => {
            return Err(err(format!("`{}` is not supported yet", op_text(c.op))));
        }
        Op::In | Op::Intersects => {
            let all = c.op == Op::In;
            match ty {
                FieldType::Int => Matcher::InInt(
                    values.iter().map(|v| int(v)).collect::<Result<_, _>>()?,
                    all,
                ),
                FieldType::Str | FieldType::Bool => Matcher::InStr(StrSet::new(&values), all),
            }
        }
    };
    let cost = table.cost(&field)
        + match &matcher {
            Matcher::Regex(_) => 8,
            Matcher::Glob(..) | Matcher::PMatch(_) | Matcher::IContains(_) => 3,
            _ => 0,
        }
        + 3 * transforms.len() as u32;
    Ok(Test {
        field,
        transforms,
        len,
        matcher,
        cost,
    })
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::BContains => "bcontains",
        Op::BStartsWith => "bstartswith",
        _ => "operator",
    }
}

impl Predicate {
    /// The estimated cost of evaluating it in full.
    pub fn cost(&self) -> u32 {
        match self {
            Predicate::And(items) | Predicate::Or(items) => items
                .iter()
                .map(Predicate::cost)
                .fold(0, u32::saturating_add),
            Predicate::Not(inner) => inner.cost(),
            Predicate::Test(t) => t.cost,
        }
    }

    /// The values field `id` must have for the condition to hold (a single-valued field
    /// tested with `=` or `in` somewhere every match passes through), or `None` when any
    /// value might do. Rules are indexed by these, so an event meets only the rules that
    /// can match it.
    pub fn required_values(&self, id: u32) -> Option<HashSet<String>> {
        match self {
            Predicate::Test(t)
                if t.field.id == id && !t.field.list && t.transforms.is_empty() && !t.len =>
            {
                match &t.matcher {
                    Matcher::StrEq(v, true) => Some(HashSet::from([v.clone()])),
                    Matcher::InStr(set, _) => Some(set.iter().map(String::from).collect()),
                    _ => None,
                }
            }
            // Every operand holds: the narrowest requirement of any of them.
            Predicate::And(items) => items
                .iter()
                .filter_map(|p| p.required_values(id))
                .reduce(|a, b| a.intersection(&b).cloned().collect()),
            // One operand holds: all of them must require something.
            Predicate::Or(items) => items.iter().try_fold(HashSet::new(), |mut acc, p| {
                acc.extend(p.required_values(id)?);
                Some(acc)
            }),
            _ => None,
        }
    }

    /// True when `event` satisfies the condition.
    pub fn matches(&self, event: &dyn Event) -> bool {
        match self {
            Predicate::And(items) => items.iter().all(|p| p.matches(event)),
            Predicate::Or(items) => items.iter().any(|p| p.matches(event)),
            Predicate::Not(inner) => !inner.matches(event),
            Predicate::Test(t) => t.matches(event),
        }
    }
}

impl Test {
    fn matches(&self, event: &dyn Event) -> bool {
        if self.never() {
            return false;
        }
        if !self.field.list
            && self.field.ty == FieldType::Str
            && let Some(value) = event.text(&self.field)
        {
            // One value or none: `in` and "some value satisfies" agree.
            return value.is_some_and(|s| self.one(Scalar::Str(s)));
        }
        let every = matches!(
            self.matcher,
            Matcher::InStr(_, true) | Matcher::InInt(_, true)
        );
        if every {
            // `in`: there is a value, and every value is in the set.
            let mut any = false;
            let mut all = true;
            event.values(&self.field, &mut |v| {
                any = true;
                if self.one(v) {
                    ControlFlow::Continue(())
                } else {
                    all = false;
                    ControlFlow::Break(())
                }
            });
            return any && all;
        }
        // Everything else (`exists` included): some value satisfies it.
        let mut hit = false;
        event.values(&self.field, &mut |v| {
            if self.one(v) {
                hit = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        hit
    }

    /// True when no value can satisfy the matcher: an empty set (a threat-intelligence
    /// list nobody filled), so the field, a list decoded per event, is not even read.
    fn never(&self) -> bool {
        match &self.matcher {
            Matcher::Net(nets) => nets.is_empty(),
            Matcher::InStr(set, _) => set.is_empty(),
            Matcher::InInt(set, _) => set.is_empty(),
            Matcher::PMatch(prefixes) => prefixes.is_empty(),
            _ => false,
        }
    }

    /// Whether one value satisfies the matcher (for `in`, whether it is in the set).
    fn one(&self, v: Scalar<'_>) -> bool {
        let owned;
        let v = match v {
            Scalar::Str(s) if !self.transforms.is_empty() || self.len => {
                owned = self
                    .transforms
                    .iter()
                    .fold(Cow::Borrowed(s), |s, t| t.apply(s));
                if self.len {
                    Scalar::Int(i64::try_from(owned.len()).unwrap_or(i64::MAX))
                } else {
                    Scalar::Str(&owned)
                }
            }
            v => v,
        };
        match (&self.matcher, v) {
            (Matcher::Exists, _) => true,
            (Matcher::Bool(want, eq), Scalar::Bool(b)) => (b == *want) == *eq,
            (Matcher::IntCmp(op, want), Scalar::Int(n)) => match op {
                Op::Eq => n == *want,
                Op::Ne => n != *want,
                Op::Lt => n < *want,
                Op::Le => n <= *want,
                Op::Gt => n > *want,
                Op::Ge => n >= *want,
                _ => false,
            },
            (Matcher::InInt(set, _), Scalar::Int(n)) => set.contains(&n),
            (Matcher::InStr(set, _), Scalar::Bool(b)) => {
                set.contains(if b { "true" } else { "false" })
            }
            (m, Scalar::Str(s)) => match m {
                Matcher::StrEq(want, eq) => (s == want) == *eq,
                Matcher::Contains(w) => s.contains(w.as_str()),
                Matcher::IContains(w) => lowercase(s).contains(w.as_str()),
                Matcher::StartsWith(w) => s.starts_with(w.as_str()),
                Matcher::StartsWithAny(ws) => ws.iter().any(|w| s.starts_with(w.as_str())),
                Matcher::EndsWith(w) => s.ends_with(w.as_str()),
                Matcher::Glob(p, case) => {
                    if *case {
                        glob(p, &lowercase(s))
                    } else {
                        glob(p, s)
                    }
                }
                Matcher::PMatch(prefixes) => prefixes.iter().any(|p| {
                    s == p
                        || (s.starts_with(p.as_str()) && s.as_bytes().get(p.len()) == Some(&b'/'))
                        || p.is_empty()
                }),
                Matcher::Regex(r) => r.is_match(s),
                Matcher::InStr(set, _) => set.contains(s),
                Matcher::Net(nets) => nets.contains_text(s),
                _ => false,
            },
            _ => false,
        }
    }
}

/// A transformer of text values (`tolower(ka.useragent)`, `basename(...)`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    Lower,
    Upper,
    Basename,
    Trim,
    /// Base64-decoded; text that is not base64, or decodes to bytes that are not UTF-8,
    /// becomes empty text.
    B64,
}

impl Transform {
    fn apply<'s>(self, s: Cow<'s, str>) -> Cow<'s, str> {
        match self {
            Transform::Lower => match s {
                Cow::Borrowed(b) => lowercase(b),
                Cow::Owned(o) => Cow::Owned(o.to_lowercase()),
            },
            Transform::Upper => {
                if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_lowercase()) {
                    s
                } else {
                    Cow::Owned(s.to_uppercase())
                }
            }
            Transform::Basename => match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.rsplit('/').next().unwrap_or(b)),
                Cow::Owned(o) => Cow::Owned(o.rsplit('/').next().unwrap_or(&o).to_string()),
            },
            Transform::Trim => match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
            },
            Transform::B64 => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim().as_bytes())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .map_or(Cow::Borrowed(""), Cow::Owned)
            }
        }
    }
}

/// `s` in lower case, copied only when it has upper-case letters: most of what rules
/// fold (user agents, names) is lower case already, and this runs on every event.
fn lowercase(s: &str) -> Cow<'_, str> {
    if !needs_folding(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// True when `s` has an ASCII capital or any non-ASCII byte. One pass without an early
/// exit, which the compiler turns into wide compares: the text is usually short and
/// lower case, so finishing the pass costs less than branching on every byte.
fn needs_folding(s: &str) -> bool {
    s.bytes().fold(false, |acc, b| {
        acc | (b.wrapping_sub(b'A') < 26) | (b >= 0x80)
    })
}

/// Shell-style wildcard match: `*` any run, `?` one character, `[abc]` / `[a-z]` / `[!a]`
/// a class. Written by hand (a few lines, iterative with one backtrack point, linear in
/// practice) rather than compiling every pattern through a glob crate.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, next)) = class(&p, pi, t.get(ti).copied().unwrap_or_default())
                {
                    if matched {
                        pi = next;
                        ti += 1;
                        continue;
                    }
                } else if t.get(ti) == Some(&'[') {
                    pi += 1;
                    ti += 1;
                    continue;
                }
            }
            Some(c) if Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`: `(matched, index after
/// the class)`, or `None` when the `[` is not closed.
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &ch = p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let hi = *p.get(i + 2)?;
            matched |= ch <= c && c <= hi;
            i += 3;
        } else {
            matched |= ch == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::parse;
    use std::collections::HashMap;

    /// A table of a few audit-like fields over a map event.
    struct Table;
    impl FieldTable for Table {
        fn resolve(&self, name: &str, arg: Option<&str>) -> Result<Field, String> {
            let (id, ty, list) = match name {
                "ka.verb" => (0, FieldType::Str, false),
                "ka.user.groups" => (1, FieldType::Str, true),
                "ka.response.code" => (2, FieldType::Int, false),
                "ka.req.pod.containers.privileged" => (3, FieldType::Bool, true),
                "ka.uri" => (4, FieldType::Str, false),
                _ => return Err(format!("unknown field {name}")),
            };
            Ok(Field {
                id,
                arg: arg.map(String::from),
                ty,
                list,
                name: name.into(),
            })
        }

        fn cost(&self, field: &Field) -> u32 {
            if field.id == 4 { 30 } else { 1 }
        }
    }

    #[derive(Default)]
    struct Ev {
        strs: HashMap<u32, Vec<&'static str>>,
        ints: HashMap<u32, i64>,
        bools: HashMap<u32, Vec<bool>>,
    }
    impl Event for Ev {
        fn values(&self, field: &Field, f: &mut dyn FnMut(Scalar<'_>) -> ControlFlow<()>) {
            for s in self.strs.get(&field.id).into_iter().flatten() {
                if f(Scalar::Str(s)).is_break() {
                    return;
                }
            }
            if let Some(n) = self.ints.get(&field.id) {
                let _ = f(Scalar::Int(*n));
            }
            for b in self.bools.get(&field.id).into_iter().flatten() {
                if f(Scalar::Bool(*b)).is_break() {
                    return;
                }
            }
        }
    }

    fn event() -> Ev {
        let mut e = Ev::default();
        e.strs.insert(0, vec!["create"]);
        e.strs.insert(1, vec!["system:authenticated", "devs"]);
        e.ints.insert(2, 201);
        e.bools.insert(3, vec![false, true]);
        e.strs.insert(
            4,
            vec!["/api/v1/namespaces/kube-system/pods/x/exec?command=sh"],
        );
        e
    }

    fn holds(cond: &str) -> bool {
        compile(&parse(cond).unwrap(), &Table)
            .unwrap_or_else(|e| panic!("{cond}: {e}"))
            .matches(&event())
    }

    #[test]
    fn operators_on_single_and_list_fields() {
        for (cond, want) in [
            ("ka.verb = create", true),
            ("ka.verb != create", false),
            ("ka.verb in (create, update)", true),
            ("tolower(ka.verb) = CREATE", false),
            ("toupper(ka.verb) = CREATE", true),
            ("ka.response.code >= 200 and ka.response.code < 300", true),
            ("ka.response.code in (401, 403)", false),
            ("ka.req.pod.containers.privileged intersects (true)", true),
            ("ka.req.pod.containers.privileged = true", true),
            ("ka.req.pod.containers.privileged in (true)", false),
            ("ka.user.groups in (system:authenticated, devs, ops)", true),
            ("ka.user.groups in (devs)", false),
            ("ka.user.groups intersects (devs)", true),
            ("ka.uri contains /exec", true),
            ("ka.uri icontains /EXEC", true),
            ("ka.uri startswith /api/v1/namespaces/kube-system", true),
            ("ka.uri endswith sh", true),
            ("ka.uri glob '/api/v1/namespaces/*/pods/*/exec*'", true),
            ("ka.uri glob '/apis/*'", false),
            ("ka.uri regex 'pods/[^/]+/(exec|attach)'", true),
            ("ka.uri pmatch (/api/v1/namespaces)", true),
            ("ka.uri pmatch (/api/v1/name, /apis)", false),
            ("ka.verb exists and not ka.response.code = 500", true),
            ("ka.user.groups netmatch ()", false),
            ("ka.user.groups intersects ()", false),
            ("ka.user.groups in ()", false),
            ("ka.verb startswith up or ka.verb startswith del", false),
            ("ka.verb startswith up or ka.verb startswith cr", true),
            (
                "tolower(ka.uri) startswith /apis or toupper(ka.uri) startswith /API/V1 or tolower(ka.uri) startswith /x",
                true,
            ),
        ] {
            assert_eq!(holds(cond), want, "{cond}");
        }
        let mut e = event();
        e.strs.remove(&0);
        let p = compile(&parse("ka.verb exists or ka.verb in (x)").unwrap(), &Table).unwrap();
        assert!(
            !p.matches(&e),
            "a missing field neither exists nor is `in` anything"
        );
    }

    #[test]
    fn netmatch_on_address_lists() {
        let mut e = event();
        e.strs.insert(1, vec!["10.1.2.3", "203.0.113.7"]);
        for (cond, want) in [
            ("ka.user.groups netmatch (203.0.113.7)", true),
            (
                "ka.user.groups netmatch (203.0.113.0/24, 2001:db8::/32)",
                true,
            ),
            ("ka.user.groups netmatch (198.51.100.0/24)", false),
            ("ka.user.groups netmatch ()", false),
            ("not ka.user.groups netmatch ()", true),
            ("ka.verb netmatch (0.0.0.0/0)", false),
        ] {
            let p = compile(&parse(cond).unwrap(), &Table).unwrap();
            assert_eq!(p.matches(&e), want, "{cond}");
        }
    }

    #[test]
    fn type_errors_at_compile_time() {
        for (cond, want) in [
            ("ka.nope = 1", "unknown field ka.nope"),
            ("ka.response.code = abc", "ka.response.code is a number"),
            ("ka.verb > 3", "needs a numeric field"),
            ("ka.response.code contains 2", "needs a text field"),
            ("ka.req.pod.containers.privileged = yes", "true or false"),
            ("ka.uri regex '('", "bad regex"),
            ("len(ka.uri) in (x)", "is a number"),
            ("undefined_macro", "not expanded"),
            (
                "ka.uri netmatch (10.0.0.0/8, evil.example)",
                "netmatch: \"evil.example\"",
            ),
            (
                "ka.response.code netmatch (10.0.0.0/8)",
                "needs a text field",
            ),
        ] {
            let err = compile(&parse(cond).unwrap(), &Table).unwrap_err();
            assert!(err.message.contains(want), "{cond}: {err}");
        }
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("*", "", true),
            ("a*c", "abbbc", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("*.kube-system.*", "x.kube-system.y", true),
            ("literal[", "literal[", true),
            ("**a", "bbba", true),
        ] {
            assert_eq!(glob(p, t), want, "{p} {t}");
        }
    }

    fn compiled(cond: &str) -> Predicate {
        compile(&parse(cond).unwrap(), &Table).unwrap()
    }

    #[test]
    fn required_values_follow_and_or_not() {
        let verbs = |cond: &str| {
            compiled(cond).required_values(0).map(|s| {
                let mut v: Vec<String> = s.into_iter().collect();
                v.sort();
                v
            })
        };
        assert_eq!(verbs("ka.verb = get"), Some(vec!["get".to_string()]));
        assert_eq!(
            verbs("ka.uri contains x and ka.verb in (get, list) and ka.verb != list"),
            Some(vec!["get".into(), "list".into()])
        );
        assert_eq!(
            verbs("ka.verb in (get, list) and ka.verb in (list, watch)"),
            Some(vec!["list".into()])
        );
        assert_eq!(
            verbs("ka.verb = create or (ka.verb = patch and ka.response.code = 200)"),
            Some(vec!["create".into(), "patch".into()])
        );
        for any in [
            "ka.verb = create or ka.response.code = 200",
            "not ka.verb = get",
            "ka.verb startswith g",
            "tolower(ka.verb) = get",
            "ka.uri = get",
        ] {
            assert_eq!(verbs(any), None, "{any}");
        }
    }

    #[test]
    fn startswith_tests_of_one_field_under_or_are_merged() {
        let p = compiled(
            "tolower(ka.uri) startswith a or ka.verb startswith b or tolower(ka.uri) startswith c or ka.uri startswith d",
        );
        let Predicate::Or(items) = &p else {
            panic!("{p:?}")
        };
        // tolower(ka.uri) twice merged; ka.verb and plain ka.uri stay on their own.
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items.iter().any(|i| matches!(
            i,
            Predicate::Test(Test { matcher: Matcher::StartsWithAny(all), .. }) if all == &["a", "c"]
        )));
    }

    #[test]
    fn cheap_operands_come_first_and_the_answer_is_the_same() {
        let p = compiled("ka.uri regex \"^/api\" and ka.verb = get");
        let Predicate::And(items) = &p else {
            panic!("{p:?}")
        };
        let costs: Vec<u32> = items.iter().map(Predicate::cost).collect();
        assert_eq!(costs, [1, 38]);
        assert!(!p.matches(&event()));
        assert!(compiled("ka.uri regex \"^/api\" or ka.verb = get").matches(&event()));
        assert!(compiled("ka.uri regex \"^/api\" and ka.verb = create").matches(&event()));
    }

    #[test]
    fn transformers() {
        // The uri is "/api/v1/namespaces/kube-system/pods/x/exec?command=sh".
        for (cond, want) in [
            (r#"basename(ka.uri) = "exec?command=sh""#, true),
            ("toupper(basename(ka.uri)) startswith EXEC", true),
            ("len(ka.uri) = 53", true),
            ("len(basename(ka.uri)) < 10", false),
            ("len(ka.verb) in (6, 7)", true),
            ("trim(ka.verb) = create", true),
            ("b64(ka.verb) = x", false),
            ("tolower(ka.user.groups) intersects (devs)", true),
        ] {
            assert_eq!(holds(cond), want, "{cond}");
        }
        let b64 = Transform::B64.apply(Cow::Borrowed(" a3ViZWN0bA== "));
        assert_eq!(b64, "kubectl");
        assert_eq!(Transform::B64.apply(Cow::Borrowed("%%%")), "");
        assert_eq!(Transform::Trim.apply(Cow::Borrowed("  x ")), "x");
        for (cond, want) in [
            ("tolower(len(ka.verb)) = 6", "len() must be the outermost"),
            ("len(ka.response.code) = 3", "transformers take text"),
            ("len(ka.verb) = six", "is a number"),
        ] {
            let e = compile(&parse(cond).unwrap(), &Table).unwrap_err();
            assert!(e.message.contains(want), "{cond}: {e}");
        }
    }
}
