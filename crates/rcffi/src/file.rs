//! Python file objects passed where C expects `FILE *`: a `FILE *` opened with `fdopen()` on a
//! duplicate of the file's descriptor, unbuffered, cached on the file object (in a capsule that
//! closes it) so that repeated calls share it. The Python file is flushed before every use, so
//! what Python and C write comes out in order.

use std::ffi::c_void;
use std::ptr::NonNull;

use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};

const CAPSULE_NAME: &std::ffi::CStr = c"FILE";

/// Closes the `FILE *` when the capsule (hence the Python file object) dies.
unsafe extern "C" fn close_capsule(capsule: *mut pyo3::ffi::PyObject) {
    // SAFETY: called by Python with our capsule, whose pointer is a FILE * from fdopen().
    unsafe {
        let f = pyo3::ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr());
        if f.is_null() {
            pyo3::ffi::PyErr_Clear();
        } else {
            libc::fclose(f.cast());
        }
    }
}

/// The `FILE *` for a Python file object, or None if `obj` is not a file.
pub fn file_pointer(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<*mut u8>> {
    let io = py.import("io")?;
    if !obj.is_instance(&io.getattr("IOBase")?)? {
        return Ok(None);
    }
    obj.call_method0("flush")?;
    if let Ok(cached) = obj.getattr("__cffi_FILE") {
        let cap = cached.cast::<PyCapsule>()?;
        return Ok(Some(cap.pointer_checked(Some(CAPSULE_NAME))?.as_ptr().cast()));
    }
    let fd: i32 = obj.call_method0("fileno")?.extract()?;
    let mode: String = obj.getattr("mode")?.extract()?;
    let cmode = std::ffi::CString::new(mode).unwrap_or_else(|_| c"r".into());
    // SAFETY: dup() of a descriptor the file object owns; fdopen() takes ownership of the copy.
    let f = unsafe {
        let fd2 = libc::dup(fd);
        if fd2 < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        let f = libc::fdopen(fd2, cmode.as_ptr());
        if f.is_null() {
            libc::close(fd2);
        }
        f
    };
    let Some(f) = NonNull::new(f.cast::<c_void>()) else {
        return Err(std::io::Error::last_os_error().into());
    };
    // SAFETY: `f` is a valid FILE *; unbuffered, so C's writes are not held back.
    unsafe { libc::setbuf(f.as_ptr().cast(), std::ptr::null_mut()) };
    // SAFETY: the capsule owns `f` from now on and closes it once, in its destructor.
    let cap = match unsafe { PyCapsule::new_with_pointer_and_destructor(py, f, CAPSULE_NAME, Some(close_capsule)) } {
        Ok(cap) => cap,
        Err(e) => {
            // SAFETY: `f` is still ours alone.
            unsafe { libc::fclose(f.as_ptr().cast()) };
            return Err(e);
        }
    };
    obj.setattr("__cffi_FILE", cap)?;
    Ok(Some(f.as_ptr().cast()))
}
