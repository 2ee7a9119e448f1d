//! `ffi.buffer()`: the raw bytes of a cdata as a Python buffer object, and `ffi.from_buffer()`:
//! a cdata over the memory of a Python buffer.

use std::os::raw::c_int;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyBufferError, PyIndexError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyBytes, PySlice, PyString};

use crate::cdata::{CData, Owner};
use crate::ctype::{CType, Kind};

/// `_cffi_backend.buffer`: `size` bytes at the address of `cdata` (kept alive).
#[pyclass(module = "_cffi_backend", name = "buffer", frozen, weakref)]
pub struct Buffer {
    /// Keeps the memory alive.
    _cdata: Py<CData>,
    ptr: usize,
    size: usize,
}

impl Buffer {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `size` bytes at `ptr` belong to the cdata we keep alive.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.size) }
    }

    fn ptr(&self) -> *mut u8 {
        self.ptr as *mut u8
    }

    /// Address and size of the bytes (for `buffer_fast`).
    pub fn raw(&self) -> (*const u8, usize) {
        (self.ptr as *const u8, self.size)
    }

    /// Python-style slice bounds (negative indices count from the end); steps are refused.
    fn slice_range(&self, s: &Bound<'_, PySlice>) -> PyResult<(usize, usize)> {
        let ind = s.indices(self.size as isize)?;
        if ind.step != 1 {
            return Err(PyTypeError::new_err("buffer doesn't support slicing with step != 1"));
        }
        let start = ind.start as usize;
        let stop = (ind.stop as usize).max(start);
        Ok((start, stop))
    }

    fn index(&self, i: isize) -> PyResult<usize> {
        let j = if i < 0 { i + self.size as isize } else { i };
        if j < 0 || j >= self.size as isize {
            return Err(PyIndexError::new_err("buffer index out of range"));
        }
        Ok(j as usize)
    }
}

/// The buffer of `ffi.buffer(cdata, size=-1)`.
pub fn buffer_over(py: Python<'_>, cd: &Bound<'_, CData>, size: isize) -> PyResult<Buffer> {
    let c = cd.get();
    let t = c.ctype.get();
    if size >= 0 && c.is_owning() && size > c.owned_size(py) {
        let msg = std::ffi::CString::new(format!(
            "ffi.buffer(cdata, bytes): creating a buffer of {} bytes over a cdata that owns only {} bytes.  This will crash if you access the extra memory",
            size,
            c.owned_size(py)
        ))
        .unwrap();
        PyErr::warn(py, &py.get_type::<pyo3::exceptions::PyUserWarning>(), &msg, 1)?;
    }
    // the kind first, as upstream: `buffer(int)` is about the kind, not the size
    if !matches!(t.kind, Kind::Pointer | Kind::Array) {
        return Err(PyTypeError::new_err(format!(
            "expected a pointer or array cdata, got cdata '{}'",
            t.name
        )));
    }
    let size = if size >= 0 {
        size as usize
    } else {
        let s = match t.kind {
            Kind::Pointer => c.var_byte_size(py).unwrap_or_else(|| t.item_ref(py).size()),
            Kind::Array => c.array_length(py) * t.item_ref(py).size(),
            _ => -1,
        };
        if s < 0 {
            return Err(PyTypeError::new_err(format!(
                "don't know the size pointed to by '{}'",
                t.name
            )));
        }
        s as usize
    };
    Ok(Buffer { _cdata: cd.clone().unbind(), ptr: c.addr() as usize, size })
}

#[pymethods]
impl Buffer {
    #[new]
    #[pyo3(signature = (cdata, size=-1))]
    fn py_new(py: Python<'_>, cdata: &Bound<'_, PyAny>, size: isize) -> PyResult<Buffer> {
        let cd = cdata.cast::<CData>().map_err(|_| PyTypeError::new_err("expected a 'cdata' object"))?;
        buffer_over(py, cd, size)
    }

    fn __len__(&self) -> usize {
        self.size
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        if let Ok(s) = key.cast::<PySlice>() {
            let (a, b) = self.slice_range(s)?;
            return Ok(PyBytes::new(py, &self.bytes()[a..b]));
        }
        let i = self.index(key.extract()?)?;
        Ok(PyBytes::new(py, &self.bytes()[i..i + 1]))
    }

    fn __setitem__(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let (start, stop) = match key.cast::<PySlice>() {
            Ok(s) => self.slice_range(s)?,
            Err(_) => {
                let i = self.index(key.extract()?)?;
                // One item takes exactly one byte, as upstream's buffer says.
                match value.cast::<PyBytes>() {
                    Ok(b) if b.as_bytes().len() == 1 => {}
                    _ => {
                        return Err(PyTypeError::new_err(format!(
                            "must assign a bytes of length 1, not {}",
                            crate::convert::type_name(value)
                        )))
                    }
                }
                (i, i + 1)
            }
        };
        let src = PyBuffer::<u8>::get(value)?;
        if src.len_bytes() != stop - start {
            return Err(PyValueError::new_err(format!(
                "right operand length must match slice length (got {}, expected {})",
                src.len_bytes(),
                stop - start
            )));
        }
        let data = src.to_vec(value.py())?;
        // SAFETY: [start, stop) is within our `size` bytes.
        unsafe { std::ptr::copy(data.as_ptr(), self.ptr().add(start), data.len()) };
        Ok(())
    }

    fn __richcmp__(&self, py: Python<'_>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let Ok(theirs) = PyBuffer::<u8>::get(other) else {
            return Ok(py.NotImplemented());
        };
        let theirs = theirs.to_vec(py)?;
        Ok(op.matches(self.bytes().cmp(theirs.as_slice())).into_pyobject(py)?.to_owned().into_any().unbind())
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        format!("<_cffi_backend.buffer object at {:p}>", slf.as_ptr())
    }

    fn __str__(slf: &Bound<'_, Self>) -> String {
        Self::__repr__(slf)
    }

    // No `__bytes__` (upstream's buffer has none): `bytes(buf)` takes the buffer protocol.

    /// Exposes the bytes as a writable, contiguous buffer.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let b = slf.get();
        // SAFETY: `view` is the Py_buffer CPython hands us; FillInfo sets every field and takes a
        // reference to `slf`, which keeps the cdata (and so the memory) alive.
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(view, slf.as_ptr(), b.ptr().cast(), b.size as ffi::Py_ssize_t, 0, flags)
        };
        if rc != 0 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// `ffi.from_buffer(ct, obj, require_writable=False)`.
pub fn from_buffer(py: Python<'_>, ct: &Bound<'_, CType>, obj: &Bound<'_, PyAny>, require_writable: bool) -> PyResult<Py<CData>> {
    let t = ct.get();
    if !matches!(t.kind, Kind::Pointer | Kind::Array) {
        return Err(PyTypeError::new_err(format!(
            "expected a pointer or array ctype, got '{}'",
            t.name
        )));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("from_buffer() cannot return the address of a unicode object"));
    }
    let view = PyBuffer::<u8>::get(obj).or_else(|_| {
        // Typed buffers (e.g. array('H')) do not match `u8`: take them as raw bytes.
        raw_buffer(obj)
    })?;
    if !view.is_c_contiguous() {
        return Err(PyBufferError::new_err("from_buffer() needs a contiguous buffer"));
    }
    if require_writable && view.readonly() {
        return Err(PyBufferError::new_err("Object is not writable."));
    }
    if !view.is_c_contiguous() {
        return Err(PyTypeError::new_err("contiguous buffer expected"));
    }
    let ptr = view.buf_ptr() as *mut u8;
    let nbytes = view.len_bytes();
    let mut length = -1;
    if t.kind == Kind::Array {
        let item_size = t.item_ref(py).size().max(1) as usize;
        if t.length >= 0 {
            if (t.length as usize) * item_size > nbytes {
                return Err(PyValueError::new_err(format!(
                    "buffer is too small ({} bytes) for '{}' ({} bytes)",
                    nbytes,
                    t.name,
                    t.length as usize * item_size
                )));
            }
        } else if t.item_ref(py).size() == 0 {
            return Err(pyo3::exceptions::PyZeroDivisionError::new_err(format!(
                "from_buffer('{}', ..): the actual length of the array cannot be computed",
                t.name
            )));
        } else {
            length = (nbytes / item_size) as isize;
        }
    }
    let buffer = Box::new(crate::cdata::BufferOwner {
        view: std::sync::Mutex::new(Some(view)),
        source_type: obj.get_type().unbind(),
        length,
    });
    CData::with(ct, Owner::Buffer { ptr: ptr as usize, buffer }).into_object(py)
}

/// `array.array`, `bytearray`: a type's name as upstream's reprs show it (module-qualified
/// except for builtins).
pub fn full_type_name(tp: &Bound<'_, pyo3::types::PyType>) -> String {
    let qualname = tp.qualname().map(|n| n.to_string()).unwrap_or_default();
    let module = tp.module().map(|m| m.to_string()).unwrap_or_default();
    if module.is_empty() || module == "builtins" {
        qualname
    } else {
        format!("{module}.{qualname}")
    }
}

/// A byte view of any buffer, whatever its item format.
fn raw_buffer(obj: &Bound<'_, PyAny>) -> PyResult<PyBuffer<u8>> {
    let mv = obj.py().import("builtins")?.getattr("memoryview")?.call1((obj,))?;
    let bytes_view = mv.call_method1("cast", ("B",))?;
    PyBuffer::<u8>::get(&bytes_view)
}

/// The address behind `obj` for memmove: a cdata pointer/array, or a Python buffer (writable when
/// `writable`). The returned buffer, if any, must live until the copy is done.
pub fn raw_address(py: Python<'_>, obj: &Bound<'_, PyAny>, writable: bool) -> PyResult<(*mut u8, Option<PyBuffer<u8>>)> {
    if let Ok(cd) = obj.cast::<CData>() {
        let c = cd.get();
        if !matches!(c.ctype.get().kind, Kind::Pointer | Kind::Array) {
            return Err(PyTypeError::new_err("expected a pointer or array cdata"));
        }
        return Ok((c.addr(), None));
    }
    let view = PyBuffer::<u8>::get(obj).or_else(|_| raw_buffer(obj)).map_err(|_| {
        PyTypeError::new_err(format!(
            "expected a pointer or array cdata, or a buffer object, got {}",
            crate::convert::type_name(obj)
        ))
    })?;
    if writable && view.readonly() {
        return Err(PyBufferError::new_err("Object is not writable."));
    }
    let _ = py;
    Ok((view.buf_ptr() as *mut u8, Some(view)))
}
