//! Type strings resolved before, found by the identity of the `str` object.
//!
//! Code names its types with string literals (`ffi.new("int *")`, `ffi.cast("char *", p)`),
//! the same `str` object at every call: a pointer comparison then finds the ctype, without
//! hashing and comparing the text in the FFI's cache by text (behind a lock). Each entry keeps
//! its `str` alive, so its address cannot be taken by another string meanwhile.
//!
//! Accessed only with the GIL held, as `GilSlot` (the module declares `gil_used`).

use std::cell::UnsafeCell;

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::ctype::CType;

const SLOTS: usize = 32;

struct Entry {
    key: Py<PyString>,
    ctype: Py<CType>,
    /// The type is a function type named without `(*)` (see `Ffi::resolve`).
    raw_function: bool,
}

pub struct TypeStrCache(UnsafeCell<[Option<Entry>; SLOTS]>);

// SAFETY: the contents are only touched with the GIL held (a `Python` token), which serializes
// all accesses from any thread.
unsafe impl Sync for TypeStrCache {}
// SAFETY: `Py<..>` is Send; the cell adds no thread affinity.
unsafe impl Send for TypeStrCache {}

fn slot_of(s: &Bound<'_, PyString>) -> usize {
    // objects are 16-byte aligned: the bits above give the spread
    (s.as_ptr() as usize >> 4) % SLOTS
}

impl Default for TypeStrCache {
    fn default() -> Self {
        TypeStrCache(UnsafeCell::new(std::array::from_fn(|_| None)))
    }
}

impl TypeStrCache {
    pub fn get(&self, s: &Bound<'_, PyString>) -> Option<(Py<CType>, bool)> {
        let py = s.py();
        // SAFETY: the GIL is held (`s` is bound); clone_ref only increments a count, so no
        // Python code runs while the contents are borrowed.
        let slots = unsafe { &*self.0.get() };
        match &slots[slot_of(s)] {
            Some(e) if e.key.as_ptr() == s.as_ptr() => Some((e.ctype.clone_ref(py), e.raw_function)),
            _ => None,
        }
    }

    pub fn put(&self, s: &Bound<'_, PyString>, ctype: &Py<CType>, raw_function: bool) {
        let py = s.py();
        let entry = Entry { key: s.clone().unbind(), ctype: ctype.clone_ref(py), raw_function };
        // SAFETY: as in `get`; the entry replaced is dropped after the borrow ends.
        let old = unsafe { (*self.0.get())[slot_of(s)].replace(entry) };
        drop(old);
    }

    /// Forget everything (new declarations can change what a string means).
    pub fn clear(&self, _py: Python<'_>) {
        // SAFETY: as in `get`; the entries are dropped after the borrow ends.
        let old = unsafe { std::mem::replace(&mut *self.0.get(), std::array::from_fn(|_| None)) };
        drop(old);
    }
}
