"""rcffi: CFFI, the C Foreign Function Interface for Python, on a Rust core.

``from rcffi import FFI`` offers the API of ``from cffi import FFI``.
``rcffi.install_as_cffi()`` makes ``import cffi`` / ``import _cffi_backend``
give rcffi in the running interpreter; ``python -m rcffi install-as-cffi``
does the same for every interpreter of the current environment.
"""

import sys as _sys
# `_cffi_backend` may be this same extension, already imported under that
# name (install-as-cffi links it; see crates/rcffi/src/entry.rs): one module.
if getattr(_sys.modules.get('_cffi_backend'), '__rcffi__', False):
    _sys.modules[__name__ + '._backend'] = _sys.modules['_cffi_backend']
del _sys
from . import _backend

__all__ = ['FFI', 'VerificationError', 'VerificationMissing', 'CDefError',
           'FFIError', 'PkgConfigError', 'install_as_cffi']

# rcffi's own version ...
__version__ = "0.1.0"
__version_info__ = (0, 1, 0)
# ... and the version of cffi whose API and module protocol it implements
# (what `cffi.__version__` reports once rcffi stands in for cffi).
__cffi_version__ = "2.0.0"
__cffi_version_info__ = (2, 0, 0)


_LAZY_ERRORS = ('FFIError', 'CDefError', 'VerificationError',
                'VerificationMissing', 'PkgConfigError')


def __getattr__(name):
    # FFI (rcffi.api) and the exception types are made
    # on first use: `import _cffi_backend`, which every out-of-line module
    # does, then costs little more than loading the extension.
    if name == 'FFI':
        from .api import FFI
        return FFI
    if name in _LAZY_ERRORS:
        return getattr(_backend, name)
    raise AttributeError("module 'rcffi' has no attribute %r" % (name,))


def install_as_cffi():
    """Make ``import cffi``, ``import cffi.<submodule>`` and
    ``import _cffi_backend`` give rcffi in this interpreter; returns the
    module now known as ``cffi``.  Idempotent.  (For every interpreter of an
    environment: ``python -m rcffi install-as-cffi``.)"""
    from . import _alias
    return _alias.install_as_cffi()


if _backend.__version__ != __cffi_version__:
    raise ImportError(
        "rcffi is broken: the Python package implements cffi %s but its "
        "extension module rcffi._backend (%r) reports %s; reinstall rcffi"
        % (__cffi_version__, getattr(_backend, '__file__', '?'),
           _backend.__version__))
