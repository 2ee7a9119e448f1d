//! The exception types of cffi. They live in the backend so that `_cffi_backend` stands alone;
//! their `__module__` is `cffi`, as upstream's are.

use pyo3::create_exception;
use pyo3::exceptions::{PyAttributeError, PyException};
use pyo3::prelude::*;

create_exception!(cffi, FFIError, PyException, "Raised by ffi operations (`ffi.error`).");
create_exception!(cffi, CDefError, PyException, "A declaration given to ffi.cdef() is wrong.");
create_exception!(cffi, VerificationError, PyException, "An error raised when verification fails.");
create_exception!(
    cffi,
    VerificationMissing,
    PyException,
    "An error raised when incomplete structures are passed into cdef, but no verification has been done."
);
create_exception!(cffi, PkgConfigError, PyException, "An error raised for missing modules in pkg-config.");

/// The module's `__getattr__` (PEP 562): the exception types other than `FFIError` are made on
/// first use. Each costs as much as a Python class statement, and `import _cffi_backend`, which
/// every out-of-line module does, needs none of them.
#[pyfunction]
pub fn __getattr__(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    let t = match name {
        "CDefError" => py.get_type::<CDefError>(),
        "VerificationError" => py.get_type::<VerificationError>(),
        "VerificationMissing" => py.get_type::<VerificationMissing>(),
        "PkgConfigError" => py.get_type::<PkgConfigError>(),
        _ => return Err(PyAttributeError::new_err(format!("module '_cffi_backend' has no attribute '{name}'"))),
    };
    Ok(t.into_any().unbind())
}
