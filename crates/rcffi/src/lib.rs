//! `rcffi._backend`: the cdata runtime of rcffi, also served as `_cffi_backend`.

mod errors;

use pyo3::prelude::*;

#[pymodule]
fn _backend(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", "2.0.0")?;
    m.add("FFIError", py.get_type::<errors::FFIError>())?;
    m.add("CDefError", py.get_type::<errors::CDefError>())?;
    m.add("VerificationError", py.get_type::<errors::VerificationError>())?;
    m.add("VerificationMissing", py.get_type::<errors::VerificationMissing>())?;
    m.add("PkgConfigError", py.get_type::<errors::PkgConfigError>())?;
    Ok(())
}
