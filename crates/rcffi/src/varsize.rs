//! Var-size structs: `ffi.new("struct s *", init)` where `struct s` ends with `T[]` allocates room
//! for as many items as the initializer asks for.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyTuple};

use crate::ctype::{CType, Kind};
use crate::record::{Field, RecordInfo};

/// The byte size a var-size struct needs for `init` (a list/tuple or dict of field values).
pub fn struct_size_for(py: Python<'_>, t: &CType, rec: &RecordInfo, init: &Bound<'_, PyAny>) -> PyResult<usize> {
    let mut size = t.size() as usize;
    let mut grow = |f: &Field, value: &Bound<'_, PyAny>| -> PyResult<()> {
        let ft = f.ctype.bind(py).get();
        if ft.kind == Kind::Array && ft.length < 0 {
            let item = ft.item_ref(py);
            let n = if value.is_instance_of::<PyInt>() {
                value.extract::<isize>()?
            } else {
                crate::api::new_array_length(item, value)?
            };
            if n < 0 {
                return Err(pyo3::exceptions::PyValueError::new_err("negative array length"));
            }
            let need = (n as usize)
                .checked_mul(item.size().max(0) as usize)
                .and_then(|b| b.checked_add(f.offset))
                .ok_or_else(|| PyOverflowError::new_err("array size would overflow a Py_ssize_t"))?;
            size = size.max(need);
        } else if let Some(inner) = ft.record.get().filter(|r| r.varsize) {
            // A struct ending with a struct that ends with `T[]`: size the inner one.
            if !value.is_instance_of::<crate::cdata::CData>() {
                let sub = struct_size_for(py, ft, inner, value)?;
                size = size.max(f.offset + sub);
            }
        }
        Ok(())
    };
    if init.is_instance_of::<PyList>() || init.is_instance_of::<PyTuple>() {
        let fields = rec.fields.iter().filter(|f| !f.ignore_in_ctor());
        for (f, v) in fields.zip(init.try_iter()?) {
            grow(f, &v?)?;
        }
    } else if let Ok(d) = init.cast::<PyDict>() {
        for (k, v) in d.iter() {
            if let Some(f) = k.extract::<String>().ok().and_then(|n| rec.field(&n)) {
                grow(f, &v)?;
            }
        }
    } else if init.is_instance_of::<PyInt>() {
        // `ffi.new("struct s *", n)`: n items in the trailing array.
        if let Some(f) = rec.fields.last() {
            grow(f, init)?;
        }
    }
    Ok(size)
}
