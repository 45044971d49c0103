//! The syntax tree of a condition, with the byte span of every node in the condition's
//! text, so a compile error can point at the exact place.

/// Byte offsets `[start, end)` in the condition text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every operand holds.
    And(Vec<Expr>),
    /// Some operand holds.
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// A field compared with something.
    Check(Check),
    /// A bare name: a macro, replaced by its condition when expanded.
    Macro {
        /// The macro's name.
        name: String,
        /// Where it is used.
        span: Span,
    },
}

/// `field op operand`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The field, with its transformers.
    pub field: FieldRef,
    /// The operator.
    pub op: Op,
    /// What the field is compared with.
    pub operand: Operand,
    /// The whole check.
    pub span: Span,
}

/// A field reference: `ka.user.name`, `proc.aname[2]`, `jevt.value[/spec/replicas]`,
/// `tolower(ka.useragent)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    /// The field's name, e.g. `ka.user.name`.
    pub name: String,
    /// The argument in brackets, e.g. `2` or `/spec/replicas`.
    pub arg: Option<String>,
    /// Transformers applied to the value, innermost first, e.g. `["tolower"]`.
    pub transformers: Vec<String>,
    /// Where it is written.
    pub span: Span,
}

/// Comparison operators, as Falco names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `exists` (no operand).
    Exists,
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains` (case-insensitive).
    IContains,
    /// `bcontains` (bytes, operand in hex).
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith` (bytes, operand in hex).
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob` (shell wildcards).
    Glob,
    /// `iglob` (case-insensitive glob).
    IGlob,
    /// `pmatch`: the value is one of the listed paths or under one of them.
    PMatch,
    /// `regex` (RE2 syntax).
    Regex,
    /// `in`: the value (or one of a list-valued field's values) is in the list.
    In,
    /// `intersects`: a list-valued field shares a value with the list.
    Intersects,
    /// `netmatch` (Vigil's addition): some value is an IP address equal to a listed
    /// address or inside a listed CIDR network, e.g. `ka.sourceips netmatch
    /// (203.0.113.7, 198.51.100.0/24)`; Falco's `fd.net` semantics for text fields.
    NetMatch,
}

impl Op {
    /// The operator for a word or symbol, if it is one.
    pub fn from_token(s: &str) -> Option<Op> {
        Some(match s {
            "exists" => Op::Exists,
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "pmatch" => Op::PMatch,
            "regex" => Op::Regex,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "netmatch" => Op::NetMatch,
            _ => return None,
        })
    }

    /// True for operators whose operand is a parenthesised list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch | Op::NetMatch)
    }
}

/// A literal value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text, unquoted and unescaped.
    pub text: String,
    /// True when it was written in quotes (a quoted word is never a list name).
    pub quoted: bool,
    /// Where it is written.
    pub span: Span,
}

/// The right-hand side of a check.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `exists` takes none.
    None,
    /// One value.
    Value(Value),
    /// A parenthesised list (named lists are expanded into it).
    List(Vec<Value>),
}
