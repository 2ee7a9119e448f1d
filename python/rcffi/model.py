"""A Python model of C types (``cffi.model`` upstream).

rcffi's own type model lives in Rust (crates/model); this module offers the
descriptive part of upstream's Python classes for code that imports them:
type objects that compare by value, know their C spelling
(``get_c_name()``) and their kind.  Building runtime ctypes from them
(upstream's ``build_backend_type()``) is not provided: use ``ffi.typeof()``.

C spellings are built from a "name with marker": the C type text with an
``&`` where a declarator would go, e.g. ``int(*&)(long)`` for a function
pointer; declaring ``x`` of that type replaces the ``&`` with ``x``.
"""

from .error import CDefError, VerificationError, VerificationMissing

Q_CONST = 0x01
Q_RESTRICT = 0x02
Q_VOLATILE = 0x04

_QUAL_WORDS = ((Q_CONST, 'const'), (Q_RESTRICT, '__restrict'),
               (Q_VOLATILE, 'volatile'))


def qualify(quals, replace_with):
    """Put the C qualifiers in the bit set 'quals' in front of the
    declarator text 'replace_with'."""
    words = [word for bit, word in _QUAL_WORDS if quals & bit]
    if not words:
        return replace_with
    if not replace_with.startswith(' '):
        replace_with = ' ' + replace_with
    return ' ' + ' '.join(words) + replace_with


class BaseTypeByIdentity(object):
    """A C type; instances of this class compare by identity (structs,
    unions and enums: two declarations are two types)."""

    is_array_type = False
    is_raw_function = False
    _attrs_ = ()

    def get_c_name(self, replace_with='', context='a C file', quals=0):
        """The C spelling of this type, declaring 'replace_with' (e.g. a
        variable name, '*p' or '[5]'), qualified by 'quals'."""
        marker = self.c_name_with_marker
        repl = qualify(quals, replace_with).lstrip()
        if repl.startswith('*') and '&[' in marker:
            repl = '(%s)' % (repl,)     # pointer to array: int(*p)[5]
        elif repl and repl[0] not in '[(':
            repl = ' ' + repl
        result = marker.replace('&', repl)
        if '$' in result:
            raise VerificationError(
                "cannot generate '%s' in %s: unknown type name"
                % (self._get_c_name(), context))
        return result

    def _get_c_name(self):
        return self.c_name_with_marker.replace('&', '')

    def has_c_name(self):
        return '$' not in self._get_c_name()

    def is_integer_type(self):
        return False

    def _get_items(self):
        return [(name, getattr(self, name)) for name in self._attrs_]

    def __repr__(self):
        return '<%s>' % (self._get_c_name(),)


class BaseType(BaseTypeByIdentity):
    """A C type that compares by value (class and attributes)."""

    def __eq__(self, other):
        return (self.__class__ is other.__class__ and
                self._get_items() == other._get_items())

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.__class__, tuple(self._get_items())))


class VoidType(BaseType):
    _attrs_ = ()

    def __init__(self):
        self.c_name_with_marker = 'void&'


void_type = VoidType()


class BasePrimitiveType(BaseType):
    def is_complex_type(self):
        return False


class PrimitiveType(BasePrimitiveType):
    _attrs_ = ('name',)

    # every primitive type name -> its kind: 'c'haracter, 'i'nteger,
    # 'f'loating point or complex ('j')
    ALL_PRIMITIVE_TYPES = {}
    for _kind, _names in (
            ('c', ('char', 'wchar_t', 'char16_t', 'char32_t')),
            ('f', ('float', 'double', 'long double')),
            ('j', ('_cffi_float_complex_t', '_cffi_double_complex_t')),
            ('i', ('short', 'int', 'long', 'long long', 'signed char',
                   'unsigned char', 'unsigned short', 'unsigned int',
                   'unsigned long', 'unsigned long long', '_Bool',
                   'int8_t', 'uint8_t', 'int16_t', 'uint16_t',
                   'int32_t', 'uint32_t', 'int64_t', 'uint64_t',
                   'int_least8_t', 'uint_least8_t', 'int_least16_t',
                   'uint_least16_t', 'int_least32_t', 'uint_least32_t',
                   'int_least64_t', 'uint_least64_t',
                   'int_fast8_t', 'uint_fast8_t', 'int_fast16_t',
                   'uint_fast16_t', 'int_fast32_t', 'uint_fast32_t',
                   'int_fast64_t', 'uint_fast64_t',
                   'intptr_t', 'uintptr_t', 'intmax_t', 'uintmax_t',
                   'ptrdiff_t', 'size_t', 'ssize_t'))):
        for _name in _names:
            ALL_PRIMITIVE_TYPES[_name] = _kind
    del _kind, _names, _name

    def __init__(self, name):
        if name not in self.ALL_PRIMITIVE_TYPES:
            raise CDefError("unknown primitive type %r" % (name,))
        self.name = name
        self.c_name_with_marker = name + '&'

    def is_char_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == 'c'

    def is_integer_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == 'i'

    def is_float_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == 'f'

    def is_complex_type(self):
        return self.ALL_PRIMITIVE_TYPES[self.name] == 'j'


class UnknownIntegerType(BasePrimitiveType):
    """An integer typedef whose size only the C compiler knows
    (``typedef int... foo_t;``)."""
    _attrs_ = ('name',)

    def __init__(self, name):
        self.name = name
        self.c_name_with_marker = name + '&'

    def is_integer_type(self):
        return True


class UnknownFloatType(BasePrimitiveType):
    """A floating-point typedef whose size only the C compiler knows
    (``typedef float... foo_t;``)."""
    _attrs_ = ('name',)

    def __init__(self, name):
        self.name = name
        self.c_name_with_marker = name + '&'


class BaseFunctionType(BaseType):
    _attrs_ = ('args', 'result', 'ellipsis', 'abi')
    _declarator = None      # set by subclasses, '&' marks the name

    def __init__(self, args, result, ellipsis, abi=None):
        self.args = tuple(args)
        self.result = result
        self.ellipsis = ellipsis
        self.abi = abi
        params = [arg._get_c_name() for arg in self.args]
        if ellipsis:
            params.append('...')
        declarator = self._declarator
        if abi is not None:
            declarator = '(%s %s' % (abi, declarator[1:])
        declarator += '(%s)' % (', '.join(params) or 'void',)
        self.c_name_with_marker = result.c_name_with_marker.replace(
            '&', declarator)


class RawFunctionType(BaseFunctionType):
    """A function type proper, as opposed to a pointer to function: the
    type of a declared function."""
    is_raw_function = True
    _declarator = '(&)'

    def as_function_pointer(self):
        return FunctionPtrType(self.args, self.result, self.ellipsis,
                               self.abi)


class FunctionPtrType(BaseFunctionType):
    _declarator = '(*&)'

    def as_raw_function(self):
        return RawFunctionType(self.args, self.result, self.ellipsis,
                               self.abi)


class PointerType(BaseType):
    _attrs_ = ('totype', 'quals')

    def __init__(self, totype, quals=0):
        self.totype = totype
        self.quals = quals
        declarator = '(*&)' if totype.is_array_type else ' *&'
        self.c_name_with_marker = totype.c_name_with_marker.replace(
            '&', qualify(quals, declarator))


voidp_type = PointerType(void_type)


def ConstPointerType(totype):
    """A pointer to const 'totype'."""
    return PointerType(totype, Q_CONST)


const_voidp_type = ConstPointerType(void_type)


class NamedPointerType(PointerType):
    """A pointer type known by a typedef name only."""
    _attrs_ = ('totype', 'name')

    def __init__(self, totype, name, quals=0):
        PointerType.__init__(self, totype, quals)
        self.name = name
        self.c_name_with_marker = name + '&'


class ArrayType(BaseType):
    """An array of 'length' items; length None for '[]', '...' for a
    length only the C compiler knows."""
    _attrs_ = ('item', 'length')
    is_array_type = True

    def __init__(self, item, length):
        self.item = item
        self.length = length
        if length is None:
            size = ''
        elif length == '...':
            size = '/*...*/'
        else:
            size = str(length)
        self.c_name_with_marker = item.c_name_with_marker.replace(
            '&', '&[%s]' % (size,))

    def length_is_unknown(self):
        return isinstance(self.length, str)

    def resolve_length(self, newlength):
        return ArrayType(self.item, newlength)


char_array_type = ArrayType(PrimitiveType('char'), None)


class StructOrUnionOrEnum(BaseTypeByIdentity):
    _attrs_ = ('name',)
    kind = None
    forcename = None

    def build_c_name_with_marker(self):
        name = self.forcename or '%s %s' % (self.kind, self.name)
        self.c_name_with_marker = name + '&'

    def force_the_name(self, forcename):
        self.forcename = forcename
        self.build_c_name_with_marker()

    def get_official_name(self):
        assert self.c_name_with_marker.endswith('&')
        return self.c_name_with_marker[:-1]


class StructOrUnion(StructOrUnionOrEnum):
    fixedlayout = None
    completed = 0
    partial = False
    packed = 0

    def __init__(self, name, fldnames, fldtypes, fldbitsize, fldquals=None):
        self.name = name
        self.fldnames = fldnames
        self.fldtypes = fldtypes
        self.fldbitsize = fldbitsize
        self.fldquals = fldquals
        self.build_c_name_with_marker()

    def anonymous_struct_fields(self):
        """The nested anonymous struct/union types among the fields."""
        if self.fldtypes is not None:
            for name, type in zip(self.fldnames, self.fldtypes):
                if name == '' and isinstance(type, StructOrUnion):
                    yield type

    def enumfields(self, expand_anonymous_struct_union=True):
        """(name, type, bitsize, quals) for every field, with the fields of
        anonymous nested structs/unions listed in their place."""
        fldquals = self.fldquals
        if fldquals is None:
            fldquals = (0,) * len(self.fldnames)
        for name, type, bitsize, quals in zip(self.fldnames, self.fldtypes,
                                              self.fldbitsize, fldquals):
            if (name == '' and isinstance(type, StructOrUnion)
                    and expand_anonymous_struct_union):
                for result in type.enumfields():
                    yield result
            else:
                yield (name, type, bitsize, quals)

    def force_flatten(self):
        """Replace anonymous nested structs/unions by their fields."""
        names, types, bitsizes, quals = [], [], [], []
        for name, type, bitsize, qual in self.enumfields():
            names.append(name)
            types.append(type)
            bitsizes.append(bitsize)
            quals.append(qual)
        self.fldnames = tuple(names)
        self.fldtypes = tuple(types)
        self.fldbitsize = tuple(bitsizes)
        self.fldquals = tuple(quals)

    def check_not_partial(self):
        if self.partial and self.fixedlayout is None:
            raise VerificationMissing(self._get_c_name())


class StructType(StructOrUnion):
    kind = 'struct'


class UnionType(StructOrUnion):
    kind = 'union'


class EnumType(StructOrUnionOrEnum):
    kind = 'enum'
    partial = False
    partial_resolved = False

    def __init__(self, name, enumerators, enumvalues, baseinttype=None):
        self.name = name
        self.enumerators = enumerators
        self.enumvalues = enumvalues
        self.baseinttype = baseinttype
        self.build_c_name_with_marker()

    def force_the_name(self, forcename):
        StructOrUnionOrEnum.force_the_name(self, forcename)
        if self.forcename is None:
            self.forcename = '$' + self.get_official_name().replace(' ', '_')

    def check_not_partial(self):
        if self.partial and not self.partial_resolved:
            raise VerificationMissing(self._get_c_name())


def unknown_type(name, structname=None):
    """An opaque type known only by its typedef name 'name'."""
    if structname is None:
        structname = '$%s' % (name,)
    tp = StructType(structname, None, None, None)
    tp.force_the_name(name)
    tp.origin = 'unknown_type'
    return tp


def unknown_ptr_type(name, structname=None):
    """A pointer to an opaque type, known only by its typedef name."""
    if structname is None:
        structname = '$$%s' % (name,)
    tp = StructType(structname, None, None, None)
    return NamedPointerType(tp, name)


def attach_exception_info(e, name):
    """Prefix the message of exception 'e' with 'name: '."""
    if e.args and type(e.args[0]) is str:
        e.args = ('%s: %s' % (name, e.args[0]),) + e.args[1:]
