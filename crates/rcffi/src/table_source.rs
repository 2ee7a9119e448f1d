//! Where the tables of an FFI's type context come from: the Python tuples that an out-of-line
//! module gives `_cffi_backend.FFI(...)`, or the C arrays of a compiled module, read in place
//! (`compiled_tables`). Either way the entries come out in the out-of-line protocol's byte
//! format (`model::protocol`), which `context_tables` parses.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::compiled_tables::CompiledTables;
use crate::context_tables::bad_table;

pub enum TableSource {
    /// `_globals` (entry, value, entry, value, ...), `_struct_unions` (a tuple per
    /// struct: head, fields...), `_enums`, `_typenames`.
    Tuples {
        globals: Option<Py<PyTuple>>,
        structs: Option<Py<PyTuple>>,
        enums: Option<Py<PyTuple>>,
        typenames: Option<Py<PyTuple>>,
    },
    Compiled(CompiledTables),
}

fn len(t: &Option<Py<PyTuple>>, py: Python<'_>) -> usize {
    t.as_ref().map_or(0, |t| t.bind(py).len())
}

fn item<'py>(t: &Option<Py<PyTuple>>, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    t.as_ref().ok_or_else(|| bad_table("missing table"))?.bind(py).get_item(i)
}

fn bytes_of(item: Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Ok(item.cast_into::<PyBytes>().map_err(|_| bad_table("an entry is not bytes"))?.as_bytes().to_vec())
}

fn missing() -> PyErr {
    bad_table("entry out of range")
}

impl TableSource {
    pub fn n_globals(&self, py: Python<'_>) -> usize {
        match self {
            TableSource::Tuples { globals, .. } => len(globals, py) / 2,
            TableSource::Compiled(c) => c.n_globals(),
        }
    }

    /// Opcode (4 bytes) and name.
    pub fn global_entry(&self, py: Python<'_>, i: usize) -> PyResult<Vec<u8>> {
        match self {
            TableSource::Tuples { globals, .. } => bytes_of(item(globals, py, 2 * i)?),
            TableSource::Compiled(c) => c.global_entry(i).ok_or_else(missing),
        }
    }

    pub fn global_name(&self, py: Python<'_>, i: usize) -> PyResult<Vec<u8>> {
        match self {
            TableSource::Tuples { .. } => Ok(self.global_entry(py, i)?.get(4..).unwrap_or(&[]).to_vec()),
            TableSource::Compiled(c) => c.global_name(i).map(<[u8]>::to_vec).ok_or_else(missing),
        }
    }

    /// The integer after the entry (see `CompiledTables::global_value`).
    pub fn global_value(&self, py: Python<'_>, i: usize) -> PyResult<i128> {
        match self {
            TableSource::Tuples { globals, .. } => item(globals, py, 2 * i + 1)?.extract(),
            TableSource::Compiled(c) => c.global_value(i).ok_or_else(missing),
        }
    }

    pub fn n_structs(&self, py: Python<'_>) -> usize {
        match self {
            TableSource::Tuples { structs, .. } => len(structs, py),
            TableSource::Compiled(c) => c.n_structs(),
        }
    }

    /// 1 (the head) + the number of fields of struct/union `i`.
    pub fn struct_len(&self, py: Python<'_>, i: usize) -> PyResult<usize> {
        match self {
            TableSource::Tuples { structs, .. } => Ok(self.struct_tuple(structs, py, i)?.len()),
            TableSource::Compiled(c) => Ok(c.struct_len(i)),
        }
    }

    /// Item `j` of struct/union `i`: 0 is the head (type index, flags, name), then the fields.
    pub fn struct_item(&self, py: Python<'_>, i: usize, j: usize) -> PyResult<Vec<u8>> {
        match self {
            TableSource::Tuples { structs, .. } => bytes_of(self.struct_tuple(structs, py, i)?.get_item(j)?),
            TableSource::Compiled(c) => c.struct_item(i, j).ok_or_else(missing),
        }
    }

    fn struct_tuple<'py>(&self, structs: &Option<Py<PyTuple>>, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyTuple>> {
        item(structs, py, i)?.cast_into::<PyTuple>().map_err(|_| bad_table("struct entry"))
    }

    pub fn n_enums(&self, py: Python<'_>) -> usize {
        match self {
            TableSource::Tuples { enums, .. } => len(enums, py),
            TableSource::Compiled(c) => c.n_enums(),
        }
    }

    /// Type index, primitive, name, NUL, enumerators.
    pub fn enum_entry(&self, py: Python<'_>, i: usize) -> PyResult<Vec<u8>> {
        match self {
            TableSource::Tuples { enums, .. } => bytes_of(item(enums, py, i)?),
            TableSource::Compiled(c) => c.enum_entry(i).ok_or_else(missing),
        }
    }

    pub fn n_typenames(&self, py: Python<'_>) -> usize {
        match self {
            TableSource::Tuples { typenames, .. } => len(typenames, py),
            TableSource::Compiled(c) => c.n_typenames(),
        }
    }

    /// Type index and name.
    pub fn typename_entry(&self, py: Python<'_>, i: usize) -> PyResult<Vec<u8>> {
        match self {
            TableSource::Tuples { typenames, .. } => bytes_of(item(typenames, py, i)?),
            TableSource::Compiled(c) => c.typename_entry(i).ok_or_else(missing),
        }
    }

    /// Size and alignment of struct/union `i` as a compiled module's C compiler laid it out.
    pub fn compiled_struct_layout(&self, i: usize) -> Option<(i64, i32)> {
        match self {
            TableSource::Tuples { .. } => None,
            TableSource::Compiled(c) => c.struct_layout(i),
        }
    }

    /// Offset and size of field `j` of struct/union `i` per the C compiler ((-1, -1) for a
    /// bit-field: computed, unchecked).
    pub fn compiled_field_layout(&self, i: usize, j: usize) -> Option<(i64, i64)> {
        match self {
            TableSource::Tuples { .. } => None,
            TableSource::Compiled(c) => c.field_layout(i, j),
        }
    }
}
