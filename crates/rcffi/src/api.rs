//! The operations behind both `_cffi_backend`'s module functions and the `ffi.*` methods:
//! allocation, casts, sizes, strings, buffers, handles, gc. They take realized ctypes; `ffi.rs`
//! turns C type strings into ctypes first.

use model::PrimKind;
use pyo3::exceptions::{PyKeyError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::cdata::{CData, Inline, OwnedMem, Owner};
use crate::convert;
use crate::ctype::{CType, Kind};

// ---- ffi.new ---------------------------------------------------------------------------------

/// `ffi.new(ct, init)`: zeroed memory for `*ct` or `ct[]`, owned by the returned cdata.
pub fn newp(py: Python<'_>, ct: &Bound<'_, CType>, init: Option<&Bound<'_, PyAny>>) -> PyResult<Py<CData>> {
    newp_with(py, ct, init, |size, align, length| {
        // `align` is at least 8 here: inline storage serves exactly what needs no more. A
        // length per object (open arrays, var-size structs) takes half of that storage.
        if size <= Inline::<2>::SIZE && align <= 8 && length < 0 {
            return Ok(Owner::OwnInline(Inline::zeroed()));
        }
        if size <= Inline::<1>::SIZE && align <= 8 {
            return Ok(Owner::OwnInlineSized { cell: Inline::zeroed(), length });
        }
        Ok(Owner::own(OwnedMem::zeroed(size, align)?, length))
    })
}

/// `ffi.new()` with the memory from `alloc(size, align, length)`, which returns the owner of
/// zeroed (or, for allocators that asked for it, uninitialized) memory, for a cdata with that
/// `length` (see `CData::length`).
pub fn newp_with(
    py: Python<'_>,
    ct: &Bound<'_, CType>,
    init: Option<&Bound<'_, PyAny>>,
    alloc: impl FnOnce(usize, usize, isize) -> PyResult<Owner>,
) -> PyResult<Py<CData>> {
    let (data_size, length, item) = new_size(py, ct, init)?;
    let t = ct.get();
    let align = match t.kind {
        Kind::Pointer => t.item_ref(py).align(),
        _ => t.align(),
    };
    let owner = alloc(data_size, align.max(8), length)?;
    let cd = CData::with(ct, owner).into_object(py)?;
    // (For memory inside the object, known only now that the object exists.)
    let ptr = cd.get().addr();
    // For `T[]`, an integer initializer is only the length.
    let only_length = t.kind == Kind::Array && t.length < 0 && init.is_some_and(|i| i.is_instance_of::<PyInt>());
    if let Some(init) = init.filter(|i| !i.is_none() && !only_length) {
        // SAFETY: the memory was sized for the initializer by `new_size`.
        unsafe {
            if t.kind == Kind::Array {
                convert::write_array(py, ct, ptr, init)?;
            } else {
                convert::write(py, &item, ptr, init)?;
            }
        }
    }
    Ok(cd)
}

/// The byte size to allocate, the cdata's `length` and the item type, for `ffi.new(ct, init)`.
fn new_size<'py>(
    py: Python<'py>,
    ct: &Bound<'py, CType>,
    init: Option<&Bound<'py, PyAny>>,
) -> PyResult<(usize, isize, Bound<'py, CType>)> {
    let t = ct.get();
    match t.kind {
        Kind::Pointer => {
            let item = t.item.as_ref().unwrap().bind(py).clone();
            let it = item.get();
            let size = it.size();
            if size < 0 {
                if let Some(e) = it.lazy_error() {
                    return Err(e);
                }
                return Err(PyTypeError::new_err(format!(
                    "cannot instantiate ctype '{}' of unknown size",
                    it.name
                )));
            }
            if let Some(rec) = it.record.get().filter(|r| r.varsize) {
                if let Some(init) = init.filter(|i| !i.is_none()) {
                    let total = crate::varsize::struct_size_for(py, it, rec, init)?;
                    return Ok((total, total as isize, item));
                }
                // The cdata remembers its allocated size, so `p.y` is a `T[0]`-sized view.
                return Ok((size as usize, size, item));
            }
            // A lone char gets a terminating NUL after it, so that ffi.string() stops there.
            let chars = it.is_char() || it.prim_kind() == Some(PrimKind::WideChar);
            Ok((size as usize * if chars { 2 } else { 1 }, -1, item))
        }
        Kind::Array => {
            let item = t.item.as_ref().unwrap().bind(py).clone();
            let item_size = item.get().size() as usize;
            let length = if t.length >= 0 {
                t.length
            } else {
                match init {
                    None => return Err(PyTypeError::new_err("expected new array length or list/tuple/str, not NoneType")),
                    Some(i) => new_array_length(item.get(), i)?,
                }
            };
            let bytes = (length as usize).checked_mul(item_size).filter(|&b| b <= isize::MAX as usize);
            let Some(bytes) = bytes else {
                return Err(PyOverflowError::new_err("array size would overflow a ssize_t"));
            };
            Ok((bytes, if t.length >= 0 { -1 } else { length }, item))
        }
        _ => Err(PyTypeError::new_err(format!(
            "expected a pointer or array ctype, got '{}'",
            t.name
        ))),
    }
}

/// The number of items `ffi.new("T[]", init)` allocates: the length of a list/tuple, of a
/// bytes/str plus its terminator, or an integer.
pub fn new_array_length(item: &CType, init: &Bound<'_, PyAny>) -> PyResult<isize> {
    if init.is_instance_of::<PyList>() || init.is_instance_of::<PyTuple>() {
        return Ok(init.len()? as isize);
    }
    if let Ok(b) = init.cast::<PyBytes>() {
        return Ok(b.as_bytes().len() as isize + 1);
    }
    if let Ok(s) = init.cast::<PyString>() {
        return Ok(convert::string_to_units(s, item.size() as usize)?.len() as isize + 1);
    }
    match init.call_method0("__index__").and_then(|i| i.extract::<isize>()) {
        Ok(n) if n < 0 => Err(PyValueError::new_err("negative array length")),
        Ok(n) => Ok(n),
        Err(e) if e.is_instance_of::<PyTypeError>(init.py()) || !init.hasattr("__index__")? => Err(PyTypeError::new_err(format!(
            "expected new array length or list/tuple/str, not {}",
            convert::type_name(init)
        ))),
        Err(_) => Err(PyOverflowError::new_err("array size would overflow a ssize_t")),
    }
}

// ---- ffi.cast --------------------------------------------------------------------------------

pub fn cast(py: Python<'_>, ct: &Bound<'_, CType>, obj: &Bound<'_, PyAny>) -> PyResult<Py<CData>> {
    let t = ct.get();
    match t.kind {
        Kind::Pointer | Kind::Function | Kind::Array if t.size() >= 0 || t.kind != Kind::Array => {
            if let Ok(src) = obj.cast::<CData>() {
                let s = src.get();
                if matches!(s.ctype.get().kind, Kind::Pointer | Kind::Function | Kind::Array) {
                    return CData::borrowed(py, ct, s.addr());
                }
            }
            if let Some((_, addr)) = crate::directfn::lookup(py, obj) {
                return CData::borrowed(py, ct, addr);
            }
            if t.kind == Kind::Pointer && t.item_ref(py).is_file {
                if let Some(f) = crate::file::file_pointer(py, obj)? {
                    return CData::borrowed(py, ct, f);
                }
            }
            let v = integer_masked(obj)?;
            CData::borrowed(py, ct, v as usize as *mut u8)
        }
        Kind::Primitive | Kind::Enum => {
            let cd = CData::new_value(py, ct)?;
            let p = cd.get().addr();
            let prim = t.prim.expect("primitive");
            // SAFETY (writes below): inline storage holds any primitive (16 bytes).
            unsafe {
                match prim.kind {
                    PrimKind::Signed | PrimKind::Unsigned | PrimKind::Char | PrimKind::WideChar => {
                        let v = cast_integer_value(py, t, obj)?;
                        model::raw::write_int(p, prim.size, v);
                    }
                    PrimKind::Bool => {
                        // Truth value, not a truncation: cast("_Bool", 10**4000) is 1.
                        let v = if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<CData>() {
                            obj.is_truthy()?
                        } else {
                            cast_integer_value(py, t, obj)? != 0
                        };
                        *p = v as u8;
                    }
                    PrimKind::Float | PrimKind::LongDouble => {
                        if prim.kind == PrimKind::LongDouble {
                            if let Ok(src) = obj.cast::<CData>() {
                                if src.get().ctype.get().prim_kind() == Some(PrimKind::LongDouble) {
                                    std::ptr::copy_nonoverlapping(src.get().addr(), p, 16);
                                    return Ok(cd);
                                }
                            }
                        }
                        let v = cast_float_value(py, t, obj)?;
                        if prim.kind == PrimKind::LongDouble {
                            model::raw::write_long_double(p, v);
                        } else {
                            model::raw::write_float(p, prim.size, v);
                        }
                    }
                    PrimKind::Complex => {
                        let value = primitive_source(py, t, obj)?;
                        let (re, im) = match char_ordinal(value.bind(py)) {
                            Some(c) => (c? as f64, 0.0),
                            None => {
                                let c = value.bind(py).call_method0("__complex__").or_else(|_| {
                                    py.get_type::<pyo3::types::PyComplex>().call1((value.bind(py),))
                                })?;
                                (c.getattr("real")?.extract()?, c.getattr("imag")?.extract()?)
                            }
                        };
                        let half = prim.size / 2;
                        model::raw::write_float(p, half, re);
                        model::raw::write_float(p.add(half), half, im);
                    }
                }
            }
            Ok(cd)
        }
        _ => Err(PyTypeError::new_err(format!("cannot cast to ctype '{}'", t.name))),
    }
}

/// An integer value for casting to a pointer: any int-like (floats truncate), masked to 64 bits.
fn integer_masked(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(v as u64);
        }
    }
    let i = if let Ok(i) = obj.cast::<PyInt>() {
        i.clone().into_any()
    } else if obj.hasattr("__int__")? && !obj.is_instance_of::<PyString>() {
        obj.call_method0("__int__")?
    } else if obj.hasattr("__index__")? {
        obj.call_method0("__index__")?
    } else {
        return Err(PyTypeError::new_err(format!(
            "an integer is required, got {}",
            convert::type_name(obj)
        )));
    };
    let masked = i.call_method1("__and__", (u64::MAX,))?;
    masked.extract::<u64>()
}

/// The integer a cast to an integer/char type stores (before truncation to the type's size).
fn cast_integer_value(py: Python<'_>, t: &CType, obj: &Bound<'_, PyAny>) -> PyResult<i128> {
    if let Ok(src) = obj.cast::<CData>() {
        let s = src.get();
        if matches!(s.ctype.get().kind, Kind::Pointer | Kind::Function | Kind::Array) {
            return Ok(s.addr() as usize as i128);
        }
    }
    // a compiled module's function: its address, as if it were a function pointer cdata
    if let Some((_, addr)) = crate::directfn::lookup(py, obj) {
        return Ok(addr as usize as i128);
    }
    if let Some(c) = char_ordinal(obj) {
        return c.map(|c| c as i128).map_err(|_| {
            PyTypeError::new_err(format!("cannot cast {} to ctype '{}'", describe_string(obj), t.name))
        });
    }
    Ok(integer_masked(obj)? as i128)
}

/// For a length-1 bytes or str, its ordinal; for other bytes/str an error; None otherwise.
fn char_ordinal(obj: &Bound<'_, PyAny>) -> Option<PyResult<u32>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        let d = b.as_bytes();
        return Some(if d.len() == 1 {
            Ok(d[0] as u32)
        } else {
            Err(PyTypeError::new_err(format!(
                "initializer for ctype 'char' must be a bytes of length 1, not bytes"
            )))
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_cow().ok()?;
        let mut it = text.chars();
        return Some(match (it.next(), it.next()) {
            (Some(c), None) => Ok(c as u32),
            _ => Err(PyTypeError::new_err("string of length != 1")),
        });
    }
    None
}

fn describe_string(obj: &Bound<'_, PyAny>) -> String {
    match obj.len() {
        Ok(n) => format!("{} of length {}", convert::type_name(obj), n),
        Err(_) => convert::type_name(obj),
    }
}

/// For a cast to a float/complex: the Python value to convert (a primitive cdata gives its
/// value; other cdata cannot be cast).
fn primitive_source(py: Python<'_>, t: &CType, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if let Ok(src) = obj.cast::<CData>() {
        let s = src.get();
        let st = s.ctype.get();
        if !matches!(st.kind, Kind::Primitive | Kind::Enum) {
            return Err(PyTypeError::new_err(format!(
                "cannot cast ctype '{}' to ctype '{}'",
                st.name, t.name
            )));
        }
        // SAFETY: a primitive cdata's address holds a value of its type.
        return unsafe { convert::read_primitive(py, st, s.addr()) };
    }
    Ok(obj.clone().unbind())
}

fn cast_float_value(py: Python<'_>, t: &CType, obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    let value = primitive_source(py, t, obj)?;
    let v = value.bind(py);
    if let Some(c) = char_ordinal(v) {
        return c.map(|c| c as f64).map_err(|_| {
            PyTypeError::new_err(format!("cannot cast {} object to ctype '{}'", convert::type_name(obj), t.name))
        });
    }
    if let Ok(cd) = v.cast::<CData>() {
        return crate::cdata::cdata_to_float(cd.get());
    }
    v.extract::<f64>()
}

// ---- sizes and offsets -----------------------------------------------------------------------

pub fn sizeof_type(t: &CType) -> PyResult<usize> {
    let s = t.size();
    if s < 0 {
        if let Some(e) = t.lazy_error() {
            return Err(e);
        }
        return Err(PyValueError::new_err(format!("ctype '{}' is of unknown size", t.name)));
    }
    Ok(s as usize)
}

pub fn sizeof_cdata(py: Python<'_>, cd: &CData) -> PyResult<usize> {
    let t = cd.ctype.get();
    if let Some(n) = cd.var_byte_size(py) {
        if t.is_record() {
            return Ok(n as usize);
        }
    }
    if t.kind == Kind::Array {
        return Ok((cd.array_length(py) * t.item_ref(py).size()) as usize);
    }
    sizeof_type(t)
}

pub fn alignof_type(py: Python<'_>, t: &CType) -> PyResult<usize> {
    match t.kind {
        Kind::Void | Kind::Function if t.kind == Kind::Void => {
            Err(PyValueError::new_err(format!("ctype '{}' is of unknown alignment", t.name)))
        }
        Kind::Struct | Kind::Union if t.record.get().is_none() => {
            Err(t.lazy_error().unwrap_or_else(|| PyValueError::new_err(format!("ctype '{}' is of unknown alignment", t.name))))
        }
        Kind::Array => alignof_type(py, t.item_ref(py)),
        _ => Ok(t.align()),
    }
}

/// `typeoffsetof(ct, field_or_index, following=0)`: the type and offset of a field (or item).
pub fn typeoffsetof<'py>(
    py: Python<'py>,
    ct: &Bound<'py, CType>,
    key: &Bound<'py, PyAny>,
    following: bool,
) -> PyResult<(Bound<'py, CType>, isize)> {
    let t = ct.get();
    if let Ok(name) = key.cast::<PyString>() {
        // A pointer to a struct names the struct's fields, except when following a field path.
        let rec_t = if t.kind == Kind::Pointer && !following { t.item_ref(py) } else { t };
        if !rec_t.is_record() {
            return Err(PyTypeError::new_err("with a field name argument, expected a struct or union ctype"));
        }
        let Some(rec) = rec_t.record.get() else {
            return Err(PyTypeError::new_err("struct/union is opaque"));
        };
        let name = name.to_str()?;
        let Some(f) = rec.field(name) else {
            return Err(PyKeyError::new_err(name.to_string()));
        };
        if f.bitsize >= 0 {
            return Err(PyTypeError::new_err("not supported for bitfields"));
        }
        return Ok((f.ctype.bind(py).clone(), f.offset as isize));
    }
    if !matches!(t.kind, Kind::Array | Kind::Pointer) {
        return Err(PyTypeError::new_err("with an integer argument, expected an array or pointer ctype"));
    }
    let i: isize = key.extract()?;
    let item = t.item.as_ref().unwrap().bind(py).clone();
    let size = item.get().size();
    if size < 0 {
        return Err(PyTypeError::new_err(format!("ctype '{}' points to items of unknown size", t.name)));
    }
    let off = i.checked_mul(size).ok_or_else(|| PyOverflowError::new_err("array offset would overflow a ssize_t"))?;
    Ok((item, off))
}

// ---- strings and unpacking -------------------------------------------------------------------

/// `ffi.string(cdata, maxlen=-1)`: the bytes/str a `char *`/`wchar_t *`-like pointer or array
/// points to (up to the terminator or `maxlen`); for a single char, that char; for an enum, the
/// enumerator's name.
pub fn string(py: Python<'_>, cd: &CData, maxlen: isize) -> PyResult<Py<PyAny>> {
    let t = cd.ctype.get();
    let unexpected = || PyTypeError::new_err(format!("string(): unexpected cdata '{}' argument", t.name));
    let is_text_item = |it: &CType| {
        it.kind == Kind::Primitive
            && matches!(
                it.prim_kind(),
                Some(PrimKind::Char | PrimKind::WideChar | PrimKind::Signed | PrimKind::Unsigned)
            )
    };
    match t.kind {
        Kind::Pointer | Kind::Array if is_text_item(t.item_ref(py)) => {
            let item = t.item_ref(py);
            let p = cd.addr();
            if p.is_null() {
                return Err(PyRuntimeError::new_err(format!("cannot use string() on <cdata '{}' NULL>", t.name)));
            }
            let limit = match (maxlen, t.kind) {
                (m, Kind::Array) if m < 0 => cd.array_length(py),
                (m, _) if m < 0 => isize::MAX,
                (m, _) => m,
            };
            let size = item.size() as usize;
            if size == 1 {
                let mut n = 0usize;
                // SAFETY: reading up to the terminator or the limit, as C's strnlen would.
                unsafe {
                    while (n as isize) < limit && *p.add(n) != 0 {
                        n += 1;
                    }
                    return Ok(PyBytes::new(py, std::slice::from_raw_parts(p, n)).into_any().unbind());
                }
            }
            if item.prim_kind() != Some(PrimKind::WideChar) {
                return Err(unexpected());
            }
            let mut units = Vec::new();
            // SAFETY: reading wide chars up to the terminator or the limit.
            unsafe {
                while (units.len() as isize) < limit {
                    let u = model::raw::read_int(p.add(units.len() * size), size, false) as u32;
                    if u == 0 {
                        break;
                    }
                    units.push(u);
                }
            }
            Ok(units_to_string(py, &units, size)?.into_any().unbind())
        }
        Kind::Enum => Ok(enum_string(py, cd)?.into_pyobject(py)?.into_any().unbind()),
        Kind::Primitive if t.prim_kind() == Some(PrimKind::WideChar) => {
            // SAFETY: a wide-char cdata's address holds one wide char.
            unsafe { convert::read_primitive(py, t, cd.addr()) }
        }
        Kind::Primitive if t.size() == 1 && t.prim_kind() != Some(PrimKind::Bool) && (t.is_char() || t.is_integer()) => {
            // SAFETY: a one-byte cdata's address holds one byte.
            Ok(PyBytes::new(py, unsafe { std::slice::from_raw_parts(cd.addr(), 1) }).into_any().unbind())
        }
        _ => Err(unexpected()),
    }
}

/// Decode UTF-16 (with surrogate pairs) or UTF-32 code units into a str.
pub fn units_to_string<'py>(py: Python<'py>, units: &[u32], size: usize) -> PyResult<Bound<'py, PyString>> {
    let mut s = String::new();
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if size == 2 && (0xd800..0xdc00).contains(&u) && i + 1 < units.len() && (0xdc00..0xe000).contains(&units[i + 1]) {
            let c = 0x10000 + ((u - 0xd800) << 10) + (units[i + 1] - 0xdc00);
            s.push(char::from_u32(c).unwrap());
            i += 2;
            continue;
        }
        match char::from_u32(u) {
            Some(c) => s.push(c),
            None if u > 0x10ffff => {
                return Err(PyValueError::new_err(format!(
                    "char32_t out of range for conversion to unicode: 0x{u:x}"
                )))
            }
            None => {
                // Lone surrogate: let Python build it.
                let prefix = PyString::new(py, &s);
                let chr = py.import("builtins")?.getattr("chr")?.call1((u,))?;
                let rest = units_to_string(py, &units[i + 1..], size)?;
                let joined = prefix.add(chr)?.add(rest)?;
                return Ok(joined.cast_into::<PyString>()?);
            }
        }
        i += 1;
    }
    Ok(PyString::new(py, &s))
}

/// `ffi.unpack(cdata, length)`: a list of items, or bytes/str for char arrays.
pub fn unpack(py: Python<'_>, cd: &CData, length: isize) -> PyResult<Py<PyAny>> {
    let t = cd.ctype.get();
    if !matches!(t.kind, Kind::Pointer | Kind::Array) {
        return Err(PyTypeError::new_err(format!("expected a pointer or array, got '{}'", t.name)));
    }
    if length < 0 {
        return Err(PyValueError::new_err("'length' cannot be negative"));
    }
    let p = cd.addr();
    if p.is_null() {
        return Err(PyRuntimeError::new_err(format!("cannot use unpack() on cdata '{}' NULL", t.name)));
    }
    let item = t.item.as_ref().unwrap().bind(py);
    let it = item.get();
    let size = it.size();
    if size < 0 {
        return Err(PyValueError::new_err(format!("'{}' points to items of unknown size", t.name)));
    }
    let size = size as usize;
    // SAFETY (all reads): the caller says `length` items are there, as in C.
    unsafe {
        if it.is_char() {
            return Ok(PyBytes::new(py, std::slice::from_raw_parts(p, length as usize)).into_any().unbind());
        }
        if it.prim_kind() == Some(PrimKind::WideChar) {
            let units: Vec<u32> =
                (0..length as usize).map(|i| model::raw::read_int(p.add(i * size), size, false) as u32).collect();
            return Ok(units_to_string(py, &units, size)?.into_any().unbind());
        }
        // Plain integers: straight from the bytes, without the generic per-item dispatch.
        if it.kind == Kind::Primitive && matches!(it.prim_kind(), Some(PrimKind::Signed | PrimKind::Unsigned)) {
            let signed = it.prim_kind() == Some(PrimKind::Signed);
            let n = length as usize;
            let list = if signed {
                PyList::new(py, (0..n).map(|i| model::raw::read_int(p.add(i * size), size, true) as i64))?
            } else {
                PyList::new(py, (0..n).map(|i| model::raw::read_int(p.add(i * size), size, false) as u64))?
            };
            return Ok(list.into_any().unbind());
        }
        let items = (0..length as usize).map(|i| convert::read(py, item, p.add(i * size))).collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
}

// ---- enums -----------------------------------------------------------------------------------

fn enum_value(py: Python<'_>, cd: &CData) -> i128 {
    let t = cd.ctype.get();
    // SAFETY: an enum cdata's address holds its integer.
    unsafe { model::raw::read_int(cd.addr(), t.size() as usize, t.is_signed(py)) }
}

/// `ffi.string()` of an enum: its name, or the number if no enumerator has that value.
pub fn enum_string(py: Python<'_>, cd: &CData) -> PyResult<String> {
    let v = enum_value(py, cd);
    let e = cd.ctype.get().enum_info.as_ref().unwrap();
    Ok(match e.items.iter().find(|(_, x)| *x == v) {
        Some((name, _)) => name.clone(),
        None => v.to_string(),
    })
}

/// The value part of an enum cdata's repr: `7: ab` or `-42`.
pub fn enum_repr_value(py: Python<'_>, cd: &CData) -> PyResult<String> {
    let v = enum_value(py, cd);
    let e = cd.ctype.get().enum_info.as_ref().unwrap();
    Ok(match e.items.iter().find(|(_, x)| *x == v) {
        Some((name, _)) => format!("{v}: {name}"),
        None => v.to_string(),
    })
}

// ---- memmove, handles, gc ----------------------------------------------------------------------

/// `ffi.memmove(dest, src, n)`: dest is a cdata pointer/array or a writable buffer; src also a
/// bytes-like object.
pub fn memmove(py: Python<'_>, dest: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, n: isize) -> PyResult<()> {
    if n < 0 {
        return Err(PyValueError::new_err("negative size"));
    }
    let (d, _dkeep) = crate::buffer::raw_address(py, dest, true)?;
    let (s, _skeep) = crate::buffer::raw_address(py, src, false)?;
    // SAFETY: the caller vouches for `n` bytes at both ends, as with C's memmove.
    unsafe { std::ptr::copy(s, d, n as usize) };
    Ok(())
}

pub fn new_handle(py: Python<'_>, ct: &Bound<'_, CType>, obj: Py<PyAny>) -> PyResult<Py<CData>> {
    let t = ct.get();
    if !t.is_void_pointer(py) {
        return Err(PyTypeError::new_err(format!("needs 'void *', got '{}'", t.name)));
    }
    CData::with(ct, Owner::Handle(crate::handle::HandleCell::new(obj))).into_object(py)
}

pub fn from_handle(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let Ok(cd) = obj.cast::<CData>() else {
        return Err(PyTypeError::new_err("expected a 'cdata' object"));
    };
    let cd = cd.get();
    let t = cd.ctype.get();
    if !(t.kind == Kind::Pointer && (t.item_ref(py).kind == Kind::Void || t.item_ref(py).is_char())) {
        return Err(PyTypeError::new_err(format!(
            "expected a 'cdata' object with a 'void *' out of new_handle(), got '{}'",
            t.name
        )));
    }
    let addr = cd.addr();
    if addr.is_null() {
        return Err(PyRuntimeError::new_err("cannot use from_handle() on NULL pointer"));
    }
    crate::handle::lookup(py, addr).ok_or_else(|| {
        PyRuntimeError::new_err(format!(
            "from_handle(): {:p} is not a live handle made by new_handle() (upstream cffi would crash here)",
            addr
        ))
    })
}

/// `ffi.gc(cdata, destructor, size=0)`: a new cdata for the same address whose death (or
/// release) calls `destructor(cdata)`. `destructor=None` detaches an earlier gc.
pub fn gc(py: Python<'_>, cd: &Bound<'_, CData>, destructor: Option<Py<PyAny>>) -> PyResult<Py<CData>> {
    let c = cd.get();
    let t = c.ctype.bind(py);
    if destructor.is_none() {
        if let Owner::Gc { destructor: d, .. } = &c.owner {
            drop(d.take(py));
            return Ok(cd.clone().unbind());
        }
        return Err(PyTypeError::new_err("Can remove destructor only on a object previously returned by ffi.gc()"));
    }
    let owner = Owner::Gc { original: cd.clone().unbind(), destructor: crate::gilslot::GilSlot::new(destructor) };
    CData::with(t, owner).into_object(py)
}
