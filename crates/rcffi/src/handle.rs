//! `ffi.new_handle()` / `ffi.from_handle()`: a `void *` that stands for a Python object.
//!
//! The handle's address is the address of a small heap cell owned by the handle cdata. The
//! objects live in one registry keyed by those addresses, so `from_handle()` of a pointer that
//! is not a live handle raises instead of reading garbage (upstream would crash there), and a
//! lookup costs one lock and one hash probe.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;

use crate::fxhash::FxHashMap;

/// The cell whose address is the handle; it only needs to be unique while alive.
pub struct HandleCell {
    _unique: u8,
}

/// Live handles: cell address -> object (None once the garbage collector broke a reference
/// cycle through the handle).
static LIVE: Mutex<Option<FxHashMap<usize, Option<Py<PyAny>>>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<FxHashMap<usize, Option<Py<PyAny>>>>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

impl HandleCell {
    pub fn new(obj: Py<PyAny>) -> Box<HandleCell> {
        let cell = Box::new(HandleCell { _unique: 0 });
        live().get_or_insert_with(Default::default).insert(cell.key(), Some(obj));
        cell
    }

    fn key(&self) -> usize {
        self as *const HandleCell as usize
    }

    pub fn addr(&self) -> *mut u8 {
        self.key() as *mut u8
    }

    pub fn object(&self, py: Python<'_>) -> Py<PyAny> {
        lookup(py, self.addr()).unwrap_or_else(|| py.None())
    }

    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // The GC never runs while the registry is locked by this thread (nothing in a locked
        // section allocates Python objects); try_lock keeps it safe all the same.
        if let Ok(guard) = LIVE.try_lock() {
            if let Some(Some(o)) = guard.as_ref().and_then(|m| m.get(&self.key())) {
                visit.call(o)?;
            }
        }
        Ok(())
    }

    /// Forget the object (the GC's tp_clear); the caller drops it outside the lock.
    pub fn clear(&self) -> Option<Py<PyAny>> {
        live().as_mut().and_then(|m| m.get_mut(&self.key())).and_then(Option::take)
    }
}

impl Drop for HandleCell {
    fn drop(&mut self) {
        // Taken out under the lock, dropped after it: dropping may run Python code (__del__)
        // that makes or looks up handles.
        let obj = live().as_mut().and_then(|m| m.remove(&self.key()));
        drop(obj);
    }
}

/// The object behind a live handle address, if it is one.
pub fn lookup(py: Python<'_>, addr: *mut u8) -> Option<Py<PyAny>> {
    let guard = live();
    let entry = guard.as_ref()?.get(&(addr as usize))?;
    Some(entry.as_ref().map_or_else(|| py.None(), |o| o.clone_ref(py)))
}
