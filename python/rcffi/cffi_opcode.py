"""The opcodes of cffi's out-of-line module protocol (``cffi.cffi_opcode``).

A compiled or ABI-mode module describes its types as an array of 32-bit
opcodes: the low 8 bits say what an entry is (OP_*), the upper 24 bits carry
an argument (a primitive number PRIM_*, an index into the same array or into
another table).  The numbers are an interface shared with every module that
cffi 2.x generated, so they must not change; see doc/misc/parse_c_type.rst
of cffi.
"""

from .error import VerificationError

# ---- opcodes: the odd numbers 1, 3, 5, ... in this order -------------------
_OPCODE_NAMES = (
    'PRIMITIVE', 'POINTER', 'ARRAY', 'OPEN_ARRAY', 'STRUCT_UNION', 'ENUM',
    'FUNCTION', 'FUNCTION_END', 'NOOP', 'BITFIELD', 'TYPENAME',
    'CPYTHON_BLTN_V',       # builtin taking varargs
    'CPYTHON_BLTN_N',       # builtin taking no argument
    'CPYTHON_BLTN_O',       # builtin taking a single argument
    'CONSTANT', 'CONSTANT_INT', 'GLOBAL_VAR', 'DLOPEN_FUNC', 'DLOPEN_CONST',
    'GLOBAL_VAR_F', 'EXTERN_PYTHON',
)

#: opcode number -> name without the OP_ prefix
CLASS_NAME = {}
for _i, _name in enumerate(_OPCODE_NAMES):
    globals()['OP_' + _name] = 2 * _i + 1
    CLASS_NAME[2 * _i + 1] = _name

# ---- primitive type numbers, 0, 1, 2, ... in this order --------------------
# (protocol name, C spelling or None for void)
_PRIMITIVES = (
    ('VOID', None),
    ('BOOL', '_Bool'),
    ('CHAR', 'char'),
    ('SCHAR', 'signed char'),
    ('UCHAR', 'unsigned char'),
    ('SHORT', 'short'),
    ('USHORT', 'unsigned short'),
    ('INT', 'int'),
    ('UINT', 'unsigned int'),
    ('LONG', 'long'),
    ('ULONG', 'unsigned long'),
    ('LONGLONG', 'long long'),
    ('ULONGLONG', 'unsigned long long'),
    ('FLOAT', 'float'),
    ('DOUBLE', 'double'),
    ('LONGDOUBLE', 'long double'),
    ('WCHAR', 'wchar_t'),
    ('INT8', 'int8_t'),
    ('UINT8', 'uint8_t'),
    ('INT16', 'int16_t'),
    ('UINT16', 'uint16_t'),
    ('INT32', 'int32_t'),
    ('UINT32', 'uint32_t'),
    ('INT64', 'int64_t'),
    ('UINT64', 'uint64_t'),
    ('INTPTR', 'intptr_t'),
    ('UINTPTR', 'uintptr_t'),
    ('PTRDIFF', 'ptrdiff_t'),
    ('SIZE', 'size_t'),
    ('SSIZE', 'ssize_t'),
    ('INT_LEAST8', 'int_least8_t'),
    ('UINT_LEAST8', 'uint_least8_t'),
    ('INT_LEAST16', 'int_least16_t'),
    ('UINT_LEAST16', 'uint_least16_t'),
    ('INT_LEAST32', 'int_least32_t'),
    ('UINT_LEAST32', 'uint_least32_t'),
    ('INT_LEAST64', 'int_least64_t'),
    ('UINT_LEAST64', 'uint_least64_t'),
    ('INT_FAST8', 'int_fast8_t'),
    ('UINT_FAST8', 'uint_fast8_t'),
    ('INT_FAST16', 'int_fast16_t'),
    ('UINT_FAST16', 'uint_fast16_t'),
    ('INT_FAST32', 'int_fast32_t'),
    ('UINT_FAST32', 'uint_fast32_t'),
    ('INT_FAST64', 'int_fast64_t'),
    ('UINT_FAST64', 'uint_fast64_t'),
    ('INTMAX', 'intmax_t'),
    ('UINTMAX', 'uintmax_t'),
    ('FLOATCOMPLEX', '_cffi_float_complex_t'),
    ('DOUBLECOMPLEX', '_cffi_double_complex_t'),
    ('CHAR16', 'char16_t'),
    ('CHAR32', 'char32_t'),
)

#: C spelling of a primitive type -> its PRIM_* number (void excluded)
PRIMITIVE_TO_INDEX = {}
for _i, (_name, _cname) in enumerate(_PRIMITIVES):
    globals()['PRIM_' + _name] = _i
    if _cname is not None:
        PRIMITIVE_TO_INDEX[_cname] = _i
_NUM_PRIM = len(_PRIMITIVES)

# special (negative) primitive numbers: sizes only known to the C compiler
_UNKNOWN_PRIM = -1
_UNKNOWN_FLOAT_PRIM = -2
_UNKNOWN_LONG_DOUBLE = -3

_IO_FILE_STRUCT = -1

# ---- flags of struct/union entries ----------------------------------------
F_UNION = 0x01
F_CHECK_FIELDS = 0x02
F_PACKED = 0x04
F_EXTERNAL = 0x08
F_OPAQUE = 0x10

#: the same flags under the names the generated C code uses
G_FLAGS = {'_CFFI_' + _name: globals()[_name]
           for _name in ('F_UNION', 'F_CHECK_FIELDS', 'F_PACKED',
                         'F_EXTERNAL', 'F_OPAQUE')}


def format_four_bytes(num):
    """The 32-bit big-endian encoding of 'num' as the text of a bytes
    literal body, e.g. '\\x00\\x00\\x01\\x01'."""
    return ''.join('\\x%02X' % ((num >> shift) & 0xFF)
                   for shift in (24, 16, 8, 0))


class CffiOp(object):
    """One entry of a types array: an opcode and its argument.  With
    op None, 'arg' is a C expression giving the whole 32-bit value."""

    def __init__(self, op, arg):
        self.op = op
        self.arg = arg

    def as_c_expr(self):
        if self.op is None:
            assert isinstance(self.arg, str)
            return '(_cffi_opcode_t)(%s)' % (self.arg,)
        return '_CFFI_OP(_CFFI_OP_%s, %s)' % (CLASS_NAME[self.op], self.arg)

    def as_python_bytes(self):
        if self.op is None:
            if isinstance(self.arg, str) and self.arg.isdigit():
                value = int(self.arg)
                if value >= 1 << 31:
                    raise OverflowError("cannot emit %r: limited to 2**31-1"
                                        % (self.arg,))
                return format_four_bytes(value)
        if isinstance(self.arg, str):
            raise VerificationError("cannot emit to Python: %r" % (self.arg,))
        return format_four_bytes((self.arg << 8) | self.op)

    def __str__(self):
        return '(%s %s)' % (CLASS_NAME.get(self.op, self.op), self.arg)

    __repr__ = __str__


del _i, _name, _cname
