//! Calling C function pointers from Python through libffi.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::cdata::CData;

/// The prepared call interface of a function type, built on first call.
pub struct CallPlan {}

pub fn call_cdata(slf: &Bound<'_, CData>, _args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
    Err(PyTypeError::new_err(format!("cdata '{}' is not callable", slf.get().ctype.get().name)))
}

/// Check a function argument type; arrays decay to pointers as in C.
pub fn check_arg_type(py: Python<'_>, a: &Bound<'_, crate::ctype::CType>) -> PyResult<Py<crate::ctype::CType>> {
    use crate::ctype::Kind;
    let t = a.get();
    match t.kind {
        Kind::Array => crate::ctype::new_pointer(py, t.item.as_ref().unwrap().bind(py)),
        Kind::Void => Err(PyTypeError::new_err(format!(
            "argument of type '{}' is invalid (use 'void *' for a generic pointer)",
            t.name
        ))),
        _ => Ok(a.clone().unbind()),
    }
}

/// Check a function result type: no arrays (C cannot return them).
pub fn check_result_type(_py: Python<'_>, r: &Bound<'_, crate::ctype::CType>) -> PyResult<()> {
    let t = r.get();
    if t.kind == crate::ctype::Kind::Array {
        return Err(PyTypeError::new_err(format!(
            "invalid result type: '{}'",
            t.name
        )));
    }
    Ok(())
}
