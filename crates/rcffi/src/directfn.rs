//! The builtin functions of compiled modules' `lib` objects, known as C function pointers:
//! `ffi.typeof(lib.f)`, `ffi.cast("int(*)(int)", lib.f)` and passing `lib.f` where C wants a
//! function pointer all use the function's direct C entry (`_cffi_d_f`), as upstream does.

use std::sync::Mutex;

use pyo3::prelude::*;

use crate::ctype::CType;
use crate::fxhash::FxHashMap;

struct Entry {
    /// Kept alive so that its address, the key, is never reused.
    _builtin: Py<PyAny>,
    ctype: Py<CType>,
    direct: usize,
}

static FUNCS: Mutex<Option<FxHashMap<usize, Entry>>> = Mutex::new(None);

pub fn register(builtin: &Bound<'_, PyAny>, ctype: Py<CType>, direct: *mut u8) {
    let mut map = FUNCS.lock().unwrap_or_else(|e| e.into_inner());
    map.get_or_insert_with(Default::default).insert(
        builtin.as_ptr() as usize,
        Entry { _builtin: builtin.clone().unbind(), ctype, direct: direct as usize },
    );
}

/// The function-pointer ctype and direct address of `obj`, if it is such a builtin.
pub fn lookup(py: Python<'_>, obj: &Bound<'_, PyAny>) -> Option<(Py<CType>, *mut u8)> {
    if !obj.is_instance_of::<pyo3::types::PyCFunction>() {
        return None;
    }
    let map = FUNCS.lock().unwrap_or_else(|e| e.into_inner());
    let e = map.as_ref()?.get(&(obj.as_ptr() as usize))?;
    Some((e.ctype.clone_ref(py), e.direct as *mut u8))
}
