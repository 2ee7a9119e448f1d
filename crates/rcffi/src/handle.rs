//! `ffi.new_handle()` / `ffi.from_handle()`: a `void *` that stands for a Python object.
//!
//! The handle's address is the address of a heap cell that holds the object. Live cells are
//! registered, so `from_handle()` of a pointer that is not a live handle raises instead of
//! reading garbage (upstream would crash there).

use std::sync::Mutex;

use pyo3::prelude::*;

pub struct HandleCell {
    /// None once the garbage collector broke a reference cycle through this handle.
    obj: Mutex<Option<Py<PyAny>>>,
}

type LiveSet = std::collections::HashSet<usize, std::hash::BuildHasherDefault<crate::fxhash::FxHasher>>;

/// Addresses of the live handle cells.
static LIVE: Mutex<Option<LiveSet>> = Mutex::new(None);

impl HandleCell {
    pub fn new(obj: Py<PyAny>) -> Box<HandleCell> {
        let cell = Box::new(HandleCell { obj: Mutex::new(Some(obj)) });
        let addr = &*cell as *const HandleCell as usize;
        LIVE.lock().unwrap().get_or_insert_with(LiveSet::default).insert(addr);
        cell
    }

    pub fn object(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.lock().unwrap().as_ref().map_or_else(|| py.None(), |o| o.clone_ref(py))
    }

    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Ok(guard) = self.obj.try_lock() {
            if let Some(o) = guard.as_ref() {
                visit.call(o)?;
            }
        }
        Ok(())
    }

    pub fn clear(&self) -> Option<Py<PyAny>> {
        self.obj.lock().unwrap().take()
    }

    pub fn addr(&self) -> *mut u8 {
        self as *const HandleCell as *mut u8
    }
}

impl Drop for HandleCell {
    fn drop(&mut self) {
        if let Some(set) = LIVE.lock().unwrap().as_mut() {
            set.remove(&(self as *const HandleCell as usize));
        }
    }
}

/// The object behind a live handle address, if it is one.
pub fn lookup(py: Python<'_>, addr: *mut u8) -> Option<Py<PyAny>> {
    let live = LIVE.lock().unwrap();
    if !live.as_ref()?.contains(&(addr as usize)) {
        return None;
    }
    // SAFETY: the address is registered, so it is a live HandleCell (cells unregister on drop,
    // under the same lock we hold).
    let cell = unsafe { &*(addr as *const HandleCell) };
    Some(cell.object(py))
}
