"""Upstream cffi's alternative backend on top of ctypes.

rcffi has a single backend, rcffi._backend; this module exists so that code
importing ``cffi.backend_ctypes`` still imports.  Instantiating the backend
raises NotImplementedError.
"""

__all__ = ['CTypesBackend']


class CTypesBackend(object):
    """Not provided by rcffi: use the default backend (``FFI()``)."""

    def __init__(self):
        raise NotImplementedError(
            "rcffi does not provide the ctypes backend of upstream cffi; "
            "use FFI() with its default backend")
