//! `_cffi_backend._testfunc(num)`: the address of a small C-ABI test function (or of `stderr`'s
//! value for 8), as upstream provides for its `test_c.py`. The tests cast the address to a
//! function type and call it.

use std::ffi::{c_char, c_int, c_long, c_longlong, c_short, c_uchar, c_void};
use std::sync::atomic::{AtomicI32, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

extern "C" fn f0(a: c_char, b: c_char) -> c_char {
    a.wrapping_add(b)
}

extern "C" fn f1(a: c_int, b: c_long) -> c_long {
    (a as c_long).wrapping_add(b)
}

extern "C" fn f2(a: c_longlong, b: c_longlong) -> c_longlong {
    a.wrapping_add(b)
}

extern "C" fn f3(a: f32, b: f64) -> f64 {
    a as f64 + b
}

extern "C" fn f4(a: f32, b: f64) -> f32 {
    (a as f64 + b) as f32
}

extern "C" fn f5() {
    // SAFETY: __errno_location() is this thread's errno slot.
    unsafe { *libc::__errno_location() += 15 };
}

static F6_RESULT: AtomicI32 = AtomicI32::new(0);

extern "C" fn f6(x: *const c_int) -> *mut c_int {
    // SAFETY: the caller passes a valid `int *`, as the C version requires.
    let v = unsafe { *x };
    F6_RESULT.store(v.wrapping_sub(1000), Ordering::Relaxed);
    F6_RESULT.as_ptr()
}

#[repr(C)]
#[derive(Clone, Copy)]
struct S7 {
    a1: c_uchar,
    a2: c_short,
}

extern "C" fn f7(s: S7) -> c_short {
    (s.a1 as c_short).wrapping_add(s.a2)
}

/// `int f9(int num, ...)`: the sum of `num` int arguments, 0 counting as -66666666.
///
/// Rust cannot define C-variadic functions on stable, so this relies on the x86-64 System V
/// convention: the first six integer arguments travel in the same registers whether or not the
/// callee is variadic. Up to five variadic ints are read that way; registers the caller left
/// unset are never used (only the first `num` are).
#[cfg(all(target_arch = "x86_64", not(windows)))]
extern "C" fn f9(num: c_int, a: c_int, b: c_int, c: c_int, d: c_int, e: c_int) -> c_int {
    [a, b, c, d, e]
        .iter()
        .take(num.clamp(0, 5) as usize)
        .map(|&v| if v == 0 { -66666666 } else { v })
        .fold(0, c_int::wrapping_add)
}

extern "C" fn f10(n: c_int) -> S7 {
    S7 { a1: n as c_uchar, a2: n.wrapping_mul(n) as c_short }
}

#[repr(C)]
struct S11 {
    a1: c_int,
    a2: c_int,
}

extern "C" fn f11(n: c_int) -> S11 {
    S11 { a1: n, a2: n.wrapping_mul(n) }
}

#[repr(C)]
struct S12 {
    a1: f64,
}

extern "C" fn f12(n: c_int) -> S12 {
    S12 { a1: n as f64 }
}

#[repr(C)]
struct S13 {
    a1: c_int,
    a2: c_int,
    a3: c_int,
}

extern "C" fn f13(n: c_int) -> S13 {
    S13 { a1: n, a2: n.wrapping_mul(n), a3: n.wrapping_mul(n).wrapping_mul(n) }
}

#[repr(C)]
struct S14 {
    a1: f32,
}

extern "C" fn f14(n: c_int) -> S14 {
    S14 { a1: n as f32 }
}

#[repr(C)]
struct S15 {
    a1: f32,
    a2: c_int,
}

extern "C" fn f15(n: c_int) -> S15 {
    S15 { a1: n as f32, a2: n.wrapping_mul(n) }
}

#[repr(C)]
struct S16 {
    a1: f32,
    a2: f32,
}

extern "C" fn f16(n: c_int) -> S16 {
    S16 { a1: n as f32, a2: -(n as f32) }
}

#[repr(C)]
struct S17 {
    a1: c_int,
    a2: f32,
}

extern "C" fn f17(n: c_int) -> S17 {
    S17 { a1: n, a2: n as f32 * n as f32 }
}

extern "C" fn f18(p: *const S17) -> c_int {
    // SAFETY: the caller passes a valid pointer, as the C version requires.
    let s = unsafe { &*p };
    s.a1.wrapping_add(s.a2 as c_int)
}

/// `long double f19(long double x, int count)`: `count` times `x = 4*x - x*x`, in x87 extended
/// precision. Rust has no 80-bit float type, so this is written in assembly for the x86-64
/// System V convention: `x` is on the stack above the return address, `count` in edi, and the
/// result is returned in st(0).
#[cfg(all(target_arch = "x86_64", not(windows)))]
#[unsafe(naked)]
unsafe extern "C" fn f19() {
    core::arch::naked_asm!(
        "fld tbyte ptr [rsp + 8]", // st0 = x
        "test edi, edi",
        "jle 3f",
        "2:",
        "fld st(0)",           // x, x
        "fmul st(0), st(0)",   // x*x, x
        "fld st(1)",           // x, x*x, x
        "fadd st(0), st(0)",   // 2x, x*x, x
        "fadd st(0), st(0)",   // 4x, x*x, x
        "fsubrp st(1), st(0)", // 4x - x*x, x
        "fstp st(1)",          // new x
        "dec edi",
        "jnz 2b",
        "3:",
        "ret",
    )
}

extern "C" fn f20(p: *const S7) -> c_short {
    // SAFETY: the caller passes a valid pointer, as the C version requires.
    let s = unsafe { &*p };
    (s.a1 as c_short).wrapping_add(s.a2)
}

#[repr(C)]
struct S21 {
    v: [c_int; 10],
}

extern "C" fn f21(s: S21) -> c_int {
    s.v.iter().enumerate().fold(0, |acc: c_int, (i, &x)| acc.wrapping_add(x.wrapping_shl(i as u32)))
}

#[repr(C)]
struct S22 {
    a: [c_int; 10],
}

extern "C" fn f22(s1: S22, s2: S22) -> S22 {
    S22 { a: std::array::from_fn(|i| s1.a[i].wrapping_sub(s2.a[i])) }
}

extern "C" fn f23(p: *const c_char) -> c_int {
    if p.is_null() {
        return -42;
    }
    // SAFETY: a non-null argument points to at least one char, as the C version requires.
    1000 * unsafe { *p } as c_int
}

extern "C" {
    static stderr: *mut c_void;
}

/// The address of test function `num`.
fn address(num: i32) -> Option<usize> {
    let f: *const () = match num {
        0 => f0 as *const (),
        1 => f1 as *const (),
        2 => f2 as *const (),
        3 => f3 as *const (),
        4 => f4 as *const (),
        5 => f5 as *const (),
        6 => f6 as *const (),
        7 => f7 as *const (),
        // SAFETY: reading libc's `stderr` pointer, initialized before main().
        8 => (unsafe { stderr }) as *const (),
        #[cfg(all(target_arch = "x86_64", not(windows)))]
        9 => f9 as *const (),
        10 => f10 as *const (),
        11 => f11 as *const (),
        12 => f12 as *const (),
        13 => f13 as *const (),
        14 => f14 as *const (),
        15 => f15 as *const (),
        16 => f16 as *const (),
        17 => f17 as *const (),
        18 => f18 as *const (),
        #[cfg(all(target_arch = "x86_64", not(windows)))]
        19 => f19 as *const (),
        20 => f20 as *const (),
        21 => f21 as *const (),
        22 => f22 as *const (),
        23 => f23 as *const (),
        _ => return None,
    };
    Some(f as usize)
}

/// `_cffi_backend._testfunc(num)`.
#[pyfunction]
pub fn _testfunc(num: i32) -> PyResult<usize> {
    address(num).ok_or_else(|| PyValueError::new_err(()))
}

// ---- _testbuff: buffer providers for upstream's test_from_buffer_more_cases ---------------

static TEST_BUF: [u8; 4] = *b"GTB\0";
static TEST_BUF_RO: [u8; 4] = *b"ROB\0";

unsafe extern "C" fn test_getbuf(obj: *mut pyo3::ffi::PyObject, view: *mut pyo3::ffi::Py_buffer, flags: std::os::raw::c_int) -> std::os::raw::c_int {
    // SAFETY: CPython calls this with a valid object and view; the data is static. FillInfo
    // never writes through the pointer (readonly only describes it to consumers).
    unsafe { pyo3::ffi::PyBuffer_FillInfo(view, obj, TEST_BUF.as_ptr() as *mut _, 3, 0, flags) }
}

unsafe extern "C" fn test_getbuf_ro(obj: *mut pyo3::ffi::PyObject, view: *mut pyo3::ffi::Py_buffer, flags: std::os::raw::c_int) -> std::os::raw::c_int {
    // SAFETY: as above, read-only.
    unsafe { pyo3::ffi::PyBuffer_FillInfo(view, obj, TEST_BUF_RO.as_ptr() as *mut _, 3, 1, flags) }
}

/// `_testbuff(cls, methods)`: give a Python class a buffer that exports "GTB" (writable,
/// methods & 8) or "ROB" (read-only, methods & 16), for upstream's from_buffer tests.
#[pyfunction]
fn _testbuff(cls: &Bound<'_, pyo3::types::PyType>, methods: i32) -> PyResult<()> {
    let tp = cls.as_type_ptr();
    // SAFETY: `tp` is a live type object; a heap type (a Python class) embeds its
    // tp_as_buffer struct, which we only fill in, then tell CPython the type changed.
    unsafe {
        let ab = (*tp).tp_as_buffer;
        if ab.is_null() || (*tp).tp_flags & pyo3::ffi::Py_TPFLAGS_HEAPTYPE == 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err("_testbuff() needs a Python class"));
        }
        if methods & 8 != 0 {
            (*ab).bf_getbuffer = Some(test_getbuf);
        }
        if methods & 16 != 0 {
            (*ab).bf_getbuffer = Some(test_getbuf_ro);
        }
        pyo3::ffi::PyType_Modified(tp);
    }
    Ok(())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_testfunc, m)?)?;
    m.add_function(wrap_pyfunction!(_testbuff, m)?)?;
    m.add_function(wrap_pyfunction!(_test_panic, m)?)
}

/// Panics on purpose, for the test that a Rust panic still reaches Python as an exception
/// (pyo3's PanicException), whichever unwinder the extension was linked with (see build.rs).
#[pyfunction]
fn _test_panic() {
    panic!("rcffi: deliberate panic for the unwinding test");
}
