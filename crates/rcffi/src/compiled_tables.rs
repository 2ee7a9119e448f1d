//! The tables of a compiled (API-mode) module, read in place: the C arrays of its
//! `_cffi_type_context_s` (upstream's `parse_c_type.h` layout).
//!
//! `CompiledTables` gives their entries in the byte format of the out-of-line protocol
//! (`model::protocol`), which `context_tables` parses, formatted when asked for: importing a
//! compiled module then builds nothing per declaration, however many it has.

use std::ffi::{c_char, c_int, c_void, CStr};

use model::protocol::*;

#[repr(C)]
pub struct CGlobal {
    pub name: *const c_char,
    pub address: *mut c_void,
    pub type_op: usize,
    pub size_or_direct_fn: *mut c_void,
}

#[repr(C)]
pub struct CField {
    pub name: *const c_char,
    pub field_offset: usize,
    pub field_size: usize,
    pub field_type_op: usize,
}

#[repr(C)]
pub struct CStructUnion {
    pub name: *const c_char,
    pub type_index: c_int,
    pub flags: c_int,
    pub size: usize,
    pub alignment: c_int,
    pub first_field_index: c_int,
    pub num_fields: c_int,
}

#[repr(C)]
pub struct CEnum {
    pub name: *const c_char,
    pub type_index: c_int,
    pub type_prim: c_int,
    pub enumerators: *const c_char,
}

#[repr(C)]
pub struct CTypename {
    pub name: *const c_char,
    pub type_index: c_int,
}

#[repr(C)]
pub struct CTypeContext {
    pub types: *mut usize,
    pub globals: *const CGlobal,
    pub fields: *const CField,
    pub struct_unions: *const CStructUnion,
    pub enums: *const CEnum,
    pub typenames: *const CTypename,
    pub num_globals: c_int,
    pub num_struct_unions: c_int,
    pub num_enums: c_int,
    pub num_typenames: c_int,
    pub includes: *const *const c_char,
    pub num_types: c_int,
    pub flags: c_int,
}

/// # Safety
/// `p` must be null or a NUL-terminated string.
pub unsafe fn cstr(p: *const c_char) -> &'static [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: forwarded; the module's strings are static.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// # Safety
/// `p` must point to `n` items (or `n` be 0).
pub unsafe fn slice<'a, T>(p: *const T, n: c_int) -> &'a [T] {
    if p.is_null() || n <= 0 {
        return &[];
    }
    // SAFETY: forwarded.
    unsafe { std::slice::from_raw_parts(p, n as usize) }
}

pub fn be(x: impl TryInto<u32> + Copy) -> [u8; 4] {
    x.try_into().unwrap_or(u32::MAX).to_be_bytes()
}

pub fn op32(x: usize) -> u32 {
    // An opcode with a negative argument fills the high bits; the low 32 keep it.
    x as u32
}

/// The value of an integer constant: (value, the C compiler disagrees with the cdef).
///
/// # Safety
/// `f` must be the module's `int (*)(unsigned long long *)` for that constant.
pub unsafe fn int_constant(f: *mut c_void) -> (i128, bool) {
    // SAFETY: forwarded.
    let f: unsafe extern "C" fn(*mut u64) -> c_int = unsafe { std::mem::transmute(f) };
    let mut v = 0u64;
    let n = unsafe { f(&mut v) };
    let value = if n & 1 != 0 { v as i64 as i128 } else { v as i128 };
    (value, n & 2 != 0)
}

/// The tables of one compiled module. Its arrays live as long as the process (compiled
/// modules are never unloaded).
pub struct CompiledTables {
    ctx: &'static CTypeContext,
}

// SAFETY: the context is immutable static data of the module (only its types array is written,
// and not through this struct).
unsafe impl Send for CompiledTables {}

impl CompiledTables {
    /// # Safety
    /// `ctx` must be a compiled module's type context, whose arrays have the lengths it gives.
    pub unsafe fn new(ctx: &'static CTypeContext) -> CompiledTables {
        CompiledTables { ctx }
    }

    fn globals(&self) -> &'static [CGlobal] {
        // SAFETY: the context's arrays have the lengths it gives (see `new`); same below.
        unsafe { slice(self.ctx.globals, self.ctx.num_globals) }
    }

    fn structs(&self) -> &'static [CStructUnion] {
        unsafe { slice(self.ctx.struct_unions, self.ctx.num_struct_unions) }
    }

    fn enums(&self) -> &'static [CEnum] {
        unsafe { slice(self.ctx.enums, self.ctx.num_enums) }
    }

    fn typenames(&self) -> &'static [CTypename] {
        unsafe { slice(self.ctx.typenames, self.ctx.num_typenames) }
    }

    pub fn n_globals(&self) -> usize {
        self.globals().len()
    }

    /// Opcode and name, as the protocol's `_globals` entry.
    pub fn global_entry(&self, i: usize) -> Option<Vec<u8>> {
        let g = self.globals().get(i)?;
        // SAFETY: the module's names are NUL-terminated static strings; same below.
        Some([&be(op32(g.type_op))[..], unsafe { cstr(g.name) }].concat())
    }

    pub fn global_name(&self, i: usize) -> Option<&'static [u8]> {
        Some(unsafe { cstr(self.globals().get(i)?.name) })
    }

    /// The integer that follows the entry in the protocol: the value of an integer constant
    /// or enumerator (asked of the module's function for it), the address of an
    /// `extern "Python"` descriptor, else 0.
    pub fn global_value(&self, i: usize) -> Option<i128> {
        let g = self.globals().get(i)?;
        Some(match getop(op32(g.type_op)) {
            // SAFETY: for these opcodes the address is the module's constant function.
            OP_CONSTANT_INT | OP_ENUM if !g.address.is_null() => unsafe { int_constant(g.address) }.0,
            OP_EXTERN_PYTHON => g.address as usize as i128,
            _ => 0,
        })
    }

    pub fn n_structs(&self) -> usize {
        self.structs().len()
    }

    /// 1 (the head) + the number of fields of struct/union entry `i`.
    pub fn struct_len(&self, i: usize) -> usize {
        self.structs().get(i).map_or(0, |s| 1 + self.fields_of(s).len())
    }

    fn fields_of(&self, s: &CStructUnion) -> &'static [CField] {
        if s.first_field_index < 0 || s.num_fields <= 0 {
            return &[];
        }
        // SAFETY: a struct's fields are within the context's fields array.
        unsafe { slice(self.ctx.fields.add(s.first_field_index as usize), s.num_fields) }
    }

    /// Item `j` of struct/union entry `i` in the protocol's `_struct_unions`: 0 is the head
    /// (type index, flags, name), the others the fields (opcode, bit width for bit-fields, name).
    pub fn struct_item(&self, i: usize, j: usize) -> Option<Vec<u8>> {
        let s = self.structs().get(i)?;
        if j == 0 {
            return Some([&be(s.type_index)[..], &be(s.flags), unsafe { cstr(s.name) }].concat());
        }
        let f = self.fields_of(s).get(j - 1)?;
        let op = op32(f.field_type_op);
        let width: &[u8] = if getop(op) == OP_BITFIELD { &be(f.field_size) } else { &[] };
        Some([&be(op)[..], width, unsafe { cstr(f.name) }].concat())
    }

    pub fn n_enums(&self) -> usize {
        self.enums().len()
    }

    /// Type index, primitive, name, NUL, enumerators (comma-separated).
    pub fn enum_entry(&self, i: usize) -> Option<Vec<u8>> {
        let e = self.enums().get(i)?;
        Some([&be(e.type_index)[..], &be(e.type_prim), unsafe { cstr(e.name) }, &[0], unsafe { cstr(e.enumerators) }].concat())
    }

    pub fn n_typenames(&self) -> usize {
        self.typenames().len()
    }

    /// Type index and name.
    pub fn typename_entry(&self, i: usize) -> Option<Vec<u8>> {
        let t = self.typenames().get(i)?;
        Some([&be(t.type_index)[..], unsafe { cstr(t.name) }].concat())
    }

    pub fn struct_layout(&self, i: usize) -> Option<(i64, i32)> {
        let s = self.structs().get(i)?;
        Some((s.size as i64, s.alignment))
    }

    pub fn field_layout(&self, i: usize, j: usize) -> Option<(i64, i64)> {
        let f = self.fields_of(self.structs().get(i)?).get(j)?;
        Some(if getop(op32(f.field_type_op)) == OP_BITFIELD {
            (-1, -1)
        } else {
            (f.field_offset as i64, f.field_size as i64)
        })
    }
}
