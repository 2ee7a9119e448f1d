//! The `lib` object of `ffi.dlopen()` (ABI mode): the functions, global variables and integer
//! constants of the FFI's `cdef()`s, looked up in a shared library on first use.
//!
//! Functions and constants are stored in the instance `__dict__` once found, so later lookups are
//! plain attribute hits; global variables are read and written through the library each time.

use pyo3::exceptions::{PyAttributeError, PyNotImplementedError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::cdata::CData;
use crate::ctype::{self, CType, Kind};
use crate::ffi::Ffi;

#[pyclass(module = "_cffi_backend", name = "FFILibrary", dict, weakref)]
pub struct DlLib {
    ffi: Py<Ffi>,
    /// The `clibrary` object of `load_library()`; None once closed.
    library: Option<Py<PyAny>>,
    name: String,
}

impl DlLib {
    fn library<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyAny>> {
        match &self.library {
            Some(l) => Ok(l.bind(py)),
            None => Err(PyValueError::new_err(format!("library '{}' has already been closed", self.name))),
        }
    }

    /// The realized type of a declared function or variable, and whether it is a function.
    fn declared(&self, py: Python<'_>, name: &str) -> PyResult<Option<(Py<CType>, bool)>> {
        let ffi = self.ffi.get();
        let mut ctx = ffi.context();
        if let Some(sig) = ctx.functions.get(name).map(|f| f.sig.clone()) {
            let t = ctx.realize_function(py, &sig).map_err(crate::realize::into_pyerr)?;
            return Ok(Some((t, true)));
        }
        if let Some(ty) = ctx.variables.get(name).cloned() {
            let (t, _) = ctx.realize(py, &ty).map_err(crate::realize::into_pyerr)?;
            return Ok(Some((t, false)));
        }
        Ok(None)
    }
}

/// `ffi.dlopen(name, flags)`: load the library (a path or a name the system loader finds; None
/// for the main program) and make its `lib`.
pub fn dlopen(py: Python<'_>, ffi: &Bound<'_, Ffi>, name: &Bound<'_, PyAny>, flags: i32) -> PyResult<Py<DlLib>> {
    let backend = py.import("rcffi._backend")?;
    let library = backend.getattr("load_library")?.call1((name, flags))?;
    let shown = if name.is_none() { "None".to_string() } else { name.str()?.to_string() };
    crate::hotslots::ready_dllib(py);
    Py::new(py, DlLib { ffi: ffi.clone().unbind(), library: Some(library.unbind()), name: shown })
}

/// `ffi.dlclose(lib)`.
pub fn dlclose(py: Python<'_>, lib: &Bound<'_, DlLib>) -> PyResult<()> {
    let mut l = lib.borrow_mut();
    if let Some(library) = l.library.take() {
        library.bind(py).call_method0("close_lib")?;
    }
    drop(l);
    if let Ok(d) = lib.getattr("__dict__") {
        d.cast::<PyDict>()?.clear();
    }
    Ok(())
}

#[pymethods]
impl DlLib {
    fn __getattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        let library = this.library(py)?.clone();
        match this.declared(py, name)? {
            Some((t, true)) => {
                let f = library.call_method1("load_function", (t, name))?;
                slf.getattr("__dict__")?.set_item(name, &f)?;
                Ok(f.unbind())
            }
            Some((t, false)) => Ok(library.call_method1("read_variable", (t, name))?.unbind()),
            None => {
                let ctx = this.ffi.get().context();
                if ctx.partial_enumerators.contains(name) {
                    return Err(crate::errors::VerificationMissing::new_err(format!(
                        "enum value '{name}' is declared in an enum with '...': it needs the C compiler"
                    )));
                }
                if ctx.const_globals.contains(name) {
                    return Err(PyNotImplementedError::new_err(format!(
                        "non-integer constant '{name}' cannot be accessed from a dlopen() library"
                    )));
                }
                drop(ctx);
                let value = this.ffi.get().context().constants.get(name).copied();
                match value {
                    Some(v) => {
                        let v = crate::convert::int_to_py(py, v)?.into_bound(py);
                        slf.getattr("__dict__")?.set_item(name, &v)?;
                        Ok(v.unbind())
                    }
                    None if this.ffi.get().context().dotdotdot_constants.iter().any(|n| n == name) => {
                        Err(PyNotImplementedError::new_err(format!(
                            "constant '{name}' is declared with '...' and cannot be accessed from a dlopen() library"
                        )))
                    }
                    None => Err(PyAttributeError::new_err(format!(
                        "cffi library '{}' has no function, constant or global variable named '{}'",
                        this.name, name
                    ))),
                }
            }
        }
    }

    fn __setattr__(slf: &Bound<'_, Self>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        match this.declared(py, name)? {
            Some((t, false)) => {
                this.library(py)?.call_method1("write_variable", (t, name, value))?;
                Ok(())
            }
            _ => Err(PyAttributeError::new_err(format!(
                "cannot set attribute '{}' of cffi library '{}': it is not a global variable",
                name, this.name
            ))),
        }
    }

    fn __dir__(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let ctx = self.ffi.get().context();
        let mut names: Vec<String> = ctx
            .functions
            .keys()
            .chain(ctx.variables.keys())
            .chain(ctx.constants.keys())
            .chain(ctx.const_globals.iter())
            .map(|n| n.to_string())
            .collect();
        names.sort();
        names.dedup();
        Ok(PyList::new(py, names)?.unbind())
    }

    fn __repr__(&self) -> String {
        format!("<cffi library '{}'>", self.name)
    }

    #[getter]
    fn __name__(&self) -> String {
        format!("FFILibrary_{}", self.name)
    }

    /// `ffi.addressof(lib, name)`: the address of a function or global variable.
    fn __addressof__(slf: &Bound<'_, Self>, name: &str) -> PyResult<Py<CData>> {
        let py = slf.py();
        let this = slf.borrow();
        let library = this.library(py)?.clone();
        match this.declared(py, name)? {
            Some((t, true)) => Ok(library.call_method1("load_function", (t, name))?.cast_into::<CData>()?.unbind()),
            Some((t, false)) => {
                let tb = t.bind(py);
                let ptr_t = if tb.get().kind == Kind::Array { t.clone_ref(py) } else { ctype::new_pointer(py, tb)? };
                Ok(library.call_method1("load_function", (ptr_t, name))?.cast_into::<CData>()?.unbind())
            }
            None => Err(PyAttributeError::new_err(format!(
                "cffi library has no function or global variable named '{name}'"
            ))),
        }
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.ffi)?;
        if let Some(l) = &self.library {
            visit.call(l)?;
        }
        Ok(())
    }

    fn __cffi_close__(slf: &Bound<'_, Self>) -> PyResult<()> {
        dlclose(slf.py(), slf)
    }
}
