//! `_cffi_backend.Lib`: what `ffi.dlopen()` gives for the FFI of an out-of-line ABI module. Its
//! attributes are the globals of the module's tables (functions, global variables, constants,
//! enumerators), each looked up in the shared library the first time it is used. Functions and
//! constants are then kept in the instance `__dict__`, so later lookups are plain attribute
//! hits; global variables are read and written at their (remembered) address each time.

use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::sync::Mutex;

use model::protocol::*;
use pyo3::exceptions::{PyAttributeError, PyNotImplementedError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::cdata::CData;
use crate::ctype::{self, CType};
use crate::errors::FFIError;
use crate::ffi::Ffi;
use crate::realize::into_pyerr;

/// A `dlopen()` handle; null once closed.
struct Handle(*mut c_void);

// SAFETY: a dlopen handle may be used from any thread; the Mutex around it orders closing
// against lookups.
unsafe impl Send for Handle {}

#[pyclass(module = "_cffi_backend", name = "Lib", dict, weakref, frozen)]
pub struct Lib {
    ffi: Py<Ffi>,
    handle: Mutex<Handle>,
    /// False for a handle given as a `void *`: someone else closes it.
    auto_close: bool,
    libname: String,
    /// Global variables met so far: type and address.
    variables: Mutex<HashMap<String, (Py<CType>, usize)>>,
}

/// The message of the last dl* failure on this thread.
fn dl_error() -> String {
    // SAFETY: dlerror() returns null or a NUL-terminated string valid until the next dl* call.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        return "(null)".into();
    }
    // SAFETY: non-null and NUL-terminated (see above).
    unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
}

/// `ffi.dlopen(name, flags)` for an out-of-line module: `name` is a file name or path given to
/// dlopen() as is, None for the main program, or a `void *` handle.
pub fn dlopen(py: Python<'_>, ffi: &Bound<'_, Ffi>, name: &Bound<'_, PyAny>, flags: i32) -> PyResult<Py<Lib>> {
    let (target, libname) = crate::library::target_of(py, Some(name))?;
    let (handle, auto_close) = crate::library::open(&target, &libname, flags)?;
    crate::hotslots::ready_lib(py);
    Py::new(
        py,
        Lib {
            ffi: ffi.clone().unbind(),
            handle: Mutex::new(Handle(handle)),
            auto_close,
            libname,
            variables: Mutex::new(HashMap::new()),
        },
    )
}

/// `ffi.dlclose(lib)`: later uses raise `ffi.error`; closing twice does nothing.
pub fn dlclose(lib: &Bound<'_, Lib>) -> PyResult<()> {
    let this = lib.get();
    let handle = std::mem::replace(&mut this.handle.lock().unwrap_or_else(|e| e.into_inner()).0, std::ptr::null_mut());
    if handle.is_null() {
        return Ok(());
    }
    // Forget what was found, so that further uses look again and fail.
    if let Ok(d) = lib.getattr("__dict__") {
        d.cast::<PyDict>()?.clear();
    }
    this.variables.lock().unwrap_or_else(|e| e.into_inner()).clear();
    // SAFETY: a handle from dlopen(), closed once (it was replaced by null above).
    if this.auto_close && unsafe { libc::dlclose(handle) } != 0 {
        return Err(FFIError::new_err(format!("closing library '{}': {}", this.libname, dl_error())));
    }
    Ok(())
}

/// `ffi.addressof(lib, name)`: a pointer to a global variable, or the function itself.
pub fn addressof(lib: &Bound<'_, Lib>, name: &str) -> PyResult<Py<CData>> {
    let py = lib.py();
    match lib.get().attribute(lib, name)? {
        Found::Variable(t, addr) => {
            let ptr = ctype::new_pointer(py, t.bind(py))?;
            CData::borrowed(py, ptr.bind(py), addr as *mut u8)
        }
        Found::Cached(x) if x.bind(py).cast::<CData>().is_ok_and(|c| c.get().ctype.get().kind == ctype::Kind::Function) => {
            Ok(x.bind(py).cast::<CData>()?.clone().unbind())
        }
        Found::Cached(_) => Err(PyAttributeError::new_err(format!("cannot take the address of the constant '{name}'"))),
    }
}

/// What a name is in a Lib.
enum Found {
    /// A function, constant or enumerator: the object (kept in the instance dict).
    Cached(Py<PyAny>),
    Variable(Py<CType>, usize),
}

impl Lib {
    /// The address of `symbol` in the library.
    fn fetch(&self, symbol: &str) -> PyResult<*mut u8> {
        let guard = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0.is_null() {
            return Err(FFIError::new_err(format!("library '{}' has been closed", self.libname)));
        }
        let c = CString::new(symbol).map_err(|_| pyo3::exceptions::PyValueError::new_err("embedded null byte"))?;
        // SAFETY: a live handle (checked above, kept open by the lock) and a C string.
        let p = unsafe {
            libc::dlerror();
            libc::dlsym(guard.0, c.as_ptr())
        };
        if p.is_null() {
            return Err(FFIError::new_err(format!(
                "symbol '{symbol}' not found in library '{}': {}",
                self.libname,
                dl_error()
            )));
        }
        Ok(p.cast())
    }

    /// Find `name` among the module's globals (then the integer constants of included FFIs),
    /// caching functions and constants in the instance dict.
    fn attribute(&self, slf: &Bound<'_, Lib>, name: &str) -> PyResult<Found> {
        let py = slf.py();
        if let Some((t, addr)) = self.variables.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(Found::Variable(t.clone_ref(py), *addr));
        }
        let dict = slf.getattr("__dict__")?.cast_into::<PyDict>()?;
        if let Some(x) = dict.get_item(name)? {
            return Ok(Found::Cached(x.unbind()));
        }
        let ffi = self.ffi.get();
        let mut ctx = ffi.context();
        let Some(tables) = ctx.tables.as_mut() else {
            return Err(PyAttributeError::new_err(name.to_string()));
        };
        let Some(i) = tables.search_global(py, name)? else {
            for inc in &tables.includes {
                let theirs = inc.get().context();
                if let Some(r) = theirs.tables.as_ref().and_then(|t| t.int_constant(py, name, 1)) {
                    let v = r?.into_pyobject(py)?.into_any().unbind();
                    dict.set_item(name, &v)?;
                    return Ok(Found::Cached(v));
                }
            }
            return Err(PyAttributeError::new_err(format!(
                "cffi library '{}' has no function, constant or global variable named '{name}'",
                self.libname
            )));
        };
        let g = tables.global(py, i)?;
        let arg = usize::try_from(getarg(g.op)).unwrap_or(usize::MAX);
        let value: Py<PyAny> = match getop(g.op) {
            OP_CONSTANT_INT | OP_ENUM => tables.global_int(py, i)?.into_pyobject(py)?.into_any().unbind(),
            OP_DLOPEN_FUNC => {
                let t = tables.function_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                let addr = self.fetch(name)?;
                CData::borrowed(py, t.bind(py), addr)?.into_any()
            }
            OP_DLOPEN_CONST => {
                let t = tables.global_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                if t.get().size() <= 0 {
                    return Err(FFIError::new_err(format!(
                        "constant '{name}' is of type '{}', whose size is not known",
                        t.get().name
                    )));
                }
                let addr = self.fetch(name)?;
                // SAFETY: the symbol is a constant of (the cdef says) this type, whose size is known.
                unsafe { crate::convert::read(py, t.bind(py), addr) }?
            }
            OP_GLOBAL_VAR => {
                let t = tables.global_type(py, arg).map_err(into_pyerr)?;
                drop(ctx);
                let addr = self.fetch(name)?;
                self.variables
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string(), (t.clone_ref(py), addr as usize));
                return Ok(Found::Variable(t, addr as usize));
            }
            op => return Err(PyNotImplementedError::new_err(format!("in lib_build_attr: op={op}"))),
        };
        dict.set_item(name, &value)?;
        Ok(Found::Cached(value))
    }
}

#[pymethods]
impl Lib {
    fn __getattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match slf.get().attribute(slf, name) {
            Ok(Found::Cached(x)) => Ok(x),
            Ok(Found::Variable(t, addr)) => {
                // SAFETY: the symbol is a global of (the cdef says) this type, as in C.
                unsafe { crate::convert::read(py, t.bind(py), addr as *const u8) }
            }
            Err(e) if e.is_instance_of::<PyAttributeError>(py) => {
                module_like_attribute(py, slf.get().ffi.get(), &slf.get().libname, name, e)
            }
            Err(e) => Err(e),
        }
    }

    fn __setattr__(slf: &Bound<'_, Self>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        match slf.get().attribute(slf, name)? {
            Found::Variable(t, addr) => {
                // SAFETY: as in __getattr__.
                unsafe { crate::convert::write(py, t.bind(py), addr as *mut u8, value) }
            }
            Found::Cached(_) => Err(PyAttributeError::new_err(format!("cannot write to function or constant '{name}'"))),
        }
    }

    fn __delattr__(&self, _name: &str) -> PyResult<()> {
        Err(PyAttributeError::new_err("C attribute cannot be deleted"))
    }

    fn __dir__(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        Ok(PyList::new(py, global_names(py, self.ffi.get(), false)?)?.unbind())
    }

    fn __repr__(&self) -> String {
        format!("<Lib object for '{}'>", self.libname)
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.ffi)
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        let h = self.handle.get_mut().unwrap_or_else(|e| e.into_inner());
        if self.auto_close && !h.0.is_null() {
            // SAFETY: a handle from dlopen() that dlclose() has not closed (it would be null).
            unsafe { libc::dlclose(h.0) };
            h.0 = std::ptr::null_mut();
        }
    }
}

/// The few module-like attributes a `lib` has when nothing else of that name exists (as
/// upstream's Lib): `__all__` (the global names), `__name__`, `__loader__`, `__spec__`.
pub fn module_like_attribute(py: Python<'_>, ffi: &Ffi, lib_name: &str, name: &str, not_found: PyErr) -> PyResult<Py<PyAny>> {
    match name {
        "__all__" => Ok(PyList::new(py, global_names(py, ffi, true)?)?.into_any().unbind()),
        "__name__" => Ok(format!("{lib_name}.lib").into_pyobject(py)?.into_any().unbind()),
        "__loader__" | "__spec__" => Ok(py.None()),
        _ => Err(not_found),
    }
}

/// The global names of a module's tables (without the variables if `skip_variables`), for
/// `dir(lib)` and `lib.__all__` of both Lib kinds.
pub fn global_names(py: Python<'_>, ffi: &Ffi, skip_variables: bool) -> PyResult<Vec<String>> {
    match &ffi.context().tables {
        Some(t) => t.global_names(py, skip_variables),
        None => Ok(Vec::new()),
    }
}
