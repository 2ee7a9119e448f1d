//! Raw CPython slots for the hottest cdata accesses: `p[i]` and `p.x` (read and write) and
//! iteration over an array, when the item or field is a C integer (not `_Bool`, not a
//! character, not an enum) or a `float`/`double` (written from an exact `int` / `float`).
//!
//! PyO3's slot trampolines (attach bookkeeping, panic guard, argument extraction) cost about as
//! much as the read itself. These slots serve the common case directly and hand everything else,
//! errors included, to the original PyO3 slot, so there is one implementation of the rules
//! (`CData::__getitem__`/`__setitem__`, `__getattribute__`/`__setattr__`,
//! `CDataIter::__next__`) and this is only a shortcut to the same result.
//! Installed once, when the module is initialized.
//!
//! The `lib` objects (in-line and out-of-line ABI mode, API mode) keep the functions and
//! constants they found in their instance dict, and PyO3's slot for a class with `__getattr__`
//! wraps the generic lookup in its trampoline: their slot looks in that dict first, bare, and
//! goes through PyO3's for the rest.
//!
//! Likewise `ffi.from_handle(x)`, a one-argument method called in every callback that carries a
//! handle, is a plain `METH_O` method, which CPython calls without building argument tuples.

use std::os::raw::c_int;
use std::sync::OnceLock;

use model::PrimKind;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::PyTypeInfo;

use crate::cdata::{CData, CDataIter};
use crate::ctype::{CType, Kind};
use crate::rawslots::{guarded, replace, save};

/// How an item is read into a Python object without going through `convert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastRead {
    Signed(u8),
    Unsigned(u8),
    Float,
    Double,
}

impl FastRead {
    /// The fast reader for items of type `t`, if it has one.
    pub fn for_type(t: &CType) -> Option<FastRead> {
        if t.kind != Kind::Primitive {
            return None;
        }
        let prim = t.prim?;
        let size = u8::try_from(prim.size).ok()?;
        match (prim.kind, size) {
            (PrimKind::Signed, 1 | 2 | 4 | 8) => Some(FastRead::Signed(size)),
            (PrimKind::Unsigned, 1 | 2 | 4 | 8) => Some(FastRead::Unsigned(size)),
            (PrimKind::Float, 4) => Some(FastRead::Float),
            (PrimKind::Float, 8) => Some(FastRead::Double),
            _ => None,
        }
    }

    /// A new reference to the value at `p`, or NULL with an exception set (out of memory).
    ///
    /// # Safety
    /// `p` must be readable for the item's size; the GIL is held.
    pub unsafe fn read(self, p: *const u8) -> *mut ffi::PyObject {
        // SAFETY: forwarded from the caller; unaligned reads, as C memory may be packed.
        unsafe {
            match self {
                FastRead::Signed(1) => ffi::PyLong_FromLong(p.cast::<i8>().read_unaligned().into()),
                FastRead::Signed(2) => ffi::PyLong_FromLong(p.cast::<i16>().read_unaligned().into()),
                FastRead::Signed(4) => ffi::PyLong_FromLong(p.cast::<i32>().read_unaligned().into()),
                FastRead::Signed(_) => ffi::PyLong_FromLongLong(p.cast::<i64>().read_unaligned()),
                FastRead::Unsigned(1) => ffi::PyLong_FromLong(p.read().into()),
                FastRead::Unsigned(2) => ffi::PyLong_FromLong(p.cast::<u16>().read_unaligned().into()),
                FastRead::Unsigned(4) => ffi::PyLong_FromLongLong(p.cast::<u32>().read_unaligned().into()),
                FastRead::Unsigned(_) => ffi::PyLong_FromUnsignedLongLong(p.cast::<u64>().read_unaligned()),
                FastRead::Float => ffi::PyFloat_FromDouble(p.cast::<f32>().read_unaligned().into()),
                FastRead::Double => ffi::PyFloat_FromDouble(p.cast::<f64>().read_unaligned()),
            }
        }
    }
}

impl FastRead {
    /// Store `value` at `p` if it is an exact `int` that fits (integer items) or an exact
    /// `float` (floating items); false, with nothing done and no error set, for anything else,
    /// which the general conversion then handles (with its errors).
    ///
    /// # Safety
    /// `p` must be writable for the item's size, `value` a live object; the GIL is held.
    pub unsafe fn write(self, p: *mut u8, value: *mut ffi::PyObject) -> bool {
        // SAFETY: forwarded from the caller; unaligned writes, as C memory may be packed.
        unsafe {
            match self {
                FastRead::Float | FastRead::Double => {
                    if ffi::PyFloat_CheckExact(value) == 0 {
                        return false;
                    }
                    let d = ffi::PyFloat_AsDouble(value);
                    if self == FastRead::Float {
                        p.cast::<f32>().write_unaligned(d as f32);
                    } else {
                        p.cast::<f64>().write_unaligned(d);
                    }
                    true
                }
                FastRead::Signed(size) | FastRead::Unsigned(size) => {
                    let (lo, hi) = crate::convert::int_range(size.into(), matches!(self, FastRead::Signed(_)));
                    let Some(v) = crate::convert::exact_int_in(value, lo, hi) else { return false };
                    match size {
                        1 => p.write(v as u8),
                        2 => p.cast::<u16>().write_unaligned(v as u16),
                        4 => p.cast::<u32>().write_unaligned(v as u32),
                        _ => p.cast::<u64>().write_unaligned(v as u64),
                    }
                    true
                }
            }
        }
    }
}

static SUBSCRIPT: OnceLock<ffi::binaryfunc> = OnceLock::new();
static ASS_SUBSCRIPT: OnceLock<ffi::objobjargproc> = OnceLock::new();
static ITERNEXT: OnceLock<ffi::iternextfunc> = OnceLock::new();
static GETATTRO: OnceLock<ffi::getattrofunc> = OnceLock::new();
static SETATTRO: OnceLock<ffi::setattrofunc> = OnceLock::new();
static LENGTH: OnceLock<ffi::lenfunc> = OnceLock::new();

/// Put the raw slots in front of PyO3's on the cdata types and the cdata-iterator type.
pub fn install(py: Python<'_>) {
    let cdata = CData::type_object_raw(py);
    // SAFETY: PyO3 heap types, alive for the interpreter's life; the GIL is held and nothing has
    // used them yet. A heap type's `tp_as_mapping` points into the type object itself, so it is
    // writable. The original slots (the base's) are saved before ours go in.
    unsafe {
        let mapping = (*cdata).tp_as_mapping;
        let (sub, ass, len) = if mapping.is_null() {
            (None, None, None)
        } else {
            (
                save(&SUBSCRIPT, (*mapping).mp_subscript),
                save(&ASS_SUBSCRIPT, (*mapping).mp_ass_subscript),
                save(&LENGTH, (*mapping).mp_length),
            )
        };
        let get = save(&GETATTRO, (*cdata).tp_getattro);
        let set = save(&SETATTRO, (*cdata).tp_setattro);
        // The subtypes inherited the base's slots when they were created (CPython copies the
        // pointers): ours go wherever those are, so every kind of cdata takes the same shortcuts.
        for tp in crate::cdtypes::all(py) {
            let mapping = (*tp).tp_as_mapping;
            if !mapping.is_null() {
                replace(&mut (*mapping).mp_subscript, sub, subscript);
                replace(&mut (*mapping).mp_ass_subscript, ass, ass_subscript);
                replace(&mut (*mapping).mp_length, len, length);
            }
            // len() asks the sequence slot first, which PyO3 fills with the same function
            let sequence = (*tp).tp_as_sequence;
            if !sequence.is_null() {
                replace(&mut (*sequence).sq_length, len, length);
            }
            replace(&mut (*tp).tp_getattro, get, getattro);
            replace(&mut (*tp).tp_setattro, set, setattro);
            ffi::PyType_Modified(tp);
        }
    }
    install_from_handle(py);
}

/// `len(cdata)`: an array's length; anything else is PyO3's `__len__` (its error).
unsafe extern "C" fn length(obj: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    // SAFETY: CPython calls this with the GIL held and `obj` a cdata (only cdata types have
    // this slot).
    unsafe {
        let py = Python::assume_attached();
        let cd = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>();
        let cd = cd.get();
        if cd.ctype.get().kind == Kind::Array {
            return cd.array_length(py);
        }
        match LENGTH.get() {
            Some(orig) => orig(obj),
            // (never: this slot is installed only once the original is saved)
            None => {
                ffi::PyErr_SetString(ffi::PyExc_SystemError, c"rcffi: no __len__".as_ptr());
                -1
            }
        }
    }
}

// The iterator type and the three lib types are made, and their slot patched, when their first
// instance is (each is called right before): `import _cffi_backend` then makes none of them.

/// Before the first array iterator is made: its type made, its `tp_iternext` patched (once).
pub fn ready_iter(py: Python<'_>) {
    if ITERNEXT.get().is_some() {
        return;
    }
    let iter = CDataIter::type_object_raw(py);
    // SAFETY: a PyO3 heap type alive for the interpreter's life, without instances yet; the
    // GIL is held. The original slot is saved before ours goes in.
    unsafe {
        if let Some(orig) = (*iter).tp_iternext {
            if ITERNEXT.set(orig).is_ok() {
                (*iter).tp_iternext = Some(iternext);
            }
        }
        ffi::PyType_Modified(iter);
    }
}

/// Before a compiled module's `lib` is made.
pub fn ready_clib(py: Python<'_>) {
    install_lib_getattro(crate::cmodule::CLib::type_object_raw(py), &CLIB_GETATTRO, clib_getattro);
}

/// Before `ffi.dlopen()` makes a `Lib` (in-line ABI mode).
pub fn ready_lib(py: Python<'_>) {
    install_lib_getattro(crate::libobj::Lib::type_object_raw(py), &LIB_GETATTRO, lib_getattro);
}

/// Before `ffi.dlopen()` of an out-of-line module's FFI makes an `FFILibrary`.
pub fn ready_dllib(py: Python<'_>) {
    install_lib_getattro(crate::dllib::DlLib::type_object_raw(py), &DLLIB_GETATTRO, dllib_getattro);
}


/// Replace PyO3's `FFI.from_handle` by a `METH_O` method of the same behaviour and doc.
fn install_from_handle(py: Python<'_>) {
    let tp = crate::ffi::Ffi::type_object_raw(py);
    // The definition must outlive the type: leaked, once.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"from_handle".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: from_handle },
        ml_flags: ffi::METH_O,
        ml_doc: c"Cast a 'void *' back to a Python object.  Must be used *only* on the pointers returned by new_handle().".as_ptr(),
    }));
    // SAFETY: `tp` is the FFI heap type, alive for the interpreter's life, and its dict is a
    // plain dict; the GIL is held. On any failure PyO3's method simply stays.
    unsafe {
        let descr = ffi::PyDescr_NewMethod(tp, def);
        if descr.is_null() {
            ffi::PyErr_Clear();
            return;
        }
        let dict = (*tp).tp_dict;
        if dict.is_null() || ffi::PyDict_SetItemString(dict, c"from_handle".as_ptr(), descr) != 0 {
            ffi::PyErr_Clear();
        }
        ffi::Py_DECREF(descr);
        ffi::PyType_Modified(tp);
    }
}

unsafe extern "C" fn from_handle(_ffi: *mut ffi::PyObject, x: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `x` a live object.
    let (py, x) = unsafe {
        let py = Python::assume_attached();
        (py, pyo3::Borrowed::from_ptr(py, x))
    };
    guarded(py, c"rcffi: internal error in from_handle()", || crate::api::from_handle(py, &x))
}

unsafe extern "C" fn subscript(obj: *mut ffi::PyObject, key: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `obj` a cdata (the slot's type) and `key` a
    // live object.
    if let Some(r) = unsafe { fast_subscript(obj, key) } {
        return r;
    }
    let orig = SUBSCRIPT.get().expect("installed with the slot");
    // SAFETY: the original slot of the same type, with the same arguments.
    unsafe { orig(obj, key) }
}

/// `cdata[int]` for a pointer or array of fast-read items, within what `indexed_ptr` accepts;
/// None (with nothing done) for anything else.
///
/// # Safety
/// As `subscript`.
unsafe fn fast_subscript(obj: *mut ffi::PyObject, key: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    // SAFETY: forwarded; `fast_item` checked the bounds.
    unsafe { fast_item(obj, key).map(|(p, read)| read.read(p)) }
}

/// Where `cdata[key]` is and how it reads, for an int `key`, a pointer or array of fast-read
/// items, and an index that `indexed_ptr` accepts; None (with nothing done) otherwise.
///
/// # Safety
/// `obj` is a cdata and `key` a live object; the GIL is held.
unsafe fn fast_item(obj: *mut ffi::PyObject, key: *mut ffi::PyObject) -> Option<(*mut u8, FastRead)> {
    // SAFETY: forwarded.
    unsafe {
        if ffi::PyLong_CheckExact(key) == 0 {
            return None;
        }
        let i = ffi::PyLong_AsSsize_t(key);
        if i == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let py = Python::assume_attached();
        let cd = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>();
        let this = cd.get();
        let t = this.ctype.get();
        let addr = this.addr();
        match t.kind {
            Kind::Pointer if (i != 0 && this.is_owning()) || addr.is_null() => return None,
            Kind::Pointer => {}
            Kind::Array if i < 0 || i >= this.array_length(py) => return None,
            Kind::Array => {}
            _ => return None,
        }
        let item = t.item.as_ref()?.get();
        let read = FastRead::for_type(item)?;
        Some((addr.wrapping_offset(i.wrapping_mul(item.size())), read))
    }
}

unsafe extern "C" fn ass_subscript(obj: *mut ffi::PyObject, key: *mut ffi::PyObject, value: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls this with the GIL held, `obj` a cdata, `key` a live object and
    // `value` one or NULL (deletion, left to the original slot).
    unsafe {
        if !value.is_null() {
            if let Some((p, kind)) = fast_item(obj, key) {
                if kind.write(p, value) {
                    return 0;
                }
            }
        }
        let orig = ASS_SUBSCRIPT.get().expect("installed with the slot");
        orig(obj, key, value)
    }
}

unsafe extern "C" fn iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `obj` a cdata iterator.
    unsafe {
        let py = Python::assume_attached();
        let it = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CDataIter>();
        if let Some(r) = it.get().fast_next() {
            return r;
        }
        let orig = ITERNEXT.get().expect("installed with the slot");
        orig(obj)
    }
}

unsafe extern "C" fn getattro(obj: *mut ffi::PyObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `obj` a cdata and `name` a live object.
    unsafe {
        let py = Python::assume_attached();
        let cd = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>();
        let this = cd.get();
        if let Some(f) = field_named(this, name) {
            if let Some((p, read)) = fast_field(this, f) {
                return read.read(p);
            }
            // any other field: read as PyO3's __getattribute__ would, without its trampoline
            return guarded(py, c"rcffi: internal error reading a field", || this.read_field(py, f));
        }
        let orig = GETATTRO.get().expect("installed with the slot");
        // the original slot of the same type, with the same arguments
        orig(obj, name)
    }
}

/// The field `name` of the struct that `this` stands for (is, or points to), if it has one.
///
/// # Safety
/// `name` is a live object; the GIL is held.
unsafe fn field_named<'a>(this: &'a CData, name: *mut ffi::PyObject) -> Option<&'a crate::record::Field> {
    // SAFETY: forwarded.
    unsafe {
        if ffi::PyUnicode_CheckExact(name) == 0 {
            return None;
        }
        let t = this.ctype.get();
        let t = if t.kind == Kind::Pointer { t.item.as_ref()?.get() } else { t };
        let rec = t.record.get()?;
        let mut len: ffi::Py_ssize_t = 0;
        let utf8 = ffi::PyUnicode_AsUTF8AndSize(name, &mut len);
        if utf8.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let name = std::str::from_utf8(std::slice::from_raw_parts(utf8.cast::<u8>(), len as usize)).ok()?;
        rec.field(name)
    }
}

/// Where field `f` of the struct that `this` stands for is, and how it reads: for a plain (not
/// bit-) field of fast-read type, through a non-NULL address; None otherwise.
#[inline]
fn fast_field(this: &CData, f: &crate::record::Field) -> Option<(*mut u8, FastRead)> {
    let addr = this.addr();
    if f.bitshift != -1 || addr.is_null() {
        return None;
    }
    let read = FastRead::for_type(f.ctype.get())?;
    Some((addr.wrapping_add(f.offset), read))
}

/// `fast_field` of the field `name` of cdata `obj`.
///
/// # Safety
/// `obj` is a cdata and `name` a live object; the GIL is held.
unsafe fn fast_field_at(obj: *mut ffi::PyObject, name: *mut ffi::PyObject) -> Option<(*mut u8, FastRead)> {
    // SAFETY: forwarded.
    unsafe {
        let py = Python::assume_attached();
        let cd = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>();
        let this = cd.get();
        fast_field(this, field_named(this, name)?)
    }
}

unsafe extern "C" fn setattro(obj: *mut ffi::PyObject, name: *mut ffi::PyObject, value: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls this with the GIL held, `obj` a cdata, `name` a live object and
    // `value` one or NULL (deletion, left to the original slot).
    unsafe {
        if !value.is_null() {
            if let Some((p, kind)) = fast_field_at(obj, name) {
                if kind.write(p, value) {
                    return 0;
                }
            }
        }
        let orig = SETATTRO.get().expect("installed with the slot");
        orig(obj, name, value)
    }
}

static CLIB_GETATTRO: OnceLock<ffi::getattrofunc> = OnceLock::new();
static LIB_GETATTRO: OnceLock<ffi::getattrofunc> = OnceLock::new();
static DLLIB_GETATTRO: OnceLock<ffi::getattrofunc> = OnceLock::new();

/// Put `ours` in front of the `tp_getattro` of lib type `tp`, whose original goes to `saved`.
/// Patch a lib type's `tp_getattro`, once (later calls find the saved slot and do nothing).
fn install_lib_getattro(tp: *mut ffi::PyTypeObject, saved: &OnceLock<ffi::getattrofunc>, ours: ffi::getattrofunc) {
    if saved.get().is_some() {
        return;
    }
    // SAFETY: a PyO3 heap type alive for the interpreter's life; the GIL is held. The original
    // slot is saved before ours goes in; instances made before (none, as the callers are the
    // makers of the instances) would simply switch to the shortcut.
    unsafe {
        if let Some(orig) = (*tp).tp_getattro {
            if saved.set(orig).is_ok() {
                (*tp).tp_getattro = Some(ours);
                ffi::PyType_Modified(tp);
            }
        }
    }
}

unsafe extern "C" fn clib_getattro(obj: *mut ffi::PyObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `lib_getattr_via`.
    unsafe { lib_getattr_via(obj, name, &CLIB_GETATTRO) }
}

unsafe extern "C" fn lib_getattro(obj: *mut ffi::PyObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `lib_getattr_via`.
    unsafe { lib_getattr_via(obj, name, &LIB_GETATTRO) }
}

unsafe extern "C" fn dllib_getattro(obj: *mut ffi::PyObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `lib_getattr_via`.
    unsafe { lib_getattr_via(obj, name, &DLLIB_GETATTRO) }
}

/// What the lib found before (its instance dict), else the saved PyO3 slot (the generic lookup,
/// then `__getattr__`). The lib's dict only holds C names it resolved (and the few extras that
/// `ffi.verify()` adds), so looking there first changes no result.
///
/// # Safety
/// Called by CPython as a `tp_getattro` slot, with the GIL held; `saved` is set.
unsafe fn lib_getattr_via(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    saved: &OnceLock<ffi::getattrofunc>,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded; a positive `tp_dictoffset` is where the object keeps its dict pointer
    // (PyO3's `dict` option), which may still be NULL.
    unsafe {
        let offset = (*ffi::Py_TYPE(obj)).tp_dictoffset;
        if offset > 0 && ffi::PyUnicode_CheckExact(name) != 0 {
            let dict = *(obj.cast::<u8>().offset(offset).cast::<*mut ffi::PyObject>());
            if !dict.is_null() {
                let found = ffi::PyDict_GetItemWithError(dict, name);
                if !found.is_null() {
                    ffi::Py_INCREF(found);
                    return found;
                }
                if !ffi::PyErr_Occurred().is_null() {
                    return std::ptr::null_mut();
                }
            }
        }
        let orig = saved.get().expect("installed with the slot");
        orig(obj, name)
    }
}
