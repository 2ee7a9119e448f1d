//! Declaration specifiers: storage classes, qualifiers, calling conventions and the base type
//! (keyword primitives canonicalised to upstream's names, typedef names, struct/union/enum, and
//! the `int...` / `double...` / `...` forms of typedefs).

use crate::ast::*;
use crate::error::ErrorKind;
use crate::lexer::T;
use crate::parser::{PResult, Parser};

/// Where the specifiers appear: storage classes are only valid for globals.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Global,
    Field,
    Param,
    /// A type name in an expression: `sizeof(T)`, `(T)x`.
    TypeName,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Storage {
    pub is_typedef: bool,
    /// `extern` or `static` was written.
    pub has_class: bool,
}

/// Which `...` form the base type came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dots {
    No,
    /// `typedef int... t;` and friends.
    Int,
    /// `typedef double... t;` / `float...`.
    Float,
    /// `typedef ... t;`
    Opaque,
}

pub(crate) struct Specs {
    pub base: BaseType,
    pub quals: Quals,
    pub storage: Storage,
    /// From `__stdcall`/`WINAPI`/`__cdecl` among the specifiers.
    pub callconv: Option<CallConv>,
    pub dots: Dots,
    /// Index of the first token of the type (for error positions).
    pub type_tok: usize,
}

impl Specs {
    /// The base type for a declarator: the last of a declaration takes it, the others a copy.
    #[inline]
    pub fn base_for(&mut self, last: bool) -> BaseType {
        if last {
            std::mem::replace(&mut self.base, BaseType::Void)
        } else {
            self.base.clone()
        }
    }
}

/// Up to this many primitive keywords (`unsigned long long int` is 4).
const MAX_WORDS: usize = 8;

impl<'a> Parser<'a> {
    pub(crate) fn specifiers(&mut self, ctx: Context) -> PResult<Specs> {
        let first = self.pos;
        // The qualifiers and storage classes as bits: one value for the loop to carry.
        const CONST: u8 = 1;
        const VOLATILE: u8 = 2;
        const RESTRICT: u8 = 4;
        const TYPEDEF: u8 = 8;
        const CLASS: u8 = 16;
        let mut flags = 0u8;
        let mut callconv = None;
        // The type keywords so far, as a [`WordKey`], and how many.
        let mut words: WordKey = 0;
        let mut nwords = 0;
        // A struct, union or enum, or else the token of a typedef name, if written; the base
        // type of a name is made once the loop is done.
        let mut tag: Option<BaseType> = None;
        let mut name_at = None;
        let mut dots = Dots::No;
        let mut type_tok = None;
        loop {
            let kind = self.peek();
            let no_base = tag.is_none() && name_at.is_none();
            match kind {
                T::Typedef | T::Extern | T::Static => {
                    if ctx != Context::Global {
                        return Err(self.unexpected(
                            "a type (storage classes are only valid at the top level)",
                        ));
                    }
                    flags |= if kind == T::Typedef { TYPEDEF } else { CLASS };
                }
                T::IgnoredSpec => {}
                T::Const => flags |= CONST,
                T::Volatile => flags |= VOLATILE,
                T::Restrict => flags |= RESTRICT,
                T::Stdcall => callconv = Some(CallConv::Stdcall),
                T::Cdecl => callconv = callconv.or(Some(CallConv::Cdecl)),
                k if is_type_word(k) => {
                    if !no_base || dots != Dots::No {
                        return Err(self.unexpected("a declarator (the type is already complete)"));
                    }
                    if nwords == MAX_WORDS {
                        return Err(self.unsupported_type(first, self.tok()));
                    }
                    words += word_key(k);
                    nwords += 1;
                    type_tok.get_or_insert(self.pos);
                }
                T::Struct | T::Union | T::Enum => {
                    if !no_base || nwords > 0 || dots != Dots::No {
                        return Err(self.unexpected("a declarator (the type is already complete)"));
                    }
                    type_tok.get_or_insert(self.pos);
                    tag = Some(self.tag_specifier()?);
                    continue; // already past it
                }
                T::Ident if no_base && nwords == 0 && dots == Dots::No => {
                    // A typedef name: only where no type was given yet (else it is the name
                    // being declared, as in `typedef int bool;`). Checked against the known
                    // names only if there is an error to explain.
                    self.guessed_type_name.get_or_insert(self.tok());
                    name_at = Some(self.pos);
                    type_tok.get_or_insert(self.pos);
                }
                T::Ellipsis if no_base && dots == Dots::No => {
                    dots = dots_kind(words)
                        .ok_or_else(|| self.ffi_error(self.tok(), "bad usage of \"...\"".into()))?;
                    type_tok.get_or_insert(self.pos);
                }
                _ => break,
            }
            // (Never past the end: Eof ends the loop above.)
            self.pos += 1;
        }
        let type_tok = match type_tok {
            Some(i) => i,
            None => {
                return Err(self.unexpected("a type (e.g. 'int', a typedef name or 'struct ...')"))
            }
        };
        let base = match (dots, tag, name_at) {
            (Dots::Int, ..) => BaseType::UnknownInt,
            (Dots::Float, ..) => BaseType::UnknownFloat,
            (Dots::Opaque, ..) => BaseType::Opaque,
            (Dots::No, Some(tag), _) => tag,
            (Dots::No, None, Some(at)) => match self.text(self.toks[at]) {
                "bool" => BaseType::Primitive("_Bool"),
                name => BaseType::Name(Name::new(name)),
            },
            (Dots::No, None, None) => {
                match common_primitive(words).or_else(|| primitive_of_key(words, nwords)) {
                    Some(base) => base,
                    None => return Err(self.unsupported_type(type_tok, self.toks[type_tok])),
                }
            }
        };
        let quals = Quals {
            is_const: flags & CONST != 0,
            is_volatile: flags & VOLATILE != 0,
            is_restrict: flags & RESTRICT != 0,
        };
        let storage = Storage {
            is_typedef: flags & TYPEDEF != 0,
            has_class: flags & CLASS != 0,
        };
        Ok(Specs {
            base,
            quals,
            storage,
            callconv,
            dots,
            type_tok,
        })
    }

    /// Upstream's FFIError for keyword combinations that make no type (`short char`).
    #[cold]
    fn unsupported_type(&self, from: usize, at: crate::lexer::Token) -> Box<crate::error::CdefError> {
        let words: Vec<&str> = self.toks[from..]
            .iter()
            .take_while(|t| {
                is_type_word(t.kind) || matches!(t.kind, T::Const | T::Volatile | T::Restrict)
            })
            .filter(|t| is_type_word(t.kind))
            .map(|t| self.text(*t))
            .collect();
        self.error_at(
            at,
            ErrorKind::Ffi { with_line: false },
            format!(
                "Unsupported type: '{}'.  Please look at \
                 http://cffi.readthedocs.io/en/latest/cdef.html#ffi-cdef-limitations and file an \
                 issue if you think this type should really be supported.",
                words.join(" ")
            ),
        )
    }

    /// `struct/union/enum [tag] [{ body }]`, from the keyword to just after the tag or body.
    fn tag_specifier(&mut self) -> PResult<BaseType> {
        let kw = self.bump();
        let span = self.span(kw);
        let tag = if self.peek() == T::Ident {
            let t = self.bump();
            Some(Name::new(self.text(t)))
        } else {
            None
        };
        let has_body = self.eat(T::LBrace);
        if tag.is_none() && !has_body {
            let what = if kw.kind == T::Enum {
                "enum name"
            } else {
                "struct or union name"
            };
            return Err(self.unexpected(&format!("a {what} or '{{'")));
        }
        Ok(if kw.kind == T::Enum {
            let body = if has_body {
                Some(std::sync::Arc::new(self.enum_body()?))
            } else {
                None
            };
            BaseType::Enum(Enum { tag, body, span })
        } else {
            let kind = if kw.kind == T::Struct {
                RecordKind::Struct
            } else {
                RecordKind::Union
            };
            let body = if has_body {
                Some(std::sync::Arc::new(self.record_body()?))
            } else {
                None
            };
            BaseType::Record(Record {
                kind,
                tag,
                body,
                span,
            })
        })
    }

    /// Is the token at `n` places ahead the start of a type name? Typedef names count only if we
    /// know them (declared earlier in this source, or predeclared).
    pub(crate) fn starts_type_name(&mut self, n: usize) -> bool {
        match self.peek_at(n) {
            t if is_type_word(t) => true,
            T::Struct | T::Union | T::Enum | T::Const | T::Volatile | T::Restrict => true,
            T::Ident => {
                let name = self.text(self.toks[self.pos + n]);
                self.sync_typedefs();
                self.is_typedef(name) || is_predeclared(name)
            }
            _ => false,
        }
    }
}

fn is_type_word(t: T) -> bool {
    matches!(
        t,
        T::Void
            | T::Char
            | T::Short
            | T::Int
            | T::Long
            | T::Float
            | T::Double
            | T::Signed
            | T::Unsigned
            | T::Bool
            | T::Complex
    )
}

/// A set of type keywords with their counts, in any order: each keyword counts in its own 4-bit
/// field ([`MAX_WORDS`] keywords cannot overflow one). Summing keys as the keywords come and
/// matching the sum is cheaper than sorting out a list of keywords afterwards.
type WordKey = u64;

// The fields, by shift.
const VOID: u32 = 0;
const BOOL: u32 = 4;
const CHAR: u32 = 8;
const SHORT: u32 = 12;
const INT: u32 = 16;
const LONG: u32 = 20;
const FLOAT: u32 = 24;
const DOUBLE: u32 = 28;
const SIGNED: u32 = 32;
const UNSIGNED: u32 = 36;
const COMPLEX: u32 = 40;

/// The key of one type keyword (0 for other tokens, which [`is_type_word`] excludes).
fn word_key(t: T) -> WordKey {
    let shift = match t {
        T::Void => VOID,
        T::Bool => BOOL,
        T::Char => CHAR,
        T::Short => SHORT,
        T::Int => INT,
        T::Long => LONG,
        T::Float => FLOAT,
        T::Double => DOUBLE,
        T::Signed => SIGNED,
        T::Unsigned => UNSIGNED,
        T::Complex => COMPLEX,
        _ => return 0,
    };
    1 << shift
}

/// How many times the keyword at `shift` is in `key`.
fn count(key: WordKey, shift: u32) -> u8 {
    ((key >> shift) & 0xf) as u8
}

/// Which `...` form `words ...` is: integer keywords give `int...`, `float`/`double` give
/// `double...`, nothing gives `...`.
fn dots_kind(words: WordKey) -> Option<Dots> {
    const NOT_INT: WordKey =
        (0xf << VOID) | (0xf << BOOL) | (0xf << FLOAT) | (0xf << DOUBLE) | (0xf << COMPLEX);
    if words == 0 {
        return Some(Dots::Opaque);
    }
    if words & NOT_INT == 0 {
        return Some(Dots::Int);
    }
    if words == 1 << FLOAT || words == 1 << DOUBLE {
        return Some(Dots::Float);
    }
    None
}

/// The canonical primitive for a set of type keywords, in any order (`long unsigned int` is
/// "unsigned long"). None for combinations that are no C type.
#[cfg(test)]
pub(crate) fn primitive(words: &[T]) -> Option<BaseType> {
    if words.iter().any(|&w| !is_type_word(w)) {
        return None;
    }
    primitive_of_key(words.iter().map(|&w| word_key(w)).sum(), words.len())
}

/// The commonest keyword sets (a plain `int`, `unsigned char`, `long`...) without the general
/// checks of [`primitive_of_key`], which gives the same for them: nearly every declaration
/// names a primitive, and the general case (not inlined) costs several times this.
#[inline(always)]
fn common_primitive(key: WordKey) -> Option<BaseType> {
    const K_VOID: WordKey = 1 << VOID;
    const K_CHAR: WordKey = 1 << CHAR;
    const K_UCHAR: WordKey = 1 << UNSIGNED | 1 << CHAR;
    const K_SHORT: WordKey = 1 << SHORT;
    const K_USHORT_INT: WordKey = 1 << UNSIGNED | 1 << SHORT | 1 << INT;
    const K_INT: WordKey = 1 << INT;
    const K_UNSIGNED: WordKey = 1 << UNSIGNED;
    const K_UINT: WordKey = 1 << UNSIGNED | 1 << INT;
    const K_LONG: WordKey = 1 << LONG;
    const K_LONG_INT: WordKey = 1 << LONG | 1 << INT;
    const K_ULONG: WordKey = 1 << UNSIGNED | 1 << LONG;
    const K_ULONG_INT: WordKey = 1 << UNSIGNED | 1 << LONG | 1 << INT;
    const K_LONG_LONG: WordKey = 2 << LONG;
    const K_ULONG_LONG: WordKey = 1 << UNSIGNED | 2 << LONG;
    const K_DOUBLE: WordKey = 1 << DOUBLE;
    const K_FLOAT: WordKey = 1 << FLOAT;
    let name = match key {
        K_VOID => return Some(BaseType::Void),
        K_CHAR => "char",
        K_UCHAR => "unsigned char",
        K_SHORT => "short",
        K_USHORT_INT => "unsigned short",
        K_INT => "int",
        K_UNSIGNED | K_UINT => "unsigned int",
        K_LONG | K_LONG_INT => "long",
        K_ULONG | K_ULONG_INT => "unsigned long",
        K_LONG_LONG => "long long",
        K_ULONG_LONG => "unsigned long long",
        K_DOUBLE => "double",
        K_FLOAT => "float",
        _ => return None,
    };
    Some(BaseType::Primitive(name))
}

/// [`primitive`] of the `nwords` keywords summed in `key`.
fn primitive_of_key(key: WordKey, nwords: usize) -> Option<BaseType> {
    // Each keyword at most once (`long` twice), and not both `signed` and `unsigned`.
    const TWICE: WordKey = 0xeee_eeee_eeee & !(0xe << LONG);
    let [void, bool_, char, short, int, long, float, double, signed, unsigned, complex] = [
        VOID, BOOL, CHAR, SHORT, INT, LONG, FLOAT, DOUBLE, SIGNED, UNSIGNED, COMPLEX,
    ]
    .map(|shift| count(key, shift));
    if key & TWICE != 0 || long > 2 || signed + unsigned > 1 {
        return None;
    }
    let sized = short + long + int;
    let others = |allowed: u8| nwords == allowed as usize;
    let name = if void == 1 {
        return others(1).then_some(BaseType::Void);
    } else if bool_ == 1 {
        others(1).then_some("_Bool")?
    } else if char == 1 {
        if sized + float + double + complex > 0 {
            return None;
        }
        match (signed, unsigned) {
            (1, _) => "signed char",
            (_, 1) => "unsigned char",
            _ => "char",
        }
    } else if float == 1 {
        match (complex, others(1 + complex)) {
            (0, true) => "float",
            (1, true) => "float _Complex",
            _ => return None,
        }
    } else if double == 1 {
        if sized - long + signed + unsigned > 0 {
            return None;
        }
        match (long, complex) {
            (0, 0) => "double",
            (1, 0) => "long double",
            (0, 1) => "double _Complex",
            _ => return None,
        }
    } else if complex == 1 || (short == 1 && long > 0) {
        return None;
    } else {
        match (unsigned == 1, short, long) {
            (false, 1, _) => "short",
            (true, 1, _) => "unsigned short",
            (false, _, 1) => "long",
            (true, _, 1) => "unsigned long",
            (false, _, 2) => "long long",
            (true, _, 2) => "unsigned long long",
            (false, _, _) => "int",
            (true, _, _) => "unsigned int",
        }
    };
    Some(BaseType::Primitive(name))
}

/// The standard typedef names a cdef may use without declaring them (they stay
/// [`BaseType::Name`]; the runtime knows them). Also `bool`.
pub(crate) fn is_predeclared(name: &str) -> bool {
    matches!(
        name,
        "bool"
            | "FILE"
            | "wchar_t"
            | "char16_t"
            | "char32_t"
            | "size_t"
            | "ssize_t"
            | "ptrdiff_t"
            | "intptr_t"
            | "uintptr_t"
            | "intmax_t"
            | "uintmax_t"
            | "int8_t"
            | "uint8_t"
            | "int16_t"
            | "uint16_t"
            | "int32_t"
            | "uint32_t"
            | "int64_t"
            | "uint64_t"
            | "int_least8_t"
            | "uint_least8_t"
            | "int_least16_t"
            | "uint_least16_t"
            | "int_least32_t"
            | "uint_least32_t"
            | "int_least64_t"
            | "uint_least64_t"
            | "int_fast8_t"
            | "uint_fast8_t"
            | "int_fast16_t"
            | "uint_fast16_t"
            | "int_fast32_t"
            | "uint_fast32_t"
            | "int_fast64_t"
            | "uint_fast64_t"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(words: &[T]) -> Option<&'static str> {
        match primitive(words) {
            Some(BaseType::Primitive(p)) => Some(p),
            Some(BaseType::Void) => Some("void"),
            _ => None,
        }
    }

    #[test]
    fn common_primitives_agree() {
        // Every set of up to 4 type keywords: the fast path gives nothing or the general answer.
        let kinds = [
            T::Void,
            T::Bool,
            T::Char,
            T::Short,
            T::Int,
            T::Long,
            T::Float,
            T::Double,
            T::Signed,
            T::Unsigned,
            T::Complex,
        ];
        let mut found = 0;
        let mut sets: Vec<Vec<T>> = vec![vec![]];
        for _ in 0..4 {
            let mut next = Vec::new();
            for set in &sets {
                for &k in &kinds {
                    let mut longer = set.clone();
                    longer.push(k);
                    let key: WordKey = longer.iter().map(|&w| word_key(w)).sum();
                    if let Some(fast) = common_primitive(key) {
                        assert_eq!(
                            Some(fast),
                            primitive_of_key(key, longer.len()),
                            "{longer:?}"
                        );
                        found += 1;
                    }
                    next.push(longer);
                }
            }
            sets = next;
        }
        assert!(found > 0);
    }

    #[test]
    fn canonical_names() {
        use T::*;
        assert_eq!(prim(&[Unsigned]), Some("unsigned int"));
        assert_eq!(prim(&[Signed]), Some("int"));
        assert_eq!(prim(&[Long, Int]), Some("long"));
        assert_eq!(prim(&[Short, Unsigned, Int]), Some("unsigned short"));
        assert_eq!(prim(&[Long, Long, Unsigned]), Some("unsigned long long"));
        assert_eq!(
            prim(&[Long, Unsigned, Long, Int]),
            Some("unsigned long long")
        );
        assert_eq!(prim(&[Int, Long]), Some("long"));
        assert_eq!(prim(&[Char]), Some("char"));
        assert_eq!(prim(&[Signed, Char]), Some("signed char"));
        assert_eq!(prim(&[Char, Unsigned]), Some("unsigned char"));
        assert_eq!(prim(&[Bool]), Some("_Bool"));
        assert_eq!(prim(&[Long, Double]), Some("long double"));
        assert_eq!(prim(&[Float, Complex]), Some("float _Complex"));
        assert_eq!(prim(&[Complex, Double]), Some("double _Complex"));
        assert_eq!(prim(&[Void]), Some("void"));
        assert_eq!(prim(&[Signed, Short]), Some("short"));
    }

    #[test]
    fn invalid_combinations() {
        use T::*;
        for words in [
            &[Short, Char][..],
            &[Long, Long, Long],
            &[Short, Long],
            &[Signed, Unsigned],
            &[Int, Int],
            &[Unsigned, Double],
            &[Long, Double, Complex],
            &[Complex],
            &[Void, Int],
            &[Bool, Int],
            &[Float, Long],
            &[Char, Int],
            &[Short, Short],
            &[Unsigned, Float],
        ] {
            assert_eq!(prim(words), None, "{words:?}");
        }
    }
}
