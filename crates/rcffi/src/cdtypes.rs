//! The cdata types, one per kind of ownership as in upstream: `_CDataBase` (borrowed memory,
//! `ffi.cast()` values), `__CDataOwn` (`ffi.new()`), `__CDataOwnGC` (handles, callbacks),
//! `__CDataFromBuf` (`ffi.from_buffer()`) and `__CDataGCP` (`ffi.gc()`, custom allocators).
//!
//! The subtypes add no data: everything is in `CData`, whose `owner` says what the object
//! keeps alive. They only give `type(x)` its upstream meaning and decide garbage collection:
//! PyO3 makes every class a GC type, so the kinds that cannot be part of a reference cycle (they
//! keep alive only their ctype, their memory, or another such cdata) are untracked at creation,
//! as upstream's non-GC types are never tracked. The others (holding arbitrary Python objects)
//! stay tracked, and `CData::__traverse__` shows the collector what they hold.
//!
//! The types are all created at module init, before the hot slots are patched into them
//! (`hotslots`, `call_fast`), and then closed to subclassing, as upstream's are. The two plain
//! kinds (`_CDataBase`, `__CDataOwn`) then stop being GC types (`make_plain_kinds_non_gc`):
//! their objects lose the 16-byte GC header and the GC bookkeeping of every creation and
//! death, as upstream's non-GC types have none.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::PyClassInitializer;
use pyo3::PyTypeInfo;

use crate::cdata::{CData, Owner};

/// `ffi.new()` memory (and the struct behind its pointer).
#[pyclass(module = "_cffi_backend", name = "__CDataOwn", extends = CData, frozen, subclass)]
pub struct CDataOwn;

/// Owning cdata that keep Python objects alive: handles and callbacks.
#[pyclass(module = "_cffi_backend", name = "__CDataOwnGC", extends = CDataOwn, frozen)]
pub struct CDataOwnGC;

/// `ffi.from_buffer()`.
#[pyclass(module = "_cffi_backend", name = "__CDataFromBuf", extends = CData, frozen)]
pub struct CDataFromBuf;

/// `ffi.gc()`, and memory from a custom allocator (freed by its `free`, like a gc destructor).
#[pyclass(module = "_cffi_backend", name = "__CDataGCP", extends = CData, frozen)]
pub struct CDataGCP;

impl CData {
    /// The Python object for this cdata, of the type its ownership calls for.
    pub fn into_object(self, py: Python<'_>) -> PyResult<Py<CData>> {
        let kind = Kind::of(&self.owner);
        let base = PyClassInitializer::from(self);
        let (obj, tracked) = match kind {
            Kind::Borrowed => (Py::new(py, base)?.into_any(), false),
            Kind::Own => (Py::new(py, base.add_subclass(CDataOwn))?.into_any(), false),
            Kind::OwnGC => (Py::new(py, base.add_subclass(CDataOwn).add_subclass(CDataOwnGC))?.into_any(), true),
            Kind::FromBuf => (Py::new(py, base.add_subclass(CDataFromBuf))?.into_any(), true),
            Kind::Gcp => (Py::new(py, base.add_subclass(CDataGCP))?.into_any(), true),
        };
        // SAFETY: a live object, the GIL is held. The plain kinds' types are not GC types any
        // more (`make_plain_kinds_non_gc`, at init); should one still be, its object is
        // untracked (its dealloc untracks again, a no-op then).
        unsafe {
            if !tracked && ffi::PyType_IS_GC(ffi::Py_TYPE(obj.as_ptr())) != 0 {
                ffi::PyObject_GC_UnTrack(obj.as_ptr().cast());
            }
        }
        // SAFETY: every type above is CData or a subclass of it.
        Ok(unsafe { obj.into_bound(py).cast_into_unchecked::<CData>() }.unbind())
    }
}

enum Kind {
    Borrowed,
    Own,
    OwnGC,
    FromBuf,
    Gcp,
}

impl Kind {
    fn of(owner: &Owner) -> Kind {
        match owner {
            Owner::Borrowed { .. } | Owner::Inline(_) => Kind::Borrowed,
            // A struct from `p[0]` keeps alive only `p`, an owning cdata: no cycle possible.
            Owner::Own { .. }
            | Owner::OwnMalloc { .. }
            | Owner::OwnInline(_)
            | Owner::OwnInlineSized { .. }
            | Owner::CoOwn { .. } => Kind::Own,
            Owner::Handle(_) | Owner::Callback(_) => Kind::OwnGC,
            Owner::Buffer { .. } => Kind::FromBuf,
            Owner::Gc { .. } | Owner::Allocated { .. } => Kind::Gcp,
        }
    }
}

/// Every cdata type object, the base first.
pub fn all(py: Python<'_>) -> [*mut ffi::PyTypeObject; 5] {
    [
        CData::type_object_raw(py),
        CDataOwn::type_object_raw(py),
        CDataOwnGC::type_object_raw(py),
        CDataFromBuf::type_object_raw(py),
        CDataGCP::type_object_raw(py),
    ]
}

/// Add the types to the module, under upstream's names.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CDataOwn>()?;
    m.add_class::<CDataOwnGC>()?;
    m.add_class::<CDataFromBuf>()?;
    m.add_class::<CDataGCP>()?;
    Ok(())
}

/// Close the cdata types to subclassing from Python (upstream's are final). Called once every
/// subtype exists: PyO3 needs the flag only while creating them.
pub fn seal(py: Python<'_>) {
    for tp in all(py) {
        // SAFETY: PyO3 heap types alive for the interpreter's life; the GIL is held. The flag is
        // only read when a new subclass is created, and all of ours exist already.
        unsafe {
            (*tp).tp_flags &= !ffi::Py_TPFLAGS_BASETYPE;
            ffi::PyType_Modified(tp);
        }
    }
}

/// Make `_CDataBase` and `__CDataOwn` non-GC types: their objects hold no reference that could
/// be part of a cycle (see `Kind::of`). Called at init, before any instance exists (the flag is
/// read at each allocation). Their subtypes stay GC types: they got their own flags when made.
/// The dealloc is ours (`dealloc_plain`): PyO3's untracks the object, which a non-GC object
/// must never be.
pub fn make_plain_kinds_non_gc(py: Python<'_>) {
    for tp in [CData::type_object_raw(py), CDataOwn::type_object_raw(py)] {
        // SAFETY: PyO3 heap types alive for the interpreter's life, without instances yet; the
        // GIL is held.
        unsafe {
            (*tp).tp_flags &= !ffi::Py_TPFLAGS_HAVE_GC;
            // tp_traverse/tp_clear stay: the collector never calls them on a non-GC object,
            // and the GC subtypes' own traverse calls the base's to visit the cdata fields.
            (*tp).tp_free = Some(ffi::PyObject_Free);
            (*tp).tp_dealloc = Some(dealloc_plain);
            ffi::PyType_Modified(tp);
        }
    }
}

/// `tp_dealloc` of the plain kinds: what PyO3's does (weak references, the value, the memory,
/// the reference to the type), minus the GC untracking.
unsafe extern "C" fn dealloc_plain(obj: *mut ffi::PyObject) {
    // SAFETY: CPython calls this with the GIL held, for an object of a plain kind whose last
    // reference just went; nothing uses it afterwards.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        let weaklist = (*tp).tp_weaklistoffset;
        if weaklist > 0 && !(*obj.cast::<u8>().offset(weaklist).cast::<*mut ffi::PyObject>()).is_null() {
            ffi::PyObject_ClearWeakRefs(obj);
        }
        let py = Python::assume_attached();
        let value = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>().get() as *const CData;
        // (releasing can only panic on a bug; the object is freed all the same)
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| CData::release_in_place(value.cast_mut())));
        match (*tp).tp_free {
            Some(free) => free(obj.cast()),
            None => ffi::PyObject_Free(obj.cast()),
        }
        // instances of heap types hold a reference to their type
        ffi::Py_DECREF(tp.cast());
    }
}
