//! `CType`: a C type as Python sees it (`<ctype 'int *'>`). Immutable once built, except that a
//! struct/union is completed once after creation. Derived types (pointer to, array of) are cached
//! on their item so that the same C type is the same Python object.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use model::{PrimKind, Primitive};
use pyo3::exceptions::{PyAttributeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyWeakrefMethods, PyWeakrefReference};

use crate::record::RecordInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Primitive,
    Void,
    Pointer,
    Array,
    Struct,
    Union,
    Enum,
    /// A pointer to a function (cffi's "function" ctypes are always function pointers).
    Function,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Primitive => "primitive",
            Kind::Void => "void",
            Kind::Pointer => "pointer",
            Kind::Array => "array",
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Function => "function",
        }
    }
}

pub struct FunctionInfo {
    pub args: Vec<Py<CType>>,
    pub result: Py<CType>,
    pub ellipsis: bool,
    pub abi: i32,
    /// The libffi call interface, prepared on first call.
    pub call: OnceLock<crate::call::CallPlan>,
}

pub struct EnumInfo {
    /// (name, value) in declaration order.
    pub items: Vec<(String, i128)>,
}

#[pyclass(module = "_cffi_backend", name = "CType", frozen, weakref)]
pub struct CType {
    pub kind: Kind,
    /// The C name, e.g. `int *[5]`.
    pub name: String,
    /// Where a declarator goes when a type is built on top of this one: `int *[5]` + pointer
    /// becomes `int *(*)[5]`, inserted at this byte position.
    pub name_pos: usize,
    /// -1 when unknown (opaque struct, `T[]`, void, function).
    size: isize,
    align: usize,
    /// Pointer target, array item, or the integer type under an enum.
    pub item: Option<Py<CType>>,
    /// Array length; -1 for `T[]`.
    pub length: isize,
    pub prim: Option<&'static Primitive>,
    pub func: Option<FunctionInfo>,
    pub enum_info: Option<EnumInfo>,
    /// Struct/union layout, set once by completion.
    pub record: OnceLock<RecordInfo>,
    /// This is `FILE` (or a pointer argument accepting Python files).
    pub is_file: bool,
    /// A struct/union of a compiled module whose lazy layout failed: the error that uses
    /// needing the layout raise (upstream retries the layout there; ours is deterministic).
    lazy_error: Mutex<Option<PyErr>>,
    derived: Mutex<Derived>,
    /// As upstream's `ct_stuff`, held strongly: for a pointer type `T *`, `T[]` (the type of
    /// its slices, `open_array_of`); for an array type `T[N]`, `T *` (what it decays to,
    /// `decay_pointer`). No cycle: `T[]` keeps no `T *`, and `T` holds its derived types weakly.
    stuff: OnceLock<Py<CType>>,
}

/// Types built on this one, held weakly (as upstream does): a derived type lives only as long
/// as someone uses it, while it keeps its item alive.
#[derive(Default)]
struct Derived {
    pointer: Option<Py<PyWeakrefReference>>,
    arrays: HashMap<isize, Py<PyWeakrefReference>>,
}

fn upgrade(py: Python<'_>, w: &Py<PyWeakrefReference>) -> Option<Py<CType>> {
    let obj = w.bind(py).upgrade()?;
    obj.cast_into::<CType>().ok().map(|b| b.unbind())
}

fn weak(py: Python<'_>, t: &Py<CType>) -> PyResult<Py<PyWeakrefReference>> {
    Ok(PyWeakrefReference::new(t.bind(py))?.unbind())
}

impl CType {
    fn base(kind: Kind, name: String, size: isize, align: usize) -> CType {
        let name_pos = name.len();
        CType {
            kind,
            name,
            name_pos,
            size,
            align,
            item: None,
            length: -1,
            prim: None,
            func: None,
            enum_info: None,
            record: OnceLock::new(),
            is_file: false,
            lazy_error: Mutex::new(None),
            derived: Mutex::new(Derived::default()),
            stuff: OnceLock::new(),
        }
    }

    /// Remember why the lazy layout of this struct/union failed (see `lazy_error`).
    pub fn set_lazy_error(&self, e: PyErr) {
        if let Ok(mut slot) = self.lazy_error.lock() {
            *slot = Some(e);
        }
    }

    /// The error of a failed lazy layout, for a use that needs the layout; None when the
    /// record is complete or was never tried.
    pub fn lazy_error(&self) -> Option<PyErr> {
        if !self.is_record() || self.record.get().is_some() {
            return None;
        }
        let slot = self.lazy_error.lock().ok()?;
        let e = slot.as_ref()?;
        Some(Python::attach(|py| e.clone_ref(py)))
    }

    /// Size in bytes, or -1 when C does not know it.
    pub fn size(&self) -> isize {
        match self.kind {
            Kind::Struct | Kind::Union => self.record.get().map_or(-1, |r| r.size as isize),
            _ => self.size,
        }
    }

    pub fn align(&self) -> usize {
        match self.kind {
            Kind::Struct | Kind::Union => self.record.get().map_or(1, |r| r.align),
            _ => self.align,
        }
    }

    pub fn is_integer(&self) -> bool {
        self.kind == Kind::Enum || self.prim.is_some_and(|p| p.is_integer())
    }

    pub fn is_pointer_like(&self) -> bool {
        matches!(self.kind, Kind::Pointer | Kind::Function)
    }

    pub fn is_record(&self) -> bool {
        matches!(self.kind, Kind::Struct | Kind::Union)
    }

    pub fn prim_kind(&self) -> Option<PrimKind> {
        self.prim.map(|p| p.kind)
    }

    pub fn is_char(&self) -> bool {
        self.prim_kind() == Some(PrimKind::Char)
    }

    pub fn is_void_pointer(&self, py: Python<'_>) -> bool {
        self.kind == Kind::Pointer && self.item_ref(py).kind == Kind::Void
    }

    /// The item of a pointer or array (callers check the kind first).
    pub fn item_ref<'a>(&'a self, py: Python<'a>) -> &'a CType {
        self.item.as_ref().expect("pointer/array ctype has an item").bind(py).get()
    }

    /// For an enum: its integer type; for anything else: itself.
    pub fn integer_type<'a>(&'a self, py: Python<'a>) -> &'a CType {
        if self.kind == Kind::Enum {
            self.item_ref(py)
        } else {
            self
        }
    }

    /// Signedness of an integer or enum type.
    pub fn is_signed(&self, py: Python<'_>) -> bool {
        self.integer_type(py).prim.is_some_and(|p| p.is_signed())
    }

    /// `T[N]` or `T[]`.
    pub fn is_array(&self) -> bool {
        self.kind == Kind::Array
    }

    /// The name with `extra` inserted where the declarator goes.
    fn name_with(&self, extra: &str) -> String {
        let mut s = String::with_capacity(self.name.len() + extra.len());
        s.push_str(&self.name[..self.name_pos]);
        s.push_str(extra);
        s.push_str(&self.name[self.name_pos..]);
        s
    }
}

// ---- constructors --------------------------------------------------------------------------

pub fn new_primitive(py: Python<'_>, prim: &'static Primitive) -> PyResult<Py<CType>> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Py<CType>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache.lock().unwrap().get(prim.name) {
        return Ok(t.clone_ref(py));
    }
    let mut t = CType::base(Kind::Primitive, prim.name.to_string(), prim.size as isize, prim.align);
    t.prim = Some(prim);
    let t = Py::new(py, t)?;
    let mut guard = cache.lock().unwrap();
    Ok(guard.entry(prim.name).or_insert(t).clone_ref(py))
}

pub fn new_void(py: Python<'_>) -> PyResult<Py<CType>> {
    static VOID: OnceLock<Py<CType>> = OnceLock::new();
    if let Some(t) = VOID.get() {
        return Ok(t.clone_ref(py));
    }
    let t = Py::new(py, CType::base(Kind::Void, "void".into(), -1, 1))?;
    Ok(VOID.get_or_init(|| t).clone_ref(py))
}

/// `void *`, cached for good (handles and `ffi.NULL` use it all the time).
pub fn void_pointer(py: Python<'_>) -> PyResult<Py<CType>> {
    static VOID_P: OnceLock<Py<CType>> = OnceLock::new();
    if let Some(t) = VOID_P.get() {
        return Ok(t.clone_ref(py));
    }
    let t = new_pointer(py, new_void(py)?.bind(py))?;
    Ok(VOID_P.get_or_init(|| t).clone_ref(py))
}

pub fn new_pointer(py: Python<'_>, item: &Bound<'_, CType>) -> PyResult<Py<CType>> {
    let it = item.get();
    if let Some(p) = it.derived.lock().unwrap().pointer.as_ref().and_then(|w| upgrade(py, w)) {
        return Ok(p);
    }
    let extra = if it.kind == Kind::Array { "(*)" } else { " *" };
    let mut t = CType::base(Kind::Pointer, it.name_with(extra), 8, 8);
    t.name_pos = it.name_pos + 2;
    t.item = Some(item.clone().unbind());
    t.is_file = it.is_file;
    let t = Py::new(py, t)?;
    it.derived.lock().unwrap().pointer = Some(weak(py, &t)?);
    Ok(t)
}

/// `new_array_type(ptr_type, length)`: an array of `ptr_type.item`; `length` None gives `T[]`.
pub fn new_array(py: Python<'_>, ptr: &Bound<'_, CType>, length: Option<isize>) -> PyResult<Py<CType>> {
    let p = ptr.get();
    if p.kind != Kind::Pointer {
        return Err(pyo3::exceptions::PyTypeError::new_err("first arg must be a pointer ctype"));
    }
    let item = p.item.as_ref().unwrap().bind(py);
    let it = item.get();
    let key = length.unwrap_or(-1);
    if let Some(a) = it.derived.lock().unwrap().arrays.get(&key).and_then(|w| upgrade(py, w)) {
        return Ok(a);
    }
    let item_size = it.size();
    if item_size < 0 {
        return Err(PyValueError::new_err(format!(
            "array item of unknown size: '{}'",
            it.name
        )));
    }
    let (size, label) = match length {
        None => (-1, "[]".to_string()),
        Some(n) if n < 0 => return Err(PyValueError::new_err("negative array length")),
        Some(n) => {
            let total = (n as i128) * (item_size as i128);
            if total > isize::MAX as i128 {
                return Err(pyo3::exceptions::PyOverflowError::new_err("array size would overflow a ssize_t"));
            }
            (total as isize, format!("[{n}]"))
        }
    };
    let mut t = CType::base(Kind::Array, it.name_with(&label), size, it.align());
    t.name_pos = it.name_pos;
    t.item = Some(item.clone().unbind());
    t.length = key;
    let t = Py::new(py, t)?;
    it.derived.lock().unwrap().arrays.insert(key, weak(py, &t)?);
    Ok(t)
}

/// `T[]` for a pointer type `T *` or an array type `T[N]`: the type of their slices (`T[]` for
/// `T[]` itself). Made once per type and kept: slicing would otherwise make it anew each time
/// nothing else holds it.
pub fn open_array_of(py: Python<'_>, t: &Bound<'_, CType>) -> PyResult<Py<CType>> {
    let ct = t.get();
    match ct.kind {
        Kind::Array if ct.length < 0 => Ok(t.clone().unbind()),
        Kind::Array => open_array_of(py, decay_pointer(py, t)?.bind(py)),
        Kind::Pointer => {
            if let Some(a) = ct.stuff.get() {
                return Ok(a.clone_ref(py));
            }
            let made = new_array(py, t, None)?;
            Ok(ct.stuff.get_or_init(|| made).clone_ref(py))
        }
        _ => Err(pyo3::exceptions::PyTypeError::new_err("not a pointer or array type")),
    }
}

/// `T *` for an array type `T[N]` or `T[]`: what it decays to in pointer arithmetic and calls.
/// Kept by `T[N]` (see `stuff`).
pub fn decay_pointer(py: Python<'_>, t: &Bound<'_, CType>) -> PyResult<Py<CType>> {
    let ct = t.get();
    let item = ct.item.as_ref().ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("not an array type"))?;
    if ct.kind != Kind::Array || ct.length < 0 {
        return new_pointer(py, item.bind(py));
    }
    if let Some(p) = ct.stuff.get() {
        return Ok(p.clone_ref(py));
    }
    let made = new_pointer(py, item.bind(py))?;
    Ok(ct.stuff.get_or_init(|| made).clone_ref(py))
}

pub fn new_record(py: Python<'_>, name: &str, is_union: bool) -> PyResult<Py<CType>> {
    let kind = if is_union { Kind::Union } else { Kind::Struct };
    let mut t = CType::base(kind, name.to_string(), -1, 1);
    t.is_file = name == "FILE" || name == "struct _IO_FILE";
    Py::new(py, t)
}

/// `FILE`: one opaque struct shared by every FFI, accepted by `FILE *` arguments as Python files.
pub fn file_type(py: Python<'_>) -> PyResult<Py<CType>> {
    static FILE: OnceLock<Py<CType>> = OnceLock::new();
    if let Some(t) = FILE.get() {
        return Ok(t.clone_ref(py));
    }
    let t = new_record(py, "FILE", false)?;
    Ok(FILE.get_or_init(|| t).clone_ref(py))
}

pub fn new_function(
    py: Python<'_>,
    args: Vec<Py<CType>>,
    result: Py<CType>,
    ellipsis: bool,
    abi: i32,
) -> PyResult<Py<CType>> {
    type Key = (Vec<usize>, usize, bool, i32);
    static CACHE: OnceLock<Mutex<HashMap<Key, Py<CType>>>> = OnceLock::new();
    let key: Key = (
        args.iter().map(|a| a.as_ptr() as usize).collect(),
        result.as_ptr() as usize,
        ellipsis,
        abi,
    );
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache.lock().unwrap().get(&key) {
        return Ok(t.clone_ref(py));
    }
    let mut arglist = args.iter().map(|a| a.get().name.as_str()).collect::<Vec<_>>().join(", ");
    if ellipsis {
        arglist.push_str(if args.is_empty() { "..." } else { ", ..." });
    }
    let r = result.get();
    let mut t = CType::base(Kind::Function, r.name_with(&format!("(*)({arglist})")), 8, 8);
    t.name_pos = r.name_pos + 2;
    t.func = Some(FunctionInfo { args, result, ellipsis, abi, call: OnceLock::new() });
    let t = Py::new(py, t)?;
    // Keep the arg/result types alive with the cache entry: the key holds their addresses.
    let mut guard = cache.lock().unwrap();
    Ok(guard.entry(key).or_insert(t).clone_ref(py))
}

pub fn new_enum(
    py: Python<'_>,
    name: &str,
    items: Vec<(String, i128)>,
    base: &Bound<'_, CType>,
) -> PyResult<Py<CType>> {
    let b = base.get();
    let mut t = CType::base(Kind::Enum, name.to_string(), b.size(), b.align());
    t.item = Some(base.clone().unbind());
    t.prim = b.prim;
    t.enum_info = Some(EnumInfo { items });
    Py::new(py, t)
}

// ---- Python-visible attributes ---------------------------------------------------------------

#[pymethods]
impl CType {
    fn __repr__(&self) -> String {
        format!("<ctype '{}'>", self.name)
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.kind.name()
    }

    #[getter]
    fn cname(&self) -> &str {
        &self.name
    }

    #[getter]
    fn item(&self, py: Python<'_>) -> PyResult<Py<CType>> {
        match self.kind {
            Kind::Pointer | Kind::Array => Ok(self.item.as_ref().unwrap().clone_ref(py)),
            _ => Err(no_attr("item")),
        }
    }

    #[getter]
    fn length(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.kind {
            Kind::Array if self.length < 0 => Ok(py.None()),
            Kind::Array => Ok(self.length.into_pyobject(py)?.into_any().unbind()),
            _ => Err(no_attr("length")),
        }
    }

    #[getter]
    fn fields(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.is_record() {
            return Err(no_attr("fields"));
        }
        match self.record.get() {
            None => Ok(py.None()),
            Some(r) => {
                let list = PyList::empty(py);
                for f in &r.fields {
                    list.append((f.name.as_str(), f.descr.clone_ref(py)))?;
                }
                Ok(list.into_any().unbind())
            }
        }
    }

    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let f = self.func.as_ref().ok_or_else(|| no_attr("args"))?;
        PyTuple::new(py, f.args.iter().map(|a| a.clone_ref(py)))
    }

    #[getter]
    fn result(&self, py: Python<'_>) -> PyResult<Py<CType>> {
        let f = self.func.as_ref().ok_or_else(|| no_attr("result"))?;
        Ok(f.result.clone_ref(py))
    }

    #[getter]
    fn ellipsis(&self) -> PyResult<bool> {
        Ok(self.func.as_ref().ok_or_else(|| no_attr("ellipsis"))?.ellipsis)
    }

    #[getter]
    fn abi(&self) -> PyResult<i32> {
        Ok(self.func.as_ref().ok_or_else(|| no_attr("abi"))?.abi)
    }

    #[getter]
    fn elements<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = self.enum_info.as_ref().ok_or_else(|| no_attr("elements"))?;
        let d = PyDict::new(py);
        for (name, value) in e.items.iter().rev() {
            d.set_item(*value, name)?;
        }
        Ok(d)
    }

    #[getter]
    fn relements<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = self.enum_info.as_ref().ok_or_else(|| no_attr("relements"))?;
        let d = PyDict::new(py);
        for (name, value) in &e.items {
            d.set_item(name, *value)?;
        }
        Ok(d)
    }

    fn __dir__(&self) -> Vec<&'static str> {
        let mut v = vec!["kind", "cname"];
        match self.kind {
            Kind::Pointer => v.push("item"),
            Kind::Array => v.extend(["item", "length"]),
            Kind::Struct | Kind::Union => v.push("fields"),
            Kind::Function => v.extend(["args", "result", "ellipsis", "abi"]),
            Kind::Enum => v.extend(["elements", "relements"]),
            Kind::Primitive | Kind::Void => {}
        }
        v
    }
}

fn no_attr(name: &str) -> PyErr {
    PyAttributeError::new_err(name.to_string())
}
