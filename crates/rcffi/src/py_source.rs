//! `_backend._make_py_source(module_name, steps, include_names)`: the text of an out-of-line
//! ABI-mode module, from the generator of crates/recompiler. `rcffi.recompiler` calls it with
//! the cdef() and include() calls the Python-level FFI recorded, in order (and
//! `_backend._cdef_declarations(steps)` gives the declarations they make, for the view of
//! upstream's `ffi._parser` that `rcffi.api` offers):
//!
//! - `('cdef', source, override, packed, pack[, dllexport])`: `dllexport` is true for
//!   `ffi.embedding_api(source)`
//! - `('include', [steps of the included FFI])`

use pyo3::exceptions::{PyNotImplementedError, PyOverflowError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use recompiler::{DeclValue, ErrorKind, GenError, Step};

use crate::errors::{CDefError, FFIError, VerificationError, VerificationMissing};

/// Includes nest no deeper than this (each level is an `ffi.include()`).
const MAX_INCLUDE_DEPTH: usize = 100;

pub(crate) fn steps_from(list: &Bound<'_, PyAny>, depth: usize) -> PyResult<Vec<Step>> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(pyo3::exceptions::PyRuntimeError::new_err("recursion overflow in ffi.include() delegations"));
    }
    let list = list.cast::<PyList>().map_err(|_| PyTypeError::new_err("steps must be a list"))?;
    let mut steps = Vec::with_capacity(list.len());
    for item in list.iter() {
        let t = item.cast::<PyTuple>().map_err(|_| PyTypeError::new_err("each step must be a tuple"))?;
        let tag: String = t.get_item(0)?.extract()?;
        match tag.as_str() {
            "cdef" => {
                let source: String = t.get_item(1)?.extract()?;
                let override_: bool = t.get_item(2)?.is_truthy()?;
                let packed = t.get_item(3)?;
                let pack = t.get_item(4)?;
                let pack: i64 = if packed.is_truthy()? {
                    1
                } else if pack.is_none() {
                    0
                } else {
                    pack.extract()?
                };
                let dllexport = match t.len() {
                    n if n > 5 => t.get_item(5)?.is_truthy()?,
                    _ => false,
                };
                steps.push(Step::Cdef { source, override_, pack, dllexport });
            }
            "include" => steps.push(Step::Include(steps_from(&t.get_item(1)?, depth + 1)?)),
            other => return Err(PyValueError::new_err(format!("unknown step {other:?}"))),
        }
    }
    Ok(steps)
}

pub(crate) fn to_pyerr(e: GenError) -> PyErr {
    let m = e.message;
    match e.kind {
        ErrorKind::CDefError => CDefError::new_err(m),
        ErrorKind::FFIError => FFIError::new_err(m),
        ErrorKind::VerificationError => VerificationError::new_err(m),
        ErrorKind::VerificationMissing => VerificationMissing::new_err(m),
        ErrorKind::NotImplementedError => PyNotImplementedError::new_err(m),
        ErrorKind::TypeError => PyTypeError::new_err(m),
        ErrorKind::OverflowError => PyOverflowError::new_err(m),
    }
}

#[pyfunction]
#[pyo3(signature = (module_name, steps, include_names=Vec::new()))]
fn _make_py_source(py: Python<'_>, module_name: &str, steps: &Bound<'_, PyAny>, include_names: Vec<String>) -> PyResult<String> {
    let steps = steps_from(steps, 0)?;
    let generated = recompiler::make_py_source(module_name, &steps, &include_names).map_err(to_pyerr)?;
    warn_all(py, &generated.warnings)?;
    Ok(generated.text)
}

/// `_backend._make_c_source(module_name, steps, include_names, preamble, no_limited_api,
/// for_verify, embedding)`: the C source of an API-mode extension module (the C generator of
/// crates/recompiler); `for_verify` when it is for `ffi.verify()`; `embedding` is None, or the
/// init code of an embedding module.
#[pyfunction]
#[pyo3(signature = (module_name, steps, include_names, preamble, no_limited_api=false, for_verify=false, embedding=None))]
fn _make_c_source(
    py: Python<'_>,
    module_name: &str,
    steps: &Bound<'_, PyAny>,
    include_names: Vec<String>,
    preamble: &str,
    no_limited_api: bool,
    for_verify: bool,
    embedding: Option<String>,
) -> PyResult<String> {
    let steps = steps_from(steps, 0)?;
    let opts = recompiler::c_source::COptions { no_limited_api, for_verify, embedding };
    let generated = recompiler::make_c_source(module_name, &steps, &include_names, preamble, &opts).map_err(to_pyerr)?;
    warn_all(py, &generated.warnings)?;
    Ok(generated.text)
}

fn warn_all(py: Python<'_>, warnings: &[String]) -> PyResult<()> {
    for w in warnings {
        let msg = std::ffi::CString::new(w.as_str()).unwrap_or_default();
        PyErr::warn(py, &py.get_type::<PyUserWarning>(), &msg, 1)?;
    }
    Ok(())
}

/// `({"function f": ("int(*)(int)", quals), "macro N": (42, 0), ...}, {"N": 42, ...})`
#[pyfunction]
fn _cdef_declarations<'py>(py: Python<'py>, steps: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let steps = steps_from(steps, 0)?;
    let (decls, consts) = recompiler::declarations(&steps).map_err(to_pyerr)?;
    let d = PyDict::new(py);
    for (key, value, quals) in decls {
        let v = match value {
            DeclValue::Type(name) => name.into_pyobject(py)?.into_any(),
            DeclValue::Int(n) => n.into_pyobject(py)?.into_any(),
            DeclValue::Dots => "...".into_pyobject(py)?.into_any(),
        };
        d.set_item(key, (v, quals))?;
    }
    let c = PyDict::new(py);
    for (name, v) in consts {
        c.set_item(name, v)?;
    }
    Ok((d, c))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_make_py_source, m)?)?;
    m.add_function(wrap_pyfunction!(_make_c_source, m)?)?;
    m.add_function(wrap_pyfunction!(_cdef_declarations, m)?)
}
