//! Errors of the cdef parser, formatted the way upstream cffi words them.

use std::fmt;

/// A `ffi.cdef()` error: what was wrong and where (`file:line:col`), with the source line and a
/// caret under the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdefError {
    /// What went wrong and what was expected, e.g. `unexpected 'y', expected ';' or ','`.
    pub message: String,
    /// The file as line directives name it; `<cdef source string>` by default.
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// The offending source line, verbatim (without its newline).
    pub source_line: String,
}

impl fmt::Display for CdefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!("helper: format")
    }
}

impl std::error::Error for CdefError {}

/// An error in a type name given to `ffi.typeof()` & co. `message` uses upstream's wording
/// ("identifier expected", "struct or union name expected", ...); `pos` is the byte offset the
/// caret points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeNameError {
    pub message: &'static str,
    pub pos: usize,
}
