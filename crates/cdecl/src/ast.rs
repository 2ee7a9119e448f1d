//! The declarations a cdef produces. This is the contract between the parser and its users (the
//! runtime realizes these into ctypes; the recompiler will emit tables from them). Nothing here is
//! resolved: type names stay names and constant expressions stay expressions, because their meaning
//! may depend on earlier `cdef()` calls that the parser never sees.

/// An identifier in the AST (a declaration, parameter, field, tag, enumerator or type name).
/// A cdef declares thousands of names and the runtime keeps most of them, so a short one is
/// stored inline (no heap allocation, same size as a `String`); a long one is boxed. Compares,
/// hashes and prints as its text, so a map keyed by `Name` can be looked up with a `&str`.
#[derive(Clone)]
pub struct Name(NameRepr);

/// Names up to this many bytes are stored inline: with the length and the enum tag that is 24
/// bytes, the size of a `String` (and of `Option<Name>`, through the tag's niche).
const INLINE_NAME: usize = 22;

#[derive(Clone)]
enum NameRepr {
    Inline { len: u8, bytes: [u8; INLINE_NAME] },
    Heap(Box<str>),
}

impl Name {
    pub fn new(s: &str) -> Name {
        if s.len() <= INLINE_NAME {
            Name(NameRepr::Inline { len: s.len() as u8, bytes: inline_bytes(s.as_bytes()) })
        } else {
            Name(NameRepr::Heap(s.into()))
        }
    }

    /// The text as bytes: unlike [`Name::as_str`], no UTF-8 check, so comparing and hashing
    /// (done for every name a cdef declares) use this.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            NameRepr::Inline { len, bytes } => &bytes[..*len as usize],
            NameRepr::Heap(s) => s.as_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied whole from a `&str`, so this never fails.
            NameRepr::Inline { len, bytes } => std::str::from_utf8(&bytes[..*len as usize]).unwrap_or(""),
            NameRepr::Heap(s) => s,
        }
    }
}

/// `s` (at most [`INLINE_NAME`] bytes) at the start of a zeroed array. Done as two overlapping
/// fixed-size copies (a head and a tail of the same width) rather than one copy of `s.len()`
/// bytes, which is a call to `memcpy`: a name is made for every identifier a cdef declares.
#[inline]
fn inline_bytes(s: &[u8]) -> [u8; INLINE_NAME] {
    fn copy<const W: usize>(out: &mut [u8; INLINE_NAME], s: &[u8]) {
        let n = s.len();
        let head: [u8; W] = s[..W].try_into().unwrap_or([0; W]);
        let tail: [u8; W] = s[n - W..].try_into().unwrap_or([0; W]);
        out[..W].copy_from_slice(&head);
        out[n - W..n].copy_from_slice(&tail);
    }
    let mut out = [0u8; INLINE_NAME];
    match s.len() {
        16.. => copy::<16>(&mut out, s),
        8..=15 => copy::<8>(&mut out, s),
        4..=7 => copy::<4>(&mut out, s),
        // The first, middle and last bytes are all of 1 to 3 (a byte loop becomes a memcpy call).
        n @ 1..=3 => {
            out[0] = s[0];
            out[n / 2] = s[n / 2];
            out[n - 1] = s[n - 1];
        }
        _ => {}
    }
    out
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // Every name of up to INLINE_NAME bytes is inline, zero-padded, and every longer one is
        // on the heap: comparing representations compares texts, and two short names compare
        // as two fixed-size arrays (no call to memcmp, for every key of a name table).
        match (&self.0, &other.0) {
            (NameRepr::Inline { len: a, bytes: x }, NameRepr::Inline { len: b, bytes: y }) => {
                a == b && x == y
            }
            (NameRepr::Heap(a), NameRepr::Heap(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        // `str` orders by bytes too.
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Hashes exactly as the `str` does (required by `Borrow<str>`): `str` hashes through
/// `Hasher::write_str`, which is its bytes then 0xff (only std's own hashers may override that
/// method, and they keep that meaning). Done on the bytes to skip the UTF-8 check.
impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        if s.len() <= INLINE_NAME {
            Name::new(&s)
        } else {
            Name(NameRepr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        match n.0 {
            NameRepr::Heap(s) => s.into_string(),
            NameRepr::Inline { .. } => n.as_str().to_string(),
        }
    }
}

/// Where something was written: a file index into [`Cdef::files`], a 1-based line and column.
/// Line directives (`# 42 "foo.h"`) are already applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub file: u16,
    pub line: u32,
    pub col: u32,
}

/// One parsed `cdef()` source.
#[derive(Clone, Debug, Default)]
pub struct Cdef {
    /// The `#define`s first (upstream registers them before anything else of the same cdef, so
    /// enum values may use them), then the other declarations in source order.
    pub decls: Vec<Decl>,
    /// File names for [`Span::file`]; index 0 is `<cdef source string>`.
    pub files: Vec<String>,
}

#[derive(Clone, Debug)]
pub enum Decl {
    /// `typedef <ty> name;` (one per declarator).
    Typedef { name: Name, ty: Ty, span: Span },
    /// A function declaration `ret name(args);`.
    Function { name: Name, sig: FuncSig, extern_python: ExternPython, span: Span },
    /// A global variable, with or without `extern`/`static` (`storage` says which).
    Variable { name: Name, ty: Ty, span: Span, storage: bool },
    /// A global declared with an integer literal as initializer: `static const int N = 42;`,
    /// `int x = -0x10;`. Upstream makes it an integer constant (like `#define N 42`) when `ty`
    /// is an integer type, and otherwise a plain variable or constant whose value is ignored.
    /// (Other initializers are skipped: such declarations are plain [`Decl::Variable`]s.)
    IntConstant { name: Name, ty: Ty, value: i128, span: Span },
    /// A struct/union/enum that is declared or defined on its own (`struct foo { ... };`,
    /// `struct foo;`, `enum e { A, B };`). Definitions that appear inside other declarations
    /// stay inline in their [`BaseType`]; users must register those too.
    Tag { base: BaseType, span: Span },
    /// `#define NAME value`.
    Define { name: Name, value: DefineValue, span: Span },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternPython {
    No,
    /// `extern "Python"`
    Python,
    /// `extern "Python+C"`
    PythonPlusC,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DefineValue {
    /// An integer literal (with sign, any base, suffixes dropped).
    Int(i128),
    /// `#define NAME ...`: the compiler provides the value.
    Dotdotdot,
}

/// A full C type as written: a base type wrapped by declarator parts.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Base { base: BaseType, quals: Quals },
    Pointer { to: Box<Ty>, quals: Quals },
    Array { of: Box<Ty>, len: ArrayLen },
    /// A function type (not a pointer to one): `int(int)`. `int(*)(int)` is a Pointer to this.
    Function(Box<FuncSig>),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quals {
    pub is_const: bool,
    pub is_volatile: bool,
    pub is_restrict: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArrayLen {
    /// `[]`
    Unspecified,
    /// `[...]`: the compiler provides the length.
    Dotdotdot,
    /// `[expr]`
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FuncSig {
    pub result: Ty,
    /// `(void)` and `()` both give no params.
    pub params: Vec<Param>,
    /// Ends in `, ...`.
    pub variadic: bool,
    pub callconv: CallConv,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Option<Name>,
    pub ty: Ty,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallConv {
    #[default]
    Default,
    /// `__cdecl`
    Cdecl,
    /// `__stdcall` or `WINAPI`
    Stdcall,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BaseType {
    Void,
    /// A primitive type by its canonical name, e.g. "int", "unsigned long long", "signed char",
    /// "_Bool", "float _Complex", "long double", "wchar_t", "char16_t", "int8_t", "size_t".
    /// `unsigned` becomes "unsigned int", `long int` becomes "long", `bool` becomes "_Bool", etc.
    /// The standard typedefs the docs list as predeclared (intN_t, size_t, FILE, ...) are NOT
    /// turned into primitives here: they stay [`BaseType::Name`], so user typedefs can override
    /// them; the runtime knows the predeclared ones.
    Primitive(&'static str),
    /// A typedef name.
    Name(Name),
    Record(Record),
    Enum(Enum),
    /// `typedef int... t;`: an integer type of unknown size and signedness.
    UnknownInt,
    /// `typedef double... t;`: a float type of unknown size.
    UnknownFloat,
    /// `typedef ... t;`: an opaque type.
    Opaque,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Struct,
    Union,
}

/// `struct tag`, `struct tag { ... }` or `struct { ... }`.
///
/// Several declarators sharing one specifier (`typedef struct { int x; } a, *b;`) each get a
/// copy of it; the copies have the same `span`, which is how to tell that they are one type (as
/// upstream does: `a` and `b` name the same anonymous struct). Same for [`Enum`].
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub kind: RecordKind,
    /// None for an anonymous struct/union.
    pub tag: Option<Name>,
    /// None for a reference or forward declaration; Some for a definition. Shared, because a
    /// definition is both registered under its tag and kept in the type that wrote it.
    pub body: Option<std::sync::Arc<RecordBody>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RecordBody {
    pub fields: Vec<Field>,
    /// The body contains `...;`: the compiler completes the layout.
    pub partial: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// None for an anonymous struct/union member or an unnamed bitfield.
    pub name: Option<Name>,
    pub ty: Ty,
    /// `: expr` for bitfields.
    pub bits: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enum {
    pub tag: Option<Name>,
    pub body: Option<std::sync::Arc<EnumBody>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumBody {
    pub items: Vec<Enumerator>,
    /// Ends with `...`: the compiler provides the values.
    pub partial: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enumerator {
    pub name: Name,
    pub value: Option<Expr>,
    pub span: Span,
}

/// An integer constant expression, unevaluated (see [`crate::eval`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i128),
    /// A character literal like `'A'` or `'\n'`, already as its value.
    Char(i128),
    /// An identifier: an enumerator or a `#define` constant.
    Name(Name, Span),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `sizeof(type)`; evaluation needs the runtime's layouts.
    SizeofType(Box<Ty>),
    /// `(type) expr`; only integer types make sense here.
    Cast(Box<Ty>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    BitNot,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn names() {
        assert_eq!(std::mem::size_of::<Name>(), std::mem::size_of::<String>());
        assert_eq!(std::mem::size_of::<Option<Name>>(), std::mem::size_of::<String>());
        let lengths = ["", "x", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmno", "abcdefghijklmnop"];
        for s in lengths.into_iter().chain(["exactly_twenty_two_ch", "exactly_twenty_two_chr", "a_rather_long_identifier_name", "é_ü"]) {
            let n = Name::new(s);
            assert_eq!(n.as_str(), s);
            assert_eq!(Name::from(s.to_string()), n);
            assert_eq!(String::from(n.clone()), s);
            assert_eq!(format!("{n}"), s);
            assert_eq!(format!("{n:?}"), format!("{s:?}"));
        }
        let hash = |h: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
            let mut state = std::collections::hash_map::DefaultHasher::new();
            h(&mut state);
            std::hash::Hasher::finish(&state)
        };
        for s in ["", "x", "a_rather_long_identifier_name"] {
            use std::hash::Hash;
            assert_eq!(hash(&|st| Name::new(s).hash(st)), hash(&|st| s.hash(st)));
        }
        assert!(Name::new("ab") < Name::new("b") && Name::new("a") < Name::new("a_rather_long_identifier_name"));
        let all = ["", "a", "b", "ab", "abc", "abd", "exactly_twenty_two_chr", "exactly_twenty_two_chs", "exactly_twenty_two_chr_"];
        for x in all {
            for y in all {
                assert_eq!(Name::new(x) == Name::new(y), x == y, "{x:?} {y:?}");
                assert_eq!(Name::from(x.to_string()) == Name::new(y), x == y, "{x:?} {y:?}");
            }
        }
        let mut map = std::collections::HashMap::new();
        map.insert(Name::new("a_rather_long_identifier_name"), 1);
        map.insert(Name::new("short"), 2);
        assert_eq!(map.get("a_rather_long_identifier_name"), Some(&1));
        assert_eq!(map.get("short"), Some(&2));
    }
}
