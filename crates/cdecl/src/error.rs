//! Errors of the cdef parser, formatted the way upstream cffi words them.

use std::fmt;

/// The file name upstream gives to the source of a `cdef()` call.
pub const CDEF_SOURCE_STRING: &str = "<cdef source string>";

/// A `ffi.cdef()` error: what was wrong and where (`file:line:col`), with the source line and a
/// caret under the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdefError {
    /// What went wrong and what was expected, e.g. `unexpected 'y', expected ';' or ','`. For
    /// errors other than [`ErrorKind::Syntax`] this is upstream's exact wording.
    pub message: String,
    /// The file as line directives name it; `<cdef source string>` by default.
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// The offending source line, verbatim (without its newline).
    pub source_line: String,
    /// How upstream reports this error; decides the first lines of the `Display` output.
    pub kind: ErrorKind,
}

/// The shape of upstream's message for an error (and the Python exception upstream raises).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A syntax error (CDefError): `cannot parse "<line>"\n<file>:<line>:<col>: <detail>`, where
    /// `detail` is e.g. `before: y`; `parse error\n<file>:<line>:<col>: <detail>` when the file
    /// was renamed by a line directive; `parse error\n<file>: At end of input` at the end.
    Syntax { detail: String },
    /// An error about one declaration (CDefError): `<file>:<line>: <message>`.
    Decl,
    /// An error upstream reports without a location (CDefError), e.g. the `#define` one.
    Plain,
    /// An FFIError: `:<line>: <message>` when `with_line`, else just `<message>`.
    Ffi { with_line: bool },
}

/// The `detail` of a syntax error found at the end of the input.
pub const AT_END_OF_INPUT: &str = "At end of input";

impl fmt::Display for CdefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // First upstream's wording, so that tests written against cffi keep matching...
        match &self.kind {
            ErrorKind::Syntax { detail } if detail == AT_END_OF_INPUT => {
                write!(f, "parse error\n{}: {}", self.file, detail)?;
            }
            ErrorKind::Syntax { detail } => {
                if self.file == CDEF_SOURCE_STRING {
                    writeln!(f, "cannot parse \"{}\"", self.source_line.trim())?;
                } else {
                    f.write_str("parse error\n")?;
                }
                write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, detail)?;
            }
            ErrorKind::Decl => write!(f, "{}:{}: {}", self.file, self.line, self.message)?,
            ErrorKind::Plain | ErrorKind::Ffi { with_line: false } => f.write_str(&self.message)?,
            ErrorKind::Ffi { with_line: true } => write!(f, ":{}: {}", self.line, self.message)?,
        }
        // ...then our own help: what was expected, and where, with a caret.
        if let ErrorKind::Syntax { .. } = self.kind {
            write!(f, "\n{}", self.message)?;
        }
        write!(f, "\n  --> {}:{}:{}", self.file, self.line, self.col)?;
        write_caret(f, &self.source_line, self.col)
    }
}

/// Writes the source line and a caret under the (1-based, in characters) column. Tabs are kept in
/// the padding so that the caret lines up however the terminal expands them.
fn write_caret(f: &mut fmt::Formatter<'_>, line: &str, col: u32) -> fmt::Result {
    write!(f, "\n   | {}\n   | ", line)?;
    for c in line.chars().take(col.saturating_sub(1) as usize) {
        f.write_str(if c == '\t' { "\t" } else { " " })?;
    }
    f.write_str("^")
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

impl fmt::Display for TypeNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.pos)
    }
}

impl std::error::Error for TypeNameError {}
