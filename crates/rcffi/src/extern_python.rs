//! `extern "Python"` in compiled modules: `@ffi.def_extern()` attaches a Python function to the
//! C function the module generated, which calls back through `_cffi_call_python`.
//!
//! The module describes each such function with a static `struct _cffi_externpy_s` (its name and
//! result size, plus two reserved words); its address identifies the function here. The C side
//! passes its arguments as an array of 8-byte slots (values that do not fit, `long double` and
//! structs, by pointer) and takes the result from the same buffer.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::callback::Handler;
use crate::ctype::Kind;

/// upstream's `struct _cffi_externpy_s` (an interface fact).
#[repr(C)]
pub struct ExternPy {
    name: *const c_char,
    size_of_result: usize,
    reserved1: *mut c_void,
    reserved2: *mut c_void,
}

/// Attached functions, by the address of their `_cffi_externpy_s`.
static ATTACHED: Mutex<Option<HashMap<usize, Arc<Handler>>>> = Mutex::new(None);

/// Attach `handler` to the extern "Python" function described at `externpy` (a later
/// `def_extern` of the same name replaces it, as the docs allow).
pub fn attach(externpy: usize, handler: Handler) {
    let mut map = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    map.get_or_insert_with(HashMap::new).insert(externpy, Arc::new(handler));
    // SAFETY: `externpy` is the module's static descriptor; marking it attached is what
    // upstream does with its first reserved word (our lookups use the table above).
    unsafe { (*(externpy as *mut ExternPy)).reserved1 = 1 as *mut c_void };
}

/// `_cffi_exports[_CFFI_CPIDX]`: called by the module's C code, from any thread.
///
/// # Safety
/// `externpy` is the module's descriptor; `args` holds the arguments as described above and
/// room for the result (at least 8 bytes).
pub unsafe extern "C" fn call_python(externpy: *mut c_void, args: *mut c_char) {
    let desc = externpy as *mut ExternPy;
    let handler = ATTACHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|m| m.get(&(externpy as usize)).cloned());
    let Some(handler) = handler else {
        // SAFETY: the descriptor's name is the module's static C string.
        let name = unsafe { CStr::from_ptr((*desc).name) }.to_string_lossy();
        eprintln!(
            "extern \"Python\": function {name}() called, but no code was attached to it yet with @ffi.def_extern().  Returning 0."
        );
        // SAFETY: the buffer holds the result.
        unsafe { std::ptr::write_bytes(args, 0, (*desc).size_of_result) };
        return;
    };
    let nargs = {
        let _gil = crate::gil::GilState::ensure();
        Python::attach(|py| {
            let t = handler.ctype().bind(py).get();
            t.func.as_ref().map(|f| {
                f.args
                    .iter()
                    .map(|a| {
                        let a = a.get();
                        a.is_record() || a.prim_kind() == Some(model::PrimKind::LongDouble) || a.kind == Kind::Array
                    })
                    .collect::<Vec<bool>>()
            })
        })
    };
    let Some(by_pointer) = nargs else { return };
    let mut slots: Vec<*mut c_void> = by_pointer
        .iter()
        .enumerate()
        .map(|(i, &indirect)| {
            // SAFETY: one 8-byte slot per argument.
            let slot = unsafe { args.add(8 * i) };
            if indirect {
                // SAFETY: that slot holds a pointer to the value.
                unsafe { *(slot as *mut *mut c_void) }
            } else {
                slot.cast()
            }
        })
        .collect();
    // SAFETY: the result goes to the start of the same buffer; the argument pointers are set.
    unsafe { handler.call(args.cast(), slots.as_mut_ptr()) };
}
