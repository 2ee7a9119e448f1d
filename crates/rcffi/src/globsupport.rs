//! `_cffi_backend.__FFIGlobSupport`: what `lib.__dict__` holds for a global variable of a
//! compiled module (its name, type and address), as upstream's. Reading and writing the variable
//! go through the `lib` itself; this object only stands for it in the dict. Two of them are
//! equal when they stand for the same variable (each `lib.__dict__` is a new snapshot).

use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;

use crate::ctype::CType;

#[pyclass(module = "_cffi_backend", name = "__FFIGlobSupport", frozen)]
pub struct GlobSupport {
    name: String,
    _ctype: Py<CType>,
    address: usize,
}

impl GlobSupport {
    pub fn new(name: &str, ctype: Py<CType>, address: *mut u8) -> GlobSupport {
        GlobSupport { name: name.to_string(), _ctype: ctype, address: address as usize }
    }
}

#[pymethods]
impl GlobSupport {
    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<GlobSupport>() else {
            return Ok(py.NotImplemented());
        };
        let same = self.address == other.get().address && self.name == other.get().name;
        Ok(match op {
            CompareOp::Eq => same.into_pyobject(py)?.to_owned().into_any().unbind(),
            CompareOp::Ne => (!same).into_pyobject(py)?.to_owned().into_any().unbind(),
            _ => py.NotImplemented(),
        })
    }
}
