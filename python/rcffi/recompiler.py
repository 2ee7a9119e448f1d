"""Out-of-line modules: generating their source and compiling it
(``cffi.recompiler`` upstream).

The generators themselves are Rust (crates/recompiler, reached through
``rcffi._backend``): the Python source of an out-of-line ABI-mode module
(``_backend._make_py_source``) and the C source of an API-mode module
(``_backend._make_c_source``) are generated from the cdef() and include()
calls the FFI recorded.  Everything around the generators (file names,
writing only when changed, invoking the compiler through setuptools, the
'target' file name) is here, and so is a small ``Recompiler`` that shows
the types array they build (``_backend._type_table``).
"""

import io
import os
import sys
import sysconfig

from . import ffiplatform
from .cffi_opcode import CffiOp
from .error import VerificationError  # noqa: F401  (upstream exports it)

__all__ = ['recompile', 'make_c_source', 'make_py_source', 'NativeIO',
           'Recompiler']

#: the text stream type the generators write to
NativeIO = io.StringIO

#: As upstream: modules use the stable ABI except on free-threaded builds.
USE_LIMITED_API = not sysconfig.get_config_var("Py_GIL_DISABLED")


def _included_module_names(ffi, want_c):
    """The module names of the FFIs that 'ffi' included, which must have
    been given to set_source() with the same kind of source (C or None)."""
    names = []
    for other in getattr(ffi, '_included_ffis', None) or ():
        verifier = getattr(other, 'verifier', None)
        if want_c and verifier is not None and verifier._has_module:
            # an ffi.verify()'d FFI: its module is loaded and importable by name
            names.append(verifier.get_module_name())
            continue
        try:
            name, source = other._assigned_source[:2]
        except AttributeError:
            raise VerificationError(
                "ffi object %r includes %r, but the latter has not been "
                "prepared with set_source()" % (ffi, other))
        if want_c and source is None:
            raise VerificationError("not implemented yet: ffi.include() of a "
                                    "Python-based ffi inside a C-based ffi")
        if not want_c and source is not None:
            raise VerificationError("not implemented yet: ffi.include() of a "
                                    "C-based ffi inside a Python-based ffi")
        names.append(name)
    return names


def _generate(ffi, kind, module_name, preamble, for_verify=False):
    """Return the text of the out-of-line module 'module_name' for 'ffi':
    kind 'c' (API mode, with the C 'preamble') or 'py' (ABI mode);
    'for_verify' for ffi.verify(), which supports a little less."""
    from . import _backend
    steps = getattr(ffi, '_cdef_steps', None) or []
    if kind == 'py':
        return _backend._make_py_source(module_name, steps,
                                        _included_module_names(ffi, False))
    return _backend._make_c_source(module_name, steps,
                                   _included_module_names(ffi, True),
                                   preamble, not USE_LIMITED_API, for_verify,
                                   getattr(ffi, '_embedding', None))


class Recompiler(object):
    """Upstream's Recompiler, only as far as its types array goes:
    collect_type_table() sets 'cffi_types' to the entries (CffiOp objects)
    of the types array of the module 'module_name' for 'ffi', a C module
    unless 'target_is_python'."""

    def __init__(self, ffi, module_name, target_is_python=False):
        self.ffi = ffi
        self.module_name = module_name
        self.target_is_python = target_is_python

    def collect_type_table(self):
        from . import _backend
        steps = getattr(self.ffi, '_cdef_steps', None) or []
        entries = _backend._type_table(steps, self.target_is_python)
        self.cffi_types = tuple(CffiOp(op, arg) for op, arg in entries)


def _write_if_changed(target, text):
    """Write 'text' to the file name or file-like object 'target'.  A file
    whose content is already 'text' is left alone (so that make-style
    tools do not rebuild); returns True if something was written."""
    if hasattr(target, 'write'):
        target.write(text)
        return True
    try:
        with open(target, 'r') as f:
            if f.read() == text:
                return False
    except (IOError, OSError, UnicodeDecodeError):
        pass
    tmp = '%s.~%d' % (target, os.getpid())
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, target)
    return True


def make_c_source(ffi, module_name, preamble, target_c_file, verbose=False):
    """Write the C source of API-mode module 'module_name' to
    'target_c_file' (a file name or a file-like object); returns True if
    the file changed."""
    assert preamble is not None
    text = _generate(ffi, 'c', module_name, preamble)
    return _write_if_changed(target_c_file, text)


def make_py_source(ffi, module_name, target_py_file, verbose=False):
    """Write the Python source of ABI-mode module 'module_name' to
    'target_py_file' (a file name or a file-like object); returns True if
    the file changed."""
    if verbose:
        print("generating %s" % (target_py_file,))
    text = _generate(ffi, 'py', module_name, None)
    updated = _write_if_changed(target_py_file, text)
    if verbose and not updated:
        print("(already up-to-date)")
    return updated


def _modname_to_file(outputdir, modname, extension):
    """Where the source of dotted module 'modname' goes below 'outputdir':
    (file name, list of path parts below outputdir)."""
    parts = modname.split('.')
    try:
        os.makedirs(os.path.join(outputdir, *parts[:-1]))
    except OSError:
        pass
    parts[-1] += extension
    return os.path.join(outputdir, *parts), parts


def _shared_library_suffix():
    if sys.platform == 'win32':
        return '.dll'
    if sys.platform == 'darwin':
        return '.dylib'
    return '.so'


class _Patches(object):
    """Temporary replacements of class attributes, undone by restore()."""

    def __init__(self):
        self._saved = []

    def patch(self, cls, name, value):
        self._saved.append((cls, name, cls.__dict__.get(name, _MISSING)))
        setattr(cls, name, value)

    def restore(self):
        while self._saved:
            cls, name, old = self._saved.pop()
            if old is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, old)


_MISSING = object()


def _patch_for_target(patches, target):
    """Make setuptools name the compiled file 'target' ('name.*' means the
    platform's shared library suffix) instead of the extension-module
    name."""
    from setuptools.command.build_ext import build_ext
    if target.endswith('.*'):
        target = target[:-2] + _shared_library_suffix()
    original = build_ext.get_ext_filename

    def get_ext_filename(self, ext_name):
        default = original(self, ext_name)
        return os.path.join(os.path.dirname(default), target)
    patches.patch(build_ext, 'get_ext_filename', get_ext_filename)


def _patch_for_embedding(patches):
    """An embedding library is not an extension module: it does not need
    to export the module init function (which matters on Windows)."""
    if sys.platform == 'win32':
        from setuptools.command.build_ext import build_ext
        patches.patch(build_ext, 'get_export_symbols',
                      lambda self, ext: list(ext.export_symbols or ()))


def recompile(ffi, module_name, preamble, tmpdir='.', call_c_compiler=True,
              c_file=None, source_extension='.c', extradir=None,
              compiler_verbose=1, target=None, debug=None,
              uses_ffiplatform=True, **kwds):
    """Generate out-of-line module 'module_name' from 'ffi' and, in API
    mode ('preamble' is C source, not None), compile it in 'tmpdir'.

    Returns the path of the result when call_c_compiler is true; otherwise
    (setuptools.Extension or None, updated-flag)."""
    if not isinstance(module_name, str):
        raise TypeError("'module_name' must be a string")
    if getattr(ffi, '_windows_unicode', None):
        ffi._apply_windows_unicode(kwds)
    if preamble is None:
        # ABI mode: a pure Python module
        if c_file is None:
            c_file, _ = _modname_to_file(tmpdir, module_name, '.py')
        updated = make_py_source(ffi, module_name, c_file,
                                 verbose=compiler_verbose)
        if call_c_compiler:
            return c_file
        return None, updated

    embedding = getattr(ffi, '_embedding', None) is not None
    if embedding:
        ffi._apply_embedding_fix(kwds)
    if c_file is None:
        c_file, parts = _modname_to_file(tmpdir, module_name,
                                         source_extension)
        if extradir:
            parts = [extradir] + parts
        ext_c_file = os.path.join(*parts)
    else:
        ext_c_file = c_file
    if target is None:
        target = '%s.*' % (module_name,) if embedding else '*'
    ext = None
    if uses_ffiplatform:
        ext = ffiplatform.get_extension(ext_c_file, module_name, **kwds)
    updated = make_c_source(ffi, module_name, preamble, c_file,
                            verbose=compiler_verbose)
    if not call_c_compiler:
        return ext, updated

    patches = _Patches()
    cwd = os.getcwd()
    try:
        if embedding:
            _patch_for_embedding(patches)
        if target != '*':
            _patch_for_target(patches, target)
        if compiler_verbose:
            where = ('the current directory is' if tmpdir == '.'
                     else 'setting the current directory to')
            print('%s %r' % (where, os.path.abspath(tmpdir)))
        os.chdir(tmpdir)
        return ffiplatform.compile('.', ext, compiler_verbose, debug)
    finally:
        os.chdir(cwd)
        patches.restore()

