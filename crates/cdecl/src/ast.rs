//! The declarations a cdef produces. This is the contract between the parser and its users (the
//! runtime realizes these into ctypes; the recompiler will emit tables from them). Nothing here is
//! resolved: type names stay names and constant expressions stay expressions, because their meaning
//! may depend on earlier `cdef()` calls that the parser never sees.

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
    Typedef { name: String, ty: Ty, span: Span },
    /// A function declaration `ret name(args);`.
    Function { name: String, sig: FuncSig, extern_python: ExternPython, span: Span },
    /// A global variable, with or without `extern`/`static` (`storage` says which).
    Variable { name: String, ty: Ty, span: Span, storage: bool },
    /// A global declared with an integer literal as initializer: `static const int N = 42;`,
    /// `int x = -0x10;`. Upstream makes it an integer constant (like `#define N 42`) when `ty`
    /// is an integer type, and otherwise a plain variable or constant whose value is ignored.
    /// (Other initializers are skipped: such declarations are plain [`Decl::Variable`]s.)
    IntConstant { name: String, ty: Ty, value: i128, span: Span },
    /// A struct/union/enum that is declared or defined on its own (`struct foo { ... };`,
    /// `struct foo;`, `enum e { A, B };`). Definitions that appear inside other declarations
    /// stay inline in their [`BaseType`]; users must register those too.
    Tag { base: BaseType, span: Span },
    /// `#define NAME value`.
    Define { name: String, value: DefineValue, span: Span },
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
    pub name: Option<String>,
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
    Name(String),
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
    pub tag: Option<String>,
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
    pub name: Option<String>,
    pub ty: Ty,
    /// `: expr` for bitfields.
    pub bits: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enum {
    pub tag: Option<String>,
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
    pub name: String,
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
    Name(String, Span),
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
