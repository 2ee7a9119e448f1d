"""The extension module's attributes: some are made on first use
(crates/rcffi/src/lazyattrs.rs), and the module made a second time (dropped
from sys.modules, imported again) shares the first one's contents
(crates/rcffi/src/entry.rs)."""

import importlib
import sys

import pytest

from rcffi import _backend

LAZY = ['FFIError', 'CDefError', 'VerificationError', 'VerificationMissing',
        'PkgConfigError', 'CField', 'buffer', 'FFILibrary', 'CLibrary',
        '__FFIGlobSupport']


@pytest.mark.parametrize('name', LAZY)
def test_lazy_names(name):
    value = getattr(_backend, name)
    assert isinstance(value, type)
    assert getattr(_backend, name) is value
    assert name in dir(_backend)


@pytest.mark.parametrize('name', ['newp', 'typeof', 'new_primitive_type',
                                  '_get_common_types'])
def test_lazy_functions(name):
    f = getattr(_backend, name)
    assert callable(f) and f.__name__ == name
    assert getattr(_backend, name) is f
    assert name in dir(_backend) and name in _backend.__all__


def test_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _backend.nope


def test_import_star():
    ns = {}
    exec('from rcffi._backend import *', ns)
    for name in ('FFI', 'CType', 'buffer', 'CField', 'new_primitive_type'):
        assert name in ns, name
    # the module's own PEP 562 hooks are not exported
    assert '__getattr__' not in ns and '__dir__' not in ns


def test_ffi_error_and_buffer_class_attributes():
    FFI = _backend.FFI
    assert FFI().error is _backend.FFIError
    assert FFI.error is _backend.FFIError
    assert FFI.buffer is _backend.buffer
    # after the first access the class holds the types themselves
    assert FFI.__dict__['error'] is _backend.FFIError
    assert FFI.__dict__['buffer'] is _backend.buffer
    ffi = FFI()
    p = ffi.new("char[]", b"abc")
    assert ffi.buffer(p)[:] == b"abc\0"


def test_made_again_shares_the_first_module():
    saved = sys.modules.pop('rcffi._backend')
    try:
        again = importlib.import_module('rcffi._backend')
        assert again is not saved
        for name in ('FFI', 'CType', 'new_primitive_type', '__version__'):
            assert getattr(again, name) is getattr(saved, name)
        # the hot slots were not patched a second time (that would recurse)
        ffi = again.FFI()
        p = ffi.new("int[2]", [5, 6])
        assert p[1] == 6
        p[0] = 7
        assert list(p) == [7, 6]
    finally:
        sys.modules['rcffi._backend'] = saved
