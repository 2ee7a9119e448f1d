import sys
sys.path.insert(0, '.')
from _rc_more import ffi, lib
v = lib.mkval(2.5)
assert v.kind == 2 and v.d == 2.5 and lib.val_d(ffi.addressof(v)) == 2.5
assert ffi.sizeof('value_t') == 16 and ffi.offsetof('value_t', 'd') == 8
b = ffi.new('struct bits *', {'a': 5, 'b': 17, 'c': -1})
assert (b.a, b.b, b.c) == (5, 17, -1) and lib.count_bits(b) == 22
assert ffi.sizeof('struct arr') == 4 + 12 + 16
assert ffi.typeof(ffi.new('struct arr *').name) is ffi.typeof('char[12]')
h = lib.make_handle(77); assert lib.handle_value(h) == 77
assert ffi.sizeof(ffi.typeof('pt_ptr').item) == 4
assert lib.apply(lib.twice_cb, 21) == 42
cb = ffi.callback('int(int)', lambda x: x + 1)
assert lib.apply(cb, 41) == 42
assert lib.upper(b'a') == b'A'
assert lib.is_even(4) is True and lib.is_even(3) is False
assert lib.fsq(1.5) == 2.25
assert lib.wid('a') == 'b'
assert lib.big() == 2**64 - 1
assert lib.sc(5) == -5
assert ffi.string(lib.message) == b'hi there'
assert list(lib.limits) == [7, 8, 9]
assert ffi.sizeof('union num') == 4
assert lib.ANON_A == 10 and lib.ANON_B == 11
assert lib.tflip(lib.T_X) == lib.T_Y and ffi.sizeof('tenum_t') == 4
assert int(ffi.cast('tenum_t', -1)) == -1
try:
    lib.sc(1000)
except OverflowError:
    pass
else:
    raise AssertionError("no OverflowError")
print('OK')
