"""Every example of the seed documents that runs in ABI mode, in-line --
``ffi.dlopen(...)`` and the ``lib`` object it returns: calls, variadic calls,
callbacks, global variables, constants, ``ffi.addressof(lib, ...)``,
``ffi.errno``, ``FILE *``, ``ffi.dlclose()`` -- run against rcffi.

Seed files (in ``shared/seeds/``, not copied here) are cited by number:
``000`` the overview page, ``001`` the getting-started guide, ``002`` the
package cheat sheet, ``003`` the full CFFI 1.13.2 reference (cited with its
section numbers).  Python-2 spellings of the docs (``"hello"`` for a
``char *`` argument, ``print x``) are written the Python-3 way (003 s6.2).
Expected values are the documented ones, checked against upstream cffi
2.0.0; where the docs only say "works", the test asserts what cffi 2.0.0
does.

Functions that the examples take from libc or libm are called through
``ffi.dlopen(None)`` / ``ffi.dlopen("m")``.  The examples' custom C functions
(``main_like``, ``fetch_size``, ``register_stuff_with_callback_and_voidp_arg``,
``process_document``, ``custom_malloc``, ...) are compiled once per module by
gcc into a tiny shared library in a temporary directory (``libseed.so``, plus
``libmylib.so`` with just ``add`` for 001); those tests are skipped when gcc
is missing.  The examples that do the same thing through ``extern "Python"``
/ ``set_source`` are rewritten with ``ffi.callback()`` where the seed itself
says that is the ABI-mode way (003 s6.7: "The next section about Callbacks
describes the ABI-mode solution").

Examples that need API mode (``set_source`` / ``compile`` / ``verify``) --
tested in tests/test_seed_api.py (embedding: tests/test_embedding.py):

* 000 / 003 s5.2.3 "Real example" / "API Mode, calling the C standard
  library" (``getpwuid``, ``get_pw_for_root``) and its setup.py.
* 003 s5.1 "Main mode of usage" (``pi_approx`` with
  ``libraries=['piapprox']``) and its setup.py; 003 s5.2.4 ``pi.c`` /
  ``pi.h`` with ``sources=['pi.c']``; 000 / 003 s5.2.5 "Purely for
  performance" (``foo(int *, int *, int)``).
* 000 / 003 s5.2.6 "Out-of-line, ABI level" and 003 s8 "the out-of-line, but
  still ABI mode" (``set_source("_simple_example", None)`` /
  ``set_source("package._foo", None)`` + ``compile()``, the generated
  ``_simple_example.py``, the out-of-line ``ffi.dlopen()`` that needs a real
  file name, the out-of-line ``ffi.dlclose(lib)``): they need the
  module generator.  Their calls (``lib.printf(b"hi there, number %d\\n",
  ffi.cast("int", 2))``) are tested here in-line.
* 003 s5.2.7 / s8.9 ``ffi.verify()``; s8.3 ``set_source()``,
  ``set_source_pkgconfig()``; s8.4 "Letting the C compiler fill the gaps"
  (what ``...`` gives in ABI mode -- ``VerificationMissing`` -- is tested
  here); s8.5 ``compile()`` / ``emit_python_code()`` / ``emit_c_code()`` /
  ``distutils_extension()``; s8.7 ``__thread`` variables and
  ``foo_t *const myglob``; s8.10 upgrading from 0.9.
* 000 / 003 s5.3 and chapter 9 "Embedding".
* 003 s6.7 "Extern Python" (``@ffi.def_extern()``, ``extern "Python+C"``,
  ``my_event_callback`` / ``Widget`` with ``event_cb_register``,
  ``my_algo``), s7.1.13's ``@ffi.def_extern() my_callback`` (tested here
  with ``ffi.callback``), s6.8's ``c_callback`` compiled by ``set_source``
  (its ABI-mode equivalent is tested here), s7.1.17 ``from _xyz_cffi import
  ffi, lib`` (the same ``init_once`` logic is tested here on a dlopen'ed
  library).
* 001 "Basic Usage Example" steps 1-5 (``add`` via ``set_source``, prints 8;
  the ABI-mode ``add`` is tested here); 002 Recipes 2, 3, 4, "Version
  migration guide", "Testing & CI integration", the worked example steps
  1-4 (``_foo_build.py``, setup.py, ``pyfoo.py``, cibuildwheel), FAQ
  "API mode says cannot find header" / static libraries.

002's troubleshooting row "RuntimeError: function not implemented from
callback" does not describe cffi: an exception in a callback is reported
through ``sys.unraisablehook`` ("Exception ignored from cffi callback ...")
and the callback returns 0 or its ``error=`` value; that is what is tested.
"""
import errno
import gc
import os
import shutil
import subprocess
import sys
import threading

import pytest

from rcffi import FFI, VerificationMissing


# --------------------------------------------------------------------------
# helpers

SEED_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <ctype.h>
#include <unistd.h>

int add(int a, int b) { return a + b; }

/* 003 s6.1 */
static char seen[256];
const char *last_seen(void) { return seen; }
int myfunction(char **q) { strcpy(seen, *q); return (int)strlen(*q); }
void fetch_size(int *x, int *y) { *x = 640; *y = 480; }
typedef struct opaque_s { int magic; } opaque_t;
static opaque_t the_opaque = { 12345 };
void init_stuff(opaque_t **handle) { *handle = &the_opaque; }
int more_stuff(opaque_t *handle) { return handle->magic; }
void somefunction(int *x) { *x = *x * 2 + 1; }

/* 003 s6.3 */
int main_like(int argc, char *argv[]) {
    int i;
    seen[0] = 0;
    for (i = 0; i < argc; i++) {
        if (i) strcat(seen, " ");
        strcat(seen, argv[i]);
    }
    return argc;
}

/* 003 s6.4, s6.5, s7.2 */
int foo(short a, int b) { return a * 10 + b; }
int last_array_sum;
void do_something_with_array(int *array) {
    int i;
    last_array_sum = 0;
    for (i = 0; i < 5; i++) last_array_sum += array[i];
}
struct foo_s { int a, b; };
struct foo_s function_returning_a_struct(void) {
    struct foo_s r = { 20, 22 };
    return r;
}
struct point_s { int x, y; };
int point_code(struct point_s *p) { return p->x * 100 + p->y; }
int foo_noargs() { return 7; }
union u_t { int i; float f; };
int take_union(union u_t u) { return u.i; }
struct bits_t { int a:3, b:5; };
int take_bits(struct bits_t s) { return s.a; }
enum color { RED, GREEN = 5, BLUE };
struct with_enum { enum color field; };
void paint(struct with_enum *x) { x->field = GREEN; }

/* 003 s6.8 */
typedef int (*stuff_cb)(int, void *);
static stuff_cb g_cb;
static void *g_handle;
void register_stuff_with_callback_and_voidp_arg(stuff_cb cb, void *h) {
    g_cb = cb;
    g_handle = h;
}
int fire_stuff(int x) { return g_cb(x, g_handle); }

int (*python_callback)(int how_many, int *values);
int c_callback(int how_many, ...) {
    va_list ap;
    int i, values[16];
    va_start(ap, how_many);
    for (i = 0; i < how_many; i++) values[i] = va_arg(ap, int);
    va_end(ap);
    return python_callback(how_many, values);
}

/* 003 s6.9 */
int apply_binop(int (*f)(int, int), int a, int b) { return f(a, b); }
struct funcs_s { int (*MyFuncPtr)(int, int); };
int call_via_struct(struct funcs_s *s, int a, int b) {
    return s->MyFuncPtr(a, b);
}

/* 003 s7.1.13 */
int process_document(int (*cb)(int, int, void *), void *data,
                     int arg1, int arg2) {
    return cb(arg1, arg2, data);
}

/* 003 s7.1.12, s7.1.15, 002 "Cdata lifetime" */
int live_allocs;
void *custom_malloc(size_t n) { live_allocs++; return malloc(n); }
void custom_free(void *p) { if (p) { live_allocs--; free(p); } }
void *foo_alloc(size_t n) { return custom_malloc(n); }
void foo_free(void *p) { custom_free(p); }
void *null_alloc(size_t n) { return NULL; }
typedef struct { int a, b; } ctx_t;
static ctx_t *saved_ctx;
void async_callback(ctx_t *ctx) { saved_ctx = ctx; }
int async_done(void) { return saved_ctx->a * 10 + saved_ctx->b; }

/* 003 s7.1.17 */
int n_init_my_library, n_init_max;
void init_my_library(void) { n_init_my_library++; }
int make_foo(void) { return 100 + n_init_my_library; }
int initialize_once_and_get_some_maximum_number(void) {
    n_init_max++;
    return 10;
}

/* 003 s7.1.5 */
int fail_with_errno(int e) { errno = e; return -1; }
int get_errno(void) { return errno; }

/* 003 s7.2.1 */
int write_stuff_to_file(FILE *fp) {
    return fprintf(fp, "stuff written from C\n");
}

/* 003 s3.8.6 v1.11, s7.1.7, 002 */
_Bool is_even(int x) { return x % 2 == 0; }
void upcase(char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) s[i] = toupper((unsigned char)s[i]);
}
int process_ints(int *arr, int n) {
    int i, s = 0;
    for (i = 0; i < n; i++) { s += arr[i]; arr[i] *= 2; }
    return s;
}
unsigned sum_u8(const uint8_t *p, size_t n) {
    unsigned s = 0;
    size_t i;
    for (i = 0; i < n; i++) s += p[i];
    return s;
}

/* globals: 003 s5.4, s7.1.10, s8.2 */
int my_global = 42;
int read_my_global(void) { return my_global; }
const int my_const_global = 99;

/* 003 s7.2 note [2]: waits (at most ~5 s) until another thread sets *flag */
int wait_for_flag(volatile int *flag) {
    int i;
    for (i = 0; i < 10000 && !*flag; i++) usleep(500);
    return *flag;
}
"""

MYLIB_C = "int add(int a, int b) { return a + b; }\n"


def _build(directory, name, source):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build the example's C library")
    c_file = directory / (name + ".c")
    c_file.write_text(source)
    so_file = directory / ("lib%s.so" % name)
    subprocess.run([gcc, "-shared", "-fPIC", "-O1", "-o", str(so_file),
                    str(c_file)], check=True, capture_output=True)
    return str(so_file)


@pytest.fixture(scope="module")
def seedlib_path(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("seedlib"), "seed", SEED_C)


@pytest.fixture(scope="module")
def mylib_path(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("mylib"), "mylib", MYLIB_C)


class CStdout:
    """Redirects file descriptor 1 (what C's printf writes to) to a file;
    ``.text`` is what was written.  The test flushes C's stdout itself with
    ``C.fflush(ffi.NULL)`` before the block ends, like the examples must."""

    _ffi = FFI()
    _ffi.cdef("int fflush(void *);")
    _libc = _ffi.dlopen(None)

    def __init__(self, path):
        self.path = str(path)
        self.text = None

    def __enter__(self):
        sys.stdout.flush()
        self._libc.fflush(self._ffi.NULL)   # nothing of earlier tests
        self.saved = os.dup(1)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.close(fd)
        return self

    def __exit__(self, *exc):
        os.dup2(self.saved, 1)
        os.close(self.saved)
        with open(self.path) as f:
            self.text = f.read()
        return False


@pytest.fixture
def c_stdout(tmp_path):
    return CStdout(tmp_path / "c_stdout.txt")


# --------------------------------------------------------------------------
# 000 "Simple example (ABI level, in-line)" == 003 s5.2.1

def test_overview_simple_example_printf(c_stdout):
    ffi = FFI()
    ffi.cdef("""
        int printf(const char *format, ...);   // copy-pasted from the man page
        int fflush(void *);
    """)
    C = ffi.dlopen(None)                     # loads the entire C namespace
    arg = ffi.new("char[]", b"world")        # char arg[] = "world";
    with c_stdout:
        n = C.printf(b"hi there, %s.\n", arg)        # call printf
        C.fflush(ffi.NULL)
    assert c_stdout.text == "hi there, world.\n"
    assert n == 17                                   # the return value


# 000 / 003 s5.2.1: "on Python 3 you need to pass byte strings to char *
# arguments" -- the Python-2 spelling C.printf("hi there, %s.\n", arg) fails
def test_overview_simple_example_needs_bytes():
    ffi = FFI()
    ffi.cdef("int printf(const char *format, ...);")
    C = ffi.dlopen(None)
    arg = ffi.new("char[]", b"world")
    with pytest.raises(TypeError) as e:
        C.printf("hi there, %s.\n", arg)
    assert str(e.value) == ("initializer for ctype 'char *' must be a bytes "
                            "or list or tuple, not str")
    with pytest.raises(TypeError):
        ffi.new("char[]", "world")


# 000 / 003 s5.2.6 "Out-of-line, ABI level": the call of the main program,
# here with an in-line ffi:
#     lib = ffi.dlopen(None)      # Unix: open the standard C library
#     lib.printf(b"hi there, number %d\n", ffi.cast("int", 2))
def test_overview_out_of_line_abi_printf_call(c_stdout):
    ffi = FFI()
    ffi.cdef("int printf(const char *format, ...); int fflush(void *);")
    lib = ffi.dlopen(None)
    with c_stdout:
        n = lib.printf(b"hi there, number %d\n", ffi.cast("int", 2))
        lib.fflush(ffi.NULL)
    assert c_stdout.text == "hi there, number 2\n"
    assert n == 19


# --------------------------------------------------------------------------
# 000 / 003 s5.2.2 "Struct/Array Example (minimal, in-line)": the image read
# with f.readinto(ffi.buffer(image)), modified, then written back -- here
# written back by C's fopen/fwrite/fclose from the dlopen(None) library

def test_overview_struct_array_example_with_libc(tmp_path):
    data = tmp_path / "data"
    data.write_bytes(bytes(range(256)) * (800 * 600 * 3 // 256))
    ffi = FFI()
    ffi.cdef("""
        typedef struct {
            unsigned char r, g, b;
        } pixel_t;
        FILE *fopen(const char *, const char *);
        size_t fwrite(const void *, size_t, size_t, FILE *);
        int fclose(FILE *);
    """)
    C = ffi.dlopen(None)
    image = ffi.new("pixel_t[]", 800*600)

    f = open(str(data), 'rb')     # binary mode -- important
    assert f.readinto(ffi.buffer(image)) == 800 * 600 * 3
    f.close()
    assert (image[100].r, image[100].g, image[100].b) == (44, 45, 46)

    image[100].r = 255
    image[100].g = 192
    image[100].b = 128

    fp = C.fopen(str(data).encode(), b"wb")
    assert fp != ffi.NULL
    assert C.fwrite(image, ffi.sizeof("pixel_t"), 800*600, fp) == 800*600
    assert C.fclose(fp) == 0

    written = data.read_bytes()
    assert len(written) == 800 * 600 * 3
    assert written[300:303] == b'\xff\xc0\x80'
    assert written[297:300] == bytes([41, 42, 43])
    assert written[303:306] == bytes([47, 48, 49])


# --------------------------------------------------------------------------
# 000 / 003 s5.4 "What actually happened?": dlopen() returns a library object
# that "has got as attributes all function, constant and variable symbols
# that are coming from this library and that have been declared in the
# cdef()"; "If you have several interdependent libraries to load, you would
# call cdef() only once but dlopen() several times."  003 s8.2: "you can use
# a single cdef() to declare functions from multiple libraries, as long as
# you load each of them with dlopen() and access the functions from the
# correct one."

def test_overview_one_cdef_several_dlopens(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        double sqrt(double x);
        int add(int a, int b);
        extern int my_global;
        #define FOO 42
        enum color { RED, GREEN = 5, BLUE };
    """)
    libm = ffi.dlopen("m")
    lib = ffi.dlopen(seedlib_path)
    assert libm.sqrt(16.0) == 4.0
    assert lib.add(40, 2) == 42
    assert lib.my_global == 42
    # constants are in every library object of this ffi
    assert (lib.FOO, libm.FOO) == (42, 42)
    assert (lib.RED, lib.GREEN, lib.BLUE) == (0, 5, 6)
    # ...but functions and variables only where they are defined
    with pytest.raises(AttributeError):
        libm.add
    with pytest.raises(AttributeError):
        lib.sqrt
    # types are not in the library objects but in ffi
    assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")


# 003 s3.8.21 v1.4: "dir(lib) now works on libs returned by ffi.dlopen() too"
def test_whatsnew_1_4_dir_of_dlopen_lib(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        int add(int, int);
        extern int my_global;
        #define FOO 42
        static const int BAR = 7;
        enum color { RED, GREEN = 5, BLUE };
        struct point_s { int x, y; };
    """)
    lib = ffi.dlopen(seedlib_path)
    assert sorted(dir(lib)) == ['BAR', 'BLUE', 'FOO', 'GREEN', 'RED', 'add',
                                'my_global']


# --------------------------------------------------------------------------
# 001 "Modes: ABI vs. API" -- ABI Mode:
#     lib = ffi.dlopen("/path/to/libmylib.so")
#     result = lib.add(5, 3)

def test_guide_abi_mode_add(mylib_path):
    ffi = FFI()
    ffi.cdef("int add(int a, int b);")
    lib = ffi.dlopen(mylib_path)
    result = lib.add(5, 3)
    assert result == 8


# 003 s3.7 v1.12 "ffi.dlopen() failed with non-ascii file names on Posix" /
# s3.8.1 v1.11.5 "ffi.dlopen() should now handle unicode filenames"
def test_whatsnew_1_12_dlopen_non_ascii_path(mylib_path, tmp_path):
    try:
        d = tmp_path / "d\u00efr-\u00e9t\u00e9"
        d.mkdir()
    except (UnicodeError, OSError):
        pytest.skip("file system cannot store non-ascii names")
    target = d / "libmylib.so"
    shutil.copy(mylib_path, str(target))
    ffi = FFI()
    ffi.cdef("int add(int a, int b);")
    lib = ffi.dlopen(str(target))
    assert lib.add(5, 3) == 8


# --------------------------------------------------------------------------
# 002 Recipe 1 -- ABI mode: call sqrt from libm.
#     Output: 1.4142135623730951

def test_cheatsheet_recipe1_sqrt(capsys):
    ffi = FFI()
    ffi.cdef("double sqrt(double x);")
    libm = ffi.dlopen("m")   # libm.so / .dylib / on Windows: math is in msvcrt
    print(libm.sqrt(2.0))
    assert capsys.readouterr().out == "1.4142135623730951\n"


# 002 Recipe 5 -- Pointer cast: reinterpret a buffer as uint8_t[], here also
# handed to a C function taking 'const uint8_t *'
def test_cheatsheet_recipe5_cast_passed_to_c(seedlib_path, capsys):
    ffi = FFI()
    ffi.cdef("unsigned sum_u8(const uint8_t *p, size_t n);")
    lib = ffi.dlopen(seedlib_path)
    buf = ffi.new("char[16]", b"\x01\x02\x03\x04")
    as_u8 = ffi.cast("uint8_t *", buf)
    print([as_u8[i] for i in range(4)])
    assert capsys.readouterr().out == "[1, 2, 3, 4]\n"
    assert lib.sum_u8(as_u8, 4) == 10
    as_u8[0] = 200
    assert lib.sum_u8(as_u8, 16) == 209


# 002 FAQ "How do I pass a Python list to a C function that expects int *?"
#     arr = ffi.new("int[]", [1, 2, 3, 4])
#     lib.process_ints(arr, 4)
#     Output: C sees a contiguous int[4]; the Python list is unaffected.
def test_cheatsheet_faq_process_ints(seedlib_path):
    ffi = FFI()
    ffi.cdef("int process_ints(int *arr, int n);")
    lib = ffi.dlopen(seedlib_path)
    values = [1, 2, 3, 4]
    arr = ffi.new("int[]", values)
    assert lib.process_ints(arr, 4) == 10
    assert list(arr) == [2, 4, 6, 8]        # C doubled the array in place
    assert values == [1, 2, 3, 4]           # the Python list is unaffected
    # a list passed directly is converted to a temporary int[] (003 s7.2 [1])
    assert lib.process_ints(values, 4) == 10
    assert values == [1, 2, 3, 4]


# 002 "Troubleshooting common errors": OSError: cannot load library 'm'
# (wrong library name) and "OSError: ... undefined symbol" (a declared
# function that the library doesn't export); in-line cffi reports the missing
# symbol when the attribute is read: AttributeError for a function, KeyError
# for a variable
def test_cheatsheet_troubleshooting_load_errors(seedlib_path):
    ffi = FFI()
    ffi.cdef("int nonexistent_fn(int); extern int nonexistent_var;")
    with pytest.raises(OSError) as e:
        ffi.dlopen("no_such_library_rcffi_seed")
    assert str(e.value) == ("ctypes.util.find_library() did not manage to "
                            "locate a library called "
                            "'no_such_library_rcffi_seed'")
    with pytest.raises(OSError) as e:
        ffi.dlopen("/nonexistent/libfoo.so")
    assert str(e.value).startswith(
        "cannot load library '/nonexistent/libfoo.so': "
        "/nonexistent/libfoo.so: cannot open shared object file")
    lib = ffi.dlopen(seedlib_path)
    with pytest.raises(AttributeError) as e:
        lib.nonexistent_fn
    assert str(e.value) == (
        "function/symbol 'nonexistent_fn' not found in library '%s': "
        "%s: undefined symbol: nonexistent_fn" % (seedlib_path, seedlib_path))
    with pytest.raises(KeyError) as e:
        lib.nonexistent_var
    assert e.value.args[0] == (
        "variable 'nonexistent_var' not found in library '%s': "
        "%s: undefined symbol: nonexistent_var" % (seedlib_path, seedlib_path))


# 002 "Cdata lifetime": keep a Python-side reference for as long as C needs
# it --
#     ctx = ffi.new("ctx_t *", [1, 2])
#     lib.async_callback(ctx)
def test_cheatsheet_lifetime_async_callback(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        typedef struct { int a, b; } ctx_t;
        void async_callback(ctx_t *ctx);
        int async_done(void);
    """)
    lib = ffi.dlopen(seedlib_path)
    pending = set()
    ctx = ffi.new("ctx_t *", [1, 2])
    lib.async_callback(ctx)
    pending.add(ctx)              # hold `ctx` until C signals "done"
    del ctx
    gc.collect()
    ffi.new("ctx_t[64]", [[9, 9]] * 64)   # churn the allocator
    assert lib.async_done() == 12          # C reads the memory safely
    pending.clear()


# 002 "Cdata lifetime" / 003 s7.1.12 ffi.gc():
#     raw = lib.foo_alloc(1024)
#     managed = ffi.gc(raw, lib.foo_free)
#     ptr = ffi.gc(lib.custom_malloc(42), lib.custom_free)
def test_ref_7_1_12_gc_with_library_destructor(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        void *foo_alloc(size_t n); void foo_free(void *p);
        void *custom_malloc(size_t n); void custom_free(void *p);
        extern int live_allocs;
    """)
    lib = ffi.dlopen(seedlib_path)
    start = lib.live_allocs
    raw = lib.foo_alloc(1024)
    managed = ffi.gc(raw, lib.foo_free)
    assert lib.live_allocs == start + 1
    assert managed == raw                     # points to the same data
    del raw, managed
    gc.collect()
    assert lib.live_allocs == start           # lib.foo_free(raw) was called

    ptr = ffi.gc(lib.custom_malloc(42), lib.custom_free)
    assert lib.live_allocs == start + 1
    ffi.release(ptr)                          # 003 s7.1.16: called now
    assert lib.live_allocs == start
    ffi.release(ptr)                          # later calls are ignored
    assert lib.live_allocs == start

    ptr = ffi.gc(lib.custom_malloc(42), lib.custom_free)
    raw = ffi.cast("void *", ptr)
    assert ffi.gc(ptr, None) is None          # removes the destructor
    del ptr
    gc.collect()
    assert lib.live_allocs == start + 1
    lib.custom_free(raw)
    assert lib.live_allocs == start


# --------------------------------------------------------------------------
# 003 s6.1 "Working with pointers, structures and arrays"

# p = ffi.new("char[]", "hello, world")    # p is a 'char *'
# q = ffi.new("char **", p)                # q is a 'char **'
# lib.myfunction(q)
def test_ref_6_1_myfunction_char_pointer_pointer(seedlib_path):
    ffi = FFI()
    ffi.cdef("int myfunction(char **q); const char *last_seen(void);")
    lib = ffi.dlopen(seedlib_path)
    p = ffi.new("char[]", b"hello, world")
    q = ffi.new("char **", p)
    assert lib.myfunction(q) == 12
    # p is alive at least until here, so that's fine
    assert ffi.string(lib.last_seen()) == b"hello, world"


# px = ffi.new("int *"); py = ffi.new("int *"); lib.fetch_size(px, py)
#   -OR-  arr = ffi.new("int[2]"); lib.fetch_size(arr, arr + 1)
def test_ref_6_1_fetch_size(seedlib_path):
    ffi = FFI()
    ffi.cdef("void fetch_size(int *x, int *y);")
    lib = ffi.dlopen(seedlib_path)
    px = ffi.new("int *")
    py = ffi.new("int *")
    lib.fetch_size(px, py)
    x = px[0]
    y = py[0]
    assert (x, y) == (640, 480)
    arr = ffi.new("int[2]")
    lib.fetch_size(arr, arr + 1)
    x = arr[0]
    y = arr[1]
    assert (x, y) == (640, 480)


# p_handle = ffi.new("opaque_t **")
# lib.init_stuff(p_handle)  # pass the pointer to the 'handle' pointer
# handle = p_handle[0]      # now we can read 'handle' out of 'p_handle'
# lib.more_stuff(handle)
def test_ref_6_1_init_stuff_opaque_handle(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        typedef ... opaque_t;
        void init_stuff(opaque_t **handle);
        int more_stuff(opaque_t *handle);
    """)
    lib = ffi.dlopen(seedlib_path)
    p_handle = ffi.new("opaque_t **")
    assert p_handle[0] == ffi.NULL
    lib.init_stuff(p_handle)
    handle = p_handle[0]
    assert handle != ffi.NULL
    assert ffi.typeof(handle) is ffi.typeof("opaque_t *")
    assert lib.more_stuff(handle) == 12345


# # void somefunction(int *);
# x = ffi.new("int *")      # allocate one int, and return a pointer to it
# x[0] = 42                 # fill it
# lib.somefunction(x)       # call the C function
# print x[0]                # read the possibly-changed value
def test_ref_6_1_somefunction(seedlib_path, capsys):
    ffi = FFI()
    ffi.cdef("void somefunction(int *);")
    lib = ffi.dlopen(seedlib_path)
    x = ffi.new("int *")
    x[0] = 42
    lib.somefunction(x)
    print(x[0])
    assert capsys.readouterr().out == "85\n"


# --------------------------------------------------------------------------
# 003 s6.3 "An example of calling a main-like thing"

def test_ref_6_3_main_like(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        int main_like(int argv, char *argv[]);
        const char *last_seen(void);
    """)
    lib = ffi.dlopen(seedlib_path)
    # lib.main_like(2, ["arg0", "arg1"]) does not work: the initializer
    # receives Python strings where it expects <cdata 'char *'> objects
    for bad in (["arg0", "arg1"], [b"arg0", b"arg1"]):
        with pytest.raises(TypeError) as e:
            lib.main_like(2, bad)
        assert str(e.value) == (
            "initializer for ctype 'char *' must be a cdata pointer, not %s"
            % type(bad[0]).__name__)
    # the two <cdata 'char[]'> objects are kept alive for the call
    assert lib.main_like(2, [ffi.new("char[]", b"arg0"),
                             ffi.new("char[]", b"arg1")]) == 2
    assert ffi.string(lib.last_seen()) == b"arg0 arg1"
    # a reusable "argv": keep the inner char[] objects alive
    argv_keepalive = [ffi.new("char[]", b"arg0"),
                      ffi.new("char[]", b"arg1"),
                      ffi.new("char[]", b"--verbose")]
    argv = ffi.new("char *[]", argv_keepalive)
    gc.collect()
    assert lib.main_like(3, argv) == 3
    assert ffi.string(lib.last_seen()) == b"arg0 arg1 --verbose"
    assert lib.main_like(2, argv) == 2
    assert ffi.string(lib.last_seen()) == b"arg0 arg1"


# --------------------------------------------------------------------------
# 003 s6.4 "Function calls"

# # int foo(short a, int b);
# n = lib.foo(2, 3)      # returns a normal integer
# lib.foo(40000, 3)      # raises OverflowError
def test_ref_6_4_foo_short_overflow(seedlib_path):
    ffi = FFI()
    ffi.cdef("int foo(short a, int b);")
    lib = ffi.dlopen(seedlib_path)
    n = lib.foo(2, 3)
    assert n == 23 and type(n) is int
    with pytest.raises(OverflowError) as e:
        lib.foo(40000, 3)
    assert str(e.value) == "integer 40000 does not fit 'short'"


# # size_t strlen(const char *);
# assert lib.strlen("hello") == 5
def test_ref_6_4_strlen(capsys):
    ffi = FFI()
    ffi.cdef("size_t strlen(const char *);")
    lib = ffi.dlopen(None)
    assert lib.strlen(b"hello") == 5
    with pytest.raises(TypeError):
        lib.strlen("hello")          # Python 3: a str is not a char *


# # void do_something_with_array(int *array);
# lib.do_something_with_array([1, 2, 3, 4, 5])   # works for int[]
def test_ref_6_4_do_something_with_array(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        void do_something_with_array(int *array);
        extern int last_array_sum;
    """)
    lib = ffi.dlopen(seedlib_path)
    assert lib.do_something_with_array([1, 2, 3, 4, 5]) is None
    assert lib.last_array_sum == 15
    lib.do_something_with_array((10, 20, 30, 40, 50))
    assert lib.last_array_sum == 150


# 003 s7.2 note [1]: "a struct point_s * argument might be passed as
# [[x, y]] or [{'x': 5, 'y': 10}]" -- or, clearer, ffi.new('struct foo_s *',
# initializer) (003 s6.4)
def test_ref_7_2_struct_pointer_argument_from_list(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        struct point_s { int x, y; };
        int point_code(struct point_s *p);
    """)
    lib = ffi.dlopen(seedlib_path)
    assert lib.point_code([[3, 4]]) == 304
    assert lib.point_code([{'x': 5, 'y': 10}]) == 510
    assert lib.point_code(ffi.new("struct point_s *", [7, 8])) == 708
    with pytest.raises(TypeError) as e:
        lib.point_code([3, 4])     # "you need to specify it in a list of 1"
    assert str(e.value) == ("initializer for ctype 'struct point_s' must be a "
                            "list or tuple or dict or struct-cdata, not int")


# # struct foo_s { int a, b; };
# # struct foo_s function_returning_a_struct(void);
# myfoo = lib.function_returning_a_struct()
# # `myfoo`: <cdata 'struct foo_s' owning 8 bytes>
def test_ref_6_4_function_returning_a_struct(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        struct foo_s { int a, b; };
        struct foo_s function_returning_a_struct(void);
    """)
    lib = ffi.dlopen(seedlib_path)
    myfoo = lib.function_returning_a_struct()
    assert repr(myfoo) == "<cdata 'struct foo_s' owning 8 bytes>"
    assert (myfoo.a, myfoo.b) == (20, 22)


# 003 s6.4: functions of a dlopen()ed library are regular cdata function
# pointers (003 s3.8.28 v1.1.0: "in ABI mode, all functions are already
# regular cdata objects"), so they can be passed to C; ffi.addressof(lib,
# "name") gives the same pointer
def test_ref_6_4_abi_functions_are_cdata(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        int add(int a, int b);
        int apply_binop(int (*f)(int, int), int a, int b);
    """)
    lib = ffi.dlopen(seedlib_path)
    assert isinstance(lib.add, ffi.CData)
    assert ffi.typeof(lib.add) is ffi.typeof("int(*)(int, int)")
    assert repr(lib.add).startswith("<cdata 'int(*)(int, int)' 0x")
    p = ffi.addressof(lib, "add")
    assert ffi.typeof(p) is ffi.typeof("int(*)(int, int)")
    assert p == lib.add
    assert p(5, 3) == 8
    assert lib.apply_binop(lib.add, 40, 2) == 42
    assert lib.apply_binop(p, 1, 2) == 3


# 003 s6.4: libffi limitations -- "you cannot pass directly as argument or
# return type: a union (but a *pointer* to a union is fine); a struct which
# uses bitfields (but a *pointer* to such a struct is fine); a struct that
# was declared with "..." in the cdef()"
def test_ref_6_4_libffi_limitations(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        union u_t { int i; float f; };
        int take_union(union u_t u);
        struct bits_t { int a:3, b:5; };
        int take_bits(struct bits_t s);
        struct dotted { int a; ...; };
        int take_dotted(struct dotted);
    """)
    lib = ffi.dlopen(seedlib_path)
    tail = ("supported as argument if the function is 'API mode' and "
            "non-variadic (i.e. declared inside ffibuilder.cdef()+"
            "ffibuilder.set_source() and not taking a final '...' argument)")
    f = lib.take_union                      # getting it is fine...
    assert ffi.typeof(f) is ffi.typeof("int(*)(union u_t)")
    with pytest.raises(NotImplementedError) as e:
        f([5])                              # ...calling it is not
    assert str(e.value) == ("ctype 'union u_t' not supported as argument by "
                            "libffi.  Unions are only " + tail)
    with pytest.raises(NotImplementedError) as e:
        lib.take_bits([1, 2])
    assert str(e.value) == ("ctype 'struct bits_t' not supported as "
                            "argument.  It is a struct with bit fields, which "
                            "libffi does not support.  Such structs are only "
                            + tail)
    # a pointer to such a union/struct is fine
    assert ffi.new("union u_t *", [5])[0].i == 5
    # '...' needs the C compiler (003 s8.4): unusable after dlopen()
    with pytest.raises(VerificationMissing):
        lib.take_dotted
    with pytest.raises(VerificationMissing):
        ffi.new("struct dotted *")


# --------------------------------------------------------------------------
# 003 s6.5 "Variadic function calls"

def test_ref_6_5_variadic_printf(c_stdout):
    ffi = FFI()
    ffi.cdef("int printf(const char *format, ...); int fflush(void *);")
    lib = ffi.dlopen(None)
    with c_stdout:
        results = [
            lib.printf(b"hello, %d\n", ffi.cast("int", 42)),
            lib.printf(b"hello, %ld\n", ffi.cast("long", 42)),
            lib.printf(b"hello, %f\n", ffi.cast("double", 42)),
            lib.printf(b"hello, %s\n", ffi.new("char[]", b"world")),
        ]
        lib.fflush(ffi.NULL)
    assert c_stdout.text == ("hello, 42\n"
                             "hello, 42\n"
                             "hello, 42.000000\n"
                             "hello, world\n")
    assert results == [10, 10, 17, 13]


# lib.printf("hello, %d\n", 42) # doesn't work!
def test_ref_6_5_variadic_needs_cdata(c_stdout):
    ffi = FFI()
    ffi.cdef("int printf(const char *format, ...); int fflush(void *);")
    lib = ffi.dlopen(None)
    with c_stdout:
        with pytest.raises(TypeError) as e:
            lib.printf(b"hello, %d\n", 42)
        with pytest.raises(TypeError) as e2:
            lib.printf(b"%f\n", 4.2)           # float versus double
        lib.fflush(ffi.NULL)
    assert str(e.value) == ("argument 2 passed in the variadic part needs to "
                            "be a cdata object (got int)")
    assert str(e2.value) == ("argument 2 passed in the variadic part needs "
                             "to be a cdata object (got float)")
    assert c_stdout.text == ""                 # nothing was called


# "the function signature int foo(); is interpreted by CFFI as equivalent to
# int foo(void);"
def test_ref_6_5_empty_parameter_list_means_void(seedlib_path):
    ffi = FFI()
    ffi.cdef("int foo_noargs();")
    lib = ffi.dlopen(seedlib_path)
    assert ffi.typeof(lib.foo_noargs) is ffi.typeof("int(*)(void)")
    assert lib.foo_noargs() == 7
    with pytest.raises(TypeError) as e:
        lib.foo_noargs(1)
    assert str(e.value) == "'int(*)()' expects 0 arguments, got 1"


# --------------------------------------------------------------------------
# 003 s6.8 "Callbacks (old style)"

# qsort from libc with a Python comparison function
def test_ref_6_8_qsort_with_callback():
    ffi = FFI()
    ffi.cdef("""
        void qsort(void *base, size_t nmemb, size_t size,
                   int (*compar)(const void *, const void *));
    """)
    C = ffi.dlopen(None)
    calls = []

    @ffi.callback("int(const void *, const void *)")
    def compare(a, b):
        a = ffi.cast("int *", a)[0]
        b = ffi.cast("int *", b)[0]
        calls.append((a, b))
        return (a > b) - (a < b)

    arr = ffi.new("int[]", [5, 3, 9, 1, 7, 3])
    C.qsort(arr, len(arr), ffi.sizeof("int"), compare)
    assert list(arr) == [1, 3, 3, 5, 7, 9]
    assert calls                                # C called back into Python
    # "int(*)(int, int)" and "int(int, int)" give the same callback type
    assert ffi.typeof(ffi.callback("int(*)(const void *, const void *)",
                                   lambda a, b: 0)) is ffi.typeof(compare)


# @ffi.callback("int(int, void *)")
# def my_global_callback(x, handle):
#     return ffi.from_handle(handle).some_method(x)
# class Foo(object):
#     def __init__(self):
#         handle = ffi.new_handle(self)
#         self._handle = handle # must be kept alive
#         lib.register_stuff_with_callback_and_voidp_arg(my_global_callback,
#                                                        handle)
#     def some_method(self, x):
#         print "method called!"
def test_ref_6_8_callback_with_handle(seedlib_path, capsys):
    ffi = FFI()
    ffi.cdef("""
        void register_stuff_with_callback_and_voidp_arg(
                 int (*cb)(int, void *), void *h);
        int fire_stuff(int x);
    """)
    lib = ffi.dlopen(seedlib_path)

    @ffi.callback("int(int, void *)")
    def my_global_callback(x, handle):
        return ffi.from_handle(handle).some_method(x)

    class Foo(object):
        def __init__(self):
            handle = ffi.new_handle(self)
            self._handle = handle         # must be kept alive
            lib.register_stuff_with_callback_and_voidp_arg(my_global_callback,
                                                           handle)

        def some_method(self, x):
            print("method called!")
            return x * 3

    foo = Foo()
    gc.collect()
    assert lib.fire_stuff(14) == 42
    assert capsys.readouterr().out == "method called!\n"
    assert ffi.from_handle(foo._handle) is foo


# 003 s6.8: callbacks of a variadic function type are not supported; the
# workaround gives C a variadic 'c_callback' that collects its int arguments
# and calls 'python_callback(how_many, values)'.  In ABI mode the C part is
# a library and the function-pointer global is written through lib:
#     @ffi.callback("int(int, int *)")
#     def python_callback(how_many, values):
#         print ffi.unpack(values, how_many)
#         return 0
#     lib.python_callback = python_callback
def test_ref_6_8_variadic_callback_workaround(seedlib_path, capsys):
    ffi = FFI()
    ffi.cdef("""
        extern int (*python_callback)(int how_many, int *values);
        int c_callback(int how_many, ...);
    """)
    lib = ffi.dlopen(seedlib_path)
    with pytest.raises(NotImplementedError) as e:
        ffi.callback("int(int, ...)", lambda *args: 0)
    assert str(e.value) == ("int(*)(int, ...): callback with unsupported "
                            "argument or return type or with '...'")

    @ffi.callback("int(int, int *)")
    def python_callback(how_many, values):
        print(ffi.unpack(values, how_many))
        return 0

    assert lib.python_callback == ffi.NULL
    lib.python_callback = python_callback
    assert lib.python_callback == python_callback
    assert lib.c_callback(3, ffi.cast("int", 10), ffi.cast("int", 20),
                          ffi.cast("int", 30)) == 0
    assert capsys.readouterr().out == "[10, 20, 30]\n"
    lib.python_callback = ffi.NULL


# 003 s6.8: the build script declares 'void *const c_callback; /* pass this
# const ptr to C routines */'.  That is an API-mode declaration: in-line ABI
# mode refuses every non-integer constant of a dlopen() library.
def test_ref_6_8_const_pointer_not_in_dlopen_lib(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        void *const c_callback;
        const int my_const_global;
        int *const pc;
    """)
    lib = ffi.dlopen(seedlib_path)
    for name in ['my_const_global', 'c_callback', 'pc']:
        with pytest.raises(NotImplementedError) as e:
            getattr(lib, name)
        assert str(e.value) == ("non-integer constant '%s' cannot be "
                                "accessed from a dlopen() library" % name)


# 003 s6.8 "The ffi.callback() decorator also accepts the optional argument
# error, and from CFFI version 1.2 the optional argument onerror" (described
# in s6.7.4: the exception is printed -- through sys.unraisablehook -- and
# the C-level callback returns 0 or the 'error' value; onerror can provide
# the result, and traceback.tb_frame.f_locals gives the arguments)
def test_ref_6_8_callback_error_and_onerror(seedlib_path, monkeypatch):
    ffi = FFI()
    ffi.cdef("int apply_binop(int (*f)(int, int), int a, int b);")
    lib = ffi.dlopen(seedlib_path)
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    @ffi.callback("int(int, int)")
    def plain(x, y):
        raise ValueError("boom")

    @ffi.callback("int(int, int)", error=-1)
    def with_error(x, y):
        raise ValueError("boom")

    seen = []

    def my_handler(exception, exc_value, traceback):
        seen.append((exception, str(exc_value),
                     traceback.tb_frame.f_locals['x']))
        return 77

    @ffi.callback("int(int, int)", onerror=my_handler)
    def with_onerror(x, y):
        raise ValueError("boom")

    assert lib.apply_binop(plain, 1, 2) == 0
    assert lib.apply_binop(with_error, 1, 2) == -1
    assert len(reported) == 2
    for r in reported:
        assert r.exc_type is ValueError
        assert str(r.exc_value) == "boom"
        assert r.err_msg.startswith("Exception ignored from cffi callback "
                                    "<function ")
    assert lib.apply_binop(with_onerror, 4, 2) == 77
    assert seen == [(ValueError, "boom", 4)]
    assert len(reported) == 2          # onerror handled it: nothing printed


# --------------------------------------------------------------------------
# 003 s6.9 "Windows: calling conventions": __stdcall / WINAPI are accepted
# but ignored on any platform other than 32-bit Windows
#     @ffi.callback("int __stdcall(int, int)")
#     def AddNumbers(x, y):
#         return x + y
#     struct foo_s { int (__stdcall *MyFuncPtr)(int, int); };

def test_ref_6_9_stdcall_ignored(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        struct funcs_s { int (__stdcall *MyFuncPtr)(int, int); };
        int call_via_struct(struct funcs_s *s, int a, int b);
        int WINAPI add(int, int);
        int __cdecl apply_binop(int (*f)(int, int), int a, int b);
    """)
    lib = ffi.dlopen(seedlib_path)

    @ffi.callback("int __stdcall(int, int)")
    def AddNumbers(x, y):
        return x + y

    assert ffi.typeof(AddNumbers) is ffi.typeof("int(*)(int, int)")
    assert lib.apply_binop(AddNumbers, 40, 2) == 42
    s = ffi.new("struct funcs_s *", [AddNumbers])
    assert lib.call_via_struct(s, 1, 2) == 3
    s.MyFuncPtr = lib.add
    assert lib.call_via_struct(s, 10, 2) == 12
    assert lib.add(5, 3) == 8


# --------------------------------------------------------------------------
# 003 s7.1.5 ffi.errno: "the value of errno received from the most recent C
# call in this thread, and passed to the following C call"; 002 FAQ "How do
# I handle errno?": read it immediately after the C call

def test_ref_7_1_5_errno_after_failing_libc_call():
    ffi = FFI()
    ffi.cdef("""
        int close(int fd);
        int open(const char *pathname, int flags, ...);
    """)
    C = ffi.dlopen(None)
    assert C.close(-1) == -1
    assert ffi.errno == errno.EBADF
    assert C.open(b"/nonexistent/rcffi/seed", os.O_RDONLY) == -1
    assert ffi.errno == errno.ENOENT


def test_ref_7_1_5_errno_passed_to_next_call(seedlib_path):
    ffi = FFI()
    ffi.cdef("int fail_with_errno(int e); int get_errno(void);")
    lib = ffi.dlopen(seedlib_path)
    assert lib.fail_with_errno(errno.ERANGE) == -1
    assert ffi.errno == errno.ERANGE
    ffi.errno = 33
    assert lib.get_errno() == 33          # C sees the value we wrote
    result = []

    def other_thread():                   # thread-local
        result.append(ffi.errno)
        ffi.errno = 5
        result.append(lib.get_errno())

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert result[1] == 5
    assert ffi.errno == 33


# --------------------------------------------------------------------------
# 003 s7.1.7 ffi.from_buffer(): "calling a C function with some char * that
# points to the internal buffer of a Python object ... you can directly pass
# ffi.from_buffer(python_buffer) as argument to the call"; 003 s3.8.14 v1.7:
# lib.foo(ffi.from_buffer(x)) with a bytearray

def test_ref_7_1_7_from_buffer_argument(seedlib_path):
    ffi = FFI()
    ffi.cdef("void upcase(char *s, size_t n);")
    lib = ffi.dlopen(seedlib_path)
    ba = bytearray(b"hello, world")
    lib.upcase(ffi.from_buffer(ba), len(ba))
    assert ba == bytearray(b"HELLO, WORLD")
    with pytest.raises(TypeError):
        lib.upcase(ba, len(ba))             # not without from_buffer()
    with ffi.from_buffer(ba) as p:          # 003 s7.1.16
        lib.upcase(p + 7, 1)


# --------------------------------------------------------------------------
# 003 s7.1.10 ffi.addressof(<library>, "name"): "returns the address of the
# named function or global variable from the given library object";
# 003 s3.8.8 v1.10: "now works also in in-line mode ... useful for taking the
# address of global variables"; 003 s8.2: the library object reads and
# writes global variables

def test_ref_7_1_10_addressof_lib_global(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        extern int my_global;
        int read_my_global(void);
    """)
    lib = ffi.dlopen(seedlib_path)
    assert lib.my_global == 42
    p = ffi.addressof(lib, "my_global")
    assert ffi.typeof(p) is ffi.typeof("int *")
    assert p[0] == 42
    p[0] = 7
    assert lib.read_my_global() == 7
    assert lib.my_global == 7
    lib.my_global = 9                         # write through lib
    assert lib.read_my_global() == 9
    assert p[0] == 9
    assert ffi.addressof(lib, "my_global") == p
    lib.my_global = 42


# 003 s7.2.1 note [5]: "To compare their value symbolically, use code like
# if x.field == lib.FOO ... ffi.string(ffi.cast("the_enum_type",
# x.field))"
def test_ref_7_2_enum_field_compared_with_lib_constant(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        enum color { RED, GREEN = 5, BLUE };
        struct with_enum { enum color field; };
        void paint(struct with_enum *x);
    """)
    lib = ffi.dlopen(seedlib_path)
    x = ffi.new("struct with_enum *")
    lib.paint(x)
    assert x.field == lib.GREEN
    assert type(x.field) is int
    assert ffi.string(ffi.cast("enum color", x.field)) == "GREEN"


# --------------------------------------------------------------------------
# 003 s7.1.13 ffi.new_handle() / ffi.from_handle(), the MyDocument.process()
# usage example (the def_extern callback made with ffi.callback in ABI mode)

def test_ref_7_1_13_process_document_with_handle(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        int process_document(int (*cb)(int, int, void *), void *data,
                             int arg1, int arg2);
    """)
    lib = ffi.dlopen(seedlib_path)

    # the actual callback is this one-liner global function:
    @ffi.callback("int(int, int, void *)")
    def my_callback(arg1, arg2, data):
        return ffi.from_handle(data).callback(arg1, arg2)

    class MyDocument:
        def __init__(self):
            self.calls = []

        def process(self):
            h = ffi.new_handle(self)
            return lib.process_document(my_callback,  # the callback
                                        h,            # 'void *data'
                                        6, 7)
            # 'h' stays alive until here

        def callback(self, arg1, arg2):
            self.calls.append((arg1, arg2))
            return arg1 * arg2

    doc = MyDocument()
    assert doc.process() == 42
    assert doc.calls == [(6, 7)]
    other = MyDocument()
    assert other.process() == 42 and other.calls == [(6, 7)]
    assert doc.calls == [(6, 7)]


# --------------------------------------------------------------------------
# 003 s7.1.14 ffi.dlopen(), ffi.dlclose(), ffi.RTLD_...; 003 s8.2 (flags
# default to RTLD_NOW); 003 s3.8.1 v1.11.5 "ABI mode: implemented
# ffi.dlclose() for the in-line case"

def test_ref_7_1_14_dlopen_dlclose(seedlib_path):
    ffi = FFI()
    ffi.cdef("int add(int a, int b); extern int my_global;")
    for name in ['RTLD_LAZY', 'RTLD_NOW', 'RTLD_GLOBAL', 'RTLD_LOCAL',
                 'RTLD_NODELETE', 'RTLD_NOLOAD', 'RTLD_DEEPBIND']:
        assert getattr(ffi, name) == getattr(os, name), name
    lib = ffi.dlopen(seedlib_path)            # flags default to RTLD_NOW
    lib2 = ffi.dlopen(seedlib_path, ffi.RTLD_LAZY | ffi.RTLD_LOCAL)
    assert lib.add(5, 3) == 8 and lib2.add(1, 1) == 2
    add = lib.add                             # read before the close
    assert ffi.dlclose(lib) is None
    for attr in ('add', 'my_global'):
        with pytest.raises(ValueError) as e:
            getattr(lib, attr)
        assert str(e.value) == ("library '%s' has already been closed"
                                % seedlib_path)
    assert ffi.dlclose(lib) is None           # closing twice is ignored
    assert lib2.add(2, 2) == 4    # the other handle keeps the library loaded
    assert add(3, 4) == 7
    ffi.dlclose(lib2)
    # None is the standard C library; it can be closed as well
    ffi_c = FFI()
    ffi_c.cdef("size_t strlen(const char *);")
    C = ffi_c.dlopen(None)
    assert C.strlen(b"abc") == 3
    ffi_c.dlclose(C)
    with pytest.raises(ValueError):
        C.strlen


# --------------------------------------------------------------------------
# 003 s7.1.15 ffi.new_allocator(): "declare and call the C malloc() and
# free() functions ... then call these two functions manually", and
#     my_new = ffi.new_allocator(lib.malloc, lib.free) # at global level
#     with my_new("int[]", n) as my_array:

def test_ref_7_1_15_malloc_free_and_allocator():
    ffi = FFI()
    ffi.cdef("""
        void *malloc(size_t size);
        void free(void *ptr);
    """)
    lib = ffi.dlopen(None)
    n = 100
    p = lib.malloc(n * ffi.sizeof("int"))
    try:
        my_array = ffi.cast("int *", p)
        for i in range(n):
            my_array[i] = i * i
        assert my_array[99] == 9801
    finally:
        lib.free(p)

    # 002 "Performance tuning": ffi.buffer(p, n) -- a zero-copy view of
    # memory that C allocated
    p = lib.malloc(16)
    try:
        buf = ffi.buffer(p, 16)
        buf[:] = b"0123456789abcdef"
        assert ffi.cast("char *", p)[10] == b"a"
        ffi.cast("char *", p)[0] = b"X"
        assert buf[0:4] == b"X123"
    finally:
        lib.free(p)

    my_new = ffi.new_allocator(lib.malloc, lib.free)
    with my_new("int[]", n) as my_array:
        assert ffi.typeof(my_array) is ffi.typeof("int[]")
        assert len(my_array) == n
        assert list(my_array) == [0] * n      # cleared after alloc
        my_array[n - 1] = 5


def test_ref_7_1_15_allocator_calls_free_at_known_point(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        void *custom_malloc(size_t n); void custom_free(void *p);
        void *null_alloc(size_t n);
        extern int live_allocs;
    """)
    lib = ffi.dlopen(seedlib_path)
    start = lib.live_allocs
    my_new = ffi.new_allocator(lib.custom_malloc, lib.custom_free)
    with my_new("int[]", 10) as my_array:
        assert lib.live_allocs == start + 1
        my_array[9] = 1
    assert lib.live_allocs == start           # freed at the end of 'with'
    p = my_new("int *", 3)
    assert p[0] == 3 and lib.live_allocs == start + 1
    del p
    gc.collect()
    assert lib.live_allocs == start
    # "If it returns NULL, a MemoryError is raised"
    with pytest.raises(MemoryError) as e:
        ffi.new_allocator(lib.null_alloc, lib.custom_free)("int[]", 10)
    assert str(e.value) == "alloc() returned NULL"
    # "If only free is None, then no free function is called"
    q = ffi.new_allocator(lib.custom_malloc, None)("int[]", 4)
    raw = ffi.cast("void *", q)
    del q
    gc.collect()
    assert lib.live_allocs == start + 1
    lib.custom_free(raw)
    assert lib.live_allocs == start


# --------------------------------------------------------------------------
# 003 s7.1.17 ffi.init_once() with library calls:
#     def initlib():
#         lib.init_my_library()
#     def make_new_foo():
#         ffi.init_once(initlib, "init")
#         return lib.make_foo()
# and
#     def init_get_max():
#         return lib.initialize_once_and_get_some_maximum_number()
#     def process(i):
#         if i > ffi.init_once(init_get_max, "max"):
#             raise IndexError("index too large!")

def test_ref_7_1_17_init_once_with_library(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        void init_my_library(void);
        int make_foo(void);
        int initialize_once_and_get_some_maximum_number(void);
        extern int n_init_my_library, n_init_max;
    """)
    lib = ffi.dlopen(seedlib_path)
    start_init, start_max = lib.n_init_my_library, lib.n_init_max

    def initlib():
        lib.init_my_library()

    def make_new_foo():
        ffi.init_once(initlib, "init")
        return lib.make_foo()

    assert [make_new_foo() for _ in range(3)] == [101 + start_init] * 3
    assert lib.n_init_my_library == start_init + 1

    def init_get_max():
        return lib.initialize_once_and_get_some_maximum_number()

    def process(i):
        if i > ffi.init_once(init_get_max, "max"):
            raise IndexError("index too large!")
        return i

    assert process(3) == 3
    assert process(10) == 10
    with pytest.raises(IndexError):
        process(11)
    assert lib.n_init_max == start_max + 1


# --------------------------------------------------------------------------
# 003 s7.2 note [2]: "C function calls are done with the GIL released."
# The C function waits (at most ~5 s) for another Python thread to set a
# flag; it can only be set while the call is running if the GIL is released.

def test_ref_7_2_calls_release_the_gil(seedlib_path):
    ffi = FFI()
    ffi.cdef("int wait_for_flag(volatile int *flag);")
    lib = ffi.dlopen(seedlib_path)
    flag = ffi.new("int *")
    started = threading.Event()

    def setter():
        started.wait()
        flag[0] = 1

    t = threading.Thread(target=setter)
    t.start()
    started.set()
    try:
        assert lib.wait_for_flag(flag) == 1
    finally:
        flag[0] = 1
        t.join()


# 003 s3.8.6 v1.11: "Functions returning booleans would in some case still
# return 0 or 1 instead of False or True. Fixed."  003 s8.1: "_Bool and bool
# (equivalent)"
@pytest.mark.parametrize("type_name", ["_Bool", "bool"])
def test_whatsnew_1_11_bool_return(seedlib_path, type_name):
    ffi = FFI()
    ffi.cdef("%s is_even(int x);" % type_name)
    lib = ffi.dlopen(seedlib_path)
    assert lib.is_even(2) is True
    assert lib.is_even(3) is False


# 003 s3.8.10 v1.8.3: "When passing a void * argument to a function with a
# different pointer type, or vice-versa, the cast occurs automatically, like
# in C" -- but not for char * (a TypeError in cffi 2.0)
def test_whatsnew_1_8_3_void_pointer_arguments(seedlib_path):
    ffi = FFI()
    ffi.cdef("""
        int process_ints(int *arr, int n);
        void *custom_malloc(size_t n); void custom_free(void *p);
    """)
    lib = ffi.dlopen(seedlib_path)
    arr = ffi.new("int[]", [1, 2, 3])
    assert lib.process_ints(ffi.cast("void *", arr), 3) == 6  # void* -> int*
    raw = lib.custom_malloc(3 * ffi.sizeof("int"))
    ffi.memmove(raw, arr, 3 * ffi.sizeof("int"))
    assert lib.process_ints(raw, 3) == 12
    lib.custom_free(ffi.cast("int *", raw))          # int * -> void *
    with pytest.raises(TypeError):
        lib.process_ints(ffi.new("char[]", 12), 3)


# --------------------------------------------------------------------------
# 003 s7.2.1 "Support for FILE": "You can declare C functions taking a FILE *
# argument and call them with a Python file object. If needed, you can also
# do c_f = ffi.cast("FILE *", fileobj) and then pass around c_f."

def test_ref_7_2_1_python_file_as_file_pointer(seedlib_path, tmp_path):
    ffi = FFI()
    ffi.cdef("""
        int write_stuff_to_file(FILE *fp);
        int fputs(const char *, FILE *);
        int fflush(FILE *);
    """)
    lib = ffi.dlopen(seedlib_path)
    C = ffi.dlopen(None)
    path = tmp_path / "out.txt"
    with open(str(path), "w") as f:
        f.write("py first\n")
        assert lib.write_stuff_to_file(f) == 21
        assert C.fflush(f) == 0
        c_f = ffi.cast("FILE *", f)
        assert ffi.typeof(c_f) is ffi.typeof("FILE *")
        assert C.fputs(b"via cast\n", c_f) >= 0
        assert C.fflush(c_f) == 0
    assert path.read_text() == ("py first\n"
                                "stuff written from C\n"
                                "via cast\n")


# ffi.cdef('''
#     FILE *fdopen(int, const char *); // from the C <stdio.h>
#     int fclose(FILE *);
# ''')
# myfile.flush() # make sure the file is flushed
# newfd = os.dup(myfile.fileno()) # make a copy of the file descriptor
# fp = lib.fdopen(newfd, "w") # make a cdata 'FILE *' around newfd
# lib.write_stuff_to_file(fp) # invoke the external function
# lib.fclose(fp) # when you're done, close fp (and newfd)
def test_ref_7_2_1_fdopen_explicit_file_pointer(seedlib_path, tmp_path):
    ffi = FFI()
    ffi.cdef('''
        FILE *fdopen(int, const char *); // from the C <stdio.h>
        int fclose(FILE *);
        int write_stuff_to_file(FILE *fp);
    ''')
    lib = ffi.dlopen(seedlib_path)
    path = tmp_path / "out.txt"
    with open(str(path), "w") as myfile:
        myfile.write("before\n")
        myfile.flush()
        newfd = os.dup(myfile.fileno())
        fp = lib.fdopen(newfd, b"w")
        assert fp != ffi.NULL
        assert lib.write_stuff_to_file(fp) == 21
        assert lib.fclose(fp) == 0
        with pytest.raises(OSError):
            os.fstat(newfd)                   # fclose closed newfd
        myfile.write("after\n")
    assert path.read_text() == ("before\n"
                                "stuff written from C\n"
                                "after\n")


# extern globals of libc: 'FILE *' stdout (003 s7.2.1, s8.1 "FILE") and
# 'char **environ' (003 s8.2: "read or write global variables")
def test_ref_8_2_libc_extern_globals(c_stdout, monkeypatch):
    ffi = FFI()
    ffi.cdef("""
        extern FILE *stdout;
        extern char **environ;
        int fputs(const char *, FILE *);
        int fflush(FILE *);
        char *getenv(const char *);
    """)
    C = ffi.dlopen(None)
    assert ffi.typeof(C.stdout) is ffi.typeof("FILE *")
    with c_stdout:
        assert C.fputs(b"through the stdout global\n", C.stdout) >= 0
        C.fflush(C.stdout)
    assert c_stdout.text == "through the stdout global\n"

    monkeypatch.setenv("RCFFI_SEED_ABI", "yes")   # putenv()
    env = C.environ
    assert ffi.typeof(env) is ffi.typeof("char **")
    entries = []
    i = 0
    while env[i] != ffi.NULL:
        entries.append(ffi.string(env[i]))
        i += 1
    assert b"RCFFI_SEED_ABI=yes" in entries
    assert ffi.string(C.getenv(b"RCFFI_SEED_ABI")) == b"yes"
    # 003 s6.1: "reading a NULL pointer returns a <cdata 'type *' NULL>,
    # which you can check for e.g. by comparing it with ffi.NULL"
    missing = C.getenv(b"RCFFI_SEED_ABI_UNSET")
    assert repr(missing) == "<cdata 'char *' NULL>"
    assert missing == ffi.NULL


# --------------------------------------------------------------------------
# 003 s8.6 ffi.include(): "includes the typedefs, structs, unions, enums and
# constants defined in another FFI instance ... You can see on the ffi object
# (and associated lib objects on the including side) the types and
# constants declared on the included side. ... In ABI mode, these [the
# functions and global variables] must be accessed via the original
# other_lib object returned by the dlopen() method on other_ffi."

def test_ref_8_6_include_in_abi_mode(seedlib_path):
    other_ffi = FFI()
    other_ffi.cdef("""
        struct point_s { int x, y; };
        int point_code(struct point_s *p);
        #define PA 5
        enum e1 { E1A = 3 };
    """)
    ffi = FFI()
    ffi.include(other_ffi)
    ffi.cdef("int add(int, int);")
    other_lib = other_ffi.dlopen(seedlib_path)
    lib = ffi.dlopen(seedlib_path)
    assert lib.add(1, 2) == 3
    assert (lib.PA, lib.E1A) == (5, 3)            # constants: visible
    assert sorted(dir(lib)) == ['E1A', 'PA', 'add']
    with pytest.raises(AttributeError):
        lib.point_code                            # functions: via other_lib
    assert other_lib.point_code([[1, 2]]) == 102


def test_ref_8_6_include_shares_types(seedlib_path):
    other_ffi = FFI()
    other_ffi.cdef("""
        struct point_s { int x, y; };
        int point_code(struct point_s *p);
    """)
    ffi = FFI()
    ffi.include(other_ffi)
    other_lib = other_ffi.dlopen(seedlib_path)
    p = ffi.new("struct point_s *", [1, 2])
    assert other_lib.point_code(p) == 102
    assert ffi.typeof("struct point_s *") is \
        other_ffi.typeof("struct point_s *")
