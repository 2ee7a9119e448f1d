"""API mode end to end on rcffi alone: rcffi's C generator builds the module
(ffibuilder.set_source(...) + compile()), rcffi's runtime loads it.  (The
generator is also checked against upstream's runtime in test_api_mode_c.py,
and upstream-built modules against rcffi's in test_upstream_compiled.py.)"""

import shutil
import sys

import pytest

import rcffi
from rcffi import FFI

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None and shutil.which("cc") is None,
    reason="no C compiler")

CDEF = """
    int add(int, int);
    double scale(double, double);
    struct pt { int x; ...; };
    int getx(struct pt *);
    #define N ...
    enum color { RED, GREEN = 5, ... };
    extern int counter;
    typedef int... myint_t;
    extern "Python" int py_cb(int);
    int call_cb(int);
"""

SOURCE = """
    struct pt { int pad; int x; };
    int add(int a, int b) { return a + b; }
    double scale(double a, double b) { return a * b; }
    int getx(struct pt *p) { return p->x; }
    #define N 17
    enum color { BLUE = -1, RED = 2, GREEN = 5 };
    int counter = 5;
    typedef short myint_t;
    static int py_cb(int);
    int call_cb(int a) { return py_cb(a) * 10; }
"""


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    d = tmp_path_factory.mktemp("apimode")
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source("_rcffi_apimode", SOURCE)
    try:
        ffi.compile(tmpdir=str(d))
    except NotImplementedError as e:
        pytest.skip(str(e))
    rcffi.install_as_cffi()
    sys.path.insert(0, str(d))
    try:
        import _rcffi_apimode
    finally:
        sys.path.remove(str(d))
    return _rcffi_apimode


def test_functions_constants_globals(module):
    lib, ffi = module.lib, module.ffi
    assert lib.add(2, 3) == 5
    assert lib.scale(1.5, 4) == 6.0
    assert lib.N == 17
    assert (lib.RED, lib.GREEN) == (2, 5)
    assert lib.counter == 5
    lib.counter = 7
    assert lib.counter == 7
    with pytest.raises(OverflowError):
        lib.add(2 ** 40, 1)


def test_layouts_from_the_compiler(module):
    lib, ffi = module.lib, module.ffi
    assert ffi.sizeof("struct pt") == 8
    assert ffi.offsetof("struct pt", "x") == 4
    p = ffi.new("struct pt *", {'x': 42})
    assert lib.getx(p) == 42
    assert ffi.sizeof("myint_t") == 2


def test_lib_object_as_upstream(module):
    import weakref
    lib = module.lib
    assert repr(lib) == "<Lib object for '_rcffi_apimode'>"
    assert lib.__class__ is type(sys)          # so that help(lib) shows a module
    assert lib.__name__ == "_rcffi_apimode.lib"
    assert "add" in dir(lib) and "add" in lib.__dict__
    # upstream's compiled Lib has no weakref slot, but ffi.verify() returns
    # ours and upstream's verify() libs take weak references
    assert weakref.ref(lib)() is lib


def test_extern_python(module):
    lib, ffi = module.lib, module.ffi

    @ffi.def_extern()
    def py_cb(x):
        return x + 1
    assert lib.call_cb(4) == 50


def test_anonymous_nested_struct_and_union_fields(tmp_path):
    # fields whose type is an unnamed struct/union (glibc's __mbstate_t has one)
    decl = ("typedef struct { int a; union { int b; char c[4]; } v; } T;\n"
            "struct S { struct { int x; } in; };")
    ffi = FFI()
    ffi.cdef(decl)
    ffi.set_source("_rcffi_anon_fields", decl)
    ffi.compile(tmpdir=str(tmp_path))
    rcffi.install_as_cffi()
    sys.path.insert(0, str(tmp_path))
    try:
        import _rcffi_anon_fields as m
    finally:
        sys.path.remove(str(tmp_path))
    p = m.ffi.new("T *")
    p.v.b = 0x01020304
    assert p.v.b == 0x01020304
    assert m.ffi.sizeof("T") == 8
    q = m.ffi.new("struct S *")
    getattr(q, "in").x = 7
    assert getattr(q, "in").x == 7
