"""The fast paths of ABI-mode calls (crates/rcffi/src/call_fast.rs).

Non-variadic calls take one of three routes: the hot vectorcall path (direct
register call, every argument a plain int / float / compatible pointer), the
direct register call after PyO3's trampoline (some argument needs the general
conversion), or libffi (structs, long double, more than 6 integer or 8 float
arguments).  Every route must give the same values and the same errors: the
tests call the same C code through signatures that force each route."""
import shutil
import subprocess
import threading

import pytest

from rcffi import FFI

C_SOURCE = r"""
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <pthread.h>

int8_t id_i8(int8_t x) { return x; }
uint8_t id_u8(uint8_t x) { return x; }
int16_t id_i16(int16_t x) { return x; }
uint16_t id_u16(uint16_t x) { return x; }
int32_t id_i32(int32_t x) { return x; }
uint32_t id_u32(uint32_t x) { return x; }
int64_t id_i64(int64_t x) { return x; }
uint64_t id_u64(uint64_t x) { return x; }
bool id_bool(bool x) { return x; }
float id_float(float x) { return x; }
double id_double(double x) { return x; }
char id_char(char x) { return x; }
void *id_ptr(void *x) { return x; }
int *id_intp(int *x) { return x; }

/* the same sums through 6 (registers) and 7 (libffi) integer arguments */
int64_t sum6(int8_t a, uint16_t b, int32_t c, uint32_t d, int64_t e, uint8_t f)
{ return (int64_t)a + b + c + (int64_t)d + e + f; }
int64_t sum7(int8_t a, uint16_t b, int32_t c, uint32_t d, int64_t e, uint8_t f, int g)
{ return (int64_t)a + b + c + (int64_t)d + e + f + g; }

/* integer and float arguments interleaved; 8 and 9 doubles */
double mixed(int a, double b, float c, long d, double e, short f, float g, void *p)
{ return a + b * 10 + c * 100 + d * 1000 + e * 10000 + f * 100000 + g * 1e6
         + (p ? 1e7 : 0); }
double dsum8(double a, double b, double c, double d, double e, double f, double g, double h)
{ return a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h; }
double dsum9(double a, double b, double c, double d, double e, double f, double g, double h, double i)
{ return a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h + 9*i; }
float fmul(float a, float b) { return a * b; }

/* results whose upper register bits are garbage */
int8_t small_neg(void) { return -3; }
uint8_t small_big(void) { return 250; }
int16_t half_neg(void) { return -30000; }
unsigned char not_a_bool(void) { return 2; }      /* declared as _Bool in the cdef */

int set_errno(int v) { errno = v; return -1; }
int get_errno(void) { return errno; }

typedef int (*binop)(int, int);
int apply(binop f, int a, int b) { return f(a, b); }
struct job { binop f; int a, b, r; };
static void *run_job(void *p) { struct job *j = p; j->r = j->f(j->a, j->b); return 0; }
int apply_in_thread(binop f, int a, int b) {
    pthread_t t; struct job j = {f, a, b, 0};
    if (pthread_create(&t, 0, run_job, &j)) return -1;
    pthread_join(t, 0);
    return j.r;
}
"""

CDEF = """
int8_t id_i8(int8_t); uint8_t id_u8(uint8_t); int16_t id_i16(int16_t);
uint16_t id_u16(uint16_t); int32_t id_i32(int32_t); uint32_t id_u32(uint32_t);
int64_t id_i64(int64_t); uint64_t id_u64(uint64_t); _Bool id_bool(_Bool);
float id_float(float); double id_double(double); char id_char(char);
void *id_ptr(void *); int *id_intp(int *);
int64_t sum6(int8_t, uint16_t, int32_t, uint32_t, int64_t, uint8_t);
int64_t sum7(int8_t, uint16_t, int32_t, uint32_t, int64_t, uint8_t, int);
double mixed(int, double, float, long, double, short, float, void *);
double dsum8(double, double, double, double, double, double, double, double);
double dsum9(double, double, double, double, double, double, double, double, double);
float fmul(float, float);
int8_t small_neg(void); uint8_t small_big(void); int16_t half_neg(void);
_Bool not_a_bool(void);
int set_errno(int); int get_errno(void);
int apply(int (*)(int, int), int, int);
int apply_in_thread(int (*)(int, int), int, int);
"""


@pytest.fixture(scope="module")
def libpath(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build the test library")
    d = tmp_path_factory.mktemp("callsfast")
    c_file = d / "fast.c"
    c_file.write_text(C_SOURCE)
    so_file = d / "libfast.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-O2", "-o", str(so_file),
                    str(c_file), "-lpthread"], check=True, capture_output=True)
    return str(so_file)


@pytest.fixture(scope="module")
def env(libpath):
    ffi = FFI()
    ffi.cdef(CDEF)
    return ffi, ffi.dlopen(libpath)


def outcome(f, *args):
    try:
        return ("ok", f(*args))
    except Exception as e:
        return (type(e).__name__, str(e))


INT_TYPES = [("i8", 1, True), ("u8", 1, False), ("i16", 2, True),
             ("u16", 2, False), ("i32", 4, True), ("u32", 4, False),
             ("i64", 8, True), ("u64", 8, False)]


@pytest.mark.parametrize("name, size, signed", INT_TYPES)
def test_integer_identity_and_range(env, name, size, signed):
    ffi, lib = env
    f = getattr(lib, "id_" + name)
    bits = 8 * size
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    for v in [lo, lo + 1, -1, 0, 1, hi - 1, hi]:
        if lo <= v <= hi:
            assert f(v) == v
            assert f(ffi.cast("long long" if v < 2**63 else "unsigned long long", v)) == v
    assert f(True) == 1 and f(False) == 0
    for v in [lo - 1, hi + 1, 2**64, -2**64, 10**30]:
        kind, msg = outcome(f, v)
        assert kind == "OverflowError", (v, kind, msg)
    ctype = ffi.typeof(f).args[0].cname
    if size < 8:
        assert outcome(f, hi + 1) == ("OverflowError", "integer %d does not fit '%s'" % (hi + 1, ctype))
    assert outcome(f, 1.0) == ("TypeError", "an integer is required")
    assert outcome(f, ffi.cast("double", 1.0)) == ("TypeError", "an integer is required")


def test_bool(env):
    ffi, lib = env
    assert lib.id_bool(1) is True and lib.id_bool(0) is False
    assert lib.id_bool(True) is True
    assert lib.id_bool(ffi.cast("int", 1)) is True
    assert outcome(lib.id_bool, 2) == ("OverflowError", "integer 2 does not fit '_Bool'")
    assert outcome(lib.not_a_bool) == ("ValueError", "got a _Bool of value 2, expected 0 or 1")


def test_floats(env):
    ffi, lib = env
    assert lib.id_double(2.5) == 2.5
    assert lib.id_double(3) == 3.0                     # ints convert
    assert lib.id_double(2**70) == float(2**70)
    assert lib.id_double(ffi.cast("float", 1.5)) == 1.5
    assert lib.id_float(0.1) == ffi.cast("float", 0.1).__float__()
    assert lib.fmul(1.5, -2) == -3.0
    inf = float("inf")
    assert lib.id_float(1e300) == inf                  # C's conversion to float
    assert outcome(lib.id_double, 10**400)[0] == "OverflowError"
    assert outcome(lib.id_double, "x")[0] == "TypeError"


def test_char_and_small_results(env):
    ffi, lib = env
    assert lib.id_char(b"A") == b"A"
    assert lib.id_char(b"\xff") == b"\xff"
    assert lib.small_neg() == -3
    assert lib.small_big() == 250
    assert lib.half_neg() == -30000


def test_registers_and_libffi_agree(env):
    ffi, lib = env
    cases = [(-128, 65535, -2**31, 2**32 - 1, -2**63 + 2**40, 255),
             (127, 0, 2**31 - 1, 0, 2**62, 0), (1, 2, 3, 4, 5, 6)]
    for args in cases:
        assert lib.sum6(*args) == sum(args)
        assert lib.sum7(*(args + (0,))) == sum(args)
        assert lib.sum6(*[ffi.cast("long long", a) for a in args]) == sum(args)
    # same error from both routes
    assert outcome(lib.sum6, 1, 2, 3, -1, 5, 6) == outcome(lib.sum7, 1, 2, 3, -1, 5, 6, 0)
    ds = [0.5 * i for i in range(1, 10)]
    assert lib.dsum8(*ds[:8]) == sum((i + 1) * d for i, d in enumerate(ds[:8]))
    assert lib.dsum9(*ds) == sum((i + 1) * d for i, d in enumerate(ds))
    p = ffi.new("int *")
    assert lib.mixed(1, 2.0, 3.0, 4, 5.0, 6, 7.0, p) == 1 + 20 + 300 + 4000 + 50000 + 600000 + 7e6 + 1e7
    assert lib.mixed(1, 2, 3, 4, 5, 6, 7, ffi.NULL) == 7654321.0


def test_pointers(env):
    ffi, lib = env
    p = ffi.new("int *", 5)
    arr = ffi.new("int[3]")
    addr = lambda c: int(ffi.cast("intptr_t", c))
    assert addr(lib.id_ptr(p)) == addr(p)
    assert addr(lib.id_ptr(arr)) == addr(arr)          # arrays decay
    assert addr(lib.id_ptr(lib.id_ptr)) != 0           # function pointers too
    assert addr(lib.id_intp(arr)) == addr(arr)
    assert lib.id_intp(ffi.NULL) == ffi.NULL           # void * converts
    assert addr(lib.id_intp(ffi.cast("void *", p))) == addr(p)
    b = b"bytes"
    assert lib.id_ptr(b) != ffi.NULL                   # bytes for void *
    assert outcome(lib.id_intp, ffi.new("long *")) == (
        "TypeError", "initializer for ctype 'int *' must be a pointer to same type, "
        "not cdata 'long *'")
    assert outcome(lib.id_intp, b"x") == (
        "TypeError", "initializer for ctype 'int *' must be a cdata pointer, not bytes")
    assert outcome(lib.id_ptr, None) == (
        "TypeError", "initializer for ctype 'void *' must be a cdata pointer, not NoneType")
    r = lib.id_intp(p)
    assert ffi.typeof(r) is ffi.typeof("int *") and r[0] == 5


def test_call_protocol(env):
    ffi, lib = env
    f = lib.sum6
    args = (1, 2, 3, 4, 5, 6)
    assert f(*args) == 21
    assert f(*list(args)) == 21
    assert f(*args, **{}) == 21
    assert outcome(f, *args[:5]) == ("TypeError", "'int64_t(*)(int8_t, uint16_t, int32_t, uint32_t, int64_t, uint8_t)' expects 6 arguments, got 5".replace("int64_t(*)", ffi.typeof(f).cname.split("(")[0] + "(*)"))
    assert outcome(lambda: f(1, 2, 3, 4, 5, a=6)) == (
        "TypeError", "a cdata function cannot be called with keyword arguments")
    assert outcome(lambda: f(*args, **{"a": 1})) == (
        "TypeError", "a cdata function cannot be called with keyword arguments")
    null = ffi.cast(ffi.typeof(f), 0)
    assert outcome(null, *args)[0] == "RuntimeError"
    assert outcome(ffi.cast("int", 0))[0] == "TypeError"


def test_errno_round_trip(env):
    ffi, lib = env
    lib.set_errno(42)
    assert ffi.errno == 42
    ffi.errno = 17
    assert lib.get_errno() == 17


def test_callbacks_from_direct_calls(env):
    ffi, lib = env
    cb = ffi.callback("int(int, int)", lambda a, b: a * 10 + b)
    assert lib.apply(cb, 4, 2) == 42                   # same thread, GIL released
    assert lib.apply_in_thread(cb, 4, 3) == 43         # a thread C made
    assert cb(5, 6) == 56                              # callback cdata called directly
    nested = ffi.callback("int(int, int)", lambda a, b: lib.apply(cb, a, b) + 1)
    assert lib.apply(nested, 1, 2) == 13

    errors = []

    def worker(k):
        try:
            c = ffi.callback("int(int, int)", lambda a, b: a + b + k)
            for i in range(2000):
                assert lib.apply(c, i, 1) == i + 1 + k
            assert lib.apply_in_thread(c, 1, 1) == 2 + k
            lib.set_errno(100 + k)
            assert ffi.errno == 100 + k
        except Exception as e:                         # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
