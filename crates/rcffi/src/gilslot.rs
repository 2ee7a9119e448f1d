//! `GilSlot`: an optional Python object that is read, replaced and cleared only with the GIL held,
//! so it needs no lock of its own.
//!
//! rcffi's module declares that it uses the GIL (`gil_used = true`, even on free-threaded
//! builds), and every access below takes a `Python` token or runs where CPython holds the GIL
//! (the garbage collector's traverse). That is what a callback's callable needs: read on every
//! call from C, cleared when the collector breaks a cycle.

use std::cell::UnsafeCell;

use pyo3::prelude::*;

pub struct GilSlot(UnsafeCell<Option<Py<PyAny>>>);

// SAFETY: the contents are only touched with the GIL held (see the module docs), which
// serializes all accesses from any thread.
unsafe impl Sync for GilSlot {}
// SAFETY: `Py<PyAny>` is Send; the cell adds no thread affinity.
unsafe impl Send for GilSlot {}

impl GilSlot {
    pub fn new(obj: Option<Py<PyAny>>) -> GilSlot {
        GilSlot(UnsafeCell::new(obj))
    }

    /// A new reference to the object, if any.
    pub fn get(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        // SAFETY: the GIL is held (the token); the reference does not outlive this call and
        // clone_ref only increments a reference count (no Python code runs meanwhile).
        unsafe { (*self.0.get()).as_ref().map(|o| o.clone_ref(py)) }
    }

    /// Take the object out (the slot is empty afterwards).
    pub fn take(&self, _py: Python<'_>) -> Option<Py<PyAny>> {
        // SAFETY: the GIL is held (the token); nothing else borrows the contents meanwhile.
        unsafe { (*self.0.get()).take() }
    }

    /// For tp_traverse, which CPython calls with the GIL held.
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // SAFETY: the collector runs with the GIL held and does not run during get()/take().
        match unsafe { (*self.0.get()).as_ref() } {
            Some(o) => visit.call(o),
            None => Ok(()),
        }
    }
}
