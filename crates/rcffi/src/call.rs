//! Calling C function pointers from Python through libffi.
//!
//! A function type's libffi description (its `CallPlan`) is built on first use and cached in the
//! ctype; a variadic call builds one per call from the types of the cdata actually passed. The
//! arguments are converted into one exchange buffer (one 16-byte-aligned slot per argument, plus
//! one for the result), then `ffi_call` runs with the GIL released. Non-variadic calls take the
//! allocation-free path of `call_fast`, which also calls common signatures without libffi.

use std::ffi::c_void;

use libffi::middle::{Cif, Type};
use libffi::raw;
use model::{PrimKind, Primitive};
use pyo3::exceptions::{PyNotImplementedError, PyOverflowError, PyRuntimeError, PySystemError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::cdata::{CData, OwnedMem, Owner};
use crate::convert;
use crate::ctype::{CType, FunctionInfo, Kind};

#[path = "call_fast.rs"]
mod fast;

pub use fast::VECTORCALL;

// ---- libffi type descriptions ----------------------------------------------------------------

/// Where a type is used, for error messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Argument,
    Result,
}

impl Place {
    fn text(self) -> &'static str {
        match self {
            Place::Argument => "argument",
            Place::Result => "return value",
        }
    }
}

const API_MODE_ONLY: &str = "are only supported as {place} if the function is 'API mode' and non-variadic (i.e. declared inside ffibuilder.cdef()+ffibuilder.set_source() and not taking a final '...' argument)";

fn api_mode_only(place: Place) -> String {
    API_MODE_ONLY.replace("{place}", place.text())
}

/// A struct libffi cannot pass by value (NotImplementedError, raised only when called).
fn unsupported_struct(t: &CType, place: Place, detail: &str) -> PyErr {
    PyNotImplementedError::new_err(format!(
        "ctype '{}' not supported as {}.  {}.  Such structs {}",
        t.name,
        place.text(),
        detail,
        api_mode_only(place)
    ))
}

fn primitive_type(p: &Primitive) -> Type {
    let signed = p.kind == PrimKind::Signed;
    match (p.kind, p.size) {
        (PrimKind::Float, 4) => Type::f32(),
        (PrimKind::Float, _) => Type::f64(),
        (PrimKind::LongDouble, _) => Type::longdouble(),
        (_, 1) if signed => Type::i8(),
        (_, 2) if signed => Type::i16(),
        (_, 4) if signed => Type::i32(),
        (_, _) if signed => Type::i64(),
        (_, 1) => Type::u8(),
        (_, 2) => Type::u16(),
        (_, 4) => Type::u32(),
        (_, _) => Type::u64(),
    }
}

/// The libffi description of `t`. TypeErrors mean the function type itself is invalid;
/// NotImplementedErrors mean libffi cannot call it (raised at call time, as upstream does).
fn ffi_type(py: Python<'_>, t: &CType, place: Place) -> PyResult<Type> {
    match t.kind {
        Kind::Primitive | Kind::Enum if t.prim_kind() != Some(PrimKind::Complex) => {
            if let Some(p) = t.prim {
                return Ok(primitive_type(p));
            }
        }
        Kind::Pointer | Kind::Function => return Ok(Type::pointer()),
        Kind::Void if place == Place::Result => return Ok(Type::void()),
        _ => {}
    }
    let size = t.size();
    if size <= 0 {
        let what = if size < 0 { "has incomplete type" } else { "has size 0" };
        return Err(PyTypeError::new_err(format!("ctype '{}' {}", t.name, what)));
    }
    match t.kind {
        Kind::Struct => struct_type(py, t, place),
        Kind::Union => Err(PyNotImplementedError::new_err(format!(
            "ctype '{}' not supported as {} by libffi.  Unions {}",
            t.name,
            place.text(),
            api_mode_only(place)
        ))),
        _ => {
            let extra = if t.prim_kind() == Some(PrimKind::Complex) {
                " (the support for complex types inside libffi is mostly missing at this point, so CFFI only supports complex types as arguments or return value in API-mode functions)"
            } else {
                ""
            };
            Err(PyNotImplementedError::new_err(format!(
                "ctype '{}' (size {}) not supported as {}{}",
                t.name,
                size,
                place.text(),
                extra
            )))
        }
    }
}

/// A struct as libffi sees it: its fields flattened (arrays repeated item by item), with the
/// size and alignment of our layout.
fn struct_type(py: Python<'_>, t: &CType, place: Place) -> PyResult<Type> {
    let rec = t.record.get().ok_or_else(|| PyTypeError::new_err(format!("ctype '{}' has incomplete type", t.name)))?;
    if rec.custom_field_pos {
        return Err(unsupported_struct(
            t,
            place,
            "It is a struct declared with \"...;\", but the C calling convention may depend on the missing fields; or, it contains anonymous struct/unions",
        ));
    }
    if rec.with_packed_change {
        return Err(unsupported_struct(
            t,
            place,
            "It is a 'packed' structure, with a different layout than expected by libffi",
        ));
    }
    // First check every field, then describe them (the order upstream reports errors in).
    let mut flat_fields = Vec::with_capacity(rec.fields.len());
    for f in &rec.fields {
        if f.bitshift >= 0 {
            return Err(unsupported_struct(t, place, "It is a struct with bit fields, which libffi does not support"));
        }
        let mut item = f.ctype.get();
        let mut count: isize = 1;
        while item.kind == Kind::Array {
            count = count.saturating_mul(item.length);
            item = item.item_ref(py);
        }
        if count <= 0 {
            return Err(unsupported_struct(
                t,
                place,
                "It is a struct with a zero-length array, which libffi does not support",
            ));
        }
        flat_fields.push((item, count as usize));
    }
    let mut elements = Vec::new();
    for (item, count) in flat_fields {
        let ty = ffi_type(py, item, Place::Argument)?;
        elements.extend(std::iter::repeat_n(ty, count));
    }
    let ty = Type::structure(elements);
    let raw = ty.as_raw_ptr();
    // SAFETY: `raw` is the struct type just created and owned by `ty`; presetting its size and
    // alignment makes libffi use our layout instead of recomputing one.
    unsafe {
        (*raw).size = rec.size;
        (*raw).alignment = rec.align as u16;
    }
    Ok(ty)
}

// ---- function type checks (new_function_type) ----------------------------------------------

/// Check a function argument type; arrays decay to pointers as in C.
pub fn check_arg_type(py: Python<'_>, a: &Bound<'_, CType>) -> PyResult<Py<CType>> {
    let t = a.get();
    let arg = match t.kind {
        Kind::Array => crate::ctype::new_pointer(py, t.item.as_ref().unwrap().bind(py))?,
        _ => a.clone().unbind(),
    };
    ignore_not_implemented(py, ffi_type(py, arg.get(), Place::Argument))?;
    Ok(arg)
}

/// Check a function result type as upstream's `new_function_type` does.
pub fn check_result_type(py: Python<'_>, r: &Bound<'_, CType>) -> PyResult<()> {
    let t = r.get();
    if t.kind == Kind::Array || (t.size() < 0 && t.kind != Kind::Void) {
        let msg = if t.is_record() { "result type '{}' is not yet initialized" } else { "invalid result type: '{}'" };
        return Err(PyTypeError::new_err(msg.replace("{}", &t.name)));
    }
    ignore_not_implemented(py, ffi_type(py, t, Place::Result))
}

/// NotImplementedError is for later: a function type libffi cannot call may still be declared.
fn ignore_not_implemented<T>(py: Python<'_>, r: PyResult<T>) -> PyResult<()> {
    match r {
        Err(e) if !e.is_instance_of::<PyNotImplementedError>(py) => Err(e),
        _ => Ok(()),
    }
}

// ---- call plans --------------------------------------------------------------------------------

/// The prepared call interface of a function type, built on first call.
pub struct CallPlan {
    /// Err: the NotImplementedError message, raised at every call.
    prepared: Result<Prepared, String>,
}

/// A libffi CIF plus where each value goes in the exchange buffer.
pub struct Prepared {
    cif: Box<Cif>,
    /// Byte offsets of the argument slots; the result slot is at 0.
    arg_offsets: Vec<usize>,
    /// Total size of the exchange buffer, a multiple of 16.
    size: usize,
    /// The conversions and the direct-call layout (non-variadic function types only).
    fast: Option<fast::FastPlan>,
}

// SAFETY: the CIF and its types are never modified after preparation; libffi only reads them
// (ffi_call and closures may use one CIF from several threads at once).
unsafe impl Send for Prepared {}
// SAFETY: as above.
unsafe impl Sync for Prepared {}

fn round16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

impl Prepared {
    /// `nfixed` is Some for a variadic call: the number of declared arguments.
    fn new(py: Python<'_>, args: &[&CType], result: &CType, nfixed: Option<usize>, abi: i32) -> PyResult<Prepared> {
        let rtype = ffi_type(py, result, Place::Result)?;
        let mut atypes = Vec::with_capacity(args.len());
        for a in args {
            atypes.push(ffi_type(py, a, Place::Argument)?);
        }
        // Slots of at least 8 bytes (libffi writes whole words for small results), 16-aligned.
        let mut offset = round16(result.size().max(8) as usize);
        let mut arg_offsets = Vec::with_capacity(args.len());
        for a in args {
            arg_offsets.push(offset);
            offset += round16(a.size().max(8) as usize);
        }
        let abi = abi as raw::ffi_abi;
        let cif = match nfixed {
            None => Cif::try_new_with_abi(atypes, rtype, abi),
            Some(n) => Cif::try_new_variadic_with_abi(atypes, n, rtype, abi),
        }
        .map_err(|_| PySystemError::new_err("libffi failed to build this function type"))?;
        Ok(Prepared { cif: Box::new(cif), arg_offsets, size: offset.max(16), fast: None })
    }

    pub fn raw_cif(&self) -> *mut raw::ffi_cif {
        self.cif.as_raw_ptr()
    }
}

/// The CIF of a non-variadic function type, prepared once and cached in the ctype.
pub fn plan_of<'a>(py: Python<'_>, t: &'a CType) -> PyResult<&'a Prepared> {
    let f = t.func.as_ref().ok_or_else(|| PyTypeError::new_err(format!("expected a function ctype, got '{}'", t.name)))?;
    if f.call.get().is_none() {
        let args: Vec<&CType> = f.args.iter().map(|a| a.get()).collect();
        let prepared = match Prepared::new(py, &args, f.result.get(), None, f.abi) {
            Ok(mut p) => {
                p.fast = Some(fast::FastPlan::new(py, f));
                Ok(p)
            }
            Err(e) if e.is_instance_of::<PyNotImplementedError>(py) => Err(e.value(py).to_string()),
            Err(e) => return Err(e),
        };
        // Another thread may have won the race; either plan is as good.
        let _ = f.call.set(CallPlan { prepared });
    }
    match f.call.get().map(|p| &p.prepared) {
        Some(Ok(p)) => Ok(p),
        Some(Err(msg)) => Err(PyNotImplementedError::new_err(msg.clone())),
        None => Err(PySystemError::new_err("function type without a call plan")),
    }
}

// ---- the exchange buffer -----------------------------------------------------------------------

/// Zeroed, 16-byte-aligned memory for the result and the arguments of one call.
struct Exchange {
    words: Vec<u128>,
}

impl Exchange {
    fn new(size: usize) -> Exchange {
        Exchange { words: vec![0; size / 16] }
    }

    fn at(&mut self, offset: usize) -> *mut u8 {
        // The offsets come from the plan that sized this buffer.
        self.words.as_mut_ptr().cast::<u8>().wrapping_add(offset)
    }
}

/// Everything `ffi_call` needs, handed to the thread-detached closure.
struct RawCall {
    cif: *mut raw::ffi_cif,
    func: *mut u8,
    result: *mut u8,
    args: *mut *mut c_void,
}

// SAFETY: the pointers refer to memory that outlives the call (the caller blocks on it) and that
// no one else touches meanwhile; the call runs on the same OS thread, only without the GIL.
unsafe impl Send for RawCall {}

impl RawCall {
    fn run(self) {
        // SAFETY: `func` is the function pointer, of the type the CIF describes (that is what the
        // cdata's ctype claims, as in C); `args` holds one pointer per CIF argument, each to a
        // slot of that argument's size; `result` is big enough for the result (at least 8 bytes).
        let func = unsafe { std::mem::transmute::<*mut u8, unsafe extern "C" fn()>(self.func) };
        crate::errno::restore();
        // SAFETY: as above.
        unsafe { raw::ffi_call(self.cif, Some(func), self.result.cast(), self.args) };
        crate::errno::save();
    }
}

// ---- calls -------------------------------------------------------------------------------------

/// `cdata(*args)` for a function pointer cdata, through `tp_call`: the first call of any
/// function cdata; it switches all of them to the vectorcall entry.
pub fn call_cdata(slf: &Bound<'_, CData>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
    let py = slf.py();
    let cd = slf.get();
    if let Some(entry) = cd.vectorcall.as_ref() {
        let offset = (entry as *const ffi::vectorcallfunc as usize).wrapping_sub(slf.as_ptr() as usize);
        // SAFETY: `offset` is where the vectorcall field of this cdata lies in its object, the
        // same in every cdata object (the subtypes add nothing before the base's fields).
        unsafe { fast::install_vectorcall(py, offset) };
    }
    // SAFETY: a tuple's items, alive as long as the tuple.
    let items = unsafe {
        let tuple = args.as_ptr().cast::<ffi::PyTupleObject>();
        std::slice::from_raw_parts((*tuple).ob_item.as_ptr(), args.len())
    };
    call_objects(py, cd, items, kwargs.is_some_and(|k| !k.is_empty()))
}

/// A call with these positional arguments (borrowed references); `has_kwargs` refuses the call.
fn call_objects(py: Python<'_>, cd: &CData, args: &[*mut ffi::PyObject], has_kwargs: bool) -> PyResult<Py<PyAny>> {
    let t = cd.ctype.get();
    let f = match (&t.func, t.kind) {
        (Some(f), Kind::Function) => f,
        _ => return Err(fast::not_callable(t)),
    };
    if cd.addr().is_null() {
        return Err(PyRuntimeError::new_err(format!("cannot call null pointer pointer from cdata '{}'", t.name)));
    }
    if has_kwargs {
        return Err(PyTypeError::new_err("a cdata function cannot be called with keyword arguments"));
    }
    let nargs = args.len();
    let declared = f.args.len();
    if !f.ellipsis {
        if nargs != declared {
            return Err(PyTypeError::new_err(format!("'{}' expects {} arguments, got {}", t.name, declared, nargs)));
        }
        let prepared = plan_of(py, t)?;
        let plan = prepared.fast.as_ref().ok_or_else(|| PySystemError::new_err("function type without a fast plan"))?;
        return fast::call_planned(py, cd.addr(), f, prepared, plan, args);
    }
    if nargs < declared {
        return Err(PyTypeError::new_err(format!(
            "'{}' expects at least {} arguments, got {}",
            t.name, declared, nargs
        )));
    }
    // SAFETY: the arguments are valid objects, borrowed for the whole call.
    let args: Vec<pyo3::Borrowed<'_, '_, PyAny>> = args.iter().map(|&p| unsafe { pyo3::Borrowed::from_ptr(py, p) }).collect();
    // The types of the variadic arguments, as passed.
    let mut var_types: Vec<Bound<'_, CType>> = Vec::new();
    for (i, obj) in args.iter().enumerate().skip(declared) {
        var_types.push(vararg_type(py, i, obj)?);
    }
    let refs: Vec<&CType> = f.args.iter().map(|a| a.get()).chain(var_types.iter().map(|a| a.get())).collect();
    let plan = Prepared::new(py, &refs, f.result.get(), Some(declared), f.abi)?;

    let mut buf = Exchange::new(plan.size);
    let mut slots: Vec<*mut c_void> = Vec::with_capacity(nargs);
    // Temporary arrays built from lists/tuples/str; freed after the call.
    let mut temps: Vec<OwnedMem> = Vec::new();
    for (i, obj) in args.iter().enumerate() {
        let slot = buf.at(plan.arg_offsets[i]);
        slots.push(slot.cast());
        // SAFETY: the slot is sized (rounded up to 16 bytes) for this argument's type.
        unsafe {
            match f.args.get(i) {
                Some(at) => write_argument(py, at.bind(py), slot, obj, &mut temps)?,
                None => write_vararg(py, var_types[i - declared].get(), slot, obj)?,
            }
        }
    }
    let result = buf.at(0);
    let job = RawCall { cif: plan.raw_cif(), func: cd.addr(), result, args: slots.as_mut_ptr() };
    fast::without_gil(py, move || job.run());
    drop(temps);
    // SAFETY: the result slot holds a value of the result type, written by the call.
    unsafe { read_result(py, f, result) }
}

/// Convert the result of a call.
///
/// # Safety
/// `result` must hold a value of the function's result type.
unsafe fn read_result(py: Python<'_>, f: &FunctionInfo, result: *mut u8) -> PyResult<Py<PyAny>> {
    let rt = f.result.bind(py);
    let t = rt.get();
    match t.kind {
        Kind::Void => Ok(py.None()),
        Kind::Struct => {
            let size = t.size();
            if size < 0 {
                return Err(PyTypeError::new_err("return type is an opaque structure or union"));
            }
            if t.record.get().is_some_and(|r| r.varsize) {
                return Err(PyTypeError::new_err("return type is a struct/union with a varsize array member"));
            }
            let mem = OwnedMem::zeroed(size as usize, t.align())?;
            // SAFETY: both hold `size` bytes; they are distinct allocations.
            unsafe { std::ptr::copy_nonoverlapping(result, mem.ptr(), size as usize) };
            Ok(CData::with(rt, Owner::own(mem, -1)).into_object(py)?.into_any())
        }
        // SAFETY: forwarded from the caller.
        _ => unsafe { convert::read(py, rt, result) },
    }
}

/// The C type a variadic argument is passed as: the cdata's own type, with C's promotions
/// (small integers to `int`, `float` to `double`) and arrays decayed to pointers.
fn vararg_type<'py>(py: Python<'py>, index: usize, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, CType>> {
    let cd = obj.cast::<CData>().map_err(|_| {
        PyTypeError::new_err(format!(
            "argument {} passed in the variadic part needs to be a cdata object (got {})",
            index + 1,
            convert::type_name(obj)
        ))
    })?;
    let ct = cd.get().ctype.bind(py);
    let t = ct.get();
    let promoted = match t.prim_kind() {
        Some(PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool | PrimKind::Char | PrimKind::WideChar)
            if t.size() < 4 =>
        {
            Some("int")
        }
        Some(PrimKind::Float) if t.size() < 8 => Some("double"),
        _ => None,
    };
    if let Some(name) = promoted {
        let prim = model::primitive(name).ok_or_else(|| PySystemError::new_err("missing primitive type"))?;
        return Ok(crate::ctype::new_primitive(py, prim)?.into_bound(py));
    }
    if t.kind == Kind::Array {
        return Ok(crate::ctype::new_pointer(py, t.item.as_ref().unwrap().bind(py))?.into_bound(py));
    }
    Ok(ct.clone())
}

/// Store a variadic argument (a cdata, see `vararg_type`) in its slot.
///
/// # Safety
/// `slot` must be valid for the size of `at`, the type `vararg_type` gave for `obj`.
unsafe fn write_vararg(py: Python<'_>, at: &CType, slot: *mut u8, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let cd = obj.cast::<CData>()?.get();
    let src = cd.ctype.get();
    // SAFETY (all accesses below): a cdata's address holds a value of its type (for pointers,
    // arrays and functions the address is the value); `slot` is valid per the caller.
    unsafe {
        if matches!(src.kind, Kind::Pointer | Kind::Function | Kind::Array) {
            slot.cast::<*mut u8>().write_unaligned(cd.addr());
        } else if at.prim_kind() == Some(PrimKind::Float) && src.size() != at.size() {
            let v = model::raw::read_float(cd.addr(), src.size() as usize);
            model::raw::write_float(slot, 8, v);
        } else if at.size() != src.size() {
            let v = model::raw::read_int(cd.addr(), src.size() as usize, src.is_signed(py));
            model::raw::write_int(slot, 4, v);
        } else {
            std::ptr::copy_nonoverlapping(cd.addr(), slot, src.size().max(0) as usize);
        }
    }
    Ok(())
}

/// What a pointer argument becomes.
pub(crate) enum PointerArg {
    /// This very address (bytes data, a FILE *).
    Direct(*mut u8),
    /// A temporary zeroed array of this many bytes, filled from the object.
    Temporary(usize),
    /// The ordinary conversion (a cdata pointer or array).
    Default,
}

/// The call-argument rules for `T *` parameters: besides cdata, accept what initializes a `T[]`
/// (a list or tuple, bytes for byte-sized items, str for wide chars) and Python files for
/// `FILE *`.
pub(crate) fn pointer_argument(py: Python<'_>, t: &CType, obj: &Bound<'_, PyAny>) -> PyResult<PointerArg> {
    if obj.is_instance_of::<CData>() {
        return Ok(PointerArg::Default);
    }
    let item = t.item_ref(py);
    let length = if let Ok(b) = obj.cast::<PyBytes>() {
        let void_or_char = item.kind == Kind::Void || item.is_char();
        let byte_int = item.kind == Kind::Primitive && item.prim.is_some_and(|p| p.is_integer()) && item.size() == 1;
        if !(void_or_char || byte_int) {
            return Ok(PointerArg::Default);
        }
        let data = b.as_bytes();
        if item.prim_kind() == Some(PrimKind::Bool) && data.iter().any(|&c| c > 1) {
            return Err(PyValueError::new_err("an array of _Bool can only contain \\x00 or \\x01"));
        }
        // C code receives the bytes object's own buffer (it must not write to it).
        return Ok(PointerArg::Direct(data.as_ptr() as *mut u8));
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.len()?
    } else if let Ok(s) = obj.cast::<PyString>() {
        let unit = if item.size() == 2 { 2 } else { 4 };
        convert::string_to_units(s, unit)?.len() + 1
    } else if item.is_file {
        return Ok(match crate::file::file_pointer(py, obj)? {
            Some(f) => PointerArg::Direct(f),
            None => PointerArg::Default,
        });
    } else {
        return Ok(PointerArg::Default);
    };
    let item_size = item.size();
    if item_size <= 0 {
        return Ok(PointerArg::Default);
    }
    let bytes = length
        .checked_mul(item_size as usize)
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| PyOverflowError::new_err("array size would overflow a Py_ssize_t"))?;
    Ok(PointerArg::Temporary(bytes.max(1)))
}

/// Convert a declared argument into its slot.
///
/// # Safety
/// `slot` must be valid for the size of `at` (at least a pointer for pointer types).
unsafe fn write_argument(
    py: Python<'_>,
    at: &Bound<'_, CType>,
    slot: *mut u8,
    obj: &Bound<'_, PyAny>,
    temps: &mut Vec<OwnedMem>,
) -> PyResult<()> {
    let t = at.get();
    if t.kind == Kind::Pointer {
        let p = match pointer_argument(py, t, obj)? {
            PointerArg::Direct(p) => p,
            PointerArg::Temporary(size) => {
                let mem = OwnedMem::zeroed(size, 16)?;
                // SAFETY: `mem` holds as many items as `obj` gives (counted above), plus the
                // terminator for str; write_array on a pointer type fills items without a
                // length check, naming the pointer type in its errors as upstream does.
                unsafe { convert::write_array(py, at, mem.ptr(), obj)? };
                let p = mem.ptr();
                temps.push(mem);
                p
            }
            // SAFETY: forwarded from the caller.
            PointerArg::Default => return unsafe { convert::write(py, at, slot, obj) },
        };
        // SAFETY: forwarded from the caller.
        unsafe { slot.cast::<*mut u8>().write_unaligned(p) };
        return Ok(());
    }
    // SAFETY: forwarded from the caller.
    unsafe { convert::write(py, at, slot, obj) }
}
