//! `ffi.callback()`: C function pointers that call Python. (Closures over libffi.)

use pyo3::prelude::*;

/// The closure behind a callback cdata: keeps the callable alive.
pub struct Closure {
    callable: Py<PyAny>,
}

impl Closure {
    pub fn callable(&self) -> &Py<PyAny> {
        &self.callable
    }
}
