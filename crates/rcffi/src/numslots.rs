//! Raw CPython number-protocol and hash slots for cdata, in front of PyO3's (as `hotslots` does
//! for items and fields): `bool(x)`, `int(x)`, `float(x)`, `hash(x)`, `p + n`, `p - n` for the
//! common cases, which would otherwise pay PyO3's trampoline for a few instructions of work.
//! Everything else (and every error) goes to PyO3's slot, where the rules and messages live.

use std::sync::OnceLock;

use model::{raw, PrimKind};
use pyo3::ffi;
use pyo3::prelude::*;

use crate::cdata::CData;
use crate::ctype::Kind;
use crate::hotslots::FastRead;
use crate::rawslots::{guarded, replace, save};

static BOOL: OnceLock<ffi::inquiry> = OnceLock::new();
static INT: OnceLock<ffi::unaryfunc> = OnceLock::new();
static FLOAT: OnceLock<ffi::unaryfunc> = OnceLock::new();
static HASH: OnceLock<ffi::hashfunc> = OnceLock::new();
static ADD: OnceLock<ffi::binaryfunc> = OnceLock::new();
static SUBTRACT: OnceLock<ffi::binaryfunc> = OnceLock::new();

const ARITHMETIC_ERROR: &std::ffi::CStr = c"rcffi: internal error in cdata arithmetic";

/// Install the slots on the cdata types (at init, after they exist and before any instance).
pub fn install(py: Python<'_>) {
    // SAFETY: PyO3 heap types alive for the interpreter's life; the GIL is held. A heap type's
    // `tp_as_number` points into the type object itself. The originals are read from the base
    // type, whose slots every subtype copied when it was made: ours go where those are.
    unsafe {
        let base = crate::cdtypes::all(py)[0];
        let num = (*base).tp_as_number;
        if num.is_null() {
            return;
        }
        let saved = (
            save(&BOOL, (*num).nb_bool),
            save(&INT, (*num).nb_int),
            save(&FLOAT, (*num).nb_float),
            save(&HASH, (*base).tp_hash),
            save(&ADD, (*num).nb_add),
            save(&SUBTRACT, (*num).nb_subtract),
        );
        for tp in crate::cdtypes::all(py) {
            let num = (*tp).tp_as_number;
            if num.is_null() {
                continue;
            }
            replace(&mut (*num).nb_bool, saved.0, nb_bool);
            replace(&mut (*num).nb_int, saved.1, nb_int);
            replace(&mut (*num).nb_float, saved.2, nb_float);
            replace(&mut (*tp).tp_hash, saved.3, tp_hash);
            replace(&mut (*num).nb_add, saved.4, nb_add);
            replace(&mut (*num).nb_subtract, saved.5, nb_subtract);
            ffi::PyType_Modified(tp);
        }
    }
}

/// The cdata behind `obj`.
///
/// # Safety
/// `obj` must be a cdata (the slots are only on cdata types) and the GIL held.
unsafe fn cdata<'a>(obj: *mut ffi::PyObject) -> &'a CData {
    // SAFETY: forwarded; the reference does not outlive the slot call that holds `obj`.
    unsafe {
        let py = Python::assume_attached();
        let cd: *const CData = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>().get();
        &*cd
    }
}

/// `bool(x)`: pointers and the integer and floating primitives.
unsafe extern "C" fn nb_bool(obj: *mut ffi::PyObject) -> std::ffi::c_int {
    // SAFETY: CPython calls this with the GIL held and `obj` a cdata; a primitive cdata's
    // address holds a value of its type.
    unsafe {
        let cd = cdata(obj);
        let t = cd.ctype.get();
        match (t.kind, t.prim_kind()) {
            (Kind::Pointer | Kind::Array | Kind::Function | Kind::Struct | Kind::Union, _) => {
                return (!cd.addr().is_null()).into()
            }
            (_, Some(PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool | PrimKind::Char | PrimKind::WideChar))
            | (Kind::Enum, _)
                if t.size() > 0 && t.size() <= 8 =>
            {
                return (raw::read_int(cd.addr(), t.size() as usize, false) != 0).into()
            }
            (_, Some(PrimKind::Float)) => return (raw::read_float(cd.addr(), t.size() as usize) != 0.0).into(),
            _ => {}
        }
        BOOL.get().map_or(-1, |orig| orig(obj))
    }
}

/// `int(x)` of a C integer (not a character: `int(char)` has its own rules).
unsafe extern "C" fn nb_int(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `nb_bool`.
    unsafe {
        let cd = cdata(obj);
        if let Some(read @ (FastRead::Signed(_) | FastRead::Unsigned(_))) = FastRead::for_type(cd.ctype.get()) {
            return read.read(cd.addr());
        }
        INT.get().map_or(std::ptr::null_mut(), |orig| orig(obj))
    }
}

/// `float(x)` of a `float` or `double`.
unsafe extern "C" fn nb_float(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `nb_bool`.
    unsafe {
        let cd = cdata(obj);
        if let Some(read @ (FastRead::Float | FastRead::Double)) = FastRead::for_type(cd.ctype.get()) {
            return read.read(cd.addr());
        }
        FLOAT.get().map_or(std::ptr::null_mut(), |orig| orig(obj))
    }
}

/// `hash(x)` of a pointer-like cdata: its address, as `CData::__hash__` computes it.
unsafe extern "C" fn tp_hash(obj: *mut ffi::PyObject) -> ffi::Py_hash_t {
    // SAFETY: as `nb_bool`.
    unsafe {
        let cd = cdata(obj);
        if !matches!(cd.ctype.get().kind, Kind::Primitive | Kind::Enum) {
            let h = (cd.addr() as usize).rotate_right(4) as ffi::Py_hash_t;
            // -1 means an error to CPython
            return if h == -1 { -2 } else { h };
        }
        HASH.get().map_or(-1, |orig| orig(obj))
    }
}

/// `p + n` / `n + p` for a pointer or array `p` and an exact int `n`.
unsafe extern "C" fn nb_add(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held; one of `a`, `b` is a cdata.
    unsafe {
        if let Some(r) = pointer_plus(a, b).or_else(|| pointer_plus(b, a)) {
            return r;
        }
        ADD.get().map_or(std::ptr::null_mut(), |orig| orig(a, b))
    }
}

/// `p - n` and `p - q` for a cdata `p` (`CData::__sub__`); `n - p` is PyO3's (an error).
unsafe extern "C" fn nb_subtract(a: *mut ffi::PyObject, b: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: as `nb_add`.
    unsafe {
        let py = Python::assume_attached();
        if let Ok(cd) = pyo3::Borrowed::from_ptr(py, a).cast::<CData>() {
            let other = pyo3::Borrowed::from_ptr(py, b);
            return guarded(py, ARITHMETIC_ERROR, || cd.get().__sub__(py, &other));
        }
        SUBTRACT.get().map_or(std::ptr::null_mut(), |orig| orig(a, b))
    }
}

/// `p + n` if `p` is a pointer or array cdata and `n` an exact int; None otherwise.
///
/// # Safety
/// The GIL is held; both are live objects.
unsafe fn pointer_plus(p: *mut ffi::PyObject, n: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    // SAFETY: forwarded; `p` is read as a cdata only once its type says it is one.
    unsafe {
        if ffi::PyLong_CheckExact(n) == 0 {
            return None;
        }
        let py = Python::assume_attached();
        let p = pyo3::Borrowed::from_ptr(py, p);
        let cd = p.cast::<CData>().ok()?;
        let cd = cd.get();
        if !matches!(cd.ctype.get().kind, Kind::Pointer | Kind::Array) {
            return None;
        }
        let n = pyo3::Borrowed::from_ptr(py, n);
        Some(guarded(py, ARITHMETIC_ERROR, || cd.add_offset(py, &n, 1)))
    }
}
