//! Module attributes made on first use (PEP 562 `__getattr__` / `__dir__`).
//!
//! `import _cffi_backend`, which every out-of-line and API-mode module does, should cost little
//! more than loading the extension; every type object made at init costs as much as a Python
//! class statement. So the types and exceptions that such a module does not need are made when
//! first asked for, here by name or by the code that needs them (PyO3 makes a class's type on
//! its first use). Of the types whose slots are patched (`hotslots`, `buffer_fast`), the lib
//! types, the array iterator and the buffer are patched when first made; the cdata types and FFI
//! stay made at init.
//! The low-level functions (`lowlevel::FUNCTIONS`) are made on first access too.
//! The class attributes `FFI.error` and `FFI.buffer` are `LazyType` descriptors, which make
//! their type on first access and then put it in their place.

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyType};

use crate::errors::{CDefError, FFIError, PkgConfigError, VerificationError, VerificationMissing};

/// Makes one of the module's types.
type MakeType = for<'py> fn(Python<'py>) -> Bound<'py, PyType>;

/// The types served by `__getattr__`, by name.
const TYPES: [(&str, MakeType); 12] = [
    ("FFIError", |py| py.get_type::<FFIError>()),
    ("CDefError", |py| py.get_type::<CDefError>()),
    ("VerificationError", |py| py.get_type::<VerificationError>()),
    ("VerificationMissing", |py| py.get_type::<VerificationMissing>()),
    ("PkgConfigError", |py| py.get_type::<PkgConfigError>()),
    ("CField", |py| py.get_type::<crate::record::CField>()),
    ("buffer", crate::buffer_fast::buffer_type),
    ("FFILibrary", |py| py.get_type::<crate::dllib::DlLib>()),
    ("CLibrary", |py| py.get_type::<crate::library::Library>()),
    ("Lib", |py| py.get_type::<crate::libobj::Lib>()),
    ("__FFIGlobSupport", |py| py.get_type::<crate::globsupport::GlobSupport>()),
    ("__CData_iterator", |py| py.get_type::<crate::cdata::CDataIter>()),
];

/// Every name made on demand: the types above and the low-level functions.
fn lazy_names() -> impl Iterator<Item = &'static str> {
    TYPES.iter().map(|(n, _)| *n).chain(crate::lowlevel::FUNCTIONS.iter().map(|(n, _)| *n))
}

#[pyfunction]
#[pyo3(pass_module)]
pub fn __getattr__(module: &Bound<'_, PyModule>, name: &str) -> PyResult<Py<PyAny>> {
    if let Some((_, make)) = crate::lowlevel::FUNCTIONS.iter().find(|(n, _)| *n == name) {
        // made once: from now on the module's dict answers
        let f = make(module)?;
        module.setattr(name, &f)?;
        return Ok(f.into_any().unbind());
    }
    match TYPES.iter().find(|(n, _)| *n == name) {
        Some((_, make)) => Ok(make(module.py()).into_any().unbind()),
        None => Err(PyAttributeError::new_err(format!("module '_cffi_backend' has no attribute '{name}'"))),
    }
}

/// `dir(module)`: the names made at init and the ones made on demand.
#[pyfunction]
#[pyo3(pass_module)]
pub fn __dir__(module: &Bound<'_, PyModule>) -> PyResult<Py<PyList>> {
    let names = PyList::new(module.py(), module.dict().keys())?;
    for name in lazy_names() {
        if !names.contains(name)? {
            names.append(name)?;
        }
    }
    names.sort()?;
    Ok(names.unbind())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // set, not `add`ed: `add` would list them in `__all__`, and `import *` copy them
    m.setattr("__getattr__", wrap_pyfunction!(__getattr__, m)?)?;
    m.setattr("__dir__", wrap_pyfunction!(__dir__, m)?)?;
    // `from _cffi_backend import *` (upstream's test_c.py does it) takes the names in
    // `__all__`, asking `__getattr__` for these.
    let all = m.index()?;
    for name in lazy_names() {
        all.append(name)?;
    }
    Ok(())
}

/// A class attribute whose value, a type, is made on first access.
#[pyclass(module = "_cffi_backend", name = "__LazyType", frozen)]
pub struct LazyType {
    name: &'static str,
    make: MakeType,
}

impl LazyType {
    pub fn new(py: Python<'_>, name: &'static str, make: MakeType) -> PyResult<Py<LazyType>> {
        Py::new(py, LazyType { name, make })
    }
}

#[pymethods]
impl LazyType {
    fn __get__(&self, py: Python<'_>, _obj: Option<&Bound<'_, PyAny>>, owner: Option<&Bound<'_, PyType>>) -> PyResult<Py<PyType>> {
        let made = (self.make)(py);
        // From now on the class answers with the type itself. Set on the class that holds this
        // descriptor (a subclass reached through inheritance only reads it).
        if let Some(owner) = owner {
            for cls in owner.mro().iter() {
                let cls = cls.cast_into::<PyType>()?;
                let holds = cls.getattr("__dict__")?.get_item(self.name).ok();
                if holds.is_some_and(|v| v.is_instance_of::<LazyType>()) {
                    cls.setattr(self.name, &made)?;
                    break;
                }
            }
        }
        Ok(made.unbind())
    }
}
