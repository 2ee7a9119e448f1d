//! The cdef dialect of C: the declarations `ffi.cdef()` accepts and the type names `ffi.typeof()`,
//! `ffi.new()`, `ffi.cast()` ... accept. Pure Rust, no Python; every input gives a result or a
//! [`CdefError`], never a panic.

pub mod ast;
mod declarator;
mod display;
pub mod error;
pub mod eval;
mod expr;
mod lexer;
mod literal;
mod parser;
mod preprocess;
mod specifiers;
mod typename;

pub use ast::*;
pub use error::{CdefError, ErrorKind, TypeNameError};

/// Parse the source of one `ffi.cdef()` call.
pub fn parse_cdef(source: &str) -> Result<Cdef, CdefError> {
    parser::parse_cdef(source)
}

/// Parse a C type name as the runtime API takes it: `"int"`, `"int *[5]"`, `"int(*)(int, ...)"`,
/// `"struct foo"`, `"int[]"`, `"foo_t"`. Errors carry upstream's wording and the byte position.
pub fn parse_type_name(text: &str) -> Result<Ty, TypeNameError> {
    typename::parse_type_name(text)
}
