//! The extension's two names: `rcffi._backend`, and `_cffi_backend` when `install-as-cffi`
//! links `_cffi_backend<ext>.so` to this same file, so that `import _cffi_backend` (which every
//! out-of-line and API-mode module does) loads the extension directly, without a Python shim
//! or the `rcffi` package.
//!
//! Both names must give one module object: its types and functions are process-wide statics.
//! Whichever is imported first makes the module (PyO3's definition, `#[pymodule] _backend`):
//! - `_cffi_backend` first: our `Py_mod_create` slot makes and runs PyO3's module under that
//!   name; `rcffi/__init__.py` then files it as `rcffi._backend` too.
//! - `rcffi._backend` first: the slot hands that module back for `_cffi_backend` (and the exec
//!   slot gives it back its own `__spec__`, which the import system replaced).
//! - Should PyO3's definition be run a second time anyway (the module dropped from
//!   `sys.modules` and imported again), the new module gets the first one's contents rather
//!   than a second initialization, which would patch the type slots twice (`share_first`).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The first module made from PyO3's definition, kept alive for the life of the process.
static FIRST: AtomicPtr<ffi::PyObject> = AtomicPtr::new(std::ptr::null_mut());

/// Called first thing by the module's exec function: if a module was already made in this
/// process, copy its namespace into `module` (but for its own name, spec, loader and file) and
/// return true: nothing more to do.
pub fn share_first(module: &Bound<'_, PyModule>) -> PyResult<bool> {
    let first = FIRST.load(Ordering::Acquire);
    if first.is_null() {
        return Ok(false);
    }
    let py = module.py();
    // SAFETY: FIRST holds a strong reference that is never released, and the GIL is held.
    let first = unsafe { Bound::from_borrowed_ptr(py, first) };
    let mine = module.dict();
    let theirs = first.getattr("__dict__")?.cast_into::<PyDict>()?;
    for (key, value) in theirs.iter() {
        let own = key.extract::<&str>().is_ok_and(|k| {
            matches!(k, "__name__" | "__spec__" | "__loader__" | "__file__" | "__package__" | "__cached__")
        });
        if !own {
            mine.set_item(key, value)?;
        }
    }
    Ok(true)
}

/// Called last by the module's exec function, once the module is complete.
pub fn remember_first(module: &Bound<'_, PyModule>) {
    let ptr = module.clone().into_ptr();
    if FIRST.compare_exchange(std::ptr::null_mut(), ptr, Ordering::AcqRel, Ordering::Acquire).is_err() {
        // SAFETY: the reference taken just above, not stored.
        unsafe { ffi::Py_DECREF(ptr) };
    }
}

/// `Py_mod_create` of `_cffi_backend`: the module already made under the other name, or a new
/// one made and run from PyO3's definition.
unsafe extern "C" fn create(spec: *mut ffi::PyObject, _def: *mut ffi::PyModuleDef) -> *mut ffi::PyObject {
    let first = FIRST.load(Ordering::Acquire);
    if !first.is_null() {
        // SAFETY: FIRST holds a strong reference; the import system holds the GIL. Its
        // `__spec__`, which the import system is about to replace by `_cffi_backend`'s, is kept
        // for `restore_spec` (a new reference, or NULL if it has none).
        unsafe {
            let own = ffi::PyObject_GetAttrString(first, c"__spec__".as_ptr());
            if own.is_null() {
                ffi::PyErr_Clear();
            }
            let old = OWN_SPEC.swap(own, Ordering::AcqRel);
            if !old.is_null() {
                ffi::Py_DECREF(old);
            }
            ffi::Py_INCREF(first);
        }
        return first;
    }
    let pyo3_def = crate::_backend::_PYO3_DEF.init_multi_phase().cast::<ffi::PyModuleDef>();
    // SAFETY: `pyo3_def` is PyO3's static module definition (PyModuleDef_Init returns its
    // argument), `spec` the live spec the import system passes; the GIL is held.
    unsafe {
        let module = ffi::PyModule_FromDefAndSpec(pyo3_def, spec);
        if module.is_null() {
            return module;
        }
        if ffi::PyModule_ExecDef(module, pyo3_def) < 0 {
            ffi::Py_DECREF(module);
            return std::ptr::null_mut();
        }
        module
    }
}

/// `rcffi._backend`'s own `__spec__` while `_cffi_backend` is imported as the same module.
static OWN_SPEC: AtomicPtr<ffi::PyObject> = AtomicPtr::new(std::ptr::null_mut());

/// `Py_mod_exec` of `_cffi_backend`: when the module was `rcffi._backend` already, give it back
/// its own `__spec__` (the import system set `_cffi_backend`'s), so that its spec and its
/// `__name__` agree.
unsafe extern "C" fn restore_spec(module: *mut ffi::PyObject) -> c_int {
    let own = OWN_SPEC.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if own.is_null() || module != FIRST.load(Ordering::Acquire) {
        if !own.is_null() {
            // SAFETY: the reference taken in `create`; the GIL is held.
            unsafe { ffi::Py_DECREF(own) };
        }
        return 0;
    }
    // SAFETY: the GIL is held; `own` is the reference taken in `create`, given up here.
    unsafe {
        let r = ffi::PyObject_SetAttrString(module, c"__spec__".as_ptr(), own);
        ffi::Py_DECREF(own);
        r
    }
}

/// The definition behind `PyInit__cffi_backend`: no state, no methods; the create slot (the
/// module it returns is complete) and an exec slot that only mends `__spec__`.
struct CffiBackendDef(std::cell::UnsafeCell<ffi::PyModuleDef>);

// SAFETY: CPython reads and updates the definition only with the GIL held (at import).
unsafe impl Sync for CffiBackendDef {}

struct Slots([ffi::PyModuleDef_Slot; 3]);

// SAFETY: immutable after construction; only read by CPython.
unsafe impl Sync for Slots {}

static SLOTS: Slots = Slots([
    ffi::PyModuleDef_Slot { slot: ffi::Py_mod_create, value: create as *mut c_void },
    ffi::PyModuleDef_Slot { slot: ffi::Py_mod_exec, value: restore_spec as *mut c_void },
    ffi::PyModuleDef_Slot { slot: 0 as c_int, value: std::ptr::null_mut() },
]);

static CFFI_BACKEND_DEF: CffiBackendDef = CffiBackendDef(std::cell::UnsafeCell::new(ffi::PyModuleDef {
    m_base: ffi::PyModuleDef_HEAD_INIT,
    m_name: c"_cffi_backend".as_ptr(),
    m_doc: std::ptr::null(),
    m_size: 0,
    m_methods: std::ptr::null_mut(),
    m_slots: SLOTS.0.as_ptr() as *mut ffi::PyModuleDef_Slot,
    m_traverse: None,
    m_clear: None,
    m_free: None,
}));

/// The entry point CPython looks for in a file named `_cffi_backend<ext>.so`.
#[no_mangle]
pub unsafe extern "C" fn PyInit__cffi_backend() -> *mut ffi::PyObject {
    // SAFETY: a static definition, initialized in full; CPython calls this with the GIL held.
    unsafe { ffi::PyModuleDef_Init(CFFI_BACKEND_DEF.0.get()) }
}
