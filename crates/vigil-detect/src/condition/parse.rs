//! A recursive-descent parser for Falco's condition language.
//!
//! Grammar (precedence low to high: `or`, `and`, `not`):
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | check | macro-name
//! check   := field "exists" | field binop value | field listop "(" values ")"
//! field   := name ["[" arg "]"] | transformer "(" field ")"
//! value   := bare-word | "quoted" | 'quoted'
//! ```
//!
//! Written by hand rather than with a parser generator: the language is small, and the
//! errors must name the byte where the rule's author went wrong. Nesting is bounded so a
//! hostile rules file cannot overflow the stack.

use super::ast::{Check, Expr, FieldRef, Op, Operand, Span, Value};

/// Deepest nesting of parentheses, `not` and transformers.
pub const MAX_DEPTH: usize = 128;

/// Transformers Falco applies to field values.
pub const TRANSFORMERS: &[&str] = &["tolower", "toupper", "b64", "basename", "len", "trim"];

/// A syntax error, at a byte offset of the condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Where, in bytes from the start of the condition.
    pub offset: usize,
}

impl ParseError {
    /// 1-based line and column (in characters) of the error in `text`.
    pub fn line_col(&self, text: &str) -> (usize, usize) {
        line_col(text, self.offset)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, col)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    /// `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`.
    Symbol(&'static str),
    Word(String),
    Quoted(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Span,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '"' | '\'' | '=' | '<' | '>' | '!')
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = |tok| Token {
            tok,
            span: Span {
                start,
                end: start + 1,
            },
        };
        match c {
            '(' => {
                chars.next();
                out.push(single(Tok::LParen));
            }
            ')' => {
                chars.next();
                out.push(single(Tok::RParen));
            }
            ',' => {
                chars.next();
                out.push(single(Tok::Comma));
            }
            '=' | '<' | '>' | '!' => {
                chars.next();
                let eq = chars.peek().is_some_and(|&(_, n)| n == '=');
                if eq {
                    chars.next();
                }
                let sym = match (c, eq) {
                    ('=', false) => "=",
                    ('=', true) => "==",
                    ('<', false) => "<",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    ('>', true) => ">=",
                    ('!', true) => "!=",
                    _ => {
                        return Err(ParseError {
                            message: "`!` must be followed by `=`".into(),
                            offset: start,
                        });
                    }
                };
                out.push(Token {
                    tok: Tok::Symbol(sym),
                    span: Span {
                        start,
                        end: start + sym.len(),
                    },
                });
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, esc)) => value.push(esc),
                            None => break,
                        },
                        ch if ch == c => {
                            end = Some(i + 1);
                            break;
                        }
                        ch => value.push(ch),
                    }
                }
                let Some(end) = end else {
                    return Err(ParseError {
                        message: format!("unterminated string starting with {c}"),
                        offset: start,
                    });
                };
                out.push(Token {
                    tok: Tok::Quoted(value),
                    span: Span { start, end },
                });
            }
            _ => {
                let mut end = start;
                let mut depth = 0usize;
                // A `[...]` argument may hold any character but `]` (`jevt.value[/a b]`).
                while let Some(&(i, ch)) = chars.peek() {
                    if depth == 0 && !is_word_char(ch) {
                        break;
                    }
                    match ch {
                        '[' => depth += 1,
                        ']' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    end = i + ch.len_utf8();
                    chars.next();
                }
                let word = text.get(start..end).unwrap_or_default().to_string();
                out.push(Token {
                    tok: Tok::Word(word),
                    span: Span { start, end },
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Length of the text, for errors at the end.
    len: usize,
    depth: usize,
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err(ParseError {
            message: "empty condition".into(),
            offset: 0,
        });
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        len: text.len(),
        depth: 0,
    };
    let expr = p.expr()?;
    if let Some(t) = p.peek() {
        return Err(ParseError {
            message: format!("unexpected {} after a complete condition", describe(&t.tok)),
            offset: t.span.start,
        });
    }
    Ok(expr)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Symbol(s) => format!("`{s}`"),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Quoted(q) => format!("string {q:?}"),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(x), .. }) if x == w)
    }

    fn end_offset(&self) -> usize {
        self.len
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            offset: self.peek().map_or(self.end_offset(), |t| t.span.start),
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!("nested deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.at_word("or") {
            self.next();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        while self.at_word("and") {
            self.next();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, ParseError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.error_here("the condition ends where a check was expected"));
        };
        match &t.tok {
            Tok::Word(w) if w == "not" => {
                self.next();
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Tok::LParen => {
                self.next();
                let inner = self.expr()?;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(inner),
                    Some(t) => Err(ParseError {
                        message: format!("expected `)`, found {}", describe(&t.tok)),
                        offset: t.span.start,
                    }),
                    None => Err(ParseError {
                        message: format!("`(` at byte {} is never closed", t.span.start),
                        offset: self.end_offset(),
                    }),
                }
            }
            Tok::Word(w) if matches!(w.as_str(), "and" | "or") => {
                Err(self.error_here(format!("`{w}` needs a check before it")))
            }
            Tok::Word(_) => self.check(),
            other => Err(self.error_here(format!("expected a check, found {}", describe(other)))),
        }
    }

    fn field(&mut self) -> Result<FieldRef, ParseError> {
        let Some(Token {
            tok: Tok::Word(word),
            span,
        }) = self.next()
        else {
            return Err(self.error_here("expected a field name"));
        };
        let is_call = matches!(
            self.peek(),
            Some(Token {
                tok: Tok::LParen,
                ..
            })
        );
        if is_call {
            if !TRANSFORMERS.contains(&word.as_str()) {
                return Err(ParseError {
                    message: format!("unknown transformer `{word}`"),
                    offset: span.start,
                });
            }
            self.enter()?;
            self.next();
            let mut inner = self.field()?;
            self.depth -= 1;
            match self.next() {
                Some(Token {
                    tok: Tok::RParen,
                    span: close,
                }) => {
                    inner.transformers.push(word);
                    inner.span = Span {
                        start: span.start,
                        end: close.end,
                    };
                    Ok(inner)
                }
                _ => Err(self.error_here(format!("expected `)` closing {word}(...)"))),
            }
        } else {
            let (name, arg) = match word.split_once('[') {
                Some((name, rest)) => {
                    let Some(arg) = rest.strip_suffix(']') else {
                        return Err(ParseError {
                            message: format!("`{word}`: `[` without a closing `]`"),
                            offset: span.start,
                        });
                    };
                    (name.to_string(), Some(arg.to_string()))
                }
                None => (word, None),
            };
            Ok(FieldRef {
                name,
                arg,
                transformers: Vec::new(),
                span,
            })
        }
    }

    fn check(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let field = self.field()?;
        let op_token = self.peek().cloned();
        let op = match op_token.as_ref().map(|t| &t.tok) {
            Some(Tok::Symbol(s)) => Op::from_token(s),
            Some(Tok::Word(w)) => Op::from_token(w),
            _ => None,
        };
        let Some(op) = op else {
            // A bare name with nothing to compare: a macro reference.
            let next_ends = match op_token.as_ref().map(|t| &t.tok) {
                None | Some(Tok::RParen) => true,
                Some(Tok::Word(w)) => w == "and" || w == "or",
                _ => false,
            };
            if next_ends && field.transformers.is_empty() && field.arg.is_none() {
                return Ok(Expr::Macro {
                    name: field.name,
                    span: field.span,
                });
            }
            return Err(match op_token {
                Some(t) => ParseError {
                    message: format!(
                        "expected an operator after `{}`, found {}",
                        field.name,
                        describe(&t.tok)
                    ),
                    offset: t.span.start,
                },
                None => self.error_here(format!("expected an operator after `{}`", field.name)),
            });
        };
        let op_span = op_token.map(|t| t.span).unwrap_or_default();
        self.next();
        let operand = if op == Op::Exists {
            Operand::None
        } else if op.takes_list() {
            Operand::List(self.list(op_span)?)
        } else {
            match self.next() {
                Some(Token {
                    tok: Tok::Word(w),
                    span,
                }) => Operand::Value(Value {
                    text: w,
                    quoted: false,
                    span,
                }),
                Some(Token {
                    tok: Tok::Quoted(q),
                    span,
                }) => Operand::Value(Value {
                    text: q,
                    quoted: true,
                    span,
                }),
                // Falco's event directions, `evt.dir=<` and `evt.dir = >`: in a value's
                // place these can only be values.
                Some(Token {
                    tok: Tok::Symbol(s @ ("<" | ">")),
                    span,
                }) => Operand::Value(Value {
                    text: s.to_string(),
                    quoted: false,
                    span,
                }),
                Some(t) => {
                    return Err(ParseError {
                        message: format!("expected a value, found {}", describe(&t.tok)),
                        offset: t.span.start,
                    });
                }
                None => {
                    return Err(ParseError {
                        message: "the condition ends where a value was expected".into(),
                        offset: self.end_offset(),
                    });
                }
            }
        };
        let end = self
            .tokens
            .get(self.pos.saturating_sub(1))
            .map_or(self.len, |t| t.span.end);
        let start = self.tokens.get(start).map_or(0, |t| t.span.start);
        Ok(Expr::Check(Check {
            field,
            op,
            operand,
            span: Span { start, end },
        }))
    }

    fn list(&mut self, op_span: Span) -> Result<Vec<Value>, ParseError> {
        match self.next() {
            Some(Token {
                tok: Tok::LParen, ..
            }) => {}
            // Falco also accepts a bare list name: `proc.name in shell_binaries`.
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) => {
                return Ok(vec![Value {
                    text: w,
                    quoted: false,
                    span,
                }]);
            }
            _ => {
                return Err(ParseError {
                    message: "expected `(` and a list".into(),
                    offset: op_span.end,
                });
            }
        }
        let mut items = Vec::new();
        loop {
            match self.next() {
                Some(Token {
                    tok: Tok::RParen, ..
                }) => return Ok(items),
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Token {
                    tok: Tok::Word(w),
                    span,
                }) => items.push(Value {
                    text: w,
                    quoted: false,
                    span,
                }),
                Some(Token {
                    tok: Tok::Quoted(q),
                    span,
                }) => items.push(Value {
                    text: q,
                    quoted: true,
                    span,
                }),
                Some(t) => {
                    return Err(ParseError {
                        message: format!("unexpected {} in a list", describe(&t.tok)),
                        offset: t.span.start,
                    });
                }
                None => {
                    return Err(ParseError {
                        message: "a list is never closed with `)`".into(),
                        offset: self.end_offset(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(e: &Expr) -> &Check {
        match e {
            Expr::Check(c) => c,
            other => panic!("not a check: {other:?}"),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("a = 1 or not b = 2 and c exists").unwrap();
        let Expr::Or(items) = e else { panic!() };
        assert_eq!(items.len(), 2);
        let Expr::And(rest) = &items[1] else {
            panic!("{:?}", items[1])
        };
        assert!(matches!(rest[0], Expr::Not(_)));
        assert_eq!(check(&rest[1]).op, Op::Exists);
    }

    #[test]
    fn falco_k8saudit_conditions_parse() {
        let rule = r#"kevt and pod and kcreate and ka.req.pod.containers.privileged intersects (true)
            and not ka.req.pod.containers.image.repository in (falco_privileged_images)"#;
        let e = parse(rule).unwrap();
        let Expr::And(items) = e else { panic!() };
        assert_eq!(items.len(), 5);
        assert_eq!(
            items[0],
            Expr::Macro {
                name: "kevt".into(),
                span: Span { start: 0, end: 4 }
            }
        );
        let c = check(&items[3]);
        assert_eq!(c.field.name, "ka.req.pod.containers.privileged");
        assert_eq!(c.op, Op::Intersects);
        let Operand::List(v) = &c.operand else {
            panic!()
        };
        assert_eq!(v[0].text, "true");
        assert_eq!(
            &rule[c.span.start..c.span.end],
            "ka.req.pod.containers.privileged intersects (true)"
        );
    }

    #[test]
    fn values_fields_arguments_and_transformers() {
        let e = parse(r#"tolower(ka.useragent) startswith "kube-hunter" and jevt.value[/spec/hostPID] = true and proc.aname[2] != 'sh\'x'"#).unwrap();
        let Expr::And(items) = e else { panic!() };
        let ua = check(&items[0]);
        assert_eq!(ua.field.transformers, ["tolower"]);
        assert_eq!(ua.field.name, "ka.useragent");
        assert!(matches!(&ua.operand, Operand::Value(v) if v.text == "kube-hunter" && v.quoted));
        let j = check(&items[1]);
        assert_eq!(
            (j.field.name.as_str(), j.field.arg.as_deref()),
            ("jevt.value", Some("/spec/hostPID"))
        );
        let a = check(&items[2]);
        assert_eq!(a.field.arg.as_deref(), Some("2"));
        assert_eq!(a.op, Op::Ne);
        assert!(matches!(&a.operand, Operand::Value(v) if v.text == "sh'x"));
        let p = parse("fd.name pmatch (/etc, '/var/run/docker.sock') and evt.num >= 10").unwrap();
        let Expr::And(items) = p else { panic!() };
        assert!(matches!(&check(&items[0]).operand, Operand::List(v) if v.len() == 2));
        assert_eq!(check(&items[1]).op, Op::Ge);
    }

    #[test]
    fn event_directions_are_values() {
        for text in [
            "evt.dir=<",
            "evt.dir = >",
            "(evt.type in (execve) and evt.dir=<)",
        ] {
            let e = parse(text).unwrap();
            let c = match &e {
                Expr::And(items) => check(&items[1]),
                e => check(e),
            };
            assert_eq!(c.op, Op::Eq, "{text}");
            assert!(matches!(&c.operand, Operand::Value(v) if v.text == "<" || v.text == ">"));
        }
        assert!(parse("evt.dir = <= 1").is_err());
    }

    #[test]
    fn errors_point_at_the_place() {
        for (text, want, at) in [
            ("", "empty condition", 0),
            ("a = ", "ends where a value was expected", 4),
            ("a in (x, y", "never closed", 10),
            ("(a = 1", "never closed", 6),
            (
                "a = 1 b = 2",
                "unexpected `b` after a complete condition",
                6,
            ),
            (
                "a = 1 and b c",
                "expected an operator after `b`, found `c`",
                12,
            ),
            ("a = 1 )", "unexpected `)`", 6),
            ("and a = 1", "`and` needs a check", 0),
            ("a ! 1", "`!` must be followed by `=`", 2),
            ("a = \"open", "unterminated string", 4),
            ("frob(a) = 1", "unknown transformer `frob`", 0),
            ("a[1 = 2", "`[` without a closing `]`", 0),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.message.contains(want), "{text:?}: {err}");
            assert_eq!(err.offset, at, "{text:?}: {err}");
        }
        let err = parse("a = 1 and\n  b c").unwrap_err();
        assert_eq!(err.line_col("a = 1 and\n  b c"), (2, 5));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
        let nots = format!("{}a = 1", "not ".repeat(10_000));
        assert!(parse(&nots).unwrap_err().message.contains("nested deeper"));
    }
}
