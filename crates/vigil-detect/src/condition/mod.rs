//! Falco's condition language: [`parse`] turns a condition into an [`ast::Expr`] with the
//! byte span of every node, and [`expand`] replaces macros and named lists, as Falco's
//! engine does before compiling.

pub mod ast;
mod expand;
mod parse;

pub use expand::{Definitions, ExpandError, MAX_NODES, expand};
pub use parse::{MAX_DEPTH, ParseError, TRANSFORMERS, line_col, parse};
