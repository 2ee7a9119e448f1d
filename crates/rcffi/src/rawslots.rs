//! What the raw CPython slots and methods in front of PyO3's (`hotslots`, `numslots`,
//! `buffer_fast`, `fastmethods`, `call_fast`) share: putting a slot in front of PyO3's on the
//! cdata types, and handing a Rust result back to CPython.

use std::ffi::CStr;
use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;

/// The address of a C function pointer, to compare slots.
pub trait FnAddr: Copy {
    fn addr(self) -> usize;
}

macro_rules! fn_addr {
    ($($t:ty),*) => {$(impl FnAddr for $t { fn addr(self) -> usize { self as usize } })*};
}
// (lenfunc is hashfunc, getattrofunc binaryfunc, setattrofunc objobjargproc: the same types)
fn_addr!(ffi::inquiry, ffi::unaryfunc, ffi::hashfunc, ffi::binaryfunc, ffi::objobjargproc);

/// Remember PyO3's slot of the base cdata type in `cell`; its address, to find it in the
/// subtypes (which copied it when they were made), or None: nothing to replace.
pub fn save<F: FnAddr>(cell: &OnceLock<F>, slot: Option<F>) -> Option<usize> {
    let f = slot?;
    cell.set(f).ok()?;
    Some(f.addr())
}

/// Put `ours` in `slot` if it holds the original saved with `save`.
pub fn replace<F: FnAddr>(slot: &mut Option<F>, saved: Option<usize>, ours: F) {
    if saved.is_some() && slot.map(|f| f.addr()) == saved {
        *slot = Some(ours);
    }
}

/// A result for CPython: the new reference, or NULL with the exception set.
pub fn result_ptr(py: Python<'_>, r: PyResult<Py<PyAny>>) -> *mut ffi::PyObject {
    match r {
        Ok(obj) => obj.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// Run `f` where CPython called us, so that no panic unwinds into C: its result as
/// `result_ptr` gives it; a panic (a bug of ours) becomes a SystemError saying `what`.
pub fn guarded(py: Python<'_>, what: &CStr, f: impl FnOnce() -> PyResult<Py<PyAny>>) -> *mut ffi::PyObject {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => result_ptr(py, r),
        Err(_) => {
            // SAFETY: the GIL is held (the token); a static message.
            unsafe { ffi::PyErr_SetString(ffi::PyExc_SystemError, what.as_ptr()) };
            std::ptr::null_mut()
        }
    }
}
