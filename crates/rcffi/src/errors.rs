//! The exception types of cffi. They live in the backend so that `_cffi_backend` stands alone;
//! their `__module__` is `cffi`, as upstream's are.

use pyo3::create_exception;
use pyo3::exceptions::PyException;

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
