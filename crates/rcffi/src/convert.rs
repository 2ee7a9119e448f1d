//! Python <-> C conversions, one place per kind of C type: used by item and field access,
//! `ffi.new()` initializers, call arguments and results, callbacks and globals. The rules and the
//! error messages follow the "Conversions" table of the docs and upstream cffi.

use model::raw;
use model::PrimKind;
use pyo3::exceptions::{PyIndexError, PyKeyError, PyOverflowError, PySystemError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyComplex, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::cdata::CData;
use crate::ctype::{CType, Kind};
use crate::record::Field;

// ---- C -> Python -----------------------------------------------------------------------------

/// Read the C value of type `ct` at `ptr` as a Python object. Pointers, arrays and structs come
/// back as cdata that borrow the memory (they do not keep it alive).
///
/// # Safety
/// `ptr` must be valid for reading `ct.size()` bytes.
pub unsafe fn read(py: Python<'_>, ct: &Bound<'_, CType>, ptr: *const u8) -> PyResult<Py<PyAny>> {
    let t = ct.get();
    match t.kind {
        Kind::Primitive | Kind::Enum => {
            // SAFETY: forwarded from the caller.
            unsafe { read_primitive(py, t, ptr) }
        }
        Kind::Pointer | Kind::Function => {
            // SAFETY: a pointer-sized read, covered by the caller's guarantee.
            let value = unsafe { ptr.cast::<*mut u8>().read_unaligned() };
            Ok(CData::borrowed(py, ct, value)?.into_any())
        }
        Kind::Struct | Kind::Union => {
            if t.record.get().is_none() {
                return Err(PyTypeError::new_err(format!("cdata '{}' is opaque", t.name)));
            }
            Ok(CData::borrowed(py, ct, ptr as *mut u8)?.into_any())
        }
        Kind::Array => {
            if t.length < 0 {
                // A `T[]` of unknown length reads as a `T *`, as upstream does.
                let p = crate::ctype::new_pointer(py, t.item.as_ref().unwrap().bind(py))?;
                return Ok(CData::borrowed(py, p.bind(py), ptr as *mut u8)?.into_any());
            }
            Ok(CData::borrowed(py, ct, ptr as *mut u8)?.into_any())
        }
        Kind::Void => Err(PyTypeError::new_err(format!("cannot read a value of ctype '{}'", t.name))),
    }
}

/// # Safety
/// `ptr` must be valid for reading `t.size()` bytes.
pub unsafe fn read_primitive(py: Python<'_>, t: &CType, ptr: *const u8) -> PyResult<Py<PyAny>> {
    let prim = t.prim.expect("primitive ctype");
    // SAFETY (all reads below): forwarded from the caller; sizes come from the ctype.
    unsafe {
        Ok(match prim.kind {
            // Through i64/u64: Python ints are made much faster from those than from i128.
            PrimKind::Signed => (raw::read_int(ptr, prim.size, true) as i64).into_pyobject(py)?.into_any().unbind(),
            PrimKind::Unsigned => (raw::read_int(ptr, prim.size, false) as u64).into_pyobject(py)?.into_any().unbind(),
            PrimKind::Bool => match *ptr {
                0 => false.into_pyobject(py)?.to_owned().into_any().unbind(),
                1 => true.into_pyobject(py)?.to_owned().into_any().unbind(),
                v => {
                    return Err(PyValueError::new_err(format!(
                        "got a _Bool of value {v}, expected 0 or 1"
                    )))
                }
            },
            PrimKind::Char => PyBytes::new(py, std::slice::from_raw_parts(ptr, 1)).into_any().unbind(),
            PrimKind::WideChar => {
                let code = raw::read_int(ptr, prim.size, false) as u32;
                wide_char_to_py(py, code)?
            }
            PrimKind::Float => PyFloat::new(py, raw::read_float(ptr, prim.size)).into_any().unbind(),
            PrimKind::LongDouble => {
                // Reading a long double gives a cdata, so that no precision is lost.
                let cd = CData::new_value(py, &crate::ctype::new_primitive(py, prim)?.into_bound(py))?;
                std::ptr::copy_nonoverlapping(ptr, cd.get().addr(), 16);
                cd.into_any()
            }
            PrimKind::Complex => {
                let half = prim.size / 2;
                let re = raw::read_float(ptr, half);
                let im = raw::read_float(ptr.add(half), half);
                PyComplex::from_doubles(py, re, im).into_any().unbind()
            }
        })
    }
}

/// A Python int for a C integer value: made from an i64/u64 when it fits, as PyO3 makes an
/// i128 through a byte array, ten times slower.
pub fn int_to_py(py: Python<'_>, v: i128) -> PyResult<Py<PyAny>> {
    let obj = if let Ok(small) = i64::try_from(v) {
        small.into_pyobject(py)?.into_any()
    } else if let Ok(big) = u64::try_from(v) {
        big.into_pyobject(py)?.into_any()
    } else {
        v.into_pyobject(py)?.into_any()
    };
    Ok(obj.unbind())
}

/// The hot case of integer conversions: an exact `int` within [lo, hi]. None for anything else
/// (other types, out of range, overflow), with no error set: the general conversion then gives
/// the result or its error.
///
/// # Safety
/// `o` must be a live object, and the GIL held.
pub unsafe fn exact_int_in(o: *mut pyo3::ffi::PyObject, lo: i64, hi: i64) -> Option<i64> {
    use pyo3::ffi;
    // SAFETY: forwarded.
    unsafe {
        if ffi::PyLong_CheckExact(o) == 0 {
            return None;
        }
        let mut overflow: std::os::raw::c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(o, &mut overflow);
        if overflow != 0 || (v == -1 && !ffi::PyErr_Occurred().is_null()) {
            ffi::PyErr_Clear();
            return None;
        }
        (lo..=hi).contains(&v).then_some(v)
    }
}

/// The values of a C integer of `size` bytes (1, 2, 4 or 8) that fit an i64: all of them, but
/// for unsigned 64-bit ones, those up to `i64::MAX`.
pub fn int_range(size: usize, signed: bool) -> (i64, i64) {
    let bits = 8 * size.clamp(1, 8) as u32;
    match (signed, bits) {
        (true, 64) => (i64::MIN, i64::MAX),
        (true, _) => (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1),
        (false, 64) => (0, i64::MAX),
        (false, _) => (0, (1i64 << bits) - 1),
    }
}

/// The one-character string of a `wchar_t` / `char16_t` / `char32_t` value.
pub fn wide_char_to_py(py: Python<'_>, code: u32) -> PyResult<Py<PyAny>> {
    match char::from_u32(code) {
        Some(c) => Ok(PyString::new(py, c.encode_utf8(&mut [0; 4])).into_any().unbind()),
        // A lone surrogate: Python can represent it even though Rust cannot.
        None if code <= 0x10ffff => Ok(py.import("builtins")?.getattr("chr")?.call1((code,))?.unbind()),
        None => Err(PyValueError::new_err(format!("char32_t out of range for conversion to unicode: 0x{code:x}"))),
    }
}

// ---- Python -> C -----------------------------------------------------------------------------

/// Convert `obj` and store it as a C value of type `ct` at `ptr`.
///
/// # Safety
/// `ptr` must be valid for writing `ct.size()` bytes (for `T[]`, as many items as `obj` gives).
pub unsafe fn write(py: Python<'_>, ct: &Bound<'_, CType>, ptr: *mut u8, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let t = ct.get();
    // SAFETY (all writes below): forwarded from the caller.
    unsafe {
        match t.kind {
            Kind::Primitive | Kind::Enum => write_primitive(py, t, ptr, obj),
            Kind::Pointer | Kind::Function => {
                let value = pointer_from(py, t, obj)?;
                ptr.cast::<*mut u8>().write_unaligned(value);
                Ok(())
            }
            Kind::Array => write_array(py, ct, ptr, obj),
            Kind::Struct | Kind::Union => write_record(py, ct, ptr, obj),
            Kind::Void => Err(PyTypeError::new_err(format!("cannot initialize a value of ctype '{}'", t.name))),
        }
    }
}

/// # Safety
/// `ptr` must be valid for writing `t.size()` bytes.
pub unsafe fn write_primitive(py: Python<'_>, t: &CType, ptr: *mut u8, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let prim = t.prim.expect("primitive ctype");
    // SAFETY (all writes below): forwarded from the caller; sizes come from the ctype.
    unsafe {
        match prim.kind {
            PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool => {
                // the common case first: an exact int that fits
                if prim.kind != PrimKind::Bool && prim.size <= 8 {
                    let (lo, hi) = int_range(prim.size, prim.kind == PrimKind::Signed);
                    if let Some(v) = exact_int_in(obj.as_ptr(), lo, hi) {
                        raw::write_int(ptr, prim.size, v as i128);
                        return Ok(());
                    }
                }
                let v = to_integer_strict(obj)?;
                let fits = if prim.kind == PrimKind::Bool {
                    v == 0 || v == 1
                } else {
                    if prim.kind == PrimKind::Unsigned && v < 0 {
                        return Err(PyOverflowError::new_err("can't convert negative number to unsigned"));
                    }
                    raw::int_fits(v, prim.size, prim.kind == PrimKind::Signed)
                };
                if !fits {
                    return Err(overflow(obj, &t.name));
                }
                raw::write_int(ptr, prim.size, v);
            }
            PrimKind::Char => ptr.write(char_from(obj)?),
            PrimKind::WideChar => raw::write_int(ptr, prim.size, wide_char_from(obj, prim.size)? as i128),
            PrimKind::Float => raw::write_float(ptr, prim.size, float_from(obj)?),
            PrimKind::LongDouble => {
                if let Ok(cd) = obj.cast::<CData>() {
                    let cd = cd.get();
                    if cd.ctype.get().prim_kind() == Some(PrimKind::LongDouble) {
                        std::ptr::copy_nonoverlapping(cd.addr(), ptr, 16);
                        return Ok(());
                    }
                }
                raw::write_long_double(ptr, float_from(obj)?)
            }
            PrimKind::Complex => {
                let (re, im) = complex_from(obj)?;
                let half = prim.size / 2;
                raw::write_float(ptr, half, re);
                raw::write_float(ptr.add(half), half, im);
            }
        }
    }
    let _ = py;
    Ok(())
}

fn overflow(obj: &Bound<'_, PyAny>, ct_name: &str) -> PyErr {
    let s = obj.str().map(|s| s.to_string()).unwrap_or_default();
    PyOverflowError::new_err(format!("integer {s} does not fit '{ct_name}'"))
}

/// An integer from a Python int or an object with `__int__`, refusing floats and cdata (as
/// upstream's strict conversion does). Values beyond 128 bits are an OverflowError.
pub fn to_integer_strict(obj: &Bound<'_, PyAny>) -> PyResult<i128> {
    if let Ok(i) = obj.cast::<PyInt>() {
        return int_to_i128(i);
    }
    let float_cdata = obj.cast::<CData>().is_ok_and(|c| c.get().ctype.get().prim.is_some_and(|p| p.is_float()));
    if obj.is_instance_of::<PyFloat>() || float_cdata {
        return Err(PyTypeError::new_err("an integer is required"));
    }
    if !obj.hasattr("__int__")? && !obj.hasattr("__index__")? {
        return Err(PyTypeError::new_err("an integer is required"));
    }
    let io = obj.call_method0(if obj.hasattr("__index__")? { "__index__" } else { "__int__" })?;
    match io.cast::<PyInt>() {
        Ok(i) => int_to_i128(i),
        Err(_) => Err(PyTypeError::new_err("integer conversion failed")),
    }
}

fn int_to_i128(i: &Bound<'_, PyInt>) -> PyResult<i128> {
    // Nearly every int fits an i64, and that extraction is much cheaper than i128's.
    if let Ok(v) = i.extract::<i64>() {
        return Ok(v as i128);
    }
    i.extract::<i128>().map_err(|_| PyOverflowError::new_err("Python int too large to convert to C long"))
}

/// A float from a Python number (int, float, `__float__`, or a primitive cdata).
pub fn float_from(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(cd) = obj.cast::<CData>() {
        // Only float cdata convert, as `float(cdata)` does upstream.
        let t = cd.get().ctype.get();
        if !t.prim.is_some_and(|p| p.is_float()) {
            return Err(PyTypeError::new_err(format!("float() not supported on cdata '{}'", t.name)));
        }
        return crate::cdata::cdata_to_float(cd.get());
    }
    obj.extract::<f64>()
}

fn complex_from(obj: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    if let Ok(c) = obj.cast::<PyComplex>() {
        return Ok((c.real(), c.imag()));
    }
    if let Ok(f) = obj.extract::<f64>() {
        return Ok((f, 0.0));
    }
    let c = obj.call_method0("__complex__").map_err(|_| {
        PyTypeError::new_err(format!("complex() argument must be a number, not '{}'", type_name(obj)))
    })?;
    let c = c.cast::<PyComplex>()?;
    Ok((c.real(), c.imag()))
}

fn char_from(obj: &Bound<'_, PyAny>) -> PyResult<u8> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        if b.as_bytes().len() == 1 {
            return Ok(b.as_bytes()[0]);
        }
    }
    if let Ok(cd) = obj.cast::<CData>() {
        let cd = cd.get();
        let t = cd.ctype.get();
        if t.is_char() {
            // SAFETY: a char cdata's address holds one readable byte.
            return Ok(unsafe { *cd.addr() });
        }
    }
    Err(PyTypeError::new_err(format!(
        "initializer for ctype 'char' must be a bytes of length 1, not {}",
        type_name(obj)
    )))
}

fn wide_char_from(obj: &Bound<'_, PyAny>, size: usize) -> PyResult<u32> {
    let tname = if size == 2 { "char16_t" } else { "char32_t" };
    let mut got = type_name(obj);
    if let Ok(s) = obj.cast::<PyString>() {
        let units = string_to_units(s, size)?;
        if units.len() == 1 {
            return Ok(units[0]);
        }
        got = if size == 2 && units.len() == 2 && s.len()? == 1 {
            "larger-than-0xFFFF character".to_string()
        } else {
            format!("str of length {}", s.len()?)
        };
    }
    if let Ok(cd) = obj.cast::<CData>() {
        let cd = cd.get();
        let t = cd.ctype.get();
        if t.prim_kind() == Some(PrimKind::WideChar) && t.size() == size as isize {
            // SAFETY: a wide-char cdata's address holds `size` readable bytes.
            return Ok(unsafe { raw::read_int(cd.addr(), size, false) } as u32);
        }
    }
    Err(PyTypeError::new_err(format!(
        "initializer for ctype '{tname}' must be a unicode string of length 1, not {got}"
    )))
}

/// The code units of `s` as UTF-16 (size 2: characters above U+FFFF become surrogate pairs) or
/// UTF-32 (size 4). Lone surrogates in the str pass through as they are.
pub fn string_to_units(s: &Bound<'_, PyString>, size: usize) -> PyResult<Vec<u32>> {
    // SAFETY: `data()` reads the str's canonical storage, which lives as long as `s`.
    let data = unsafe { s.data()? };
    let code_points: Vec<u32> = match data {
        pyo3::types::string::PyStringData::Ucs1(b) => b.iter().map(|&c| c as u32).collect(),
        pyo3::types::string::PyStringData::Ucs2(b) => b.iter().map(|&c| c as u32).collect(),
        pyo3::types::string::PyStringData::Ucs4(b) => b.to_vec(),
    };
    let mut out = Vec::with_capacity(code_points.len());
    for c in code_points {
        if size == 2 && c > 0xffff {
            let v = c - 0x10000;
            out.push(0xd800 + (v >> 10));
            out.push(0xdc00 + (v & 0x3ff));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// The address a Python object stands for when stored into a pointer of type `t`.
pub fn pointer_from(py: Python<'_>, t: &CType, obj: &Bound<'_, PyAny>) -> PyResult<*mut u8> {
    let Ok(cd) = obj.cast::<CData>() else {
        // `lib.f` of a compiled module where a function pointer is expected.
        if let Some((ft, addr)) = crate::directfn::lookup(py, obj) {
            if t.kind == Kind::Function && std::ptr::eq(ft.get(), t) || t.is_void_pointer(py) {
                return Ok(addr);
            }
        }
        return Err(convert_error(obj, t, "cdata pointer"));
    };
    let c = cd.get();
    let src = c.ctype.bind(py).get();
    let src_ptr_type;
    let src = match src.kind {
        Kind::Pointer | Kind::Function => src,
        Kind::Array => {
            src_ptr_type = crate::ctype::decay_pointer(py, c.ctype.bind(py))?;
            src_ptr_type.bind(py).get()
        }
        _ => return Err(convert_error(obj, t, "pointer or array")),
    };
    if !std::ptr::eq(src, t) && !pointers_compatible(py, t, src)? {
        return Err(convert_error(obj, t, "pointer to same type"));
    }
    Ok(c.addr())
}

/// Whether a `src` pointer may be stored into a `dst` pointer without a cast: `void *` on either
/// side, or `char *` with another pointer to one-byte items.
fn pointers_compatible(py: Python<'_>, dst: &CType, src: &CType) -> PyResult<bool> {
    if dst.is_void_pointer(py) || src.is_void_pointer(py) {
        return Ok(true);
    }
    let is_char_ptr = |t: &CType| t.kind == Kind::Pointer && t.item_ref(py).is_char();
    if is_char_ptr(dst) || is_char_ptr(src) {
        if dst.kind == Kind::Pointer
            && src.kind == Kind::Pointer
            && dst.item_ref(py).size() == 1
            && src.item_ref(py).size() == 1
        {
            return Ok(true);
        }
        return Err(PyTypeError::new_err(if is_char_ptr(dst) {
            "implicit cast to 'char *' from a different pointer type.(check that the types are as you expect; use an explicit ffi.cast() if they are correct)"
        } else {
            "implicit cast from 'char *' to a different pointer type: (check that the types are as you expect; use an explicit ffi.cast() if they are correct)"
        }));
    }
    Ok(false)
}

/// `initializer for ctype 'T' must be a <expected>, not <what obj is>`.
pub fn convert_error(obj: &Bound<'_, PyAny>, t: &CType, expected: &str) -> PyErr {
    if let Ok(cd) = obj.cast::<CData>() {
        let other = cd.get().ctype.get();
        if other.name != t.name {
            return PyTypeError::new_err(format!(
                "initializer for ctype '{}' must be a {}, not cdata '{}'",
                t.name, expected, other.name
            ));
        }
        if !std::ptr::eq(other, t) {
            return PyTypeError::new_err(format!(
                "initializer for ctype '{}' appears indeed to be '{}', but the types are different (check that you are not e.g. mixing up different ffi instances)",
                t.name, other.name
            ));
        }
        return PySystemError::new_err(format!("initializer for ctype '{}' is correct, but we get an internal mismatch", t.name));
    }
    PyTypeError::new_err(format!(
        "initializer for ctype '{}' must be a {}, not {}",
        t.name,
        expected,
        type_name(obj)
    ))
}

/// The items of a list or tuple initializer: read directly from an exact list or tuple (as
/// upstream's `PySequence_Fast`; the iterator protocol's length hint alone costs more than a
/// small struct's conversion), through iteration from a subclass.
fn sequence_items<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(list) = obj.cast_exact::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    obj.try_iter()?.collect()
}

pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Fill an array from a list/tuple, from bytes (char-sized items) or str (wide chars), or from a
/// cdata of the very same array type.
///
/// # Safety
/// `ptr` must be valid for the array's size, or for as many items as `obj` gives for `T[]`.
pub unsafe fn write_array(py: Python<'_>, ct: &Bound<'_, CType>, ptr: *mut u8, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let t = ct.get();
    let item = t.item.as_ref().unwrap().bind(py);
    let it = item.get();
    let item_size = it.size() as usize;
    let expected;
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = sequence_items(obj)?;
        if t.length >= 0 && items.len() as isize > t.length {
            return Err(PyIndexError::new_err(format!(
                "too many initializers for '{}' (got {})",
                t.name,
                items.len()
            )));
        }
        for (i, x) in items.iter().enumerate() {
            // SAFETY: i < the array length (checked above, or sized from obj by the caller).
            unsafe { write(py, item, ptr.add(i * item_size), x)? };
        }
        return Ok(());
    }
    let char_like = it.is_char() || (it.is_integer() && it.kind == Kind::Primitive && item_size == 1);
    if char_like && item_size == 1 {
        if let Ok(b) = obj.cast::<PyBytes>() {
            let data = b.as_bytes();
            if t.length >= 0 && data.len() as isize > t.length {
                return Err(PyIndexError::new_err(format!(
                    "initializer bytes is too long for '{}' (got {} characters)",
                    t.name,
                    data.len()
                )));
            }
            if it.prim_kind() == Some(PrimKind::Bool) && data.iter().any(|&c| c > 1) {
                return Err(PyValueError::new_err("an array of _Bool can only contain \\x00 or \\x01"));
            }
            // SAFETY: the bytes fit (checked above); the terminating zero is written only when
            // there is room for it (the memory is zero-initialized otherwise).
            unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, data.len());
                if data.len() as isize != t.length {
                    *ptr.add(data.len()) = 0;
                }
            }
            return Ok(());
        }
        expected = "bytes or list or tuple";
    } else if it.prim_kind() == Some(PrimKind::WideChar) {
        if let Ok(s) = obj.cast::<PyString>() {
            let units = string_to_units(s, item_size)?;
            if t.length >= 0 && units.len() as isize > t.length {
                return Err(PyIndexError::new_err(format!(
                    "initializer unicode is too long for '{}' (got {} characters)",
                    t.name,
                    units.len()
                )));
            }
            for (i, u) in units.iter().enumerate() {
                // SAFETY: within the array (checked above).
                unsafe { raw::write_int(ptr.add(i * item_size), item_size, *u as i128) };
            }
            if units.len() as isize != t.length {
                // SAFETY: room for the terminator (the length differs, so it is larger or unknown).
                unsafe { raw::write_int(ptr.add(units.len() * item_size), item_size, 0) };
            }
            return Ok(());
        }
        expected = "unicode or list or tuple";
    } else {
        expected = "list or tuple";
    }
    if let Ok(cd) = obj.cast::<CData>() {
        let c = cd.get();
        if std::ptr::eq(c.ctype.get(), t) {
            let n = c.array_length(py) as usize * item_size;
            // SAFETY: same array type, so the same byte length.
            unsafe { std::ptr::copy(c.addr(), ptr, n) };
            return Ok(());
        }
    }
    Err(convert_error(obj, t, expected))
}

/// Fill a struct/union from a list/tuple (fields in order), a dict (by name) or a cdata of the
/// same type.
///
/// # Safety
/// `ptr` must be valid for the struct's size (plus any var-size array the initializer sizes).
pub unsafe fn write_record(py: Python<'_>, ct: &Bound<'_, CType>, ptr: *mut u8, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let t = ct.get();
    if let Ok(cd) = obj.cast::<CData>() {
        let c = cd.get();
        if std::ptr::eq(c.ctype.get(), t) && t.size() >= 0 {
            // SAFETY: same struct type, so the same size.
            unsafe { std::ptr::copy(c.addr(), ptr, t.size() as usize) };
            return Ok(());
        }
    }
    let Some(rec) = t.record.get() else {
        return Err(PyTypeError::new_err(format!("'{}' is opaque", t.name)));
    };
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = sequence_items(obj)?;
        let mut fields = rec.fields.iter().filter(|f| !f.ignore_in_ctor());
        for x in &items {
            let Some(f) = fields.next() else {
                return Err(PyValueError::new_err(format!(
                    "too many initializers for '{}' (got {})",
                    t.name,
                    items.len()
                )));
            };
            // SAFETY: the field lies within the struct.
            unsafe { write_field_init(py, f, ptr, x)? };
        }
        return Ok(());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            let f = k.extract::<String>().ok().and_then(|name| rec.field(&name));
            let Some(f) = f else {
                return Err(PyKeyError::new_err(k.unbind()));
            };
            // SAFETY: the field lies within the struct.
            unsafe { write_field_init(py, f, ptr, &v)? };
        }
        return Ok(());
    }
    Err(convert_error(obj, t, "list or tuple or dict or struct-cdata"))
}

/// Initialize one field; an integer given for a var-size array only sizes it (the memory is
/// already zeroed).
///
/// # Safety
/// `base` must be valid for the struct's size including the var-size part.
unsafe fn write_field_init(py: Python<'_>, f: &Field, base: *mut u8, x: &Bound<'_, PyAny>) -> PyResult<()> {
    if f.is_varsize_array(py) && x.is_instance_of::<PyInt>() {
        return Ok(());
    }
    // SAFETY: forwarded from the caller.
    unsafe { write_field(py, f, base, x) }
}

/// Store a field of a struct at `base`.
///
/// # Safety
/// `base` must be valid for the struct's size.
pub unsafe fn write_field(py: Python<'_>, f: &Field, base: *mut u8, x: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: the field lies within the struct at `base`.
    let p = unsafe { base.add(f.offset) };
    if f.bitsize >= 0 {
        // SAFETY: as above.
        return unsafe { write_bitfield(py, f, p, x) };
    }
    let ft = f.ctype.bind(py);
    if f.is_varsize_array(py) {
        // Writing a whole `T[]` field: the length comes from the initializer.
        // SAFETY: the caller sized the allocation for it.
        return unsafe { write_array(py, ft, p, x) };
    }
    // SAFETY: as above.
    unsafe { write(py, ft, p, x) }
}

/// Read a field of a struct at `base`.
///
/// # Safety
/// `base` must be valid for the struct's size.
pub unsafe fn read_field(py: Python<'_>, f: &Field, base: *mut u8) -> PyResult<Py<PyAny>> {
    // SAFETY: the field lies within the struct at `base`.
    let p = unsafe { base.add(f.offset) };
    if f.bitsize >= 0 {
        // SAFETY: as above.
        return unsafe { read_bitfield(py, f, p) };
    }
    // SAFETY: as above.
    unsafe { read(py, f.ctype.bind(py), p) }
}

/// # Safety
/// `p` must be valid for the field's storage unit.
unsafe fn read_bitfield(py: Python<'_>, f: &Field, p: *const u8) -> PyResult<Py<PyAny>> {
    let t = f.ctype.get();
    let size = t.size() as usize;
    // SAFETY: forwarded from the caller.
    let raw = unsafe { raw::read_int(p, size, false) } as u128;
    let bits = f.bitsize as u32;
    let mut v = ((raw >> f.bitshift) & ((1u128 << bits) - 1)) as i128;
    if t.is_signed(py) && bits > 0 && v & (1i128 << (bits - 1)) != 0 {
        v -= 1i128 << bits;
    }
    if t.integer_type(py).prim_kind() == Some(PrimKind::Bool) {
        return Ok((v != 0).into_pyobject(py)?.to_owned().into_any().unbind());
    }
    int_to_py(py, v)
}

/// # Safety
/// `p` must be valid for the field's storage unit.
unsafe fn write_bitfield(py: Python<'_>, f: &Field, p: *mut u8, x: &Bound<'_, PyAny>) -> PyResult<()> {
    let t = f.ctype.get();
    let size = t.size() as usize;
    let v = to_integer_strict(x)?;
    let bits = f.bitsize as u32;
    let (min, max) = if t.is_signed(py) {
        let max = (1i128 << (bits - 1)) - 1;
        // "int x:1" may also receive 1 (it reads back as -1).
        (-(1i128 << (bits - 1)), if max == 0 { 1 } else { max })
    } else {
        (0, (1i128 << bits) - 1)
    };
    if v < min || v > max {
        return Err(PyOverflowError::new_err(format!(
            "value {} outside the range allowed by the bit field width: {} <= x <= {}",
            x.str()?,
            min,
            max
        )));
    }
    let mask = ((1u128 << bits) - 1) << f.bitshift;
    // SAFETY: forwarded from the caller.
    unsafe {
        let old = raw::read_int(p, size, false) as u128;
        let new = (old & !mask) | (((v as u128) << f.bitshift) & mask);
        raw::write_int(p, size, new as i128);
    }
    Ok(())
}
