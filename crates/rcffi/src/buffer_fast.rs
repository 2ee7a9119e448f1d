//! Raw CPython entry points for the two steps of `ffi.buffer(p)[:]`, installed on the buffer
//! type when it is made (`buffer_type`), in front of PyO3's:
//! - calling the type with one cdata (`tp_vectorcall` of the type object, which CPython uses
//!   to call a type before its generic `tp_new`/`tp_init` route);
//! - `buffer[a:b]` with a step of 1 (`mp_subscript`);
//! - the buffer protocol (`bf_getbuffer`; nothing to release), for `bytes(buf)` & co.
//! Anything else (keywords, other arguments, indexes, errors) goes the generic way, where the
//! rules and messages live.

use std::sync::{Once, OnceLock};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::PyTypeInfo;

use crate::buffer::{buffer_over, Buffer};
use crate::cdata::CData;
use crate::rawslots::guarded;

static SUBSCRIPT: OnceLock<ffi::binaryfunc> = OnceLock::new();

/// The buffer type, with its shortcuts installed (once, when first asked for).
pub fn buffer_type(py: Python<'_>) -> Bound<'_, PyType> {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let tp = Buffer::type_object_raw(py);
        // SAFETY: a PyO3 heap type alive for the interpreter's life, not yet handed out; the
        // GIL is held. A heap type's `tp_as_mapping` points into the type object itself.
        unsafe {
            (*tp).tp_vectorcall = Some(new_buffer);
            let mapping = (*tp).tp_as_mapping;
            if !mapping.is_null() {
                if let Some(orig) = (*mapping).mp_subscript {
                    if SUBSCRIPT.set(orig).is_ok() {
                        (*mapping).mp_subscript = Some(subscript);
                    }
                }
            }
            let procs = (*tp).tp_as_buffer;
            if !procs.is_null() {
                (*procs).bf_getbuffer = Some(get_buffer);
                (*procs).bf_releasebuffer = None;
            }
            ffi::PyType_Modified(tp);
        }
    });
    py.get_type::<Buffer>()
}

/// `buffer(cdata)`.
unsafe extern "C" fn new_buffer(
    tp: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `args` holding the arguments.
    let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf) };
    if kwnames.is_null() && nargs == 1 {
        // SAFETY: as above; the one argument is a live object.
        let (py, arg) = unsafe {
            let py = Python::assume_attached();
            (py, pyo3::Borrowed::from_ptr(py, *args))
        };
        if let Ok(cd) = arg.cast::<CData>() {
            return guarded(py, c"rcffi: internal error in buffer()", || {
                Ok(Bound::new(py, buffer_over(py, &cd, -1)?)?.into_any().unbind())
            });
        }
    }
    // SAFETY: as above.
    unsafe { generic_type_call(tp, args, nargs, kwnames) }
}

/// What calling the type does without `tp_vectorcall`: `type.__call__` with a tuple and a dict.
///
/// # Safety
/// The GIL is held; `args` holds `nargs` positional arguments, then one value per name in
/// `kwnames` (NULL or a tuple of str).
unsafe fn generic_type_call(
    tp: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded; every object made here is checked and released.
    unsafe {
        let tuple = ffi::PyTuple_New(nargs);
        if tuple.is_null() {
            return tuple;
        }
        for i in 0..nargs {
            let a = *args.offset(i);
            ffi::Py_INCREF(a);
            ffi::PyTuple_SET_ITEM(tuple, i, a);
        }
        let mut kwargs = std::ptr::null_mut();
        if !kwnames.is_null() {
            kwargs = ffi::PyDict_New();
            if kwargs.is_null() {
                ffi::Py_DECREF(tuple);
                return kwargs;
            }
            for j in 0..ffi::PyTuple_GET_SIZE(kwnames) {
                if ffi::PyDict_SetItem(kwargs, ffi::PyTuple_GET_ITEM(kwnames, j), *args.offset(nargs + j)) < 0 {
                    ffi::Py_DECREF(tuple);
                    ffi::Py_DECREF(kwargs);
                    return std::ptr::null_mut();
                }
            }
        }
        let call = (*std::ptr::addr_of_mut!(ffi::PyType_Type)).tp_call.expect("type has tp_call");
        let r = call(tp, tuple, kwargs);
        ffi::Py_DECREF(tuple);
        if !kwargs.is_null() {
            ffi::Py_DECREF(kwargs);
        }
        r
    }
}

/// `buffer[a:b]`: the bytes, straight from the memory.
unsafe extern "C" fn subscript(obj: *mut ffi::PyObject, key: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `obj` a buffer (only its type has this
    // slot) and `key` a live object.
    unsafe {
        if ffi::PySlice_Check(key) != 0 {
            let (mut start, mut stop, mut step) = (0, 0, 0);
            if ffi::PySlice_Unpack(key, &mut start, &mut stop, &mut step) < 0 {
                ffi::PyErr_Clear();
            } else if step == 1 {
                let py = Python::assume_attached();
                let (ptr, size) = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<Buffer>().get().raw();
                let n = ffi::PySlice_AdjustIndices(size as ffi::Py_ssize_t, &mut start, &mut stop, step);
                return ffi::PyBytes_FromStringAndSize(ptr.add(start as usize).cast(), n);
            }
        }
        match SUBSCRIPT.get() {
            Some(orig) => orig(obj, key),
            None => std::ptr::null_mut(),
        }
    }
}

/// The buffer protocol: the bytes, read-only or writable as asked (`PyBuffer_FillInfo` takes a
/// reference to the buffer object, which keeps the memory alive; releasing has nothing to do).
unsafe extern "C" fn get_buffer(obj: *mut ffi::PyObject, view: *mut ffi::Py_buffer, flags: std::ffi::c_int) -> std::ffi::c_int {
    // SAFETY: CPython calls this with the GIL held, `obj` a buffer (only its type has this slot)
    // and `view` the structure to fill.
    unsafe {
        let py = Python::assume_attached();
        let (ptr, size) = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<Buffer>().get().raw();
        ffi::PyBuffer_FillInfo(view, obj, ptr.cast_mut().cast(), size as ffi::Py_ssize_t, 0, flags)
    }
}
