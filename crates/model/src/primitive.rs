//! The primitive C types rcffi knows by name, with their size and alignment on x86-64 Linux.

/// How a primitive's bytes are read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrimKind {
    Signed,
    Unsigned,
    /// `_Bool`: one byte that must hold 0 or 1.
    Bool,
    /// `char`: a length-1 bytes object on the Python side.
    Char,
    /// `wchar_t`, `char16_t`, `char32_t`: a length-1 str on the Python side.
    WideChar,
    Float,
    LongDouble,
    Complex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Primitive {
    pub name: &'static str,
    pub kind: PrimKind,
    pub size: usize,
    pub align: usize,
}

impl Primitive {
    pub fn is_integer(&self) -> bool {
        matches!(self.kind, PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool)
    }
    pub fn is_signed(&self) -> bool {
        self.kind == PrimKind::Signed
    }
    pub fn is_float(&self) -> bool {
        matches!(self.kind, PrimKind::Float | PrimKind::LongDouble)
    }
}

const fn p(name: &'static str, kind: PrimKind, size: usize) -> Primitive {
    Primitive { name, kind, size, align: if size > 8 { 16 } else { size } }
}

use PrimKind::*;

/// Every primitive type name, in the order upstream's `_get_types()` lists them.
pub const PRIMITIVES: &[Primitive] = &[
    p("char", Char, 1),
    p("short", Signed, 2),
    p("int", Signed, 4),
    p("long", Signed, 8),
    p("long long", Signed, 8),
    p("signed char", Signed, 1),
    p("unsigned char", Unsigned, 1),
    p("unsigned short", Unsigned, 2),
    p("unsigned int", Unsigned, 4),
    p("unsigned long", Unsigned, 8),
    p("unsigned long long", Unsigned, 8),
    p("float", Float, 4),
    p("double", Float, 8),
    p("long double", LongDouble, 16),
    // Upstream names the complex types after its C header's typedefs; they align like their
    // float/double parts.
    Primitive { name: "_cffi_float_complex_t", kind: Complex, size: 8, align: 4 },
    Primitive { name: "_cffi_double_complex_t", kind: Complex, size: 16, align: 8 },
    p("_Bool", Bool, 1),
    p("wchar_t", WideChar, 4),
    p("char16_t", WideChar, 2),
    p("char32_t", WideChar, 4),
    p("int8_t", Signed, 1),
    p("uint8_t", Unsigned, 1),
    p("int16_t", Signed, 2),
    p("uint16_t", Unsigned, 2),
    p("int32_t", Signed, 4),
    p("uint32_t", Unsigned, 4),
    p("int64_t", Signed, 8),
    p("uint64_t", Unsigned, 8),
    p("int_least8_t", Signed, 1),
    p("uint_least8_t", Unsigned, 1),
    p("int_least16_t", Signed, 2),
    p("uint_least16_t", Unsigned, 2),
    p("int_least32_t", Signed, 4),
    p("uint_least32_t", Unsigned, 4),
    p("int_least64_t", Signed, 8),
    p("uint_least64_t", Unsigned, 8),
    p("int_fast8_t", Signed, 1),
    p("uint_fast8_t", Unsigned, 1),
    p("int_fast16_t", Signed, 8),
    p("uint_fast16_t", Unsigned, 8),
    p("int_fast32_t", Signed, 8),
    p("uint_fast32_t", Unsigned, 8),
    p("int_fast64_t", Signed, 8),
    p("uint_fast64_t", Unsigned, 8),
    p("intptr_t", Signed, 8),
    p("uintptr_t", Unsigned, 8),
    p("intmax_t", Signed, 8),
    p("uintmax_t", Unsigned, 8),
    p("ptrdiff_t", Signed, 8),
    p("size_t", Unsigned, 8),
    p("ssize_t", Signed, 8),
];

/// The primitive with this name, if any (C spellings of the complex types included).
pub fn primitive(name: &str) -> Option<&'static Primitive> {
    let name = match name {
        "float _Complex" => "_cffi_float_complex_t",
        "double _Complex" => "_cffi_double_complex_t",
        other => other,
    };
    PRIMITIVES.iter().find(|p| p.name == name)
}

/// Whether `name` is a standard typedef that cdef knows without a declaration (so that a user
/// typedef of the same name may override it).
pub fn is_predeclared_typedef(name: &str) -> bool {
    name == "FILE" || (primitive(name).is_some() && !is_c_keyword_type(name))
}

/// Whether the name is spelled with C keywords only ("unsigned long", "_Bool"), as opposed to a
/// typedef name from a standard header ("size_t", "int8_t", "wchar_t").
pub fn is_c_keyword_type(name: &str) -> bool {
    name.split(' ').all(|w| {
        matches!(w, "char" | "short" | "int" | "long" | "signed" | "unsigned" | "float" | "double"
            | "_Bool" | "_Complex")
    })
}

pub const POINTER_SIZE: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(primitive("unsigned long long").unwrap().size, 8);
        assert_eq!(primitive("long double").unwrap().align, 16);
        assert!(primitive("foo").is_none());
        assert!(is_predeclared_typedef("size_t"));
        assert!(is_predeclared_typedef("wchar_t"));
        assert!(is_predeclared_typedef("FILE"));
        assert!(!is_predeclared_typedef("int"));
        assert!(!is_predeclared_typedef("double _Complex"));
        assert_eq!(primitive("double _Complex").unwrap().align, 8);
        assert_eq!(primitive("float _Complex").unwrap().name, "_cffi_float_complex_t");
    }
}
