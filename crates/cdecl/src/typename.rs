//! Type names as the runtime API takes them (`ffi.typeof("int(*)(long)")`). This follows the
//! grammar of upstream's `parse_c_type.c` exactly (what it accepts, its error messages and the
//! byte positions they point at), but builds a [`Ty`]; names are resolved by the caller.
//! Spans in the result have line 1 and `col` = byte offset + 1.

use crate::ast::*;
use crate::error::TypeNameError;

/// Upstream's output buffer size for `ffi.typeof()` & co: each pointer, array, function (plus
/// one slot per argument and one more) and base type takes one "opcode" (arrays with a length
/// two); beyond that, "internal type complexity limit reached".
pub const COMPLEXITY_LIMIT: usize = 1200;

type R<T> = Result<T, TypeNameError>;

pub(crate) fn parse_type_name(text: &str) -> R<Ty> {
    // Upstream reads a NUL-terminated C string.
    let input = &text.as_bytes()[..text.find('\0').unwrap_or(text.len())];
    let mut tok = Tokenizer {
        input,
        p: 0,
        size: 0,
        kind: K::End,
        written: 0,
        commas: None,
    };
    tok.next();
    let ty = tok.complete()?;
    if tok.kind != K::End {
        return Err(tok.error("unexpected symbol"));
    }
    Ok(ty)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum K {
    /// Any other single byte, e.g. `*`, `(`, `]`, `~`, or a byte of a non-ASCII character.
    Byte(u8),
    End,
    Ident,
    Integer,
    Dotdotdot,
    Bool,
    Char,
    Complex,
    Const,
    Double,
    Enum,
    Float,
    Int,
    Long,
    Short,
    Signed,
    Struct,
    Union,
    Unsigned,
    Void,
    Volatile,
    Cdecl,
    Stdcall,
}

const STAR: K = K::Byte(b'*');
const LPAREN: K = K::Byte(b'(');
const RPAREN: K = K::Byte(b')');
const LBRACKET: K = K::Byte(b'[');
const RBRACKET: K = K::Byte(b']');
const COMMA: K = K::Byte(b',');

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\x0c' | b'\n' | b'\r' | b'\t' | b'\x0b')
}

fn is_ident_first(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$'
}

fn is_ident_next(c: u8) -> bool {
    is_ident_first(c) || c.is_ascii_digit()
}

struct Tokenizer<'a> {
    input: &'a [u8],
    /// The current token is `input[p..p + size]`.
    p: usize,
    size: usize,
    kind: K,
    /// Opcodes upstream would have written so far.
    written: usize,
    /// For each '(' position, the commas directly inside its parentheses (computed on demand).
    commas: Option<Vec<u32>>,
}

/// Type operations in the order they apply to the base type.
enum Op {
    Pointer(Quals),
    Array(ArrayLen),
    Function(Vec<Param>, bool, CallConv),
}

impl<'a> Tokenizer<'a> {
    fn at(&self, i: usize) -> u8 {
        self.input.get(i).copied().unwrap_or(0)
    }

    fn next(&mut self) {
        let mut p = self.p + self.size;
        while !is_ident_first(self.at(p)) {
            let c = self.at(p);
            if is_space(c) {
                p += 1;
            } else if c.is_ascii_digit() {
                let mut size = 1;
                if matches!(self.at(p + 1), b'x' | b'X') {
                    size = 2;
                }
                while self.at(p + size).is_ascii_hexdigit() {
                    size += 1;
                }
                return self.set(K::Integer, p, size);
            } else if c == b'.' && self.at(p + 1) == b'.' && self.at(p + 2) == b'.' {
                return self.set(K::Dotdotdot, p, 3);
            } else if c != 0 {
                return self.set(K::Byte(c), p, 1);
            } else {
                return self.set(K::End, p, 0);
            }
        }
        let mut size = 1;
        while is_ident_next(self.at(p + size)) {
            size += 1;
        }
        let kind = match &self.input[p..p + size] {
            b"_Bool" => K::Bool,
            b"__cdecl" => K::Cdecl,
            b"__stdcall" => K::Stdcall,
            b"_Complex" => K::Complex,
            b"char" => K::Char,
            b"const" => K::Const,
            b"double" => K::Double,
            b"enum" => K::Enum,
            b"float" => K::Float,
            b"int" => K::Int,
            b"long" => K::Long,
            b"short" => K::Short,
            b"signed" => K::Signed,
            b"struct" => K::Struct,
            b"union" => K::Union,
            b"unsigned" => K::Unsigned,
            b"void" => K::Void,
            b"volatile" => K::Volatile,
            _ => K::Ident,
        };
        self.set(kind, p, size)
    }

    fn set(&mut self, kind: K, p: usize, size: usize) {
        self.kind = kind;
        self.p = p;
        self.size = size;
    }

    fn text(&self) -> &'a str {
        // Identifiers and integers are ASCII, so this is on char boundaries.
        std::str::from_utf8(&self.input[self.p..self.p + self.size]).unwrap_or("")
    }

    fn span(&self) -> Span {
        Span {
            file: 0,
            line: 1,
            col: (self.p as u32).saturating_add(1),
        }
    }

    fn error(&self, message: &'static str) -> TypeNameError {
        TypeNameError {
            message,
            pos: self.p,
        }
    }

    /// Counts one opcode of upstream's output.
    fn write(&mut self) -> R<()> {
        if self.written >= COMPLEXITY_LIMIT {
            return Err(self.error("internal type complexity limit reached"));
        }
        self.written += 1;
        Ok(())
    }

    /// The first non-space byte after the current token.
    fn following_char(&self) -> u8 {
        let mut p = self.p + self.size;
        while is_space(self.at(p)) {
            p += 1;
        }
        self.at(p)
    }

    /// Commas directly inside the parentheses opened at `open` (upstream's over-estimate of the
    /// number of arguments, which counts against the complexity limit).
    fn commas_after(&mut self, open: usize) -> usize {
        let input = self.input;
        let counts = self.commas.get_or_insert_with(|| {
            let mut counts = vec![0u32; input.len()];
            let mut stack: Vec<usize> = Vec::new();
            for (i, &c) in input.iter().enumerate() {
                match c {
                    b'(' => stack.push(i),
                    b')' => {
                        stack.pop();
                    }
                    b',' => {
                        if let Some(&o) = stack.last() {
                            counts[o] += 1;
                        }
                    }
                    _ => {}
                }
            }
            counts
        });
        counts.get(open).copied().unwrap_or(0) as usize
    }

    /// A complete type: qualifiers, base type, then the sequel (`*`, `[]`, `()`).
    fn complete(&mut self) -> R<Ty> {
        let mut quals = Quals::default();
        loop {
            match self.kind {
                K::Const => quals.is_const = true,
                K::Volatile => quals.is_volatile = true,
                _ => break,
            }
            self.next();
        }
        let mut length = 0i32; // -1 short, 1 long, 2 long long; -2 char (with a sign)
        let mut sign = 0i32; // 1 signed, -1 unsigned
        loop {
            match self.kind {
                K::Short => {
                    if length != 0 {
                        return Err(self.error("'short' after another 'short' or 'long'"));
                    }
                    length -= 1;
                }
                K::Long => {
                    if length < 0 {
                        return Err(self.error("'long' after 'short'"));
                    }
                    if length >= 2 {
                        return Err(self.error("'long long long' is too long"));
                    }
                    length += 1;
                }
                K::Signed | K::Unsigned => {
                    if sign != 0 {
                        return Err(self.error("multiple 'signed' or 'unsigned'"));
                    }
                    sign = if self.kind == K::Signed { 1 } else { -1 };
                }
                _ => break,
            }
            self.next();
        }
        let mut complex: Option<&'static str> = None;
        let base = if length != 0 || sign != 0 {
            match self.kind {
                K::Void | K::Bool | K::Float | K::Struct | K::Union | K::Enum | K::Complex => {
                    return Err(self.error("invalid combination of types"))
                }
                K::Double => {
                    if sign != 0 || length != 1 {
                        return Err(self.error("invalid combination of types"));
                    }
                    self.next();
                    BaseType::Primitive("long double")
                }
                kind => {
                    if kind == K::Char {
                        if length != 0 {
                            return Err(self.error("invalid combination of types"));
                        }
                        length = -2;
                    }
                    if kind == K::Char || kind == K::Int {
                        self.next();
                    }
                    BaseType::Primitive(match (sign >= 0, length) {
                        (true, -2) => "signed char",
                        (true, -1) => "short",
                        (true, 1) => "long",
                        (true, 2) => "long long",
                        (true, _) => "int",
                        (false, -2) => "unsigned char",
                        (false, -1) => "unsigned short",
                        (false, 1) => "unsigned long",
                        (false, 2) => "unsigned long long",
                        (false, _) => "unsigned int",
                    })
                }
            }
        } else {
            let base = match self.kind {
                K::Int => BaseType::Primitive("int"),
                K::Char => BaseType::Primitive("char"),
                K::Void => BaseType::Void,
                K::Bool => BaseType::Primitive("_Bool"),
                K::Float => {
                    complex = Some("float _Complex");
                    BaseType::Primitive("float")
                }
                K::Double => {
                    complex = Some("double _Complex");
                    BaseType::Primitive("double")
                }
                K::Ident => match self.text() {
                    "bool" => BaseType::Primitive("_Bool"),
                    "_cffi_float_complex_t" => BaseType::Primitive("float _Complex"),
                    "_cffi_double_complex_t" => BaseType::Primitive("double _Complex"),
                    name => BaseType::Name(Name::new(name)),
                },
                K::Struct | K::Union => {
                    let kind = if self.kind == K::Struct {
                        RecordKind::Struct
                    } else {
                        RecordKind::Union
                    };
                    let span = self.span();
                    self.next();
                    if self.kind != K::Ident {
                        return Err(self.error("struct or union name expected"));
                    }
                    BaseType::Record(Record {
                        kind,
                        tag: Some(Name::new(self.text())),
                        body: None,
                        span,
                    })
                }
                K::Enum => {
                    let span = self.span();
                    self.next();
                    if self.kind != K::Ident {
                        return Err(self.error("enum name expected"));
                    }
                    BaseType::Enum(Enum {
                        tag: Some(Name::new(self.text())),
                        body: None,
                        span,
                    })
                }
                _ => return Err(self.error("identifier expected")),
            };
            self.next();
            base
        };
        let base = if self.kind == K::Complex {
            let Some(name) = complex else {
                return Err(self.error("_Complex type combination unsupported"));
            };
            self.next();
            BaseType::Primitive(name)
        } else {
            base
        };
        self.write()?; // the base type
        let mut ty = Ty::Base { base, quals };
        let ops = self.sequel(&mut ty)?;
        for op in ops {
            ty = match op {
                Op::Pointer(quals) => Ty::Pointer {
                    to: Box::new(ty),
                    quals,
                },
                Op::Array(len) => Ty::Array {
                    of: Box::new(ty),
                    len,
                },
                Op::Function(params, variadic, callconv) => Ty::Function(Box::new(FuncSig {
                    result: ty,
                    params,
                    variadic,
                    callconv,
                })),
            };
        }
        Ok(ty)
    }

    /// What follows the base type: pointers, an optional name, parentheses (grouping or
    /// parameters), then array suffixes. Returns the operations in the order they apply.
    /// Qualifiers before any `*` qualify `base` (only the outermost call has one).
    fn sequel(&mut self, base: &mut Ty) -> R<Vec<Op>> {
        let mut ops = Vec::new();
        let mut abi: Option<CallConv> = None;
        loop {
            match self.kind {
                STAR => {
                    self.write()?;
                    ops.push(Op::Pointer(Quals::default()));
                }
                K::Const | K::Volatile => {
                    let quals = match ops.last_mut() {
                        Some(Op::Pointer(q)) => q,
                        _ => match base {
                            Ty::Base { quals, .. } => quals,
                            _ => {
                                self.next();
                                continue;
                            }
                        },
                    };
                    if self.kind == K::Const {
                        quals.is_const = true;
                    } else {
                        quals.is_volatile = true;
                    }
                }
                K::Cdecl => abi = Some(CallConv::Cdecl),
                K::Stdcall => abi = Some(CallConv::Stdcall),
                _ => break,
            }
            self.next();
        }
        let mut check_for_grouping = true;
        if self.kind == K::Ident {
            self.next(); // a name, ignored
            check_for_grouping = false;
        }
        let mut suffixes = Vec::new();
        let mut inner = Vec::new();
        while self.kind == LPAREN {
            let open = self.p;
            self.next();
            if let K::Cdecl | K::Stdcall = self.kind {
                abi = Some(if self.kind == K::Cdecl {
                    CallConv::Cdecl
                } else {
                    CallConv::Stdcall
                });
                self.next();
            }
            let grouping =
                check_for_grouping && matches!(self.kind, STAR | K::Const | K::Volatile | LBRACKET);
            check_for_grouping = false;
            if grouping {
                self.write()?; // upstream's NOOP
                let mut no_base = Ty::Base {
                    base: BaseType::Void,
                    quals: Quals::default(),
                };
                inner = self.sequel(&mut no_base)?;
            } else {
                let callconv = abi.take().unwrap_or_default();
                if self.kind == K::Void && self.following_char() == b')' {
                    self.next();
                }
                let arg_total = self.commas_after(open) + 1;
                self.write()?; // FUNCTION
                for _ in 0..=arg_total {
                    self.write()?; // argument slots and FUNCTION_END
                }
                let mut params = Vec::new();
                let mut variadic = false;
                if self.kind != RPAREN {
                    loop {
                        if self.kind == K::Dotdotdot {
                            variadic = true;
                            self.next();
                            break;
                        }
                        params.push(Param {
                            name: None,
                            ty: self.complete()?,
                        });
                        if self.kind != COMMA {
                            break;
                        }
                        self.next();
                    }
                }
                suffixes.push(Op::Function(params, variadic, callconv));
            }
            if self.kind != RPAREN {
                return Err(self.error("expected ')'"));
            }
            self.next();
        }
        if abi.is_some() {
            return Err(self.error("expected '('"));
        }
        while self.kind == LBRACKET {
            self.next();
            let len = if self.kind != RBRACKET {
                let len = match self.kind {
                    K::Integer => ArrayLen::Expr(Expr::Int(self.integer()?)),
                    K::Ident => ArrayLen::Expr(Expr::Name(Name::new(self.text()), self.span())),
                    _ => return Err(self.error("expected a positive integer constant")),
                };
                self.next();
                self.write()?; // ARRAY
                self.write()?; // its length
                len
            } else {
                self.write()?; // OPEN_ARRAY
                ArrayLen::Unspecified
            };
            suffixes.push(Op::Array(len));
            if self.kind != RBRACKET {
                return Err(self.error("expected ']'"));
            }
            self.next();
        }
        ops.extend(suffixes.into_iter().rev());
        ops.extend(inner);
        Ok(ops)
    }

    /// An integer token read like C's `strtoull(p, &end, 0)`: it must use the whole token and
    /// fit in a signed size_t.
    fn integer(&self) -> R<i128> {
        let s = &self.input[self.p..self.p + self.size];
        let (radix, digits) = if s.len() >= 2 && s[0] == b'0' && matches!(s[1], b'x' | b'X') {
            (16, &s[2..])
        } else if s[0] == b'0' {
            (8, &s[1..])
        } else {
            (10, s)
        };
        // strtoull stops at the first bad digit; "0x" alone reads as 0 followed by "x".
        if (radix == 16 && digits.is_empty())
            || !digits.iter().all(|c| (*c as char).is_digit(radix))
        {
            return Err(self.error("invalid number"));
        }
        let mut value: u128 = 0;
        for &c in digits {
            value = value * radix as u128 + (c as char).to_digit(radix).unwrap_or(0) as u128;
            if value > i64::MAX as u128 {
                return Err(self.error("number too large"));
            }
        }
        Ok(value as i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> (&'static str, usize) {
        let e = parse_type_name(input).unwrap_err();
        (e.message, e.pos)
    }

    #[test]
    fn upstream_error_positions() {
        assert_eq!(
            err("short short int"),
            ("'short' after another 'short' or 'long'", 6)
        );
        assert_eq!(err("long long long"), ("'long long long' is too long", 10));
        assert_eq!(err(""), ("identifier expected", 0));
        assert_eq!(err("int ]**"), ("unexpected symbol", 4));
        assert_eq!(err("int(int]"), ("expected ')'", 7));
        assert_eq!(err("int[24)"), ("expected ']'", 6));
        assert_eq!(err("char[08]"), ("invalid number", 5));
        assert_eq!(err("int __stdcall"), ("expected '('", 13));
    }

    #[test]
    fn complexity_limit() {
        let input = format!("int{}", "[]".repeat(2500));
        assert_eq!(
            err(&input),
            ("internal type complexity limit reached", 3 + 1199 * 2 + 1)
        );
    }

    #[test]
    fn integers_like_strtoull() {
        let len = |s: &str| match parse_type_name(s).unwrap() {
            Ty::Array {
                len: ArrayLen::Expr(Expr::Int(n)),
                ..
            } => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(len("char[0x10]"), 16);
        assert_eq!(len("char[010]"), 8);
        assert_eq!(len("char[0]"), 0);
        assert_eq!(len(&format!("char[{}]", i64::MAX)), i64::MAX as i128);
        assert_eq!(
            err(&format!("char[{}]", i64::MAX as u64 + 1)),
            ("number too large", 5)
        );
        assert_eq!(err("char[0x]"), ("invalid number", 5));
    }
}
