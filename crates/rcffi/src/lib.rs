//! `rcffi._backend`: the cdata runtime of rcffi, also served as `_cffi_backend`.
//!
//! One concern per module: `ctype` (C types), `record` (struct layouts), `cdata` (C values),
//! `convert` (Python <-> C), `api` (the operations behind `ffi.*`), `buffer`, `handle`, `call`
//! and `callback` (libffi), `lowlevel` (the `_cffi_backend` functions), `ffi` (the FFI class).

mod api;
mod buffer;
mod buffer_fast;
mod call;
mod capi;
mod callback;
mod cdata;
mod cdtypes;
mod cmodule;
mod commontypes;
mod compiled_tables;
mod context_tables;
mod convert;
mod directfn;
mod dllib;
mod ctype;
mod entry;
mod errno;
mod errors;
mod extern_python;
mod fastmethods;
mod ffi;
mod file;
mod fxhash;
mod gil;
mod gilslot;
mod globsupport;
mod handle;
mod hotslots;
mod lazyattrs;
mod libobj;
mod library;
mod lowlevel;
mod numslots;
mod py_source;
mod rawslots;
mod realize;
mod record;
mod table_source;
mod testfunc;
mod type_str_cache;
mod type_table;
mod varsize;

use pyo3::prelude::*;

// cdata memory is plain C memory with no locking, as in upstream: keep the GIL on free-threaded
// Python builds.
#[pymodule(gil_used = true)]
fn _backend(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if entry::share_first(m)? {
        return Ok(());
    }
    let py = m.py();
    // PyO3 lists what `add` adds in `__all__`: made here, it costs no failed lookup first.
    m.dict().set_item("__all__", pyo3::types::PyList::empty(py))?;
    m.add("__version__", "2.0.0")?;
    // how rcffi/__init__.py knows an imported `_cffi_backend` for this module (entry.rs)
    m.add("__rcffi__", true)?;
    // FFIError, CField, buffer & co.: made on first access
    lazyattrs::register(m)?;
    m.add_class::<ctype::CType>()?;
    m.add_class::<cdata::CData>()?;
    m.add("CData", py.get_type::<cdata::CData>())?;
    m.add_class::<ffi::Ffi>()?;
    lowlevel::register(m)?;
    callback::register(m)?;
    library::register(m)?;
    testfunc::register(m)?;
    py_source::register(m)?;
    type_table::register(m)?;
    cmodule::register(m)?;
    cdtypes::register(m)?;
    fastmethods::register(m)?;
    hotslots::install(py);
    numslots::install(py);
    fastmethods::install(py);
    cdtypes::seal(py);
    cdtypes::make_plain_kinds_non_gc(py);
    entry::remember_first(m);
    Ok(())
}
