"""The ``ffi.verify()`` machinery (``cffi.verifier`` upstream).

``Verifier`` -- compiling the cdef against real C source on the fly -- is
follow-up work built on the API-mode generator; the helpers that manage its
temporary directory are here.
"""

import os
import sys

from .error import VerificationError  # noqa: F401  (upstream exports it)

__all__ = ['Verifier', 'set_tmpdir', 'cleanup_tmpdir']

#: upstream's switch between its two C generators; kept for code that sets it
_FORCE_GENERIC_ENGINE = False

_TMPDIR = None


class Verifier(object):
    def __init__(self, ffi, preamble, tmpdir=None, modulename=None,
                 ext_package=None, tag='', force_generic_engine=False,
                 source_extension='.c', flags=None, relative_to=None,
                 **kwds):
        raise NotImplementedError(
            "rcffi: ffi.verify() / cffi.verifier.Verifier is not implemented "
            "yet (follow-up work: Verifier on top of the out-of-line module "
            "generator in crates/recompiler); use ffi.set_source() and "
            "ffi.compile() instead")


def _locate_engine_class(ffi, force_generic_engine):
    raise NotImplementedError("rcffi: the verify() engines are not "
                              "implemented (see rcffi.verifier.Verifier)")


def _extension_suffixes():
    from importlib.machinery import EXTENSION_SUFFIXES
    return list(EXTENSION_SUFFIXES)


def _get_so_suffixes():
    """The file name suffixes of extension modules, preferred first."""
    suffixes = _extension_suffixes()
    if not suffixes:
        suffixes = ['.pyd'] if sys.platform == 'win32' else ['.so']
    return suffixes


def set_tmpdir(dirname):
    """Use 'dirname' instead of the caller's __pycache__ directory for the
    files of verify()."""
    global _TMPDIR
    _TMPDIR = dirname


def _caller_dir_pycache():
    """The temporary directory of verify(): set_tmpdir(), else
    $CFFI_TMPDIR, else __pycache__ next to the source file of the caller
    of our caller."""
    if _TMPDIR:
        return _TMPDIR
    env = os.environ.get('CFFI_TMPDIR')
    if env:
        return env
    filename = sys._getframe(2).f_code.co_filename
    return os.path.abspath(os.path.join(os.path.dirname(filename),
                                        '__pycache__'))


def cleanup_tmpdir(tmpdir=None, keep_so=False):
    """Remove the files that verify() left in 'tmpdir' (default: as
    verify() chooses it): the _cffi_*.c sources, the _cffi_* compiled
    modules unless 'keep_so', and the 'build' subdirectory."""
    tmpdir = tmpdir or _caller_dir_pycache()
    try:
        names = os.listdir(tmpdir)
    except OSError:
        return
    suffixes = ['.c']
    if not keep_so:
        suffixes += [s.lower() for s in _get_so_suffixes()]
    for name in names:
        lower = name.lower()
        if lower.startswith('_cffi_') and lower.endswith(tuple(suffixes)):
            try:
                os.unlink(os.path.join(tmpdir, name))
            except OSError:
                pass
    _remove_tree(os.path.join(tmpdir, 'build'))


def _remove_tree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
