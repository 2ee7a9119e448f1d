import sys
sys.path.insert(0, '.')
import _cffi_backend
from _rc_basic import ffi, lib
assert lib.add(2, 3) == 5
assert lib.neg(7) == -7
assert lib.half(3.0) == 1.5
assert lib.sum([1, 2, 3, 4], 4) == 10
assert lib.sum(list(range(1000)), 1000) == sum(range(1000))
assert ffi.string(lib.greet()) == b'hello'
assert lib.nothing() is None
assert lib.FORTY_TWO == 42 and lib.SECRET == 1234 and lib.NEG == -7 and lib.PI == 3.14
assert lib.counter == 5; lib.counter = 9; assert lib.counter == 9
assert list(lib.table) == [1,2,3,4,5,6,7] and ffi.sizeof(lib.table) == 7 * ffi.sizeof('int')
assert ffi.sizeof('myint_t') == 2 and lib.twice(21) == 42
p = ffi.new('struct point *', [3, 4]); assert lib.dist2(p) == 25
q = lib.mkpoint(5, 6); assert (q.x, q.y) == (5, 6)
assert ffi.sizeof('struct partial') == 16 and ffi.offsetof('struct partial', 'b') == 4
assert ffi.sizeof('anon_t') == 16
assert lib.RED == 0 and lib.GREEN == 5 and lib.BLUE == 6 and lib.F_B == 2
assert lib.next_color(lib.RED) == lib.GREEN
assert ffi.typeof(lib.printf) is ffi.typeof('int(*)(const char *, ...)')
a = ffi.addressof(lib, 'add'); assert a(1, 2) == 3
print("OK")
