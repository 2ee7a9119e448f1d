//! The out-of-line module protocol of cffi 2.x, shared by the generator (crates/recompiler) and
//! the loader (`_cffi_backend.FFI(module_name, _types=..., ...)`): opcode and primitive numbers,
//! struct/union flags, the version numbers a module may announce, and the 4-byte big-endian
//! encoding of the tables of a Python (ABI-mode) module. The numbers are an interface with every
//! module upstream cffi ever generated, so they never change; see upstream's
//! `doc/misc/parse_c_type.rst`.
//!
//! An opcode is a 32-bit value: the low 8 bits say what it is (`OP_*`), the upper 24 bits carry a
//! signed argument (a primitive number, an index into the types array or another table).

pub const OP_PRIMITIVE: u8 = 1;
pub const OP_POINTER: u8 = 3;
pub const OP_ARRAY: u8 = 5;
pub const OP_OPEN_ARRAY: u8 = 7;
pub const OP_STRUCT_UNION: u8 = 9;
pub const OP_ENUM: u8 = 11;
pub const OP_FUNCTION: u8 = 13;
pub const OP_FUNCTION_END: u8 = 15;
pub const OP_NOOP: u8 = 17;
pub const OP_BITFIELD: u8 = 19;
pub const OP_TYPENAME: u8 = 21;
pub const OP_CPYTHON_BLTN_V: u8 = 23;
pub const OP_CPYTHON_BLTN_N: u8 = 25;
pub const OP_CPYTHON_BLTN_O: u8 = 27;
pub const OP_CONSTANT: u8 = 29;
pub const OP_CONSTANT_INT: u8 = 31;
pub const OP_GLOBAL_VAR: u8 = 33;
pub const OP_DLOPEN_FUNC: u8 = 35;
pub const OP_DLOPEN_CONST: u8 = 37;
pub const OP_GLOBAL_VAR_F: u8 = 39;
pub const OP_EXTERN_PYTHON: u8 = 41;

/// The C name of each primitive number (`PRIM_*`); number 0 is `void`.
pub const PRIM_NAMES: [&str; 52] = [
    "void",
    "_Bool",
    "char",
    "signed char",
    "unsigned char",
    "short",
    "unsigned short",
    "int",
    "unsigned int",
    "long",
    "unsigned long",
    "long long",
    "unsigned long long",
    "float",
    "double",
    "long double",
    "wchar_t",
    "int8_t",
    "uint8_t",
    "int16_t",
    "uint16_t",
    "int32_t",
    "uint32_t",
    "int64_t",
    "uint64_t",
    "intptr_t",
    "uintptr_t",
    "ptrdiff_t",
    "size_t",
    "ssize_t",
    "int_least8_t",
    "uint_least8_t",
    "int_least16_t",
    "uint_least16_t",
    "int_least32_t",
    "uint_least32_t",
    "int_least64_t",
    "uint_least64_t",
    "int_fast8_t",
    "uint_fast8_t",
    "int_fast16_t",
    "uint_fast16_t",
    "int_fast32_t",
    "uint_fast32_t",
    "int_fast64_t",
    "uint_fast64_t",
    "intmax_t",
    "uintmax_t",
    "_cffi_float_complex_t",
    "_cffi_double_complex_t",
    "char16_t",
    "char32_t",
];

pub const PRIM_VOID: i32 = 0;
pub const PRIM_INT8: i32 = 17;
pub const PRIM_UINT8: i32 = 18;
pub const PRIM_INT16: i32 = 19;
pub const PRIM_UINT16: i32 = 20;
pub const PRIM_INT32: i32 = 21;
pub const PRIM_UINT32: i32 = 22;
pub const PRIM_INT64: i32 = 23;
pub const PRIM_UINT64: i32 = 24;

/// Sizes only the C compiler knows (API mode); a Python module never holds them.
pub const PRIM_UNKNOWN_INT: i32 = -1;
pub const PRIM_UNKNOWN_FLOAT: i32 = -2;
pub const PRIM_UNKNOWN_LONG_DOUBLE: i32 = -3;

/// The struct index that means the predeclared `FILE` (`struct _IO_FILE`).
pub const IO_FILE_STRUCT: i32 = -1;

/// Flags of a struct/union entry.
pub const F_UNION: i32 = 0x01;
pub const F_CHECK_FIELDS: i32 = 0x02;
pub const F_PACKED: i32 = 0x04;
pub const F_EXTERNAL: i32 = 0x08;
pub const F_OPAQUE: i32 = 0x10;

/// What a Python module generated for `set_source(name, None)` announces as `_version`.
pub const VERSION_BASE: i64 = 0x2601;
/// The `_version`s a loader accepts.
pub const VERSION_MIN: i64 = 0x2601;
pub const VERSION_MAX: i64 = 0x28FF;

/// The primitive number of a C type name (`void` included).
pub fn prim_index(name: &str) -> Option<i32> {
    PRIM_NAMES.iter().position(|n| *n == name).map(|i| i as i32)
}

/// The primitive number of an integer type of this size and signedness, as enums announce their
/// underlying type.
pub fn prim_int(size: usize, signed: bool) -> Option<i32> {
    Some(match (size, signed) {
        (1, true) => PRIM_INT8,
        (1, false) => PRIM_UINT8,
        (2, true) => PRIM_INT16,
        (2, false) => PRIM_UINT16,
        (4, true) => PRIM_INT32,
        (4, false) => PRIM_UINT32,
        (8, true) => PRIM_INT64,
        (8, false) => PRIM_UINT64,
        _ => return None,
    })
}

/// An opcode with its argument (negative arguments, like `OP_ENUM, -1`, wrap as in C).
pub fn op(opcode: u8, arg: i32) -> u32 {
    ((arg as u32) << 8) | opcode as u32
}

pub fn getop(x: u32) -> u8 {
    x as u8
}

/// The signed argument of an opcode.
pub fn getarg(x: u32) -> i32 {
    (x as i32) >> 8
}

/// The 4-byte big-endian value at the start of `b`, if there are 4 bytes.
pub fn read_be32(b: &[u8]) -> Option<u32> {
    let four: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(four))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(op(OP_ENUM, -1), 0xFFFF_FF0B);
        assert_eq!(getarg(0xFFFF_FF0B), -1);
        assert_eq!(getop(0xFFFF_FF0B), OP_ENUM);
        assert_eq!(op(OP_POINTER, 0x17), 0x1703);
        assert_eq!(read_be32(b"\x00\x00\x17\x03abc"), Some(0x1703));
        assert_eq!(read_be32(b"\x00\x17"), None);
        assert_eq!(prim_index("int"), Some(7));
        assert_eq!(prim_index("char32_t"), Some(51));
        assert_eq!(prim_index("void"), Some(0));
        assert_eq!(prim_int(4, false), Some(PRIM_UINT32));
        // Every primitive but void is a primitive the model knows.
        for name in &PRIM_NAMES[1..] {
            assert!(crate::primitive(name).is_some(), "{name}");
        }
    }
}
