//! The cdef dialect of C: the declarations `ffi.cdef()` accepts and the type names `ffi.typeof()`,
//! `ffi.new()`, `ffi.cast()` ... accept. Pure Rust, no Python; every input gives a result or a
//! [`CdefError`], never a panic.
//!
//! What the parser decides, and what it leaves to its users:
//! - Identifiers used as types stay [`BaseType::Name`]: the parser does not know the typedefs of
//!   earlier `cdef()` calls, so an unknown name is the caller's error to report (upstream's
//!   pycparser would refuse it as a syntax error). The standard typedefs (`size_t`, `int8_t`,
//!   `FILE`, `wchar_t`...) are names too. Keyword spellings are canonicalised into
//!   [`BaseType::Primitive`] (`long unsigned int` is "unsigned long"); `bool` is "_Bool".
//! - Constant expressions (enum values, array lengths, bitfield widths) stay [`Expr`]; see
//!   [`eval::eval`]. `#define`s come first in [`Cdef::decls`], as upstream registers them first.
//! - Semantic checks that need earlier declarations (duplicates, unknown names, a struct defined
//!   twice, partial structs without a C name...) are the caller's.
//! - GCC decorations (`__attribute__((...))`, `__asm__(...)`, `__extension__`, `__declspec(...)`,
//!   `__inline`, `__restrict`, `__const`...) are accepted anywhere and dropped.
//! - Limits against hostile input: 100 levels of nesting, 64 `*`/`[]`/`()` per declarator, type
//!   and expression trees 200 deep; beyond, a [`CdefError`] says so.

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
/// `"struct foo"`, `"int[]"`, `"foo_t"`. This follows upstream's `parse_c_type.c`: what it
/// accepts, its error messages and the byte positions they point at (including its limit of 1200
/// "opcodes"). Names (types, and array lengths like `int[N]`) are left to the caller, who reports
/// upstream's lookup errors ("undefined type name", "expected a positive integer constant"...);
/// spans in the result have line 1 and `col` = byte offset + 1 for that purpose.
pub fn parse_type_name(text: &str) -> Result<Ty, TypeNameError> {
    typename::parse_type_name(text)
}
