"""C types at run time: ffi.typeof(), ffi.getctype() strings, sizes and
alignments of the primitive types, the introspection attributes of ctypes,
reprs of cdata objects, ffi.cast() and the operators on cdata."""
import pytest

from rcffi import FFI, CDefError


DECLS = """
    struct s { int a; };
    union u { int b; };
    enum e { E0 };
    typedef int (*fp_t)(int);
    typedef struct { int x; } anon_t;
"""


@pytest.fixture
def ffi():
    ffi = FFI()
    ffi.cdef(DECLS)
    return ffi


# --------------------------------------------------------------------------
# ffi.getctype()

@pytest.mark.parametrize("ctype,extra,expected", [
    ("int", "", "int"),
    ("int", "x", "int x"),
    ("int", "*", "int *"),
    ("int *", "*", "int * *"),
    ("int *", "x", "int * x"),
    ("int[5]", "", "int[5]"),
    ("int[5]", "x", "int x[5]"),
    ("int[5]", "*", "int(*)[5]"),
    ("int[5]", "[3]", "int[3][5]"),
    ("int *[5]", "p", "int * p[5]"),
    ("int(*)[5]", "p", "int(* p)[5]"),
    ("char[80]", "a", "char a[80]"),
    ("struct s", "*x", "struct s *x"),
    ("fp_t", "", "int(*)(int)"),
    ("fp_t", "f", "int(* f)(int)"),
    ("fp_t", "*", "int(* *)(int)"),
    ("fp_t", "[2]", "int(*[2])(int)"),
    ("int(*)(int, ...)", "g", "int(* g)(int, ...)"),
    ("void *", "", "void *"),
    ("anon_t", "*", "anon_t *"),
    ("unsigned long long", "x", "unsigned long long x"),
    ("int[]", "", "int[]"),
    ("int[]", "x", "int x[]"),
    ("int[][3]", "z", "int z[][3]"),
    ("enum e", "*", "enum e *"),
    ("union u", "", "union u"),
    ("_Bool", "", "_Bool"),
    ("bool", "", "_Bool"),
    ("wchar_t", "", "wchar_t"),
    ("int32_t", "", "int32_t"),
    ("size_t", "", "size_t"),
    ("FILE *", "f", "FILE * f"),
    ("int(*(*)(int))[3]", "q", "int(*(* q)(int))[3]"),
    ("void(*[4])(void)", "t", "void(* t[4])()"),
    ("char * const", "", "char *"),
    ("const char * volatile *", "", "char * *"),
])
def test_getctype(ffi, ctype, extra, expected):
    assert ffi.getctype(ctype, extra) == expected
    assert ffi.getctype(ffi.typeof(ctype), extra) == expected


def test_getctype_errors(ffi):
    with pytest.raises(TypeError):
        ffi.getctype(5)
    with pytest.raises(CDefError) as e:      # as upstream's in-line FFI
        ffi.getctype("nope_t")
    assert "nope_t" in str(e.value)


def test_complex_type_names(ffi):
    assert ffi.getctype("double _Complex", "c") == "_cffi_double_complex_t c"
    assert repr(ffi.typeof("float _Complex")) == \
        "<ctype '_cffi_float_complex_t'>"
    assert repr(ffi.cast("float _Complex", 1j)) == \
        "<cdata '_cffi_float_complex_t' 1j>"


# --------------------------------------------------------------------------
# primitive types: names, sizes, alignments

@pytest.mark.parametrize("name,cname,size,align", [
    ("char", "char", 1, 1),
    ("signed char", "signed char", 1, 1),
    ("unsigned char", "unsigned char", 1, 1),
    ("short", "short", 2, 2),
    ("unsigned short", "unsigned short", 2, 2),
    ("int", "int", 4, 4),
    ("unsigned int", "unsigned int", 4, 4),
    ("long", "long", 8, 8),
    ("unsigned long", "unsigned long", 8, 8),
    ("long long", "long long", 8, 8),
    ("unsigned long long", "unsigned long long", 8, 8),
    ("float", "float", 4, 4),
    ("double", "double", 8, 8),
    ("long double", "long double", 16, 16),
    ("_Bool", "_Bool", 1, 1),
    ("bool", "_Bool", 1, 1),
    ("wchar_t", "wchar_t", 4, 4),
    ("char16_t", "char16_t", 2, 2),
    ("char32_t", "char32_t", 4, 4),
    ("int8_t", "int8_t", 1, 1),
    ("uint8_t", "uint8_t", 1, 1),
    ("int16_t", "int16_t", 2, 2),
    ("uint16_t", "uint16_t", 2, 2),
    ("int32_t", "int32_t", 4, 4),
    ("uint32_t", "uint32_t", 4, 4),
    ("int64_t", "int64_t", 8, 8),
    ("uint64_t", "uint64_t", 8, 8),
    ("intptr_t", "intptr_t", 8, 8),
    ("uintptr_t", "uintptr_t", 8, 8),
    ("size_t", "size_t", 8, 8),
    ("ssize_t", "ssize_t", 8, 8),
    ("ptrdiff_t", "ptrdiff_t", 8, 8),
    ("int_fast8_t", "int_fast8_t", 1, 1),
    ("uint_fast64_t", "uint_fast64_t", 8, 8),
    ("int_least16_t", "int_least16_t", 2, 2),
    ("intmax_t", "intmax_t", 8, 8),
    ("uintmax_t", "uintmax_t", 8, 8),
    ("void *", "void *", 8, 8),
    ("double _Complex", "_cffi_double_complex_t", 16, 8),
    ("float _Complex", "_cffi_float_complex_t", 8, 4),
])
def test_primitive_types(ffi, name, cname, size, align):
    t = ffi.typeof(name)
    if cname is not None:
        assert t.cname == cname
        assert repr(t) == "<ctype '%s'>" % cname
    assert ffi.sizeof(name) == size
    assert ffi.alignof(name) == align


@pytest.mark.parametrize("name,kind", [
    ("int", "primitive"), ("int *", "pointer"), ("int[3]", "array"),
    ("struct s", "struct"), ("union u", "union"), ("enum e", "enum"),
    ("fp_t", "function"), ("void", "void"), ("anon_t", "struct"),
])
def test_kinds(ffi, name, kind):
    assert ffi.typeof(name).kind == kind


def test_ctype_attributes_by_kind(ffi):
    assert sorted(dir(ffi.typeof("int"))) == ['cname', 'kind']
    assert sorted(dir(ffi.typeof("struct s"))) == ['cname', 'fields', 'kind']
    assert sorted(dir(ffi.typeof("fp_t"))) == [
        'abi', 'args', 'cname', 'ellipsis', 'kind', 'result']
    assert sorted(dir(ffi.typeof("int *"))) == ['cname', 'item', 'kind']
    assert sorted(dir(ffi.typeof("int[2]"))) == [
        'cname', 'item', 'kind', 'length']
    assert sorted(dir(ffi.typeof("enum e"))) == [
        'cname', 'elements', 'kind', 'relements']
    with pytest.raises(AttributeError):
        ffi.typeof("int").item
    with pytest.raises(AttributeError):
        ffi.typeof("int").elements


def test_struct_fields_and_cfield(ffi):
    (name, f), = ffi.typeof("struct s").fields
    assert name == 'a'
    assert (f.type, f.offset, f.bitshift, f.bitsize, f.flags) == \
        (ffi.typeof("int"), 0, -1, -1, 0)
    assert ffi.typeof("struct not_declared").fields is None


def test_function_pointer_attributes(ffi):
    t = ffi.typeof("fp_t")
    assert t.args == (ffi.typeof("int"),)
    assert t.result is ffi.typeof("int")
    assert t.ellipsis is False
    assert t.abi == 2
    v = ffi.typeof("void(*)(char *, ...)")
    assert v.result is ffi.typeof("void") and v.ellipsis is True


def test_typeof_identity_and_hash(ffi):
    assert ffi.typeof("int *") is ffi.typeof("int*")
    assert ffi.typeof("int *") is ffi.typeof(ffi.new("int[2]") + 0)
    assert ffi.typeof("unsigned") is ffi.typeof("unsigned int")
    assert ffi.typeof("long int") is ffi.typeof("long")
    assert ffi.typeof("anon_t") is ffi.typeof(ffi.new("anon_t *")[0])
    assert ffi.typeof("int") == ffi.typeof("int")
    assert hash(ffi.typeof("int")) == hash(ffi.typeof("int"))
    assert ffi.typeof("int") != ffi.typeof("long")
    assert ffi.typeof(ffi.new("struct s *")[0]) is ffi.typeof("struct s")


def test_typeof_errors(ffi):
    with pytest.raises(TypeError) as e:
        ffi.typeof(len)
    with pytest.raises(TypeError):
        ffi.typeof(42)
    # bad type strings are CDefError, as with upstream's in-line FFI; the
    # message shows the string with a caret
    with pytest.raises(CDefError) as e:
        ffi.typeof("nope_t")
    assert str(e.value) == "undefined type name\nnope_t\n^"
    with pytest.raises(CDefError) as e:
        ffi.typeof("int[3")
    assert str(e.value) == "expected ']'\nint[3\n     ^"
    with pytest.raises(CDefError) as e:
        ffi.typeof("int; int")
    assert str(e.value) == "unexpected symbol\nint; int\n   ^"


def test_typeof_with_declarator_name_is_ignored(ffi):
    assert ffi.typeof("int x") is ffi.typeof("int")


def test_types_from_two_ffis_are_shared():
    ffi1 = FFI()
    ffi2 = FFI()
    assert ffi1.typeof("int *") is ffi2.typeof("int *")
    p = ffi1.new("int *", 5)
    q = ffi2.new("int **", p)
    assert q[0][0] == 5


# --------------------------------------------------------------------------
# reprs

@pytest.mark.parametrize("ctype,value,expected", [
    ("int", 5, "<cdata 'int' 5>"),
    ("unsigned char", 200, "<cdata 'unsigned char' 200>"),
    ("char", b"A", "<cdata 'char' b'A'>"),
    ("double", 1.5, "<cdata 'double' 1.5>"),
    ("float", 1.5, "<cdata 'float' 1.5>"),
    ("_Bool", 1, "<cdata '_Bool' True>"),
    ("wchar_t", u"x", "<cdata 'wchar_t' 'x'>"),
    ("char16_t", u"y", "<cdata 'char16_t' 'y'>"),
    ("long double", 2.5, "<cdata 'long double' 2.500000E+00>"),
    ("int *", 0, "<cdata 'int *' NULL>"),
    ("int *", 0x1000, "<cdata 'int *' 0x1000>"),
    ("void *", 0, "<cdata 'void *' NULL>"),
    ("enum e", 0, "<cdata 'enum e' 0: E0>"),
    ("enum e", 7, "<cdata 'enum e' 7>"),
    ("fp_t", 0, "<cdata 'int(*)(int)' NULL>"),
    ("int8_t", -1, "<cdata 'int8_t' -1>"),
    ("uint64_t", -1, "<cdata 'uint64_t' 18446744073709551615>"),
    ("size_t", 3, "<cdata 'size_t' 3>"),
])
def test_cast_reprs(ffi, ctype, value, expected):
    assert repr(ffi.cast(ctype, value)) == expected
    assert str(ffi.cast(ctype, value)) == expected


def test_owning_reprs(ffi):
    assert repr(ffi.new("struct s *")) == "<cdata 'struct s *' owning 4 bytes>"
    assert repr(ffi.new("struct s *")[0]) == \
        "<cdata 'struct s' owning 4 bytes>"
    assert repr(ffi.new("union u *")) == "<cdata 'union u *' owning 4 bytes>"
    assert repr(ffi.new("anon_t[3]")) == "<cdata 'anon_t[3]' owning 12 bytes>"
    assert repr(ffi.from_buffer(bytearray(5))) == \
        "<cdata 'char[]' buffer len 5 from 'bytearray' object>"
    assert repr(ffi.new_handle(5)).startswith("<cdata 'void *' handle to 5")


def test_non_owning_reprs_show_the_address(ffi):
    a = ffi.new("int[2][3]")
    addr = int(ffi.cast("uintptr_t", a))
    assert repr(a[1]) == "<cdata 'int[3]' 0x%x>" % (addr + 12)
    assert repr(a[1] + 1) == "<cdata 'int *' 0x%x>" % (addr + 16)
    p = ffi.gc(ffi.new("int *"), lambda x: None)
    assert repr(p) == "<cdata 'int *' 0x%x>" % int(ffi.cast("uintptr_t", p))


def test_ctype_reprs(ffi):
    assert repr(ffi.typeof("struct s")) == "<ctype 'struct s'>"
    assert repr(ffi.typeof("anon_t")) == "<ctype 'anon_t'>"
    assert repr(ffi.typeof("fp_t")) == "<ctype 'int(*)(int)'>"
    assert repr(ffi.typeof("int[]")) == "<ctype 'int[]'>"


# --------------------------------------------------------------------------
# ffi.cast()

def test_cast_integers(ffi):
    assert int(ffi.cast("int", 3.9)) == 3
    assert int(ffi.cast("int", -3.9)) == -3
    assert int(ffi.cast("unsigned char", 257)) == 1
    assert int(ffi.cast("int", 2 ** 100)) == 0        # truncated, like C
    assert int(ffi.cast("short", -1)) == -1
    assert int(ffi.cast("unsigned short", -1)) == 0xFFFF
    assert int(ffi.cast("int", ffi.cast("int *", 2 ** 33 + 5))) == 5
    assert int(ffi.cast("int", ffi.cast("long double", 7.9))) == 7
    assert int(ffi.cast("int", b"A")) == 65
    assert int(ffi.cast("int", u"5")) == 53
    assert ffi.cast("_Bool", 2) == True  # noqa: E712
    assert ffi.cast("char", 65.0) == b"A"


def test_cast_pointers(ffi):
    assert repr(ffi.cast("long *", ffi.cast("int *", 8))) == \
        "<cdata 'long *' 0x8>"
    assert repr(ffi.cast("int *", 1.5)) == "<cdata 'int *' 0x1>"
    assert repr(ffi.cast("int[3]", 0)) == "<cdata 'int[3]' NULL>"
    a = ffi.new("int[3]", [1, 2, 3])
    assert ffi.cast("int *", a)[2] == 3
    assert ffi.cast("int *", ffi.cast("intptr_t", a)) == ffi.cast("int *", a)


def test_cast_errors(ffi):
    with pytest.raises(TypeError):
        ffi.cast("struct s", 0)
    with pytest.raises(TypeError):
        ffi.cast("int *", None)
    with pytest.raises(TypeError):
        ffi.cast("double", ffi.cast("int *", 5))
    with pytest.raises(TypeError):
        ffi.cast("int", b"AB")
    with pytest.raises(TypeError):
        ffi.cast("enum e", u"E0")


# --------------------------------------------------------------------------
# operators on cdata

def test_int_float_conversions(ffi):
    assert int(ffi.cast("double", 5.7)) == 5
    assert float(ffi.cast("double", 5.7)) == 5.7
    with pytest.raises(TypeError):
        int(ffi.cast("int *", 5))
    with pytest.raises(TypeError):
        float(ffi.cast("int", 5))
    with pytest.raises(TypeError):
        [1, 2, 3][ffi.cast("int", 1)]


def test_hash_and_equality(ffi):
    assert hash(ffi.cast("int", 5)) == hash(5)
    assert hash(ffi.cast("int *", 5)) == hash(ffi.cast("int *", 5))
    assert ffi.cast("int *", 5) == ffi.cast("long *", 5)
    assert ffi.cast("int *", 5) < ffi.cast("long *", 6)
    assert not (ffi.cast("int *", 0) == 0)
    assert ffi.cast("double", 1.5) < 2
    assert ffi.cast("char", b"a") < ffi.cast("char", b"b")
    assert ffi.cast("int", 3) == ffi.cast("long", 3)


def test_pointer_arithmetic(ffi):
    assert ffi.cast("int *", 40) - ffi.cast("int *", 8) == 8
    assert repr(ffi.cast("int *", 40) + 2) == "<cdata 'int *' 0x30>"
    assert repr(ffi.cast("int *", 40) - 2) == "<cdata 'int *' 0x20>"
    assert repr(2 + ffi.cast("int *", 40)) == "<cdata 'int *' 0x30>"
    assert repr(ffi.cast("void *", 40) + 2) == "<cdata 'void *' 0x2a>"
    with pytest.raises(TypeError):
        ffi.cast("int *", 40) - ffi.cast("long *", 8)
    with pytest.raises(ValueError):
        ffi.cast("int *", 41) - ffi.cast("int *", 8)
    with pytest.raises(TypeError):
        ffi.cast("int", 40) + 2


def test_len_iter_bool(ffi):
    with pytest.raises(TypeError):
        len(ffi.cast("int *", 0))
    assert len(ffi.new("int[7]")) == 7
    with pytest.raises(TypeError):
        iter(ffi.cast("int *", 0))
    assert list(ffi.new("int[3]", [4, 5, 6])) == [4, 5, 6]
    assert bool(ffi.new("struct s *")[0]) is True
    assert bool(ffi.NULL) is False


def test_array_of_struct_item_access(ffi):
    arr = ffi.new("struct s[3]", [[1], [2], [3]])
    assert [item.a for item in arr] == [1, 2, 3]
    arr[1].a = 20
    assert arr[1].a == 20
    with pytest.raises(IndexError):
        arr[3]
    with pytest.raises(AttributeError):
        arr[0].nope
    with pytest.raises(AttributeError):
        arr[0].nope = 5


def test_pointer_to_struct_field_access(ffi):
    p = ffi.new("struct s *", [5])
    q = ffi.cast("struct s *", p)
    assert q.a == 5
    q.a = 6
    assert p[0].a == 6
    assert (q + 0).a == 6


# 003 s7.1.14: "ffi.RTLD_...: constants: flags for ffi.dlopen()" -- plain
# constants, no library needed to read them
def test_rtld_constants():
    import os
    ffi = FFI()
    for name in ["RTLD_LAZY", "RTLD_NOW", "RTLD_GLOBAL", "RTLD_LOCAL",
                 "RTLD_NODELETE", "RTLD_NOLOAD", "RTLD_DEEPBIND"]:
        assert getattr(ffi, name) == getattr(os, name)
