"""API mode across implementations: a C extension module compiled by upstream
cffi 2.0.0 (``set_source(name, "<C code>")`` + ``compile()``) imports and runs
on rcffi.  Its init function calls ``_cffi_backend._init_cffi_1_0_external_module``
and its wrappers call the conversion functions of the table rcffi hands it.

The module is built in a subprocess by an interpreter that has upstream cffi
(``$RCFFI_UPSTREAM_PYTHON``, else ``python3`` on PATH, run without rcffi on its
path) and the same Python version as this one; skipped without one.
"""

import shutil
import subprocess
import sys
import textwrap

import pytest

import rcffi
import upstream_python as upstream_python_

CDEF = r"""
int add(int, int);
double half(double);
int *nxt(int *);
#define K 42
static const int K2;
enum e { A, B=5 };
struct pt { int x, y; ...; };
int sum(struct pt *);
struct pt mk(int, int);
extern int gv;
int noargs(void);
unsigned char uc(unsigned char);
extern "Python" int py_twice(int);
extern "Python" double py_mix(int, double, struct pt *);
int call_twice(int);
double call_mix(int, double);
extern "Python" int py_unattached(int);
int call_unattached(int);
"""

SOURCE = r"""
int add(int a, int b) { return a + b; }
double half(double x) { return x / 2; }
int *nxt(int *p) { return p + 1; }
static const int K2 = -7;
enum e { A, B=5 };
struct pt { int pad; int x, y; };
int sum(struct pt *p) { return p->x + p->y; }
struct pt mk(int a, int b) { struct pt r = {0, a, b}; return r; }
int gv = 3;
int noargs(void) { return 9; }
unsigned char uc(unsigned char c) { return c + 1; }
#define K 42
static int py_twice(int);
static double py_mix(int, double, struct pt *);
static int py_unattached(int);
int call_twice(int a) { return py_twice(a) + 1; }
double call_mix(int a, double b) { struct pt p = {0, 10, 20}; return py_mix(a, b, &p); }
int call_unattached(int a) { return py_unattached(a); }
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    exe = upstream_python_.find(same_version=True)
    if exe is None:
        pytest.skip("no interpreter with upstream cffi 2.0.0 of this Python version")
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("upcompiled")
    script = textwrap.dedent("""
        import cffi, sys
        ffi = cffi.FFI()
        ffi.cdef(%r)
        ffi.set_source("_rcffi_upmod", %r)
        ffi.compile(tmpdir=sys.argv[1])
    """) % (CDEF, SOURCE)
    r = subprocess.run([exe, "-c", script, str(d)], env=upstream_python_.clean_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rcffi.install_as_cffi()
    import _cffi_backend
    assert _cffi_backend is rcffi._backend
    sys.path.insert(0, str(d))
    try:
        import _rcffi_upmod
    finally:
        sys.path.remove(str(d))
    return _rcffi_upmod


def test_functions(compiled):
    lib = compiled.lib
    assert lib.add(2, 3) == 5
    assert lib.half(5.0) == 2.5
    assert lib.half(5) == 2.5
    assert lib.noargs() == 9
    assert lib.uc(254) == 255
    with pytest.raises(OverflowError):
        lib.add(2**40, 1)
    with pytest.raises(OverflowError):
        lib.uc(256)
    with pytest.raises(TypeError):
        lib.add("x", 1)
    with pytest.raises(TypeError):
        lib.add(1)
    assert "int add(int, int);" in lib.add.__doc__


def test_constants_and_variables(compiled):
    lib = compiled.lib
    assert (lib.K, lib.K2, lib.A, lib.B) == (42, -7, 0, 5)
    assert lib.gv == 3
    lib.gv = 10
    assert lib.gv == 10
    assert compiled.ffi.addressof(lib, "gv")[0] == 10
    lib.gv = 3
    with pytest.raises(AttributeError):
        lib.nope
    assert {"add", "gv", "K", "A"} <= set(dir(lib))
    assert sys.modules["_rcffi_upmod.lib"] is lib


def test_pointers_and_structs(compiled):
    ffi, lib = compiled.ffi, compiled.lib
    # The layout is the compiler's: the C struct has a field the cdef does not name.
    assert ffi.sizeof("struct pt") == 12
    assert ffi.offsetof("struct pt", "x") == 4
    p = ffi.new("struct pt *", {"x": 4, "y": 5})
    assert lib.sum(p) == 9
    a = ffi.new("int[3]", [1, 2, 3])
    assert lib.nxt(a)[0] == 2
    assert lib.nxt([7, 8])[0] == 8
    r = lib.mk(7, 8)
    assert ffi.typeof(r) is ffi.typeof("struct pt")
    assert (r.x, r.y) == (7, 8)
    assert ffi.addressof(lib, "add")(1, 2) == 3


def test_extern_python(compiled, capfd):
    ffi, lib = compiled.ffi, compiled.lib

    @ffi.def_extern()
    def py_twice(x):
        return 2 * x
    assert lib.call_twice(20) == 41

    @ffi.def_extern(name="py_mix", error=-1.0)
    def mix(a, b, p):
        return a + b + p.x + p.y
    assert lib.call_mix(1, 0.5) == 31.5

    # redefinition replaces the function, as the docs say
    @ffi.def_extern()
    def py_twice(x):
        return 3 * x
    assert lib.call_twice(20) == 61

    # an exception returns 'error' and is reported as unraisable
    @ffi.def_extern(name="py_mix", error=-1.0)
    def mix2(a, b, p):
        raise ValueError("boom")
    seen = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        assert lib.call_mix(1, 0.5) == -1.0
    finally:
        sys.unraisablehook = old_hook
    assert [type(u.exc_value) for u in seen] == [ValueError]

    # never attached: a message, and 0
    assert lib.call_unattached(5) == 0
    assert "no code was attached to it yet" in capfd.readouterr().err

    with pytest.raises(ffi.error):
        ffi.def_extern(name="add")(lambda a, b: 0)
    with pytest.raises(ffi.error):
        ffi.def_extern(name="nothing_like_this")(lambda: 0)
