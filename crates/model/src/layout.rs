//! Struct and union layout as GCC (and, on request, MSVC) computes it: field offsets, bitfield
//! placement, `packed`/`pack=N`, flexible array members, explicit offsets and total sizes given by
//! a compiler (API mode). The runtime checks field *types*; this module only places bytes and bits.
//!
//! TODO(helper): implement. The public items below are the contract with the runtime.

/// `complete_struct_or_union(..., sflags)` bits, with upstream's values.
pub const SF_MSVC_BITFIELDS: u32 = 0x01;
pub const SF_GCC_ARM_BITFIELDS: u32 = 0x02;
pub const SF_GCC_BIG_ENDIAN: u32 = 0x04;
pub const SF_PACKED: u32 = 0x08;
pub const SF_GCC_X86_BITFIELDS: u32 = 0x10;
pub const SF_GCC_LITTLE_ENDIAN: u32 = 0x40;
pub const SF_STD_FIELD_POS: u32 = 0x80;

/// `bitshift` of a field that is not a bitfield.
pub const BS_REGULAR: i32 = -1;
/// `bitshift` of a field declared `T[0]` or `T[]`.
pub const BS_EMPTY_ARRAY: i32 = -2;
