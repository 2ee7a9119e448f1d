//! Raw METH_FASTCALL entries for the most called `FFI` methods: `new`, `cast`, `typeof`,
//! `sizeof`, `string`.
//!
//! PyO3's method wrappers (argument extraction by name, the trampoline's bookkeeping) cost about
//! as much as these operations themselves. The raw entries take the positional arguments
//! straight from CPython's array and call the very same Rust methods of `Ffi`; a call with keyword
//! arguments or an unusual number of arguments goes to PyO3's method (kept aside), so its
//! argument errors stay the ones users see today. Installed once, at module init.

use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::PyTypeInfo;

use crate::ffi::Ffi;
use crate::rawslots::guarded;

/// One raw method: its name, the positional-argument counts it serves, what it does, and the
/// PyO3 method object it replaced (for everything else).
struct FastMethod {
    name: &'static std::ffi::CStr,
    min_args: usize,
    max_args: usize,
    /// The method, given its first and (if any) second positional argument.
    run: fn(Python<'_>, &Ffi, &Bound<'_, PyAny>, Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>>,
    original: OnceLock<Py<PyAny>>,
}

fn run_new(py: Python<'_>, ffi: &Ffi, a: &Bound<'_, PyAny>, b: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
    Ok(ffi.new(py, a, b)?.into_any())
}

fn run_cast(py: Python<'_>, ffi: &Ffi, a: &Bound<'_, PyAny>, b: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
    let source = b.ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("cast() missing its source"))?;
    Ok(ffi.cast(py, a, source)?.into_any())
}

fn run_typeof(py: Python<'_>, ffi: &Ffi, a: &Bound<'_, PyAny>, _: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
    Ok(ffi.typeof_(py, a)?.into_any())
}

fn run_sizeof(py: Python<'_>, ffi: &Ffi, a: &Bound<'_, PyAny>, _: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
    Ok(ffi.sizeof(py, a)?.into_pyobject(py)?.into_any().unbind())
}

fn run_string(py: Python<'_>, ffi: &Ffi, a: &Bound<'_, PyAny>, b: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
    let maxlen: isize = match b {
        Some(m) => m.extract()?,
        None => -1,
    };
    ffi.string(py, a, maxlen)
}

static NEW: FastMethod = FastMethod { name: c"new", min_args: 1, max_args: 2, run: run_new, original: OnceLock::new() };
static CAST: FastMethod = FastMethod { name: c"cast", min_args: 2, max_args: 2, run: run_cast, original: OnceLock::new() };
static TYPEOF: FastMethod =
    FastMethod { name: c"typeof", min_args: 1, max_args: 1, run: run_typeof, original: OnceLock::new() };
static SIZEOF: FastMethod =
    FastMethod { name: c"sizeof", min_args: 1, max_args: 1, run: run_sizeof, original: OnceLock::new() };
static STRING: FastMethod =
    FastMethod { name: c"string", min_args: 1, max_args: 2, run: run_string, original: OnceLock::new() };

macro_rules! entry {
    ($fname:ident, $method:expr) => {
        unsafe extern "C" fn $fname(
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: CPython calls a METH_FASTCALL|METH_KEYWORDS method with the GIL held,
            // `slf` an FFI (or subclass) instance and `args` holding nargs + len(kwnames) objects.
            unsafe { call(&$method, slf, args, nargs, kwnames) }
        }
    };
}

entry!(fast_new, NEW);
entry!(fast_cast, CAST);
entry!(fast_typeof, TYPEOF);
entry!(fast_sizeof, SIZEOF);
entry!(fast_string, STRING);

/// # Safety
/// As the entries above.
unsafe fn call(
    m: &FastMethod,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let n = usize::try_from(nargs).unwrap_or(usize::MAX);
    if !kwnames.is_null() || n < m.min_args || n > m.max_args {
        // SAFETY: forwarded.
        return unsafe { call_original(m, slf, args, n, kwnames) };
    }
    // SAFETY: forwarded; `slf` is an FFI instance (the method's type), and the arguments are
    // borrowed from the caller's array for the duration of the call.
    unsafe {
        let py = Python::assume_attached();
        let this = Borrowed::from_ptr(py, slf).cast_unchecked::<Ffi>();
        let first = Bound::from_borrowed_ptr(py, *args);
        let second = (n > 1).then(|| Bound::from_borrowed_ptr(py, *args.add(1)));
        guarded(py, c"rcffi: internal error in an FFI method", || (m.run)(py, this.get(), &first, second.as_ref()))
    }
}

/// The PyO3 method this one replaced, called as `original(self, *args, **kwargs)`.
///
/// # Safety
/// As the entries above.
unsafe fn call_original(
    m: &FastMethod,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let Some(original) = m.original.get() else {
        // SAFETY: the GIL is held; a static message.
        unsafe { ffi::PyErr_SetString(ffi::PyExc_SystemError, c"rcffi: FFI method not installed".as_ptr()) };
        return std::ptr::null_mut();
    };
    // SAFETY: forwarded; kwnames is NULL or a tuple whose values follow the positionals.
    unsafe {
        let nkw = if kwnames.is_null() { 0 } else { ffi::PyTuple_Size(kwnames).max(0) as usize };
        let mut all: Vec<*mut ffi::PyObject> = Vec::with_capacity(1 + nargs + nkw);
        all.push(slf);
        all.extend_from_slice(std::slice::from_raw_parts(args, nargs + nkw));
        ffi::PyObject_Vectorcall(original.as_ptr(), all.as_ptr(), nargs + 1, kwnames)
    }
}

/// Put the raw entries into the FFI type's dict in place of PyO3's methods (kept as fallbacks).
pub fn install(py: Python<'_>) {
    let tp = Ffi::type_object_raw(py);
    let table: [(&FastMethod, ffi::PyCFunctionFastWithKeywords); 5] = [
        (&NEW, fast_new),
        (&CAST, fast_cast),
        (&TYPEOF, fast_typeof),
        (&SIZEOF, fast_sizeof),
        (&STRING, fast_string),
    ];
    for (m, f) in table {
        // SAFETY: `tp` is the FFI heap type, alive for the interpreter's life, with a plain
        // dict; the GIL is held. On any failure PyO3's method simply stays. The original's doc
        // lives as long as its definition (`method_def`), kept by `m.original`.
        unsafe {
            let dict = (*tp).tp_dict;
            if dict.is_null() {
                return;
            }
            let original = ffi::PyDict_GetItemString(dict, m.name.as_ptr());
            if original.is_null() || m.original.set(Bound::from_borrowed_ptr(py, original).unbind()).is_err() {
                continue;
            }
            // The same doc: the replaced method's own text, which lives as long as its
            // definition, which lives as long as the method object (kept in `m.original`).
            let doc = method_def(original).map_or(std::ptr::null(), |def| (*def).ml_doc);
            // The definition must outlive the type: leaked, once per method.
            let def = Box::leak(Box::new(ffi::PyMethodDef {
                ml_name: m.name.as_ptr(),
                ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: f },
                ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
                ml_doc: doc,
            }));
            let descr = ffi::PyDescr_NewMethod(tp, def);
            if descr.is_null() {
                ffi::PyErr_Clear();
                continue;
            }
            if ffi::PyDict_SetItemString(dict, m.name.as_ptr(), descr) != 0 {
                ffi::PyErr_Clear();
            }
            ffi::Py_DECREF(descr);
        }
    }
    // SAFETY: as above.
    unsafe { ffi::PyType_Modified(tp) };
}

/// `_backend._own_methods(cls)`: give a Python subclass of the FFI (rcffi's `FFI`, the in-line
/// one) its own copy of every method it inherits from the backend's FFI, the same definitions
/// bound to `cls`.
///
/// CPython 3.11 runs a call like `ffi.new(...)` through a shortcut that calls the method's C
/// function directly, but only when `type(ffi)` is exactly the type that owns the method
/// (`PRECALL_METHOD_DESCRIPTOR_*`); on an instance of a subclass it gives up every time and
/// takes the generic path, ~14 ns more per call. Copies owned by `cls` keep the shortcut.
/// Methods `cls` defines itself, and special methods, are left alone.
#[pyfunction]
fn _own_methods(cls: &Bound<'_, pyo3::types::PyType>) -> PyResult<()> {
    let py = cls.py();
    let base = Ffi::type_object_raw(py);
    let sub = cls.as_type_ptr();
    // SAFETY: PyType_IsSubtype only reads both (live) type objects.
    if sub == base || unsafe { ffi::PyType_IsSubtype(sub, base) } == 0 {
        return Err(pyo3::exceptions::PyTypeError::new_err("_own_methods() takes a subclass of FFI"));
    }
    // SAFETY: the FFI type's dict, alive with the type, read with the GIL held.
    let base_dict = unsafe { Bound::from_borrowed_ptr(py, (*base).tp_dict) }.cast_into::<pyo3::types::PyDict>()?;
    let own = cls.getattr("__dict__")?;
    for (name, method) in base_dict.iter() {
        let name = name.cast_into::<pyo3::types::PyString>()?;
        // SAFETY: `method` is a live object of the dict being read.
        let Some(def) = (unsafe { method_def(method.as_ptr()) }) else { continue };
        if name.to_str()?.starts_with("__") || own.contains(&name)? {
            continue;
        }
        // SAFETY: the definition lives as long as the FFI type (PyO3's and ours alike are never
        // freed) and `cls` is a subclass, so the copy outlives nothing it points to.
        let copy = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(sub, def))? };
        cls.setattr(name, copy)?;
    }
    Ok(())
}

/// The definition behind a method descriptor (a C method of a type), if `obj` is one. The
/// definition lives at least as long as the descriptor (CPython requires it).
///
/// # Safety
/// `obj` must be a live object; the GIL is held.
unsafe fn method_def(obj: *mut ffi::PyObject) -> Option<*mut ffi::PyMethodDef> {
    // SAFETY: per the contract; the descriptor's layout is read only once its type is checked.
    unsafe {
        if ffi::Py_TYPE(obj) != std::ptr::addr_of_mut!(ffi::PyMethodDescr_Type) {
            return None;
        }
        let def = (*obj.cast::<ffi::PyMethodDescrObject>()).d_method;
        (!def.is_null()).then_some(def)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_own_methods, m)?)
}
