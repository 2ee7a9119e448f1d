"""Calls into C and back: calling function pointers through libffi (argument
rules, variadic calls, structs by value, errno, FILE *), callbacks (from any
thread, errors, onerror, lifetime, garbage collection) and load_library().
Behaviour and messages are upstream cffi's unless a comment says otherwise."""
import gc
import subprocess
import sys
import threading
import time

import pytest

from rcffi import FFI
import rcffi._backend as B


@pytest.fixture
def ffi():
    ffi = FFI()
    ffi.cdef("""
        size_t strlen(const char *);
        int abs(int);
        int snprintf(char *, size_t, const char *, ...);
        size_t wcslen(const wchar_t *);
        void qsort(void *, size_t, size_t, int (*)(const void *, const void *));
        int fputs(const char *, FILE *);
        int usleep(unsigned int);
        struct pt { int x; double y; char c; };
        typedef void *(*thread_fn)(void *);
        int pthread_create(unsigned long *, void *, thread_fn, void *);
        int pthread_join(unsigned long, void **);
    """)
    return ffi


@pytest.fixture
def C(ffi):
    return ffi.dlopen(None)


# --------------------------------------------------------------------------
# calls

def test_pointer_arguments(ffi, C):
    assert C.strlen(b"hello") == 5                      # bytes, not copied
    assert C.strlen([b"a", b"b", b"\0"]) == 2           # list -> temporary array
    assert C.strlen(ffi.new("char[]", b"abc")) == 3
    assert C.wcslen(u"h\u1234llo") == 5                 # str for wchar_t *
    with pytest.raises(TypeError) as e:
        C.strlen(None)                                  # None is not NULL
    assert str(e.value) == ("initializer for ctype 'char *' must be a cdata "
                            "pointer, not NoneType")
    with pytest.raises(TypeError) as e:
        C.strlen(u"abc")
    assert str(e.value) == ("initializer for ctype 'char *' must be a bytes "
                            "or list or tuple, not str")


def test_argument_count_and_keywords():
    BInt = B.new_primitive_type("int")
    f = B.cast(B.new_function_type((BInt,), BInt), 1)
    with pytest.raises(TypeError) as e:
        f()
    assert str(e.value) == "'int(*)(int)' expects 1 arguments, got 0"
    with pytest.raises(TypeError) as e:
        f(x=1)
    assert str(e.value) == ("a cdata function cannot be called with keyword "
                            "arguments")
    fv = B.cast(B.new_function_type((BInt,), BInt, True), 1)
    with pytest.raises(TypeError) as e:
        fv()
    assert str(e.value) == "'int(*)(int, ...)' expects at least 1 arguments, got 0"


def test_null_function_pointer():
    f = B.cast(B.new_function_type((), B.new_primitive_type("int")), 0)
    with pytest.raises(RuntimeError) as e:
        f()
    assert str(e.value) == "cannot call null pointer pointer from cdata 'int(*)()'"


def test_variadic_arguments(ffi, C):
    buf = ffi.new("char[100]")
    n = C.snprintf(buf, 100, b"%d %s %c %ld %.2f %hhd",
                   ffi.cast("int", -5), ffi.new("char[]", b"hi"),
                   ffi.cast("char", b"x"), ffi.cast("long", 1 << 40),
                   ffi.cast("double", 2.5), ffi.cast("signed char", -3))
    assert ffi.string(buf) == b"-5 hi x 1099511627776 2.50 -3"
    assert n == len(ffi.string(buf))
    # a float is promoted to double, as in C (upstream passes it unpromoted)
    C.snprintf(buf, 100, b"%.3f", ffi.cast("float", 1.5))
    assert ffi.string(buf) == b"1.500"
    with pytest.raises(TypeError) as e:
        C.snprintf(buf, 100, b"%d", 42)
    assert str(e.value) == ("argument 4 passed in the variadic part needs to "
                            "be a cdata object (got int)")


def test_struct_by_value(ffi):
    @ffi.callback("struct pt(struct pt, int)")
    def twice(p, n):
        return {'x': p.x * n, 'y': p.y * n, 'c': p.c}
    res = twice({'x': 3, 'y': 1.25, 'c': b'z'}, 2)
    assert (res.x, res.y, res.c) == (6, 2.5, b'z')
    assert repr(res) == "<cdata 'struct pt' owning 24 bytes>"


def test_structs_libffi_cannot_pass():
    BInt = B.new_primitive_type("int")
    U = B.new_union_type("union u")
    B.complete_struct_or_union(U, [('a', BInt, -1)])
    S = B.new_struct_type("struct bits")
    B.complete_struct_or_union(S, [('a', BInt, 3)])
    for T, why in [(U, "by libffi.  Unions are only supported as argument"),
                   (S, "It is a struct with bit fields")]:
        BFunc = B.new_function_type((T,), BInt)      # declaring is fine
        with pytest.raises(NotImplementedError) as e:
            B.cast(BFunc, 1)(B.newp(B.new_pointer_type(T))[0])
        assert why in str(e.value)
    incomplete = B.new_struct_type("struct later")
    with pytest.raises(TypeError) as e:
        B.new_function_type((incomplete,), BInt)
    assert str(e.value) == "ctype 'struct later' has incomplete type"
    with pytest.raises(TypeError) as e:
        B.new_function_type((), incomplete)
    assert str(e.value) == "result type 'struct later' is not yet initialized"


def test_long_double_round_trip(ffi):
    f = ffi.callback("long double(long double)", lambda x: x)
    x = ffi.cast("long double", 1.25)
    assert float(f(x)) == 1.25 and float(f(2.5)) == 2.5


def test_errno(ffi):
    def cb():
        ffi.errno = ffi.errno + 1
    f = ffi.callback("void(void)", cb)
    ffi.errno = 41
    f()
    assert ffi.errno == 42


def test_gil_released_during_calls(C):
    t0 = time.time()
    threads = [threading.Thread(target=C.usleep, args=(200000,))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.time() - t0 < 1.0


def test_file_arguments(ffi, C, tmp_path):
    path = tmp_path / "out.txt"
    with open(path, "wb") as f:
        f.write(b"[")
        C.fputs(b"from C", f)          # Python's buffer is flushed first
        f.write(b"][")
        C.fputs(b"again", f)           # C's FILE is unbuffered
        f.write(b"]")
    assert path.read_bytes() == b"[from C][again]"


# --------------------------------------------------------------------------
# callbacks

def test_callback_sorts(ffi, C):
    @ffi.callback("int(void *, void *)")
    def cmp(a, b):
        x, y = ffi.cast("int *", a)[0], ffi.cast("int *", b)[0]
        return (x > y) - (x < y)
    arr = ffi.new("int[]", [5, 3, 9, 1])
    C.qsort(arr, 4, ffi.sizeof("int"), cmp)
    assert list(arr) == [1, 3, 5, 9]


def test_callback_from_threads_python_did_not_create(ffi, C):
    seen = []
    @ffi.callback("thread_fn")
    def body(arg):
        seen.append(int(ffi.cast("long", arg)))
        return ffi.cast("void *", 1234)
    tids = []
    for i in range(4):
        tid = ffi.new("unsigned long *")
        assert C.pthread_create(tid, ffi.NULL, body, ffi.cast("void *", i)) == 0
        tids.append(tid[0])
    for t in tids:
        res = ffi.new("void **")
        assert C.pthread_join(t, res) == 0
        assert int(ffi.cast("long", res[0])) == 1234
    assert sorted(seen) == [0, 1, 2, 3]


def test_callback_errors(ffi, monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    def boom(x):
        raise ValueError("boom")
    f = ffi.callback("short(short)", boom, -42)
    assert f(1) == -42
    assert "from cffi callback <function " in reports[-1].err_msg
    assert str(reports[-1].exc_value) == "boom"
    f = ffi.callback("short(short)", lambda x: x * 1000, error=-1)
    assert f(100) == -1
    assert reports[-1].err_msg.endswith(", trying to convert the result back to C")
    assert str(reports[-1].exc_value) == "integer 100000 does not fit 'short'"
    seen = []
    def onerror(exc, val, tb):
        seen.append(exc)
        return 7
    n = len(reports)
    f = ffi.callback("short(short)", boom, -42, onerror)
    assert f(1) == 7 and seen == [ValueError] and len(reports) == n
    g = ffi.callback("void(void)", lambda: 5)
    g()
    assert str(reports[-1].exc_value) == ("callback with the return type "
                                          "'void' must return None")


def test_callback_argument_checks(ffi):
    BInt = B.new_primitive_type("int")
    with pytest.raises(TypeError) as e:
        B.callback(BInt, lambda: 0)
    assert str(e.value) == "expected a function ctype, got 'int'"
    with pytest.raises(TypeError) as e:
        B.callback(B.new_function_type((), BInt), 42)
    assert str(e.value) == "expected a callable object, not int"
    with pytest.raises(NotImplementedError) as e:
        B.callback(B.new_function_type((BInt,), BInt, True), lambda *a: 0)
    assert str(e.value) == ("int(*)(int, ...): callback with unsupported "
                            "argument or return type or with '...'")


def test_callback_repr(ffi):
    def cb(n):
        return n
    f = ffi.callback("int(int)", cb)
    assert repr(f).startswith("<cdata 'int(*)(int)' calling <function ")
    assert "cb at 0x" in repr(f)


def test_callback_cycle_is_collected(ffi):
    import weakref
    class Data(object):
        pass
    def make(data):
        container = [data]
        cb = ffi.callback("int()", lambda: len(container))
        container.append(cb)
        return cb
    data = Data()
    cb = make(data)
    wr = weakref.ref(data)
    del cb, data
    gc.collect()
    assert wr() is None


def test_callback_may_die_during_its_call():
    # in a subprocess: a crash must not take the test run down
    code = """if 1:
        import gc
        import rcffi._backend as B
        BInt = B.new_primitive_type("int")
        F = B.new_function_type((BInt,), BInt)
        holder = {}
        def cb(x):
            del holder['f']; gc.collect()
            raise ValueError("after self-delete")
        holder['f'] = B.callback(F, cb, -7, lambda *a: None)
        g = B.cast(F, B.cast(B.new_pointer_type(B.new_void_type()), holder['f']))
        print(g(1))
    """
    proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "-7"


# --------------------------------------------------------------------------
# load_library()

def test_load_library():
    lib = B.load_library(None)
    assert repr(lib) == "<clibrary '<None>'>"
    BVoidP = B.new_pointer_type(B.new_void_type())
    assert lib.load_function(BVoidP, "strlen")
    with pytest.raises(AttributeError) as e:
        lib.load_function(BVoidP, "no_such_function_xyz")
    assert str(e.value).startswith(
        "function/symbol 'no_such_function_xyz' not found in library '<None>': ")
    with pytest.raises(KeyError):
        lib.read_variable(BVoidP, "no_such_variable_xyz")
    with pytest.raises(TypeError) as e:
        lib.load_function(B.new_primitive_type("int"), "strlen")
    assert str(e.value) == "function or pointer or array cdata expected, got 'int'"
    lib.close_lib()
    with pytest.raises(ValueError) as e:
        lib.load_function(BVoidP, "strlen")
    assert str(e.value) == "library '<None>' has already been closed"
    lib.close_lib()
    with pytest.raises(OSError) as e:
        B.load_library("no_such_lib_xyz.so")
    assert str(e.value).startswith("cannot load library 'no_such_lib_xyz.so': ")


def test_testfunc():
    BInt = B.new_primitive_type("int")
    f = B.cast(B.new_function_type((BInt,), BInt, True), B._testfunc(9))
    assert f(2, B.cast(BInt, 40), B.cast(BInt, 2)) == 42
    with pytest.raises(ValueError):
        B._testfunc(1000)
