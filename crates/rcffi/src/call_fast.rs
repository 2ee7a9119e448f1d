//! The hot path of ABI-mode calls (a submodule of `call`).
//!
//! For each non-variadic function type a `FastPlan` is prepared once, next to its libffi CIF:
//! for every argument and for the result, how the value converts (C integers, `_Bool`, `float`,
//! `double` and pointers straight through the C API; anything else through `convert`, with its
//! exact rules and messages) and which machine register it travels in. Calls then need no heap
//! allocation: arguments go into fixed-size stack buffers.
//!
//! On x86-64 System V (Linux, the BSDs, macOS), a function whose arguments are all integers,
//! pointers, `float` or `double` — at most 6 of the integer class and 8 of the SSE class, so
//! that none is passed on the stack — and whose result is `void` or one of those is called
//! directly: the arguments are loaded into their registers by a few instructions of inline
//! assembly, exactly where libffi's `ffi_call` would put them, without its per-call
//! classification of the signature. Everything else goes through `ffi_call`.
//!
//! Function cdata are also called through CPython's vectorcall protocol (installed on the cdata
//! type on the first call), so that no argument tuple is built. When every argument takes a
//! fast conversion and the signature is made of scalars, the call is served right there,
//! without PyO3's trampoline; anything else (errors included) starts over on the general path,
//! through the trampoline. The GIL is released with the raw `PyEval_SaveThread` /
//! `PyEval_RestoreThread` pair (`without_gil`).

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicPtr, Ordering};

use libffi::raw;
use model::{PrimKind, Primitive};
use pyo3::exceptions::{PySystemError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;

use super::{read_result, write_argument, Prepared};
use crate::cdata::{CData, OwnedMem};
use crate::ctype::{CType, FunctionInfo, Kind};

// ---- plans -------------------------------------------------------------------------------------

/// How a value converts between Python and C.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Conv {
    /// A C integer type other than `_Bool` and the character types: from Python ints directly.
    Int,
    /// `_Bool`: from the ints 0 and 1 (and so False and True).
    Bool,
    Double,
    Float,
    /// A pointer or function pointer argument: a cdata of a compatible type; for `void *`,
    /// `char *` and pointers to other one-byte integers (not `_Bool`), also bytes.
    Pointer { void: bool, bytes: bool },
    /// Everything else: `convert::write` / `convert::read`.
    Generic,
}

/// Where a value travels in a direct call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reg {
    /// The n-th integer-class argument register (rdi, rsi, rdx, rcx, r8, r9) / rax.
    Int(u8),
    /// The n-th SSE argument register (xmm0..xmm7) / xmm0.
    Sse(u8),
    /// Not passed in one register (structs, long double, complex): libffi only.
    Memory,
}

#[derive(Clone, Copy, Debug)]
struct ValuePlan {
    conv: Conv,
    /// Size in bytes of the C type.
    size: u8,
    /// Integers: sign-extended (rather than zero-extended) to a full register.
    signed: bool,
    reg: Reg,
}

pub(super) struct FastPlan {
    args: Box<[ValuePlan]>,
    /// None for `void`.
    result: Option<ValuePlan>,
    /// Called without libffi (see the module docs).
    direct: bool,
    /// Every argument and the result are scalars (each fits one register), and the exchange
    /// buffer fits on the stack: the hot path may serve the call through libffi.
    scalar: bool,
}

/// The conversion and register class of `t`; `Reg::Int(0)` / `Reg::Sse(0)` stand for the class.
fn classify(py: Python<'_>, t: &CType) -> ValuePlan {
    let memory = ValuePlan { conv: Conv::Generic, size: 0, signed: false, reg: Reg::Memory };
    let size = t.size();
    match t.kind {
        Kind::Pointer => {
            let item = t.item_ref(py);
            let void = item.kind == Kind::Void;
            let byte_int = item.kind == Kind::Primitive
                && item.prim.is_some_and(|p| matches!(p.kind, PrimKind::Signed | PrimKind::Unsigned))
                && item.size() == 1;
            let bytes = void || item.is_char() || byte_int;
            ValuePlan { conv: Conv::Pointer { void, bytes }, size: 8, signed: false, reg: Reg::Int(0) }
        }
        Kind::Function => {
            ValuePlan { conv: Conv::Pointer { void: false, bytes: false }, size: 8, signed: false, reg: Reg::Int(0) }
        }
        Kind::Enum if (1..=8).contains(&size) => {
            ValuePlan { conv: Conv::Generic, size: size as u8, signed: t.is_signed(py), reg: Reg::Int(0) }
        }
        Kind::Primitive => {
            let Some(p) = t.prim else { return memory };
            let size = p.size as u8;
            match p.kind {
                PrimKind::Signed | PrimKind::Unsigned if p.size <= 8 => {
                    ValuePlan { conv: Conv::Int, size, signed: p.kind == PrimKind::Signed, reg: Reg::Int(0) }
                }
                PrimKind::Bool if p.size == 1 => ValuePlan { conv: Conv::Bool, size, signed: false, reg: Reg::Int(0) },
                // `char` is signed on the targets of the direct call (x86-64).
                PrimKind::Char if p.size == 1 => ValuePlan { conv: Conv::Generic, size, signed: true, reg: Reg::Int(0) },
                PrimKind::WideChar if p.size <= 4 => {
                    ValuePlan { conv: Conv::Generic, size, signed: false, reg: Reg::Int(0) }
                }
                PrimKind::Float if p.size == 8 => ValuePlan { conv: Conv::Double, size, signed: false, reg: Reg::Sse(0) },
                PrimKind::Float if p.size == 4 => ValuePlan { conv: Conv::Float, size, signed: false, reg: Reg::Sse(0) },
                _ => memory,
            }
        }
        _ => memory,
    }
}

impl FastPlan {
    pub(super) fn new(py: Python<'_>, f: &FunctionInfo) -> FastPlan {
        let mut args = Vec::with_capacity(f.args.len());
        let (mut ints, mut sses, mut direct) = (0u8, 0u8, DIRECT_CALLS);
        for a in &f.args {
            let mut v = classify(py, a.get());
            match v.reg {
                Reg::Int(_) => {
                    v.reg = Reg::Int(ints);
                    ints += 1;
                }
                Reg::Sse(_) => {
                    v.reg = Reg::Sse(sses);
                    sses += 1;
                }
                Reg::Memory => direct = false,
            }
            args.push(v);
        }
        let rt = f.result.get();
        let result = (rt.kind != Kind::Void).then(|| classify(py, rt));
        if result.is_some_and(|r| r.reg == Reg::Memory) {
            direct = false;
        }
        let scalar = !f.ellipsis
            && args.len() <= STACK_ARGS
            && args.iter().chain(result.iter()).all(|v| v.reg != Reg::Memory);
        let direct = direct
            && ints as usize <= INT_REGS
            && sses as usize <= SSE_REGS
            && f.abi == raw::ffi_abi_FFI_DEFAULT_ABI as i32
            && !f.ellipsis;
        FastPlan { args: args.into_boxed_slice(), result, direct, scalar }
    }
}

// ---- argument conversion -----------------------------------------------------------------------

/// The base cdata type object, for a quick type check (`is_cdata`).
static CDATA_TYPE: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(std::ptr::null_mut());

fn cdata_type(py: Python<'_>) -> *mut ffi::PyTypeObject {
    let t = CDATA_TYPE.load(Ordering::Relaxed);
    if !t.is_null() {
        return t;
    }
    let t = <CData as pyo3::PyTypeInfo>::type_object_raw(py);
    CDATA_TYPE.store(t, Ordering::Relaxed);
    t
}

/// Whether `obj` is a cdata: of the base type or one of its subtypes (`cdtypes`, at most two
/// levels down; they are closed to subclassing from Python), without `PyType_IsSubtype`.
///
/// # Safety
/// `obj` must be a valid object; the GIL is held.
#[inline(always)]
unsafe fn is_cdata(py: Python<'_>, obj: *mut ffi::PyObject) -> bool {
    let base = cdata_type(py);
    // SAFETY: a live object's type, and its bases, are live type objects.
    unsafe {
        let mut tp = ffi::Py_TYPE(obj);
        for _ in 0..3 {
            if tp == base {
                return true;
            }
            if tp.is_null() {
                return false;
            }
            tp = (*tp).tp_base;
        }
        false
    }
}

/// If `obj` is a cdata of a primitive type: that type and the address of its value (valid as
/// long as `obj` lives).
///
/// # Safety
/// `obj` must be a valid object; the GIL is held.
#[inline(always)]
unsafe fn primitive_cdata(py: Python<'_>, obj: *mut ffi::PyObject) -> Option<(&'static Primitive, *const u8)> {
    // SAFETY: forwarded from the caller; the cast follows the exact type check.
    unsafe {
        if !is_cdata(py, obj) {
            return None;
        }
        let cd = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>();
        let cd = cd.get();
        let t = cd.ctype.get();
        if t.kind != Kind::Primitive {
            return None;
        }
        Some((t.prim?, cd.addr().cast_const()))
    }
}

/// The common cases of an argument's conversion, as the raw bits of the C value (integers
/// sign- or zero-extended to 64 bits, a `float` in the low 32 bits); None means "take the
/// general path", which also produces every error.
///
/// # Safety
/// `obj` must be a valid object; the GIL is held.
#[inline(always)]
unsafe fn fast_arg(py: Python<'_>, v: &ValuePlan, at: &CType, obj: *mut ffi::PyObject) -> Option<u64> {
    // SAFETY (the C API calls below): `obj` is a valid object and the GIL is held; the casts
    // follow the type checks before them.
    unsafe {
        match v.conv {
            Conv::Int | Conv::Bool => {
                let x = if ffi::PyLong_Check(obj) != 0 {
                    let mut overflow = 0;
                    let x = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
                    if overflow != 0 {
                        return None;
                    }
                    if x == -1 && !ffi::PyErr_Occurred().is_null() {
                        ffi::PyErr_Clear();
                        return None;
                    }
                    x
                } else {
                    // An integer cdata: the value its `__int__` gives.
                    let (prim, p) = primitive_cdata(py, obj)?;
                    if !prim.is_integer() || prim.size > 8 {
                        return None;
                    }
                    let x = model::raw::read_int(p, prim.size, prim.is_signed());
                    i64::try_from(x).ok()?
                };
                let fits = match (v.conv, v.size, v.signed) {
                    (Conv::Bool, _, _) => x == 0 || x == 1,
                    (_, 8, true) => true,
                    (_, 8, false) => x >= 0,
                    (_, s, true) => {
                        let half = 1i64 << (8 * s as u32 - 1);
                        (-half..half).contains(&x)
                    }
                    (_, s, false) => (0..1i64 << (8 * s as u32)).contains(&x),
                };
                fits.then_some(x as u64)
            }
            Conv::Double | Conv::Float => {
                let x = if ffi::PyFloat_Check(obj) != 0 {
                    ffi::PyFloat_AS_DOUBLE(obj)
                } else if ffi::PyLong_CheckExact(obj) != 0 {
                    let x = ffi::PyFloat_AsDouble(obj);
                    if x == -1.0 && !ffi::PyErr_Occurred().is_null() {
                        ffi::PyErr_Clear();
                        return None;
                    }
                    x
                } else {
                    // A float or integer cdata: the value `cdata_to_float` gives.
                    let (prim, p) = primitive_cdata(py, obj)?;
                    match prim.kind {
                        PrimKind::Float => model::raw::read_float(p, prim.size),
                        PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool if prim.size <= 8 => {
                            model::raw::read_int(p, prim.size, prim.is_signed()) as f64
                        }
                        _ => return None,
                    }
                };
                Some(if v.conv == Conv::Float { (x as f32).to_bits() as u64 } else { x.to_bits() })
            }
            Conv::Pointer { void, bytes } => {
                if is_cdata(py, obj) {
                    let cd = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<CData>();
                    let cd = cd.get();
                    let src = cd.ctype.get();
                    let compatible = std::ptr::eq(src, at)
                        || match src.kind {
                            // `void *` converts both ways, as in C.
                            Kind::Pointer => void || src.item_ref(py).kind == Kind::Void,
                            Kind::Function => void,
                            // An array decays to a pointer to its items; pointer types are
                            // unique per item type.
                            Kind::Array => {
                                void || (at.kind == Kind::Pointer
                                    && std::ptr::eq(src.item_ref(py), at.item_ref(py)))
                            }
                            _ => false,
                        };
                    return compatible.then(|| cd.addr() as u64);
                }
                if bytes && ffi::PyBytes_Check(obj) != 0 {
                    // C code receives the bytes object's own buffer, as on the general path.
                    return Some(ffi::PyBytes_AS_STRING(obj) as u64);
                }
                None
            }
            Conv::Generic => None,
        }
    }
}

/// The general conversion of argument `i`, into a register's worth of bits.
fn slow_arg_bits(
    py: Python<'_>,
    v: &ValuePlan,
    at: &Py<CType>,
    obj: *mut ffi::PyObject,
    temps: &mut Vec<OwnedMem>,
) -> PyResult<u64> {
    let mut slot = [0u64; 2];
    let p = slot.as_mut_ptr().cast::<u8>();
    // SAFETY: `obj` is a valid object (an argument of the running call); the slot holds 16
    // bytes, more than any type passed in one register.
    unsafe {
        let obj = pyo3::Borrowed::from_ptr(py, obj);
        write_argument(py, at.bind(py), p, &obj, temps)?;
        Ok(load_bits(v, p))
    }
}

/// The register image of the C value at `p`.
///
/// # Safety
/// `p` must hold a value of the type `v` describes.
unsafe fn load_bits(v: &ValuePlan, p: *const u8) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe {
        match v.reg {
            Reg::Sse(_) if v.size == 4 => p.cast::<u32>().read_unaligned() as u64,
            Reg::Sse(_) => p.cast::<u64>().read_unaligned(),
            _ => model::raw::read_int(p, v.size as usize, v.signed) as u64,
        }
    }
}

/// Store a register image as the C value at `p`.
///
/// # Safety
/// `p` must be valid for writing the type's size.
unsafe fn store_bits(v: &ValuePlan, p: *mut u8, bits: u64) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match v.reg {
            Reg::Sse(_) if v.size == 4 => p.cast::<u32>().write_unaligned(bits as u32),
            Reg::Sse(_) => p.cast::<u64>().write_unaligned(bits),
            _ => model::raw::write_int(p, v.size as usize, bits as i64 as i128),
        }
    }
}

// ---- results -----------------------------------------------------------------------------------

/// Convert a result given as register images (`rax`, `xmm0`).
fn result_from_bits(py: Python<'_>, f: &FunctionInfo, plan: &FastPlan, rax: u64, xmm0: u64) -> PyResult<Py<PyAny>> {
    let Some(v) = plan.result else { return Ok(py.None()) };
    // Only the low `size` bytes of a register are defined.
    let bits = if matches!(v.reg, Reg::Sse(_)) { xmm0 } else { rax };
    let int = || -> u64 {
        match (v.size, v.signed) {
            (1, true) => bits as i8 as u64,
            (1, false) => bits as u8 as u64,
            (2, true) => bits as i16 as u64,
            (2, false) => bits as u16 as u64,
            (4, true) => bits as i32 as u64,
            (4, false) => bits as u32 as u64,
            _ => bits,
        }
    };
    // SAFETY (the C API calls): the GIL is held; a NULL result comes with an exception.
    let obj = unsafe {
        match v.conv {
            Conv::Int if v.signed => ffi::PyLong_FromLongLong(int() as i64),
            Conv::Int => ffi::PyLong_FromUnsignedLongLong(int()),
            Conv::Bool if bits as u8 <= 1 => ffi::PyBool_FromLong((bits as u8) as std::ffi::c_long),
            Conv::Double => ffi::PyFloat_FromDouble(f64::from_bits(xmm0)),
            Conv::Float => ffi::PyFloat_FromDouble(f32::from_bits(xmm0 as u32) as f64),
            Conv::Pointer { .. } => return Ok(CData::borrowed(py, f.result.bind(py), rax as *mut u8)?.into_any()),
            _ => {
                let mut slot = [0u64; 2];
                let p = slot.as_mut_ptr().cast::<u8>();
                store_bits(&v, p, int());
                return read_result(py, f, p);
            }
        }
    };
    // SAFETY: `obj` is a new reference or NULL with an exception set.
    unsafe { Ok(Bound::from_owned_ptr_or_err(py, obj)?.unbind()) }
}

// ---- calls -------------------------------------------------------------------------------------

const INT_REGS: usize = 6;
const SSE_REGS: usize = 8;

/// Argument count and exchange-buffer size served from the stack.
const STACK_ARGS: usize = 16;
const STACK_BYTES: usize = 512;

#[cfg(all(target_arch = "x86_64", unix))]
const DIRECT_CALLS: bool = true;
#[cfg(not(all(target_arch = "x86_64", unix)))]
const DIRECT_CALLS: bool = false;

/// Call a non-variadic function through its plan.
///
/// `args` are the call's arguments, as many as the function declares (checked by the caller).
pub(super) fn call_planned(
    py: Python<'_>,
    func: *mut u8,
    f: &FunctionInfo,
    prepared: &Prepared,
    plan: &FastPlan,
    args: &[*mut ffi::PyObject],
) -> PyResult<Py<PyAny>> {
    // Temporary arrays built from lists/tuples/str; freed after the call.
    let mut temps: Vec<OwnedMem> = Vec::new();
    if plan.direct {
        let mut ints = [0u64; INT_REGS];
        let mut sses = [0u64; SSE_REGS];
        for (i, v) in plan.args.iter().enumerate() {
            let at = &f.args[i];
            // SAFETY: the arguments are valid objects, borrowed from the caller.
            let bits = match unsafe { fast_arg(py, v, at.get(), args[i]) } {
                Some(b) => b,
                None => slow_arg_bits(py, v, at, args[i], &mut temps)?,
            };
            match v.reg {
                Reg::Int(r) => ints[r as usize] = bits,
                Reg::Sse(r) => sses[r as usize] = bits,
                Reg::Memory => return Err(PySystemError::new_err("direct call of a memory argument")),
            }
        }
        let (rax, xmm0) = run_direct(py, func, &ints, &sses);
        drop(temps);
        return result_from_bits(py, f, plan, rax, xmm0);
    }

    let nargs = plan.args.len();
    if prepared.size <= STACK_BYTES && nargs <= STACK_ARGS {
        let mut words = [MaybeUninit::<u128>::uninit(); STACK_BYTES / 16];
        let mut slots = [std::ptr::null_mut::<c_void>(); STACK_ARGS];
        let buf = words.as_mut_ptr().cast::<u8>();
        // SAFETY: `buf` holds STACK_BYTES >= prepared.size bytes, `slots` nargs entries.
        unsafe { call_ffi(py, func, f, prepared, plan, args, buf, &mut slots[..nargs], &mut temps) }
    } else {
        let mut words = vec![0u128; prepared.size / 16];
        let mut slots = vec![std::ptr::null_mut::<c_void>(); nargs];
        let buf = words.as_mut_ptr().cast::<u8>();
        // SAFETY: as above, with buffers of exactly the needed sizes.
        unsafe { call_ffi(py, func, f, prepared, plan, args, buf, &mut slots, &mut temps) }
    }
}

/// The C call of a direct plan, with the GIL released; returns rax and xmm0.
#[inline(always)]
fn run_direct(py: Python<'_>, func: *mut u8, ints: &[u64; INT_REGS], sses: &[u64; SSE_REGS]) -> (u64, u64) {
    let func = func as usize;
    without_gil(py, move || {
        crate::errno::restore();
        // SAFETY: `func` is a function of the type the plan describes (that is what the cdata's
        // ctype claims, as in C); plans are direct only for the signatures `call_direct`
        // serves, and the registers hold the arguments in the classes and order the ABI
        // assigns them.
        let r = unsafe { call_direct(func, ints, sses) };
        crate::errno::save();
        r
    })
}

/// A call through `ffi_call`, with the exchange buffer and argument pointers given.
///
/// # Safety
/// `buf` must be valid for `prepared.size` bytes and 16-byte aligned; `slots` must have one entry
/// per argument.
#[allow(clippy::too_many_arguments)]
unsafe fn call_ffi(
    py: Python<'_>,
    func: *mut u8,
    f: &FunctionInfo,
    prepared: &Prepared,
    plan: &FastPlan,
    args: &[*mut ffi::PyObject],
    buf: *mut u8,
    slots: &mut [*mut c_void],
    temps: &mut Vec<OwnedMem>,
) -> PyResult<Py<PyAny>> {
    // SAFETY: `buf` is valid for prepared.size bytes (caller); every offset of the plan is
    // inside it, with room for its value.
    unsafe {
        std::ptr::write_bytes(buf, 0, prepared.size);
        for (i, v) in plan.args.iter().enumerate() {
            let slot = buf.add(prepared.arg_offsets[i]);
            slots[i] = slot.cast();
            let at = &f.args[i];
            match fast_arg(py, v, at.get(), args[i]) {
                Some(bits) => store_bits(v, slot, bits),
                None => {
                    let obj = pyo3::Borrowed::from_ptr(py, args[i]);
                    write_argument(py, at.bind(py), slot, &obj, temps)?;
                }
            }
        }
        let result = buf;
        let job = super::RawCall { cif: prepared.raw_cif(), func, result, args: slots.as_mut_ptr() };
        without_gil(py, move || job.run());
        temps.clear();
        match plan.result {
            Some(v) if v.reg != Reg::Memory => {
                let bits = load_bits(&v, result);
                result_from_bits(py, f, plan, bits, bits)
            }
            _ => read_result(py, f, result),
        }
    }
}

/// Run `f` with the GIL released (as `Python::detach` does, minus its bookkeeping, which costs
/// as much as a small C call): `PyEval_SaveThread` before, `PyEval_RestoreThread` after, also
/// when `f` panics. `f` cannot hold a `Python` token (it is `Send`); it runs C code only. PyO3's
/// own count of attachments stays as it was meanwhile, so code that C calls back on this thread
/// must take the GIL itself: the callbacks' trampoline does (`PyGILState_Ensure`) before anything
/// else.
#[inline(always)]
pub(super) fn without_gil<R, F: FnOnce() -> R + Send>(_py: Python<'_>, f: F) -> R {
    struct Reattach(*mut ffi::PyThreadState);
    impl Drop for Reattach {
        fn drop(&mut self) {
            // SAFETY: the thread state this thread detached from just below.
            unsafe { ffi::PyEval_RestoreThread(self.0) };
        }
    }
    // SAFETY: the GIL is held (the token proves it); it is released until `Reattach` drops.
    let _reattach = Reattach(unsafe { ffi::PyEval_SaveThread() });
    f()
}

/// Call `func` with its integer-class arguments in rdi, rsi, rdx, rcx, r8, r9 and its SSE-class
/// ones in xmm0-xmm7, as the System V x86-64 ABI passes them; returns rax and xmm0 (where
/// integer/pointer and float/double results come back). Unused registers are ignored by the
/// callee.
///
/// # Safety
/// `func` must be a non-variadic C function whose arguments are, in their classes' order, the
/// given register images, none passed in memory, and whose result (if any) is returned in rax
/// or xmm0.
#[cfg(all(target_arch = "x86_64", unix))]
#[inline(always)]
unsafe fn call_direct(func: usize, ints: &[u64; INT_REGS], sses: &[u64; SSE_REGS]) -> (u64, u64) {
    let rax: u64;
    let xmm0: f64;
    // SAFETY: per the function's contract the callee follows the C ABI for this signature:
    // clobber_abi("C") declares every register it may change; without `nostack`, the stack
    // pointer is aligned for a call and nothing lives below it (no red zone in use).
    unsafe {
        std::arch::asm!(
            "call {f}",
            f = in(reg) func,
            in("rdi") ints[0],
            in("rsi") ints[1],
            in("rdx") ints[2],
            in("rcx") ints[3],
            in("r8") ints[4],
            in("r9") ints[5],
            inout("xmm0") f64::from_bits(sses[0]) => xmm0,
            in("xmm1") f64::from_bits(sses[1]),
            in("xmm2") f64::from_bits(sses[2]),
            in("xmm3") f64::from_bits(sses[3]),
            in("xmm4") f64::from_bits(sses[4]),
            in("xmm5") f64::from_bits(sses[5]),
            in("xmm6") f64::from_bits(sses[6]),
            in("xmm7") f64::from_bits(sses[7]),
            lateout("rax") rax,
            clobber_abi("C"),
        );
    }
    (rax, xmm0.to_bits())
}

#[cfg(not(all(target_arch = "x86_64", unix)))]
unsafe fn call_direct(_func: usize, _ints: &[u64; INT_REGS], _sses: &[u64; SSE_REGS]) -> (u64, u64) {
    // Plans are never direct on these targets (DIRECT_CALLS is false).
    unreachable!("direct calls are x86-64 System V only")
}

// ---- vectorcall --------------------------------------------------------------------------------

/// The vectorcall entry of function cdata (see `install_vectorcall`).
pub const VECTORCALL: ffi::vectorcallfunc = vectorcall;

unsafe extern "C" fn vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held, `callable` a function cdata (only those
    // have this entry) and `args` holding the positional arguments.
    let hot = std::panic::catch_unwind(|| unsafe {
        let py = Python::assume_attached();
        if !kwnames.is_null() {
            return None;
        }
        let nargs = ffi::PyVectorcall_NARGS(nargsf) as usize;
        let args = if nargs == 0 { &[][..] } else { std::slice::from_raw_parts(args, nargs) };
        let cd = pyo3::Borrowed::from_ptr(py, callable).cast_unchecked::<CData>();
        hot_call(py, cd.get(), args)
    });
    match hot {
        Ok(Some(obj)) => return obj,
        Ok(None) => {}
        Err(_) => {
            // A bug on our side (nothing there panics); the C function may have run, so it is
            // not called again.
            // SAFETY: the GIL is held; the message is a NUL-terminated static string.
            unsafe { ffi::PyErr_SetString(ffi::PyExc_SystemError, c"rcffi: internal error in a call".as_ptr()) };
            return std::ptr::null_mut();
        }
    }
    // Everything else goes through PyO3's trampoline: attach bookkeeping, panics become
    // exceptions, errors are raised.
    let entry = pyo3::get_trampoline_function!(fastcall_cfunction_with_keywords, vectorcall_body);
    // SAFETY: as above.
    unsafe { entry(callable, args, nargsf as ffi::Py_ssize_t, kwnames) }
}

/// The hottest path: a plan of scalars (called directly, or through `hot_ffi`) whose arguments
/// all take the fast conversions. None, with nothing done, for anything else (the general path then does it all, errors included); once
/// the C function was called, the result or NULL with an exception set.
///
/// This runs without PyO3's trampoline (whose bookkeeping costs as much as a small C call):
/// nothing here runs Python code or drops a `Py` before the call, and after it only the result
/// is made.
///
/// # Safety
/// `args` must be valid objects; the GIL is held.
#[inline(always)]
unsafe fn hot_call(py: Python<'_>, cd: &CData, args: &[*mut ffi::PyObject]) -> Option<*mut ffi::PyObject> {
    let t = cd.ctype.get();
    let f = t.func.as_ref()?;
    if t.kind != Kind::Function || f.ellipsis || args.len() != f.args.len() {
        return None;
    }
    let func = cd.addr();
    if func.is_null() {
        return None;
    }
    let prepared = f.call.get()?.prepared.as_ref().ok()?;
    let plan = prepared.fast.as_ref()?;
    if !plan.direct {
        // SAFETY: forwarded from the caller.
        return unsafe { hot_ffi(py, func, f, prepared, plan, args) };
    }
    let mut ints = [0u64; INT_REGS];
    let mut sses = [0u64; SSE_REGS];
    for ((v, at), &obj) in plan.args.iter().zip(f.args.iter()).zip(args) {
        // SAFETY: forwarded from the caller.
        let bits = unsafe { fast_arg(py, v, at.get(), obj)? };
        match v.reg {
            Reg::Int(r) => ints[r as usize] = bits,
            Reg::Sse(r) => sses[r as usize] = bits,
            Reg::Memory => return None,
        }
    }
    let (rax, xmm0) = run_direct(py, func, &ints, &sses);
    Some(crate::rawslots::result_ptr(py, result_from_bits(py, f, plan, rax, xmm0)))
}

/// `hot_call` for a scalar plan that is not direct (too many arguments for the registers, or a
/// target without direct calls): through `ffi_call`, from a stack buffer.
///
/// # Safety
/// As for `hot_call`; `args` has one object per declared argument.
#[inline(never)]
unsafe fn hot_ffi(
    py: Python<'_>,
    func: *mut u8,
    f: &FunctionInfo,
    prepared: &Prepared,
    plan: &FastPlan,
    args: &[*mut ffi::PyObject],
) -> Option<*mut ffi::PyObject> {
    if !plan.scalar || prepared.size > STACK_BYTES {
        return None;
    }
    let mut words = [MaybeUninit::<u128>::uninit(); STACK_BYTES / 16];
    let mut slots = [std::ptr::null_mut::<c_void>(); STACK_ARGS];
    let buf = words.as_mut_ptr().cast::<u8>();
    // SAFETY: `buf` holds STACK_BYTES >= prepared.size bytes; every offset of the plan is inside
    // it, with room for its (scalar) value; `slots` has STACK_ARGS >= nargs entries (`scalar`).
    unsafe {
        std::ptr::write_bytes(buf, 0, prepared.size);
        for (i, ((v, at), &obj)) in plan.args.iter().zip(f.args.iter()).zip(args).enumerate() {
            let slot = buf.add(prepared.arg_offsets[i]);
            slots[i] = slot.cast();
            store_bits(v, slot, fast_arg(py, v, at.get(), obj)?);
        }
        let job = super::RawCall { cif: prepared.raw_cif(), func, result: buf, args: slots.as_mut_ptr() };
        without_gil(py, move || job.run());
        let bits = match plan.result {
            Some(v) => load_bits(&v, buf),
            None => 0,
        };
        Some(crate::rawslots::result_ptr(py, result_from_bits(py, f, plan, bits, bits)))
    }
}

/// # Safety
/// As for a vectorcall function: `callable` is a function cdata (only those have the vectorcall
/// entry), `args` holds the positional arguments then the keyword values.
unsafe fn vectorcall_body(
    py: Python<'_>,
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: per the contract above.
    unsafe {
        let nargs = ffi::PyVectorcall_NARGS(nargsf as usize) as usize;
        let args = if nargs == 0 { &[][..] } else { std::slice::from_raw_parts(args, nargs) };
        let kw = !kwnames.is_null() && ffi::PyTuple_GET_SIZE(kwnames) > 0;
        let cd = pyo3::Borrowed::from_ptr(py, callable).cast_unchecked::<CData>();
        super::call_objects(py, cd.get(), args, kw).map(Py::into_ptr)
    }
}

/// Make CPython call function cdata through `VECTORCALL` (stored in every function cdata at
/// `offset` from the object's start): set the cdata type's vectorcall offset and flag, once.
///
/// # Safety
/// `offset` must be the offset, in every cdata object (of any cdata type), of its vectorcall
/// field.
pub(super) unsafe fn install_vectorcall(py: Python<'_>, offset: usize) {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        // Heap types do not inherit the vectorcall flag (before Python 3.12): set on each type.
        for tp in crate::cdtypes::all(py) {
            // SAFETY: `tp` is a (heap) cdata type object, alive for the interpreter's life;
            // the GIL is held, so no call reads these fields meanwhile. The offset is set
            // before the flag that makes CPython read it.
            unsafe {
                // The field must lie inside the object itself (as it does with PyO3's layout);
                // otherwise calls simply keep going through tp_call.
                let size = (*tp).tp_basicsize as usize;
                if offset < std::mem::size_of::<ffi::PyObject>() || offset + std::mem::size_of::<usize>() > size {
                    continue;
                }
                (*tp).tp_vectorcall_offset = offset as ffi::Py_ssize_t;
                (*tp).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
            }
        }
    });
}

pub(super) fn not_callable(t: &CType) -> PyErr {
    PyTypeError::new_err(format!("cdata '{}' is not callable", t.name))
}
