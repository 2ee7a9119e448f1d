//! The type names cdef knows without declarations beyond the primitives, as `_get_common_types()`
//! reports them (on Linux: no Windows types).

pub const COMMON_TYPES: &[(&str, &str)] = &[("FILE", "struct _IO_FILE"), ("bool", "_Bool")];
