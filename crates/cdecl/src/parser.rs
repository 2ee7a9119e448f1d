//! The cdef parser: a hand-written recursive descent over the token vector. This file holds the
//! parser state, the error helpers and the top level (declarations, `extern "Python"`, struct
//! and enum bodies); specifiers, declarators and expressions live in their own files.

use std::collections::HashSet;

use crate::ast::*;
use crate::declarator::{Applied, NameMode};
use crate::error::{CdefError, ErrorKind, AT_END_OF_INPUT};
use crate::lexer::{self, Columns, Lexed, Token, T};

/// Errors are boxed: they are rare, and a small `Result` is cheaper to return from every step.
pub(crate) type PResult<T> = Result<T, Box<CdefError>>;

/// How deeply declarators, parameter lists, struct bodies and parentheses may nest.
pub(crate) const MAX_NESTING: u32 = 100;
/// How deep a type or expression tree may be (pointers, arrays, nested functions...).
pub(crate) const MAX_TREE_DEPTH: u32 = 200;

pub(crate) fn parse_cdef(source: &str) -> Result<Cdef, CdefError> {
    let Lexed {
        toks,
        files,
        defines,
        define_error,
        errors,
        ascii,
    } = lexer::lex(source)?;
    let mut p = Parser {
        src: source,
        toks,
        pos: 0,
        files,
        lex_errors: errors,
        depth: 0,
        typedefs: HashSet::new(),
        new_typedefs: Vec::new(),
        decls: defines,
        extern_python: ExternPython::No,
        guessed_type_name: None,
        columns: Columns::new(ascii),
        ops: Vec::new(),
    };
    p.translation_unit().map_err(|e| *e)?;
    // Upstream looks at the #defines only once everything else parsed.
    if let Some(err) = define_error {
        return Err(err);
    }
    Ok(Cdef {
        decls: p.decls,
        files: p.files,
    })
}

pub(crate) struct Parser<'a> {
    pub src: &'a str,
    pub toks: Vec<Token>,
    pub pos: usize,
    pub files: Vec<String>,
    lex_errors: Vec<(String, String)>,
    /// Current nesting, against [`MAX_NESTING`].
    pub depth: u32,
    /// Typedef names declared so far in this source: they help to read `(name)` right. Few
    /// declarations need to ask, so each typedef is only noted in `new_typedefs` (as its token's
    /// byte range) and the set is filled from there when asked (see [`Self::is_typedef`]).
    typedefs: HashSet<&'a str>,
    new_typedefs: Vec<(u32, u32)>,
    pub decls: Vec<Decl>,
    extern_python: ExternPython,
    /// An identifier of the current declaration that was taken as a type name without being
    /// declared in this source: named in syntax errors, as it may be the actual mistake.
    pub guessed_type_name: Option<Token>,
    columns: Columns,
    /// The operations of the declarators being read (see [`crate::declarator::Declarator`]).
    pub ops: Vec<crate::declarator::Op>,
}

impl<'a> Parser<'a> {
    // ---- tokens ----

    #[inline]
    pub fn peek(&self) -> T {
        self.toks[self.pos].kind
    }

    /// The kind of the token `n` places ahead (Eof past the end).
    #[inline]
    pub fn peek_at(&self, n: usize) -> T {
        self.toks.get(self.pos + n).map_or(T::Eof, |t| t.kind)
    }

    #[inline]
    pub fn tok(&self) -> Token {
        self.toks[self.pos]
    }

    /// Moves past the current token (never past Eof) and returns it.
    #[inline]
    pub fn bump(&mut self) -> Token {
        let t = self.toks[self.pos];
        if t.kind != T::Eof {
            self.pos += 1;
        }
        t
    }

    #[inline]
    pub fn eat(&mut self, kind: T) -> bool {
        if self.peek() == kind {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, kind: T, expected: &str) -> PResult<Token> {
        if self.peek() == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected(expected))
        }
    }

    #[inline]
    pub fn text(&self, t: Token) -> &'a str {
        &self.src[t.start as usize..t.end as usize]
    }

    pub fn span(&self, t: Token) -> Span {
        Span {
            file: t.file,
            line: t.line,
            col: self
                .columns
                .col(self.src, t.line_start as usize, t.start as usize),
        }
    }

    // ---- typedef names ----

    /// Was `name` declared as a typedef earlier in this source? Call
    /// [`Self::sync_typedefs`] first where this is asked repeatedly.
    pub fn is_typedef(&self, name: &str) -> bool {
        self.typedefs.contains(name)
            || self
                .new_typedefs
                .iter()
                .any(|&(start, end)| &self.src[start as usize..end as usize] == name)
    }

    /// Moves the typedefs noted since the last call into the set.
    pub fn sync_typedefs(&mut self) {
        let src = self.src;
        self.typedefs.extend(
            self.new_typedefs
                .drain(..)
                .map(|(start, end)| &src[start as usize..end as usize]),
        );
    }

    // ---- nesting ----

    /// Inlined (called for every declarator, parameter list and body); the error is not.
    #[inline]
    pub fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_NESTING {
            return Err(self.too_deep());
        }
        self.depth += 1;
        Ok(())
    }

    #[cold]
    fn too_deep(&self) -> Box<CdefError> {
        let t = self.tok();
        self.error_at(
            t,
            ErrorKind::Syntax {
                detail: self.detail(t),
            },
            format!("declarations nest too deeply (the limit is {MAX_NESTING} levels)"),
        )
    }

    pub fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- errors ----
    // (All cold: out of the way of the code that parses.)

    #[cold]
    pub fn error_at(&self, t: Token, kind: ErrorKind, message: String) -> Box<CdefError> {
        let line_start = t.line_start as usize;
        let line_end = self.src[line_start..]
            .find('\n')
            .map_or(self.src.len(), |i| line_start + i);
        Box::new(CdefError {
            message,
            file: self.files[t.file as usize].clone(),
            line: t.line,
            col: self.columns.col(self.src, line_start, t.start as usize),
            source_line: self.src[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
            kind,
        })
    }

    /// pycparser's wording for an error at token `t`: `before: <token>` & co.
    pub fn detail(&self, t: Token) -> String {
        match t.kind {
            T::Eof => AT_END_OF_INPUT.to_string(),
            T::Unknown => format!("Illegal character {}", py_repr_char(self.text(t))),
            T::LexError => self
                .lex_errors
                .first()
                .map_or_else(String::new, |e| e.0.clone()),
            _ => format!("before: {}", self.text(t)),
        }
    }

    /// How a token is named in our messages.
    pub fn describe(&self, t: Token) -> String {
        match t.kind {
            T::Eof => "end of input".to_string(),
            T::Unknown => format!("character {}", py_repr_char(self.text(t))),
            _ => format!("'{}'", self.text(t)),
        }
    }

    /// A syntax error at the current token: `unexpected X, expected <expected>`.
    #[cold]
    pub fn unexpected(&self, expected: &str) -> Box<CdefError> {
        let t = self.tok();
        if t.kind == T::LexError {
            let message = self
                .lex_errors
                .first()
                .map_or_else(String::new, |e| e.1.clone());
            return self.error_at(
                t,
                ErrorKind::Syntax {
                    detail: self.detail(t),
                },
                message,
            );
        }
        let mut message = format!("unexpected {}, expected {}", self.describe(t), expected);
        if let Some(g) = self.guessed_type_name {
            let name = self.text(g);
            if !self.is_typedef(name) && !crate::specifiers::is_predeclared(name) {
                message += &format!(" (note: '{name}' was read as a type name; is that right?)");
            }
        }
        self.error_at(
            t,
            ErrorKind::Syntax {
                detail: self.detail(t),
            },
            message,
        )
    }

    /// A syntax error at token `t` with our own message.
    #[cold]
    pub fn syntax_error(&self, t: Token, message: String) -> Box<CdefError> {
        self.error_at(
            t,
            ErrorKind::Syntax {
                detail: self.detail(t),
            },
            message,
        )
    }

    /// An error upstream words as `<file>:<line>: <message>`.
    #[cold]
    pub fn decl_error(&self, t: Token, message: String) -> Box<CdefError> {
        self.error_at(t, ErrorKind::Decl, message)
    }

    /// An FFIError upstream words as `:<line>: <message>`.
    #[cold]
    pub fn ffi_error(&self, t: Token, message: String) -> Box<CdefError> {
        self.error_at(t, ErrorKind::Ffi { with_line: true }, message)
    }

    // ---- top level ----

    fn translation_unit(&mut self) -> PResult<()> {
        loop {
            match self.peek() {
                T::Eof => return Ok(()),
                T::Semi => {
                    self.bump();
                }
                T::Extern if self.peek_at(1) == T::StrLit => self.extern_python()?,
                _ => self.declaration()?,
            }
        }
    }

    /// `extern "Python" <declaration>` or `extern "Python" { <declarations> }`.
    fn extern_python(&mut self) -> PResult<()> {
        self.bump(); // extern
        let s = self.tok();
        let inner: String = self
            .text(s)
            .trim_matches('"')
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mode = match inner.as_str() {
            "Python" => ExternPython::Python,
            "Python+C" | "C+Python" => ExternPython::PythonPlusC,
            _ => {
                return Err(self.syntax_error(
                    s,
                    format!(
                        "unexpected string {}: only extern \"Python\" and extern \"Python+C\" \
                         are supported in cdef()",
                        self.text(s)
                    ),
                ))
            }
        };
        if self.extern_python != ExternPython::No {
            return Err(self.syntax_error(s, "extern \"Python\" cannot be nested".into()));
        }
        self.bump();
        self.extern_python = mode;
        let result = if self.eat(T::LBrace) {
            self.extern_python_block()
        } else if self.peek() == T::Eof {
            Err(self.error_at(
                s,
                ErrorKind::Plain,
                "'extern \"Python\": no ';' found".into(),
            ))
        } else {
            self.declaration()
        };
        self.extern_python = ExternPython::No;
        result
    }

    fn extern_python_block(&mut self) -> PResult<()> {
        loop {
            match self.peek() {
                T::RBrace => {
                    self.bump();
                    return Ok(());
                }
                T::Eof => {
                    return Err(self.error_at(
                        self.tok(),
                        ErrorKind::Plain,
                        "'extern \"Python\" {': no '}' found".into(),
                    ))
                }
                T::Semi => {
                    self.bump();
                }
                T::Extern if self.peek_at(1) == T::StrLit => {
                    return Err(self.syntax_error(
                        self.toks[self.pos + 1],
                        "extern \"Python\" cannot be nested".into(),
                    ))
                }
                _ => self.declaration()?,
            }
        }
    }

    /// One declaration, up to and including its ';'.
    fn declaration(&mut self) -> PResult<()> {
        self.guessed_type_name = None;
        let mut specs = self.specifiers(crate::specifiers::Context::Global)?;
        if self.peek() == T::Semi {
            return self.declaration_without_declarators(specs);
        }
        loop {
            let is_typedef = specs.storage.is_typedef;
            // Most declarations have one declarator: then the base type moves instead of a copy.
            let last = |p: &Self, k| !matches!(p.peek_at(k), T::Comma | T::Assign);
            let (name_tok, applied) = match self.simple_declarator_len(NameMode::Required) {
                Some(len) => {
                    let last = last(self, len);
                    let (name, ty, _) = self.simple_declarator(&mut specs, last, len)?;
                    (name.expect("a required name"), Applied::Ty(ty))
                }
                None => {
                    let decl = self.declarator(NameMode::Required)?;
                    let name_tok = decl.name.expect("a required name");
                    let base = specs.base_for(last(self, 0));
                    let (applied, _) =
                        self.apply_declarator_to(base, &specs, decl, true, !is_typedef)?;
                    (name_tok, applied)
                }
            };
            let name = self.text(name_tok);
            if self.peek() == T::LBrace {
                return Err(self.decl_error(
                    name_tok,
                    "unexpected <FuncDef>: this construct is valid C but not valid in cdef()"
                        .into(),
                ));
            }
            let span = self.span(name_tok);
            let is_function = matches!(applied, Applied::Function(_));
            let decl = match applied {
                Applied::Function(sig) => {
                    if specs.dots != crate::specifiers::Dots::No {
                        return Err(self.ffi_error(name_tok, "bad usage of \"...\"".into()));
                    }
                    Decl::Function {
                        name: Name::new(name),
                        sig,
                        extern_python: self.extern_python,
                        span,
                    }
                }
                Applied::Ty(ty) => {
                    self.check_dotdotdot_base(&specs, &ty, is_typedef, name_tok)?;
                    if is_typedef {
                        self.new_typedefs.push((name_tok.start, name_tok.end));
                        Decl::Typedef {
                            name: Name::new(name),
                            ty,
                            span,
                        }
                    } else {
                        if self.extern_python != ExternPython::No {
                            return Err(self.decl_error(
                                name_tok,
                                "cannot declare constants or variables with 'extern \"Python\"'"
                                    .into(),
                            ));
                        }
                        match self.initializer()? {
                            Some(value) => Decl::IntConstant {
                                name: Name::new(name),
                                ty,
                                value,
                                span,
                            },
                            None => Decl::Variable {
                                name: Name::new(name),
                                ty,
                                span,
                                storage: specs.storage.has_class,
                            },
                        }
                    }
                }
            };
            self.decls.push(decl);
            match self.peek() {
                T::Comma => {
                    self.bump();
                }
                T::Semi => {
                    self.bump();
                    return Ok(());
                }
                _ => {
                    let what = if is_typedef || is_function {
                        "',' or ';'"
                    } else {
                        "',', ';' or '='"
                    };
                    return Err(
                        self.unexpected(&format!("{what} after the declarator of '{name}'"))
                    );
                }
            }
        }
    }

    /// `struct s { ... };`, `enum e;`... (even after a useless `typedef`, as upstream). A bare
    /// `int;` declares nothing: pycparser refuses it.
    fn declaration_without_declarators(&mut self, specs: crate::specifiers::Specs) -> PResult<()> {
        let tag = matches!(specs.base, BaseType::Record(_) | BaseType::Enum(_));
        if !tag {
            let t = self.toks[specs.type_tok];
            let what = if specs.storage.is_typedef {
                "a typedef"
            } else {
                "a declaration"
            };
            return Err(self.error_at(
                t,
                ErrorKind::Syntax {
                    detail: "Invalid declaration".into(),
                },
                format!("{what} without a name: expected a declarator before ';'"),
            ));
        }
        self.bump(); // ;
        let span = match &specs.base {
            BaseType::Record(r) => r.span,
            BaseType::Enum(e) => e.span,
            _ => Span::default(),
        };
        self.decls.push(Decl::Tag {
            base: specs.base,
            span,
        });
        Ok(())
    }

    /// After a variable's declarator: `= <integer literal>` gives its value; other initializers
    /// are skipped (upstream ignores them).
    fn initializer(&mut self) -> PResult<Option<i128>> {
        if !self.eat(T::Assign) {
            return Ok(None);
        }
        let neg = self.peek() == T::Minus;
        let n = neg as usize;
        if self.peek_at(n) == T::Number && matches!(self.peek_at(n + 1), T::Comma | T::Semi) {
            let t = self.toks[self.pos + n];
            if let Some(v) = self.int_literal_value(t)? {
                self.pos += n + 1;
                return Ok(Some(if neg { -v } else { v }));
            }
        }
        self.skip_initializer()?;
        Ok(None)
    }

    /// Skips tokens up to the ',' or ';' that ends an initializer, keeping brackets balanced.
    fn skip_initializer(&mut self) -> PResult<()> {
        if matches!(self.peek(), T::Comma | T::Semi) {
            return Err(self.unexpected("an initializer"));
        }
        let mut stack: Vec<T> = Vec::new();
        loop {
            let t = self.tok();
            match t.kind {
                T::Comma | T::Semi if stack.is_empty() => return Ok(()),
                T::LParen => stack.push(T::RParen),
                T::LBracket => stack.push(T::RBracket),
                T::LBrace => stack.push(T::RBrace),
                T::RParen | T::RBracket | T::RBrace => {
                    let open = stack.pop();
                    if open != Some(t.kind) {
                        return Err(self.unexpected("a balanced initializer"));
                    }
                }
                T::Eof | T::LexError | T::Unknown => {
                    return Err(self.unexpected("the end of the initializer"))
                }
                _ => {}
            }
            self.bump();
        }
    }

    // ---- struct, union and enum bodies ----

    /// The fields of a struct or union, from just after its '{' to just after its '}'.
    #[inline(never)]
    pub fn record_body(&mut self) -> PResult<RecordBody> {
        self.enter()?;
        let mut fields = Vec::new();
        let mut partial = false;
        loop {
            match self.peek() {
                T::RBrace => {
                    self.bump();
                    break;
                }
                T::Semi => {
                    self.bump();
                }
                T::Ellipsis => {
                    self.bump();
                    self.expect(T::Semi, "';' after '...' in a struct or union")?;
                    partial = true;
                }
                _ => self.field_declaration(&mut fields)?,
            }
        }
        self.leave();
        Ok(RecordBody { fields, partial })
    }

    fn field_declaration(&mut self, fields: &mut Vec<Field>) -> PResult<()> {
        let mut specs = self.specifiers(crate::specifiers::Context::Field)?;
        let start = self.toks[specs.type_tok];
        if self.peek() == T::Semi {
            // An anonymous struct or union member (or a nested definition, which upstream also
            // makes an unnamed field).
            if !matches!(specs.base, BaseType::Record(_) | BaseType::Enum(_)) {
                return Err(self.ffi_error(start, "bad or unsupported type declaration".into()));
            }
            self.bump();
            let ty = Ty::Base {
                base: specs.base,
                quals: specs.quals,
            };
            fields.push(Field {
                name: None,
                ty,
                bits: None,
                span: self.span(start),
            });
            return Ok(());
        }
        loop {
            let (name, ty, span) = if self.peek() == T::Colon {
                let ty = Ty::Base {
                    base: specs.base.clone(),
                    quals: specs.quals,
                };
                (None, ty, self.span(self.tok()))
            } else {
                // The last declarator takes the base type instead of a copy (a ',' follows any
                // other, perhaps after a ':' and its width).
                let last = |p: &Self, k| !matches!(p.peek_at(k), T::Comma | T::Colon);
                let (name_tok, ty) = match self.simple_declarator_len(NameMode::Required) {
                    Some(len) => {
                        let last = last(self, len);
                        let (name, ty, _) = self.simple_declarator(&mut specs, last, len)?;
                        (name.expect("a required name"), ty)
                    }
                    None => {
                        let decl = self.declarator(NameMode::Required)?;
                        let name_tok = decl.name.expect("a required name");
                        let base = specs.base_for(last(self, 0));
                        (name_tok, self.apply_declarator(base, &specs, decl, true)?)
                    }
                };
                self.check_dotdotdot_base(&specs, &ty, false, name_tok)?;
                (
                    Some(Name::new(self.text(name_tok))),
                    ty,
                    self.span(name_tok),
                )
            };
            let bits = if self.eat(T::Colon) {
                Some(self.constant_expr()?)
            } else {
                None
            };
            fields.push(Field {
                name,
                ty,
                bits,
                span,
            });
            match self.peek() {
                T::Comma => {
                    self.bump();
                }
                T::Semi => {
                    self.bump();
                    return Ok(());
                }
                _ => return Err(self.unexpected("',' or ';' after a field")),
            }
        }
    }

    /// The enumerators, from just after '{' to just after '}'.
    pub fn enum_body(&mut self) -> PResult<EnumBody> {
        let mut items = Vec::new();
        let mut partial = false;
        loop {
            let t = self.tok();
            match t.kind {
                T::Ident => {
                    self.bump();
                    let value = if self.eat(T::Assign) {
                        if self.eat(T::Ellipsis) {
                            partial = true;
                            None
                        } else {
                            Some(self.constant_expr()?)
                        }
                    } else {
                        None
                    };
                    items.push(Enumerator {
                        name: Name::new(self.text(t)),
                        value,
                        span: self.span(t),
                    });
                    if self.eat(T::Comma) {
                        if self.eat(T::RBrace) {
                            break;
                        }
                        continue;
                    }
                    self.expect(T::RBrace, "',' or '}' after an enumerator")?;
                    break;
                }
                T::Ellipsis if !items.is_empty() => {
                    self.bump();
                    partial = true;
                    self.expect(T::RBrace, "'}': '...' must be the last item of an enum")?;
                    break;
                }
                _ => return Err(self.unexpected("an enumerator name")),
            }
        }
        Ok(EnumBody { items, partial })
    }

    /// The value of an integer literal token; None if it is a floating-point literal.
    pub fn int_literal_value(&self, t: Token) -> PResult<Option<i128>> {
        let text = self.text(t);
        match crate::literal::parse_int(text) {
            Ok(v) => Ok(Some(v)),
            Err(_) if looks_like_float(text) => Ok(None),
            Err(crate::literal::LiteralError::TooLarge) => {
                Err(self.syntax_error(t, format!("integer constant too large: {text}")))
            }
            Err(crate::literal::LiteralError::Invalid) => {
                Err(self.syntax_error(t, format!("invalid integer constant: {text}")))
            }
        }
    }
}

fn looks_like_float(text: &str) -> bool {
    let hex = text.len() > 1 && matches!(&text[..2], "0x" | "0X");
    text.contains('.') || (!hex && text.contains(['e', 'E'])) || (hex && text.contains(['p', 'P']))
}

/// A character as Python's `repr()` shows it, for pycparser's "Illegal character" message.
fn py_repr_char(s: &str) -> String {
    let c = s.chars().next().unwrap_or('?');
    match c {
        '\'' => "\"'\"".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\t' => "'\\t'".to_string(),
        '\r' => "'\\r'".to_string(),
        '\n' => "'\\n'".to_string(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("'\\x{:02x}'", c as u32),
        c if (0x80..0xa0).contains(&(c as u32)) => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}
