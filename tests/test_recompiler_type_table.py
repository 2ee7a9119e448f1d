"""``rcffi.recompiler.Recompiler(ffi, name).collect_type_table()``: the
types array of an out-of-line module, as upstream's ``cffi_types`` (a tuple
of ``CffiOp``, whose str() is ``'(OPNAME arg)'``).  The expected strings are
those of upstream's test_recompiler.py ``test_type_table_*`` and of upstream
cffi 2.0.0 itself.
"""

import pytest

from rcffi import FFI
from rcffi.cffi_opcode import CffiOp, OP_FUNCTION
from rcffi.recompiler import Recompiler


def type_table(source, included=None, target_is_python=False):
    ffi = FFI()
    if included:
        ffi1 = FFI()
        ffi1.cdef(included)
        ffi.include(ffi1)
    ffi.cdef(source)
    recomp = Recompiler(ffi, 'testmod', target_is_python=target_is_python)
    recomp.collect_type_table()
    return recomp.cffi_types


def table_str(source, **kwds):
    return ''.join(map(str, type_table(source, **kwds)))


@pytest.mark.parametrize('source, expected', [
    ("double sin(double);", "(FUNCTION 1)(PRIMITIVE 14)(FUNCTION_END 0)"),
    # functions first, sorted by their C name; their result comes after
    ("float sin(double); float cos(float);",
     "(FUNCTION 4)(PRIMITIVE 14)(FUNCTION_END 0)"
     "(FUNCTION 4)(PRIMITIVE 13)(FUNCTION_END 0)"),
    # an argument type seen before is a NOOP to it, unless primitive
    ("double sin(double *, double *);",
     "(FUNCTION 4)(POINTER 4)(NOOP 1)(FUNCTION_END 0)(PRIMITIVE 14)"),
    ("double sin(double, double);",
     "(FUNCTION 1)(PRIMITIVE 14)(PRIMITIVE 14)(FUNCTION_END 0)"),
    ("int sin(int, ...);",
     "(FUNCTION 1)(PRIMITIVE 7)(FUNCTION_END 1)(POINTER 0)"),
    ("extern int a[100];", "(PRIMITIVE 7)(ARRAY 0)(None 100)"),
    ("struct foo_s { int a; long b; }; int f(struct foo_s*);",
     "(FUNCTION 3)(POINTER 5)(FUNCTION_END 0)(PRIMITIVE 7)(PRIMITIVE 9)"
     "(STRUCT_UNION 0)"),
    ("enum foo_e { AA, BB, ... };", "(ENUM 0)"),
])
def test_type_table(source, expected):
    assert table_str(source) == expected


def test_included_struct_is_not_expanded():
    assert table_str("struct foo_s *sin(struct foo_s *);",
                     included="struct foo_s { int x, y; };") == (
        "(FUNCTION 1)(POINTER 3)(FUNCTION_END 0)(STRUCT_UNION 0)")


def test_entries_are_cffi_ops():
    types = type_table("double sin(double);")
    assert isinstance(types, tuple)
    assert all(isinstance(op, CffiOp) for op in types)
    assert (types[0].op, types[0].arg) == (OP_FUNCTION, 1)


def test_c_module_expands_anonymous_members():
    # A C module checks the offsets of the fields of anonymous members in
    # their parent; a Python module keeps them as structs of their own.
    source = "struct s { struct { int a; }; long b; };"
    assert table_str(source) == "(PRIMITIVE 7)(PRIMITIVE 9)(STRUCT_UNION 0)"
    assert table_str(source, target_is_python=True) == (
        "(PRIMITIVE 7)(PRIMITIVE 9)(STRUCT_UNION 0)(STRUCT_UNION 1)")


def test_lengths_only_the_compiler_knows():
    types = type_table("extern int g[...]; typedef int... t1;")
    assert [str(op) for op in types[:3]] == [
        "(PRIMITIVE 7)", "(ARRAY 0)", "(None _cffi_array_len(g))"]
    assert types[3].arg.startswith("_cffi_prim_int(sizeof(t1),")
