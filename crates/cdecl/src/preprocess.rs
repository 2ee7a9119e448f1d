//! Preprocessor lines in a cdef: `#define NAME <integer>` / `#define NAME ...`, line directives
//! (`# 42 "foo.h"`, `#line 42`), `#pragma` (ignored, as upstream does after a warning). Anything
//! else is refused with pycparser's "Directives not supported yet".

use std::borrow::Cow;

use crate::ast::{Decl, DefineValue, Name};
use crate::error::{CdefError, ErrorKind};
use crate::lexer::{is_ident_byte, run_end, Lexer, Token, DEFINE_NAME_BYTES};
use crate::literal::{self, LiteralError};

/// Handles the directive whose `#` is at `lx.pos`. Returns an error token, or None when the
/// directive was consumed (the lexer then goes on with the next line).
pub(crate) fn directive(lx: &mut Lexer<'_>, at_line_start: bool) -> Option<Token> {
    let hash = lx.pos;
    let b = lx.src.as_bytes();
    // `#define ` at the start of a line, by far the commonest directive: straight to it (what
    // follows reads it as the word `define` too).
    let define_word = b.get(hash + 1..hash + 8);
    if at_line_start && define_word.is_some_and(|w| w == b"define " || w == b"define\t") {
        if let Some(()) = define(lx, hash + 7) {
            return None;
        }
    }
    let mut p = hash + 1;
    while p < b.len() && (b[p] == b' ' || b[p] == b'\t') {
        p += 1;
    }
    let word_end = p + b[p..].iter().take_while(|&&c| is_ident_byte(c)).count();
    let word = &lx.src[p..word_end];
    // pycparser wants a non-word character after `line`/`pragma` (not the end of input).
    let followed = word_end < b.len();
    if word.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return line_directive(lx, p);
    }
    if word == "line" && followed {
        return line_directive(lx, word_end);
    }
    if word == "pragma" && followed {
        lx.skip_line();
        return None;
    }
    if word == "define" && at_line_start {
        if let Some(()) = define(lx, word_end) {
            return None;
        }
    }
    lx.pos = lx.rest_of_line(hash);
    Some(lx.error(
        hash,
        "Directives not supported yet".into(),
        format!(
            "'#{}' is not supported in cdef(): only '#define NAME <integer>', '#define NAME ...', \
             line directives ('# 42 \"file.h\"') and '#pragma' (ignored) are",
            word
        ),
    ))
}

/// `# 42 "file.h" 1 3` or `#line 42`, from just after `line` (or at the number).
fn line_directive(lx: &mut Lexer<'_>, from: usize) -> Option<Token> {
    let end = lx.rest_of_line(from);
    let text = &lx.src[from..end];
    match parse_line_directive(text) {
        Ok((line, file)) => {
            if let Some(file) = file {
                if !lx.set_file(file) {
                    lx.pos = end;
                    return Some(lx.error(
                        from,
                        "invalid #line directive".into(),
                        format!(
                            "too many file names in line directives (the limit is {})",
                            u16::MAX
                        ),
                    ));
                }
            }
            lx.set_next_line(line);
            lx.pos = end;
            None
        }
        Err((msg, offset)) => {
            let at = from + offset;
            lx.pos = end;
            let tok = lx.error(
                at,
                msg.into(),
                format!("{msg}: expected '# NUMBER \"FILE\"'"),
            );
            Some(tok)
        }
    }
}

/// The line number and optional file name of a line directive, or pycparser's error message and
/// the offset it points at.
fn parse_line_directive(text: &str) -> Result<(u32, Option<&str>), (&'static str, usize)> {
    let b = text.as_bytes();
    let skip_ws = |mut p: usize| {
        while p < b.len() && (b[p] == b' ' || b[p] == b'\t' || b[p] == b'\r') {
            p += 1;
        }
        p
    };
    let mut p = skip_ws(0);
    if p >= b.len() {
        return Err(("line number missing in #line", p));
    }
    if b[p] == b'"' {
        return Err(("filename before line number in #line", p));
    }
    let digits = b[p..].iter().take_while(|c| c.is_ascii_digit()).count();
    let number = text[p..p + digits]
        .parse::<u32>()
        .map_err(|_| ("invalid #line directive", p))?;
    p = skip_ws(p + digits);
    if p >= b.len() {
        return Ok((number, None));
    }
    if b[p] != b'"' {
        return Err(("invalid #line directive", p));
    }
    // The file name is taken verbatim between the quotes (no unescaping, as pycparser).
    let name_start = p + 1;
    let mut q = name_start;
    loop {
        match b.get(q) {
            None => return Err(("invalid #line directive", p)),
            Some(b'"') => break,
            Some(b'\\') if q + 1 < b.len() => q += 2,
            Some(_) => q += 1,
        }
    }
    let file = &text[name_start..q];
    p = q + 1;
    // Then any number of numeric flags.
    loop {
        p = skip_ws(p);
        if p >= b.len() {
            return Ok((number, Some(file)));
        }
        let n = b[p..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(("invalid #line directive", p));
        }
        p += n;
    }
}

/// `#define NAME body`, from just after `define`. None if there is no name (then it is an
/// unsupported directive, as upstream's regex does not match it either).
fn define(lx: &mut Lexer<'_>, from: usize) -> Option<()> {
    let b = lx.src.as_bytes();
    let mut p = from;
    let ws = p;
    while p < b.len() && matches!(b[p], b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c') {
        p += 1;
    }
    let name_start = p;
    if p == ws || p >= b.len() || !(b[p].is_ascii_alphabetic() || b[p] == b'_') {
        return None;
    }
    // Letters, digits and '_' (no '$' here, as in upstream's regex).
    p = run_end(b, p, &DEFINE_NAME_BYTES);
    let name = &lx.src[name_start..p];
    let span = lx.span_at(name_start);
    lx.pos = p;
    let body = define_body(lx);
    let value = trim(&body);
    let result = if value == "..." {
        Ok(DefineValue::Dotdotdot)
    } else {
        define_int(value).map(DefineValue::Int)
    };
    match result {
        Ok(value) => lx.out.defines.push(Decl::Define {
            name: Name::new(name),
            value,
            span,
        }),
        Err(too_large) if lx.out.define_error.is_none() => {
            let message = if too_large {
                format!("integer constant too large (it must fit in 128 bits):\n  #define {name} {value}")
            } else {
                format!(
                    "only supports one of the following syntax:\n  #define {name} ...     (literally \
                     dot-dot-dot)\n  #define {name} NUMBER  (with NUMBER an integer constant, \
                     decimal/hex/octal)\ngot:\n  #define {name} {value}"
                )
            };
            let line_start = span_line_start(lx.src, name_start);
            let line_end = lx.rest_of_line(name_start);
            lx.out.define_error = Some(CdefError {
                message,
                file: lx.out.files[span.file as usize].clone(),
                line: span.line,
                col: span.col,
                source_line: lx.src[line_start..line_end].to_string(),
                kind: ErrorKind::Plain,
            });
        }
        Err(_) => {}
    }
    Some(())
}

fn span_line_start(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1)
}

/// `s.trim()`, without decoding characters when both ends are ASCII (as nearly always).
fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    // `trim_ascii` leaves the vertical tab and non-ASCII whitespace, which `trim` removes.
    let plain = |c: &u8| c.is_ascii() && *c != b'\x0b';
    match (t.as_bytes().first(), t.as_bytes().last()) {
        (Some(a), Some(z)) if plain(a) && plain(z) => t,
        (None, None) => t,
        _ => s.trim(),
    }
}

/// The body of a `#define` up to the end of its (logical) line: comments become a space,
/// backslash-newlines disappear. Leaves the lexer at the end of the line.
fn define_body<'a>(lx: &mut Lexer<'a>) -> Cow<'a, str> {
    let b = lx.src.as_bytes();
    let start = lx.pos;
    // The common case, a plain value on one line, needs no copy-editing (nor a copy): found in
    // one pass that stops at the end of the line or at anything that needs care.
    let stop = run_end(b, start, &PLAIN_BODY_BYTES);
    if b.get(stop).is_none_or(|&c| c == b'\n') {
        lx.pos = stop;
        let src: &'a str = lx.src;
        return Cow::Borrowed(&src[start..stop]);
    }
    let mut out = String::new();
    let mut p = start;
    let mut seg = start;
    while p < b.len() {
        match b[p] {
            b'\n' => break,
            b'\\' if b.get(p + 1) == Some(&b'\n') => {
                out.push_str(&lx.src[seg..p]);
                lx.pos = p + 1;
                lx.continuation_newline();
                p += 2;
                seg = p;
            }
            b'\\' if p + 1 < b.len() => p += 2,
            b'/' if b.get(p + 1) == Some(&b'*') => {
                out.push_str(&lx.src[seg..p]);
                out.push(' ');
                let Some(close) = lx.src[p + 2..].find("*/") else {
                    // Unterminated: let the lexer report it.
                    lx.pos = p;
                    return Cow::Owned(out);
                };
                let close = p + 2 + close;
                // A comment spanning lines ends the define (upstream keeps its newlines).
                if b[p..close].contains(&b'\n') {
                    lx.pos = p;
                    return Cow::Owned(out);
                }
                p = close + 2;
                seg = p;
            }
            b'/' if b.get(p + 1) == Some(&b'/') => {
                out.push_str(&lx.src[seg..p]);
                lx.pos = p;
                return Cow::Owned(out);
            }
            _ => p += 1,
        }
    }
    // Stay on a char boundary even if a backslash preceded a multi-byte character.
    while p < b.len() && !lx.src.is_char_boundary(p) {
        p += 1;
    }
    let p = p.min(b.len());
    out.push_str(&lx.src[seg..p]);
    lx.pos = p;
    Cow::Owned(out)
}

/// The bytes a `#define` body can have without needing care: all but the newline that ends it
/// and the `/` and `\` that may start a comment or a continuation.
static PLAIN_BODY_BYTES: [bool; 256] = {
    let mut t = [true; 256];
    t[b'\n' as usize] = false;
    t[b'/' as usize] = false;
    t[b'\\' as usize] = false;
    t
};

/// An integer literal with an optional leading '-' (upstream's `-?0?x?[0-9a-f]+[lu]*`, but
/// strict: `08` or `abc` are refused instead of crashing). Err(true) when too large.
fn define_int(value: &str) -> Result<i128, bool> {
    let (neg, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let lower = digits.as_bytes();
    if !lower.first().is_some_and(u8::is_ascii_digit)
        || (lower.len() > 1 && matches!(lower[1], b'b' | b'B'))
    {
        return Err(false);
    }
    match literal::parse_int(digits) {
        Ok(v) => Ok(if neg { -v } else { v }),
        Err(LiteralError::TooLarge) => Err(true),
        Err(LiteralError::Invalid) => Err(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_as_str_trim() {
        for s in ["", " ", " 12 ", "\t0x1\r", "\x0b5\x0b", "\u{a0}7\u{2028}", " \u{a0}", "a b", "\x0b"] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn line_directives() {
        assert_eq!(
            parse_line_directive(" 42 \"foo.h\""),
            Ok((42, Some("foo.h")))
        );
        assert_eq!(parse_line_directive(" 42"), Ok((42, None)));
        assert_eq!(
            parse_line_directive(" 1 \"a\\\"b.h\" 1 3 4"),
            Ok((1, Some("a\\\"b.h")))
        );
        assert_eq!(
            parse_line_directive(""),
            Err(("line number missing in #line", 0))
        );
        assert_eq!(
            parse_line_directive(" \"f\" 3"),
            Err(("filename before line number in #line", 1))
        );
        assert_eq!(
            parse_line_directive(" x"),
            Err(("invalid #line directive", 1))
        );
        assert_eq!(
            parse_line_directive(" 4 \"f\" x"),
            Err(("invalid #line directive", 7))
        );
        assert_eq!(
            parse_line_directive(" 99999999999"),
            Err(("invalid #line directive", 1))
        );
    }

    #[test]
    fn define_values() {
        assert_eq!(define_int("42"), Ok(42));
        assert_eq!(define_int("-0x10"), Ok(-16));
        assert_eq!(define_int("010"), Ok(8));
        assert_eq!(define_int("5UL"), Ok(5));
        assert_eq!(define_int("0b1"), Err(false));
        assert_eq!(define_int("abc"), Err(false));
        assert_eq!(define_int("08"), Err(false));
        assert_eq!(define_int("- 5"), Err(false));
        assert_eq!(define_int(""), Err(false));
        assert_eq!(define_int("-"), Err(false));
        assert_eq!(define_int(&"9".repeat(60)), Err(true));
    }
}
