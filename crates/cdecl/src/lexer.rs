//! The cdef lexer: turns the whole source into tokens in one pass. Tokens are byte ranges into
//! the source (no per-token allocation). Comments and GCC decorations (`__attribute__((...))`,
//! `__asm__(...)`, `__extension__`, `__declspec(...)`) are dropped here, so the parser accepts
//! them anywhere; preprocessor lines are handed to [`crate::preprocess`].

use crate::ast::{Decl, Span};
use crate::error::{CdefError, ErrorKind, CDEF_SOURCE_STRING};
use crate::preprocess;

/// Token kinds. Keywords that mean the same thing share a kind (`__const` is `Const`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum T {
    Eof,
    Ident,
    /// A preprocessing number: an integer or a float, checked where it is used.
    Number,
    CharLit,
    StrLit,
    /// A character no C token starts with.
    Unknown,
    /// A lexical error (bad directive, unterminated comment...): see [`Lexed::errors`].
    LexError,

    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Semi,
    Comma,
    Star,
    Assign,
    Colon,
    Ellipsis,
    Plus,
    Minus,
    Slash,
    Percent,
    Shl,
    Shr,
    Amp,
    Pipe,
    Caret,
    Tilde,
    Bang,
    Lt,
    Gt,
    Le,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Question,
    Dot,
    Arrow,
    /// Other multi-character operators (`++`, `+=`, ...): never valid in a cdef.
    OtherOp,

    Typedef,
    Extern,
    Static,
    /// `auto`, `register`, `inline` & co, `_Noreturn`, `__thread`, `_Thread_local`: accepted
    /// among the specifiers and ignored.
    IgnoredSpec,
    Const,
    Volatile,
    Restrict,
    Void,
    Char,
    Short,
    Int,
    Long,
    Float,
    Double,
    Signed,
    Unsigned,
    Bool,
    Complex,
    Struct,
    Union,
    Enum,
    Sizeof,
    Stdcall,
    Cdecl,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub kind: T,
    /// Byte range in the source.
    pub start: u32,
    pub end: u32,
    /// Line number after line directives.
    pub line: u32,
    /// Byte offset of the start of the physical line (for columns and error excerpts).
    pub line_start: u32,
    /// Index into [`Lexed::files`].
    pub file: u16,
}

/// The lexer's output.
pub(crate) struct Lexed {
    pub toks: Vec<Token>,
    /// File names from line directives; index 0 is `<cdef source string>`.
    pub files: Vec<String>,
    /// The `#define`s, in source order.
    pub defines: Vec<Decl>,
    /// The first bad `#define`: upstream reports it only if the rest parses.
    pub define_error: Option<CdefError>,
    /// Errors for [`T::LexError`] tokens, in order: (upstream's detail, our message).
    pub errors: Vec<(String, String)>,
    /// Whether the source is all ASCII (see [`Columns::new`]), for the parser's columns.
    pub ascii: bool,
}

const MAX_FILES: usize = u16::MAX as usize;

pub(crate) fn lex(src: &str) -> Result<Lexed, CdefError> {
    if src.len() >= u32::MAX as usize {
        return Err(CdefError {
            message: "the source is too large (4 GiB or more)".into(),
            file: CDEF_SOURCE_STRING.into(),
            line: 1,
            col: 1,
            source_line: String::new(),
            kind: ErrorKind::Plain,
        });
    }
    let ascii = src.is_ascii();
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        file: 0,
        at_line_start: true,
        pending_line: None,
        in_decoration: false,
        columns: Columns::new(ascii),
        file_index: [(CDEF_SOURCE_STRING.to_string(), 0)].into_iter().collect(),
        out: Lexed {
            toks: Vec::new(),
            files: vec![CDEF_SOURCE_STRING.to_string()],
            defines: Vec::with_capacity(decls_upper_bound(src)),
            define_error: None,
            errors: Vec::new(),
            ascii,
        },
    };
    // A vector of its own, out of the lexer's reach: its length and capacity can stay in
    // registers across the calls the lexer makes (to `directive` & co), instead of being
    // reloaded from the lexer for every token.
    let mut toks = Vec::with_capacity(src.len() / 6 + 16);
    loop {
        let tok = lx.next_token();
        toks.push(tok);
        if tok.kind == T::Eof || tok.kind == T::LexError {
            if tok.kind == T::LexError {
                // Nothing after a lexical error is looked at; end the stream cleanly.
                let mut eof = tok;
                eof.kind = T::Eof;
                eof.start = tok.end;
                toks.push(eof);
            }
            break;
        }
    }
    lx.out.toks = toks;
    Ok(lx.out)
}

/// At least how many declarations `src` gives: each ends in a ';' or is a '#define'. The parser
/// appends the other declarations to the `#define`s' vector, so sizing it once for all of them
/// saves growing it (copying every declaration so far) a dozen times in a big header.
fn decls_upper_bound(src: &str) -> usize {
    // Counted in u8 over blocks of 64 bytes (no overflow): a block of constant length compiles
    // to a few vector compares and one sum, where a per-byte count would cost more than the
    // copies it saves.
    let hit = |c: &u8| (*c == b';') | (*c == b'#');
    let mut blocks = src.as_bytes().chunks_exact(64);
    let mut n = 0;
    for block in &mut blocks {
        n += block.iter().fold(0u8, |k, c| k + hit(c) as u8) as usize;
    }
    n + blocks.remainder().iter().filter(|c| hit(c)).count()
}

pub(crate) struct Lexer<'a> {
    pub src: &'a str,
    b: &'a [u8],
    pub pos: usize,
    pub line: u32,
    pub line_start: usize,
    pub file: u16,
    /// Only whitespace and comments since the last newline (a `#define` must start a line).
    at_line_start: bool,
    /// Set by a line directive: the number of the next line.
    pending_line: Option<u32>,
    /// Inside the arguments of `__attribute__` & co.
    in_decoration: bool,
    columns: Columns,
    /// Index of each file name in `out.files`.
    file_index: std::collections::HashMap<String, u16>,
    pub out: Lexed,
}

impl<'a> Lexer<'a> {
    fn newline(&mut self) {
        // `self.pos` is at the '\n'.
        self.newline_at(self.pos);
    }

    /// A new line starts after the '\n' at `pos`.
    #[inline]
    fn newline_at(&mut self, pos: usize) {
        self.line = match self.pending_line.take() {
            Some(n) => n,
            None => self.line.saturating_add(1),
        };
        self.line_start = pos + 1;
        self.at_line_start = true;
    }

    fn token(&self, kind: T, start: usize) -> Token {
        Token {
            kind,
            start: start as u32,
            end: self.pos as u32,
            line: self.line,
            line_start: self.line_start as u32,
            file: self.file,
        }
    }

    /// A [`T::LexError`] token covering `start..self.pos`.
    pub fn error(&mut self, start: usize, detail: String, message: String) -> Token {
        self.out.errors.push((detail, message));
        self.token(T::LexError, start)
    }

    /// Skips whitespace and comments. Gives the byte there (None at the end of the source), or
    /// an error token for an unterminated comment.
    /// Inlined into [`Self::next_token`]: nearly every token is preceded by some whitespace, and
    /// a call (returning a whole `Option<Token>`) costs as much as the skipping. The byte it
    /// stopped at saves the caller reading it again.
    #[inline(always)]
    fn skip_trivia(&mut self) -> Result<Option<u8>, Token> {
        let b = self.b;
        let mut p = self.pos;
        let next = loop {
            let Some(&c) = b.get(p) else { break None };
            match c {
                b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' => p += 1,
                b'\n' => {
                    self.newline_at(p);
                    p += 1;
                }
                b'/' if matches!(b.get(p + 1), Some(b'*' | b'/')) => {
                    self.pos = p;
                    if let Some(err) = self.skip_comment() {
                        return Err(err);
                    }
                    p = self.pos;
                }
                _ => break Some(c),
            }
        };
        self.pos = p;
        Ok(next)
    }

    /// Skips the comment at `self.pos` (`/*` or `//`). Returns an error token if unterminated.
    fn skip_comment(&mut self) -> Option<Token> {
        let b = self.b;
        if b.get(self.pos + 1) == Some(&b'*') {
            let start = self.pos;
            self.pos += 2;
            loop {
                match b.get(self.pos) {
                    None => {
                        self.pos = start + 1;
                        return Some(self.error(
                            start,
                            "before: /".into(),
                            "unterminated comment: '/*' without '*/'".into(),
                        ));
                    }
                    Some(b'*') if b.get(self.pos + 1) == Some(&b'/') => {
                        self.pos += 2;
                        return None;
                    }
                    Some(b'\n') => {
                        self.newline();
                        self.pos += 1;
                    }
                    Some(_) => self.pos += 1,
                }
            }
        }
        // `//`: up to the end of the line. As in upstream's regex, a backslash escapes the
        // next character: before a newline it continues the comment, but `\\` followed by a
        // newline does not.
        self.pos += 2;
        while let Some(&c) = b.get(self.pos) {
            match c {
                b'\n' => break,
                b'\\' if b.get(self.pos + 1) == Some(&b'\n') => {
                    self.pos += 1;
                    self.newline();
                    self.pos += 1;
                }
                b'\\' if self.pos + 1 < b.len() => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        None
    }

    /// The next significant token; directives are processed on the way. Inlined into the loop
    /// of [`lex`]: a call per token (saving registers, returning the token through memory)
    /// costs a good part of the lexing.
    #[inline(always)]
    pub fn next_token(&mut self) -> Token {
        loop {
            let start;
            let c = match self.skip_trivia() {
                Ok(Some(c)) => {
                    start = self.pos;
                    c
                }
                Ok(None) => return self.token(T::Eof, self.pos),
                Err(err) => return err,
            };
            if c == b'#' {
                let at_line_start = self.at_line_start;
                self.at_line_start = false;
                match preprocess::directive(self, at_line_start) {
                    Some(tok) => return tok,
                    None => continue,
                }
            }
            self.at_line_start = false;
            let kind = match c {
                // Letters, '_' and '$' (a table lookup is cheaper than the ranges).
                _ if IDENT_START_BYTES[c as usize] => {
                    // Scanned from its second byte (the first is a letter).
                    let end = run_end(self.b, start + 1, &IDENT_BYTES);
                    let word = &self.b[start..end];
                    self.pos = end;
                    match keyword(word) {
                        Some(Kw::Tok(t)) => t,
                        Some(Kw::Decoration) if !self.in_decoration => {
                            if word == b"_Alignas" {
                                return self.layout_decoration(start, "_Alignas");
                            }
                            if let Some(err) = self.skip_decoration_args() {
                                return err;
                            }
                            continue;
                        }
                        _ if self.in_decoration && changes_layout(word) => {
                            let what = String::from_utf8_lossy(word).into_owned();
                            return self.layout_decoration(start, &what);
                        }
                        Some(Kw::Decoration) | None => T::Ident,
                    }
                }
                b'0'..=b'9' => self.number(),
                b'.' if self.b.get(start + 1).is_some_and(u8::is_ascii_digit) => self.number(),
                b'\'' | b'"' => {
                    if let Some(err) = self.quoted(c) {
                        return err;
                    }
                    if c == b'"' {
                        T::StrLit
                    } else {
                        T::CharLit
                    }
                }
                _ if c >= 0x80 => {
                    // One whole (non-ASCII) character, for the error message.
                    let len = self.src[start..].chars().next().map_or(1, char::len_utf8);
                    self.pos += len;
                    T::Unknown
                }
                // The most common punctuators, which start no longer operator, without a call.
                b'(' => self.one_char(T::LParen),
                b')' => self.one_char(T::RParen),
                b';' => self.one_char(T::Semi),
                b',' => self.one_char(T::Comma),
                b'{' => self.one_char(T::LBrace),
                b'}' => self.one_char(T::RBrace),
                b'[' => self.one_char(T::LBracket),
                b']' => self.one_char(T::RBracket),
                _ => self.punct(c),
            };
            return self.token(kind, start);
        }
    }

    fn number(&mut self) -> T {
        // A C "preprocessing number": digits, letters, '.', and signs after an exponent.
        let b = self.b;
        self.pos += 1;
        while let Some(&c) = b.get(self.pos) {
            let exponent_sign =
                (c == b'+' || c == b'-') && matches!(b[self.pos - 1], b'e' | b'E' | b'p' | b'P');
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign) {
                break;
            }
            self.pos += 1;
        }
        T::Number
    }

    /// A string or character literal; stops at the end of the line if unterminated.
    fn quoted(&mut self, quote: u8) -> Option<Token> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                Some(&c) if c == quote => {
                    self.pos += 1;
                    return None;
                }
                Some(b'\\') if self.pos + 1 < self.b.len() && self.b[self.pos + 1] != b'\n' => {
                    self.pos += 2;
                    // Do not split a multi-byte character.
                    while !self.src.is_char_boundary(self.pos) {
                        self.pos += 1;
                    }
                }
                None | Some(b'\n') => {
                    let what = if quote == b'"' {
                        "string literal"
                    } else {
                        "character constant"
                    };
                    let text = &self.src[start..self.pos];
                    return Some(self.error(
                        start,
                        format!("before: {}", text),
                        format!("unterminated {}", what),
                    ));
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    #[inline(always)]
    fn one_char(&mut self, kind: T) -> T {
        self.pos += 1;
        kind
    }

    fn punct(&mut self, c: u8) -> T {
        let next = self.b.get(self.pos + 1).copied().unwrap_or(0);
        let next2 = self.b.get(self.pos + 2).copied().unwrap_or(0);
        let (kind, len) = match (c, next) {
            (b'.', b'.') if next2 == b'.' => (T::Ellipsis, 3),
            (b'<', b'<') => (T::Shl, 2),
            (b'>', b'>') => (T::Shr, 2),
            (b'<', b'=') => (T::Le, 2),
            (b'>', b'=') => (T::Ge, 2),
            (b'=', b'=') => (T::EqEq, 2),
            (b'!', b'=') => (T::Ne, 2),
            (b'&', b'&') => (T::AndAnd, 2),
            (b'|', b'|') => (T::OrOr, 2),
            (b'-', b'>') => (T::Arrow, 2),
            (b'+', b'+') | (b'-', b'-') => (T::OtherOp, 2),
            (b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^', b'=') => (T::OtherOp, 2),
            (b'(', _) => (T::LParen, 1),
            (b')', _) => (T::RParen, 1),
            (b'[', _) => (T::LBracket, 1),
            (b']', _) => (T::RBracket, 1),
            (b'{', _) => (T::LBrace, 1),
            (b'}', _) => (T::RBrace, 1),
            (b';', _) => (T::Semi, 1),
            (b',', _) => (T::Comma, 1),
            (b'*', _) => (T::Star, 1),
            (b'=', _) => (T::Assign, 1),
            (b':', _) => (T::Colon, 1),
            (b'+', _) => (T::Plus, 1),
            (b'-', _) => (T::Minus, 1),
            (b'/', _) => (T::Slash, 1),
            (b'%', _) => (T::Percent, 1),
            (b'&', _) => (T::Amp, 1),
            (b'|', _) => (T::Pipe, 1),
            (b'^', _) => (T::Caret, 1),
            (b'~', _) => (T::Tilde, 1),
            (b'!', _) => (T::Bang, 1),
            (b'<', _) => (T::Lt, 1),
            (b'>', _) => (T::Gt, 1),
            (b'?', _) => (T::Question, 1),
            (b'.', _) => (T::Dot, 1),
            _ => (T::Unknown, 1),
        };
        self.pos += len;
        kind
    }

    /// Decorations are ignored, except those that would change a layout: ignoring them would
    /// silently give wrong sizes and offsets.
    fn layout_decoration(&mut self, start: usize, what: &str) -> Token {
        self.error(
            start,
            format!("before: {what}"),
            format!(
                "'{what}' changes the layout of C data, which cdef() does not take from \
                 decorations: declare the struct with ffi.cdef(..., packed=True) or pack=N, \
                 or use API mode with '...;' so that the C compiler gives the layout"
            ),
        )
    }

    /// After `__attribute__` & co: skips a balanced `( ... )` if one follows.
    fn skip_decoration_args(&mut self) -> Option<Token> {
        let next = match self.skip_trivia() {
            Ok(next) => next,
            Err(err) => return Some(err),
        };
        if next != Some(b'(') {
            return None; // no arguments, e.g. `__extension__`
        }
        // No recursion into nested decorations: inside, they are plain identifiers.
        self.in_decoration = true;
        let result = self.skip_balanced_parens();
        self.in_decoration = false;
        result
    }

    fn skip_balanced_parens(&mut self) -> Option<Token> {
        let first = self.next_token();
        let mut depth = 1u32;
        while depth > 0 {
            let tok = self.next_token();
            match tok.kind {
                T::LParen => depth += 1,
                T::RParen => depth -= 1,
                T::LexError => return Some(tok),
                T::Eof => {
                    let start = first.start as usize;
                    return Some(self.error(
                        start,
                        crate::error::AT_END_OF_INPUT.into(),
                        "unbalanced parentheses after __attribute__/__asm__/__declspec".into(),
                    ));
                }
                _ => {}
            }
        }
        None
    }

    /// Bytes of the current physical line from `from` to its end (without the newline).
    pub fn rest_of_line(&self, from: usize) -> usize {
        self.b[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |i| from + i)
    }

    /// Skips to the end of the physical line (not past the newline).
    pub fn skip_line(&mut self) {
        self.pos = self.rest_of_line(self.pos);
    }

    /// Skips a `\`-newline inside a directive, keeping line numbers right.
    pub fn continuation_newline(&mut self) {
        // `self.pos` is at the '\n'.
        self.newline();
        self.at_line_start = false;
    }

    /// Registers a file name from a line directive and makes it current. False if there are
    /// too many files for a [`Span`] to name.
    pub fn set_file(&mut self, name: &str) -> bool {
        if let Some(&i) = self.file_index.get(name) {
            self.file = i;
            return true;
        }
        let files = &mut self.out.files;
        if files.len() >= MAX_FILES {
            return false;
        }
        files.push(name.to_string());
        self.file = (files.len() - 1) as u16;
        self.file_index.insert(name.to_string(), self.file);
        true
    }

    pub fn set_next_line(&mut self, n: u32) {
        self.pending_line = Some(n);
    }

    /// The span of the byte at `pos` (on the current line).
    #[inline]
    pub fn span_at(&self, pos: usize) -> Span {
        Span {
            file: self.file,
            line: self.line,
            col: self.columns.col(self.src, self.line_start, pos),
        }
    }
}

/// Words inside `__attribute__((...))` / `__declspec(...)` that change a layout.
fn changes_layout(word: &[u8]) -> bool {
    matches!(word, b"packed" | b"__packed__" | b"aligned" | b"__aligned__" | b"align")
}

/// Identifier characters; `$` is accepted as pycparser does.
#[inline]
pub(crate) fn is_ident_byte(c: u8) -> bool {
    IDENT_BYTES[c as usize]
}

/// Where the run of bytes of `table` that starts at `from` ends (`from` itself if none is).
/// Looked at four bytes at a time while four remain: a byte-at-a-time loop spends as much on
/// its own counting and bounds checks as on the lookups, and identifiers and `#define` names
/// make up most of a header.
#[inline(always)]
pub(crate) fn run_end(b: &[u8], from: usize, table: &[bool; 256]) -> usize {
    let mut p = from;
    while let Some(&[c0, c1, c2, c3]) = b.get(p..).and_then(|rest| rest.first_chunk::<4>()) {
        if !table[c0 as usize] {
            return p;
        }
        if !table[c1 as usize] {
            return p + 1;
        }
        if !table[c2 as usize] {
            return p + 2;
        }
        if !table[c3 as usize] {
            return p + 3;
        }
        p += 4;
    }
    while b.get(p).is_some_and(|&c| table[c as usize]) {
        p += 1;
    }
    p
}

pub(crate) static IDENT_BYTES: [bool; 256] = byte_table(b"_$");
static IDENT_START_BYTES: [bool; 256] = {
    let mut t = byte_table(b"_$");
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = false;
        c += 1;
    }
    t
};
/// Characters of a `#define` name: as [`IDENT_BYTES`] but without `$`.
pub(crate) static DEFINE_NAME_BYTES: [bool; 256] = byte_table(b"_");

/// A table of the ASCII letters and digits and `extra`: a lookup is cheaper than the range
/// tests, in loops over every character of a name.
const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// Columns of positions, computed incrementally from the last one asked when it is on the same
/// line and before: spans are asked in source order, and lines can be very long. In an all-ASCII
/// source (nearly always), a column is just a difference of offsets.
pub(crate) struct Columns {
    last: std::cell::Cell<(usize, usize, u32)>,
    ascii: bool,
}

impl Columns {
    /// `ascii`: whether the source is all ASCII (one check per cdef; a span is made for every
    /// declaration, field and #define).
    pub fn new(ascii: bool) -> Columns {
        Columns {
            last: Default::default(),
            ascii,
        }
    }

    #[inline]
    pub fn col(&self, src: &str, line_start: usize, pos: usize) -> u32 {
        if self.ascii {
            // As `col_of` counts it: one column per byte.
            return (pos.saturating_sub(line_start) as u32).saturating_add(1);
        }
        self.col_counted(src, line_start, pos)
    }

    fn col_counted(&self, src: &str, line_start: usize, pos: usize) -> u32 {
        let (last_line, last_pos, last_col) = self.last.get();
        let col = if last_line == line_start && last_pos <= pos && last_col > 0 {
            let bytes = &src.as_bytes()[last_pos..pos];
            last_col.saturating_add(bytes.iter().filter(|&&c| (c & 0xC0) != 0x80).count() as u32)
        } else {
            col_of(src, line_start, pos)
        };
        self.last.set((line_start, pos, col));
        col
    }
}

/// 1-based column of byte `pos`, in characters, on the line starting at `line_start`.
pub(crate) fn col_of(src: &str, line_start: usize, pos: usize) -> u32 {
    let bytes = &src.as_bytes()[line_start..pos.max(line_start)];
    let chars = if bytes.is_ascii() {
        bytes.len()
    } else {
        bytes.iter().filter(|&&c| (c & 0xC0) != 0x80).count()
    };
    (chars as u32).saturating_add(1)
}

#[derive(Clone, Copy)]
enum Kw {
    Tok(T),
    /// Dropped with its parenthesized arguments.
    Decoration,
}

/// The keyword `w` is, if any. Called for every identifier, most of which are no keyword: a
/// perfect hash of the word's first and last four bytes and its length picks the one keyword it
/// can be, then a compare of at most two u64 values settles it (no call, no byte loop).
#[inline(always)]
fn keyword(w: &[u8]) -> Option<Kw> {
    let len = w.len();
    if !(4..=16).contains(&len) {
        return if w == b"int" { Some(Kw::Tok(T::Int)) } else { None };
    }
    let key = edge_key(w);
    let entry = &KEYWORDS[kw_slot(key, len)];
    if entry.len as usize != len {
        return None;
    }
    let (a, b) = packed(w, key);
    if (a, b) == (entry.a, entry.b) {
        entry.kw
    } else {
        None
    }
}

/// The first four bytes of `w` (at least 4 long) in the low half, its last four in the high.
/// Whole-chunk reads: one load each, where an array of bytes is four loads and bounds checks.
#[inline(always)]
const fn edge_key(w: &[u8]) -> u64 {
    let (Some(head), Some(tail)) = (w.first_chunk::<4>(), w.last_chunk::<4>()) else {
        return 0;
    };
    (u32::from_le_bytes(*tail) as u64) << 32 | u32::from_le_bytes(*head) as u64
}

/// Which of the 128 [`KEYWORDS`] slots a word of `len` bytes with [`edge_key`] `key` hashes to.
/// The multiplier was searched for to give no two keywords the same slot (checked when the
/// table is built).
#[inline(always)]
const fn kw_slot(key: u64, len: usize) -> usize {
    (key.wrapping_add(len as u64).wrapping_mul(0x4f48_6e46_a89e_a0bb) >> 57) as usize
}

/// The whole of `w` (4 to 16 bytes) as two u64 values: up to 8 bytes, its [`edge_key`] `key`
/// covers it all; longer, its first and last 8 bytes do.
#[inline(always)]
const fn packed(w: &[u8], key: u64) -> (u64, u64) {
    if w.len() <= 8 {
        return (key, 0);
    }
    let (Some(head), Some(tail)) = (w.first_chunk::<8>(), w.last_chunk::<8>()) else {
        return (key, 0);
    };
    (u64::from_le_bytes(*head), u64::from_le_bytes(*tail))
}

#[derive(Clone, Copy)]
struct KwEntry {
    /// 0 for an empty slot (no identifier is that short).
    len: u8,
    a: u64,
    b: u64,
    kw: Option<Kw>,
}

/// The keywords of 4 bytes or more (`int` is tested on its own).
const KEYWORD_LIST: [(&[u8], Kw); 51] = {
    use Kw::{Decoration as D, Tok};
    [
        (b"char", Tok(T::Char)),
        (b"void", Tok(T::Void)),
        (b"long", Tok(T::Long)),
        (b"enum", Tok(T::Enum)),
        (b"auto", Tok(T::IgnoredSpec)),
        (b"const", Tok(T::Const)),
        (b"short", Tok(T::Short)),
        (b"float", Tok(T::Float)),
        (b"union", Tok(T::Union)),
        (b"_Bool", Tok(T::Bool)),
        (b"__asm", D),
        (b"double", Tok(T::Double)),
        (b"signed", Tok(T::Signed)),
        (b"struct", Tok(T::Struct)),
        (b"static", Tok(T::Static)),
        (b"extern", Tok(T::Extern)),
        (b"sizeof", Tok(T::Sizeof)),
        (b"inline", Tok(T::IgnoredSpec)),
        (b"WINAPI", Tok(T::Stdcall)),
        (b"typedef", Tok(T::Typedef)),
        (b"__const", Tok(T::Const)),
        (b"__cdecl", Tok(T::Cdecl)),
        (b"__asm__", D),
        (b"_Atomic", Tok(T::IgnoredSpec)),
        (b"unsigned", Tok(T::Unsigned)),
        (b"volatile", Tok(T::Volatile)),
        (b"restrict", Tok(T::Restrict)),
        (b"register", Tok(T::IgnoredSpec)),
        (b"_Complex", Tok(T::Complex)),
        (b"__signed", Tok(T::Signed)),
        (b"__inline", Tok(T::IgnoredSpec)),
        (b"__thread", Tok(T::IgnoredSpec)),
        (b"_Alignas", D),
        (b"__stdcall", Tok(T::Stdcall)),
        (b"__const__", Tok(T::Const)),
        (b"_Noreturn", Tok(T::IgnoredSpec)),
        (b"__cdecl__", Tok(T::Cdecl)),
        (b"__restrict", Tok(T::Restrict)),
        (b"__volatile", Tok(T::Volatile)),
        (b"__signed__", Tok(T::Signed)),
        (b"__inline__", Tok(T::IgnoredSpec)),
        (b"__declspec", D),
        (b"__stdcall__", Tok(T::Stdcall)),
        (b"__attribute", D),
        (b"__complex__", Tok(T::Complex)),
        (b"__restrict__", Tok(T::Restrict)),
        (b"__volatile__", Tok(T::Volatile)),
        (b"__attribute__", D),
        (b"__extension__", D),
        (b"_Thread_local", Tok(T::IgnoredSpec)),
        (b"__forceinline", Tok(T::IgnoredSpec)),
    ]
};

static KEYWORDS: [KwEntry; 128] = {
    let mut table = [KwEntry { len: 0, a: 0, b: 0, kw: None }; 128];
    let mut i = 0;
    while i < KEYWORD_LIST.len() {
        let (w, kw) = KEYWORD_LIST[i];
        assert!(w.len() >= 4 && w.len() <= 16);
        let key = edge_key(w);
        let slot = kw_slot(key, w.len());
        assert!(table[slot].len == 0, "two keywords hash to one slot");
        let (a, b) = packed(w, key);
        table[slot] = KwEntry { len: w.len() as u8, a, b, kw: Some(kw) };
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<T> {
        lex(src).unwrap().toks.iter().map(|t| t.kind).collect()
    }

    fn texts(src: &str) -> Vec<&str> {
        let lexed = lex(src).unwrap();
        let v: Vec<(u32, u32)> = lexed.toks.iter().map(|t| (t.start, t.end)).collect();
        v.into_iter()
            .map(|(s, e)| &src[s as usize..e as usize])
            .collect()
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            kinds("int x[10];"),
            vec![
                T::Int,
                T::Ident,
                T::LBracket,
                T::Number,
                T::RBracket,
                T::Semi,
                T::Eof
            ]
        );
        assert_eq!(
            texts("a...b<<=c"),
            vec!["a", "...", "b", "<<", "=", "c", ""]
        );
        assert_eq!(
            kinds("'a' \"s\" 1.5e+3"),
            vec![T::CharLit, T::StrLit, T::Number, T::Eof]
        );
        assert_eq!(texts("1.5e+3+x"), vec!["1.5e+3", "+", "x", ""]);
        assert_eq!(kinds(""), vec![T::Eof]);
    }

    #[test]
    fn keywords_and_synonyms() {
        assert_eq!(
            kinds("__const __restrict__ __volatile__ __signed__ WINAPI __stdcall __cdecl _Bool"),
            vec![
                T::Const,
                T::Restrict,
                T::Volatile,
                T::Signed,
                T::Stdcall,
                T::Stdcall,
                T::Cdecl,
                T::Bool,
                T::Eof
            ]
        );
        assert_eq!(
            kinds("bool size_t $x"),
            vec![T::Ident, T::Ident, T::Ident, T::Eof]
        );
    }

    #[test]
    fn keyword_table() {
        let same = |a: Option<Kw>, b: Kw| match (a, b) {
            (Some(Kw::Tok(x)), Kw::Tok(y)) => x == y,
            (Some(Kw::Decoration), Kw::Decoration) => true,
            _ => false,
        };
        for (w, kw) in KEYWORD_LIST {
            assert!(same(keyword(w), kw), "{}", String::from_utf8_lossy(w));
            // Any one byte changed, or one more or fewer at the end: no keyword, or the one
            // with exactly that text.
            let mut words = vec![w[..w.len() - 1].to_vec(), [w, b"x"].concat()];
            for i in 0..w.len() {
                let mut m = w.to_vec();
                m[i] ^= 0x20;
                words.push(m);
            }
            for m in words {
                let expected = KEYWORD_LIST.iter().find(|(k, _)| *k == &m[..]);
                match expected {
                    Some(&(_, kw)) => assert!(same(keyword(&m), kw)),
                    None => assert!(keyword(&m).is_none(), "{}", String::from_utf8_lossy(&m)),
                }
            }
        }
        assert!(same(keyword(b"int"), Kw::Tok(T::Int)));
        assert!(keyword(b"in").is_none() && keyword(b"Int").is_none() && keyword(b"").is_none());
    }

    #[test]
    fn declaration_count() {
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 300] {
            let src: String = (0..len).map(|i| [';', '#', 'x', ' ', ';'][i % 5]).collect();
            let naive = src.bytes().filter(|&c| c == b';' || c == b'#').count();
            assert_eq!(decls_upper_bound(&src), naive, "{len} bytes");
        }
    }

    #[test]
    fn comments_and_lines() {
        let lexed = lex("/* a\n b */ int // c \\\n still comment\nx").unwrap();
        let t: Vec<(T, u32)> = lexed.toks.iter().map(|t| (t.kind, t.line)).collect();
        assert_eq!(t, vec![(T::Int, 2), (T::Ident, 4), (T::Eof, 4)]);
        let lexed = lex("/* never closed").unwrap();
        assert_eq!(lexed.toks[0].kind, T::LexError);
    }

    #[test]
    fn decorations_are_dropped() {
        assert_eq!(
            kinds("__extension__ int __attribute__((unused, x(\")\"))) x __asm__(\"y\");"),
            vec![T::Int, T::Ident, T::Semi, T::Eof]
        );
        assert_eq!(kinds("__attribute__((x)"), vec![T::LexError, T::Eof]);
    }

    #[test]
    fn non_ascii_is_one_unknown_token() {
        assert_eq!(texts("é x"), vec!["é", "x", ""]);
        assert_eq!(kinds("@"), vec![T::Unknown, T::Eof]);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(col_of("héllo x", 0, 7), 7);
        assert_eq!(col_of("\tx", 0, 1), 2);
        let src = "ab\ncdef gh";
        let (ascii, counted) = (Columns::new(true), Columns::new(false));
        for (line_start, pos) in [(0, 0), (0, 2), (3, 3), (3, 8), (3, 10), (3, 1)] {
            let expected = col_of(src, line_start, pos);
            assert_eq!(ascii.col(src, line_start, pos), expected);
            assert_eq!(counted.col(src, line_start, pos), expected);
        }
    }
}
