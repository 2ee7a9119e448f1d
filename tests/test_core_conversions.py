"""Conversions between Python and C: ffi.new() with initializers, item and
field assignment, range and type errors (the exception types and messages
are upstream cffi 2.0's), indexing and slicing, ffi.string() and
ffi.unpack()."""
import pytest

from rcffi import FFI


DECLS = """
    struct pt { int x, y; };
    struct nest { struct pt a; int arr[3]; char name[4]; };
    union u { int i; char c[4]; };
    struct vs { int n; short v[]; };
    enum e2 { NEG = -5, ZERO };
"""


@pytest.fixture
def ffi():
    ffi = FFI()
    ffi.cdef(DECLS)
    return ffi


def raises(exc, message, func, *args):
    with pytest.raises(exc) as e:
        func(*args)
    if message is not None:
        assert str(e.value) == message
    return e


# --------------------------------------------------------------------------
# integers

@pytest.mark.parametrize("ctype,value,message", [
    ("int", 2**31, "integer 2147483648 does not fit 'int'"),
    ("int", -2**31 - 1, "integer -2147483649 does not fit 'int'"),
    ("unsigned int", 2**32, "integer 4294967296 does not fit 'unsigned int'"),
    ("unsigned int", -1, "can't convert negative number to unsigned"),
    ("signed char", 128, "integer 128 does not fit 'signed char'"),
    ("signed char", -129, "integer -129 does not fit 'signed char'"),
    ("short", 40000, "integer 40000 does not fit 'short'"),
    ("unsigned short", 65536, "integer 65536 does not fit 'unsigned short'"),
    ("_Bool", 2, "integer 2 does not fit '_Bool'"),
    ("uint64_t", 2**64, None),
    ("int64_t", 2**63, None),
    ("int64_t", -2**63 - 1, None),
    ("_Bool", -1, None),
])
def test_integer_overflow(ffi, ctype, value, message):
    raises(OverflowError, message, ffi.new, ctype + " *", value)
    p = ffi.new(ctype + "[1]")
    raises(OverflowError, message, p.__setitem__, 0, value)


@pytest.mark.parametrize("ctype,value", [
    ("int", 2**31 - 1), ("int", -2**31), ("unsigned int", 2**32 - 1),
    ("signed char", -128), ("unsigned char", 255), ("short", -32768),
    ("uint64_t", 2**64 - 1), ("int64_t", -2**63), ("int64_t", 2**63 - 1),
    ("size_t", 2**64 - 1), ("ssize_t", -1), ("_Bool", 1), ("_Bool", 0),
])
def test_integer_limits_round_trip(ffi, ctype, value):
    p = ffi.new(ctype + " *", value)
    assert p[0] == value
    assert type(p[0]) is (bool if ctype == "_Bool" else int)


@pytest.mark.parametrize("value", ["5", 5.0, 1 + 0j, b"5"])
def test_integer_needs_an_integer(ffi, value):
    raises(TypeError, None, ffi.new, "int *", value)


def test_integer_from_bool_none_and_cdata(ffi):
    assert ffi.new("int *", True)[0] == 1
    assert ffi.new("int *", None)[0] == 0        # None means "zero"
    assert ffi.new("int *", ffi.cast("long", 5))[0] == 5
    raises(OverflowError, "can't convert negative number to unsigned",
           ffi.new, "unsigned char *", ffi.cast("int", -1))
    raises(TypeError, "an integer is required",
           ffi.new, "int *", ffi.cast("double", 5.0))


# --------------------------------------------------------------------------
# floats, complex

def test_floats(ffi):
    assert ffi.new("float *", 1e300)[0] == float("inf")
    assert ffi.new("float *", float("inf"))[0] == float("inf")
    nan = ffi.new("double *", float("nan"))[0]
    assert nan != nan
    assert ffi.new("double *", 3)[0] == 3.0
    assert ffi.new("float *", 0.1)[0] == 0.10000000149011612
    raises(TypeError, "must be real number, not str",
           ffi.new, "double *", "1.5")
    raises(TypeError, "must be real number, not str",
           ffi.new, "float *", "x")


def test_double_from_int_cdata_refused(ffi):
    raises(TypeError, "float() not supported on cdata 'int'",
           ffi.new, "double *", ffi.cast("int", 5))


def test_double_from_double_cdata(ffi):
    assert ffi.new("double *", ffi.cast("float", 1.5))[0] == 1.5
    assert ffi.new("double *", ffi.cast("long double", 2.5))[0] == 2.5


def test_complex_from_str_is_type_error(ffi):
    raises(TypeError, None, ffi.new, "double _Complex *", "x")


def test_long_double(ffi):
    p = ffi.new("long double *", 1.5)
    assert repr(p[0]) == "<cdata 'long double' 1.500000E+00>"
    assert float(p[0]) == 1.5


# --------------------------------------------------------------------------
# characters

def test_char_initializers(ffi):
    for bad, what in [(300, "int"), (b"", "bytes"), (b"ab", "bytes"),
                      (u"a", "str")]:
        raises(TypeError, "initializer for ctype 'char' must be a bytes of "
               "length 1, not %s" % what, ffi.new, "char *", bad)
    assert ffi.new("char *", b"\xff")[0] == b"\xff"


def test_wide_char_initializers(ffi):
    assert ffi.new("char32_t *", u"\U0001F600")[0] == u"\U0001F600"
    assert ffi.new("wchar_t *", u"\U0001F600")[0] == u"\U0001F600"
    assert ffi.new("char16_t *", u"\uffff")[0] == u"\uffff"
    with pytest.raises(TypeError) as e:
        ffi.new("wchar_t *", u"ab")
    assert str(e.value).startswith("initializer for ctype 'char32_t' must "
                                   "be a unicode string of length 1, not ")
    with pytest.raises(TypeError) as e:
        ffi.new("char16_t *", u"\U0001F600")
    assert str(e.value).startswith("initializer for ctype 'char16_t' must "
                                   "be a unicode string of length 1")


def test_char16_error_message_names_the_problem(ffi):
    raises(TypeError, "initializer for ctype 'char16_t' must be a unicode "
           "string of length 1, not larger-than-0xFFFF character",
           ffi.new, "char16_t *", u"\U0001F600")


# --------------------------------------------------------------------------
# arrays

def test_array_initializers(ffi):
    assert list(ffi.new("char[3]", b"abc")) == [b"a", b"b", b"c"]  # no NUL
    assert list(ffi.new("char[3]", b"ab")) == [b"a", b"b", b"\x00"]
    assert list(ffi.new("char[]", b"")) == [b"\x00"]
    assert list(ffi.new("wchar_t[2]", u"ab")) == [u"a", u"b"]
    assert list(ffi.new("unsigned char[]", b"abc")) == [97, 98, 99, 0]
    assert list(ffi.new("signed char[]", b"\xff")) == [-1, 0]
    assert list(ffi.new("uint8_t[]", b"\xff")) == [255, 0]
    assert list(ffi.new("_Bool[]", [True, 0])) == [True, False]
    assert list(ffi.new("int[]", 0)) == []
    assert list(ffi.new("int[0]")) == []
    assert list(ffi.new("int[2]", ffi.new("int[2]", [7, 8]))) == [7, 8]
    m = ffi.new("int[][2]", [[1, 2], [3, 4]])
    assert len(m) == 2 and list(m[1]) == [3, 4]
    assert len(ffi.new("int[][2]", 3)) == 3
    assert list(ffi.new("char *[]", [ffi.NULL])) == [ffi.NULL]


@pytest.mark.parametrize("ctype,init,exc,message", [
    ("int[2]", [1, 2, 3], IndexError,
     "too many initializers for 'int[2]' (got 3)"),
    ("int[]", [1, "x"], TypeError, "an integer is required"),
    ("int[2]", {0: 1}, TypeError,
     "initializer for ctype 'int[2]' must be a list or tuple, not dict"),
    ("char[3]", b"abcd", IndexError,
     "initializer bytes is too long for 'char[3]' (got 4 characters)"),
    ("wchar_t[2]", u"abc", IndexError,
     "initializer unicode is too long for 'wchar_t[2]' (got 3 characters)"),
    ("int[]", -1, ValueError, "negative array length"),
    ("int[2][2]", [[1, 2, 3]], IndexError,
     "too many initializers for 'int[2]' (got 3)"),
    ("int[3]", range(3), TypeError,
     "initializer for ctype 'int[3]' must be a list or tuple, not range"),
    ("int[]", range(3), TypeError,
     "expected new array length or list/tuple/str, not range"),
    ("int[]", b"abc", TypeError,
     "initializer for ctype 'int[]' must be a list or tuple, not bytes"),
    ("int *[2]", [None, 0], TypeError,
     "initializer for ctype 'int *' must be a cdata pointer, not NoneType"),
])
def test_array_initializer_errors(ffi, ctype, init, exc, message):
    raises(exc, message, ffi.new, ctype, init)


def test_array_from_other_array_type_refused(ffi):
    raises(TypeError, "initializer for ctype 'int[3]' must be a list or "
           "tuple, not cdata 'int[2]'", ffi.new, "int[3]", ffi.new("int[2]"))
    raises(TypeError, "initializer for ctype 'int[2]' must be a list or "
           "tuple, not cdata 'long[2]'", ffi.new, "int[2]", ffi.new("long[2]"))


def test_array_from_generator_refused(ffi):
    with pytest.raises(TypeError) as e:
        ffi.new("int[3]", (x for x in [1, 2]))
    assert str(e.value) == ("initializer for ctype 'int[3]' must be a list "
                            "or tuple, not generator")


def test_cannot_instantiate_void(ffi):
    raises(TypeError, "cannot instantiate ctype 'void' of unknown size",
           ffi.new, "void *")
    assert ffi.new("void **")[0] == ffi.NULL


# --------------------------------------------------------------------------
# structs and unions

def test_struct_initializers(ffi):
    p = ffi.new("struct pt *", [1])
    assert (p.x, p.y) == (1, 0)
    p = ffi.new("struct pt *", (1, 2))
    assert (p.x, p.y) == (1, 2)
    n = ffi.new("struct nest *", [[1, 2], [3, 4, 5], b"abc"])
    assert (n.a.x, n.a.y, list(n.arr), ffi.string(n.name)) == \
        (1, 2, [3, 4, 5], b"abc")
    n = ffi.new("struct nest *", {'a': {'y': 7}, 'name': b"xy"})
    assert (n.a.x, n.a.y, list(n.arr), ffi.string(n.name)) == \
        (0, 7, [0, 0, 0], b"xy")
    n = ffi.new("struct nest *", {'name': b"abcd"})   # exactly, no NUL
    assert ffi.string(n.name) == b"abcd"


@pytest.mark.parametrize("ctype,init,exc,message", [
    ("struct pt *", [1, 2, 3], ValueError,
     "too many initializers for 'struct pt' (got 3)"),
    ("struct pt *", {'z': 1}, KeyError, "'z'"),
    ("struct pt *", 5, TypeError,
     "initializer for ctype 'struct pt' must be a list or tuple or dict or "
     "struct-cdata, not int"),
    ("struct nest *", [[1, 2], [3, 4, 5, 6]], IndexError,
     "too many initializers for 'int[3]' (got 4)"),
    ("union u *", [1, 2], ValueError,
     "too many initializers for 'union u' (got 2)"),
    ("struct vs *", {'v': -1}, ValueError, "negative array length"),
])
def test_struct_initializer_errors(ffi, ctype, init, exc, message):
    raises(exc, message, ffi.new, ctype, init)


def test_union_initializers(ffi):
    u = ffi.new("union u *", {'c': b"abc"})
    assert u.i == 0x00636261
    u = ffi.new("union u *", [0x41])
    assert u.c[0] == b"A"
    # with several fields in the dict, the last one wins (like upstream)
    u = ffi.new("union u *", {'i': 0x01010101, 'c': b"a"})
    assert u.c[0] == b"a"


def test_varsize_struct_initializers(ffi):
    p = ffi.new("struct vs *", [1, [1, 2, 3]])
    assert repr(p) == "<cdata 'struct vs *' owning 10 bytes>"
    assert list(p.v) == [1, 2, 3]
    p = ffi.new("struct vs *", [1, 5])
    assert repr(p) == "<cdata 'struct vs *' owning 14 bytes>"
    assert len(p.v) == 5


def test_struct_field_assignment(ffi):
    p = ffi.new("struct pt *")
    raises(TypeError, "an integer is required", setattr, p, "x", "1")
    raises(TypeError, "an integer is required", setattr, p, "x", 1.0)
    raises(OverflowError, "integer 1099511627776 does not fit 'int'",
           setattr, p, "x", 2 ** 40)
    raises(AttributeError, "cdata 'struct pt *' has no field 'z'",
           setattr, p, "z", 1)
    raises(AttributeError, "cdata 'struct pt *' has no field 'z'",
           getattr, p, "z")
    n = ffi.new("struct nest *")
    p.x, p.y = 3, 4
    n.a = p[0]                               # a same-type struct cdata
    assert (n.a.x, n.a.y) == (3, 4)
    raises(TypeError, "initializer for ctype 'struct pt' must be a list or "
           "tuple or dict or struct-cdata, not cdata 'struct pt *'",
           setattr, n, "a", p)
    n.arr = [7, 8, 9]
    n.arr = [1]                   # only the given items are written
    assert list(n.arr) == [1, 8, 9]
    n.name = b"abcd"
    n.name = b"x"                 # plus the terminating NUL
    assert list(n.name) == [b"x", b"\x00", b"c", b"d"]
    raises(IndexError, "too many initializers for 'int[3]' (got 4)",
           setattr, n, "arr", [1, 2, 3, 4])
    raises(IndexError, "initializer bytes is too long for 'char[4]' (got 5 "
           "characters)", setattr, n, "name", b"abcde")


def test_pointer_initializers(ffi):
    raises(TypeError, "initializer for ctype 'int *' must be a pointer to "
           "same type, not cdata 'long *'", ffi.new, "int **",
           ffi.new("long *"))
    raises(TypeError, "initializer for ctype 'int *' must be a cdata "
           "pointer, not int", ffi.new, "int **", 5)
    raises(TypeError, "initializer for ctype 'char *' must be a cdata "
           "pointer, not bytes", ffi.new, "char **", b"ab")
    raises(TypeError, "initializer for ctype 'int *' must be a cdata "
           "pointer, not list", ffi.new, "int **", [None])
    arr = ffi.new("char[2]")
    assert ffi.new("char **", arr)[0] == arr
    assert repr(ffi.new("char ***", ffi.new("char *[1]"))) == \
        "<cdata 'char * * *' owning 8 bytes>"


# --------------------------------------------------------------------------
# indexing and slicing

def test_index_errors(ffi):
    a = ffi.new("int[3]")
    raises(IndexError, "index too large for cdata 'int[3]' (expected 3 < 3)",
           a.__getitem__, 3)
    raises(IndexError, "index too large for cdata 'int[3]' (expected 3 < 3)",
           a.__setitem__, 3, 1)
    raises(IndexError, "negative index", a.__getitem__, -1)
    raises(IndexError, "cannot fit 'int' into an index-sized integer",
           a.__getitem__, 2 ** 70)
    raises(TypeError, "'str' object cannot be interpreted as an integer",
           a.__getitem__, "x")
    assert (ffi.cast("int *", a) + 1)[-1] == 0   # pointers: any index


def test_slice_errors(ffi):
    a = ffi.new("int[3]")
    raises(IndexError, "index too large (expected 4 <= 3)",
           a.__getitem__, slice(0, 4))
    raises(IndexError, "negative index", a.__getitem__, slice(-1, 2))
    raises(IndexError, "slice start > stop", a.__getitem__, slice(2, 1))
    raises(ValueError, "need 2 values to unpack, got 1",
           a.__setitem__, slice(0, 2), [1])
    raises(IndexError, "index too large (expected 4 <= 3)",
           a.__setitem__, slice(2, 4), [1, 2])


def test_slice_assignment_sources(ffi):
    a = ffi.new("int[5]")
    a[0:2] = (1, 2)
    a[2:4] = ffi.new("int[2]", [3, 4])
    a[4:5] = iter([5])
    assert list(a) == [1, 2, 3, 4, 5]
    c = ffi.new("char[4]")
    c[0:3] = b"xyz"
    c[1:3] = bytearray(b"YZ")
    assert ffi.string(c) == b"xYZ"


# --------------------------------------------------------------------------
# ffi.string()

def test_string_variants(ffi):
    assert ffi.string(ffi.new("char[]", b"abc"), -1) == b"abc"
    assert ffi.string(ffi.new("char[]", b"abc"), 100) == b"abc"
    assert ffi.string(ffi.new("unsigned char[]", b"ab")) == b"ab"
    assert ffi.string(ffi.new("signed char[]", b"ab")) == b"ab"
    assert ffi.string(ffi.new("int8_t[]", b"ab")) == b"ab"
    assert ffi.string(ffi.cast("unsigned char", 65)) == b"A"
    assert ffi.string(ffi.new("wchar_t[]", u"hello"), 2) == u"he"
    assert ffi.string(cdata=ffi.new("char[]", b"ab"), maxlen=1) == b"a"
    assert ffi.string(ffi.cast("enum e2", -5)) == "NEG"
    assert ffi.string(ffi.cast("enum e2", -6)) == "-6"
    assert ffi.string(ffi.new("char16_t[]", u"a\U0001F600")) == \
        u"a\U0001F600"


@pytest.mark.parametrize("value,what", [
    ("int", "int"), ("_Bool", "_Bool"), ("double", "double")])
def test_string_refuses_non_characters(ffi, value, what):
    raises(TypeError, "string(): unexpected cdata '%s' argument" % what,
           ffi.string, ffi.cast(value, 1))


def test_string_errors(ffi):
    raises(TypeError, "string(): unexpected cdata 'int[]' argument",
           ffi.string, ffi.new("int[]", [1, 2]))
    with pytest.raises(RuntimeError) as e:
        ffi.string(ffi.cast("char *", 0))
    assert "cannot use string() on" in str(e.value)
    assert "'char *' NULL" in str(e.value)


def test_string_char32_out_of_range_raises(ffi):
    # upstream crashes into SystemError here; a ValueError is fine
    with pytest.raises((ValueError, SystemError)):
        ffi.string(ffi.cast("char32_t", 0x110000))


def test_string_char16_lone_surrogate(ffi):
    raw = ffi.new("uint16_t[]", [0xD800, 0x41, 0])
    assert ffi.string(ffi.cast("char16_t *", raw)) == u"\ud800A"


# --------------------------------------------------------------------------
# ffi.unpack()

def test_unpack_variants(ffi):
    a = ffi.new("int[3]", [1, 2, 3])
    assert ffi.unpack(a, 0) == []
    assert ffi.unpack(ffi.new("_Bool[]", [1, 0]), 2) == [True, False]
    assert ffi.unpack(ffi.new("float[]", [1.5, 2]), 2) == [1.5, 2.0]
    assert ffi.unpack(ffi.new("unsigned char[]", b"ab"), 2) == [97, 98]
    assert ffi.unpack(ffi.new("signed char[]", b"ab"), 2) == [97, 98]
    assert ffi.unpack(ffi.new("char16_t[]", u"\U0001F600"), 2) == \
        u"\U0001F600"
    assert ffi.unpack(cdata=ffi.new("char[]", b"ab"), length=1) == b"a"
    arr = ffi.new("struct pt[2]", [[1, 2], [3, 4]])
    s = ffi.unpack(arr, 2)
    assert [x.y for x in s] == [2, 4]
    assert repr(s[0]).startswith("<cdata 'struct pt &' 0x")


def test_unpack_errors(ffi):
    a = ffi.new("int[3]")
    raises(ValueError, "'length' cannot be negative", ffi.unpack, a, -1)
    raises(ValueError, "'void *' points to items of unknown size",
           ffi.unpack, ffi.cast("void *", a), 2)
    raises(TypeError, "expected a pointer or array, got 'int'",
           ffi.unpack, ffi.cast("int", 5), 2)
    for n in (2, 0):
        with pytest.raises(RuntimeError) as e:
            ffi.unpack(ffi.cast("char *", 0), n)
        assert "cannot use unpack() on" in str(e.value)
