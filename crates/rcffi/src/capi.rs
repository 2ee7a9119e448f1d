//! The table of backend functions that C extension modules compiled by cffi call (the
//! `_cffi_exports` array of their generated code, also published as the capsule
//! `_cffi_backend._C_API`). The order and the C signatures are part of cffi's module protocol;
//! every function here is called by C code that holds the GIL, except the two errno ones,
//! which are called with the GIL released.
//!
//! Errors follow the C-API convention the generated code checks: a Python exception is set and
//! a sentinel is returned (-1, NULL, or the value documented per function).

use std::ffi::{c_char, c_int, c_void};

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::cdata::{CData, OwnedMem, Owner};
use crate::convert;
use crate::ctype::CType;

/// How many entries the table has (upstream's `_CFFI_NUM_EXPORTS`).
pub const NUM_EXPORTS: usize = 28;

/// The ctype behind a `struct _cffi_ctypedescr *` of generated code: the pointer the loader
/// wrote into the module's `_cffi_types` array (a `CType` object it keeps alive).
///
/// # Safety
/// `p` must be such a pointer, and the GIL held.
unsafe fn ctype_at<'py>(py: Python<'py>, p: *mut c_void) -> Bound<'py, CType> {
    // SAFETY: forwarded; the object is alive for the life of the process.
    unsafe { Bound::from_borrowed_ptr(py, p.cast::<ffi::PyObject>()) }.cast_into_unchecked()
}

/// # Safety
/// `o` must be a live object, and the GIL held.
unsafe fn obj<'py>(py: Python<'py>, o: *mut ffi::PyObject) -> Bound<'py, PyAny> {
    // SAFETY: forwarded.
    unsafe { Bound::from_borrowed_ptr(py, o) }
}

fn set_error<T>(py: Python<'_>, r: PyResult<T>, sentinel: T) -> T {
    r.unwrap_or_else(|e| {
        e.restore(py);
        sentinel
    })
}

fn new_ref(x: PyResult<Py<PyAny>>, py: Python<'_>) -> *mut ffi::PyObject {
    match x {
        Ok(o) => o.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The integer of `o` within [lo, hi], with upstream's errors for the `_cffi_to_c_*` exports:
/// `name` is how they name the C type (`"16-bit int"`); 64-bit values that overflow say what
/// Python's own conversion says.
fn int_in(o: &Bound<'_, PyAny>, lo: i128, hi: i128, name: &str) -> PyResult<i128> {
    let v = convert::to_integer_strict(o)?;
    if v < lo || v > hi {
        if v < 0 && lo == 0 {
            return Err(PyOverflowError::new_err("can't convert negative number to unsigned"));
        }
        if name.starts_with("64-bit") {
            return Err(PyOverflowError::new_err("int too big to convert"));
        }
        let s = o.str().map(|s| s.to_string()).unwrap_or_default();
        return Err(PyOverflowError::new_err(format!("integer {s} does not fit '{name}'")));
    }
    Ok(v)
}

macro_rules! to_c_int {
    ($fname:ident, $ret:ty, $lo:expr, $hi:expr, $cname:literal) => {
        unsafe extern "C" fn $fname(o: *mut ffi::PyObject) -> $ret {
            // SAFETY: called by generated code with the GIL and a live argument.
            if let Some(v) = unsafe { convert::exact_int_in(o, $lo as i64, $hi as i64) } {
                return v as $ret;
            }
            let py = unsafe { Python::assume_attached() };
            let o = unsafe { obj(py, o) };
            set_error(py, int_in(&o, $lo as i128, $hi as i128, $cname).map(|v| v as $ret), -1i64 as $ret)
        }
    };
}

to_c_int!(to_c_i8, c_int, i8::MIN, i8::MAX, "8-bit int");
to_c_int!(to_c_u8, c_int, 0, u8::MAX, "8-bit unsigned int");
to_c_int!(to_c_i16, c_int, i16::MIN, i16::MAX, "16-bit int");
to_c_int!(to_c_u16, c_int, 0, u16::MAX, "16-bit unsigned int");
to_c_int!(to_c_i32, c_int, i32::MIN, i32::MAX, "32-bit int");
to_c_int!(to_c_u32, u32, 0, u32::MAX, "32-bit unsigned int");
to_c_int!(to_c_i64, i64, i64::MIN, i64::MAX, "64-bit int");
to_c_int!(to_c_u64, u64, 0, u64::MAX, "64-bit unsigned int");

unsafe extern "C" fn to_c_char(o: *mut ffi::PyObject) -> c_int {
    // SAFETY: as in to_c_i8.
    let py = unsafe { Python::assume_attached() };
    let o = unsafe { obj(py, o) };
    let r = (|| {
        if let Ok(b) = o.cast::<PyBytes>() {
            if b.as_bytes().len() == 1 {
                return Ok(b.as_bytes()[0] as c_int);
            }
        }
        if let Ok(cd) = o.cast::<CData>() {
            let cd = cd.get();
            if cd.ctype.get().is_char() {
                // SAFETY: a char cdata points to one readable byte.
                return Ok(unsafe { *cd.addr() } as c_int);
            }
        }
        Err(PyTypeError::new_err(format!(
            "initializer for ctype 'char' must be a bytes of length 1, not {}",
            convert::type_name(&o)
        )))
    })();
    set_error(py, r, -1)
}

unsafe extern "C" fn from_c_pointer(p: *mut c_char, t: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: GIL held; `t` is a ctype of the module.
    let py = unsafe { Python::assume_attached() };
    let t = unsafe { ctype_at(py, t) };
    new_ref(CData::borrowed(py, &t, p.cast()).map(|c| c.into_any()), py)
}

unsafe extern "C" fn to_c_pointer(o: *mut ffi::PyObject, t: *mut c_void) -> *mut c_char {
    // SAFETY: as above.
    let py = unsafe { Python::assume_attached() };
    let (o, t) = unsafe { (obj(py, o), ctype_at(py, t)) };
    set_error(py, convert::pointer_from(py, t.get(), &o), std::ptr::null_mut()).cast()
}

unsafe extern "C" fn restore_errno() {
    crate::errno::restore();
}

unsafe extern "C" fn save_errno() {
    crate::errno::save();
}

unsafe extern "C" fn from_c_char(c: c_char) -> *mut ffi::PyObject {
    // SAFETY: GIL held.
    let py = unsafe { Python::assume_attached() };
    PyBytes::new(py, &[c as u8]).into_any().unbind().into_ptr()
}

/// `convert_to_object`: the Python value of the C data at `data`.
unsafe extern "C" fn to_object(data: *mut c_char, t: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: GIL held; `data` holds a value of type `t`.
    let py = unsafe { Python::assume_attached() };
    let t = unsafe { ctype_at(py, t) };
    new_ref(unsafe { convert::read(py, &t, data as *const u8) }, py)
}

/// `convert_from_object`: store a Python value into `data`; 0, or -1 with an exception.
unsafe extern "C" fn from_object(data: *mut c_char, t: *mut c_void, o: *mut ffi::PyObject) -> c_int {
    // SAFETY: GIL held; `data` has room for a value of type `t`.
    let py = unsafe { Python::assume_attached() };
    let (t, o) = unsafe { (ctype_at(py, t), obj(py, o)) };
    set_error(py, unsafe { convert::write(py, &t, data.cast(), &o) }.map(|_| 0), -1)
}

/// A struct/union returned by value: a new cdata owning a copy.
unsafe extern "C" fn struct_to_owning_object(data: *mut c_char, t: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: GIL held; `data` holds a struct of type `t`.
    let py = unsafe { Python::assume_attached() };
    let t = unsafe { ctype_at(py, t) };
    let r = (|| {
        let size = t.get().size().max(0) as usize;
        let mem = OwnedMem::zeroed(size.max(1), t.get().align().max(1))?;
        // SAFETY: both hold `size` bytes.
        unsafe { std::ptr::copy_nonoverlapping(data as *const u8, mem.ptr(), size) };
        Ok(CData::with(&t, Owner::own(mem, -1)).into_object(py)?.into_any())
    })();
    new_ref(r, py)
}

fn wide_from(o: &Bound<'_, PyAny>, size: usize) -> PyResult<u32> {
    let name = if size == 2 { "char16_t" } else { "char32_t" };
    if let Ok(s) = o.cast::<PyString>() {
        let units = convert::string_to_units(s, size)?;
        if units.len() == 1 {
            return Ok(units[0]);
        }
    }
    if let Ok(cd) = o.cast::<CData>() {
        let c = cd.get();
        let t = c.ctype.get();
        if t.prim_kind() == Some(model::PrimKind::WideChar) && t.size() == size as isize {
            // SAFETY: a wide-char cdata points to `size` readable bytes.
            return Ok(unsafe {
                if size == 2 {
                    (c.addr() as *const u16).read_unaligned() as u32
                } else {
                    (c.addr() as *const u32).read_unaligned()
                }
            });
        }
    }
    Err(PyTypeError::new_err(format!(
        "initializer for ctype '{name}' must be a unicode string of length 1, not {}",
        convert::type_name(o)
    )))
}

/// wchar_t is 4 bytes here: `_cffi_to_c_wchar_t`.
unsafe extern "C" fn to_c_wchar_t(o: *mut ffi::PyObject) -> u32 {
    // SAFETY: GIL held.
    let py = unsafe { Python::assume_attached() };
    let o = unsafe { obj(py, o) };
    set_error(py, wide_from(&o, 4), u32::MAX)
}

unsafe extern "C" fn from_c_wchar_t(x: u32) -> *mut ffi::PyObject {
    // SAFETY: GIL held.
    let py = unsafe { Python::assume_attached() };
    new_ref(convert::wide_char_to_py(py, x), py)
}

/// The wide character type of the other size (char16_t here).
unsafe extern "C" fn to_c_wchar3216_t(o: *mut ffi::PyObject) -> c_int {
    // SAFETY: GIL held.
    let py = unsafe { Python::assume_attached() };
    let o = unsafe { obj(py, o) };
    set_error(py, wide_from(&o, 2).map(|v| v as c_int), -1)
}

unsafe extern "C" fn from_c_wchar3216_t(x: c_int) -> *mut ffi::PyObject {
    // SAFETY: GIL held.
    let py = unsafe { Python::assume_attached() };
    new_ref(convert::wide_char_to_py(py, x as u32 & 0xffff), py)
}

/// `_Bool`: 0 or 1; on error 1 (the generated code compares with `(_Bool)-1`) with an exception.
unsafe extern "C" fn to_c_bool(o: *mut ffi::PyObject) -> u8 {
    // SAFETY: GIL held.
    let py = unsafe { Python::assume_attached() };
    let o = unsafe { obj(py, o) };
    set_error(py, int_in(&o, 0, 1, "_Bool").map(|v| v as u8), 1)
}

/// For a `T *` argument: 0 after storing the pointer into `*output`; or the size in bytes of
/// the temporary array the caller must allocate and fill with `convert_array_from_object`
/// (for a list, tuple, bytes or str argument); or -1 with an exception.
unsafe extern "C" fn prepare_pointer_call_argument(t: *mut c_void, o: *mut ffi::PyObject, output: *mut *mut c_char) -> isize {
    // SAFETY: GIL held; `t` is a pointer ctype; `output` points to a pointer slot.
    let py = unsafe { Python::assume_attached() };
    let (t, o) = unsafe { (ctype_at(py, t), obj(py, o)) };
    let r = crate::call::pointer_argument(py, t.get(), &o).and_then(|x| match x {
        crate::call::PointerArg::Direct(p) => {
            // SAFETY: see above.
            unsafe { *output = p.cast() };
            Ok(0)
        }
        crate::call::PointerArg::Temporary(n) => Ok(n as isize),
        crate::call::PointerArg::Default => {
            let p = convert::pointer_from(py, t.get(), &o)?;
            // SAFETY: see above.
            unsafe { *output = p.cast() };
            Ok(0)
        }
    });
    set_error(py, r, -1)
}

/// Fill the (zeroed) temporary array of a pointer argument; 0, or -1 with an exception.
unsafe extern "C" fn convert_array_from_object(data: *mut c_char, t: *mut c_void, o: *mut ffi::PyObject) -> c_int {
    // SAFETY: GIL held; `data` has the room prepare_pointer_call_argument asked for.
    let py = unsafe { Python::assume_attached() };
    let (t, o) = unsafe { (ctype_at(py, t), obj(py, o)) };
    set_error(py, unsafe { convert::write_array(py, &t, data.cast(), &o) }.map(|_| 0), -1)
}

/// `_cffi_to_c_long_double(obj)`: the value of `obj` as an x87 `long double`, returned in
/// st(0) as the System V convention wants. Rust has no 80-bit float type, so a small assembly
/// entry asks `long_double_bits` for the 16 bytes and loads them into st(0). On error the
/// Python exception is set and the value is 0 (the caller checks PyErr_Occurred()).
#[cfg(all(target_arch = "x86_64", not(windows)))]
#[unsafe(naked)]
unsafe extern "C" fn to_c_long_double() {
    core::arch::naked_asm!(
        "sub rsp, 24",              // 16-byte buffer; keeps the stack 16-byte aligned
        "mov rsi, rsp",             // rdi = obj (unchanged), rsi = buffer
        "call {bits}",
        "fld tbyte ptr [rsp]",      // st0 = the value
        "add rsp, 24",
        "ret",
        bits = sym long_double_bits,
    )
}

/// Writes `obj` converted to `long double` at `out` (16 bytes); -1 and a Python exception on
/// error (generated code checks for `-1 && PyErr_Occurred()`, as after `PyFloat_AsDouble`).
unsafe extern "C" fn long_double_bits(o: *mut ffi::PyObject, out: *mut u8) {
    // SAFETY: GIL held; `out` is the 16-byte buffer of `to_c_long_double`.
    let py = unsafe { Python::assume_attached() };
    let o = unsafe { obj(py, o) };
    // A long double cdata keeps its full precision.
    if let Ok(cd) = o.cast::<crate::cdata::CData>() {
        let cd = cd.get();
        if cd.ctype.get().prim_kind() == Some(model::PrimKind::LongDouble) {
            // SAFETY: a long double cdata holds 16 readable bytes; `out` has room for 16.
            unsafe { std::ptr::copy_nonoverlapping(cd.addr(), out, 16) };
            return;
        }
    }
    let r = crate::convert::float_from(&o);
    // SAFETY: as above.
    unsafe { model::raw::write_long_double(out, r.as_ref().copied().unwrap_or(-1.0)) };
    if let Err(e) = r {
        e.restore(py);
    }
}

#[cfg(all(target_arch = "x86_64", not(windows)))]
fn to_c_long_double_slot() -> *mut c_void {
    to_c_long_double as *mut c_void
}

#[cfg(not(all(target_arch = "x86_64", not(windows))))]
fn to_c_long_double_slot() -> *mut c_void {
    std::ptr::null_mut()
}

/// Entries with no implementation (the unused struct-layout one, and `long double`, whose
/// x87 return convention Rust cannot express): NULL.
pub fn exports() -> [*mut c_void; NUM_EXPORTS] {
    [
        std::ptr::null_mut(),
        to_c_i8 as *mut c_void,
        to_c_u8 as *mut c_void,
        to_c_i16 as *mut c_void,
        to_c_u16 as *mut c_void,
        to_c_i32 as *mut c_void,
        to_c_u32 as *mut c_void,
        to_c_i64 as *mut c_void,
        to_c_u64 as *mut c_void,
        to_c_char as *mut c_void,
        from_c_pointer as *mut c_void,
        to_c_pointer as *mut c_void,
        std::ptr::null_mut(),
        restore_errno as *mut c_void,
        save_errno as *mut c_void,
        from_c_char as *mut c_void,
        to_object as *mut c_void,
        from_object as *mut c_void,
        struct_to_owning_object as *mut c_void,
        to_c_wchar_t as *mut c_void,
        from_c_wchar_t as *mut c_void,
        to_c_long_double_slot(),
        to_c_bool as *mut c_void,
        prepare_pointer_call_argument as *mut c_void,
        convert_array_from_object as *mut c_void,
        crate::extern_python::call_python as *mut c_void,
        to_c_wchar3216_t as *mut c_void,
        from_c_wchar3216_t as *mut c_void,
    ]
}

/// The table, for the `_C_API` capsule (lives for the whole process).
pub fn exports_static() -> *mut c_void {
    static TABLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *TABLE.get_or_init(|| Box::leak(Box::new(exports())).as_mut_ptr() as usize) as *mut c_void
}

/// Add `_C_API` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // SAFETY: a capsule named by a static C string, around a table that lives forever.
    let cap = unsafe { ffi::PyCapsule_New(exports_static(), c"cffi".as_ptr(), None) };
    let cap = unsafe { Bound::from_owned_ptr_or_err(py, cap) }?;
    m.add("_C_API", cap)
}
