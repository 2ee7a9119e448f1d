//! `extern "Python"` in compiled modules: `@ffi.def_extern()` attaches a Python function to the
//! C function the module generated, which calls back through `_cffi_call_python`.
//!
//! The module describes each such function with a static `struct _cffi_externpy_s` (its name and
//! result size, plus two reserved words); its address identifies the function here. The C side
//! passes its arguments as an array of 8-byte slots (values that do not fit, `long double` and
//! structs, by pointer) and takes the result from the same buffer.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::prelude::*;

use crate::callback::Handler;
use crate::ctype::Kind;

/// upstream's `struct _cffi_externpy_s` (an interface fact). rcffi's runtime keeps the attached
/// function in `reserved2` (see `attach`).
#[repr(C)]
pub struct ExternPy {
    name: *const c_char,
    size_of_result: usize,
    reserved1: *mut c_void,
    reserved2: AtomicPtr<Attached>,
}

/// What `@ffi.def_extern()` attached: the handler, and which arguments C passes by pointer
/// (worked out once, here, rather than on every call).
pub struct Attached {
    handler: Handler,
    by_pointer: Vec<bool>,
}

/// Attach `handler` to the extern "Python" function described at `externpy`. A later
/// `def_extern` of the same name replaces it, as the docs allow; the replaced one is leaked on
/// purpose, since a C thread may be running it right now (redefinitions are rare).
pub fn attach(py: Python<'_>, externpy: usize, handler: Handler) {
    let by_pointer = handler
        .ctype()
        .bind(py)
        .get()
        .func
        .as_ref()
        .map(|f| {
            f.args
                .iter()
                .map(|a| {
                    let a = a.get();
                    a.is_record() || a.prim_kind() == Some(model::PrimKind::LongDouble) || a.kind == Kind::Array
                })
                .collect()
        })
        .unwrap_or_default();
    let new = Box::into_raw(Box::new(Attached { handler, by_pointer }));
    let desc = externpy as *const ExternPy;
    // SAFETY: `externpy` is the module's static descriptor, which lives as long as the process;
    // the word is only accessed atomically. The first reserved word marks it attached, as
    // upstream's runtime does.
    unsafe {
        (*desc).reserved2.store(new, Ordering::Release);
        std::ptr::addr_of!((*desc).reserved1).cast_mut().write(1 as *mut c_void);
    }
}

/// `_cffi_exports[_CFFI_CPIDX]`: called by the module's C code, from any thread.
///
/// # Safety
/// `externpy` is the module's descriptor; `args` holds the arguments as described above and
/// room for the result (at least 8 bytes).
pub unsafe extern "C" fn call_python(externpy: *mut c_void, args: *mut c_char) {
    let desc = externpy as *const ExternPy;
    // SAFETY: the descriptor is the module's; an attached function is never freed (see attach).
    let Some(attached) = (unsafe { (*desc).reserved2.load(Ordering::Acquire).as_ref() }) else {
        // SAFETY: the descriptor's name is the module's static C string.
        let name = unsafe { CStr::from_ptr((*desc).name) }.to_string_lossy();
        eprintln!(
            "extern \"Python\": function {name}() called, but no code was attached to it yet with @ffi.def_extern().  Returning 0."
        );
        // SAFETY: the buffer holds the result.
        unsafe { std::ptr::write_bytes(args, 0, (*desc).size_of_result) };
        return;
    };
    const STACK: usize = 16;
    let n = attached.by_pointer.len();
    let mut on_stack = [std::ptr::null_mut::<c_void>(); STACK];
    let mut on_heap = Vec::new();
    let slots: &mut [*mut c_void] = if n <= STACK {
        &mut on_stack[..n]
    } else {
        on_heap.resize(n, std::ptr::null_mut());
        &mut on_heap
    };
    for (i, &indirect) in attached.by_pointer.iter().enumerate() {
        // SAFETY: one 8-byte slot per argument.
        let slot = unsafe { args.add(8 * i) };
        slots[i] = if indirect {
            // SAFETY: that slot holds a pointer to the value.
            unsafe { *(slot as *mut *mut c_void) }
        } else {
            slot.cast()
        };
    }
    // SAFETY: the result goes to the start of the same buffer; the argument pointers are set.
    unsafe { attached.handler.call(args.cast(), slots.as_mut_ptr()) };
}
