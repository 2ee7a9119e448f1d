"""Struct and union layout: sizes, alignments, field offsets and bitfield
positions, compared with what gcc (x86-64 Linux, SysV ABI) says.

The expected numbers were produced once by compiling the same declarations
with gcc (``sizeof``, ``_Alignof``, ``offsetof``, and for bitfields the bits
of the struct that change when the field is set to all ones); they are
hard-coded here.  ``packed=True`` is compared with
``__attribute__((packed))`` and ``pack=N`` with ``#pragma pack(N)``.
"""
import pytest

from rcffi import FFI


def bit_range(ffi, ctype, field):
    """(lowest, highest) bit of the struct that a field occupies, found like
    the gcc side did it: set the field to all ones, look at the bytes."""
    p = ffi.new(ctype + " *")
    fld = dict(ffi.typeof(ctype).fields)[field]
    width = fld.bitsize if fld.bitsize >= 0 else ffi.sizeof(fld.type) * 8
    signed = int(ffi.cast(fld.type, -1)) < 0
    setattr(p, field, -1 if signed else (1 << width) - 1)
    value = int.from_bytes(bytes(ffi.buffer(p)), 'little')
    bits = [i for i in range(ffi.sizeof(ctype) * 8) if value >> i & 1]
    return bits[0], bits[-1]


PLAIN = """
    struct a1 { char c; int i; short s; };
    struct a2 { char c; double d; char e; };
    struct a3 { char c; long double ld; };
    struct a4 { char c; struct a1 in1; char d; };
    union u1 { char c; double d; int a[3]; };
    struct a5 { char c[3]; short s; };
    struct a6 { int n; double d[]; };
    struct a7 { char c; union { int i; char k[5]; }; struct { short s1, s2; }; };
    struct a8 { char c; float _Complex fc; double _Complex dc; };
    struct a9 { _Bool b; void *p; long long ll; char t; };
"""

PLAIN_EXPECTED = [
    # (type, size, align, {field: offset})
    ("struct a1", 12, 4, {"i": 4, "s": 8}),
    ("struct a2", 24, 8, {"d": 8, "e": 16}),
    ("struct a3", 32, 16, {"ld": 16}),
    ("struct a4", 20, 4, {"in1": 4, "d": 16}),
    ("union u1", 16, 8, {"c": 0, "d": 0, "a": 0}),
    ("struct a5", 6, 2, {"s": 4}),
    ("struct a6", 8, 8, {"d": 8}),
    ("struct a7", 16, 4, {"i": 4, "k": 4, "s1": 12, "s2": 14}),
    ("struct a8", 32, 8, {"fc": 4, "dc": 16}),
    ("struct a9", 32, 8, {"p": 8, "ll": 16, "t": 24}),
]


@pytest.mark.parametrize("ctype,size,align,offsets", PLAIN_EXPECTED,
                         ids=[e[0] for e in PLAIN_EXPECTED])
def test_plain_layout(ctype, size, align, offsets):
    ffi = FFI()
    ffi.cdef(PLAIN)
    assert ffi.sizeof(ctype) == size
    assert ffi.alignof(ctype) == align
    for name, off in offsets.items():
        assert ffi.offsetof(ctype, name) == off, name


def test_anonymous_members_are_flattened_in_fields():
    ffi = FFI()
    ffi.cdef(PLAIN)
    t = ffi.typeof("struct a7")
    assert [(name, f.offset) for name, f in t.fields] == [
        ('c', 0), ('i', 4), ('k', 4), ('s1', 12), ('s2', 14)]
    p = ffi.new("struct a7 *")
    p.k = b"abcd"
    p.s2 = 7
    assert p.i == 0x64636261
    assert ffi.buffer(p)[14:16] == b"\x07\x00"


BITFIELDS = """
    struct b1 { int a:3; int b:5; int c:24; };
    struct b2 { signed char a:3; signed char b:6; };
    struct b3 { int a:3; long long b:40; };
    struct b4 { char c; int a:31; int b:2; };
    struct b5 { signed char a:3; int :0; char b; };
    struct b6 { unsigned a:4; signed b:4; };
    struct b7 { short a:9; short b:9; char c; };
    struct b8 { unsigned long long a:60; unsigned long long b:10; };
    struct b9 { char x[3]; int y:16; };
    struct b10 { char a; int b:4; };
    struct b11 { char a; int :4; char b; };
    struct b12 { long long a:1; };
    struct b13 { char a; long long :0; char b; };
"""

BITFIELDS_EXPECTED = [
    # (type, size, align, {field: offset or (lowbit, highbit)})
    ("struct b1", 4, 4, {"a": (0, 2), "b": (3, 7), "c": (8, 31)}),
    ("struct b2", 2, 1, {"a": (0, 2), "b": (8, 13)}),
    ("struct b3", 8, 8, {"a": (0, 2), "b": (3, 42)}),
    ("struct b4", 12, 4, {"c": 0, "a": (32, 62), "b": (64, 65)}),
    ("struct b5", 5, 1, {"b": 4}),
    ("struct b6", 4, 4, {"a": (0, 3), "b": (4, 7)}),
    ("struct b7", 6, 2, {"a": (0, 8), "b": (16, 24), "c": 4}),
    ("struct b8", 16, 8, {"a": (0, 59), "b": (64, 73)}),
    ("struct b9", 8, 4, {"y": (32, 47)}),
    ("struct b10", 4, 4, {"b": (8, 11)}),
    ("struct b11", 3, 1, {"b": 2}),
    ("struct b12", 8, 8, {"a": (0, 0)}),
    ("struct b13", 9, 1, {"b": 8}),
]


def check_layout(ffi, ctype, size, align, where):
    assert ffi.sizeof(ctype) == size
    assert ffi.alignof(ctype) == align
    for name, pos in where.items():
        if isinstance(pos, tuple):
            assert bit_range(ffi, ctype, name) == pos, name
        else:
            assert ffi.offsetof(ctype, name) == pos, name


@pytest.mark.parametrize("ctype,size,align,where", BITFIELDS_EXPECTED,
                         ids=[e[0] for e in BITFIELDS_EXPECTED])
def test_bitfield_layout(ctype, size, align, where):
    ffi = FFI()
    ffi.cdef(BITFIELDS)
    check_layout(ffi, ctype, size, align, where)


def test_bitfield_values_signed_and_unsigned():
    ffi = FFI()
    ffi.cdef(BITFIELDS)
    p = ffi.new("struct b6 *")
    p.a = 15
    p.b = -8
    assert (p.a, p.b) == (15, -8)
    p.b = 7
    assert p.b == 7
    with pytest.raises(OverflowError):
        p.a = 16
    with pytest.raises(OverflowError):
        p.a = -1
    with pytest.raises(OverflowError):
        p.b = 8
    with pytest.raises(OverflowError):
        p.b = -9
    q = ffi.new("struct b8 *")
    q.a = (1 << 60) - 1
    q.b = 1023
    assert (q.a, q.b) == ((1 << 60) - 1, 1023)
    assert bytes(ffi.buffer(q)) == b"\xff" * 7 + b"\x0f" + b"\xff\x03" + \
        b"\x00" * 6


def test_bitfield_field_introspection():
    ffi = FFI()
    ffi.cdef(BITFIELDS)
    fields = dict(ffi.typeof("struct b1").fields)
    assert (fields['a'].bitsize, fields['a'].bitshift) == (3, 0)
    assert (fields['b'].bitsize, fields['b'].bitshift) == (5, 3)
    assert (fields['c'].bitsize, fields['c'].bitshift) == (24, 8)
    plain = dict(ffi.typeof("struct b11").fields)['b']
    assert (plain.bitsize, plain.bitshift) == (-1, -1)


def test_bitfield_is_not_addressable():
    ffi = FFI()
    ffi.cdef(BITFIELDS)
    p = ffi.new("struct b1 *")
    with pytest.raises(TypeError):
        ffi.addressof(p[0], "b")
    with pytest.raises(TypeError):
        ffi.offsetof("struct b1", "b")


def test_bitfield_initializers():
    ffi = FFI()
    ffi.cdef(BITFIELDS)
    p = ffi.new("struct b1 *", [1, -2, 1000])
    assert (p.a, p.b, p.c) == (1, -2, 1000)
    p = ffi.new("struct b1 *", {'c': -5})
    assert (p.a, p.b, p.c) == (0, 0, -5)
    with pytest.raises(OverflowError):
        ffi.new("struct b1 *", [4])


PACKED = """
    struct a1 { char c; int i; short s; };
    struct p1 { char c; int i; };
    struct p2 { char c; double d; short s; };
    struct p3 { char c; int a:4; int b:30; };
    struct p4 { char c; struct a1 in1; };
    struct p5 { signed char a:3; short b:10; long long c:40; };
"""

PACKED_EXPECTED = [
    ("struct a1", 7, 1, {"i": 1, "s": 5}),     # packed too (same cdef)
    ("struct p1", 5, 1, {"i": 1}),
    ("struct p2", 11, 1, {"d": 1, "s": 9}),
    ("struct p5", 7, 1, {"a": (0, 2), "b": (3, 12), "c": (13, 52)}),
]


@pytest.mark.parametrize("ctype,size,align,where", PACKED_EXPECTED,
                         ids=[e[0] for e in PACKED_EXPECTED])
def test_packed_layout(ctype, size, align, where):
    ffi = FFI()
    ffi.cdef(PACKED, packed=True)
    check_layout(ffi, ctype, size, align, where)


# gcc packs 'struct p3 { char c; int a:4; int b:30; }' (packed) into 6 bytes,
# 'b' at bits 12..41 reusing the unit of 'a'; cffi refuses that layout
# rather than getting it wrong (its docs: packed has no effect on bitfields).
@pytest.mark.parametrize("kwds", [dict(packed=True), dict(pack=2)])
def test_packed_bitfield_reusing_bits_is_refused(kwds):
    ffi = FFI()
    ffi.cdef("struct p3 { char c; int a:4; int b:30; };", **kwds)
    with pytest.raises(NotImplementedError) as e:
        ffi.sizeof("struct p3")
    assert str(e.value) == ("with 'packed', gcc would compile field "
                            "'struct p3.b' to reuse some bits in the "
                            "previous field")


def test_packed_nested_struct_keeps_its_own_layout():
    ffi = FFI()
    ffi.cdef("struct a1 { char c; int i; short s; };")
    ffi.cdef("struct p4 { char c; struct a1 in1; };", packed=True)
    assert ffi.sizeof("struct a1") == 12
    assert ffi.sizeof("struct p4") == 13
    assert ffi.alignof("struct p4") == 1
    assert ffi.offsetof("struct p4", "in1") == 1
    assert ffi.offsetof("struct p4", "in1", "s") == 9


def test_packed_unaligned_access_works():
    ffi = FFI()
    ffi.cdef("struct p2 { char c; double d; short s; };", packed=True)
    p = ffi.new("struct p2 *", [b"x", 1.5, -3])
    assert (p.c, p.d, p.s) == (b"x", 1.5, -3)
    arr = ffi.new("struct p2[3]")
    arr[1].d = 2.25
    assert arr[1].d == 2.25
    assert ffi.buffer(arr)[12:20] == ffi.buffer(ffi.new("double *", 2.25))[:]


PACK_EXPECTED = [
    # (pack, declaration, type, size, align, where) -- gcc '#pragma pack(N)'
    (2, "struct k2 { char c; int i; double d; };", "struct k2", 14, 2,
     {"i": 2, "d": 6}),
    (2, "struct k2c { char c; long double ld; };", "struct k2c", 18, 2,
     {"ld": 2}),
    (4, "struct k4 { char c; double d; short s; };", "struct k4", 16, 4,
     {"d": 4, "s": 12}),
    (4, "struct k4b { char c; long long a:40; char e; };", "struct k4b", 8,
     4, {"a": (8, 47), "e": 6}),
    (8, "struct k8 { char c; long double ld; };", "struct k8", 24, 8,
     {"ld": 8}),
    (16, "struct k16 { char c; double d; };", "struct k16", 16, 8,
     {"d": 8}),
]


@pytest.mark.parametrize("pack,decl,ctype,size,align,where", PACK_EXPECTED,
                         ids=[e[2] for e in PACK_EXPECTED])
def test_pack_n_layout(pack, decl, ctype, size, align, where):
    ffi = FFI()
    ffi.cdef(decl, pack=pack)
    check_layout(ffi, ctype, size, align, where)


def test_pack_1_is_packed():
    ffi1 = FFI()
    ffi1.cdef("struct s { char c; double d; short s; };", pack=1)
    ffi2 = FFI()
    ffi2.cdef("struct s { char c; double d; short s; };", packed=True)
    for f in (ffi1, ffi2):
        assert f.sizeof("struct s") == 11
        assert f.offsetof("struct s", "s") == 9


@pytest.mark.parametrize("bad", [
    3,
    6, 12,
    -2,
])
def test_pack_must_be_a_power_of_two(bad):
    ffi = FFI()
    with pytest.raises(ValueError) as e:
        ffi.cdef("struct s { int a; };", pack=bad)
    assert str(e.value) == "'pack' must be a power of two, not %d" % bad


def test_pack_zero_means_default():
    ffi = FFI()
    ffi.cdef("struct s { char c; double d; };", pack=0)
    assert ffi.sizeof("struct s") == 16


def test_pack_larger_than_any_alignment_changes_nothing():
    ffi = FFI()
    ffi.cdef("struct s { char c; long double d; };", pack=64)
    assert ffi.sizeof("struct s") == 32


def test_packed_and_pack_together_refused():
    ffi = FFI()
    with pytest.raises(ValueError) as e:
        ffi.cdef("struct s { int a; };", packed=True, pack=2)
    assert str(e.value) == "cannot give both 'pack' and 'packed'"


def test_packed_must_be_a_bool():
    ffi = FFI()
    with pytest.raises(ValueError) as e:
        ffi.cdef("struct s { int a; };", packed=2)
    assert str(e.value) == ("'packed' should be False or True; use 'pack' "
                            "to give another value")


def test_pack_applies_only_to_its_own_cdef():
    ffi = FFI()
    ffi.cdef("struct s1 { char c; int i; };", pack=1)
    ffi.cdef("struct s2 { char c; int i; };")
    assert ffi.sizeof("struct s1") == 5
    assert ffi.sizeof("struct s2") == 8


def test_arrays_of_structs_use_padded_size():
    ffi = FFI()
    ffi.cdef("struct s { double d; char c; };")
    a = ffi.new("struct s[4]")
    assert ffi.sizeof(a) == 64
    assert int(ffi.cast("uintptr_t", ffi.addressof(a, 3))) - \
        int(ffi.cast("uintptr_t", a)) == 48
    assert ffi.offsetof("struct s[4]", 3) == 48


def test_flexible_array_member_sizes():
    ffi = FFI()
    ffi.cdef("struct f { short n; int items[]; }; "
             "struct g { int n; char items[]; };")
    assert ffi.sizeof("struct f") == 4
    assert ffi.offsetof("struct f", "items") == 4
    p = ffi.new("struct f *", [1, [1, 2, 3]])
    assert ffi.sizeof(p[0]) == 16
    q = ffi.new("struct g *", [1, [b"a"] * 10])
    assert ffi.sizeof(q[0]) == 14
    assert len(q.items) == 10


def test_union_layout_and_aliasing():
    ffi = FFI()
    ffi.cdef("union u { unsigned char b[8]; double d; long long q; };")
    u = ffi.new("union u *")
    u.q = 0x0807060504030201
    assert list(u.b) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert ffi.sizeof("union u") == 8 and ffi.alignof("union u") == 8


def test_incomplete_struct_cannot_be_instantiated():
    ffi = FFI()
    ffi.cdef("struct opaque; struct has_ptr { struct opaque *p; };")
    assert ffi.sizeof("struct has_ptr") == 8
    p = ffi.new("struct has_ptr *")
    assert p.p == ffi.NULL
    with pytest.raises(TypeError) as e:
        ffi.new("struct opaque *")
    assert str(e.value) == ("cannot instantiate ctype 'struct opaque' of "
                            "unknown size")


def test_incomplete_struct_sizeof_error():
    ffi = FFI()
    ffi.cdef("struct opaque;")
    with pytest.raises(ValueError) as e:
        ffi.sizeof("struct opaque")
    assert str(e.value) == "ctype 'struct opaque' is of unknown size"


def test_struct_completed_by_a_later_cdef():
    ffi = FFI()
    ffi.cdef("struct later; struct user { struct later *p; };")
    ffi.cdef("struct later { int a, b; };")
    assert ffi.sizeof("struct later") == 8
    u = ffi.new("struct user *")
    u.p = ffi.new("struct later *", [1, 2])


@pytest.mark.parametrize("decl,message", [
    ("struct s { int a : 40; };",
     "bit field 'struct s.a' is declared 'int:40', which exceeds the width of "
     "the type"),
    ("struct s { float f : 3; };",
     "field 'struct s.f' declared as 'float' cannot be a bit field"),
    ("struct s { int a : 0; };", "field 'struct s.a' is declared with :0"),
])
def test_invalid_bitfields(decl, message):
    ffi = FFI()
    ffi.cdef(decl)
    with pytest.raises(TypeError) as e:
        ffi.sizeof("struct s")
    assert str(e.value) == message


def test_packing_of_anonymous_struct_is_its_own_cdefs():
    # The packing an anonymous struct gets is the one of the cdef() that wrote it, even when it
    # is first used after another cdef() with other options.
    ffi = FFI()
    ffi.cdef("typedef struct { char c; int i; } A;", packed=True)
    ffi.cdef("typedef struct { char c; int i; } B;")
    assert ffi.sizeof("A") == 5
    assert ffi.sizeof("B") == 8
