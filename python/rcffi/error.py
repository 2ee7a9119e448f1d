"""The exception types of cffi (``cffi.error`` upstream).

They are defined once, in the extension module, so that the runtime and the
Python layer raise the very same classes; this module only re-exports them.
Each class reports ``__module__ == 'cffi'``, like upstream's.
"""

from ._backend import (CDefError, FFIError, PkgConfigError,
                       VerificationError, VerificationMissing)

__all__ = ['FFIError', 'CDefError', 'VerificationError',
           'VerificationMissing', 'PkgConfigError']
