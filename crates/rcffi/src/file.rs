//! Python file objects passed where C expects `FILE *`: a `FILE *` opened with `fdopen()` on a
//! duplicate of the file's descriptor, cached on the file object so that repeated calls share it.

use pyo3::prelude::*;

/// The `FILE *` for a Python file object, or None if `obj` is not a file.
pub fn file_pointer(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<*mut u8>> {
    let io = py.import("io")?;
    if !obj.is_instance(&io.getattr("IOBase")?)? {
        return Ok(None);
    }
    if let Ok(cached) = obj.getattr("__cffi_FILE") {
        return Ok(Some(cached.extract::<usize>()? as *mut u8));
    }
    obj.call_method0("flush")?;
    let fd: i32 = obj.call_method0("fileno")?.extract()?;
    let mode: String = obj.getattr("mode").and_then(|m| m.extract()).unwrap_or_else(|_| "r".into());
    let cmode = std::ffi::CString::new(mode.replace('b', "")).unwrap_or_else(|_| c"r".into());
    // SAFETY: dup() of a descriptor the file object owns; fdopen() takes ownership of the copy.
    let f = unsafe {
        let fd2 = libc::dup(fd);
        if fd2 < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        libc::fdopen(fd2, cmode.as_ptr())
    };
    if f.is_null() {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: `f` is a valid FILE*; line buffering keeps C's writes in step with Python's.
    unsafe { libc::setvbuf(f, std::ptr::null_mut(), libc::_IOLBF, 0) };
    let _ = obj.setattr("__cffi_FILE", f as usize);
    Ok(Some(f.cast()))
}
