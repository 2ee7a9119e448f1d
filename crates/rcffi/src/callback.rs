//! `ffi.callback()`: C function pointers that call Python, built on libffi closures.
//!
//! The closure's code address is the cdata's address. When C calls it, the trampoline takes the
//! GIL (from any thread, including ones Python did not create), converts the arguments, calls
//! the Python callable and converts its result back. Exceptions never reach C: they are reported
//! through `sys.unraisablehook` (or handed to `onerror`) and the `error` value is returned.

use std::ffi::{c_char, c_void, CString};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use libffi::raw;
use model::PrimKind;
use pyo3::exceptions::{PyMemoryError, PyNotImplementedError, PySystemError, PyTypeError};
use pyo3::prelude::*;

use crate::cdata::{CData, Owner};
use crate::convert;
use crate::ctype::{CType, Kind};
use crate::gilslot::GilSlot;

/// What the trampoline needs. Shared: its address is libffi's user data, and a running call
/// holds its own reference, so that the callback cdata may die during the call.
struct Info {
    /// The function type; it owns the CIF the closure uses, so it must outlive the closure.
    ctype: Py<CType>,
    /// The callable and `onerror`; None once the garbage collector broke a cycle through them.
    callable: GilSlot,
    /// The result to return when the callable raises: `error` converted, or zeros.
    error: Vec<u8>,
    /// False for `void` results: nothing to write.
    has_result: bool,
    onerror: GilSlot,
}

/// The closure behind a callback cdata: keeps the libffi closure and the callable alive.
///
/// Two words, the code address first (where `CData::addr` reads it, see `cdata::Owner`). The
/// `Info` is the closure's user data, of which this value owns one reference (from
/// `Arc::into_raw`).
#[repr(C)]
pub struct Closure {
    code: *mut c_void,
    closure: *mut raw::ffi_closure,
}

// SAFETY: the libffi closure is written only while being prepared (before this value exists)
// and freed in Drop; in between, only C callers read it.
unsafe impl Send for Closure {}
// SAFETY: as above; what `Info` lets change is in GIL-guarded slots.
unsafe impl Sync for Closure {}

impl Closure {
    /// The address C calls: the callback cdata's address.
    #[inline]
    pub fn code(&self) -> *mut u8 {
        self.code.cast()
    }

    fn info(&self) -> &Info {
        // SAFETY: the user data is the `Info` given to ffi_prep_closure_loc (`new_callback`),
        // whose reference this value owns until it drops; the closure is freed only then.
        unsafe { &*(*self.closure).user_data.cast::<Info>() }
    }

    /// The Python callable (None once cleared by the garbage collector).
    pub fn callable(&self, py: Python<'_>) -> Py<PyAny> {
        self.info().callable.get(py).unwrap_or_else(|| py.None())
    }

    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.info().callable.traverse(visit)?;
        self.info().onerror.traverse(visit)
    }

    /// Break reference cycles (callable -> ... -> this callback). Calls from C then only
    /// return the error value.
    pub fn clear(&self) {
        // tp_clear runs with the GIL held: attaching is only bookkeeping.
        Python::attach(|py| {
            let callable = self.info().callable.take(py);
            let onerror = self.info().onerror.take(py);
            drop((callable, onerror));
        })
    }
}

impl Drop for Closure {
    fn drop(&mut self) {
        // SAFETY: allocated by ffi_closure_alloc in `new_callback`, freed only here; its user
        // data is the reference to the `Info` this value owns, given back after the closure is
        // freed (a call running meanwhile holds its own).
        unsafe {
            let info = (*self.closure).user_data.cast_const().cast::<Info>();
            raw::ffi_closure_free(self.closure.cast());
            drop(Arc::from_raw(info));
        }
    }
}

/// Frees a closure allocation if creating the callback fails half-way.
struct AllocGuard(*mut raw::ffi_closure);

impl Drop for AllocGuard {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by ffi_closure_alloc and not handed to anyone else.
            unsafe { raw::ffi_closure_free(self.0.cast()) };
        }
    }
}

/// `_cffi_backend.callback(ctype, python_callable, error=None, onerror=None)`.
#[pyfunction]
#[pyo3(signature = (ctype, python_callable, error=None, onerror=None))]
pub fn callback(
    py: Python<'_>,
    ctype: &Bound<'_, CType>,
    python_callable: &Bound<'_, PyAny>,
    error: Option<&Bound<'_, PyAny>>,
    onerror: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<CData>> {
    new_callback(py, ctype, python_callable, error, onerror)
}

/// Build a callback cdata of function type `ct` calling `callable`.
pub fn new_callback(
    py: Python<'_>,
    ct: &Bound<'_, CType>,
    callable: &Bound<'_, PyAny>,
    error: Option<&Bound<'_, PyAny>>,
    onerror: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<CData>> {
    let t = ct.get();
    let Some(f) = t.func.as_ref().filter(|_| t.kind == Kind::Function) else {
        return Err(PyTypeError::new_err(format!("expected a function ctype, got '{}'", t.name)));
    };
    if !callable.is_callable() {
        return Err(PyTypeError::new_err(format!(
            "expected a callable object, not {}",
            convert::type_name(callable)
        )));
    }
    let onerror = onerror.filter(|o| !o.is_none());
    if let Some(o) = onerror {
        if !o.is_callable() {
            return Err(PyTypeError::new_err(format!(
                "expected a callable object for 'onerror', not {}",
                convert::type_name(o)
            )));
        }
    }
    let info = make_info(py, ct, callable, error, onerror)?;

    let mut code: *mut c_void = std::ptr::null_mut();
    // SAFETY: allocates a closure and its executable alias; both checked below.
    let alloc = unsafe { raw::ffi_closure_alloc(std::mem::size_of::<raw::ffi_closure>(), &mut code) };
    let guard = AllocGuard(alloc.cast());
    if alloc.is_null() || code.is_null() {
        return Err(PyMemoryError::new_err(
            "Cannot allocate write+execute memory for ffi.callback(). You might be running on a system that prevents this. For more information, see https://cffi.readthedocs.io/en/latest/using.html#callbacks",
        ));
    }
    let plan = if f.ellipsis { None } else { plan_or_none(py, t)? };
    let Some(plan) = plan else {
        return Err(PyNotImplementedError::new_err(format!(
            "{}: callback with unsupported argument or return type or with '...'",
            t.name
        )));
    };

    // The closure's user data is a reference to `info`, which the closure owns (see `Closure`).
    let user_data = Arc::into_raw(info);
    // SAFETY: the closure was just allocated; the CIF lives in the function ctype, which the
    // `Info` keeps alive as long as the closure; the `Info` is shared, so its address is stable,
    // and the closure's reference is dropped only after the closure is freed.
    let status = unsafe {
        raw::ffi_prep_closure_loc(guard.0, plan.raw_cif(), Some(trampoline), user_data.cast_mut().cast(), code)
    };
    if status != raw::ffi_status_FFI_OK {
        // SAFETY: the reference made just above, which no closure took.
        drop(unsafe { Arc::from_raw(user_data) });
        return Err(PySystemError::new_err("libffi failed to build this callback"));
    }
    let closure = Closure { code, closure: guard.0 };
    std::mem::forget(guard);
    CData::with(ct, Owner::Callback(closure)).into_object(py)
}

/// What a call into Python needs, for function type `ct`: the callable, `onerror`, and the
/// `error` value already converted to C.
fn make_info(
    py: Python<'_>,
    ct: &Bound<'_, CType>,
    callable: &Bound<'_, PyAny>,
    error: Option<&Bound<'_, PyAny>>,
    onerror: Option<&Bound<'_, PyAny>>,
) -> PyResult<Arc<Info>> {
    let t = ct.get();
    let Some(f) = t.func.as_ref() else {
        return Err(PyTypeError::new_err(format!("expected a function ctype, got '{}'", t.name)));
    };
    let rt = f.result.bind(py);
    let mut error_value = vec![0u8; rt.get().size().max(8) as usize];
    if let Some(e) = error.filter(|e| !e.is_none()) {
        // SAFETY: the buffer holds max(size, 8) bytes, what encode_result writes at most.
        unsafe { encode_result(py, rt, error_value.as_mut_ptr(), e)? };
    }
    Ok(Arc::new(Info {
        ctype: ct.clone().unbind(),
        callable: GilSlot::new(Some(callable.clone().unbind())),
        error: error_value,
        has_result: rt.get().size() > 0,
        onerror: GilSlot::new(onerror.map(|o| o.clone().unbind())),
    }))
}

/// A Python function attached to C code that is not a libffi closure (`extern "Python"`):
/// the same conversions, error and onerror handling as a callback.
pub struct Handler(Arc<Info>);

impl Handler {
    pub fn new(
        py: Python<'_>,
        ct: &Bound<'_, CType>,
        callable: &Bound<'_, PyAny>,
        error: Option<&Bound<'_, PyAny>>,
        onerror: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Handler> {
        if !callable.is_callable() {
            return Err(PyTypeError::new_err(format!(
                "expected a callable object, not {}",
                convert::type_name(callable)
            )));
        }
        Ok(Handler(make_info(py, ct, callable, error, onerror)?))
    }

    pub fn ctype(&self) -> &Py<CType> {
        &self.0.ctype
    }

    /// Call the Python function from C, from any thread, like a callback's trampoline.
    ///
    /// # Safety
    /// `result` must hold the result type (at least a word); `args` one pointer per declared
    /// argument, each to a value of that argument's type.
    pub unsafe fn call(&self, result: *mut u8, args: *mut *mut c_void) {
        // SAFETY: forwarded; the Info is shared like a closure's user data.
        unsafe { trampoline(std::ptr::null_mut(), result.cast(), args, Arc::as_ptr(&self.0).cast_mut().cast()) }
    }
}

/// The function type's call plan, or None if libffi cannot describe it.
fn plan_or_none<'a>(py: Python<'_>, t: &'a CType) -> PyResult<Option<&'a crate::call::Prepared>> {
    match crate::call::plan_of(py, t) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.is_instance_of::<PyNotImplementedError>(py) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Store a callback's result for libffi: integer results smaller than a machine word fill the
/// whole word (sign- or zero-extended), as libffi expects.
///
/// # Safety
/// `result` must be valid for max(size of the result type, 8) bytes.
unsafe fn encode_result(py: Python<'_>, rt: &Bound<'_, CType>, result: *mut u8, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let t = rt.get();
    let size = t.size();
    if size < 8 {
        if t.kind == Kind::Void {
            if obj.is_none() {
                return Ok(());
            }
            return Err(PyTypeError::new_err("callback with the return type 'void' must return None"));
        }
        // SAFETY (all accesses below): `result` holds at least 8 bytes.
        unsafe {
            if t.prim_kind() == Some(PrimKind::Signed) {
                // The common case (an int that fits) without the general conversion; the whole
                // word, sign-extended.
                let (lo, hi) = convert::int_range(size as usize, true);
                if let Some(v) = convert::exact_int_in(obj.as_ptr(), lo, hi) {
                    result.cast::<i64>().write_unaligned(v);
                    return Ok(());
                }
                convert::write(py, rt, result, obj)?;
                let v = model::raw::read_int(result, size as usize, true);
                model::raw::write_int(result, 8, v);
                return Ok(());
            }
            if t.is_pointer_like()
                || matches!(
                    t.prim_kind(),
                    Some(PrimKind::Unsigned | PrimKind::Bool | PrimKind::Char | PrimKind::WideChar)
                )
            {
                std::ptr::write_bytes(result, 0, 8);
            }
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { convert::write(py, rt, result, obj) }
}

/// Called by libffi when C calls a callback. Never unwinds into C.
///
/// The GIL is taken with `PyGILState_Ensure` before anything else: C may call back on a thread
/// that released it without PyO3's knowledge (calls release it with `PyEval_SaveThread`, see
/// `call::fast::without_gil`), so `Python::attach` alone could wrongly assume it held.
unsafe extern "C" fn trampoline(_cif: *mut raw::ffi_cif, result: *mut c_void, args: *mut *mut c_void, user: *mut c_void) {
    let user = user as *const Info;
    let result = result.cast::<u8>();
    // C's errno becomes the saved errno that Python code sees, and back again.
    crate::errno::save();
    let gil = crate::gil::GilState::ensure();
    if !gil.held() {
        // No interpreter (yet, or any more): C still gets a defined result.
        // SAFETY: as below.
        unsafe { copy_error_value(&*user, result) };
        crate::errno::restore();
        return;
    }
    // SAFETY: `user` is an `Info` in an Arc: the closure's user data (a reference the closure
    // being called holds) or a `Handler`'s (which its caller holds), so taking our own reference
    // for the call is sound.
    let info = unsafe {
        Arc::increment_strong_count(user);
        Arc::from_raw(user)
    };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: this thread holds the GIL (just ensured). libffi passes a result buffer for
        // the CIF's result type (at least a word) and one pointer per argument, each to a value
        // of that argument's type.
        unsafe { invoke(Python::assume_attached(), &info, result, args) };
    }));
    if outcome.is_err() {
        // A bug on our side; C still gets a defined result.
        // SAFETY: as above.
        unsafe { copy_error_value(&info, result) };
    }
    // With the GIL: this may be the last reference (the callback cdata died during the call).
    drop(info);
    drop(gil);
    crate::errno::restore();
}

/// Return the `error` value to C.
///
/// # Safety
/// `result` must be libffi's result buffer: the result type's size, and at least a word.
unsafe fn copy_error_value(info: &Info, result: *mut u8) {
    if info.has_result {
        // SAFETY: `error` holds max(size, 8) bytes, which the buffer holds too.
        unsafe { std::ptr::copy_nonoverlapping(info.error.as_ptr(), result, info.error.len()) };
    }
}

/// The arguments of a call from C as a tuple, built in place (no intermediate vector), for
/// calls of more than `STACK_ARGS` arguments.
///
/// # Safety
/// `args` must hold one pointer per declared argument of `f`, each to a value of its type.
unsafe fn arguments_tuple<'py>(
    py: Python<'py>,
    f: &crate::ctype::FunctionInfo,
    args: *mut *mut c_void,
) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
    let n = f.args.len();
    // SAFETY: a new tuple of n NULL items; each is set exactly once below before the tuple is
    // used (a tuple with NULL items may still be dropped, if a conversion fails).
    let tuple = unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyTuple_New(n as pyo3::ffi::Py_ssize_t)) }?;
    for (i, a) in f.args.iter().enumerate() {
        // SAFETY: forwarded from the caller.
        let v = unsafe { convert::read(py, a.bind(py), (*args.add(i)).cast()) }?;
        // SAFETY: `i < n`; SET_ITEM steals the new reference.
        unsafe { pyo3::ffi::PyTuple_SET_ITEM(tuple.as_ptr(), i as pyo3::ffi::Py_ssize_t, v.into_ptr()) };
    }
    Ok(tuple.cast_into_unchecked())
}

/// Arguments up to this many are passed on the stack (vectorcall), more in a tuple.
const STACK_ARGS: usize = 8;

/// Call `callable` with the arguments of a call from C: through vectorcall, from an array on the
/// stack (a Python function then gets them without any tuple being built), or with a tuple when
/// there are more than `STACK_ARGS`.
///
/// # Safety
/// As for `arguments_tuple`.
unsafe fn call_with_arguments<'py>(
    py: Python<'py>,
    callable: &Bound<'py, PyAny>,
    f: &crate::ctype::FunctionInfo,
    args: *mut *mut c_void,
) -> PyResult<Bound<'py, PyAny>> {
    let n = f.args.len();
    if n > STACK_ARGS {
        // SAFETY: forwarded from the caller.
        return callable.call1(unsafe { arguments_tuple(py, f, args) }?);
    }
    // The new references to the converted arguments; released after the call (or on error).
    let mut args_out = [std::ptr::null_mut::<pyo3::ffi::PyObject>(); STACK_ARGS];
    let release = |made: &[*mut pyo3::ffi::PyObject]| {
        for &obj in made {
            // SAFETY: each is a new reference made below, released once; the GIL is held.
            unsafe { pyo3::ffi::Py_DECREF(obj) };
        }
    };
    for (i, a) in f.args.iter().enumerate() {
        // SAFETY: forwarded from the caller.
        match unsafe { read_argument(py, a.bind(py), (*args.add(i)).cast()) } {
            Ok(obj) => args_out[i] = obj,
            Err(e) => {
                release(&args_out[..i]);
                return Err(e);
            }
        }
    }
    // SAFETY: the GIL is held; `args_out` holds `n` live objects, and no keyword names.
    let r = unsafe { pyo3::ffi::PyObject_Vectorcall(callable.as_ptr(), args_out.as_ptr(), n, std::ptr::null_mut()) };
    release(&args_out[..n]);
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, r) }
}

/// One argument of a call from C as a new reference: plain numbers by the items' fast reader
/// (`hotslots::FastRead`), anything else through `convert::read`.
///
/// # Safety
/// `p` must point to a value of type `t`; the GIL is held.
unsafe fn read_argument(py: Python<'_>, t: &Bound<'_, CType>, p: *const u8) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY (the reads): forwarded.
    unsafe {
        match crate::hotslots::FastRead::for_type(t.get()) {
            Some(read) => Bound::from_owned_ptr_or_err(py, read.read(p)).map(Bound::into_ptr),
            None => Ok(convert::read(py, t, p)?.into_ptr()),
        }
    }
}

/// Why a call into Python failed.
struct Failure {
    err: PyErr,
    /// The result could not be converted back to C.
    in_result: bool,
}

/// # Safety
/// As for `trampoline`.
unsafe fn invoke(py: Python<'_>, info: &Info, result: *mut u8, args: *mut *mut c_void) {
    let ct = info.ctype.bind(py).get();
    let Some(f) = ct.func.as_ref() else { return };
    let rt = f.result.bind(py);
    // Owned references: the garbage collector may clear the closure while Python code runs.
    let Some(callable) = info.callable.get(py).map(|c| c.into_bound(py)) else {
        // SAFETY: forwarded from the caller.
        unsafe { copy_error_value(info, result) };
        return;
    };
    let run = || -> Result<(), Failure> {
        let fail = |err| Failure { err, in_result: false };
        // SAFETY: libffi gives one pointer per declared argument, to a value of its type.
        let res = unsafe { call_with_arguments(py, &callable, f, args) }.map_err(fail)?;
        // SAFETY: libffi's result buffer fits the result type and at least a word.
        unsafe { encode_result(py, rt, result, &res) }.map_err(|err| Failure { err, in_result: true })
    };
    let Err(failure) = run() else { return };
    // SAFETY: forwarded from the caller.
    unsafe { copy_error_value(info, result) };
    let extra = if failure.in_result { ", trying to convert the result back to C" } else { "" };
    let Some(onerror) = info.onerror.get(py) else {
        write_unraisable(py, failure.err, "from cffi callback ", Some(&callable), extra);
        return;
    };
    let err = failure.err;
    let (exc, val, tb) = (
        err.get_type(py).into_any(),
        err.value(py).clone().into_any(),
        err.traceback(py).map_or_else(|| py.None().into_bound(py), |t| t.into_any()),
    );
    let handled = onerror.bind(py).call1((exc, val, tb)).and_then(|r| {
        if r.is_none() {
            return Ok(());
        }
        // SAFETY: as above.
        unsafe { encode_result(py, rt, result, &r) }
    });
    if let Err(err2) = handled {
        write_unraisable(py, err, "from cffi callback ", Some(&callable), extra);
        write_unraisable(py, err2, "during handling of the above exception by 'onerror'", None, "");
    }
}

// ---- reporting ---------------------------------------------------------------------------------

type WriteUnraisableMsg = unsafe extern "C" fn(*const c_char, *mut pyo3::ffi::PyObject);
type FormatUnraisable = unsafe extern "C" fn(*const c_char, ...);

enum Reporter {
    /// CPython < 3.13: `_PyErr_WriteUnraisableMsg(msg, obj)` prints "Exception ignored <msg>".
    Msg(WriteUnraisableMsg),
    /// CPython >= 3.13: `PyErr_FormatUnraisable(format, ...)`.
    Format(FormatUnraisable),
    None,
}

fn reporter() -> &'static Reporter {
    static R: OnceLock<Reporter> = OnceLock::new();
    R.get_or_init(|| {
        // SAFETY: looking up symbols of the running interpreter; their C signatures are the ones
        // given by the types they are converted to.
        unsafe {
            let p = libc::dlsym(libc::RTLD_DEFAULT, c"_PyErr_WriteUnraisableMsg".as_ptr());
            if !p.is_null() {
                return Reporter::Msg(std::mem::transmute::<*mut c_void, WriteUnraisableMsg>(p));
            }
            let p = libc::dlsym(libc::RTLD_DEFAULT, c"PyErr_FormatUnraisable".as_ptr());
            if !p.is_null() {
                return Reporter::Format(std::mem::transmute::<*mut c_void, FormatUnraisable>(p));
            }
            Reporter::None
        }
    })
}

/// Report `err` through `sys.unraisablehook` with the message "Exception ignored <descr><repr of
/// obj><extra>", with the exception's full traceback.
pub fn write_unraisable(py: Python<'_>, err: PyErr, descr: &str, obj: Option<&Bound<'_, PyAny>>, extra: &str) {
    let what = match obj {
        Some(o) => o.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<object>".into()),
        None => String::new(),
    };
    let msg = CString::new(format!("{descr}{what}{extra}").replace('\0', "\\0")).unwrap_or_default();
    err.restore(py);
    match reporter() {
        // SAFETY: an exception is set, as these functions require; the message outlives the call.
        Reporter::Msg(f) => unsafe { f(msg.as_ptr(), std::ptr::null_mut()) },
        // SAFETY: as above; "%s" takes one C string.
        Reporter::Format(f) => unsafe { f(c"Exception ignored %s".as_ptr(), msg.as_ptr()) },
        Reporter::None => {
            let o = obj.map_or(std::ptr::null_mut(), |o| o.as_ptr());
            // SAFETY: an exception is set; `o` is null or a live object.
            unsafe { pyo3::ffi::PyErr_WriteUnraisable(o) }
        }
    }
    // The reporters clear the exception; make sure nothing is left over.
    let _ = PyErr::take(py);
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(callback, m)?)
}
