//! `_backend._type_table(steps, target_is_python=False)`: the types array that the generators of
//! crates/recompiler build for an FFI (upstream's `Recompiler.collect_type_table()`), for
//! `rcffi.recompiler.Recompiler`. `steps` are the recorded cdef() and include() calls, as for
//! `_make_py_source`.
//!
//! Each entry is `(opcode, arg)`, the two fields of upstream's `CffiOp`: `opcode` is an `OP_*`
//! number, or None for the length slot after an `OP_ARRAY` (then `arg` is the length as a
//! string, or the C expression of it); `arg` is an int, or a string when only the C compiler can
//! work it out.

use pyo3::prelude::*;

use recompiler::tables::TypeOp;
use recompiler::typemodel::Len;

use crate::py_source::{steps_from, to_pyerr};

/// `(opcode or None, int or str)`
type Entry<'py> = (Option<u8>, Bound<'py, PyAny>);

fn entry<'py>(py: Python<'py>, op: &TypeOp) -> PyResult<Entry<'py>> {
    Ok(match op {
        TypeOp::Op(opcode, arg) => (Some(*opcode), arg.into_pyobject(py)?.into_any()),
        TypeOp::CExpr(e) => (Some(model::protocol::OP_PRIMITIVE), e.into_pyobject(py)?.into_any()),
        TypeOp::Length(len) => {
            // Upstream stores `str(tp.length)`.
            let text = match len {
                Len::Known(n) => n.to_string(),
                Len::CExpr(e) => e.clone(),
                Len::Dots => "...".to_string(),
                Len::Open => "None".to_string(),
            };
            (None, text.into_pyobject(py)?.into_any())
        }
    })
}

#[pyfunction]
#[pyo3(signature = (steps, target_is_python=false))]
fn _type_table<'py>(py: Python<'py>, steps: &Bound<'py, PyAny>, target_is_python: bool) -> PyResult<Vec<Entry<'py>>> {
    let steps = steps_from(steps, 0)?;
    let types = recompiler::type_table(&steps, !target_is_python).map_err(to_pyerr)?;
    types.iter().map(|t| entry(py, t)).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_type_table, m)?)
}
