//! `rcffi._backend`: the cdata runtime of rcffi, also served as `_cffi_backend`.

use pyo3::prelude::*;

#[pymodule]
fn _backend(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", "2.0.0")?;
    Ok(())
}
