//! The C type facts rcffi needs that do not depend on Python: the primitive types and how GCC lays
//! out structs and unions on x86-64 Linux (bitfields, packing, flexible array members), and the
//! encoding of cffi's out-of-line module protocol.

pub mod layout;
pub mod primitive;
pub mod protocol;
pub mod raw;

pub use primitive::{primitive, PrimKind, Primitive, PRIMITIVES};
