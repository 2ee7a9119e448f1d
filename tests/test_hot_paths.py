"""The shortcuts of crates/rcffi/src/hotslots.rs (raw CPython slots for
p[i], p.x and array iteration) must give exactly what the general paths
give: same values, same errors.  These cases sit on both sides of the
shortcuts' limits."""

import pytest

from rcffi import FFI, CDefError

ffi = FFI()
ffi.cdef("""
    struct s { signed char c; short h; int i; long long q;
               unsigned char uc; unsigned int ui; unsigned long long uq;
               float f; double d; _Bool b; int bits : 3; };
""")
ffi.cdef("struct p { char c; int i; double d; };", packed=True)


@pytest.mark.parametrize("field, ok, bad, error", [
    ("c", -128, 128, OverflowError),
    ("h", 32767, -32769, OverflowError),
    ("i", -2**31, 2**31, OverflowError),
    ("q", 2**63 - 1, 2**63, OverflowError),
    ("uc", 255, -1, OverflowError),
    ("ui", 2**32 - 1, 2**32, OverflowError),
    ("uq", 2**64 - 1, -1, OverflowError),
    ("i", 7, 1.5, TypeError),
    ("d", 1.5, "x", TypeError),
])
def test_field_write_limits(field, ok, bad, error):
    s = ffi.new("struct s *")
    setattr(s, field, ok)
    assert getattr(s, field) == ok
    with pytest.raises(error):
        setattr(s, field, bad)
    assert getattr(s, field) == ok


def test_field_conversions_outside_the_shortcut():
    s = ffi.new("struct s *")
    s.d = 3            # int into double: general path
    assert s.d == 3.0 and type(s.d) is float
    s.f = 0.1          # rounded to float
    assert s.f == ffi.cast("float", 0.1)
    s.i = True         # bool is not an exact int
    assert s.i == 1
    s.b = 1
    assert s.b is True
    s.bits = -4        # bitfield
    assert s.bits == -4
    with pytest.raises(OverflowError):
        s.bits = 4


def test_packed_fields_are_unaligned():
    p = ffi.new("struct p *", [b"x", 0x01020304, 2.5])
    assert (p.i, p.d) == (0x01020304, 2.5)
    p.i = -5
    p.d = -0.25
    assert (p.i, p.d) == (-5, -0.25)
    assert ffi.offsetof("struct p", "i") == 1


def test_items_read_write_and_errors():
    a = ffi.new("int[3]", [1, 2, 3])
    a[2] = -7
    assert (a[0], a[2]) == (1, -7)
    with pytest.raises(IndexError, match="index too large"):
        a[3]
    with pytest.raises(IndexError, match="negative index"):
        a[-1] = 0
    with pytest.raises(OverflowError):
        a[0] = 2**31
    p = ffi.new("int *", 5)
    with pytest.raises(IndexError):
        p[1]
    q = ffi.cast("int *", a)
    assert q[2] == -7          # borrowed pointers may index anywhere, as in C
    q[1] = 9
    assert a[1] == 9
    null = ffi.cast("int *", 0)
    with pytest.raises(RuntimeError, match="null pointer"):
        null[0]
    with pytest.raises(RuntimeError):
        null[0] = 1
    d = ffi.new("double[2]")
    d[1] = 2
    assert d[1] == 2.0 and type(d[1]) is float


def test_iteration_sees_the_memory_as_it_goes():
    # items are read when reached, as upstream's iterator does
    a = ffi.new("unsigned short[4]", [1, 2, 3, 4])
    out = []
    for i, x in enumerate(a):
        out.append(x)
        if i + 1 < len(a):
            a[i + 1] += 10
    assert out == [1, 12, 13, 14]
    assert sum(ffi.new("double[3]", [0.5, 1, 2])) == 3.5


# ---- ffi.buffer(p) and buffer[a:b] (buffer_fast.rs) ----------------------

def test_buffer_call_and_slices():
    ffi = FFI()
    a = ffi.new("char[]", b"hello")
    b = ffi.buffer(a)
    assert b[:] == b"hello\0"
    assert (b[1:3], b[-2:], b[10:20], b[::1], b[3:1]) == (
        b"el", b"o\0", b"", b"hello\0", b"")
    assert (b[0], b[-1]) == (b"h", b"\0")
    with pytest.raises(TypeError, match="step != 1"):
        b[::2]
    with pytest.raises(IndexError):
        b[6]
    # the other ways to call it take the generic route, with its rules
    assert ffi.buffer(a, 3)[:] == b"hel"
    assert ffi.buffer(cdata=a)[:] == b"hello\0"
    assert ffi.buffer(a, size=2)[:] == b"he"
    with pytest.raises(TypeError):
        ffi.buffer()
    with pytest.raises(TypeError):
        ffi.buffer(42)
    with pytest.raises(TypeError, match="expected a pointer or array cdata, "
                                        "got cdata 'int'"):
        ffi.buffer(ffi.cast("int", 1))
    with pytest.raises(TypeError, match="don't know the size"):
        ffi.buffer(ffi.cast("void *", 0))


def test_buffer_protocol():
    ffi = FFI()
    a = ffi.new("char[]", b"abc")
    b = ffi.buffer(a)
    assert bytes(b) == b"abc\0" and bytearray(b) == b"abc\0"
    m = memoryview(b)
    assert not m.readonly and len(m) == 4
    m[0:1] = b"X"
    assert a[0] == b"X"
    m.release()
    assert bytes(ffi.buffer(a, 2)) == b"Xb"


def test_buffer_slice_with_bad_index_object():
    ffi = FFI()
    b = ffi.buffer(ffi.new("char[4]"))

    class Bad:
        def __index__(self):
            raise ZeroDivisionError("no")
    with pytest.raises(ZeroDivisionError):
        b[Bad():]


# ---- type strings found by the str object's identity (type_str_cache.rs) --

def test_type_string_cache_follows_new_declarations():
    ffi = FFI()
    ffi.cdef("typedef int foo_t;")
    name = "foo_t"
    assert ffi.typeof(name) is ffi.typeof("int")
    assert ffi.typeof(name) is ffi.typeof(name)
    ffi.cdef("typedef long foo_t;", override=True)
    assert ffi.typeof(name) is ffi.typeof("long")
    # an equal string that is another object gives the same answer
    other = "".join(["foo", "_t"])
    assert other is not name and ffi.typeof(other) is ffi.typeof(name)
    # errors are not cached as answers
    for _ in range(2):
        with pytest.raises(CDefError, match="undefined type name"):
            ffi.typeof("bar_t")
    ffi.cdef("typedef char bar_t;")
    assert ffi.typeof("bar_t") is ffi.typeof("char")


# ---- callbacks: arguments on the stack up to 8, in a tuple beyond (callback.rs)

@pytest.mark.parametrize('n', [0, 1, 8, 9, 12])
def test_callback_argument_counts(n):
    ffi = FFI()
    sig = "int(%s)" % (", ".join(["int"] * n) or "void")
    seen = []

    def f(*args):
        seen.append(args)
        return sum(args) + 1
    cb = ffi.callback(sig, f)
    assert cb(*range(n)) == sum(range(n)) + 1
    assert seen == [tuple(range(n))]


def test_callback_argument_conversion_error_is_reported():
    ffi = FFI()
    # a _Bool argument holding 2 cannot be read: onerror gets the error
    errors = []

    def onerror(exc, val, tb):
        errors.append(exc)
        return 42
    cb = ffi.callback("int(int, _Bool)", lambda a, b: 0, onerror=onerror)
    f = ffi.cast("int(*)(int, char)", cb)
    assert f(1, b"\x02") == 42
    assert errors == [ValueError]


def test_len_of_cdata():
    ffi = FFI()
    assert len(ffi.new("int[7]")) == 7
    assert len(ffi.new("int[]", 5)) == 5
    assert len(ffi.new("char[]", b"ab")) == 3
    for x in (ffi.new("int *"), ffi.cast("int", 3), ffi.NULL):
        with pytest.raises(TypeError, match="has no len"):
            len(x)


# ---- bool/int/float/hash/+/- (numslots.rs) and fields read raw (hotslots.rs)

def test_number_slots_keep_their_rules():
    ffi = FFI()
    ffi.cdef("struct ns_s { int x; struct ns_s *next; }; enum ns_e { NS_A, NS_B = 5 };")
    assert bool(ffi.new("int *")) and not bool(ffi.NULL)
    assert not bool(ffi.cast("int", 0)) and bool(ffi.cast("unsigned char", 7))
    assert not bool(ffi.cast("double", 0.0)) and bool(ffi.cast("float", 0.5))
    assert bool(ffi.cast("enum ns_e", 5)) and not bool(ffi.cast("enum ns_e", 0))
    assert bool(ffi.new("struct ns_s *")[0])
    assert int(ffi.cast("int", -7)) == -7
    assert int(ffi.cast("unsigned long long", 2**64 - 1)) == 2**64 - 1
    assert int(ffi.cast("char", b"A")) == 65 and int(ffi.cast("_Bool", 1)) == 1
    assert int(ffi.cast("double", 2.9)) == 2
    assert int(ffi.cast("enum ns_e", 5)) == 5
    with pytest.raises(TypeError, match="int\\(\\) not supported on cdata 'int \\*'"):
        int(ffi.cast("int *", 1234))
    assert float(ffi.cast("double", 1.5)) == 1.5
    assert float(ffi.cast("float", 0.25)) == 0.25
    with pytest.raises(TypeError, match="float\\(\\) not supported on cdata 'int'"):
        float(ffi.cast("int", 3))
    with pytest.raises(TypeError):
        float(ffi.new("int *"))
    p = ffi.cast("int *", 4096)
    assert hash(p) == hash(ffi.cast("int *", 4096))
    assert hash(ffi.cast("int", 42)) == hash(42)
    a = ffi.new("int[4]", [1, 2, 3, 4])
    assert (a + 1)[0] == 2 and (1 + a)[0] == 2 and (a + 3 - 2)[0] == 2
    q = ffi.cast("int *", a) + 2
    assert q[0] == 3 and (q - 1)[0] == 2 and q - ffi.cast("int *", a) == 2
    with pytest.raises(TypeError):
        1 - q
    with pytest.raises(TypeError):
        q + 1.5
    with pytest.raises(TypeError, match="cannot add a cdata 'int' and a number"):
        ffi.cast("int", 1) + 1
    with pytest.raises(OverflowError):
        q + 2**70
    s = ffi.new("struct ns_s *", [3])
    s.next = s
    assert s.next.x == 3 and s.next.next.x == 3
    assert ffi.typeof(s.next) is ffi.typeof("struct ns_s *")
    n = ffi.cast("struct ns_s *", 0)
    with pytest.raises(RuntimeError, match="NULL pointer"):
        n.next
    with pytest.raises(AttributeError, match="has no field 'nope'"):
        s.nope


def test_initializers_from_sequences():
    ffi = FFI()
    ffi.cdef("struct si_p { int x, y; unsigned char c; };")
    assert ffi.new("struct si_p *", [1, 2, 3]).y == 2
    assert ffi.new("struct si_p *", (1, 2)).y == 2
    assert list(ffi.new("int[3]", (7, 8, 9))) == [7, 8, 9]

    class Rev(list):
        def __iter__(self):
            return reversed(list.__iter__(self).__reduce__()[1][0])
    # a list subclass is read through its own iteration, as upstream does
    assert list(ffi.new("int[3]", Rev([1, 2, 3]))) == [3, 2, 1]
    with pytest.raises(OverflowError):
        ffi.new("struct si_p *", [0, 0, 256])
    with pytest.raises(OverflowError):
        ffi.new("unsigned char[1]", [-1])
    with pytest.raises(TypeError):
        ffi.new("int[2]", [1, "x"])
    assert ffi.new("unsigned long long[1]", [2**64 - 1])[0] == 2**64 - 1
    assert ffi.new("long long[1]", [-2**63])[0] == -2**63


@pytest.mark.parametrize("name", ["new", "cast", "typeof", "sizeof", "string"])
def test_raw_ffi_methods_keep_docs_signatures_and_keywords(name):
    # crates/rcffi/src/fastmethods.rs replaces these five PyO3 methods of
    # the backend's FFI by METH_FASTCALL entries: same doc, same signature,
    # and keyword calls still served (by the PyO3 method kept aside).
    import inspect
    import _cffi_backend
    method = getattr(_cffi_backend.FFI, name)
    assert method.__doc__ and method.__doc__[0].isupper()
    params = list(inspect.signature(method).parameters)
    assert params[0] == "self" and len(params) >= 2
    f = FFI()
    f.cdef("struct kw { int a; };")
    # rcffi's FFI owns copies (fastmethods.rs, _own_methods): same doc
    copy = getattr(type(f), name)
    assert copy.__objclass__ is type(f) and copy.__doc__ == method.__doc__
    p = f.new(cdecl="struct kw *", init=[5])
    assert p.a == 5
    assert f.cast(cdecl="int", source=7) == f.cast("int", 7)
    assert f.typeof(cdecl="int") is f.typeof("int")
    assert f.sizeof(cdecl="struct kw") == 4
    assert f.string(cdata=f.new("char[]", b"hi"), maxlen=1) == b"h"


def test_inline_ffi_owns_the_backend_methods():
    # CPython's fast call path for C methods needs type(ffi) to own the
    # method; rcffi's FFI gets its own copy of each, its Python methods stay
    import _cffi_backend
    cls = type(ffi)
    for name in ("new", "cast", "offsetof", "addressof", "gc", "from_handle"):
        assert getattr(cls, name).__objclass__ is cls, name
        assert getattr(_cffi_backend.FFI, name).__objclass__ is _cffi_backend.FFI
    assert cls.cdef is not getattr(_cffi_backend.FFI, "cdef", None)
    assert cls.__init__ is not _cffi_backend.FFI.__init__    # no dunders
    with pytest.raises(TypeError):
        _cffi_backend._own_methods(int)
    with pytest.raises(TypeError):
        _cffi_backend._own_methods(_cffi_backend.FFI)
    # and they behave as the backend's
    p = ffi.new("int[3]", [1, 2, 3])
    assert ffi.addressof(p, 2)[0] == 3
    assert ffi.from_handle(ffi.new_handle(cls)) is cls
