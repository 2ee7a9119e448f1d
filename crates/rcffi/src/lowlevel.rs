//! The module-level functions of `_cffi_backend` that build ctypes directly and operate on them
//! (what upstream's `src/c/test_c.py` exercises). The `FFI` class is built on the same operations.

use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::api;
use crate::buffer;
use crate::cdata::CData;
use crate::ctype::{self, CType, Kind};
use crate::record::{self, FieldDecl};

pub const FFI_DEFAULT_ABI: i32 = 2;
/// `__stdcall` means nothing on x86-64 Linux; upstream gives it the default ABI there too.
pub const FFI_STDCALL: i32 = FFI_DEFAULT_ABI;

#[pyfunction]
pub fn new_primitive_type(py: Python<'_>, name: &str) -> PyResult<Py<CType>> {
    let prim = model::primitive(name).ok_or_else(|| PyKeyError::new_err(name.to_string()))?;
    ctype::new_primitive(py, prim)
}

#[pyfunction]
pub fn new_void_type(py: Python<'_>) -> PyResult<Py<CType>> {
    ctype::new_void(py)
}

#[pyfunction]
pub fn new_pointer_type(py: Python<'_>, ct: &Bound<'_, CType>) -> PyResult<Py<CType>> {
    ctype::new_pointer(py, ct)
}

#[pyfunction]
pub fn new_array_type(py: Python<'_>, ct: &Bound<'_, CType>, length: &Bound<'_, PyAny>) -> PyResult<Py<CType>> {
    let length = if length.is_none() {
        None
    } else {
        if !length.hasattr("__index__")? {
            return Err(PyTypeError::new_err(format!(
                "expected an integer length or None, not {}",
                crate::convert::type_name(length)
            )));
        }
        let n: isize = length
            .call_method0("__index__")?
            .extract()
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("array length too large"))?;
        if n < 0 {
            return Err(PyValueError::new_err("negative array length"));
        }
        Some(n)
    };
    ctype::new_array(py, ct, length)
}

#[pyfunction]
pub fn new_struct_type(py: Python<'_>, name: &str) -> PyResult<Py<CType>> {
    ctype::new_record(py, name, false)
}

#[pyfunction]
pub fn new_union_type(py: Python<'_>, name: &str) -> PyResult<Py<CType>> {
    ctype::new_record(py, name, true)
}

#[pyfunction]
#[pyo3(signature = (ct, fields, ignored=None, totalsize=-1, totalalign=-1, sflags=0, pack=0))]
#[allow(clippy::too_many_arguments)]
pub fn complete_struct_or_union(
    py: Python<'_>,
    ct: &Bound<'_, CType>,
    fields: &Bound<'_, PyAny>,
    ignored: Option<&Bound<'_, PyAny>>,
    totalsize: i64,
    totalalign: i32,
    sflags: u32,
    pack: i32,
) -> PyResult<()> {
    let _ = ignored;
    let t = ct.get();
    if !t.is_record() || t.record.get().is_some() {
        return Err(PyTypeError::new_err("first arg must be a non-initialized struct or union ctype"));
    }
    let list = fields.cast::<PyList>().map_err(|_| PyTypeError::new_err("fields must be a list"))?;
    let mut decls = Vec::with_capacity(list.len());
    for item in list.iter() {
        let tup = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err("fields must be a list of tuples"))?;
        let n = tup.len();
        if !(2..=4).contains(&n) {
            return Err(PyTypeError::new_err("fields items must be (name, ctype, bitsize=-1, offset=-1)"));
        }
        let name: String = tup.get_item(0)?.cast::<PyString>()?.to_string();
        let ftype = tup.get_item(1)?.cast::<CType>()?.clone().unbind();
        let bitsize: i32 = if n > 2 { tup.get_item(2)?.extract()? } else { -1 };
        let offset: i64 = if n > 3 { tup.get_item(3)?.extract()? } else { -1 };
        decls.push(FieldDecl { name, ctype: ftype, bitsize, offset });
    }
    record::complete(py, ct, decls, totalsize, totalalign, sflags, pack)
}

#[pyfunction]
#[pyo3(signature = (args, result, ellipsis=false, abi=FFI_DEFAULT_ABI))]
pub fn new_function_type(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    result: &Bound<'_, CType>,
    ellipsis: bool,
    abi: i32,
) -> PyResult<Py<CType>> {
    crate::call::check_result_type(py, result)?;
    let mut list = Vec::with_capacity(args.len());
    for a in args.iter() {
        let a = a.cast::<CType>().map_err(|_| PyTypeError::new_err("expected a tuple of ctypes"))?;
        list.push(crate::call::check_arg_type(py, a)?);
    }
    ctype::new_function(py, list, result.clone().unbind(), ellipsis, abi)
}

#[pyfunction]
pub fn new_enum_type(
    py: Python<'_>,
    name: &str,
    enumerators: &Bound<'_, PyTuple>,
    values: &Bound<'_, PyTuple>,
    basetype: &Bound<'_, CType>,
) -> PyResult<Py<CType>> {
    if enumerators.len() != values.len() {
        return Err(PyValueError::new_err("tuple args must have the same size"));
    }
    let bt = basetype.get();
    if !(bt.kind == Kind::Primitive && bt.prim.is_some_and(|p| p.is_integer() && p.kind != model::PrimKind::Bool)) {
        return Err(PyTypeError::new_err("expected a primitive signed or unsigned base type"));
    }
    let mut items = Vec::new();
    for (n, v) in enumerators.iter().zip(values.iter()) {
        let v: i128 = v.extract()?;
        if !model::raw::int_fits(v, bt.size() as usize, bt.is_signed(py)) {
            return Err(pyo3::exceptions::PyOverflowError::new_err(format!(
                "enum value {v} does not fit in type '{}'",
                bt.name
            )));
        }
        items.push((n.extract::<String>()?, v));
    }
    ctype::new_enum(py, name, items, basetype)
}

#[pyfunction]
#[pyo3(signature = (ct, init=None))]
pub fn newp(py: Python<'_>, ct: &Bound<'_, CType>, init: Option<&Bound<'_, PyAny>>) -> PyResult<Py<CData>> {
    api::newp(py, ct, init)
}

#[pyfunction]
pub fn cast(py: Python<'_>, ct: &Bound<'_, CType>, obj: &Bound<'_, PyAny>) -> PyResult<Py<CData>> {
    api::cast(py, ct, obj)
}

#[pyfunction]
pub fn sizeof(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Ok(cd) = obj.cast::<CData>() {
        return api::sizeof_cdata(py, cd.get());
    }
    if let Ok(ct) = obj.cast::<CType>() {
        return api::sizeof_type(ct.get());
    }
    Err(PyTypeError::new_err("expected a 'cdata' or 'ctype' object"))
}

#[pyfunction]
pub fn alignof(py: Python<'_>, ct: &Bound<'_, CType>) -> PyResult<usize> {
    api::alignof_type(py, ct.get())
}

#[pyfunction]
#[pyo3(name = "typeof")]
pub fn typeof_(py: Python<'_>, cd: &Bound<'_, PyAny>) -> PyResult<Py<CType>> {
    let cd = cd.cast::<CData>().map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    Ok(cd.get().ctype.clone_ref(py))
}

#[pyfunction]
#[pyo3(signature = (ct, field_or_index, following=0))]
pub fn typeoffsetof<'py>(
    py: Python<'py>,
    ct: &Bound<'py, CType>,
    field_or_index: &Bound<'py, PyAny>,
    following: i32,
) -> PyResult<(Bound<'py, CType>, isize)> {
    api::typeoffsetof(py, ct, field_or_index, following != 0)
}

#[pyfunction]
#[pyo3(signature = (ct, cd, offset=0))]
pub fn rawaddressof(py: Python<'_>, ct: &Bound<'_, CType>, cd: &Bound<'_, CData>, offset: isize) -> PyResult<Py<CData>> {
    let t = ct.get();
    let c = cd.get();
    let ckind = c.ctype.get().kind;
    if !matches!(ckind, Kind::Struct | Kind::Union | Kind::Array | Kind::Pointer) {
        return Err(PyTypeError::new_err("expected a cdata struct/union/array/pointer object"));
    }
    if t.kind != Kind::Pointer {
        return Err(PyTypeError::new_err("expected a pointer ctype"));
    }
    CData::borrowed(py, ct, c.addr().wrapping_offset(offset))
}

#[pyfunction]
pub fn getcname(ct: &Bound<'_, CType>, replace_with: &str) -> String {
    let t = ct.get();
    let mut s = String::new();
    s.push_str(&t.name[..t.name_pos]);
    s.push_str(replace_with);
    s.push_str(&t.name[t.name_pos..]);
    s
}

#[pyfunction]
#[pyo3(signature = (cd, maxlen=-1))]
pub fn string(py: Python<'_>, cd: &Bound<'_, PyAny>, maxlen: isize) -> PyResult<Py<PyAny>> {
    let cd = cd.cast::<CData>().map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    api::string(py, cd.get(), maxlen)
}

#[pyfunction]
pub fn unpack(py: Python<'_>, cd: &Bound<'_, PyAny>, length: isize) -> PyResult<Py<PyAny>> {
    let cd = cd.cast::<CData>().map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
    api::unpack(py, cd.get(), length)
}

#[pyfunction]
#[pyo3(signature = (ct, obj, require_writable=false))]
pub fn from_buffer(py: Python<'_>, ct: &Bound<'_, CType>, obj: &Bound<'_, PyAny>, require_writable: bool) -> PyResult<Py<CData>> {
    buffer::from_buffer(py, ct, obj, require_writable)
}

#[pyfunction]
pub fn memmove(py: Python<'_>, dest: &Bound<'_, PyAny>, src: &Bound<'_, PyAny>, n: isize) -> PyResult<()> {
    api::memmove(py, dest, src, n)
}

#[pyfunction]
#[pyo3(signature = (cd, destructor, size=0))]
pub fn gcp(py: Python<'_>, cd: &Bound<'_, CData>, destructor: Option<Py<PyAny>>, size: isize) -> PyResult<Py<CData>> {
    let _ = size;
    api::gc(py, cd, destructor)
}

#[pyfunction]
pub fn release(py: Python<'_>, cd: &Bound<'_, CData>) -> PyResult<()> {
    cd.get().release(py)
}

#[pyfunction]
pub fn newp_handle(py: Python<'_>, ct: &Bound<'_, CType>, obj: Py<PyAny>) -> PyResult<Py<CData>> {
    api::new_handle(py, ct, obj)
}

#[pyfunction]
pub fn from_handle(py: Python<'_>, cd: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    api::from_handle(py, cd)
}

#[pyfunction]
pub fn get_errno() -> i32 {
    crate::errno::get()
}

#[pyfunction]
pub fn set_errno(value: i32) {
    crate::errno::set(value)
}

#[pyfunction]
pub fn _get_types(py: Python<'_>) -> (Bound<'_, pyo3::types::PyType>, Bound<'_, pyo3::types::PyType>) {
    (py.get_type::<CData>(), py.get_type::<CType>())
}

#[pyfunction]
pub fn _get_common_types(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
    let _ = py;
    for (name, value) in crate::commontypes::COMMON_TYPES {
        d.set_item(*name, *value)?;
    }
    Ok(())
}

/// Makes one of the module's functions.
pub type MakeFunction = for<'py> fn(&Bound<'py, PyModule>) -> PyResult<Bound<'py, PyCFunction>>;

/// The `_cffi_backend` functions of upstream's low-level API, made on first access
/// (`lazyattrs`): an out-of-line or API-mode module's import needs none of them.
pub const FUNCTIONS: &[(&str, MakeFunction)] = &[
    ("new_primitive_type", |m| wrap_pyfunction!(new_primitive_type, m)),
    ("new_void_type", |m| wrap_pyfunction!(new_void_type, m)),
    ("new_pointer_type", |m| wrap_pyfunction!(new_pointer_type, m)),
    ("new_array_type", |m| wrap_pyfunction!(new_array_type, m)),
    ("new_struct_type", |m| wrap_pyfunction!(new_struct_type, m)),
    ("new_union_type", |m| wrap_pyfunction!(new_union_type, m)),
    ("complete_struct_or_union", |m| wrap_pyfunction!(complete_struct_or_union, m)),
    ("new_function_type", |m| wrap_pyfunction!(new_function_type, m)),
    ("new_enum_type", |m| wrap_pyfunction!(new_enum_type, m)),
    ("newp", |m| wrap_pyfunction!(newp, m)),
    ("cast", |m| wrap_pyfunction!(cast, m)),
    ("sizeof", |m| wrap_pyfunction!(sizeof, m)),
    ("alignof", |m| wrap_pyfunction!(alignof, m)),
    ("typeof", |m| wrap_pyfunction!(typeof_, m)),
    ("typeoffsetof", |m| wrap_pyfunction!(typeoffsetof, m)),
    ("rawaddressof", |m| wrap_pyfunction!(rawaddressof, m)),
    ("getcname", |m| wrap_pyfunction!(getcname, m)),
    ("string", |m| wrap_pyfunction!(string, m)),
    ("unpack", |m| wrap_pyfunction!(unpack, m)),
    ("from_buffer", |m| wrap_pyfunction!(from_buffer, m)),
    ("memmove", |m| wrap_pyfunction!(memmove, m)),
    ("gcp", |m| wrap_pyfunction!(gcp, m)),
    ("release", |m| wrap_pyfunction!(release, m)),
    ("newp_handle", |m| wrap_pyfunction!(newp_handle, m)),
    ("from_handle", |m| wrap_pyfunction!(from_handle, m)),
    ("get_errno", |m| wrap_pyfunction!(get_errno, m)),
    ("set_errno", |m| wrap_pyfunction!(set_errno, m)),
    ("_get_types", |m| wrap_pyfunction!(_get_types, m)),
    ("_get_common_types", |m| wrap_pyfunction!(_get_common_types, m)),
];

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FFI_DEFAULT_ABI", FFI_DEFAULT_ABI)?;
    m.add("FFI_CDECL", FFI_DEFAULT_ABI)?;
    for (name, value) in [
        ("RTLD_LAZY", libc::RTLD_LAZY),
        ("RTLD_NOW", libc::RTLD_NOW),
        ("RTLD_GLOBAL", libc::RTLD_GLOBAL),
        ("RTLD_LOCAL", libc::RTLD_LOCAL),
        ("RTLD_NODELETE", libc::RTLD_NODELETE),
        ("RTLD_NOLOAD", libc::RTLD_NOLOAD),
        ("RTLD_DEEPBIND", libc::RTLD_DEEPBIND),
    ] {
        m.add(name, value)?;
    }
    Ok(())
}
