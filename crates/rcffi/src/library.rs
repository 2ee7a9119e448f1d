//! `_cffi_backend.load_library()`: shared libraries opened with `dlopen()`, and the `CLibrary`
//! objects that look up functions and global variables in them.

use std::ffi::{c_void, CStr, CString};
use std::sync::Mutex;

use pyo3::exceptions::{PyAttributeError, PyKeyError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::cdata::CData;
use crate::convert;
use crate::ctype::{CType, Kind};

/// A `dlopen()` handle. Null once closed.
struct Handle(*mut c_void);

// SAFETY: a dlopen handle may be used from any thread; the Mutex around it orders closing
// against lookups.
unsafe impl Send for Handle {}

#[pyclass(module = "_cffi_backend", name = "CLibrary", frozen)]
pub struct Library {
    handle: Mutex<Handle>,
    /// The name as given (or `<None>`, or the handle's address), for messages.
    name: String,
    /// False for a handle given as a `void *`: someone else owns it.
    auto_close: bool,
}

/// The message of the last dl* failure on this thread.
fn dl_error() -> String {
    // SAFETY: dlerror() returns null or a NUL-terminated string valid until the next dl* call.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        return "(null)".into();
    }
    // SAFETY: non-null, NUL-terminated (see above).
    unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
}

/// What `load_library()` was given.
pub enum Target {
    /// `dlopen(NULL)`: the main program and what it loaded.
    MainProgram,
    Path(CString),
    /// An existing handle (a `void *` cdata); never closed by us.
    Handle(*mut c_void),
}

/// Interpret the first argument of `load_library()`/`ffi.dlopen()`, and the printable name.
pub fn target_of(py: Python<'_>, filename: Option<&Bound<'_, PyAny>>) -> PyResult<(Target, String)> {
    let Some(f) = filename.filter(|f| !f.is_none()) else {
        return Ok((Target::MainProgram, "<None>".into()));
    };
    if let Ok(cd) = f.cast::<CData>() {
        let cd = cd.get();
        let t = cd.ctype.get();
        if !t.is_void_pointer(py) {
            return Err(PyTypeError::new_err(format!(
                "dlopen() takes a file name or 'void *' handle, not '{}'",
                t.name
            )));
        }
        if cd.addr().is_null() {
            return Err(PyRuntimeError::new_err("cannot call dlopen(NULL)"));
        }
        return Ok((Target::Handle(cd.addr().cast()), format!("{:p}", cd.addr())));
    }
    if f.is_instance_of::<PyBytes>() {
        // Upstream accepts bytes for dlopen() but then fails to print the name.
        return Err(PyTypeError::new_err("bad argument type for built-in operation"));
    }
    let s = f.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "load_library() argument 1 must be str, bytes or None, not {}",
            convert::type_name(f)
        ))
    })?;
    let name = s.to_str()?.to_string();
    let encoded = py.import("os")?.call_method1("fsencode", (s,))?;
    let path = CString::new(encoded.cast::<PyBytes>()?.as_bytes())
        .map_err(|_| PyValueError::new_err("embedded null byte"))?;
    Ok((Target::Path(path), name))
}

/// `dlopen()` a target; returns the handle and whether we should close it.
pub fn open(target: &Target, name: &str, mut flags: i32) -> PyResult<(*mut c_void, bool)> {
    let path = match target {
        Target::Handle(h) => return Ok((*h, false)),
        Target::MainProgram => std::ptr::null(),
        Target::Path(p) => p.as_ptr(),
    };
    if flags & (libc::RTLD_NOW | libc::RTLD_LAZY) == 0 {
        flags |= libc::RTLD_NOW;
    }
    // SAFETY: `path` is null or a NUL-terminated string alive for the call.
    let handle = unsafe { libc::dlopen(path, flags) };
    if handle.is_null() {
        return Err(PyOSError::new_err(format!("cannot load library '{}': {}", name, dl_error())));
    }
    Ok((handle, true))
}

/// `_cffi_backend.load_library(filename=None, flags=0)`.
#[pyfunction]
#[pyo3(signature = (filename=None, flags=0))]
pub fn load_library(py: Python<'_>, filename: Option<&Bound<'_, PyAny>>, flags: i32) -> PyResult<Library> {
    let (target, name) = target_of(py, filename)?;
    let (handle, auto_close) = open(&target, &name, flags)?;
    Ok(Library { handle: Mutex::new(Handle(handle)), name, auto_close })
}

impl Library {
    fn check_open(&self) -> PyResult<()> {
        let guard = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0.is_null() {
            return Err(PyValueError::new_err(format!("library '{}' has already been closed", self.name)));
        }
        Ok(())
    }

    /// Look up `symbol`; Err(message) if it is missing. `Ok(null)` is possible (a symbol whose
    /// value is NULL).
    fn lookup(&self, symbol: &str) -> PyResult<Result<*mut u8, String>> {
        let guard = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0.is_null() {
            return Err(PyValueError::new_err(format!("library '{}' has already been closed", self.name)));
        }
        let c = CString::new(symbol).map_err(|_| PyValueError::new_err("embedded null byte"))?;
        // SAFETY: a live handle (checked above, kept open by the lock) and a C string.
        unsafe {
            libc::dlerror(); // clear any earlier error
            let p = libc::dlsym(guard.0, c.as_ptr());
            if p.is_null() {
                let e = libc::dlerror();
                if !e.is_null() {
                    return Ok(Err(CStr::from_ptr(e).to_string_lossy().into_owned()));
                }
            }
            Ok(Ok(p.cast()))
        }
    }

    fn close(&self) {
        let mut guard = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        if !guard.0.is_null() && self.auto_close {
            // SAFETY: a handle from dlopen(), closed once (then set to null).
            unsafe { libc::dlclose(guard.0) };
        }
        guard.0 = std::ptr::null_mut();
    }
}

#[pymethods]
impl Library {
    fn __repr__(&self) -> String {
        format!("<clibrary '{}'>", self.name)
    }

    fn load_function(&self, py: Python<'_>, ct: &Bound<'_, CType>, name: &str) -> PyResult<Py<CData>> {
        self.check_open()?;
        let t = ct.get();
        if !matches!(t.kind, Kind::Function | Kind::Pointer | Kind::Array) {
            return Err(PyTypeError::new_err(format!(
                "function or pointer or array cdata expected, got '{}'",
                t.name
            )));
        }
        let p = match self.lookup(name)? {
            Ok(p) if !p.is_null() => p,
            found => {
                let why = found.err().unwrap_or_else(|| "(null)".into());
                return Err(PyAttributeError::new_err(format!(
                    "function/symbol '{}' not found in library '{}': {}",
                    name, self.name, why
                )));
            }
        };
        if t.kind == Kind::Array && t.length < 0 {
            let ptr = crate::ctype::new_pointer(py, t.item.as_ref().unwrap().bind(py))?;
            return CData::borrowed(py, ptr.bind(py), p);
        }
        CData::borrowed(py, ct, p)
    }

    fn read_variable(&self, py: Python<'_>, ct: &Bound<'_, CType>, name: &str) -> PyResult<Py<PyAny>> {
        let p = self.variable(name)?;
        // SAFETY: the symbol is a global of (the caller says) this type, as in C.
        unsafe { convert::read(py, ct, p) }
    }

    fn write_variable(&self, py: Python<'_>, ct: &Bound<'_, CType>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = self.variable(name)?;
        // SAFETY: as in read_variable.
        unsafe { convert::write(py, ct, p, value) }
    }

    fn close_lib(&self) {
        self.close();
    }
}

impl Library {
    /// The address of a global variable.
    fn variable(&self, name: &str) -> PyResult<*mut u8> {
        match self.lookup(name)? {
            Ok(p) if !p.is_null() => Ok(p),
            found => {
                let why = found.err().unwrap_or_else(|| "symbol has a NULL address".into());
                Err(PyKeyError::new_err(format!(
                    "variable '{}' not found in library '{}': {}",
                    name, self.name, why
                )))
            }
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        self.close();
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load_library, m)?)
}
